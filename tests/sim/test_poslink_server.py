"""The POSLink simulator on a real pty, TCP and HTTP, driven by a small ECR loop built on
`pi_agent.poslink.exchange`: each command, each fault, each ACK quirk, and garbage."""

from __future__ import annotations

import base64
import json
import os
import random
import select
import socket
import struct
import threading
import time
import tty
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from pi_agent.poslink.exchange import EcrExchange, Ended, ExchangeResult
from pi_agent.poslink.framing import encode_frame
from pi_agent.poslink.messages import (
    BatchClose,
    BatchCloseResponse,
    ForceClose,
    Initialize,
    InitializeResponse,
    LocalDetail,
    LocalDetailResponse,
    LocalTotal,
    LocalTotalResponse,
    Reboot,
    Request,
    Reset,
    SafSummary,
    SafSummaryResponse,
    SafUpload,
    SafUploadResponse,
    decode_response,
)
from pi_agent.sim.faults import FaultSpecError
from pi_agent.sim.poslink_server import PosLinkServer, parse_fault

from ..terminal.test_zvt_driver import wait_for


class Ecr:
    """One request/response over a byte link; keeps each read to check write boundaries."""

    def __init__(self, read: Callable[[float], bytes | None], write: Callable[[bytes], None]):
        self.read, self.write = read, write
        self.reads: list[bytes] = []

    def run(self, request: Request, timeout: float = 3.0) -> ExchangeResult:
        ex = EcrExchange()
        self.write(ex.send(request))
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                events = ex.expire("response")
            else:
                data = self.read(left)
                if data is None:  # the peer closed
                    events = ex.expire("response")
                elif not data:
                    continue
                else:
                    self.reads.append(data)
                    events = ex.receive_data(data)
            out = ex.data_to_send()
            if out:
                self.write(out)
            for ev in events:
                if isinstance(ev, Ended):
                    return ev.result


@contextmanager
def pty_ecr(sim: PosLinkServer) -> Iterator[Ecr]:
    fd = os.open(sim.url, os.O_RDWR | os.O_NOCTTY)
    tty.setraw(fd)

    def read(left: float) -> bytes:
        ready, _, _ = select.select([fd], [], [], left)
        return os.read(fd, 4096) if ready else b""

    try:
        yield Ecr(read, lambda data: os.write(fd, data) and None)
    finally:
        os.close(fd)


def tcp_run(
    sim: PosLinkServer, request: Request, timeout: float = 3.0
) -> tuple[Ecr, ExchangeResult]:
    """One request per connection, as PAX over TCP."""
    with socket.create_connection(("127.0.0.1", sim.port), timeout=timeout) as sock:

        def read(left: float) -> bytes | None:
            ready, _, _ = select.select([sock], [], [], left)
            if not ready:
                return b""
            return sock.recv(4096) or None

        ecr = Ecr(read, sock.sendall)
        return ecr, ecr.run(request, timeout)


def http_get(sim: PosLinkServer, frame: bytes, timeout: float = 3.0) -> bytes:
    query = base64.b64encode(frame).decode()
    url = f"http://127.0.0.1:{sim.http_port}/?{query}"
    with urllib.request.urlopen(url, timeout=timeout) as rsp:
        return rsp.read()


@pytest.fixture
def sim(tmp_path: Path) -> Iterator[PosLinkServer]:
    server = PosLinkServer(link=tmp_path / "pax", tcp=True, http=True, ack_delay=0.05)
    server.control("sale 12.50")
    server.control("sale 3.00 02 02")
    with server:
        yield server


def test_commands_over_the_pty(sim: PosLinkServer) -> None:
    with pty_ecr(sim) as ecr:
        status = ecr.run(Initialize(trailing_fs=True)).response
        assert isinstance(status, InitializeResponse) and status.model == "A920"
        totals = ecr.run(LocalTotal()).response
        assert isinstance(totals, LocalTotalResponse) and totals.group("credit")["sale"] == (
            1,
            1250,
        )
        detail = ecr.run(LocalDetail(record_number=1)).response
        assert isinstance(detail, LocalDetailResponse) and detail.amount.approved == 300
        assert ecr.run(Reset()).response.ok  # type: ignore[union-attr]
        assert ecr.run(Reboot()).response.ok  # type: ignore[union-attr]


