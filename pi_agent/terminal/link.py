"""The serial link: one worker thread owns the port, reopens it when it disappears.

Ports are URLs for pyserial's `serial_for_url`, but only `/dev/ttyUSB0`,
`/dev/serial/by-id/...`, `/dev/serial0`, `socket://host:port` (and `loop://` for tests):
`open_port` refuses every other handler and path before pyserial sees it.
Callers never touch the port: they post a job (a function of the open `Port`)
and wait for its result. The protocol driver supplies a `Session` whose
`handshake` runs after every (re)open before the link reports connected, and
whose `idle` receives bytes that arrive while no job runs (and empty calls after
each job and when it asked for a wake-up, so it can time out a partial frame).
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import queue
import select
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from enum import Enum
from typing import Protocol, TypeVar

import serial

from ..config import port_url
from .base import PortUnavailable, TerminalError

log = logging.getLogger(__name__)
T = TypeVar("T")


class LinkState(Enum):
    CONNECTING = "connecting"
    CONNECTED = "connected"
    DISCONNECTED = "disconnected"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class LineSettings:
    """ZVT default 9600 8N2, no flow control (spec §1.1)."""

    baudrate: int = 9600
    bytesize: int = 8
    parity: str = "N"
    stopbits: float = 2


DEFAULT_LINE = LineSettings()
WRITE_TIMEOUT = 5.0  # T2: a frame that cannot leave in this time will not be acknowledged


def _reason(exc: BaseException) -> str:
    code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else getattr(exc, "errno", None)
    if isinstance(code, int) and code > 0:
        return os.strerror(code)
    text = str(exc)
    return text.rsplit(": ", 1)[-1] if ": " in text else text or type(exc).__name__


class PortLost(PortUnavailable):
    """The open port failed (unplugged device, closed socket)."""


class Port:
    """An open port as the worker sees it: write bytes, read what arrives within a timeout."""

    def __init__(
        self, url: str, ser: serial.SerialBase, trace: Callable[[str, bytes], None] | None = None
    ) -> None:
        self.url = url
        self._ser = ser
        self._trace = trace
        try:
            self._fd: int | None = ser.fileno()
        except (AttributeError, OSError, ValueError, serial.SerialException):
            self._fd = None  # loop:// has no descriptor: fall back to pyserial's own timeout
        if self._fd is not None:
            ser.timeout = 0  # set once: reconfiguring the port on every read costs syscalls

    @property
    def fd(self) -> int | None:
        return self._fd

    def write(self, data: bytes) -> None:
        if self._trace:
            self._trace("out", data)
        try:
            if self._fd is None:
                self._ser.write(data)
                return
            # The worker owns the descriptor: plain write(2), waiting only if the driver's
            # buffer is full (pyserial's own write costs several extra syscalls a frame).
            view = memoryview(data)
            while view:
                try:
                    view = view[os.write(self._fd, view) :]
                except BlockingIOError:
                    _, ready, _ = select.select([], [self._fd], [], WRITE_TIMEOUT)
                    if not ready:
                        raise OSError(errno.ETIMEDOUT, "write timed out") from None
        except (serial.SerialException, OSError) as exc:
            raise PortLost(f"lost the port {self.url}: {_reason(exc)}") from None

    def read(self, timeout: float) -> bytes:
        """Whatever arrived within `timeout` seconds (b'' if nothing)."""
        try:
            if self._fd is None:
                self._ser.timeout = timeout
                data = self._ser.read(1)
                if data:
                    self._ser.timeout = 0
                    data += self._ser.read(self._ser.in_waiting)
            else:
                ready, _, _ = select.select([self._fd], [], [], max(0.0, timeout))
                if not ready:
                    return b""
                data = os.read(self._fd, 4096)
                if not data:  # readable but empty: the device or socket is gone
                    raise OSError(errno.ENODEV, "device disconnected")
        except BlockingIOError:
            return b""
        except (serial.SerialException, OSError) as exc:
            raise PortLost(f"lost the port {self.url}: {_reason(exc)}") from None
        if data and self._trace:
            self._trace("in", data)
        return data

    def close(self) -> None:
        with contextlib.suppress(serial.SerialException, OSError):
            self._ser.close()


def open_port(
    url: str, line: LineSettings, trace: Callable[[str, bytes], None] | None = None
) -> Port:
    try:  # again here, not only in the config: the command line and callers pass ports too
        port_url(url, link=True)
    except ValueError as exc:
        raise PortUnavailable(f"refused terminal.port: {exc}") from None
    try:
        ser = serial.serial_for_url(
            url,
            baudrate=line.baudrate,
            bytesize=line.bytesize,
            parity=line.parity,
            stopbits=line.stopbits,
            xonxoff=False,
            rtscts=False,
            timeout=0,
            exclusive=True if not url.startswith(("socket://", "loop://")) else None,
        )
    except ValueError as exc:
        raise PortUnavailable(f"bad port settings for {url}: {exc}") from None
    except (serial.SerialException, OSError) as exc:
        reason = _reason(exc)
        if (isinstance(exc, OSError) and exc.errno == errno.EBUSY) or "lock" in str(exc).lower():
            reason = "in use by another program"
        raise PortUnavailable(f"cannot open port {url}: {reason}") from None
    return Port(url, ser, trace)


class Session(Protocol):
    """Protocol hooks run in the link's worker thread."""

    def handshake(self, port: Port) -> None:
        """Prove the terminal answers; raise TerminalError if it does not."""

    def idle(self, port: Port, data: bytes) -> float | None:
        """Bytes that arrived while no job was running; b'' after each job and when a
        requested wake-up is due.

        Returns in how many seconds to be called again even if nothing arrives, or None.
        """


