"""`settle-guard sim --protocol poslink` as a real subprocess: A00 / R00 / B00 exchanges
written with the sans-I/O core over its pty, a serial device, TCP and HTTP GET; control
lines on its stdin; refused options; a clean stop."""

from __future__ import annotations

import base64
import json
import os
import queue
import select
import signal
import socket
import subprocess
import sys
import termios
import threading
import time
import tty
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from pi_agent.poslink import (
    BatchClose,
    BatchCloseResponse,
    EcrExchange,
    Initialize,
    InitializeResponse,
    LocalTotal,
    LocalTotalResponse,
    Request,
    Response,
    decode_response,
    encode_frame,
)
from pi_agent.poslink.exchange import Ended

SIM = [sys.executable, "-m", "pi_agent", "sim"]


class Sim:
    """The simulator in a subprocess; its stdout read line by line on a thread of our own,
    so a test waits for a line with a timeout instead of hanging."""

    def __init__(self, *args: str, ports: int = 1) -> None:
        self.proc = subprocess.Popen(
            [*SIM, "--protocol", "poslink", *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.ports = [self.line() for _ in range(ports)]
        assert all(p.startswith("port: ") for p in self.ports), self.ports
        self.ports = [p.removeprefix("port: ") for p in self.ports]

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def line(self, timeout: float = 20.0) -> str:
        line = self.lines.get(timeout=timeout)
        if line is None:
            assert self.proc.stderr is not None
            raise AssertionError(f"the simulator ended: {self.proc.stderr.read()}")
        return line

    def control(self, command: str, reply_starts: str) -> str:
        """Send a control line; its reply (log lines of exchanges may come before it)."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        while not (line := self.line()).startswith(reply_starts):
            pass
        return line

    def state(self) -> dict:
        return json.loads(self.control("state", "{"))

    def stop(self, sig: int = signal.SIGTERM) -> int:
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(30)  # a loaded machine is slow to stop, not wrong
        finally:
            self.proc.kill()
            self.proc.communicate(timeout=10)


@pytest.fixture
def started() -> Iterator[list[Sim]]:
    sims: list[Sim] = []
    yield sims
    for sim in sims:
        if sim.proc.poll() is None:
            sim.stop()


def exchange(
    read: Callable[[float], bytes], write: Callable[[bytes], object], request: Request
) -> Response:
    """One request/response as the ECR, with `pi_agent.poslink`'s state machine."""
    ex = EcrExchange()
    write(ex.send(request))
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        events = ex.receive_data(read(deadline - time.monotonic()))
        if out := ex.data_to_send():
            write(out)
        for ev in events:
            if isinstance(ev, Ended):
                assert ev.result.completed, ev.result.error
                assert ev.result.response is not None
                return ev.result.response
    raise AssertionError(f"no answer to {request.command}")


def fd_reader(fd: int) -> Callable[[float], bytes]:
    def read(left: float) -> bytes:
        ready, _, _ = select.select([fd], [], [], max(0.0, left))
        return os.read(fd, 4096) if ready else b""

    return read


def over_serial(path: str, request: Request) -> Response:
    fd = os.open(path, os.O_RDWR | os.O_NOCTTY)
    try:
        tty.setraw(fd)
        return exchange(fd_reader(fd), lambda data: os.write(fd, data), request)
    finally:
        os.close(fd)


def over_tcp(url: str, request: Request) -> Response:
    host, _, port = url.removeprefix("socket://").rpartition(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:  # one per request
        return exchange(fd_reader(sock.fileno()), sock.sendall, request)


def over_http(url: str, request: Request) -> Response:
    query = base64.b64encode(encode_frame(request.encode())).decode()
    with urllib.request.urlopen(f"{url}?{query}", timeout=5) as rsp:
        body = rsp.read()
    assert encode_frame(body[1:-2]) == body  # the raw frame, LRC intact
    return decode_response(body[1:-2])


def credit_sales(totals: Response) -> tuple[int, int]:
    assert isinstance(totals, LocalTotalResponse), totals
    return totals.group("credit")["sale"]


def test_on_a_pty_with_control_lines_and_sigterm(tmp_path: Path, started: list[Sim]) -> None:
    link = tmp_path / "pax"
    sim = Sim("--link", str(link), "--sale", "12.50", "--sale", "3.00:mastercard")
    started.append(sim)
    assert sim.ports == [str(link)] and link.is_symlink()
    status = over_serial(str(link), Initialize())
    assert isinstance(status, InitializeResponse) and status.model == "A920"
    assert credit_sales(over_serial(str(link), LocalTotal())) == (2, 1550)

    assert sim.control("sale 1.00", "sale:") == "sale: trans 3, 100 cents"
    assert credit_sales(over_serial(str(link), LocalTotal())) == (3, 1650)

    assert sim.control("fault host-down", "fault:") == "fault: host-down injected"
    declined = over_serial(str(link), BatchClose())
    assert isinstance(declined, BatchCloseResponse) and declined.code == "000100"
    assert sim.state()["count"] == 3  # nothing was settled
    assert sim.control("clear", "faults") == "faults cleared"
    closed = over_serial(str(link), BatchClose())
    assert isinstance(closed, BatchCloseResponse) and closed.ok and closed.counts["credit"] == 3
    assert sim.state()["settled"] == [[1, 3, 1650]]

    assert sim.stop() == 0
    assert not link.is_symlink() and not link.exists()  # no dangling link left behind


def test_sigint_stops_it_cleanly_too(tmp_path: Path, started: list[Sim]) -> None:
    link = tmp_path / "pax"
    sim = Sim("--link", str(link))
    started.append(sim)
    assert link.is_symlink()
    assert sim.stop(signal.SIGINT) == 0
    assert not link.is_symlink()


def test_on_tcp_and_http_at_once(started: list[Sim]) -> None:
    sim = Sim("--listen", "tcp://127.0.0.1:0", "--http", "127.0.0.1:0", "--tid", "PAX00042",
              "--batch", "41", "--sale", "20.00:amex", "--offline", "5.00", ports=2)  # fmt: skip
    started.append(sim)
    tcp, http = sim.ports
    assert tcp.startswith("socket://127.0.0.1:") and not tcp.endswith(":0")
    assert http.startswith("http://127.0.0.1:") and http.endswith("/")
    assert sim.state()["saf"] == 1  # the first line is the state: no third port (no pty)

    for ask in (over_tcp, over_http):
        assert isinstance(ask(tcp if ask is over_tcp else http, Initialize()), InitializeResponse)
    assert credit_sales(over_tcp(tcp, LocalTotal())) == (1, 2000)
    assert credit_sales(over_http(http, LocalTotal())) == (1, 2000)

    assert sim.control("fault host-down", "fault:") == "fault: host-down injected"
    declined = over_http(http, BatchClose())
    assert isinstance(declined, BatchCloseResponse) and declined.code == "000100"
    sim.control("clear", "faults")
    closed = over_tcp(tcp, BatchClose())
    assert isinstance(closed, BatchCloseResponse) and closed.ok
    assert closed.batch_number == "41" and closed.tid == "PAX00042"
    assert closed.counts["credit"] == 2  # the SAF approval was uploaded at the close
    assert sim.stop() == 0


def test_on_a_serial_device_at_its_speed(started: list[Sim]) -> None:
    # A pty's slave side stands in for /dev/ttyUSB0: opened by path, configured with termios.
    master, slave = os.openpty()
    try:
        tty.setraw(slave)
        device = os.ttyname(slave)
        sim = Sim("--device", device, "--baud", "19200")
        started.append(sim)
        assert sim.ports == [device]
        attrs = termios.tcgetattr(slave)
        assert attrs[4] == attrs[5] == termios.B19200
        assert attrs[2] & termios.CSIZE == termios.CS8
        assert not attrs[2] & (termios.CSTOPB | termios.PARENB)  # 8N1
        status = exchange(fd_reader(master), lambda data: os.write(master, data), Initialize())
        assert isinstance(status, InitializeResponse)
        assert sim.stop() == 0
    finally:
        os.close(master)
        os.close(slave)


def test_scenario_lines_play_from_the_start(tmp_path: Path, started: list[Sim]) -> None:
    scenario = tmp_path / "day.txt"
    scenario.write_text("# a morning\n+0 sale 1.00\n+0.2 offline 2.00 02\n+0.2 fault db-full\n")
    sim = Sim("--listen", "tcp://127.0.0.1:0", "--scenario", str(scenario))
    started.append(sim)
    deadline = time.monotonic() + 10
    while (state := sim.state())["saf"] < 1 or not state["db_full"]:
        assert time.monotonic() < deadline, state
        time.sleep(0.05)
    assert state["count"] == 1 and state["saf_total"] == 200
    full = over_tcp(sim.ports[0], LocalTotal())
    assert full.code == "100025"


@pytest.mark.parametrize(
    ("args", "option", "needles"),
    [
        (["--protocol", "poslink", "--fault", "boom"], "--fault",
         ["unknown kind 'boom'", "lrc", "saf", "out-of-balance", "clear-without-settle"]),
        (["--protocol", "poslink", "--fault", "crc:1"], "--fault", ["unknown kind 'crc'"]),
        (["--protocol", "poslink", "--fault", "nak:0"], "--fault", ["1-100"]),
        (["--protocol", "poslink", "--listen", "tcp://127.0.0.1:0", "--fault", "unplug:1"],
         "--fault", ["only a pty"]),
        (["--protocol", "poslink", "--password", "123456"], "--password", ["zvt"]),
        (["--protocol", "poslink", "--currency", "EUR"], "--currency", ["zvt"]),
        (["--protocol", "poslink", "--pace", "--listen", "tcp://127.0.0.1:0"], "--pace",
         ["pty only"]),
        (["--protocol", "poslink", "--receipts", "none"], "--receipts", ["zvt"]),
        (["--ack-mode", "same"], "--ack-mode", ["poslink"]),
        (["--protocol", "zvt", "--http", "127.0.0.1:0"], "--http", ["poslink"]),
        (["--offline", "1.00"], "--offline", ["poslink"]),
        (["--batch", "7"], "--batch", ["poslink"]),
        (["--fault", "lrc:1"], "--fault", ["unknown kind 'lrc'"]),  # ZVT calls it crc
        (["--pty", "--listen", "tcp://127.0.0.1:0"], "--listen", ["--pty"]),  # ZVT: one port
        (["--protocol", "poslink", "--sale", "1.00:paypal"], "--sale", ["paypal", "mastercard"]),
        (["--protocol", "poslink", "--sale", "1.234"], "--sale", ["2 decimals"]),
        (["--protocol", "poslink", "--tid", "no spaces"], "--tid", ["letters and digits"]),
        (["--protocol", "poslink", "--baud", "19200"], "--baud", ["--device"]),
        (["--protocol", "poslink", "--link", "/tmp/x", "--device", "/dev/null"], "--link",
         ["--device"]),
        (["--protocol", "poslink", "--ack-mode", "none", "--ack-delay", "1"], "--ack-delay",
         ["none"]),
        (["--protocol", "poslink", "--http", "nowhere"], "--http", ["HOST:PORT"]),
        (["--protocol", "poslink", "--batch", "0"], "--batch", ["1-999999"]),
        (["--protocol", "pos"], "--protocol", ["poslink"]),
    ],
)  # fmt: skip
def test_refused_options_name_themselves(args: list[str], option: str, needles: list[str]) -> None:
    done = subprocess.run([*SIM, *args], capture_output=True, text=True, timeout=30, check=False,
                          stdin=subprocess.DEVNULL)  # fmt: skip
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert f"argument {option}" in lines[0]
    for needle in needles:
        assert needle in lines[0]
    assert done.stdout == ""  # nothing was opened, nothing printed


def test_a_port_in_use_is_exit_3_and_leaves_nothing_behind(tmp_path: Path) -> None:
    link = tmp_path / "pax"
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        done = subprocess.run(
            [*SIM, "--protocol", "poslink", "--link", str(link),
             "--listen", f"tcp://127.0.0.1:{port}"],
            capture_output=True, text=True, timeout=30, check=False, stdin=subprocess.DEVNULL,
        )  # fmt: skip
    assert done.returncode == 3, done.stderr
    assert f"tcp://127.0.0.1:{port}" in done.stderr and "Traceback" not in done.stderr
    assert not link.is_symlink()  # the pty opened first was closed again