def test_saf_summary_upload_and_batch_close_over_tcp(sim: PosLinkServer) -> None:
    assert sim.control("fault saf:2") == "fault: saf injected"
    _, result = tcp_run(sim, SafSummary())
    summary = result.response
    assert isinstance(summary, SafSummaryResponse) and summary.counts[:2] == (1, 1)
    _, result = tcp_run(sim, SafUpload())
    assert isinstance(result.response, SafUploadResponse) and result.response.uploaded_count == 2
    _, result = tcp_run(sim, BatchClose(timestamp="YYYYMMDDhhmmss"))  # GP's literal stamp
    close = result.response
    assert isinstance(close, BatchCloseResponse) and close.ok and close.batch_number == "1"
    assert close.counts["credit"] == 3 and close.counts["debit"] == 1
    _, result = tcp_run(sim, BatchClose())
    assert isinstance(result.response, BatchCloseResponse)
    assert result.response.batch_number == "2" and sim.terminal.batch_number == 3


def test_http_answers_with_the_raw_frame(sim: PosLinkServer) -> None:
    body = http_get(sim, b"\x02A00\x1c1.35\x1c\x03\x5b")  # the worked example
    assert body[0] == 0x02
    rsp = decode_response(body[1:-2])
    assert isinstance(rsp, InitializeResponse) and rsp.version == "1.35"
    assert encode_frame(body[1:-2]) == body
    assert http_get(sim, b"garbage") == b"\x15"
    assert http_get(sim, b"\x02A00\x1c1.35\x1c\x03\x00") == b"\x15"  # bad LRC
    url_safe = base64.urlsafe_b64encode(encode_frame(ForceClose().encode())).decode()
    with urllib.request.urlopen(f"http://127.0.0.1:{sim.http_port}/?{url_safe}", timeout=3) as r:
        assert decode_response(r.read()[1:-2]).command == "B03"


def test_an_http_client_gone_before_its_answer_is_logged_not_printed(capfd) -> None:
    """A killed ECR leaves the HTTP handler writing to a reset connection: the log says so,
    stderr (which may block, or be a test's output) stays clean."""
    lines: list[str] = []
    inside, gone = threading.Event(), threading.Event()
    with PosLinkServer(http=True, log=lines.append) as server:
        handle = server.terminal.handle

        def slow(request: Request) -> object:  # answers once the client has gone
            inside.set()
            gone.wait(3)
            return handle(request)

        server.terminal.handle = slow  # type: ignore[method-assign]
        sock = socket.create_connection(("127.0.0.1", server.http_port))
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # RST
        query = base64.b64encode(encode_frame(Initialize().encode())).decode()
        sock.sendall(f"GET /?{query} HTTP/1.1\r\nHost: pax\r\n\r\n".encode())
        assert inside.wait(3)
        sock.close()
        gone.set()
        assert wait_for(lambda: any("Error" in line for line in lines)), lines
    assert "Traceback" not in capfd.readouterr().err


@pytest.mark.parametrize("mode", ["separate", "same", "none"])
def test_ack_quirks(tmp_path: Path, mode: str) -> None:
    with PosLinkServer(tcp=True, ack_mode=mode, ack_delay=0.1) as sim:
        ecr, result = tcp_run(sim, Initialize())
    assert result.completed
    if mode == "separate":
        assert ecr.reads[0] == b"\x06" and ecr.reads[1][0] == 0x02 and result.acked
    elif mode == "same":
        assert ecr.reads[0][:2] == b"\x06\x02" and result.acked
    else:
        assert ecr.reads[0][0] == 0x02 and not result.acked


def test_eot_after_ack(tmp_path: Path) -> None:
    with PosLinkServer(link=tmp_path / "pax", eot_after_ack=True) as sim, pty_ecr(sim) as ecr:
        assert ecr.run(Initialize()).completed
        assert ecr.read(1.0) == b"\x04"


def test_nak_fault_makes_the_ecr_resend(sim: PosLinkServer) -> None:
    sim.inject("nak:2")
    with pty_ecr(sim) as ecr:
        result = ecr.run(Initialize())
    assert result.completed and result.sends == 3 and sim.naks_sent == 2
    sim.inject("nak:3")
    _, result = tcp_run(sim, Initialize())
    assert not result.completed and "refused 3 times" in str(result.error)


