"""The PAX POSLink driver behind `Terminal`: sans-I/O exchanges over serial, TCP or HTTP.

One request, one response (pi_agent/poslink/exchange.py); how the bytes travel is a
`Carrier`: a serial line owned by a `Link` thread (reopened when unplugged), one TCP
connection per request (as PAX terminals expect on port 10009), or an HTTP GET with the
base64 frame whose body is the response frame. Every carrier reports whether the request
may have left, so a batch close whose answer is lost is UNKNOWN, never FAILED or resent.

How the guard's readings are made from POSLink's commands:
- status: A00 (Initialize); its serial number is the terminal's id.
- totals: R00 (local totals, all EDC types), R10 (stored offline payments pending) and
  R02 records 0 and last (transaction numbers, batch number, the oldest record's time).
- settle: B08 (upload stored offline payments) when R10 says any wait, then B00.
"""

from __future__ import annotations

import base64
import http.client
import socket
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from datetime import datetime
from urllib.parse import urlsplit

from ..poslink.codes import EDC_GROUPS, classify, describe
from ..poslink.codes import Outcome as Code
from ..poslink.errors import PosLinkError, TimeoutExpired, TransmissionError
from ..poslink.exchange import EcrExchange, ExchangeResult, Timeouts
from ..poslink.messages import (
    DEFAULT_VERSION,
    BatchClose,
    BatchCloseResponse,
    ForceClose,
    ForceCloseResponse,
    Initialize,
    InitializeResponse,
    LocalDetail,
    LocalDetailResponse,
    LocalTotal,
    LocalTotalResponse,
    Reboot,
    Request,
    Reset,
    Response,
    SafSummary,
    SafSummaryResponse,
    SafUpload,
    SafUploadResponse,
)
from .base import (
    CommandRefused,
    NoAnswer,
    PortUnavailable,
    ProgressCallback,
    ProtocolFault,
    Terminal,
    TerminalError,
)
from .link import LineSettings, Link, LinkState, Port
from .models import (
    BatchTotals,
    CardTypeTotal,
    Condition,
    OperationResult,
    Outcome,
    Progress,
    SettlementResult,
    TerminalStatus,
)

TRANS_NUMBER_CYCLE = 5000  # the normal database numbers records 1-5000, then wraps
DEADLINE_GRACE = 5.0  # seconds past an exchange's deadline before the watchdog calls it stuck
CONNECT_TRIES = 3  # TCP: connection attempts before a request counts as not sent
MAX_SENDS = 3  # HTTP: GETs of one request (refused with NAK, or a read answered garbled)
# Commands that change the terminal: sent again only when it refused them (NAK).
CLOSING = frozenset({"B00", "B02", "B08", "A26"})
DEFAULT_LINE = LineSettings(baudrate=9600, bytesize=8, parity="N", stopbits=1)
# Kinds of the local totals that settle money. Pre-authorisations and voids do not (they
# are also left out of B01's batch counts), so the open batch is compared like for like.
SETTLED_KINDS = frozenset({"sale", "forced", "postauth", "return", "redeem", "withdrawal",
                           "cashout", "adjust"})  # fmt: skip
NOT_SUPPORTED = "not offered by POSLink terminals"
FULL = "100025"  # please settle: database full


def code_number(text: str) -> int | None:
    """A number the terminal wrote as text (a code, a batch or transaction number), or None.
    ASCII digits only: "²" passes str.isdigit() and int() refuses it."""
    return int(text) if text.isascii() and text.isdigit() else None


class Carrier(ABC):
    """Takes a request to the terminal and its response back: one exchange at a time."""

    @abstractmethod
    def exchange(self, request: Request, timeout: float, sent: list[bool],
                 beat: Callable[[float], None]) -> ExchangeResult:  # fmt: skip
        """Run one exchange; set `sent[0]` once any byte of the request may have left.
        Raises PortUnavailable when the terminal cannot be reached (then nothing left)."""

    @property
    @abstractmethod
    def connected(self) -> bool: ...

    def wait_connected(self, timeout: float) -> bool:
        return self.connected

    def close(self) -> None:
        return None


