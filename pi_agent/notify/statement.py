"""Bank statement CSV import: find each expected payout among the account's credits.

Banks export CSV in every shape: `;` or `,`, decimal comma or point, preamble lines
before the header, UTF-8, GB18030 or Windows-1252, headers in German, English or
Chinese. The reader finds the header row by its column names (or the names given),
reads only credits, and tells which lines it skipped and why.

Acquirers pay the batch total less their fees, so a credit matches a payout when it is
at most `fee_max` below the settled total (never above it) and booked within a few days
of the expected date. One credit pays one payout; an acquirer that pools several days
into one transfer is not matched (mark those received by hand).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from .payouts import Payout

DATE_NAMES = ("buchungstag", "buchungsdatum", "booking date", "date", "datum", "valuta",
              "wertstellung", "value date", "交易日期", "记账日期", "入账日期",
              "交易时间")  # fmt: skip
# Credit-only columns first: where a statement has them, debits sit in another column.
AMOUNT_NAMES = ("收入金额", "贷方发生额", "收入", "credit", "haben", "gutschrift", "betrag",
                "betrag (eur)", "umsatz", "amount", "交易金额", "金额")  # fmt: skip
TEXT_NAMES = ("verwendungszweck", "buchungstext", "description", "payee", "name",
              "beguenstigter/zahlungspflichtiger", "摘要", "附言", "对方户名", "用途")  # fmt: skip
DATE_FORMATS = ("%Y-%m-%d", "%d.%m.%Y", "%d.%m.%y", "%Y/%m/%d", "%Y%m%d", "%Y-%m-%d %H:%M:%S",
                "%Y/%m/%d %H:%M:%S", "%Y年%m月%d日")  # fmt: skip


class StatementError(ValueError):
    pass


@dataclass(frozen=True)
class Credit:
    line: int  # 1-based line in the file
    booked: date
    amount: int  # minor units, > 0
    text: str


def decode(raw: bytes) -> str:
    """UTF-8, else Chinese (GB2312, or GB18030 when every non-ASCII byte pairs with
    another), else Windows-1252: GB18030 would decode a German file too, but "ä" before
    an ASCII letter is a pair no Chinese text has."""
    for encoding in ("utf-8-sig", "gb2312"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    if _paired_high_bytes(raw):
        try:
            return raw.decode("gb18030")
        except UnicodeDecodeError:
            pass
    return raw.decode("cp1252", errors="replace")


def _paired_high_bytes(raw: bytes) -> bool:
    i = 0
    while i < len(raw):
        if raw[i] < 0x80:
            i += 1
        elif i + 1 < len(raw) and raw[i + 1] >= 0x80:
            i += 2
        else:
            return False
    return True


def parse_date(text: str) -> date:
    value = text.strip()
    for fmt in DATE_FORMATS:
        try:
            return datetime.strptime(value, fmt).date()
        except ValueError:
            continue
    raise ValueError(f"{text!r} is not a date (e.g. 2026-11-23, 23.11.2026)")


def parse_money(text: str, places: int = 2) -> int:
    """'1.234,56' / '1,234.56' / '-12,50' / 'EUR 12.50' / '¥1,200.00' -> minor units.

    The last mark is the decimal mark unless it repeats or, being the only kind, is
    followed by exactly three digits: then it groups thousands ('1.234' is 1234)."""
    value = re.sub(r"[^\d,.+\-]", "", text.replace("\u2212", "-"))
    negative = value.startswith("-") or value.endswith("-")
    value = value.strip("+-")
    if not re.fullmatch(r"\d+([.,]\d+)?|\d{1,3}([.,]\d{3})+([.,]\d+)?", value):
        raise ValueError(f"{text!r} is not an amount")
    marks = [ch for ch in value if ch in ".,"]
    whole, frac = value, ""
    if marks:
        mark, last = marks[-1], value.rfind(marks[-1])
        grouping = marks.count(mark) > 1 or (len(set(marks)) == 1 and len(value) - last == 4)
        if not grouping:
            whole, frac = value[:last], value[last + 1 :]
    whole = whole.replace(".", "").replace(",", "")
    if not whole.isdigit() or not (frac == "" or frac.isdigit()) or len(frac) > places:
        raise ValueError(f"{text!r} is not an amount with at most {places} decimals")
    minor = int(whole) * 10**places + int(frac.ljust(places, "0") or 0)
    return -minor if negative else minor


def _column(header: list[str], names: Iterable[str], given: str | None) -> int | None:
    cells = [h.strip().lower() for h in header]
    if given is not None:
        return cells.index(given.strip().lower()) if given.strip().lower() in cells else None
    for name in names:
        if name in cells:
            return cells.index(name)
    return None


def _header(rows: list[list[str]], date_column: str | None,
            amount_column: str | None) -> tuple[int, int, int]:  # fmt: skip
    """The header row's index and its date and amount columns (after any preamble)."""
    for at, row in enumerate(rows):
        d = _column(row, DATE_NAMES, date_column)
        a = _column(row, AMOUNT_NAMES, amount_column)
        if d is not None and a is not None:
            return at, d, a
    wanted = (f"columns {date_column!r} and {amount_column!r}"
              if date_column or amount_column else
              "a date column (e.g. Buchungstag, Date, 交易日期) and an amount column "
              "(e.g. Betrag, Amount, 收入金额)")  # fmt: skip
    raise StatementError(f"no header row with {wanted} found; name them with "
                         "--date-column and --amount-column")  # fmt: skip


