"""Pacing: a simulator's bytes take their wire time, so a frame of N bytes arrives no
sooner than N x bits / baud after it was sent (the line model, then the POSLink
simulator on a real pty)."""

from __future__ import annotations

import os
import select
import time
import tty
from pathlib import Path

from pi_agent.poslink.framing import ETX, encode_frame
from pi_agent.poslink.messages import Initialize
from pi_agent.sim.pace import Wire
from pi_agent.sim.poslink_server import BITS_PER_BYTE, PosLinkServer

BYTE = 10 / 9600  # 8N1 at 9600 baud


def test_bytes_read_are_received_after_their_wire_time() -> None:
    wire = Wire.at(9600, 10, pace=True)
    wire.arrived(b"x" * 96, now=100.0)  # 96 bytes: 0.1 s on the wire
    assert wire.received(100.0999) == []
    assert wire.next_due() == 100.0 + 96 * BYTE
    assert wire.received(100.1 + 1e-9) == [b"x" * 96]
    assert wire.next_due() is None


def test_bytes_read_back_to_back_queue_behind_each_other() -> None:
    wire = Wire(BYTE)
    wire.arrived(b"a" * 10, now=0.0)
    wire.arrived(b"b" * 10, now=0.0)  # read at once, but the line carried them in turn
    assert wire.received(10 * BYTE + 1e-9) == [b"a" * 10]
    assert wire.received(20 * BYTE - 1e-6) == []
    assert wire.received(20 * BYTE + 1e-9) == [b"b" * 10]


def test_bytes_sent_leave_one_byte_time_apart() -> None:
    wire = Wire(BYTE)
    wire.send(b"0123456789", now=5.0)
    assert wire.take(5.0) == b""
    assert wire.take(5.0 + 3 * BYTE) == b"012"
    assert wire.take(5.0 + 3.5 * BYTE) == b""
    assert wire.next_due() == 5.0 + 4 * BYTE
    assert wire.take(5.0 + 100 * BYTE) == b"3456789"  # never more than was sent
    assert not wire.sending and wire.next_due() is None


def test_an_idle_line_starts_sending_when_the_bytes_come() -> None:
    wire = Wire(BYTE)
    wire.send(b"a", now=0.0)
    assert wire.take(1.0) == b"a"
    wire.send(b"bc", now=2.0)  # idle since 0.0 + BYTE: no credit for the pause
    assert wire.take(2.0 + BYTE) == b"b"


def test_unpaced_passes_everything_at_once() -> None:
    wire = Wire.at(9600, 10, pace=False)
    wire.arrived(b"abc", now=1.0)
    assert wire.received(1.0) == [b"abc"]
    wire.send(b"def", now=1.0)
    assert wire.take(1.0) == b"def"


def test_cleared_line_loses_its_bytes() -> None:
    wire = Wire(BYTE)
    wire.arrived(b"in", now=0.0)
    wire.send(b"out", now=0.0)
    wire.clear()
    assert wire.received(1.0) == [] and wire.take(1.0) == b""


def test_the_poslink_simulator_paces_its_pty(tmp_path: Path) -> None:
    baud = 2400
    byte = BITS_PER_BYTE / baud
    sim = PosLinkServer(link=tmp_path / "pax", ack_delay=0.0, pace=True, baudrate=baud)
    with sim:
        fd = os.open(sim.url, os.O_RDWR | os.O_NOCTTY)
        try:
            tty.setraw(fd)
            request = encode_frame(Initialize().encode())
            start = time.monotonic()
            os.write(fd, request)
            arrivals: list[tuple[float, bytes]] = []
            got = b""
            deadline = start + 10
            while not (len(got) > 2 and got[-2] == ETX) and time.monotonic() < deadline:
                ready, _, _ = select.select([fd], [], [], 0.5)
                if ready:
                    chunk = os.read(fd, 4096)
                    arrivals.append((time.monotonic() - start, chunk))
                    got += chunk
        finally:
            os.close(fd)
    assert got[:1] == b"\x06" and got[-2] == ETX, got
    # The ACK needs the request's wire time and its own; the response frame its own after.
    first_at = arrivals[0][0]
    assert first_at >= (len(request) + 1) * byte
    assert arrivals[-1][0] >= (len(request) + len(got)) * byte
