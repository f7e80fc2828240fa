"""The serial link: one worker owns the port; it reports, survives and recovers from unplugs."""

from __future__ import annotations

import os
import socket
import threading
import time
import tty
from pathlib import Path

import pytest

from pi_agent.terminal.base import NoAnswer, PortUnavailable
from pi_agent.terminal.link import LineSettings, Link, LinkState, Port, open_port


class Recorder:
    """A session that proves nothing and records what arrives while idle."""

    def __init__(self, fail_handshakes: int = 0) -> None:
        self.fail_handshakes = fail_handshakes
        self.handshakes = 0
        self.idle_bytes = bytearray()
        self.got_idle = threading.Event()

    def handshake(self, port: Port) -> None:
        self.handshakes += 1
        if self.handshakes <= self.fail_handshakes:
            raise NoAnswer("terminal did not answer the handshake")

    def idle(self, port: Port, data: bytes) -> None:
        if data:  # empty calls are the link offering a wake-up this session never asks for
            self.idle_bytes += data
            self.got_idle.set()


class FakeUsb:
    """A pty whose stable symlink appears and disappears like /dev/serial/by-id on a USB plug."""

    def __init__(self, link: Path) -> None:
        self.link = link
        self.master: int | None = None
        self.slave: int | None = None
        self.plug()

    def plug(self) -> None:
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        tmp = self.link.with_suffix(".new")
        tmp.symlink_to(os.ttyname(self.slave))
        tmp.replace(self.link)

    def unplug(self) -> None:
        self.link.unlink()
        for fd in (self.master, self.slave):
            if fd is not None:
                os.close(fd)
        self.master = self.slave = None

    def read(self, size: int, timeout: float = 2.0) -> bytes:
        import select

        got = b""
        while len(got) < size:
            ready, _, _ = select.select([self.master], [], [], timeout)
            if not ready:
                break
            got += os.read(self.master, size - len(got))
        return got


@pytest.fixture
def usb(tmp_path: Path):
    device = FakeUsb(tmp_path / "terminal")
    yield device
    if device.master is not None:
        device.unplug()


def test_missing_device_is_reported_with_path_and_reason() -> None:
    missing = Path("/dev/ttyUSB9-not-plugged-in")  # a device name under /dev/, absent
    link = Link(str(missing), Recorder(), backoff=(0.05, 0.05)).start()
    try:
        assert link.wait_settled(5)
        assert link.state is LinkState.DISCONNECTED
        assert str(missing) in link.last_error
        assert "No such file or directory" in link.last_error
        with pytest.raises(PortUnavailable, match="ttyUSB9"):
            link.call(lambda port: None)
    finally:
        link.close()
    assert link.state is LinkState.CLOSED


def test_refused_tcp_port_is_reported() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound but not listening: connections are refused
        link = Link(f"socket://127.0.0.1:{port}", Recorder(), backoff=(0.05, 0.05)).start()
        try:
            assert link.wait_settled(5)
            assert not link.connected
            assert "refused" in link.last_error.lower()
        finally:
            link.close()


def test_bad_line_settings_are_named(usb: FakeUsb) -> None:
    link = Link(str(usb.link), Recorder(), LineSettings(bytesize=9)).start()
    try:
        assert link.wait_settled(5)
        assert "bad port settings" in link.last_error
    finally:
        link.close()


def test_jobs_run_on_the_port_and_idle_bytes_reach_the_session(usb: FakeUsb) -> None:
    session = Recorder()
    link = Link(str(usb.link), session).start()
    try:
        assert link.wait_connected(5)
        assert link.call(lambda port: port.write(b"\x10\x02hello")) is None
        assert usb.read(7) == b"\x10\x02hello"
        os.write(usb.master, b"late")
        assert session.got_idle.wait(5)
        assert bytes(session.idle_bytes) == b"late"
    finally:
        link.close()


