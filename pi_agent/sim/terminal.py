"""The simulated terminal's state and answers, without I/O: a batch that grows with sales,
receipt and trace numbers, status flags, and the message sequence for each ECR command."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ..money import format_amount
from ..zvt.bmp import CARD_SLOTS, BmpFields, CardTotal, IndividualTotals
from ..zvt.messages import (
    CFG_ECR_PRINTS_ADMIN_RECEIPT,
    CFG_SEND_INTERMEDIATE_STATUS,
    SVC_NO_SOFTWARE_VERSION,
    SVC_RESEND_STATUS_INFO,
    Abort,
    Command,
    Completion,
    Diagnosis,
    EndOfDay,
    HostDateTime,
    Initialisation,
    IntermediateStatus,
    LogOff,
    Message,
    NegativeAck,
    PositiveAck,
    PrintLine,
    PtAbort,
    Registration,
    RepeatReceipt,
    SetDateTime,
    StatusEnquiry,
    StatusInformation,
    TurnoverTotals,
)

# Status flags and the status code each one shows, highest priority first.
FLAGS: dict[str, int] = {
    "out-of-order": 0xDF,
    "needs-initialisation": 0x51,
    "needs-diagnosis": 0xC2,
    "date-time-incorrect": 0x62,
    "printer-not-ready": 0xCC,
    "memory-full": 0xB1,  # set by itself when the batch reaches capacity
    "reconciliation-required": 0xF0,
}
RECEIPT_NUMBERING = ("continuous", "per-batch", "none")
MAX_SLOT_COUNT = 255  # BMP 60 counts are one binary byte


@dataclass(frozen=True, slots=True)
class Sale:
    receipt: int
    card: str
    amount: int
    when: datetime


class SimTerminal:
    """Answers ECR commands as a ZVT terminal would. Control methods are thread-safe."""

    def __init__(
        self,
        *,
        password: str = "000000",
        currency: int = 978,
        terminal_id: str = "29001006",
        software_version: str = "SG-SIM 1.0",
        capacity: int = 2000,
        clock: Callable[[], datetime] = datetime.now,
        receipt_numbers: str = "continuous",
    ) -> None:
        # continuous: 0001..9999 and wrap, across batches (most terminals); per-batch: each
        # batch starts at 0001; none: totals carry no receipt range (BMP 60 sends 0000).
        if receipt_numbers not in RECEIPT_NUMBERING:
            raise ValueError(f"receipt_numbers must be one of {', '.join(RECEIPT_NUMBERING)}")
        self.receipt_numbers = receipt_numbers
        self.password = password
        self.currency = currency
        self.terminal_id = terminal_id
        self.software_version = software_version
        self.capacity = capacity
        self._clock = clock
        self.clock_offset = timedelta()
        self.batch: list[Sale] = []
        self.next_receipt = 1
        self.trace = 0
        self.config: int | None = None  # config byte of the last Registration
        self.flags: set[str] = set()
        self.last_settlement: dict[str, Any] | None = None
        # The Status-Information of the last receipt (a payment's or an End-of-Day's), for
        # Repeat Receipt.
        self.last_receipt_info: StatusInformation | None = None
        self.settlements = 0
        self.sign_ins = 0  # initialisations that went through
        self._lock = threading.RLock()

    def now(self) -> datetime:
        return self._clock() + self.clock_offset

    # -- control

    def add_sale(self, amount: int, card: str = "visa", when: datetime | None = None) -> int:
        if card not in CARD_SLOTS:
            raise ValueError(f"unknown card {card!r} (one of {', '.join(CARD_SLOTS)})")
        if not 0 < amount <= 999_999_999_999:
            raise ValueError(f"amount {amount} out of range")
        with self._lock:
            if len(self.batch) >= self.capacity:
                raise ValueError("batch full: the terminal refuses sales until it is settled")
            receipt = self.next_receipt
            self.next_receipt = receipt % 9999 + 1
            self.trace = self.trace % 999999 + 1
            self.batch.append(Sale(receipt, card, amount, when or self.now()))
            fields = [(0x27, 0x00), (0x04, amount), (0x0B, self.trace), (0x29, self.terminal_id)]
            if self.receipt_numbers != "none":
                fields.append((0x87, receipt))
            self.last_receipt_info = StatusInformation(BmpFields(tuple(fields)))
            return receipt

    def set_flag(self, name: str, on: bool = True) -> None:
        if name not in FLAGS or name == "memory-full":
            settable = ", ".join(f for f in FLAGS if f != "memory-full")
            raise ValueError(f"unknown flag {name!r} (one of {settable})")
        with self._lock:
            (self.flags.add if on else self.flags.discard)(name)

    @property
    def status_code(self) -> int:
        with self._lock:
            active = set(self.flags)
            if len(self.batch) >= self.capacity:
                active.add("memory-full")
        return next((code for name, code in FLAGS.items() if name in active), 0x00)

    def totals(self) -> IndividualTotals:
        with self._lock:
            slots = []
            for card in CARD_SLOTS:
                sales = [s for s in self.batch if s.card == card]
                slots.append(
                    CardTotal(min(len(sales), MAX_SLOT_COUNT), sum(s.amount for s in sales))
                )
            numbered = self.batch and self.receipt_numbers != "none"
            first = self.batch[0].receipt if numbered else 0
            last = self.batch[-1].receipt if numbered else 0
            return IndividualTotals(first, last, tuple(slots))

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            per_slot = self.totals().by_name()
            return {
                "status": f"{self.status_code:02X}",
                "count": len(self.batch),
                "total": sum(s.amount for s in self.batch),
                "cards": {k: [v.count, v.amount] for k, v in per_slot.items() if v.count},
                "next_receipt": self.next_receipt,
                "receipt_numbers": self.receipt_numbers,
                "flags": sorted(self.flags),
                "registered": self.config is not None,
                "settlements": self.settlements,
                "last_settlement": self.last_settlement,
            }

    # -- answers

    def handle(self, command: Command, host_down: int | None = None) -> list[Message]:
        """The terminal's whole answer to one command, in order."""
        with self._lock:
            if getattr(command, "password", None) not in (None, self.password):
                return [NegativeAck(0x83)]  # a wrong password is refused before anything runs
            handler = _HANDLERS.get(type(command))
            if handler is None:
                return [NegativeAck(0x83)]
            return handler(self, command, host_down)

    def _status(self, cmd: StatusEnquiry, host_down: int | None) -> list[Message]:
        with_version = not (cmd.service_byte or 0) & SVC_NO_SOFTWARE_VERSION
        version = self.software_version if with_version else None
        return [PositiveAck(), Completion.for_status(self.status_code, version)]

    def _register(self, cmd: Registration, host_down: int | None) -> list[Message]:
        self.config = cmd.config
        fields = BmpFields.of(((0x19, 0x00), (0x29, self.terminal_id), (0x49, cmd.currency)))
        return [PositiveAck(), Completion(fields.encode())]

    def _info(self) -> StatusInformation:
        total = sum(s.amount for s in self.batch)
        now = self.now()
        fields = BmpFields(
            (
                (0x27, 0x00),
                (0x04, total),
                (0x0B, self.trace),
                (0x0C, now.strftime("%H%M%S")),
                (0x0D, now.strftime("%m%d")),
                (0x29, self.terminal_id),
                (0x60, self.totals()),
            )
        )
        return StatusInformation(fields)

    def _turnover(self, cmd: TurnoverTotals, host_down: int | None) -> list[Message]:
        return [PositiveAck(), self._info(), Completion()]

    def _dialling(self) -> list[Message]:
        if self.config is not None and self.config & CFG_SEND_INTERMEDIATE_STATUS:
            return [IntermediateStatus(0xD2), IntermediateStatus(0xD3)]
        return []

    def _end_of_day(self, cmd: EndOfDay, host_down: int | None) -> list[Message]:
        if host_down is not None:
            return [PositiveAck(), *self._dialling()[:1], PtAbort(host_down)]
        info = self._info()
        lines = self._receipt(info)
        settled = self.totals()
        self.last_settlement = {
            "count": len(self.batch),
            "total": info.amount,
            "first_receipt": settled.first_receipt,
            "last_receipt": settled.last_receipt,
            "at": self.now().isoformat(timespec="seconds"),
        }
        self.batch.clear()
        self.last_receipt_info = info
        if self.receipt_numbers == "per-batch":
            self.next_receipt = 1
        self.flags.discard("reconciliation-required")
        self.settlements += 1
        self.trace = self.trace % 999999 + 1
        out: list[Message] = [PositiveAck(), *self._dialling(), info]
        if self.config is not None and self.config & CFG_ECR_PRINTS_ADMIN_RECEIPT:
            out += [
                PrintLine(0xFF if i == len(lines) - 1 else 0x00, t) for i, t in enumerate(lines)
            ]
        return [*out, Completion()]

    def _receipt(self, info: StatusInformation) -> list[str]:
        now = self.now()
        totals = info.totals
        assert totals is not None and info.amount is not None
        lines = [
            "END OF DAY",
            f"TID {self.terminal_id}",
            now.strftime("%Y-%m-%d %H:%M:%S"),
            f"receipts {totals.first_receipt:04d}-{totals.last_receipt:04d}",
        ]
        for name, slot in totals.by_name().items():
            if slot.count:
                lines.append(
                    f"{name:<11}{slot.count:>4} {format_amount(slot.amount, self.currency):>16}"
                )
        lines += [f"TOTAL {format_amount(info.amount, self.currency):>25}", "SETTLEMENT OK"]
        return lines

    def _repeat_receipt(self, cmd: RepeatReceipt, host_down: int | None) -> list[Message]:
        info = self.last_receipt_info
        if info is None:
            return [PositiveAck(), PtAbort(0x6C)]  # nothing to repeat
        resend = (cmd.service_byte or 0) & SVC_RESEND_STATUS_INFO
        return [PositiveAck(), *([info] if resend else []), Completion()]

    def _diagnosis(self, cmd: Diagnosis, host_down: int | None) -> list[Message]:
        if host_down is not None:
            return [PositiveAck(), IntermediateStatus(0xC9), PtAbort(host_down)]
        self.flags.discard("needs-diagnosis")
        self.flags.discard("date-time-incorrect")
        self.clock_offset = timedelta()  # the host's time is right by definition
        now = self._clock()
        fields = BmpFields(((0xAA, now.strftime("%y%m%d")), (0x0C, now.strftime("%H%M%S"))))
        return [PositiveAck(), IntermediateStatus(0xC9), HostDateTime(fields), Completion()]

    def _initialisation(self, cmd: Initialisation, host_down: int | None) -> list[Message]:
        if host_down is not None:
            return [PositiveAck(), IntermediateStatus(0xCA), PtAbort(host_down)]
        self.flags.discard("needs-initialisation")
        self.flags.discard("needs-diagnosis")
        self.sign_ins += 1
        return [PositiveAck(), IntermediateStatus(0xCA), Completion()]

    def _set_clock(self, cmd: SetDateTime, host_down: int | None) -> list[Message]:
        self.clock_offset = cmd.when - self._clock()
        self.flags.discard("date-time-incorrect")
        return [PositiveAck(), Completion()]

    def _ack_only(self, cmd: Command, host_down: int | None) -> list[Message]:
        if isinstance(cmd, LogOff):
            self.config = None
        return [PositiveAck()]


_HANDLERS: dict[type[Command], Callable[[SimTerminal, Any, int | None], list[Message]]] = {
    StatusEnquiry: SimTerminal._status,
    Registration: SimTerminal._register,
    TurnoverTotals: SimTerminal._turnover,
    EndOfDay: SimTerminal._end_of_day,
    RepeatReceipt: SimTerminal._repeat_receipt,
    Diagnosis: SimTerminal._diagnosis,
    Initialisation: SimTerminal._initialisation,
    SetDateTime: SimTerminal._set_clock,
    Abort: SimTerminal._ack_only,
    LogOff: SimTerminal._ack_only,
}
