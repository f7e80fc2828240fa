"""Fixtures: the simulator on a real pty (or TCP) and the ZVT driver connected to it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pi_agent.sim import SimServer, SimTerminal
from pi_agent.terminal.zvt import ZvtTerminal
from pi_agent.zvt.timers import Timeouts

# Short timers keep fault tests quick; the ratios between them are the spec's.
FAST = Timeouts(t1=0.2, t2=0.3, t3=1.0, t4=3.0)


@pytest.fixture
def sim(tmp_path: Path) -> Iterator[SimServer]:
    with SimServer(SimTerminal(), link=tmp_path / "terminal", timeouts=FAST) as server:
        yield server


@pytest.fixture
def terminal(sim: SimServer) -> Iterator[ZvtTerminal]:
    driver = ZvtTerminal(sim.url, timeouts=FAST, backoff=(0.05, 0.2))
    assert driver.wait_connected(5), driver.link.last_error
    yield driver
    driver.close()
