"""The simulator's I/O shell: puts a `SimTerminal` on a pty, a serial device or TCP.

One thread owns the port. It runs the terminal side of the transport (ACK/NAK and
repeats on serial, bare APDUs on TCP), hands each command to the terminal and sends
the answer one message at a time, waiting for the ECR's 80 00 00 after each message
that follows the first acknowledgement (spec §2.3). Waits are select() timeouts
computed from deadlines: no fixed sleeps, no busy loop.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import select
import socket
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from pathlib import Path

from ..money import format_amount, parse_amount
from ..zvt.apdu import Apdu
from ..zvt.errors import ZvtError
from ..zvt.messages import (
    Command,
    Completion,
    IntermediateStatus,
    Message,
    NegativeAck,
    PositiveAck,
    PtAbort,
    StatusInformation,
    decode_message,
)
from ..zvt.timers import Timeouts, TimerBook
from ..zvt.transport import Delivered, Rejected, SendFailed, Sent, Transport
from .faults import Fault, Faults, parse_fault
from .pace import Wire
from .pty import close_pty, open_pty, open_serial
from .terminal import CARD_SLOTS, SimTerminal

BITS_PER_BYTE = 11  # 8N2 plus the start bit
BUSY_INTERVAL = 0.5  # seconds between "please wait" messages under the busy fault


def parse_scenario(text: str) -> list[tuple[float, str]]:
    """Lines `+SECONDS command` (blank lines and # comments ignored)."""
    steps = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        offset, _, command = line.partition(" ")
        try:
            seconds = float(offset.removeprefix("+"))
        except ValueError:
            raise ValueError(f"scenario line {number}: {offset!r} is not +SECONDS") from None
        if not offset.startswith("+") or seconds < 0 or not command.strip():
            raise ValueError(f"scenario line {number}: expected '+SECONDS command'")
        steps.append((seconds, command.strip()))
    return sorted(steps, key=lambda s: s[0])


class SimServer:
    """A simulated terminal on a port. Use as a context manager or start()/stop()."""

    def __init__(
        self,
        terminal: SimTerminal | None = None,
        *,
        link: str | Path | None = None,
        device: str | None = None,
        listen: str | None = None,
        baudrate: int = 9600,
        pace: bool = False,
        processing_delay: float = 0.0,
        random_sales_per_minute: float = 0.0,
        scenario: list[tuple[float, str]] | None = None,
        answer_timeout: float = 5.0,
        timeouts: Timeouts | None = None,
        log: Callable[[str], None] | None = None,
        seed: int | None = None,
    ) -> None:
        if device and listen:
            raise ValueError("choose one of a pty, a device or a TCP listener")
        self.terminal = terminal or SimTerminal()
        self.faults = Faults()
        self._link = Path(link) if link else None
        self._device = device
        self._listen = _parse_listen(listen) if listen else None
        self._serial = listen is None
        self._baudrate = baudrate
        self._wire = Wire.at(baudrate, BITS_PER_BYTE, pace)
        self._delay = processing_delay
        self._sales_rate = random_sales_per_minute
        self._scenario = deque(scenario or [])
        self._answer_timeout = answer_timeout
        self._timeouts = timeouts or Timeouts()
        self._log = log or (lambda line: None)
        self._rng = random.Random(seed)
        # port state (owned by the worker thread after start)
        self._master: int | None = None
        self._slave: int | None = None
        self._ser = None
        self._listener: socket.socket | None = None
        self._conn: socket.socket | None = None
        self.slave_path = ""
        self.port = 0
        self._transport = Transport(self._serial, self._timeouts)
        self._book = TimerBook()
        self._queue: deque[tuple[Message, float]] = deque()
        self._head_ready: float | None = None
        self._wait_answer_after_ack = False
        self._awaiting_answer_until: float | None = None
        self._silent_until = 0.0
        self._busy_next = 0.0
        self._replug_at: float | None = None
        self._noise: deque[tuple[bytes, threading.Event]] = deque()  # from control threads
        self._started = 0.0
        self._next_sale: float | None = None
        # counters for tests and the log
        self.frames_received = 0
        self.commands: Counter[str] = Counter()
        self.unplugs = 0
        self._stop = threading.Event()
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        self._thread = threading.Thread(target=self._run, name="zvt simulator", daemon=True)

    # -- lifecycle

    @property
    def url(self) -> str:
        """What the ECR should open."""
        if self._listen is not None:
            return f"socket://{self._listen[0]}:{self.port}"
        if self._device:
            return self._device
        return str(self._link) if self._link else self.slave_path

    @property
    def naks_sent(self) -> int:
        return self._transport.nak_sent

    def start(self) -> SimServer:
        self._plug()
        self._started = time.monotonic()
        if self._sales_rate > 0:
            self._next_sale = self._started + self._rng.expovariate(self._sales_rate / 60)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._stop.is_set():
            return
        self._stop.set()
        os.write(self._wake_w, b"x")
        if self._thread.is_alive():
            self._thread.join(timeout=10)
        self._unplug()
        os.close(self._wake_r)
        os.close(self._wake_w)

    def __enter__(self) -> SimServer:
        return self.start() if not self._thread.is_alive() else self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- control (any thread)

    def inject(self, spec: str | Fault) -> Fault:
        fault = parse_fault(spec) if isinstance(spec, str) else spec
        if fault.kind == "unplug" and (self._device is not None):
            raise ValueError("fault unplug: a real serial device cannot be unplugged by software")
        self.faults.add(fault)
        with contextlib.suppress(OSError):
            os.write(self._wake_w, b"x")
        return fault

    def line_noise(self, data: bytes, timeout: float = 2.0) -> bool:
        """Put raw bytes on the line, outside any frame, as a noisy cable does.

        Returns once the worker has written them (False if it did not within `timeout`),
        so a caller knows the noise precedes whatever it does next.
        """
        written = threading.Event()
        self._noise.append((bytes(data), written))
        with contextlib.suppress(OSError):
            os.write(self._wake_w, b"x")
        return written.wait(timeout)

    def clear_faults(self) -> None:
        self.faults.clear()
        self._silent_until = 0.0
        self._busy_next = 0.0

    def control(self, line: str) -> str:
        """One control line (`sale 12.50 visa`, `fault nak:2`, `clear`, `flag NAME on`, `state`)."""
        words = line.split()
        if not words:
            return ""
        verb, args = words[0].lower(), words[1:]
        try:
            if verb == "sale" and 1 <= len(args) <= 2:
                amount = parse_amount(args[0], self.terminal.currency)
                card = args[1].lower() if len(args) == 2 else "visa"
                return self._sale(amount, card)
            if verb == "fault" and len(args) == 1:
                fault = self.inject(args[0])
                return f"fault: {fault.kind} injected"
            if verb == "clear" and not args:
                self.clear_faults()
                return "faults cleared"
            if verb == "flag" and len(args) == 2 and args[1] in ("on", "off"):
                self.terminal.set_flag(args[0], args[1] == "on")
                return f"flag {args[0]} {args[1]}"
            if verb == "state" and not args:
                return json.dumps({**self.terminal.snapshot(), "faults": self.faults.describe()})
            if verb == "help":
                return (
                    "commands: sale AMOUNT [CARD] | fault SPEC | clear | flag NAME on|off | state"
                    f" | help  (cards: {', '.join(CARD_SLOTS)})"
                )
        except ValueError as exc:
            return f"error: {exc}"
        return f"error: cannot understand {line.strip()!r} (try help)"

    # -- ports

    def _plug(self) -> None:
        if self._listen is not None:
            self._listener = socket.create_server(self._listen, reuse_port=False)
            self._listener.setblocking(False)
            self.port = self._listener.getsockname()[1]
            self._listen = (self._listen[0], self.port)  # come back on the same port after unplug
        elif self._device:
            self._ser = open_serial(self._device, self._baudrate, stopbits=2)
        else:
            self._master, self._slave, self.slave_path = open_pty(self._link)
        self._reset_line()

    def _unplug(self) -> None:
        close_pty(self._master, self._slave, self._link)
        self._master = self._slave = None
        for sock in (self._conn, self._listener):
            if sock is not None:
                sock.close()
        self._conn = self._listener = None
        if self._ser is not None:
            self._ser.close()
            self._ser = None

    def _reset_line(self) -> None:
        self._transport = Transport(self._serial, self._timeouts)
        self._book = TimerBook()
        self._abandon()
        self._wire.clear()

    def _abandon(self) -> None:
        self._queue.clear()
        self._head_ready = None
        self._awaiting_answer_until = None
        self._wait_answer_after_ack = False

    def _rx_fd(self) -> int | None:
        if self._master is not None:
            return self._master
        if self._ser is not None:
            return self._ser.fileno()
        if self._conn is not None:
            return self._conn.fileno()
        return self._listener.fileno() if self._listener is not None else None

    def _read(self) -> bytes:
        if self._master is not None:
            try:
                return os.read(self._master, 4096)
            except (BlockingIOError, OSError):
                return b""
        if self._ser is not None:
            return self._ser.read(max(1, self._ser.in_waiting))
        if self._conn is None and self._listener is not None:
            with contextlib.suppress(BlockingIOError):
                conn, _ = self._listener.accept()
                conn.setblocking(False)
                self._conn = conn
                self._reset_line()
            return b""
        if self._conn is not None:
            try:
                data = self._conn.recv(4096)
            except BlockingIOError:
                return b""
            except OSError:
                data = b""
            if not data:  # the ECR closed the connection
                self._conn.close()
                self._conn = None
                self._reset_line()
            return data
        return b""

    def _write(self, data: bytes) -> None:
        try:
            if self._master is not None:
                os.write(self._master, data)
            elif self._ser is not None:
                self._ser.write(data)
            elif self._conn is not None:
                self._conn.sendall(data)
        except (BlockingIOError, OSError):
            pass  # nobody is listening on the line: the bytes are lost, as on a real wire

    # -- the loop

    def _run(self) -> None:
        while not self._stop.is_set():
            now = time.monotonic()
            try:
                self._tick(now)
            except Exception as exc:  # a bench tool must outlive any input: log, drop, go on
                self._log(f"simulator error, dialogue dropped: {type(exc).__name__}: {exc}")
                self._reset_line()
            fd = self._rx_fd()
            fds = [self._wake_r] + ([fd] if fd is not None else [])
            ready, _, _ = select.select(fds, [], [], self._wakeup(now))
            if self._wake_r in ready:
                with contextlib.suppress(BlockingIOError):
                    os.read(self._wake_r, 4096)
            if fd is not None and fd in ready:
                data = self._read()
                if data:
                    self._wire.arrived(data, time.monotonic())

    def _wakeup(self, now: float) -> float:
        times = [now + 1.0]
        if (due := self._wire.next_due()) is not None:
            times.append(due)
        if self._head_ready is not None:
            times.append(self._head_ready)
        if self._awaiting_answer_until is not None:
            times.append(self._awaiting_answer_until)
        for t in (self._replug_at, self._next_sale, self._book.next_deadline()):
            if t is not None:
                times.append(t)
        if self._silent_until > now:
            times.append(self._silent_until)
        if self._scenario:
            times.append(self._started + self._scenario[0][0])
        return max(0.0, min(times) - now)

    def _tick(self, now: float) -> None:
        for fault in self.faults.take_pending():
            self._start_fault(fault, now)
        if self._replug_at is not None and now >= self._replug_at:
            self._replug_at = None
            self._plug()
            self._log(f"port back: {self.url}")
        while self._scenario and now >= self._started + self._scenario[0][0]:
            self._log(
                f"scenario: {self._scenario[0][1]} -> {self.control(self._scenario.popleft()[1])}"
            )
        if self._next_sale is not None and now >= self._next_sale:
            self._random_sale()
            self._next_sale = now + self._rng.expovariate(self._sales_rate / 60)
        for data in self._wire.received(now):
            self._receive(data, now)
        if self._awaiting_answer_until is not None and now >= self._awaiting_answer_until:
            self._log("ECR did not answer: dialogue abandoned")
            self._abandon()
        self._book.update(self._transport.armed(), now)
        for name in self._book.expired(now):
            self._on_transport(self._transport.expire(name), now)
        self._pump(now)
        self._flush(now)
        while self._noise:
            data, written = self._noise.popleft()
            self._wire.send(data, now)
            self._flush(now)
            written.set()

    def _start_fault(self, fault: Fault, now: float) -> None:
        if fault.kind == "silent":
            self._silent_until = now + fault.seconds
            self._reset_line()
        elif fault.kind == "busy":
            self._busy_next = fault.seconds
        elif fault.kind == "unplug" and self._replug_at is None:
            self._unplug()
            self._reset_line()
            self.unplugs += 1
            self._replug_at = now + fault.seconds
            self._log(f"port unplugged for {fault.seconds:g} s")

    def _random_sale(self) -> None:
        if self._queue or self._awaiting_answer_until is not None:
            return  # a dialogue runs: the cashier waits
        card = self._rng.choice(("girocard", "mastercard", "visa", "visa", "girocard", "amex"))
        amount = self._rng.randrange(150, 20000, 10)
        with contextlib.suppress(ValueError):  # a full batch refuses sales
            self._log(self._sale(amount, card))

    def _sale(self, amount: int, card: str) -> str:
        receipt = self.terminal.add_sale(amount, card)
        return (
            f"sale: receipt {receipt:04d}, {card} {format_amount(amount, self.terminal.currency)}"
        )

    def _receive(self, data: bytes, now: float) -> None:
        if now < self._silent_until:
            return
        while self._serial and self.faults.take("nak"):
            self._transport.refuse_frames(1)
        self._on_transport(self._transport.receive_data(data), now)

    def _on_transport(self, events: list, now: float) -> None:
        for ev in events:
            if isinstance(ev, Delivered):
                self.frames_received += 1
                self._on_apdu(ev.apdu, now)
            elif isinstance(ev, Sent):
                if self._wait_answer_after_ack:
                    self._wait_answer_after_ack = False
                    self._awaiting_answer_until = now + self._answer_timeout
            elif isinstance(ev, SendFailed):
                self._log(f"ECR did not acknowledge: {ev.error}")
                self._abandon()
            elif isinstance(ev, Rejected):
                pass  # the transport queued a NAK; the ECR repeats

    def _on_apdu(self, raw: bytes, now: float) -> None:
        try:
            message = decode_message(Apdu.decode(raw))
        except ZvtError as exc:
            self._log(f"unreadable message from the ECR: {exc}")
            self._abandon()
            self._queue.append((NegativeAck(0x83), 0.0))
            return
        if isinstance(message, (PositiveAck, NegativeAck)):
            self._awaiting_answer_until = None  # the ECR took our message: go on
            return
        if not isinstance(message, Command):
            self._queue.append((NegativeAck(0x83), 0.0))
            return
        self._abandon()  # a new command replaces whatever was running
        answer = self.terminal.handle(message, self.faults.host_down)
        self.commands[message.name] += 1
        self._log(describe(message, answer, self.terminal.currency))
        delays = [self._delay] + [0.0] * (len(answer) - 1)
        if self._busy_next > 0 and isinstance(answer[0], PositiveAck):
            waits = max(1, round(self._busy_next / BUSY_INTERVAL))
            self._busy_next = 0.0
            answer[1:1] = [IntermediateStatus(0x17)] * waits
            delays[1:1] = [BUSY_INTERVAL] * waits
        self._queue.extend(zip(answer, delays, strict=True))

    def _pump(self, now: float) -> None:
        while self._queue and self._awaiting_answer_until is None:
            if self._transport.awaiting_ack or self._wait_answer_after_ack:
                return
            message, delay = self._queue[0]
            if self._head_ready is None:
                self._head_ready = now + delay
            if now < self._head_ready:
                return
            self._queue.popleft()
            self._head_ready = None
            # After the first acknowledgement the terminal is master: each message needs an answer.
            self._wait_answer_after_ack = not isinstance(message, (PositiveAck, NegativeAck))
            self._on_transport(self._transport.send(message.encode()), now)

    def _flush(self, now: float) -> None:
        data = self._transport.data_to_send()
        if data:
            self._wire.send(self._mangle(data), now)
        chunk = self._wire.take(now)  # only the bytes whose wire time has passed
        if chunk:
            self._write(chunk)

    def _mangle(self, data: bytes) -> bytes:
        """Apply the crc/drop faults to a frame on its way out."""
        start = data.find(b"\x10\x02")
        if not self._serial or start < 0:
            return data
        if self.faults.take("crc"):
            data = data[:-1] + bytes((data[-1] ^ 0xFF,))
        if self.faults.take("drop"):
            middle = start + (len(data) - start) // 2
            data = data[:middle] + data[middle + 1 :]
        return data


def _parse_listen(listen: str) -> tuple[str, int]:
    rest = listen.removeprefix("tcp://")
    host, _, port = rest.rpartition(":")
    if not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"listen address {listen!r} is not tcp://HOST:PORT")
    return host.strip("[]"), int(port)


def describe(command: Command, answer: list[Message], currency: int) -> str:
    """One log line: what the ECR asked and what the terminal answered."""
    final = answer[-1]
    if isinstance(final, NegativeAck):
        return f"{command.name}: refused ({final.code:02X})"
    if isinstance(final, PtAbort):
        return f"{command.name}: aborted ({final.code:02X})"
    infos = [m for m in answer if isinstance(m, StatusInformation) and m.totals]
    if infos:
        info = infos[-1]
        count = sum(s.count for s in info.totals.slots) if info.totals else 0
        verb = "settled" if command.control == (0x06, 0x50) else "open batch"
        return (
            f"{command.name}: {verb} {count} receipts, {format_amount(info.amount or 0, currency)}"
        )
    if isinstance(final, Completion) and command.control == (0x05, 0x01):
        return f"{command.name}: status {final.payload[-1]:02X}"
    return f"{command.name}: done"