class Link:
    """Owns one port in one worker thread; reconnects with backoff."""

    def __init__(
        self,
        url: str,
        session: Session,
        line: LineSettings = DEFAULT_LINE,
        *,
        backoff: tuple[float, float] = (0.2, 5.0),
        on_state: Callable[[LinkState, str], None] | None = None,
        trace: Callable[[str, bytes], None] | None = None,
    ) -> None:
        self.url = url
        self.line = line
        self._session = session
        self._backoff = backoff
        self._on_state = on_state
        self._trace = trace
        self._jobs: queue.SimpleQueue[tuple[Callable[[Port], object], Future[object]] | None] = (
            queue.SimpleQueue()
        )
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        self._stop = threading.Event()
        self._connected = threading.Condition()
        self.state = LinkState.CONNECTING
        self.last_error = ""
        self.reconnects = 0
        self._idle_due: float | None = None  # when the session wants idle(port, b"")
        self._thread = threading.Thread(target=self._run, name=f"link {url}", daemon=True)

    def start(self) -> Link:
        self._thread.start()
        return self

    def close(self) -> None:
        if self._stop.is_set():
            return
        self._stop.set()
        self._jobs.put(None)
        os.write(self._wake_w, b"x")
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout=10)
        os.close(self._wake_r)
        os.close(self._wake_w)

    @property
    def connected(self) -> bool:
        return self.state is LinkState.CONNECTED

    def wait_connected(self, timeout: float) -> bool:
        with self._connected:
            return (
                self._connected.wait_for(
                    lambda: self.state is LinkState.CONNECTED or self._stop.is_set(), timeout
                )
                and self.state is LinkState.CONNECTED
            )

    def wait_settled(self, timeout: float) -> bool:
        """Wait until the first connection attempt is decided (connected or not)."""
        with self._connected:
            return self._connected.wait_for(lambda: self.state is not LinkState.CONNECTING, timeout)

    def call(self, job: Callable[[Port], T], timeout: float | None = None) -> T:
        """Run `job(port)` in the worker and return its result (or raise its error)."""
        if self._stop.is_set():
            raise PortUnavailable(f"the link to {self.url} is closed")
        if self.state is not LinkState.CONNECTED:
            raise PortUnavailable(self.last_error or f"not connected to {self.url}")
        future: Future[object] = Future()
        self._jobs.put((job, future))
        os.write(self._wake_w, b"x")
        return future.result(timeout)  # type: ignore[return-value]

    # -- worker

    def _set_state(self, state: LinkState, error: str = "") -> None:
        changed = state is not self.state or error != self.last_error
        with self._connected:
            self.state = state
            if error:
                self.last_error = error
            self._connected.notify_all()
        if changed:
            log.info("link %s: %s%s", self.url, state.value, f" ({error})" if error else "")
            if self._on_state:
                self._on_state(state, error)

    def _fail_pending(self, error: TerminalError) -> None:
        while True:
            try:
                item = self._jobs.get_nowait()
            except queue.Empty:
                return
            if item is not None:
                item[1].set_exception(error)

    def _connect(self) -> Port | None:
        port: Port | None = None
        try:
            port = open_port(self.url, self.line, self._trace)
            self._session.handshake(port)
        except Exception as exc:  # the worker must survive any driver failure
            if port is not None:
                port.close()
            if not isinstance(exc, TerminalError):
                log.exception("link %s: connecting failed unexpectedly", self.url)
                exc = PortUnavailable(f"connecting to {self.url} failed: {exc}")
            self._set_state(LinkState.DISCONNECTED, str(exc))
            self._fail_pending(PortUnavailable(str(exc)))
            return None
        self._set_state(LinkState.CONNECTED)
        return port

    def _run(self) -> None:
        delay = self._backoff[0]
        port: Port | None = None
        first = True
        while not self._stop.is_set():
            if port is None:
                if not first:
                    self.reconnects += 1
                first = False
                port = self._connect()
                if port is None:
                    self._stop.wait(delay)
                    delay = min(delay * 2, self._backoff[1])
                    continue
                delay = self._backoff[0]
            try:
                self._serve(port)
            except PortLost as exc:
                port.close()
                port = None
                self._set_state(LinkState.DISCONNECTED, str(exc))
                self._fail_pending(PortUnavailable(str(exc)))
        if port is not None:
            port.close()
        self._fail_pending(PortUnavailable(f"the link to {self.url} is closed"))
        self._set_state(LinkState.CLOSED)

    def _serve(self, port: Port) -> None:
        """Run jobs until the port is lost or the link closes; watch the port while idle."""
        self._idle_due = time.monotonic()  # let the session arm its idle timers at once
        while not self._stop.is_set():
            try:
                item = self._jobs.get_nowait()
            except queue.Empty:
                item = None
                self._wait_idle(port)
            if item is None:
                continue
            job, future = item
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(job(port))
            except PortLost as exc:
                future.set_exception(exc)
                raise
            except BaseException as exc:
                future.set_exception(exc)
            # A job may leave bytes half-read (a frame that was still arriving): ask the
            # session at once whether it wants a timer for them.
            self._idle_due = time.monotonic()

    def _wait_idle(self, port: Port) -> None:
        fds = [self._wake_r] + ([port.fd] if port.fd is not None else [])
        wait = 1.0 if port.fd is not None else 0.05
        if self._idle_due is not None:
            wait = min(wait, max(0.0, self._idle_due - time.monotonic()))
        ready, _, _ = select.select(fds, [], [], wait)
        if self._wake_r in ready:
            with contextlib.suppress(BlockingIOError):
                os.read(self._wake_r, 4096)
        data = port.read(0) if port.fd is None or port.fd in ready else b""
        due = self._idle_due is not None and time.monotonic() >= self._idle_due
        if not data and not due:
            return
        self._idle_due = None
        try:
            again = self._session.idle(port, data)
        except PortLost:
            raise
        except Exception:  # stray bytes must not kill the port owner
            log.exception("link %s: handling %d stray bytes failed", self.url, len(data))
            return
        if again is not None:
            self._idle_due = time.monotonic() + again
