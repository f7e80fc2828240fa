"""Amounts as a person reads them: the currency's symbol, grouping, whole units, k/M/B."""

from __future__ import annotations

import pytest

from pi_agent.money import (
    CURRENCIES,
    currency_symbol,
    format_amount,
    format_money,
    format_money_short,
)

EUR, CNY, JPY, CHF, GBP, USD, PLN, HKD = 978, 156, 392, 756, 826, 840, 985, 344


@pytest.mark.parametrize(
    ("numeric", "symbol"),
    [(EUR, "€"), (CNY, "¥"), (JPY, "¥"), (USD, "$"), (GBP, "£"), (CHF, "CHF"), (PLN, "zł"),
     (HKD, "HK$"), (999, "999")],
)  # fmt: skip
def test_the_symbol_comes_from_the_currency_code(numeric: int, symbol: str) -> None:
    assert currency_symbol(numeric) == symbol


def test_every_known_currency_has_a_symbol() -> None:
    assert all(currency_symbol(n) for n in CURRENCIES)


@pytest.mark.parametrize(
    ("minor", "numeric", "kw", "text"),
    [
        (123456789, EUR, {}, "€1,234,567.89"),
        (123456789, EUR, {"grouping": False}, "€1234567.89"),
        (123456789, EUR, {"whole": True}, "€1,234,568"),
        (34567, CNY, {}, "¥345.67"),
        (34567, JPY, {}, "¥34,567"),
        (1250, CHF, {}, "CHF 12.50"),
        (1250, PLN, {}, "12.50 zł"),
        (-5000, USD, {}, "-$50.00"),
        (-150, GBP, {"whole": True}, "-£2"),
        (0, EUR, {}, "€0.00"),
    ],
)  # fmt: skip
def test_format_money(minor: int, numeric: int, kw: dict, text: str) -> None:
    assert format_money(minor, numeric, **kw) == text


def test_format_money_short() -> None:
    assert format_money_short(123456789, EUR) == "€1.23M"
    assert format_money_short(123456789, EUR, 2) == "€1.2M"
    assert format_money_short(4567000, EUR) == "€45.7k"
    assert format_money_short(99999999999, EUR) == "€1B"
    assert format_money_short(99949, EUR) == "€999"
    assert format_money_short(-123456789, CHF) == "-CHF 1.23M"


def test_the_plain_format_is_unchanged() -> None:
    assert format_amount(7784, EUR) == "77.84 EUR"
