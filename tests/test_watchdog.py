"""The systemd watchdog: pings go on through a long end-of-day, and stop when the loop is stuck.

systemd is stood in for by a datagram socket (NOTIFY_SOCKET) and a short WatchdogSec
(WATCHDOG_USEC); the terminal stays busy for three times that, sending "please wait".
"""

from __future__ import annotations

import itertools
import os
import socket
import threading
import time
from pathlib import Path

import pytest

from pi_agent import config
from pi_agent.agent import Agent
from pi_agent.clock import FakeClock
from pi_agent.sim import SimServer, SimTerminal
from pi_agent.store import Store
from pi_agent.terminal.zvt import ZvtTerminal
from pi_agent.watchdog import Heartbeat
from pi_agent.zvt.timers import Timeouts
from tests.test_agent import berlin

WATCHDOG_SEC = 1.5
TIMEOUTS = Timeouts(t1=0.3, t2=0.5, t3=1.0, t4=2.0)


class FakeSystemd:
    """Collects what the service tells systemd, with the time each message came."""

    def __init__(self, path: Path) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.settimeout(0.1)
        self.pings: list[float] = []
        self.messages: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                data = self.sock.recv(256).decode()
            except TimeoutError:
                continue
            self.messages.append(data)
            if data == "WATCHDOG=1":
                self.pings.append(time.monotonic())

    def longest_gap(self, start: float, end: float) -> float:
        marks = [start, *[p for p in self.pings if start < p < end], end]
        return max(b - a for a, b in itertools.pairwise(marks))

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.sock.close()


@pytest.fixture
def guard(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    systemd = FakeSystemd(tmp_path / "notify")
    monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "notify"))
    monkeypatch.setenv("WATCHDOG_USEC", str(int(WATCHDOG_SEC * 1e6)))
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid()))
    sim = SimServer(SimTerminal(), link=tmp_path / "term", timeouts=TIMEOUTS).start()
    cfg = config.replace(config.Config(), "settle", mode="off")
    cfg = config.replace(cfg, "terminal", port=sim.url)
    terminal = ZvtTerminal(sim.url, timeouts=TIMEOUTS, backoff=(0.05, 0.2))
    assert terminal.wait_connected(5)
    store = Store(tmp_path / "guard.db")
    agent = Agent(cfg, FakeClock(berlin(20, 12)), terminal, store, speed=20)
    agent.stall = WATCHDOG_SEC / 2
    yield systemd, sim, agent
    agent.stop()
    store.close()
    terminal.close()
    sim.stop()
    systemd.close()


def test_a_long_end_of_day_is_not_killed(guard) -> None:
    systemd, sim, agent = guard
    sim.terminal.add_sale(1000)
    agent.start()
    deadline = time.monotonic() + 5
    while "READY=1" not in systemd.messages and time.monotonic() < deadline:
        time.sleep(0.05)
    sim.inject(f"busy:{3 * WATCHDOG_SEC}")  # "please wait" for three watchdog periods
    start = time.monotonic()
    agent.request_settle()
    while sim.terminal.settlements == 0 and time.monotonic() < start + 15:
        time.sleep(0.05)
    end = time.monotonic()
    assert sim.terminal.settlements == 1
    assert end - start > 2 * WATCHDOG_SEC  # the loop really was held that long
    assert systemd.longest_gap(start, end) < WATCHDOG_SEC  # systemd would not have killed it


def test_a_stuck_loop_stops_the_pings(guard) -> None:
    systemd, _sim, agent = guard
    agent.start()
    time.sleep(WATCHDOG_SEC)
    assert systemd.pings, "an idle guard pings"
    release = threading.Event()
    agent.post(lambda: release.wait(10))  # a job that never returns (a deadlock, say)
    start = time.monotonic()
    time.sleep(4 * WATCHDOG_SEC)
    stuck_until = time.monotonic()
    release.set()
    time.sleep(WATCHDOG_SEC)
    # Pings stop within the stall limit plus one ping period, for longer than WatchdogSec:
    # systemd would have restarted the service.
    assert systemd.longest_gap(start, stuck_until) > 2 * WATCHDOG_SEC
    assert any(p > stuck_until for p in systemd.pings), "pings resume once the loop is free"


def test_the_heartbeat_is_a_promise_with_a_deadline() -> None:
    now = [100.0]
    beat = Heartbeat(clock=lambda: now[0])
    assert not beat.alive()
    beat.promise(30)
    now[0] = 129.0
    assert beat.alive()
    now[0] = 131.0
    assert not beat.alive()
    beat.beat(300.0)  # a dialogue waiting on its terminal's deadline
    assert beat.alive()
