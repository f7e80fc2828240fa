"""Line noise between dialogues, over a real pty with the simulator: nothing received outside a
dialogue may be taken as part of the next one."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pi_agent.sim import SimServer, SimTerminal
from pi_agent.terminal import Outcome
from pi_agent.terminal.zvt import ZvtTerminal
from pi_agent.zvt.framing import encode_frame
from pi_agent.zvt.timers import Timeouts

from .conftest import FAST

# A PT Abort "declined by host 45" one CRC byte short: CRC(06 1E 01 45 03) = 06E2, so the
# terminal's next ACK byte (06) completes it with a matching CRC.
STALE_ABORT = bytes.fromhex("10 02 06 1E 01 45 10 03 E2")
# T1 so long it cannot expire while the test runs: only the dialogue start can drop the noise.
LONG_T1 = Timeouts(t1=30.0, t2=FAST.t2, t3=FAST.t3, t4=FAST.t4)


class Heard:
    """What the driver read from the line (the link's trace hook), to wait for noise to land."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._bytes = bytearray()

    def __call__(self, direction: str, data: bytes) -> None:
        if direction == "in":
            with self._lock:
                self._bytes += data

    def wait_for(self, tail: bytes, timeout: float = 5.0) -> bool:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with self._lock:
                if bytes(self._bytes).endswith(tail):
                    return True
            time.sleep(0.005)
        return False


@pytest.fixture
def sim(tmp_path: Path) -> Iterator[SimServer]:
    with SimServer(SimTerminal(), link=tmp_path / "terminal", timeouts=FAST) as server:
        for amount, card in [(4550, "girocard"), (1234, "visa")]:
            server.terminal.add_sale(amount, card)
        yield server


def driver(sim: SimServer, heard: Heard, timeouts: Timeouts = FAST) -> ZvtTerminal:
    terminal = ZvtTerminal(sim.url, timeouts=timeouts, backoff=(0.05, 0.2), trace=heard)
    assert terminal.wait_connected(5), terminal.link.last_error
    return terminal


def assert_settles_and_polls_go_on(sim: SimServer, terminal: ZvtTerminal) -> None:
    result = terminal.settle()
    assert result.outcome is Outcome.OK, result
    assert result.totals is not None and result.totals.total == 5784
    assert sim.terminal.batch == []
    assert terminal.totals().empty
    for _ in range(3):
        assert terminal.status().ready


def test_a_stale_partial_frame_does_not_answer_the_settlement(sim: SimServer) -> None:
    heard = Heard()
    terminal = driver(sim, heard, LONG_T1)
    try:
        assert terminal.status().ready
        assert sim.line_noise(STALE_ABORT)
        assert heard.wait_for(STALE_ABORT)  # the noise arrived while idle, before the command
        assert_settles_and_polls_go_on(sim, terminal)
    finally:
        terminal.close()


def test_a_partial_frame_that_stalls_while_idle_is_dropped_after_t1(sim: SimServer) -> None:
    heard = Heard()
    terminal = driver(sim, heard)
    try:
        assert terminal.status().ready
        assert sim.line_noise(STALE_ABORT)
        assert heard.wait_for(STALE_ABORT)
        # T1 runs while idle too: the stalled frame is answered with NAK and forgotten.
        end = time.monotonic() + 5
        while terminal.line_counters()["naks_sent"] < 1 and time.monotonic() < end:
            time.sleep(0.01)
        assert terminal.line_counters()["naks_sent"] == 1
        assert_settles_and_polls_go_on(sim, terminal)
    finally:
        terminal.close()


@pytest.mark.parametrize(
    "noise",
    [
        pytest.param(encode_frame(bytes.fromhex("06 1E 01 45")), id="complete-frame"),
        pytest.param(b"\x10", id="lone-dle"),
        pytest.param(b"\x10\x02", id="frame-start"),
        pytest.param(b"\x00\xff\x41\x10\x10\x03", id="garbage"),
    ],
)
def test_other_idle_noise_leaves_the_settlement_alone(sim: SimServer, noise: bytes) -> None:
    heard = Heard()
    terminal = driver(sim, heard, LONG_T1)
    try:
        assert sim.line_noise(noise)
        assert heard.wait_for(noise)
        assert_settles_and_polls_go_on(sim, terminal)
    finally:
        terminal.close()
