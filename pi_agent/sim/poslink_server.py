"""The POSLink simulator's I/O shell: a `PosLinkTerminal` on a pty or a real serial
port (8N1), on TCP and on HTTP, any mix at once.

One worker thread owns the serial line and the TCP sockets and runs a `TerminalSide`
per link (ACK/NAK, resend on NAK); a second thread serves HTTP (GET `/?<base64 frame>`,
body = the raw response frame). Writes are scheduled by deadline and the loop
sleeps in select() until the next one: no fixed sleeps, no busy loop. Nothing the
peer does blocks it: unread output is dropped as on a dead wire, and the log goes
through a bounded queue to its own thread.

Faults (`inject("spec")`): `nak:N` NAK the next N intact requests, `lrc:N` send a
wrong LRC on our next N frames, `drop:N` drop a byte from our next N frames,
`silent:S` answer nothing for S seconds, `unplug:S` the pty vanishes for S seconds,
`host-down` (B00 and B08 are declined, 000100, until cleared), `saf[:N]` N offline
approvals wait in SAF, `out-of-balance` (B00 closes with 000300), `db-full`
(responses say 100025 until a settlement), `clear-without-settle` (the batch vanishes).

ACK quirks of real terminals (`ack_mode`): "separate" (ACK as its own write, the
response `ack_delay` later; the default), "same" (ACK and response in one write:
breaks GP's Java/.NET SDKs over TCP) and "none" (no ACK at all).

Sales can arrive at random (`random_sales_per_minute`) or from a scenario (`+SECONDS
command` control lines, played relative to the start). `pace=True` moves the serial
line's bytes at `baudrate` 8N1, as a real line does (a device is paced by its UART).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import os
import random
import re
import select
import socket
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from ..money import parse_amount
from ..poslink.events import Ack, Eot
from ..poslink.framing import ETX, NAK_BYTE, STX, encode_frame
from ..poslink.messages import Response
from ..poslink.terminal import RequestReceived, RequestRefused, TerminalEvent, TerminalSide
from .faults import FaultSpecError
from .faults import parse_fault as parse_zvt_fault
from .pace import Wire
from .poslink_terminal import PosLinkTerminal
from .pty import close_pty, open_pty, open_serial

ACK_MODES = ("separate", "same", "none")
BITS_PER_BYTE = 10  # 8N1 plus the start bit
EOT = b"\x04"
IDLE_CLOSE = 65.0  # seconds a TCP connection may idle: past every SDK's 60 s timeout
LOG_BACKLOG = 1000
_COMMAND = re.compile(rb"[A-Z][0-9]{2}")
_VERSION = re.compile(rb"[0-9A-Za-z.]{1,8}")

_COUNTED = ("nak", "lrc", "drop", "saf")
_TIMED = ("silent", "unplug")
_SWITCHES = ("host-down", "out-of-balance", "db-full", "clear-without-settle")
FAULT_KINDS = (*_COUNTED, *_TIMED, *_SWITCHES)
_ZVT_NAME = {"lrc": "crc", "saf": "nak"}
LOCALHOST = ("127.0.0.1", 0)
# Random sales: mostly credit, some debit; Visa and MasterCard most often.
_RANDOM_CARDS = (("01", "01"), ("01", "01"), ("01", "02"), ("01", "02"), ("01", "03"),
                 ("01", "04"), ("02", "01"), ("02", "02"))  # fmt: skip


@dataclass(frozen=True, slots=True)
class Fault:
    kind: str
    count: int = 1
    seconds: float = 0.0


def parse_fault(spec: str) -> Fault:
    """`kind[:arg]`; counts 1-100 (saf default 3), seconds 0-3600 (default 5)."""
    kind, _, arg = spec.strip().partition(":")
    kind = kind.lower()
    if kind not in FAULT_KINDS:
        raise FaultSpecError(
            f"fault {spec!r}: unknown kind {kind!r} (one of {', '.join(FAULT_KINDS)})"
        )
    if kind in _SWITCHES:
        if arg:
            raise FaultSpecError(f"fault {spec!r}: {kind} takes no argument")
        return Fault(kind)
    # Counts and seconds follow the ZVT simulator's rules: its "crc" is our "lrc", and
    # "saf" is a count like its "nak" (with 3 as the default here).
    zvt_spec = f"{_ZVT_NAME.get(kind, kind)}:{arg}" if arg else _ZVT_NAME.get(kind, kind)
    try:
        zvt = parse_zvt_fault(zvt_spec)
    except FaultSpecError as exc:
        raise FaultSpecError(str(exc).replace(repr(zvt_spec), repr(spec))) from None
    count = zvt.count if arg or kind != "saf" else 3
    return Fault(kind, count=count, seconds=zvt.seconds)


class _Log:
    """Hands log lines to the caller's function on a thread of its own; a slow or stuck
    reader loses the oldest lines instead of stopping the simulator."""

    def __init__(self, sink: Callable[[str], None] | None) -> None:
        self._sink = sink
        self._lines: deque[str] = deque(maxlen=LOG_BACKLOG)
        self._ready = threading.Event()
        if sink is not None:
            threading.Thread(target=self._run, name="poslink sim log", daemon=True).start()

    def __call__(self, line: str) -> None:
        if self._sink is not None:
            self._lines.append(line)
            self._ready.set()

    def _run(self) -> None:
        assert self._sink is not None
        while True:
            self._ready.wait()
            self._ready.clear()
            while self._lines:
                with contextlib.suppress(Exception):  # a broken sink must not end logging
                    self._sink(self._lines.popleft())


@dataclass(slots=True)
class _Link:
    """One ECR link (the pty, or one TCP connection) and its writes still to come."""

    side: TerminalSide
    write: Callable[[bytes], None]
    sock: socket.socket | None = None
    schedule: list[tuple[float, bytes]] = field(default_factory=list)
    last_seen: float = 0.0
    close_when_sent: bool = False


class PosLinkServer:
    """A simulated PAX terminal. Use as a context manager or start()/stop().

    `link` puts it on a pty (with a symlink there; `pty=True` without one), `device` on a
    real serial port (8N1 at `baudrate`) instead; `tcp=True` listens on `tcp_address`
    (default 127.0.0.1 with a port from the OS: `port`), `http=True` on `http_address`
    (`http_port`); any mix. Each socket binds exactly the host it is given.
    """

    def __init__(
        self,
        terminal: PosLinkTerminal | None = None,
        *,
        link: str | Path | None = None,
        pty: bool | None = None,
        device: str | None = None,
        baudrate: int = 9600,
        tcp: bool = False,
        tcp_address: tuple[str, int] = LOCALHOST,
        http: bool = False,
        http_address: tuple[str, int] = LOCALHOST,
        ack_mode: str = "separate",
        ack_delay: float = 0.05,
        processing_delay: float = 0.0,
        eot_after_ack: bool = False,
        random_sales_per_minute: float = 0.0,
        scenario: list[tuple[float, str]] | None = None,
        log: Callable[[str], None] | None = None,
        seed: int | None = None,
        pace: bool = False,
    ) -> None:
        if ack_mode not in ACK_MODES:
            raise ValueError(f"ack_mode must be one of {', '.join(ACK_MODES)}")
        if device and (link or pty):
            raise ValueError("choose a pty or a serial device, not both")
        self.terminal = terminal or PosLinkTerminal()
        self.ack_mode = ack_mode
        self.ack_delay = ack_delay
        self.processing_delay = processing_delay
        self.eot_after_ack = eot_after_ack  # the PAX doc's flow; GP over TCP sees none
        self._link_path = Path(link) if link else None
        self._want_pty = bool(link) if pty is None else pty
        self._device, self._baudrate = device, baudrate
        self._want_tcp, self._want_http = tcp, http
        self._tcp_address, self._http_address = tcp_address, http_address
        self._sales_rate = random_sales_per_minute
        self._scenario = deque(scenario or [])
        self._rng = random.Random(seed)
        self._started = 0.0
        self._next_sale: float | None = None
        self._log = _Log(log)
        self._lock = threading.Lock()
        self._counts = dict.fromkeys(("nak", "lrc", "drop"), 0)
        self._pending: list[Fault] = []
        self._silent_until = 0.0
        self._replug_at: float | None = None
        self._master: int | None = None
        self._slave: int | None = None
        self._ser: Any = None  # the pyserial port of a real device
        self._line_fd: int | None = None  # the serial line's descriptor: pty master or device
        self._pty_link: _Link | None = None
        self._wire = Wire.at(baudrate, BITS_PER_BYTE, pace)  # the line's bytes, in and out
        self._listener: socket.socket | None = None
        self._tcp_links: dict[int, _Link] = {}
        self._http: ThreadingHTTPServer | None = None
        self._http_thread: threading.Thread | None = None
        self.slave_path = ""
        self.port = 0
        self.http_port = 0
        # counters for tests and the log
        self.requests = 0
        self.naks_sent = 0
        self.unplugs = 0
        self._stop = threading.Event()
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        self._thread = threading.Thread(target=self._run, name="poslink simulator", daemon=True)

    # -- lifecycle

    @property
    def url(self) -> str:
        """The serial line: the pty path (the symlink if one was asked for) or the device."""
        if self._device:
            return self._device
        return str(self._link_path) if self._link_path else self.slave_path

    @property
    def endpoints(self) -> list[str]:
        """Where an ECR reaches it, once started: the serial line's path,
        `socket://HOST:PORT` for TCP and `http://HOST:PORT/` for HTTP."""
        out = [self.url] if self._want_pty or self._device else []
        if self._listener is not None:
            out.append(f"socket://{_host(self._tcp_address[0])}:{self.port}")
        if self._http is not None:
            out.append(f"http://{_host(self._http_address[0])}:{self.http_port}/")
        return out

    def start(self) -> PosLinkServer:
        """Open every port asked for; if one fails, close those already open and raise."""
        try:
            if self._want_pty or self._device:
                self._plug()
            if self._want_tcp:
                self._listener = socket.create_server(
                    self._tcp_address, family=_family(self._tcp_address[0])
                )
                self._listener.setblocking(False)
                self.port = self._listener.getsockname()[1]
            if self._want_http:
                self._http = _HttpServer(self._http_address, _HttpHandler, self)
                self.http_port = self._http.server_address[1]
        except BaseException:
            self.stop()
            raise
        if self._http is not None:
            self._http_thread = threading.Thread(
                target=self._http.serve_forever, args=(0.05,), name="poslink sim http", daemon=True
            )
            self._http_thread.start()
        self._started = time.monotonic()
        if self._sales_rate > 0:
            self._next_sale = self._started + self._rng.expovariate(self._sales_rate / 60)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._stop.is_set():
            return
        self._stop.set()
        self._wake()
        if self._thread.is_alive():
            self._thread.join(timeout=10)
        if self._http is not None:
            if self._http_thread is not None:
                self._http.shutdown()
            self._http.server_close()
        self._unplug()
        for link in list(self._tcp_links.values()):
            self._close_tcp(link)
        if self._listener is not None:
            self._listener.close()
        os.close(self._wake_r)
        os.close(self._wake_w)

    def __enter__(self) -> PosLinkServer:
        return self.start() if not self._thread.is_alive() else self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- control (any thread)

    def inject(self, spec: str | Fault) -> Fault:
        fault = parse_fault(spec) if isinstance(spec, str) else spec
        if fault.kind == "unplug" and not self._want_pty:
            raise ValueError("fault unplug: only the pty can be unplugged")
        t = self.terminal
        if fault.kind in self._counts:
            with self._lock:
                self._counts[fault.kind] += fault.count
        elif fault.kind == "saf":
            for i in range(fault.count):
                t.add_transaction(1000 + 100 * i, card_type=("01", "02", "03")[i % 3], offline=True)
        elif fault.kind == "clear-without-settle":
            self._log(f"database cleared without settlement: {t.clear_without_settle()} records")
        elif fault.kind in _SWITCHES:
            setattr(t, fault.kind.replace("-", "_"), True)
        elif fault.kind == "silent":  # in force when inject returns: no request slips past
            self._start_fault(fault, time.monotonic())
            self._wake()
        else:
            with self._lock:
                self._pending.append(fault)
            self._wake()
        return fault

    def clear_faults(self) -> None:
        with self._lock:
            self._counts = dict.fromkeys(self._counts, 0)
            self._pending.clear()
            self._silent_until = 0.0
        self.terminal.host_down = self.terminal.out_of_balance = self.terminal.db_full = False

    def faults(self) -> list[str]:
        t = self.terminal
        with self._lock:
            out = [f"{k}:{n}" for k, n in self._counts.items() if n]
            if self._silent_until > time.monotonic():
                out.append("silent")
        return out + [s for s in _SWITCHES[:3] if getattr(t, s.replace("-", "_"))]

    def control(self, line: str) -> str:
        """One control line: `sale AMOUNT [EDC [CARD]]`, `offline AMOUNT [CARD]`,
        `fault SPEC`, `clear`, `state`, `help`."""
        words = line.split()
        if not words:
            return ""
        verb, args = words[0].lower(), words[1:]
        try:
            if verb in ("sale", "offline") and 1 <= len(args) <= 3:
                amount = parse_amount(args[0], 840)
                edc = args[1] if verb == "sale" and len(args) > 1 else "01"
                card = args[-1] if len(args) > (2 if verb == "sale" else 1) else "01"
                txn = self.terminal.add_transaction(
                    amount, edc=edc, card_type=card, offline=verb == "offline"
                )
                return f"{verb}: trans {txn.trans_number}, {amount} cents"
            if verb == "fault" and len(args) == 1:
                return f"fault: {self.inject(args[0]).kind} injected"
            if verb == "clear" and not args:
                self.clear_faults()
                return "faults cleared"
            if verb == "state" and not args:
                return json.dumps({**self.terminal.snapshot(), "faults": self.faults()})
            if verb == "help":
                return (
                    "commands: sale AMOUNT [EDC [CARD]] | offline AMOUNT [CARD] | fault SPEC"
                    " | clear | state | help"
                )
        except ValueError as exc:
            return f"error: {exc}"
        return f"error: cannot understand {line.strip()!r} (try help)"

    def _take(self, kind: str) -> bool:
        with self._lock:
            if self._counts[kind] <= 0:
                return False
            self._counts[kind] -= 1
            return True

    def _silent(self, now: float) -> bool:
        with self._lock:
            return now < self._silent_until

    def silent_left(self) -> float:
        with self._lock:
            return max(0.0, self._silent_until - time.monotonic())

    def _wake(self) -> None:
        with contextlib.suppress(OSError):
            os.write(self._wake_w, b"x")

    # -- answering (shared by every transport)

    def _answer(self, ev: TerminalEvent) -> Response | bytes | None:
        """The response to one request event, NAK_BYTE to refuse it, None if it wants nothing."""
        if isinstance(ev, RequestReceived):
            if self._take("nak"):
                self._log(f"{ev.request.command}: NAK (fault)")
                return NAK_BYTE
            response: Response = self.terminal.handle(ev.request)
            command = ev.request.command
        elif isinstance(ev, RequestRefused):
            head = ev.body[:3]
            if not _COMMAND.fullmatch(head):
                self._log(f"unreadable frame: NAK ({ev.error})")
                return NAK_BYTE
            command = head.decode()
            version = _version(ev.body)
            response = self.terminal.refusal(command, "100003", "FORMAT ERROR", version)
        else:
            return None
        self.requests += 1
        self._log(f"{command}: {response.code} {response.message}")
        return response

    def _mangle(self, data: bytes) -> bytes:
        """Apply lrc/drop faults to each frame in outgoing data."""
        out = bytearray()
        pos = 0
        while pos < len(data):
            if data[pos] != STX:
                out.append(data[pos])
                pos += 1
                continue
            end = data.index(ETX, pos) + 2  # our own frames: no ETX inside a body
            frame = data[pos:end]
            pos = end
            if self._take("lrc"):
                frame = frame[:-1] + bytes((frame[-1] ^ 0xFF,))
            if self._take("drop"):
                middle = len(frame) // 2
                frame = frame[:middle] + frame[middle + 1 :]
            out += frame
        return bytes(out)

    # -- the serial-style link (pty and TCP)

    def _receive(self, link: _Link, data: bytes, now: float) -> None:
        link.last_seen = now
        if self._silent(now):
            return
        events = link.side.receive_data(data)
        immediate = link.side.data_to_send()  # NAKs of bad frames, resends after a NAK
        self.naks_sent += immediate.count(NAK_BYTE)
        if immediate:
            self._queue(link, now, self._mangle(immediate))
        for ev in events:
            if isinstance(ev, (Ack, Eot)):
                if isinstance(ev, Ack) and self.eot_after_ack:
                    self._queue(link, now, EOT)
                link.close_when_sent = link.sock is not None  # TCP: one request a connection
                continue
            answer = self._answer(ev)
            if answer is None:
                continue
            if isinstance(answer, bytes):
                self.naks_sent += 1
                self._queue(link, now, answer)
                continue
            out = self._mangle(link.side.respond(answer))  # kept unmangled for a resend
            due = now + self.processing_delay
            if self.ack_mode == "separate":
                self._queue(link, now, b"\x06")
                self._queue(link, due + self.ack_delay, out)
            elif self.ack_mode == "same":
                self._queue(link, due, b"\x06" + out)
            else:
                self._queue(link, due, out)

    def _queue(self, link: _Link, due: float, data: bytes) -> None:
        link.schedule.append((due, data))
        link.schedule.sort(key=lambda item: item[0])

    def _flush(self, link: _Link, now: float) -> None:
        while link.schedule and link.schedule[0][0] <= now:
            link.write(link.schedule.pop(0)[1])

    # -- ports

    def _plug(self) -> None:
        if self._device:
            self._ser = open_serial(self._device, self._baudrate, stopbits=1)
            try:
                self._line_fd = self._ser.fileno()
            except Exception:  # pyserial URLs such as loop:// or rfc2217:// have none
                self._ser.close()
                self._ser = None
                raise ValueError(f"{self._device}: not a local serial port") from None
            os.set_blocking(self._line_fd, False)
        else:
            self._master, self._slave, self.slave_path = open_pty(self._link_path)
            self._line_fd = self._master
        self._pty_link = _Link(TerminalSide(ack_requests=False), self._write_line)

    def _unplug(self) -> None:
        close_pty(self._master, self._slave, self._link_path)
        self._master = self._slave = self._line_fd = None
        if self._ser is not None:
            with contextlib.suppress(Exception):
                self._ser.close()
            self._ser = None
        self._pty_link = None
        self._wire.clear()

    def _write_line(self, data: bytes) -> None:
        self._wire.send(data, time.monotonic())  # out in _send_line, at the line's speed

    def _send_line(self, now: float) -> None:
        data = self._wire.take(now)  # what the line has sent by now (all of it unpaced)
        if data and self._line_fd is not None:
            with contextlib.suppress(OSError):  # nobody reads the line: the bytes are lost
                os.write(self._line_fd, data)

    def _accept(self, now: float) -> None:
        assert self._listener is not None
        with contextlib.suppress(BlockingIOError, OSError):
            conn, _ = self._listener.accept()
            conn.setblocking(False)
            link = _Link(TerminalSide(ack_requests=False), lambda d: _send(conn, d), conn)
            link.last_seen = now
            self._tcp_links[conn.fileno()] = link

    def _close_tcp(self, link: _Link) -> None:
        assert link.sock is not None
        self._tcp_links.pop(link.sock.fileno(), None)
        link.sock.close()

    # -- the loop

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._step()
            except Exception as exc:  # a bench tool must outlive any input: log and go on
                self._log(f"simulator error: {type(exc).__name__}: {exc}")
                for link in self._links():
                    link.side = TerminalSide(ack_requests=False)  # drop the broken dialogue
                    link.schedule.clear()

    def _step(self) -> None:
        now = time.monotonic()
        self._tick(now)
        fds = [self._wake_r]
        line_fd = self._line_fd
        if line_fd is not None:
            fds.append(line_fd)
        if self._listener is not None:
            fds.append(self._listener.fileno())
        fds += list(self._tcp_links)
        try:
            ready, _, _ = select.select(fds, [], [], self._wakeup(now))
        except (OSError, ValueError):
            return  # a descriptor closed under us (unplug): build the list again
        now = time.monotonic()
        if self._wake_r in ready:
            with contextlib.suppress(BlockingIOError):
                os.read(self._wake_r, 4096)
        if line_fd is not None and line_fd in ready and self._pty_link:
            try:
                data = os.read(line_fd, 4096)
            except OSError:
                data = b""  # EIO while no one holds the pty open
            if data:
                self._wire.arrived(data, now)  # handed on in _tick once its wire time passed
        if self._listener is not None and self._listener.fileno() in ready:
            self._accept(now)
        for fd in [fd for fd in ready if fd in self._tcp_links]:
            self._read_tcp(self._tcp_links[fd], now)

    def _read_tcp(self, link: _Link, now: float) -> None:
        assert link.sock is not None
        try:
            data = link.sock.recv(4096)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:  # the ECR closed the connection
            self._close_tcp(link)
            return
        self._receive(link, data, now)

    def _links(self) -> list[_Link]:
        return ([self._pty_link] if self._pty_link else []) + list(self._tcp_links.values())

    def _wakeup(self, now: float) -> float:
        times = [now + 1.0]
        times += [link.schedule[0][0] for link in self._links() if link.schedule]
        for t in (self._replug_at, self._next_sale, self._wire.next_due()):
            if t is not None:
                times.append(t)
        if self._scenario:
            times.append(self._started + self._scenario[0][0])
        return max(0.0, min(times) - now)

    def _tick(self, now: float) -> None:
        with self._lock:
            pending, self._pending = self._pending, []
        for fault in pending:
            self._start_fault(fault, now)
        if self._replug_at is not None and now >= self._replug_at:
            self._replug_at = None
            self._plug()
            self._log(f"port back: {self.url}")
        while self._scenario and now >= self._started + self._scenario[0][0]:
            command = self._scenario.popleft()[1]
            self._log(f"scenario: {command} -> {self.control(command)}")
        if self._next_sale is not None and now >= self._next_sale:
            self._random_sale()
            self._next_sale = now + self._rng.expovariate(self._sales_rate / 60)
        for data in self._wire.received(now):
            if self._pty_link is not None:
                self._receive(self._pty_link, data, now)
        for link in self._links():
            if self._silent(now):
                link.schedule.clear()
            self._flush(link, now)
            idle = link.close_when_sent or now - link.last_seen > IDLE_CLOSE
            if link.sock is not None and not link.schedule and idle:
                self._close_tcp(link)
        self._send_line(now)

    def _random_sale(self) -> None:
        edc, card = self._rng.choice(_RANDOM_CARDS)
        amount = self._rng.randrange(150, 20000, 10)
        try:
            txn = self.terminal.add_transaction(amount, edc=edc, card_type=card)
        except ValueError as exc:  # a full database refuses sales
            self._log(f"random sale refused: {exc}")
            return
        self._log(f"sale: trans {txn.trans_number}, {amount} cents")

    def _start_fault(self, fault: Fault, now: float) -> None:
        if fault.kind == "silent":
            with self._lock:
                self._silent_until = now + fault.seconds
            self._log(f"silent for {fault.seconds:g} s")
        elif fault.kind == "unplug" and self._replug_at is None and self._master is not None:
            self._unplug()
            self.unplugs += 1
            self._replug_at = now + fault.seconds
            self._log(f"port unplugged for {fault.seconds:g} s")

    # -- HTTP

    def http_answer(self, query: str) -> bytes | None:
        """The body for GET /?<query>; None while silent (no answer at all)."""
        if self._silent(time.monotonic()):
            return None
        text = unquote(query).replace("-", "+").replace("_", "/")  # url-safe variants too
        try:
            raw = base64.b64decode(text + "=" * (-len(text) % 4))
        except (binascii.Error, ValueError):
            raw = b""
        for ev in TerminalSide(ack_requests=False).receive_data(raw):
            answer = self._answer(ev)
            if isinstance(answer, Response):
                return self._mangle(encode_frame(answer.encode()))
            if answer is not None:
                break
        self.naks_sent += 1
        return NAK_BYTE  # no request in it, or a bad LRC: over HTTP the NAK is the body


def _version(body: bytes) -> str:
    """The request's version field for a refusal, if it can travel back ("1.28")."""
    parts = body.split(b"\x1c")
    version = parts[1] if len(parts) > 1 else b""
    return version.decode() if _VERSION.fullmatch(version) else ""


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def _host(host: str) -> str:
    """A host as it goes in a URL: IPv6 literals in brackets."""
    return f"[{host}]" if ":" in host else host


