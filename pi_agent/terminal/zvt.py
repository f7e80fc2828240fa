"""The ZVT driver behind the `Terminal` interface: runs sans-I/O dialogues on a `Link`."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date, datetime

from ..zvt import codes
from ..zvt.bmp import CARD_SLOTS
from ..zvt.dialogue import DialogueResult, EcrConnection
from ..zvt.errors import DialogueError, MessageError, TimeoutExpired, TransmissionError
from ..zvt.messages import (
    CFG_SEND_INTERMEDIATE_STATUS,
    Abort,
    Command,
    Completion,
    Diagnosis,
    EndOfDay,
    HostDateTime,
    Initialisation,
    IntermediateStatus,
    Message,
    PrintLine,
    PrintTextBlock,
    Registration,
    RepeatReceipt,
    SetDateTime,
    StatusEnquiry,
    StatusInformation,
    TurnoverTotals,
)
from ..zvt.timers import Timeouts, TimerBook
from .base import (
    CommandRefused,
    NoAnswer,
    PortUnavailable,
    ProgressCallback,
    ProtocolFault,
    Terminal,
)
from .link import DEFAULT_LINE, LineSettings, Link, LinkState, Port
from .models import (
    BatchTotals,
    CardTypeTotal,
    Condition,
    OperationResult,
    Outcome,
    Progress,
    SettlementResult,
    TerminalStatus,
    terminal_clock,
)

# Registration config byte: intermediate status to us; receipts, payment and admin
# functions stay on the terminal (bits 02/04/10/20 clear), so the cashier loses nothing.
REGISTRATION_CONFIG = CFG_SEND_INTERMEDIATE_STATUS

RECEIPT_CYCLE = 9999  # receipt numbers are 4 BCD digits: 9999 is followed by 0001
CARD_COUNT_LIMIT = 255  # BMP 60 counts are one binary byte
DEADLINE_GRACE = 5.0  # seconds past a protocol deadline before a silent dialogue counts as stuck

CONDITIONS: dict[int, Condition] = {
    0x00: Condition.READY,
    0x51: Condition.NEEDS_INITIALISATION,
    0x62: Condition.DATE_TIME_INCORRECT,
    0x9C: Condition.BUSY,
    0xB1: Condition.NEEDS_END_OF_DAY,
    0xC2: Condition.NEEDS_DIAGNOSIS,
    0xCC: Condition.PRINTER_NOT_READY,
    0xDC: Condition.BUSY,
    0xDF: Condition.OUT_OF_ORDER,
    0xE0: Condition.BUSY,
    0xF0: Condition.NEEDS_END_OF_DAY,
}


# Reads of already-waiting bytes before a command: a line that never stops babbling must
# not keep the command from being sent.
IDLE_DRAIN_READS = 8


class ZvtTerminal(Terminal):
    """A ZVT terminal on a serial port (framed, ACK/NAK) or `socket://` (bare APDUs)."""

    def __init__(
        self,
        url: str,
        *,
        password: str = "000000",
        currency: int = 978,
        line: LineSettings = DEFAULT_LINE,
        timeouts: Timeouts | None = None,
        handshake: bool = True,
        register_on_connect: bool = False,
        registration_config: int = REGISTRATION_CONFIG,
        on_state: Callable[[LinkState, str], None] | None = None,
        trace: Callable[[str, bytes], None] | None = None,
        backoff: tuple[float, float] = (0.2, 5.0),
    ) -> None:
        if len(password) != 6 or not (password.isascii() and password.isdigit()):
            raise ValueError("terminal password must be 6 digits")
        self.url = url
        self.password = password
        self.currency = currency
        self.timeouts = timeouts or Timeouts()
        self._serial = not url.startswith("socket://")
        self._conn = EcrConnection(self._serial, self.timeouts)
        self._idle_timers = TimerBook()  # T1 between dialogues
        self._handshake = handshake
        self._register = register_on_connect
        self._registration_config = registration_config
        self.terminal_id: str | None = None
        self._link = Link(url, self, line, backoff=backoff, on_state=on_state, trace=trace).start()

    # -- Session hooks (run in the link's worker thread)

    def handshake(self, port: Port) -> None:
        self._conn = EcrConnection(self._serial, self.timeouts)  # fresh link, fresh state
        self._idle_timers = TimerBook()
        if self._handshake:
            self._status_from(self._dialogue(port, StatusEnquiry(self.password)))
        if self._register:
            self._registration_from(self._dialogue(port, self._registration()))

    def idle(self, port: Port, data: bytes) -> float | None:
        """Bytes between dialogues: late frames still get their ACK; a partial frame that
        stalls for T1 is NAKed and dropped here, not left to swallow the next command's ACK."""
        conn, book = self._conn, self._idle_timers
        if data:
            conn.receive_data(data)
        now = time.monotonic()
        # Only T1 while idle: the dialogue's own timers belong to the dialogue loop.
        book.update(tuple(t for t in conn.armed() if t.name == "T1"), now)
        if book.expired(now):
            conn.expire("T1")
            book.update((), now)
        out = conn.data_to_send()
        if out:
            port.write(out)
        deadline = book.next_deadline()
        return None if deadline is None else deadline - now

    # -- the byte loop

    def _dialogue(
        self,
        port: Port,
        command: Command,
        on_message: Callable[[Message], None] | None = None,
        sent: list[bool] | None = None,
    ) -> DialogueResult:
        # Bytes already waiting came before our command: handle them as idle traffic, so
        # none is read as part of this dialogue (the command itself drops a partial frame).
        for _ in range(IDLE_DRAIN_READS):
            data = port.read(0)
            if not data:
                break
            self.idle(port, data)
        conn = self._conn
        if conn.busy:  # a previous dialogue was cut short: start clean
            conn = self._conn = EcrConnection(self._serial, self.timeouts)
        self._idle_timers = TimerBook()
        conn.send(command)
        book = TimerBook()
        while True:
            out = conn.data_to_send()
            if out:
                port.write(out)
                if sent is not None:
                    sent[0] = True
            if not conn.busy:
                break
            now = time.monotonic()
            book.update(conn.armed(), now)
            expired = book.expired(now)
            if expired:
                for name in expired:
                    self._deliver(conn.expire(name), on_message)
                continue
            deadline = book.next_deadline()
            self.beat((now + 1.0 if deadline is None else deadline) + DEADLINE_GRACE)
            data = port.read(1.0 if deadline is None else deadline - now)
            if data:
                self._deliver(conn.receive_data(data), on_message)
        assert conn.result is not None
        return conn.result

    @staticmethod
    def _deliver(events: list, on_message: Callable[[Message], None] | None) -> None:
        if on_message is None:
            return
        for ev in events:
            if isinstance(ev, Message):
                on_message(ev)

    def _run(
        self, command: Command, on_message: Callable[[Message], None] | None = None
    ) -> DialogueResult:
        return self._link.call(lambda port: self._dialogue(port, command, on_message))

    def _check(self, result: DialogueResult) -> DialogueResult:
        """Raise the TerminalError a failed dialogue means; return it if the terminal answered."""
        name = result.command.name
        error = result.error
        if isinstance(error, TimeoutExpired):
            raise NoAnswer(f"terminal on {self.url} did not answer {name}: {error}")
        if isinstance(error, TransmissionError):
            raise NoAnswer(f"terminal on {self.url} did not acknowledge {name}: {error}")
        if isinstance(error, (DialogueError, MessageError)):
            raise ProtocolFault(f"terminal on {self.url} broke the protocol during {name}: {error}")
        if not result.ok:
            code = result.result_code
            text = codes.result_text(code) if code is not None else "refused"
            raise CommandRefused(f"terminal refused {name}: {text}", code)
        return result

    # -- Terminal interface

    @property
    def connected(self) -> bool:
        return self._link.connected

    @property
    def link(self) -> Link:
        return self._link

    def line_counters(self) -> dict[str, int]:
        """Transport counters of the current connection: NAKs we sent, frames we repeated."""
        transport = self._conn.transport
        return {"naks_sent": transport.nak_sent, "repeats": transport.repeats}

    def wait_connected(self, timeout: float) -> bool:
        return self._link.wait_connected(timeout)

    def close(self) -> None:
        self._link.close()

    def status(self) -> TerminalStatus:
        return self._status_from(self._run(StatusEnquiry(self.password)))

    def _status_from(self, result: DialogueResult) -> TerminalStatus:
        self._check(result)
        completion = result.final
        assert isinstance(completion, Completion)
        want_version = result.command.wants_software_version  # type: ignore[attr-defined]
        try:
            parsed = completion.status(want_version)
        except MessageError:
            if not want_version:
                raise ProtocolFault(f"unreadable Status Enquiry answer from {self.url}") from None
            try:  # some terminals leave the version out even when asked
                parsed = completion.status(False)
            except MessageError as exc:
                raise ProtocolFault(
                    f"unreadable Status Enquiry answer from {self.url}: {exc}"
                ) from None
        code = parsed.terminal_status
        return TerminalStatus(
            code=code,
            condition=CONDITIONS.get(code, Condition.ATTENTION),
            text=codes.terminal_status_text(code, "en"),
            text_zh=codes.terminal_status_text(code, "zh"),
            software_version=parsed.software_version,
            terminal_id=self.terminal_id,
        )

    def totals(self) -> BatchTotals:
        result = self._check(self._run(TurnoverTotals(self.password)))
        totals = self._totals_from(result)
        if totals is None:
            raise ProtocolFault(f"terminal on {self.url} sent no totals for Send Turnover Totals")
        return totals

    def _totals_from(self, result: DialogueResult) -> BatchTotals | None:
        infos = [m for m in result.of_type(StatusInformation) if m.totals or m.amount is not None]
        if not infos:
            return None
        info = infos[-1]
        per_slot = info.totals
        cards = ()
        if per_slot is not None:
            cards = tuple(
                CardTypeTotal(name, slot.count, slot.amount)
                for name, slot in zip(CARD_SLOTS, per_slot.slots, strict=True)
            )
        total = info.amount if info.amount is not None else sum(c.amount for c in cards)
        if info.terminal_id:
            self.terminal_id = info.terminal_id
        return BatchTotals(
            currency=info.currency or self.currency,
            total=total,
            cards=cards,
            # 0000 is "no receipt" (an empty batch); the numbers run 0001..9999 and wrap.
            first_receipt=(per_slot.first_receipt or None) if per_slot else None,
            last_receipt=(per_slot.last_receipt or None) if per_slot else None,
            receipt_cycle=RECEIPT_CYCLE,
            card_count_limit=CARD_COUNT_LIMIT,
            terminal_id=info.terminal_id or self.terminal_id,
            trace=info.fields.get(0x0B),
            # The system date only picks the year the terminal leaves out (nearest wins).
            terminal_time=terminal_clock(
                info.fields.get(0x0C), info.fields.get(0x0D), date.today()
            ),
        )

    def settle(self, progress: ProgressCallback | None = None) -> SettlementResult:
        sent = [False]
        command = EndOfDay(self.password)

        def job(port: Port) -> DialogueResult:
            return self._dialogue(port, command, self._progress_sink(progress), sent)

        try:
            result = self._link.call(job)
        except PortUnavailable as exc:
            if not sent[0]:
                raise  # nothing left the ECR: nothing can have happened
            return SettlementResult(Outcome.UNKNOWN, error=str(exc))
        lines = tuple(self._receipt_lines(result))
        if result.error is not None:
            # Even an unacknowledged frame may have arrived (its ACK lost): unknown, not failed.
            return SettlementResult(
                Outcome.UNKNOWN,
                self._totals_from(result),
                receipt_lines=lines,
                error=f"End-of-Day answer lost: {result.error}",
            )
        code = result.result_code
        if not result.ok:
            return SettlementResult(
                Outcome.FAILED,
                None,
                code,
                codes.result_text(code) if code is not None else "refused",
                lines,
            )
        return SettlementResult(
            Outcome.OK, self._totals_from(result), 0, codes.result_text(0), lines
        )

    def last_settlement(self) -> BatchTotals | None:
        """Repeat Receipt, asking for the last Status-Information and no print. An End-of-Day's
        carries the individual totals (BMP 60); a payment's does not, so it is not taken."""
        try:
            result = self._check(self._run(RepeatReceipt(self.password)))
        except CommandRefused:
            return None
        infos = [m for m in result.of_type(StatusInformation) if m.totals is not None]
        return self._totals_from(result) if infos else None

    @staticmethod
    def _receipt_lines(result: DialogueResult) -> list[str]:
        lines: list[str] = []
        for m in result.messages:
            if isinstance(m, PrintLine):
                lines.append(m.text.rstrip())
            elif isinstance(m, PrintTextBlock):
                lines.extend(line.rstrip() for line in m.lines())
        return lines

    @staticmethod
    def _progress_sink(progress: ProgressCallback | None) -> Callable[[Message], None] | None:
        if progress is None:
            return None

        def sink(message: Message) -> None:
            if isinstance(message, IntermediateStatus):
                texts = message.texts()
                en = " ".join(texts) if texts else codes.intermediate_text(message.code, "en")
                zh = " ".join(texts) if texts else codes.intermediate_text(message.code, "zh")
                progress(Progress(message.code, en, zh))

        return sink

    def _registration(self) -> Registration:
        return Registration(self.password, self._registration_config, self.currency)

    def _registration_from(self, result: DialogueResult) -> OperationResult:
        self._check(result)
        assert isinstance(result.final, Completion)
        try:
            fields = result.final.fields()
        except MessageError:
            fields = None  # vendor data we do not know: registration still succeeded
        if fields is not None and fields.get(0x29):
            self.terminal_id = fields.get(0x29)
        return OperationResult(True, 0, codes.result_text(0), self.terminal_id)

    def register(self) -> OperationResult:
        return self._registration_from(self._run(self._registration()))

    def _maintenance(
        self, command: Command, progress: ProgressCallback | None = None
    ) -> OperationResult:
        result = self._run(command, self._progress_sink(progress))
        try:
            self._check(result)
        except CommandRefused as exc:
            return OperationResult(False, exc.code, str(exc), self.terminal_id)
        details = {}
        for m in result.of_type(HostDateTime):
            when = m.when()
            if when is not None:
                details["host_time"] = when.isoformat()
        return OperationResult(True, 0, codes.result_text(0), self.terminal_id, details)

    def diagnose(self, progress: ProgressCallback | None = None) -> OperationResult:
        return self._maintenance(Diagnosis(), progress)

    def initialise(self, progress: ProgressCallback | None = None) -> OperationResult:
        return self._maintenance(Initialisation(self.password), progress)

    def set_clock(self, when: datetime) -> OperationResult:
        return self._maintenance(SetDateTime(self.password, when))

    def abort(self) -> OperationResult:
        return self._maintenance(Abort())
