"""Protocol-neutral readings of a payment terminal: status, batch totals, settlement result."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from enum import Enum
from typing import Any

from ..money import currency_alpha, format_minor


class Condition(Enum):
    """What a terminal status means for the merchant, whatever the protocol's code."""

    READY = "ready"
    NEEDS_END_OF_DAY = "needs-end-of-day"
    NEEDS_INITIALISATION = "needs-initialisation"
    NEEDS_DIAGNOSIS = "needs-diagnosis"
    DATE_TIME_INCORRECT = "date-time-incorrect"
    PRINTER_NOT_READY = "printer-not-ready"
    OUT_OF_ORDER = "out-of-order"
    BUSY = "busy"
    ATTENTION = "attention"  # anything else that keeps it from taking cards


@dataclass(frozen=True, slots=True)
class TerminalStatus:
    code: int  # the protocol's own status code (ZVT: 00, 51, F0, ...)
    condition: Condition
    text: str  # English; `text_zh` for the Chinese screen
    text_zh: str = ""
    software_version: str | None = None
    terminal_id: str | None = None

    @property
    def ready(self) -> bool:
        return self.condition is Condition.READY

    def to_json(self) -> dict[str, Any]:
        return {
            "ready": self.ready,
            "code": f"{self.code:02X}",
            "condition": self.condition.value,
            "text": self.text,
            "software_version": self.software_version,
            "terminal_id": self.terminal_id,
        }


@dataclass(frozen=True, slots=True)
class CardTypeTotal:
    card: str  # girocard, jcb, mastercard, amex, visa, diners, other
    count: int
    amount: int  # minor units


@dataclass(frozen=True, slots=True)
class BatchTotals:
    """The open (or just settled) batch as the terminal reports it."""

    currency: int  # ISO 4217 numeric
    total: int  # grand total in minor units (ZVT BMP 04)
    cards: tuple[CardTypeTotal, ...] = ()
    first_receipt: int | None = None
    last_receipt: int | None = None
    terminal_id: str | None = None
    trace: int | None = None
    # The terminal's own wall clock when it answered (local time, no zone); not part of the
    # batch's identity, so two readings of one batch still compare equal.
    terminal_time: datetime | None = field(default=None, compare=False)

    @property
    def count(self) -> int:
        return sum(c.count for c in self.cards)

    @property
    def empty(self) -> bool:
        return self.count == 0 and self.total == 0

    def to_json(self) -> dict[str, Any]:
        return {
            "currency": currency_alpha(self.currency),
            "count": self.count,
            "total": format_minor(self.total, self.currency),
            "total_minor": self.total,
            "first_receipt": self.first_receipt,
            "last_receipt": self.last_receipt,
            "terminal_id": self.terminal_id,
            "terminal_time": self.terminal_time.isoformat() if self.terminal_time else None,
            "cards": [
                {
                    **asdict(c),
                    "amount": format_minor(c.amount, self.currency),
                    "amount_minor": c.amount,
                }
                for c in self.cards
                if c.count or c.amount
            ],
        }


def terminal_clock(hhmmss: object, mmdd: object, today: date) -> datetime | None:
    """The terminal's wall clock from ZVT's time (HHMMSS) and date (MMDD) fields.

    The terminal sends no year: take the one that puts the date nearest `today`, so a
    reading at New Year's midnight lands in the right year. None if absent or malformed.
    """
    if not (isinstance(hhmmss, str) and isinstance(mmdd, str)):
        return None
    digits = hhmmss + mmdd
    if len(hhmmss) != 6 or len(mmdd) != 4 or not (digits.isascii() and digits.isdigit()):
        return None
    candidates = []
    for year in (today.year - 1, today.year, today.year + 1):
        try:
            candidates.append(datetime(year, int(mmdd[:2]), int(mmdd[2:]), int(hhmmss[:2]),
                                       int(hhmmss[2:4]), int(hhmmss[4:])))  # fmt: skip
        except ValueError:  # 29 Feb in a common year, 25:00, month 13
            continue
    if not candidates:
        return None
    noon = datetime(today.year, today.month, today.day, 12)
    return min(candidates, key=lambda c: abs(c - noon))


class Outcome(Enum):
    OK = "ok"
    FAILED = "failed"  # the terminal said no: nothing was settled
    UNKNOWN = "unknown"  # the answer was lost: re-read the batch before any retry


@dataclass(frozen=True, slots=True)
class SettlementResult:
    outcome: Outcome
    totals: BatchTotals | None = None  # what the terminal reported as settled
    result_code: int | None = None
    result_text: str = ""
    receipt_lines: tuple[str, ...] = ()
    error: str | None = None  # why the outcome is unknown

    def to_json(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome.value,
            "result_code": None if self.result_code is None else f"{self.result_code:02X}",
            "result_text": self.result_text,
            "error": self.error,
            "totals": self.totals.to_json() if self.totals else None,
            "receipt_lines": list(self.receipt_lines),
        }


@dataclass(frozen=True, slots=True)
class OperationResult:
    """Outcome of a maintenance command (registration, diagnosis, initialisation, set clock)."""

    ok: bool
    result_code: int | None = None
    result_text: str = ""
    terminal_id: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "result_code": None if self.result_code is None else f"{self.result_code:02X}",
            "result_text": self.result_text,
            "terminal_id": self.terminal_id,
            **self.details,
        }


@dataclass(frozen=True, slots=True)
class Progress:
    """What the terminal says it is doing (ZVT 04 FF), for the panel during a settlement."""

    code: int
    text: str
    text_zh: str = ""