def _send(sock: socket.socket, data: bytes) -> None:
    with contextlib.suppress(OSError):  # a full or closed socket loses the bytes
        sock.send(data)


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], handler: type, sim: PosLinkServer) -> None:
        self.address_family = _family(address[0])
        super().__init__(address, handler)
        self.sim = sim

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client gone before its answer (a killed ECR) goes to the log, never stderr."""
        exc = sys.exc_info()[1]
        self.sim._log(f"http: {client_address[0]}: {type(exc).__name__}: {exc}")


class _HttpHandler(BaseHTTPRequestHandler):
    server: _HttpServer

    def do_GET(self) -> None:
        sim = self.server.sim
        _, _, query = self.path.partition("?")
        body = sim.http_answer(query)
        if body is None:  # silent: hold the line so the client sees its own timeout
            sim._stop.wait(sim.silent_left())
            self.close_connection = True
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        self.server.sim._log("http: " + format % args)  # never stderr: it may block


def main(argv: list[str] | None = None) -> int:
    """Bench use: `python -m pi_agent.sim.poslink_server --link /tmp/pax --tcp --http`;
    control lines (`help`) on stdin, the log on stdout."""
    import argparse

    p = argparse.ArgumentParser(prog="poslink-sim", description=__doc__.split("\n")[0])
    p.add_argument("--link", help="pty symlink path")
    p.add_argument("--tcp", action="store_true", help="listen on 127.0.0.1, port from the OS")
    p.add_argument("--http", action="store_true", help="HTTP GET on 127.0.0.1")
    p.add_argument("--ack-mode", choices=ACK_MODES, default="separate")
    p.add_argument("--ack-delay", type=float, default=0.05, help="seconds from ACK to response")
    p.add_argument("--pace", action="store_true", help="pty bytes at the wire's speed")
    p.add_argument("--baud", type=int, default=9600, help="line speed for --pace")
    p.add_argument("--fault", action="append", default=[], help="fault spec, repeatable")
    args = p.parse_args(argv)
    if not (args.link or args.tcp or args.http):
        p.error("choose at least one of --link, --tcp, --http")
    sim = PosLinkServer(link=args.link, tcp=args.tcp, http=args.http, ack_mode=args.ack_mode,
                        ack_delay=args.ack_delay, pace=args.pace, baudrate=args.baud,
                        log=print)  # fmt: skip
    with sim:
        for spec in args.fault:
            print(sim.control(f"fault {spec}"), flush=True)
        print(f"pty {sim.url or '-'} tcp {sim.port or '-'} http {sim.http_port or '-'}", flush=True)
        for line in sys.stdin:
            print(sim.control(line), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
