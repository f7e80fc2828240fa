"""Bank statement import: German, Chinese and English exports; fees; one credit per payout;
`settle-guard payouts --import` on the database of a day settled against the simulator."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from pi_agent import config
from pi_agent.notify import payouts
from pi_agent.notify.payouts import Payout
from pi_agent.notify.statement import (
    Credit,
    StatementError,
    match,
    parse_date,
    parse_money,
    read,
)
from pi_agent.store import Store

ROOT = Path(__file__).resolve().parents[2]

SPARKASSE = (
    '"Auftragskonto";"Buchungstag";"Valutadatum";"Buchungstext";"Verwendungszweck";'
    '"Beguenstigter/Zahlungspflichtiger";"Betrag";"Waehrung"\n'
    '"DE02";"23.11.26";"23.11.26";"GUTSCHRIFT";"Auszahlung 20.11. Händler 4711";'
    '"Acquirer GmbH";"66,95";"EUR"\n'
    '"DE02";"23.11.26";"23.11.26";"LASTSCHRIFT";"Miete";"Vermieter";"-1.200,00";"EUR"\n'
    '"DE02";"24.11.26";"24.11.26";"GUTSCHRIFT";"Auszahlung 21.11.";"Acquirer GmbH";'
    '"1.234,50";"EUR"\n'
).encode("cp1252")

DKB_WITH_PREAMBLE = (
    b'"Kontonummer:";"DE02 1203 0000 0000 0000 00";\n'
    b'"Kontostand vom 24.11.2026:";"5.000,00 EUR";\n'
    b"\n"
    b'"Buchungsdatum";"Wertstellung";"Buchungstext";"Verwendungszweck";"Betrag (EUR)";\n'
    b'"23.11.2026";"23.11.2026";"Gutschrift";"Auszahlung";"66,95";\n'
    b'"Endsaldo";"";"";"";"5.066,95";\n'
)

ICBC = (
    "交易日期,摘要,收入金额,支出金额,余额\n"
    '2026-11-23,银联商务结算款,"1,234.50",,8000.00\n'
    "2026-11-23,房租,,3000.00,5000.00\n"
).encode("gb18030")


def payout(pid: int, amount: int, expected: date) -> Payout:
    return Payout(pid, pid, date(2026, 11, 20), amount, 978, 1, expected, None)


@pytest.mark.parametrize(
    ("text", "minor"),
    [("66,95", 6695), ("1.234,50", 123450), ("1,234.50", 123450), ("-1.200,00", -120000),
     ("EUR 12.50", 1250), ("¥1,200.00", 120000), ("1.234", 123400), ("12,5", 1250),
     ("+0,01", 1), ("12.50-", -1250)],
)  # fmt: skip
def test_amounts_in_every_notation(text: str, minor: int) -> None:
    assert parse_money(text) == minor


@pytest.mark.parametrize("text", ["", "abc", "1.2.3,4,5", "1,2.345", "12.3456,7"])
def test_bad_amounts_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="not an amount"):
        parse_money(text)


def test_dates_in_bank_formats() -> None:
    for text in (
        "2026-11-23",
        "23.11.2026",
        "23.11.26",
        "2026/11/23",
        "20261123",
        "2026年11月23日",
    ):
        assert parse_date(text) == date(2026, 11, 23)
    with pytest.raises(ValueError, match="'Endsaldo' is not a date"):
        parse_date("Endsaldo")


def test_a_german_export_gives_its_credits_only() -> None:
    credits, skipped = read(SPARKASSE)
    assert [(c.booked, c.amount) for c in credits] == [
        (date(2026, 11, 23), 6695),
        (date(2026, 11, 24), 123450),
    ]
    assert credits[0].text == "Auszahlung 20.11. Händler 4711" and credits[0].line == 2
    assert skipped == []


def test_a_preamble_and_a_footer_are_passed_over_and_said() -> None:
    credits, skipped = read(DKB_WITH_PREAMBLE)
    assert [(c.line, c.amount) for c in credits] == [(5, 6695)]
    assert skipped == ["line 6: 'Endsaldo' is not a date (e.g. 2026-11-23, 23.11.2026): skipped"]


def test_a_chinese_export_in_gb18030() -> None:
    credits, _ = read(ICBC)
    assert [(c.amount, c.text) for c in credits] == [(123450, "银联商务结算款")]


def test_columns_can_be_named_and_a_missing_header_says_how() -> None:
    raw = b"when,what,in,out\n2026-11-23,payout,66.95,\n"
    with pytest.raises(StatementError, match="--date-column and --amount-column"):
        read(raw)
    credits, _ = read(raw, date_column="When", amount_column="in")
    assert credits[0].amount == 6695


def test_matching_allows_fees_never_more_and_uses_each_credit_once() -> None:
    p1 = payout(1, 6739, date(2026, 11, 23))
    p2 = payout(2, 6739, date(2026, 11, 24))
    early = payout(3, 10000, date(2026, 11, 23))
    credits = [
        Credit(2, date(2026, 11, 23), 6695, "fee 0.44"),
        Credit(3, date(2026, 11, 24), 6700, "the next day's"),
        Credit(4, date(2026, 11, 23), 10001, "more than settled: not a payout of it"),
        Credit(5, date(2026, 12, 20), 9990, "far too late"),
    ]
    found = match([p1, p2, early], credits)
    assert [(p.id, c.line) for p, c in found] == [(1, 2), (2, 3)]
    assert match([p1], [Credit(2, date(2026, 11, 23), 6400, "5 % fee")]) == []
    assert match([p1], [Credit(2, date(2026, 11, 23), 6400, "")], fee_max=0.06)


def settled_payout(db: Path) -> Payout:
    """A settlement journalled and finished as the executor does, and its payout."""
    store = Store(db)
    at = datetime(2026, 11, 20, 21, 30, tzinfo=UTC)
    s = store.journal_intent(date(2026, 11, 20), "b1", {"count": 3, "total_minor": 6739}, "at", at)
    store.finish(s.id, "ok", at)
    payouts.expect(store, s.id, date(2026, 11, 20), amount=6739, currency=978, count=3,
                   expected_on=date(2026, 11, 23))  # fmt: skip
    [p] = payouts.payouts(store)
    store.close()
    return p


def cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    cfg = config.replace(config.Config(), "store", path=str(tmp_path / "guard.db"))
    config.save(cfg, tmp_path / "config.toml")
    return subprocess.run(
        [sys.executable, "-m", "pi_agent", "payouts", "--config", str(tmp_path / "config.toml"),
         *args], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def test_the_command_marks_what_it_finds(tmp_path: Path) -> None:
    p = settled_payout(tmp_path / "guard.db")
    (tmp_path / "kontoauszug.csv").write_bytes(DKB_WITH_PREAMBLE)
    dry = cli(tmp_path, "--import", str(tmp_path / "kontoauszug.csv"), "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "1 payout(s) would be marked received" in dry.stdout
    assert "line 6: 'Endsaldo' is not a date" in dry.stderr
    store = Store(tmp_path / "guard.db")
    assert payouts.payouts(store)[0].received_on is None
    store.close()
    done = cli(tmp_path, "--import", str(tmp_path / "kontoauszug.csv"))
    assert done.returncode == 0, done.stderr
    assert f"payout {p.id} (2026-11-20, 67.39 EUR): received 2026-11-23" in done.stdout
    assert "fee 0.44 EUR" in done.stdout
    store = Store(tmp_path / "guard.db")
    assert payouts.payouts(store)[0].received_on == date(2026, 11, 23)
    store.close()


def test_the_command_says_what_is_wrong_with_the_file(tmp_path: Path) -> None:
    settled_payout(tmp_path / "guard.db")
    missing = cli(tmp_path, "--import", str(tmp_path / "nope.csv"))
    assert missing.returncode == 2 and "nope.csv: No such file or directory" in missing.stderr
    (tmp_path / "odd.csv").write_text("a,b\n1,2\n")
    odd = cli(tmp_path, "--import", str(tmp_path / "odd.csv"))
    assert odd.returncode == 2 and "odd.csv: no header row with a date column" in odd.stderr
    fee = cli(tmp_path, "--import", str(tmp_path / "odd.csv"), "--fee-max", "120")
    assert fee.returncode == 2 and "--fee-max" in fee.stderr