def _pump(exchange: EcrExchange, request: Request, *, timeout: float, sent: list[bool],
          write: Callable[[bytes], None], read: Callable[[float], bytes],
          beat: Callable[[float], None]) -> ExchangeResult:  # fmt: skip
    """Drive one exchange over a byte stream until it ends or its timer runs out."""
    exchange.timeouts = Timeouts(response=timeout)
    frame = exchange.send(request)
    sent[0] = True
    write(frame)
    generation, deadline = -1, 0.0
    while True:
        out = exchange.data_to_send()
        if out:
            write(out)  # ACK of the response, NAK of a garbled one, or our resent request
        armed = exchange.armed()
        if not armed:
            break
        now = time.monotonic()
        if armed[0].generation != generation:  # a resend or a NAK: the full time again
            generation, deadline = armed[0].generation, now + armed[0].seconds
        if now >= deadline:
            exchange.expire("response")
            continue
        beat(deadline + DEADLINE_GRACE)
        data = read(min(deadline - now, 1.0))
        if data:
            exchange.receive_data(data)
    assert exchange.result is not None
    return exchange.result


class SerialCarrier(Carrier):
    """A serial line (or pty) owned by a `Link` thread; bytes between exchanges (a repeated
    response whose ACK was lost, an EOT) are answered there and never join an exchange."""

    def __init__(self, url: str, line: LineSettings, *, backoff: tuple[float, float],
                 handshake: Callable[[Carrier, Port], None] | None,
                 on_state: Callable[[LinkState, str], None] | None = None,
                 trace: Callable[[str, bytes], None] | None = None) -> None:  # fmt: skip
        self._exchange = EcrExchange()
        self._handshake = handshake
        self.link = Link(url, self, line, backoff=backoff, on_state=on_state,
                         trace=trace).start()  # fmt: skip

    # Session hooks, in the link's thread
    def handshake(self, port: Port) -> None:
        self._exchange = EcrExchange()  # a fresh line: nothing from before counts
        if self._handshake is not None:
            self._handshake(self, port)

    def idle(self, port: Port, data: bytes) -> float | None:
        if data:
            self._exchange.receive_data(data)
            out = self._exchange.data_to_send()
            if out:
                port.write(out)
        return None

    def on_port(self, port: Port, request: Request, timeout: float, sent: list[bool],
                beat: Callable[[float], None]) -> ExchangeResult:  # fmt: skip
        waiting = port.read(0)  # came before our request: answered as idle traffic
        if waiting:
            self.idle(port, waiting)
        return _pump(self._exchange, request, timeout=timeout, sent=sent, write=port.write,
                     read=port.read, beat=beat)  # fmt: skip

    def exchange(self, request: Request, timeout: float, sent: list[bool],
                 beat: Callable[[float], None]) -> ExchangeResult:  # fmt: skip
        return self.link.call(lambda port: self.on_port(port, request, timeout, sent, beat))

    @property
    def connected(self) -> bool:
        return self.link.connected

    def wait_connected(self, timeout: float) -> bool:
        return self.link.wait_connected(timeout)

    def close(self) -> None:
        self.link.close()


class TcpCarrier(Carrier):
    """`socket://HOST:PORT`: one connection per request, closed after the response."""

    def __init__(self, host: str, port: int, connect_timeout: float = 5.0) -> None:
        self.host, self.port = host, port
        self.connect_timeout = connect_timeout
        self._ok = True  # until a connection fails: the agent then shows the terminal gone

    def _connect(self) -> socket.socket:
        error: OSError | None = None
        for attempt in range(CONNECT_TRIES):
            if attempt:
                time.sleep(0.2 * attempt)
            try:
                return socket.create_connection((self.host, self.port), self.connect_timeout)
            except OSError as exc:
                error = exc
        self._ok = False
        reason = error.strerror or str(error) if error else "no answer"
        raise PortUnavailable(f"cannot connect to {self.host}:{self.port}: {reason}")

    def exchange(self, request: Request, timeout: float, sent: list[bool],
                 beat: Callable[[float], None]) -> ExchangeResult:  # fmt: skip
        # Connecting may take all its tries: the watchdog hears how long at most.
        beat(time.monotonic() + CONNECT_TRIES * (self.connect_timeout + 0.4) + DEADLINE_GRACE)
        sock = self._connect()
        self._ok = True

        def read(wait: float) -> bytes:
            sock.settimeout(max(wait, 0.001))
            try:
                data = sock.recv(4096)
            except TimeoutError:
                return b""
            if not data:  # the terminal closed the connection: no more is coming
                raise ConnectionResetError("connection closed by the terminal")
            return data

        exchange = EcrExchange()
        try:
            return _pump(exchange, request, timeout=timeout, sent=sent, write=sock.sendall,
                         read=read, beat=beat)  # fmt: skip
        except OSError as exc:  # the request had left (`sent`): its fate is the caller's
            return _failed(exchange, TransmissionError(f"connection lost: {exc.strerror or exc}"))
        finally:
            sock.close()

    @property
    def connected(self) -> bool:
        return self._ok