def read(raw: bytes, *, places: int = 2, date_column: str | None = None,
         amount_column: str | None = None) -> tuple[list[Credit], list[str]]:  # fmt: skip
    """The statement's credits, and a note for every data line skipped."""
    text = decode(raw)
    sample = "\n".join(text.splitlines()[:50])
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(sample, delimiters=";,\t")
    except csv.Error:
        dialect = csv.excel
    rows = list(csv.reader(io.StringIO(text), dialect))
    at, d, a = _header(rows, date_column, amount_column)
    header = rows[at]
    t = _column(header, TEXT_NAMES, None)
    credits: list[Credit] = []
    skipped: list[str] = []
    for n, row in enumerate(rows[at + 1 :], start=at + 2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) <= max(d, a):
            skipped.append(f"line {n}: only {len(row)} fields: skipped")
            continue
        try:
            booked = parse_date(row[d])
            amount = parse_money(row[a], places) if row[a].strip() else 0
        except ValueError as exc:
            skipped.append(f"line {n}: {exc}: skipped")
            continue
        if amount > 0:
            text_cell = row[t].strip() if t is not None and t < len(row) else ""
            credits.append(Credit(n, booked, amount, text_cell[:60]))
    return credits, skipped


def match(payouts: Iterable[Payout], credits: Iterable[Credit], *, fee_max: float = 0.03,
          early_days: int = 3, late_days: int = 14) -> list[tuple[Payout, Credit]]:  # fmt: skip
    """Each open payout with the credit that pays it: at most `fee_max` below the settled
    total, booked from `early_days` before to `late_days` after the expected date; the
    closest date wins, then the smallest fee. Each credit is used once."""
    free = list(credits)
    found: list[tuple[Payout, Credit]] = []
    for p in sorted((p for p in payouts if p.received_on is None), key=lambda p: p.expected_on):
        low = p.amount * (1 - fee_max)
        window = (p.expected_on - timedelta(days=early_days),
                  p.expected_on + timedelta(days=late_days))  # fmt: skip
        fits = [c for c in free
                if low <= c.amount <= p.amount and window[0] <= c.booked <= window[1]]  # fmt: skip
        if not fits:
            continue
        best = min(fits, key=lambda c: (abs((c.booked - p.expected_on).days), p.amount - c.amount))
        free.remove(best)
        found.append((p, best))
    return found
