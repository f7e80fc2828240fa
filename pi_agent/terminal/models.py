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
    code_text: str | None = field(default=None, compare=False)  # as the protocol writes it

    @property
    def ready(self) -> bool:
        return self.condition is Condition.READY

    @property
    def code_label(self) -> str:
        return code_label(self.code, self.code_text)

    def to_json(self) -> dict[str, Any]:
        return {
            "ready": self.ready,
            "code": self.code_label,
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
class BatchIdentity:
    """What a driver can say about which batch a reading belongs to, in neutral terms.

    No single field names a batch for good: receipt numbers wrap (ZVT: 9999 -> 0001), some
    terminals send none, some start every batch at 1. So identity is continuity: a later
    reading `continues` an earlier one when nothing in it contradicts "the same batch, grown".
    The guard's journal adds what no reading can know (that a batch was settled and seen
    gone), see guard/batches.py.
    """

    terminal_id: str | None = None
    batch_number: int | None = None  # protocols that number their batches (POSLink)
    first_receipt: int | None = None
    last_receipt: int | None = None
    receipt_cycle: int | None = None  # receipt numbers run 1..cycle, then wrap to 1
    count: int = 0
    total: int = 0

    def continues(self, earlier: BatchIdentity) -> bool:
        """Could this reading be `earlier`'s batch, later (same batch, nothing taken away)?"""
        for mine, theirs in ((self.terminal_id, earlier.terminal_id),
                             (self.batch_number, earlier.batch_number),
                             (self.first_receipt, earlier.first_receipt)):  # fmt: skip
            if mine is not None and theirs is not None and mine != theirs:
                return False
        if self.last_receipt is not None and earlier.last_receipt is not None:
            # Receipts say it best: the last one moved forward (across a wrap, but never by
            # half the cycle: a terminal that restarts at 0001 after an end-of-day goes back).
            # The count may drop: some terminals net a reversal out of the totals.
            span = receipts_between(earlier.last_receipt, self.last_receipt, self.receipt_cycle)
            half = (self.receipt_cycle or 0) // 2
            return span is not None and (not half or span <= half)
        return self.count >= earlier.count  # without receipts: a batch only grows


def receipts_between(first: int, last: int, cycle: int | None) -> int | None:
    """How many receipt numbers lie from `first` to `last` inclusive, counting across a wrap
    (..., cycle, 1, 2, ...); None if `last` cannot follow `first` (0 is "none" in ZVT)."""
    if first <= 0 or last <= 0:
        return None
    if last >= first:
        return last - first + 1
    if cycle is None or first > cycle or last > cycle:
        return None
    return cycle - first + 1 + last


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
    batch_number: int | None = None  # protocols that number their batches
    receipt_cycle: int | None = None  # receipt numbers wrap after this one (ZVT: 9999)
    card_count_limit: int | None = None  # a per-card count cannot go past this (ZVT: 255)
    # What some protocols also tell about the open batch (None: this terminal cannot say).
    # Not part of the batch's identity. The oldest authorisation's time (terminal's local
    # wall clock): a batch settled more than ~24 h after it costs the merchant more.
    oldest_authorised_at: datetime | None = field(default=None, compare=False)
    # Payments approved offline and stored, not yet sent to the host (POSLink SAF).
    offline_pending: int | None = field(default=None, compare=False)
    offline_pending_total: int | None = field(default=None, compare=False)
    # The terminal says its transaction store is full and it must be settled now.
    storage_full: bool = field(default=False, compare=False)

    @property
    def card_count(self) -> int:
        """The sum of the per-card-type counts, as sent (each may be saturated)."""
        return sum(c.count for c in self.cards)

    @property
    def receipt_span(self) -> int | None:
        """Transactions the receipt range covers, across a wrap; None without receipts."""
        if self.first_receipt is None or self.last_receipt is None:
            return None
        return receipts_between(self.first_receipt, self.last_receipt, self.receipt_cycle)

    @property
    def count_saturated(self) -> bool:
        """A per-card count stands at its limit: the true count may be higher."""
        limit = self.card_count_limit
        return limit is not None and any(c.count >= limit for c in self.cards)

    @property
    def count(self) -> int:
        """Transactions in the batch. The per-card counts are exact until one saturates
        (ZVT: one byte, which a terminal may cap at 255 or let wrap to 0); the receipt range
        does not saturate. So the range wins where a card count stands at its limit, or where
        the range exceeds the cards by more than a wrapped byte could hide."""
        span, cards, limit = self.receipt_span, self.card_count, self.card_count_limit
        if span is None or span <= cards:
            return cards
        if self.count_saturated or (limit is not None and span > cards + limit):
            return span
        return cards  # a few receipt numbers more than sales: declined or voided ones

    @property
    def count_exact(self) -> bool:
        """False when the count is a lower bound (a saturated card count, no receipt range)."""
        return not self.count_saturated or self.receipt_span is not None

    @property
    def empty(self) -> bool:
        # Stored offline payments belong to the batch though no total counts them until
        # they are uploaded: a day taken wholly offline still needs its end-of-day.
        return self.card_count == 0 and self.total == 0 and not self.offline_pending

    @property
    def identity(self) -> BatchIdentity:
        return BatchIdentity(self.terminal_id, self.batch_number, self.first_receipt,
                             self.last_receipt, self.receipt_cycle, self.count,
                             self.total)  # fmt: skip

    def to_json(self) -> dict[str, Any]:
        return {
            "currency": currency_alpha(self.currency),
            "count": self.count,
            "count_exact": self.count_exact,
            "card_count": self.card_count,
            "total": format_minor(self.total, self.currency),
            "total_minor": self.total,
            "first_receipt": self.first_receipt,
            "last_receipt": self.last_receipt,
            "terminal_id": self.terminal_id,
            "batch_number": self.batch_number,
            "terminal_time": self.terminal_time.isoformat() if self.terminal_time else None,
            "oldest_authorised_at": (
                self.oldest_authorised_at.isoformat() if self.oldest_authorised_at else None
            ),
            "offline_pending": self.offline_pending,
            "storage_full": self.storage_full,
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


def code_label(code: int, text: str | None) -> str:
    """A result or status code as its protocol writes it: ZVT's are two hex digits, others
    (POSLink: six decimal digits) come with their own text."""
    return text if text else f"{code:02X}"


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
    # OK outcomes only: the terminal closed the batch but its totals and the host's differ.
    # The batch is gone (never retry); the owner must reconcile with the acquirer.
    out_of_balance: bool = False
    code_text: str | None = field(default=None, compare=False)  # as the protocol writes it

    @property
    def code_label(self) -> str | None:
        return None if self.result_code is None else code_label(self.result_code, self.code_text)

    def to_json(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome.value,
            "result_code": self.code_label,
            "result_text": self.result_text,
            "error": self.error,
            "out_of_balance": self.out_of_balance,
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
    code_text: str | None = field(default=None, compare=False)  # as the protocol writes it

    @property
    def code_label(self) -> str | None:
        return None if self.result_code is None else code_label(self.result_code, self.code_text)

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "result_code": self.code_label,
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