@pytest.mark.parametrize("kind", ["lrc", "drop"])
def test_broken_response_frames_are_resent(sim: PosLinkServer, kind: str) -> None:
    sim.inject(f"{kind}:2")
    with pty_ecr(sim) as ecr:
        result = ecr.run(LocalTotal())
    assert result.completed and isinstance(result.response, LocalTotalResponse)
    sim.inject(f"{kind}:3")
    _, result = tcp_run(sim, Initialize())
    assert not result.completed and "garbled 3 times" in str(result.error)


def test_lrc_fault_over_http(sim: PosLinkServer) -> None:
    sim.inject("lrc:1")
    body = http_get(sim, encode_frame(Initialize().encode()))
    assert encode_frame(body[1:-2]) != body
    body = http_get(sim, encode_frame(Initialize().encode()))
    assert encode_frame(body[1:-2]) == body


def test_silent_answers_nothing_then_recovers(sim: PosLinkServer) -> None:
    sim.inject("silent:0.6")
    time.sleep(0.05)
    with pty_ecr(sim) as ecr:
        result = ecr.run(Initialize(), timeout=0.4)
        assert not result.completed and ecr.reads == []
        time.sleep(0.3)
        assert ecr.run(Initialize()).completed
    sim.inject("silent:0.5")
    time.sleep(0.05)
    start = time.monotonic()
    with pytest.raises(OSError):
        http_get(sim, encode_frame(Initialize().encode()), timeout=2)
    assert time.monotonic() - start >= 0.3


def test_unplug_removes_and_restores_the_pty(sim: PosLinkServer) -> None:
    link = Path(sim.url)
    before = os.readlink(link)
    sim.inject("unplug:0.5")
    deadline = time.monotonic() + 2
    while link.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not link.exists()
    while not link.exists() and time.monotonic() < deadline + 2:
        time.sleep(0.02)
    assert link.exists() and sim.unplugs == 1
    with pty_ecr(sim) as ecr:
        assert ecr.run(Initialize()).completed
    assert os.readlink(link) == before or os.readlink(link).startswith("/dev/pts/")
    with PosLinkServer(tcp=True) as tcp_only, pytest.raises(ValueError, match="pty"):
        tcp_only.inject("unplug:1")


def test_host_faults(sim: PosLinkServer) -> None:
    sim.inject("host-down")
    _, result = tcp_run(sim, BatchClose())
    assert result.response is not None and result.response.code == "000100"
    assert sim.terminal.batch_number == 1
    sim.control("clear")
    sim.inject("out-of-balance")
    _, result = tcp_run(sim, BatchClose())
    assert result.response is not None and result.response.code == "000300"
    assert sim.terminal.batch_number == 2
    sim.control("clear")
    sim.inject("db-full")
    _, result = tcp_run(sim, LocalTotal())
    assert result.response is not None and result.response.code == "100025"
    assert sim.control("sale 1.00").startswith("error:")
    sim.control("clear")
    sim.control("sale 1.00")
    sim.inject("clear-without-settle")
    _, result = tcp_run(sim, LocalDetail())
    assert result.response is not None and result.response.code == "100003"
    assert result.response.message == "NO TRANS AVAILABLE"


def test_control_language_and_fault_specs(sim: PosLinkServer) -> None:
    assert sim.control("offline 7.00 03").startswith("offline: trans 5001")
    sim.inject("lrc:2")
    state = json.loads(sim.control("state"))
    assert state["count"] == 2 and state["saf"] == 1 and state["faults"] == ["lrc:2"]
    assert sim.control("clear") == "faults cleared"
    assert "sale AMOUNT" in sim.control("help")
    for bad in ("fault boom", "sale x", "sale 1.00 09", "dance"):
        assert sim.control(bad).startswith("error: "), bad
    assert parse_fault("saf").count == 3 and parse_fault("silent").seconds == 5.0
    for spec in ("lrc:0", "host-down:9B", "silent:-1", "nak:x"):
        with pytest.raises(FaultSpecError, match=spec.split(":")[0]):
            parse_fault(spec)