class HttpCarrier(Carrier):
    """`http://HOST:PORT`: GET with the base64 request frame; the body is the response frame.

    The standard library's http.client, one connection per request: requests cost five
    times its CPU per GET (a session, the proxy environment), which a poll of five GETs
    every 15 s on a Pi Zero feels."""

    def __init__(self, base: str, connect_timeout: float = 5.0) -> None:
        self.base = base.rstrip("/")
        parts = urlsplit(self.base)
        self.host, self.port = parts.hostname or "", parts.port or 80
        self.connect_timeout = connect_timeout
        self._ok = True

    def exchange(self, request: Request, timeout: float, sent: list[bool],
                 beat: Callable[[float], None]) -> ExchangeResult:  # fmt: skip
        exchange = EcrExchange(Timeouts(response=timeout))
        frame = exchange.send(request)
        for _ in range(MAX_SENDS):
            body = self._get(frame, timeout, sent, beat)
            if isinstance(body, PosLinkError):
                return _failed(exchange, body)
            exchange.receive_data(body)
            assert exchange.result is not None
            if exchange.result.response is not None or exchange.result.error is not None:
                return exchange.result
            # The terminal refused the frame (its NAK is the body: nothing ran), or a read's
            # answer came garbled: ask again. A closing command is never asked twice.
            resend = exchange.data_to_send() == frame
            if not resend and request.command in CLOSING:
                break
        return _failed(exchange, TransmissionError("no complete response in the answer"))

    def _get(self, frame: bytes, timeout: float, sent: list[bool],
             beat: Callable[[float], None]) -> bytes | PosLinkError:  # fmt: skip
        """One GET; the body, or the error that ended it. PortUnavailable if the first
        could not connect (then nothing was sent)."""
        path = f"/?{base64.b64encode(frame).decode('ascii')}"
        beat(time.monotonic() + self.connect_timeout + timeout + DEADLINE_GRACE)
        conn = http.client.HTTPConnection(self.host, self.port, timeout=self.connect_timeout)
        try:
            try:
                conn.connect()
            except OSError as exc:  # refused, unreachable, no name, connect timeout
                why = exc.strerror or type(exc).__name__
                if not sent[0]:
                    self._ok = False
                    raise PortUnavailable(f"cannot connect to {self.base}: {why}") from None
                return TransmissionError(f"cannot connect again: {why}")
            # The frame leaves with the request line: once connected, it may have arrived.
            sent[0] = True
            self._ok = True
            assert conn.sock is not None
            conn.sock.settimeout(timeout)
            try:
                conn.request("GET", path)
                answer = conn.getresponse()
                body = answer.read()
            except TimeoutError:
                return TimeoutExpired("response", "no answer (read timeout)")
            except (OSError, http.client.HTTPException) as exc:  # dropped, or no HTTP answer
                why = f"connection lost before the answer ({type(exc).__name__})"
                return TransmissionError(why)
        finally:
            conn.close()
        if answer.status != 200:
            return TransmissionError(f"HTTP {answer.status}")
        return body

    @property
    def connected(self) -> bool:
        return self._ok


def _failed(exchange: EcrExchange, error: PosLinkError) -> ExchangeResult:
    assert exchange.result is not None
    exchange.result.error = error
    return exchange.result


