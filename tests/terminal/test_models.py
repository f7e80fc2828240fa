"""The terminal's wall clock from ZVT's year-less time and date fields."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from pi_agent.terminal.models import BatchTotals, terminal_clock


def test_an_ordinary_reading() -> None:
    assert terminal_clock("174947", "1122", date(2026, 11, 22)) == datetime(
        2026, 11, 22, 17, 49, 47
    )


@pytest.mark.parametrize(
    ("mmdd", "today", "year"),
    [("1231", date(2027, 1, 1), 2026), ("0101", date(2026, 12, 31), 2027),
     ("0615", date(2026, 1, 2), 2026)],
)  # fmt: skip
def test_the_year_is_the_one_nearest_today(mmdd: str, today: date, year: int) -> None:
    got = terminal_clock("235959", mmdd, today)
    assert got is not None and got.year == year


def test_29_february_finds_the_leap_year() -> None:
    assert terminal_clock("120000", "0229", date(2028, 3, 1)) == datetime(2028, 2, 29, 12)
    assert terminal_clock("120000", "0229", date(2027, 3, 1)) == datetime(2028, 2, 29, 12)


@pytest.mark.parametrize(
    ("hhmmss", "mmdd"),
    [(None, "1122"), ("1749", "1122"), ("256000", "1122"), ("120000", "1322"), ("12a000", "1122"),
     ("120000", "0230"), (123456, "1122"), ("１２００００", "1122")],
)  # fmt: skip
def test_malformed_fields_give_no_clock(hhmmss: object, mmdd: str) -> None:
    assert terminal_clock(hhmmss, mmdd, date(2026, 11, 22)) is None


def test_the_clock_is_not_part_of_the_batch_identity() -> None:
    a = BatchTotals(978, 1250, terminal_time=datetime(2026, 11, 22, 12))
    b = BatchTotals(978, 1250, terminal_time=datetime(2026, 11, 22, 12, 5))
    assert a == b
    assert a.to_json()["terminal_time"] == "2026-11-22T12:00:00"