def test_garbage_never_stops_the_simulator(tmp_path: Path) -> None:
    lines: list[str] = []
    rng = random.Random(4)
    good = [encode_frame(r.encode()) for r in (Initialize(), LocalTotal(), BatchClose())]
    with PosLinkServer(link=tmp_path / "pax", tcp=True, log=lines.append) as sim:
        with pty_ecr(sim) as ecr:
            for i in range(200):
                frame = bytearray(rng.choice(good))
                for _ in range(rng.randint(1, 4)):
                    frame[rng.randrange(len(frame))] = rng.randrange(256)
                ecr.write(bytes(frame[: rng.randint(1, len(frame))]) if i % 3 else bytes(frame))
            ecr.write(b"\x03\x04\x06\x15" + bytes(rng.randrange(256) for _ in range(300)))
            drain(ecr)
            # an intact frame with a bad field: 100003; one with no command at all: NAK
            ecr.write(encode_frame(b"R02\x1c1.28\x1c00\x1c\x1c\x1cX"))
            assert b"\x1cR03\x1c1.28\x1c100003\x1c" in drain(ecr)
            ecr.write(encode_frame(b"\xff\xfe"))
            assert drain(ecr) == b"\x15"
            assert ecr.run(Initialize()).completed
        _, result = tcp_run(sim, Initialize())
        assert result.completed
    assert not [line for line in lines if "simulator error" in line]


def drain(ecr: Ecr) -> bytes:
    """All the simulator sends until it has been quiet for a while."""
    got = b""
    while chunk := ecr.read(0.3):
        got += chunk
    return got


def test_an_internal_error_drops_the_dialogue_not_the_simulator(tmp_path: Path) -> None:
    lines: list[str] = []
    with PosLinkServer(link=tmp_path / "pax", log=lines.append) as sim, pty_ecr(sim) as ecr:
        real = sim.terminal.handle
        sim.terminal.handle = lambda request: 1 / 0  # type: ignore[method-assign]
        assert not ecr.run(Initialize(), timeout=0.5).completed
        sim.terminal.handle = real  # type: ignore[method-assign]
        assert ecr.run(Initialize()).completed
    assert any("ZeroDivisionError" in line for line in lines)


def test_command_line_runs_and_takes_control_lines() -> None:
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-m", "pi_agent.sim.poslink_server", "--tcp", "--fault", "saf:2"],
        input="sale 1.00\nstate\n",
        capture_output=True,
        text=True,
        timeout=20,
        check=True,
    ).stdout
    assert "fault: saf injected" in out and "tcp " in out
    assert '"count": 1' in out and '"saf": 2' in out


def test_random_sales_and_a_scenario_arrive(tmp_path: Path) -> None:
    lines: list[str] = []
    steps = [(0.0, "offline 2.00"), (0.3, "fault host-down")]
    with PosLinkServer(tcp=True, random_sales_per_minute=1200, seed=7, scenario=steps,
                       log=lines.append) as sim:  # fmt: skip
        deadline = time.monotonic() + 5
        while (len(sim.terminal.normal) < 3 or not sim.terminal.host_down) and (
            time.monotonic() < deadline
        ):
            time.sleep(0.02)
        assert len(sim.terminal.normal) >= 3 and len(sim.terminal.saf_records) == 1
        assert sim.terminal.host_down
    assert any(line.startswith("scenario: fault host-down -> fault:") for line in lines)


def test_endpoints_bind_the_given_address(tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        free = probe.getsockname()[1]
    with PosLinkServer(link=tmp_path / "pax", tcp=True, tcp_address=("127.0.0.1", free),
                       http=True) as sim:  # fmt: skip
        assert sim.endpoints == [
            str(tmp_path / "pax"),
            f"socket://127.0.0.1:{free}",
            f"http://127.0.0.1:{sim.http_port}/",
        ]
        assert sim._listener is not None and sim._listener.getsockname() == ("127.0.0.1", free)


def test_a_failed_start_closes_what_it_opened(tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        sim = PosLinkServer(link=tmp_path / "pax", tcp=True,
                            tcp_address=taken.getsockname())  # fmt: skip
        with pytest.raises(OSError):
            sim.start()
    assert not (tmp_path / "pax").is_symlink()
    with pytest.raises(ValueError, match="pty or a serial device"):
        PosLinkServer(link=tmp_path / "pax", device="/dev/ttyUSB0")