class PosLinkTerminal(Terminal):
    """A PAX terminal driven by POSLink. `url`: a serial device or pty, `socket://HOST:PORT`
    or `http://HOST:PORT`. `timeouts`: (reads, batch close) in seconds. `trace` sees every
    chunk on a serial line ("in"/"out", bytes), as ZvtTerminal's does."""

    def __init__(
        self,
        url: str,
        *,
        currency: int = 840,
        version: str = DEFAULT_VERSION,
        line: LineSettings = DEFAULT_LINE,
        timeouts: tuple[float, float] = (10.0, 120.0),
        handshake: bool = True,
        backoff: tuple[float, float] = (0.2, 5.0),
        clock: Callable[[], datetime] = datetime.now,
        on_state: Callable[[LinkState, str], None] | None = None,
        trace: Callable[[str, bytes], None] | None = None,
    ) -> None:
        self.url = url
        self.currency = currency
        self.version = version
        self.read_timeout, self.close_timeout = timeouts
        self.terminal_id: str | None = None
        self._storage_full = False  # the last totals said "please settle: database full"
        self._clock = clock  # the terminal's local time for B00's timestamp
        self._lock = threading.Lock()  # TCP and HTTP: one exchange at a time, as on a line
        self.carrier: Carrier
        if url.startswith("socket://"):
            host, _, port = url.removeprefix("socket://").rpartition(":")
            self.carrier = TcpCarrier(host, int(port))
        elif url.startswith("http://"):
            self.carrier = HttpCarrier(url)
        else:
            hello = self._hello if handshake else None
            self.carrier = SerialCarrier(url, line, backoff=backoff, handshake=hello,
                                         on_state=on_state, trace=trace)  # fmt: skip

    # -- exchanges

    def _hello(self, carrier: Carrier, port: Port) -> None:
        """After every (re)open of the line: A00 proves a terminal answers."""
        assert isinstance(carrier, SerialCarrier)
        sent = [False]
        result = carrier.on_port(port, Initialize(version=self.version), self.read_timeout,
                                 sent, self.beat)  # fmt: skip
        self._learn(self._answer(result, "A00 Initialize"))

    def _exchange(self, request: Request, timeout: float | None = None,
                  sent: list[bool] | None = None) -> ExchangeResult:  # fmt: skip
        sent = sent if sent is not None else [False]
        with self._lock:
            return self.carrier.exchange(request, timeout or self.read_timeout, sent, self.beat)

    def _answer(self, result: ExchangeResult, name: str) -> Response:
        """The response of a finished exchange, or the TerminalError its failure means."""
        error = result.error
        if isinstance(error, TimeoutExpired):
            raise NoAnswer(f"terminal on {self.url} did not answer {name}: {error}")
        if isinstance(error, TransmissionError):
            raise NoAnswer(f"terminal on {self.url} did not take {name}: {error}")
        if error is not None or result.response is None:
            raise ProtocolFault(f"terminal on {self.url} broke the protocol during {name}: {error}")
        return result.response

    def _ask(self, request: Request, name: str, *accept: Code) -> Response:
        """Ask, and refuse any answer whose code is not OK (or one of `accept`)."""
        response = self._answer(self._exchange(request), name)
        if response.outcome is not Code.OK and response.outcome not in accept:
            raise CommandRefused(f"terminal refused {name}: {response.describe()}",
                                 code_number(response.code))  # fmt: skip
        return response

    def _learn(self, response: Response) -> None:
        if isinstance(response, InitializeResponse) and response.serial_number:
            self.terminal_id = response.serial_number

    # -- Terminal interface

    @property
    def connected(self) -> bool:
        return self.carrier.connected

    @property
    def link(self) -> Link | None:
        return self.carrier.link if isinstance(self.carrier, SerialCarrier) else None

    def wait_connected(self, timeout: float) -> bool:
        return self.carrier.wait_connected(timeout)

    def close(self) -> None:
        self.carrier.close()

    def status(self) -> TerminalStatus:
        response = self._answer(self._exchange(Initialize(version=self.version)), "A00 Initialize")
        self._learn(response)
        code = response.code
        if response.outcome is Code.OK and self._storage_full:
            code = FULL  # A00 may say OK while R00, R02 and R10 say "please settle"
        condition = {
            Code.OK: Condition.READY,
            Code.DB_FULL: Condition.NEEDS_END_OF_DAY,
        }.get(classify(code), Condition.ATTENTION)
        version = None
        if isinstance(response, InitializeResponse):
            version = " ".join(p for p in (response.model, response.os_version) if p) or None
        return TerminalStatus(
            code=code_number(code) or 0,
            condition=condition,
            text=describe(code, "en"),
            text_zh=describe(code, "zh"),
            software_version=version,
            terminal_id=self.terminal_id,
            code_text=code,
        )

    def totals(self) -> BatchTotals:
        if self.terminal_id is None:
            self.status()  # learn the serial number: it names the terminal's batches
        local = self._ask(LocalTotal(version=self.version, edc_type="00"), "R00 local totals",
                          Code.DB_FULL)  # fmt: skip
        if not isinstance(local, LocalTotalResponse):
            raise ProtocolFault(f"terminal on {self.url} answered R00 with {local.command}")
        self._storage_full = local.outcome is Code.DB_FULL
        cards = self._cards(local)
        pending, pending_total = self._offline_pending()
        first = self._record(0)
        last = first
        if first is not None and (first.total_records or 0) > 1:
            last = self._record((first.total_records or 1) - 1) or first
        times = [t for t in (first.trace.when if first else None,
                             last.trace.when if last else None) if t is not None]  # fmt: skip
        batch = first.host.batch_number if first else ""
        return BatchTotals(
            currency=self.currency,
            total=sum(c.amount for c in cards),
            cards=cards,
            first_receipt=code_number(first.trace.trans_number) if first else None,
            last_receipt=code_number(last.trace.trans_number) if last else None,
            terminal_id=self.terminal_id,
            batch_number=code_number(batch),
            receipt_cycle=TRANS_NUMBER_CYCLE,
            oldest_authorised_at=min(times) if times else None,
            offline_pending=pending,
            offline_pending_total=pending_total,
            storage_full=self._storage_full,
        )

    @staticmethod
    def _cards(local: LocalTotalResponse) -> tuple[CardTypeTotal, ...]:
        """Per EDC group (credit, debit, ...): the kinds that settle money, summed."""
        cards = []
        for name in EDC_GROUPS:
            count = amount = 0
            for kind, (n, total) in local.group(name).items():
                if kind in SETTLED_KINDS:
                    count += n or 0
                    amount += -(total or 0) if kind == "return" else total or 0
            cards.append(CardTypeTotal(name, count, amount))
        return tuple(cards)

    def _offline_pending(self) -> tuple[int | None, int | None]:
        """Stored offline payments (new and failed) not yet with the host; None if unknown."""
        try:
            saf = self._ask(SafSummary(version=self.version, indicator="2"), "R10 SAF summary",
                            Code.DB_FULL)  # fmt: skip
        except CommandRefused:
            return None, None  # a terminal without SAF, or with it switched off
        if not isinstance(saf, SafSummaryResponse):
            return None, None
        return sum(c or 0 for c in saf.counts), sum(a or 0 for a in saf.amounts)

    def _record(self, index: int) -> LocalDetailResponse | None:
        """Record `index` of the open batch (R02); None when the batch holds none."""
        request = LocalDetail(version=self.version, edc_type="00", record_number=index)
        response = self._answer(self._exchange(request), "R02 local detail")
        if response.code == "100003":  # "no trans available" (or an index past the end)
            return None
        if response.outcome not in (Code.OK, Code.DB_FULL):
            raise CommandRefused(f"terminal refused R02 local detail: {response.describe()}",
                                 code_number(response.code))  # fmt: skip
        if not isinstance(response, LocalDetailResponse):
            raise ProtocolFault(f"terminal on {self.url} answered R02 with {response.command}")
        return response

    def settle(self, progress: ProgressCallback | None = None) -> SettlementResult:
        say = progress or (lambda p: None)
        lines: list[str] = []
        try:  # nothing of the end-of-day has left until B00 does
            if self.terminal_id is None:
                self.status()  # the settled totals carry the terminal's id like every reading
            pending, _ = self._offline_pending()
            if pending:
                say(Progress(0x08, f"uploading {pending} stored offline payments",
                             f"正在上送 {pending} 笔离线交易"))  # fmt: skip
                upload = self._answer(
                    self._exchange(SafUpload(version=self.version, indicator="2"),
                                   self.close_timeout),
                    "B08 SAF upload",
                )  # fmt: skip
                lines.append(_upload_line(upload))
        except TerminalError as exc:
            raise PortUnavailable(f"end-of-day not sent: {exc}") from None
        say(Progress(0x00, "closing the batch", "正在结算批次"))
        return self._close(BatchClose.at(self._clock(), version=self.version), "B00 batch close",
                           lines)  # fmt: skip

    def _close(self, request: Request, name: str, lines: list[str]) -> SettlementResult:
        """Send a closing command (B00, B02) once. Any failure after it may have left is
        UNKNOWN: the journal re-reads the batch rather than send it again."""
        sent = [False]
        try:
            result = self._exchange(request, self.close_timeout, sent)
        except PortUnavailable:
            if not sent[0]:
                raise
            return SettlementResult(Outcome.UNKNOWN, receipt_lines=tuple(lines),
                                    error=f"{name}: the terminal went away")  # fmt: skip
        response = result.response
        if result.error is not None or response is None:
            lost = f"{name} answer lost: {result.error}"
            return SettlementResult(Outcome.UNKNOWN, receipt_lines=tuple(lines), error=lost)
        code = code_number(response.code)
        text = response.describe()
        if response.outcome not in (Code.OK, Code.OUT_OF_BALANCE):
            return SettlementResult(Outcome.FAILED, None, code, text, tuple(lines),
                                    code_text=response.code)  # fmt: skip
        if isinstance(response, ForceCloseResponse):
            lines += response.lines
        totals = self._closed(response) if isinstance(response, BatchCloseResponse) else None
        return SettlementResult(
            Outcome.OK, totals, code, text, tuple(lines),
            out_of_balance=response.outcome is Code.OUT_OF_BALANCE, code_text=response.code,
        )  # fmt: skip

    def _closed(self, closed: BatchCloseResponse) -> BatchTotals:
        counts, amounts = closed.counts, closed.amounts
        cards = tuple(CardTypeTotal(n, counts.get(n) or 0, amounts.get(n) or 0)
                      for n in EDC_GROUPS)  # fmt: skip
        batch = closed.batch_number
        return BatchTotals(
            currency=self.currency,
            total=sum(c.amount for c in cards),
            cards=cards,
            terminal_id=self.terminal_id,
            batch_number=code_number(batch),
            terminal_time=closed.when,
            receipt_cycle=TRANS_NUMBER_CYCLE,
        )

    def force_settle(self, progress: ProgressCallback | None = None) -> SettlementResult:
        """B02: close the batch on the terminal without the host (no totals come back, only
        the receipt's lines). Never automatic: a person asks for it."""
        if progress:
            progress(Progress(0x02, "force closing the batch", "正在强制结算批次"))
        return self._close(ForceClose.at(self._clock(), version=self.version), "B02 force close",
                           [])  # fmt: skip

    def _simple(self, request: Request, name: str) -> OperationResult:
        try:
            response = self._ask(request, name)
        except CommandRefused as exc:
            return OperationResult(False, exc.code, str(exc), self.terminal_id)
        return OperationResult(True, code_number(response.code), response.describe(),
                               self.terminal_id, code_text=response.code)  # fmt: skip

    def register(self) -> OperationResult:
        """POSLink has no registration: A00 is its handshake."""
        return self._simple(Initialize(version=self.version), "A00 Initialize")

    def abort(self) -> OperationResult:
        return self._simple(Reset(version=self.version), "A16 reset")

    def reboot(self) -> OperationResult:
        return self._simple(Reboot(version=self.version), "A26 reboot")

    def diagnose(self, progress: ProgressCallback | None = None) -> OperationResult:
        return OperationResult(False, None, f"diagnosis is {NOT_SUPPORTED}", self.terminal_id)

    def initialise(self, progress: ProgressCallback | None = None) -> OperationResult:
        return OperationResult(False, None, f"sign-in is {NOT_SUPPORTED}", self.terminal_id)

    def set_clock(self, when: datetime) -> OperationResult:
        return OperationResult(False, None, f"setting the clock is {NOT_SUPPORTED}",
                               self.terminal_id)  # fmt: skip


def _upload_line(upload: Response) -> str:
    if isinstance(upload, SafUploadResponse):
        return (f"offline payments uploaded: {upload.uploaded_count or 0}, "
                f"failed: {upload.failed_count or 0}")  # fmt: skip
    return f"offline payments upload: {upload.describe()}"
