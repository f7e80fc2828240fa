"""A day in the life: the agent against the simulator over a real pty, driven by a fake clock."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from pi_agent import config
from pi_agent.agent import Agent
from pi_agent.clock import FakeClock
from pi_agent.guard.assessment import Level, ReasonKind
from pi_agent.sim import SimServer, SimTerminal
from pi_agent.store import Store
from pi_agent.terminal.zvt import ZvtTerminal
from pi_agent.zvt.timers import Timeouts

BERLIN = ZoneInfo("Europe/Berlin")
FAST = Timeouts(t1=0.2, t2=0.3, t3=1.0, t4=3.0)


def berlin(day: int, hh: int, mm: int = 0) -> datetime:
    return datetime(2026, 11, day, hh, mm, tzinfo=BERLIN)


class Rig:
    def __init__(self, tmp_path: Path, mode: str = "at") -> None:
        self.sim = SimServer(SimTerminal(), link=tmp_path / "term", timeouts=FAST).start()
        cfg = config.replace(config.Config(), "settle", mode=mode, at="22:30", last_call="22:50")
        self.cfg = config.replace(cfg, "terminal", port=self.sim.url)
        self.terminal = ZvtTerminal(self.sim.url, timeouts=FAST, backoff=(0.05, 0.2))
        assert self.terminal.wait_connected(5)
        self.store = Store(tmp_path / "guard.db")
        self.clock = FakeClock(berlin(20, 9))
        self.agent = Agent(self.cfg, self.clock, self.terminal, self.store)

    def at(self, when: datetime) -> None:
        delta = when - self.clock.now()
        self.clock.advance(delta)

    def step(self) -> object:
        self.agent.poll()
        return self.agent.tick()

    def close(self) -> None:
        self.store.close()
        self.terminal.close()
        self.sim.stop()


@pytest.fixture
def rig(tmp_path: Path):
    r = Rig(tmp_path)
    yield r
    r.close()


def kinds(a) -> set[ReasonKind]:
    return {r.kind for r in a.reasons}


def test_a_day_in_the_life_with_auto_settle(rig: Rig) -> None:
    assert rig.step().level is Level.OK  # 09:00, nothing sold yet
    for hour, amount in ((10, 1250), (13, 4590), (18, 899)):
        rig.at(berlin(20, hour))
        rig.sim.terminal.add_sale(amount, "girocard")
        a = rig.step()
        assert a.level is Level.OK and a.batch_count is not None
    rig.at(berlin(20, 22, 5))
    a = rig.step()
    assert a.level is Level.WARN and ReasonKind.OPEN_BATCH in kinds(a)
    assert a.batch_count == 3 and a.batch_total == 6739
    rig.at(berlin(20, 22, 30))
    a = rig.step()  # auto-settle window opens: the agent settles and verifies
    assert rig.sim.terminal.settlements == 1
    [record] = rig.store.settlements()
    assert record.state == "ok" and record.verified
    assert record.totals_settled["total_minor"] == 6739
    assert rig.agent.state.assessment.level is Level.OK
    assert ReasonKind.SETTLED in kinds(rig.agent.state.assessment)
    # A late sale after the settlement belongs to tomorrow: no warning, no second settle.
    rig.sim.terminal.add_sale(500)
    rig.at(berlin(20, 22, 55))
    a = rig.step()
    assert a.level is Level.OK and rig.sim.terminal.settlements == 1
    events = [e["kind"] for e in rig.store.events()]
    assert "settlement" in events and "level" in events


def test_an_unsettled_batch_goes_overdue_and_notifies_once(tmp_path: Path) -> None:
    rig = Rig(tmp_path, mode="off")
    try:
        rig.step()
        rig.sim.terminal.add_sale(1000)
        rig.at(berlin(20, 22, 50))
        a = rig.step()
        assert a.level is Level.URGENT
        rig.at(berlin(20, 23, 10))
        a = rig.step()
        assert a.level is Level.OVERDUE
        rig.at(berlin(20, 23, 20))
        rig.step()
        keys = [e["key"] for e in rig.store.events() if e["kind"] == "notice"]
        assert keys.count("overdue-batch:2026-11-20") == 1
        assert rig.sim.terminal.settlements == 0  # mode off: the guard never settles itself
    finally:
        rig.close()


def test_the_cashier_can_settle_with_the_button(tmp_path: Path) -> None:
    rig = Rig(tmp_path, mode="off")
    try:
        rig.sim.terminal.add_sale(1000)
        rig.step()
        rig.agent._request_settle()  # what a confirmed long press posts to the loop
        assert rig.sim.terminal.settlements == 1
    finally:
        rig.close()


def test_a_silent_terminal_goes_stale_then_dead_and_recovers(rig: Rig) -> None:
    rig.at(berlin(20, 12))
    rig.step()  # the last answer before the silence
    rig.sim.inject("silent:60")
    for minute in range(1, 4):
        rig.at(berlin(20, 12, minute))
        a = rig.step()
    assert ReasonKind.TERMINAL_STALE in kinds(a)
    rig.at(berlin(20, 12, 20))
    assert rig.step().level is Level.FAULT
    rig.sim.clear_faults()
    rig.at(berlin(20, 12, 21))
    assert rig.step().level is Level.OK
    assert rig.agent.state.failures == 0


@pytest.mark.parametrize("jump", [timedelta(hours=1), timedelta(hours=-1)])
def test_clock_jumps_never_settle_twice(rig: Rig, jump: timedelta) -> None:
    rig.sim.terminal.add_sale(2000)
    rig.at(berlin(20, 22, 35))
    rig.step()
    assert rig.sim.terminal.settlements == 1
    rig.sim.terminal.add_sale(300)
    rig.clock.jump(jump)  # an NTP step either way around the cutoff
    for _ in range(3):
        rig.step()
        rig.clock.advance(timedelta(minutes=5))
    assert (
        rig.sim.terminal.settlements == 1
        if jump < timedelta(0)
        else rig.sim.terminal.settlements <= 2
    )
    assert (
        len([s for s in rig.store.settlements() if s.state == "ok"]) == rig.sim.terminal.settlements
    )