class Waker(Recorder):
    """A session that, like a frame parser holding half a frame, asks to be woken later."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[bytes, float]] = []

    def idle(self, port: Port, data: bytes) -> float | None:
        self.calls.append((data, time.monotonic()))
        if data:
            return 0.2
        if any(data for data, _ in self.calls):
            self.got_idle.set()  # the wake-up after the bytes
        return None


def test_idle_session_is_woken_when_it_asks_even_if_nothing_arrives(usb: FakeUsb) -> None:
    session = Waker()
    link = Link(str(usb.link), session).start()
    try:
        assert link.wait_connected(5)
        start = time.monotonic()
        os.write(usb.master, b"\x10\x02half")
        assert session.got_idle.wait(5)
        data_at = next(at for data, at in session.calls if data)
        woken_at = session.calls[-1][1]
        assert 0.2 <= woken_at - data_at < 0.9  # on time, not at the 1 s idle poll
        assert woken_at - start < 0.9
        calls = len(session.calls)
        time.sleep(0.3)
        assert len(session.calls) == calls  # None: no more wake-ups
    finally:
        link.close()


def test_job_errors_reach_the_caller_and_the_link_stays_up(usb: FakeUsb) -> None:
    link = Link(str(usb.link), Recorder()).start()
    try:
        assert link.wait_connected(5)

        def broken(port: Port) -> None:
            raise NoAnswer("terminal did not answer")

        with pytest.raises(NoAnswer):
            link.call(broken)
        assert link.connected
        assert link.call(lambda port: 42) == 42
    finally:
        link.close()


def test_unplug_is_noticed_and_replug_reconnects_without_restart(usb: FakeUsb) -> None:
    states: list[LinkState] = []
    session = Recorder()
    link = Link(str(usb.link), session, backoff=(0.05, 0.2), on_state=lambda s, e: states.append(s))
    link.start()
    try:
        assert link.wait_connected(5)
        usb.unplug()
        # Noticed while idle (the port hangs up), not only at the next command.
        deadline = threading.Event()
        for _ in range(100):
            if link.state is LinkState.DISCONNECTED:
                break
            deadline.wait(0.05)
        assert link.state is LinkState.DISCONNECTED
        assert "lost the port" in link.last_error or "cannot open" in link.last_error
        with pytest.raises(PortUnavailable):
            link.call(lambda port: None)
        usb.plug()
        assert link.wait_connected(5)
        assert session.handshakes >= 2  # re-handshaked before reporting connected
        assert link.reconnects >= 1
        link.call(lambda port: port.write(b"again"))
        assert usb.read(5) == b"again"
        assert states[0] is LinkState.CONNECTED
        assert LinkState.DISCONNECTED in states
        assert states[-1] is LinkState.CONNECTED
    finally:
        link.close()


def test_failed_handshake_keeps_the_link_down_until_the_terminal_answers(usb: FakeUsb) -> None:
    session = Recorder(fail_handshakes=2)
    link = Link(str(usb.link), session, backoff=(0.05, 0.05)).start()
    try:
        assert link.wait_settled(5)
        assert link.state is LinkState.DISCONNECTED
        assert "did not answer the handshake" in link.last_error
        assert link.wait_connected(5)
        assert session.handshakes == 3
    finally:
        link.close()


def test_loop_url_works_without_a_file_descriptor() -> None:
    link = Link("loop://", Recorder()).start()
    try:
        assert link.wait_connected(5)

        def echo(port: Port) -> bytes:
            port.write(b"\x06")
            return port.read(1.0)

        assert link.call(echo) == b"\x06"
    finally:
        link.close()


@pytest.mark.parametrize(
    "url",
    [
        "spy:///dev/ttyUSB0?file=/tmp/written-by-spy",  # writes a file
        "rfc2217://203.0.113.9:2217",  # connects out
        "socket://203.0.113.9:20007?logging=debug",  # options
        "alt:///dev/ttyUSB0?class=PosixPollSerial",
        "hwgrep://.*",
        "/etc/shadow",  # opened as a port
        "/dev/../etc/shadow",
        "relative/ttyUSB0",
    ],
)
def test_the_link_refuses_any_other_port_before_opening_it(url: str, tmp_path: Path) -> None:
    link = Link(url, Recorder(), backoff=(0.05, 0.05)).start()
    try:
        assert link.wait_settled(5)
        assert link.state is LinkState.DISCONNECTED
        assert link.last_error.startswith("refused terminal.port:"), link.last_error
    finally:
        link.close()
    assert not Path("/tmp/written-by-spy").exists()


def test_a_regular_file_is_not_a_port(tmp_path: Path) -> None:
    plain = tmp_path / "ttyUSB0"
    plain.write_bytes(b"")
    with pytest.raises(PortUnavailable, match=r"refused terminal\.port"):
        open_port(str(plain), LineSettings())
