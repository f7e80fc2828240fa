"""A day in the life: the agent against the simulator over a real pty, driven by a fake clock."""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from pi_agent import config
from pi_agent.agent import Agent
from pi_agent.clock import FakeClock
from pi_agent.guard.assessment import Level, ReasonKind
from pi_agent.notify import payouts
from pi_agent.sim import SimServer, SimTerminal
from pi_agent.store import Store
from pi_agent.terminal.zvt import ZvtTerminal
from pi_agent.zvt.timers import Timeouts

BERLIN = ZoneInfo("Europe/Berlin")
FAST = Timeouts(t1=0.2, t2=0.3, t3=1.0, t4=3.0)


def berlin(day: int, hh: int, mm: int = 0) -> datetime:
    return datetime(2026, 11, day, hh, mm, tzinfo=BERLIN)


class Rig:
    def __init__(self, tmp_path: Path, mode: str = "at", **warnings: object) -> None:
        # The terminal's clock runs with the shop's (fake) clock, as a signed-in terminal's does.
        shop_time = lambda: self.clock.now().astimezone(BERLIN).replace(tzinfo=None)  # noqa: E731
        self.sim = SimServer(SimTerminal(clock=shop_time), link=tmp_path / "term",
                             timeouts=FAST).start()  # fmt: skip
        cfg = config.replace(config.Config(), "settle", mode=mode, at="22:30", last_call="22:50")
        cfg = config.replace(cfg, "warnings", **warnings) if warnings else cfg
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
    # No push target is configured, and the settled batch still has its payout date
    # (Friday 20 Nov, T+1 business day in Germany: Monday).
    [p] = payouts.payouts(rig.store)
    assert not rig.cfg.notify.targets
    assert (p.settlement_id, p.amount, p.expected_on) == (record.id, 6739, date(2026, 11, 23))


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
        rig.agent._request_settle(rig.agent.state.batch_key)  # what a long press posts
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


def test_a_drifting_terminal_clock_warns_and_stops_when_put_right(rig: Rig) -> None:
    rig.at(berlin(20, 11))
    assert ReasonKind.TERMINAL_CLOCK_WRONG not in kinds(rig.step())
    assert rig.agent.state.terminal_drift is not None
    assert abs(rig.agent.state.terminal_drift) <= timedelta(seconds=2)
    rig.sim.terminal.clock_offset = timedelta(minutes=-7)  # the terminal runs 7 min slow
    a = rig.step()
    assert ReasonKind.TERMINAL_CLOCK_WRONG in kinds(a) and a.level is Level.WARN
    drift = next(r for r in a.reasons if r.kind is ReasonKind.TERMINAL_CLOCK_WRONG)
    assert drift.detail["drift_seconds"] in range(-422, -417)
    assert rig.sim.terminal.clock_offset == timedelta(minutes=-7)  # not set: not configured


def test_the_guard_sets_a_drifting_terminal_clock_when_allowed(tmp_path: Path) -> None:
    rig = Rig(tmp_path, set_terminal_clock=True)
    try:
        rig.at(berlin(20, 11))
        rig.sim.terminal.clock_offset = timedelta(minutes=9)
        rig.step()
        assert abs(rig.sim.terminal.clock_offset) <= timedelta(seconds=2)  # set from ours
        assert ReasonKind.TERMINAL_CLOCK_WRONG not in kinds(rig.step())
        assert any(e["kind"] == "clock" for e in rig.store.events())
    finally:
        rig.close()


def test_no_terminal_clock_is_set_while_ours_is_not_synchronised(tmp_path: Path) -> None:
    rig = Rig(tmp_path, set_terminal_clock=True)
    try:
        rig.clock.set_synchronised(False)
        rig.sim.terminal.clock_offset = timedelta(minutes=9)
        a = rig.step()
        assert {ReasonKind.TERMINAL_CLOCK_WRONG, ReasonKind.SYSTEM_CLOCK_UNSYNCED} <= kinds(a)
        assert rig.sim.terminal.clock_offset == timedelta(minutes=9)
    finally:
        rig.close()


def test_near_the_cutoff_the_terminal_is_read_more_often(rig: Rig) -> None:
    asked: list[datetime] = []
    totals = rig.terminal.totals
    rig.terminal.totals = lambda: (asked.append(rig.clock.now()), totals())[1]

    def polls() -> int:  # readings are stored only when they change: count the questions
        return len(asked)

    rig.sim.terminal.add_sale(500)
    rig.at(berlin(20, 12))
    rig.step()
    before = polls()
    rig.clock.advance(timedelta(seconds=20))
    rig.agent.tick()  # midday: the regular 60 s poll is enough
    assert polls() == before
    rig.at(berlin(20, 22, 10))
    rig.step()
    before = polls()
    rig.clock.advance(timedelta(seconds=10))
    rig.agent.tick()
    assert polls() == before  # not yet: 15 s between polls near the cutoff
    rig.clock.advance(timedelta(seconds=6))
    rig.agent.tick()
    assert polls() == before + 1


def test_an_uneventful_hour_stores_almost_no_readings(rig: Rig) -> None:
    def readings() -> int:
        return rig.store.db.execute("SELECT COUNT(*) FROM readings").fetchone()[0]

    rig.sim.terminal.add_sale(500)
    rig.at(berlin(20, 12))
    rig.step()
    rig.agent.poll()  # the status learns the terminal's id from the first totals: a change
    before = readings()
    for _ in range(240):  # an hour at a 15 s poll: the terminal's clock is all that moves
        rig.clock.advance(timedelta(seconds=15))
        rig.agent.poll()
    assert readings() == before
    rig.sim.terminal.add_sale(700)
    rig.agent.poll()
    assert readings() == before + 1  # the totals changed; the status did not
    assert rig.agent.tick().batch_count == 2


def test_old_rows_are_pruned_when_the_agent_starts(rig: Rig) -> None:
    old = rig.clock.now() - timedelta(days=rig.cfg.store.retention_days + 30)
    s = rig.store.journal_intent(old.date(), "old", {"count": 1}, "policy", old)
    rig.store.finish(s.id, "ok", old)
    payouts.expect(rig.store, s.id, old.date(), amount=100, currency=978, count=1,
                   expected_on=old.date() + timedelta(days=1))  # fmt: skip
    rig.store.add_event("level", "ok", {}, old)
    rig.agent.start()
    try:
        deadline = time.monotonic() + 10
        while rig.store.settlements() and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        rig.agent.stop()
    assert rig.store.settlements() == [] and payouts.payouts(rig.store) == []
    assert all(e["at"] > old.isoformat() for e in rig.store.events())


def add_late_payouts(store: Store, n: int, today: date) -> None:
    """`n` settled days whose payouts were due and never marked received."""
    with store.tx() as db:
        for i in range(n):
            day = (today - timedelta(days=n + 2 - i)).isoformat()
            sid = db.execute("INSERT INTO settlements (trading_day, batch_key, attempt, state,"
                             " reason, created_at, updated_at) VALUES (?, ?, 1, 'ok', 'policy',"
                             " ?, ?)", (day, f"late{i}", day, day)).lastrowid  # fmt: skip
            db.execute("INSERT INTO payouts (settlement_id, trading_day, amount, currency,"
                       " count, expected_on) VALUES (?, ?, 100, 978, 1, ?)",
                       (sid, day, day))  # fmt: skip


def test_a_tick_with_400_late_payouts_costs_what_one_without_does(rig: Rig) -> None:
    rig.cfg = config.replace(rig.cfg, "notify", targets=[{"url": "json://127.0.0.1:9/x"}])
    rig.agent.cfg = rig.agent.planner.cfg = rig.cfg
    ran: list[str] = []

    def tick() -> list[str]:
        ran.clear()
        rig.clock.advance(timedelta(seconds=5))
        rig.store.db.set_trace_callback(ran.append)
        rig.agent.tick()
        rig.store.db.set_trace_callback(None)
        return list(ran)

    rig.at(berlin(20, 12))
    rig.step()
    tick()
    quiet = tick()
    add_late_payouts(rig.store, 400, berlin(20, 12).date())
    first = tick()
    queued = rig.store.db.execute("SELECT COUNT(*) FROM outbox WHERE key LIKE 'payout-late:%'")
    assert queued.fetchone()[0] == 400
    assert sum(s.startswith("BEGIN") for s in first) <= 3  # one transaction, not one each
    again = tick()
    assert len(again) <= len(quiet) + 2, again[len(quiet) :][:10]
    assert not any("outbox" in s and s.startswith(("INSERT", "UPDATE")) for s in again)
    rig.store.db.execute("UPDATE payouts SET received_on = '2026-11-20'")  # e.g. `payouts`
    tick()  # the late alarms whose payout arrived stop repeating
    left = "SELECT COUNT(*) FROM outbox WHERE key LIKE 'payout-late:%' AND repeat_minutes > 0"
    assert rig.store.db.execute(left).fetchone()[0] == 0


def test_the_first_poll_waits_for_the_port_to_open(tmp_path: Path) -> None:
    """At start the port opens on its own thread: the first poll is not a failure for that."""
    import threading
    import time

    link = tmp_path / "term"
    terminal = ZvtTerminal(str(link), timeouts=FAST, backoff=(0.05, 0.1))
    store = Store(tmp_path / "guard.db")
    agent = Agent(config.Config(), FakeClock(berlin(20, 9)), terminal, store)
    sim = SimServer(SimTerminal(), link=link, timeouts=FAST)
    opener = threading.Timer(0.5, sim.start)  # the adapter shows up a moment after start
    opener.start()
    try:
        agent.start()
        deadline = time.monotonic() + 5
        st = agent.state
        while st.status is None and not st.failures and time.monotonic() < deadline:
            time.sleep(0.02)  # until the first poll has ended, one way or the other
        assert st.failures == 0 and st.status is not None, st.last_error
    finally:
        opener.join()
        agent.stop()
        store.close()
        terminal.close()
        sim.stop()


def test_the_terminal_is_signed_in_at_opening_once_a_trading_day(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    try:
        rig.cfg = rig.agent.cfg = config.replace(rig.cfg, "settle", sign_in_at_opening=True)
        assert rig.sim.terminal.sign_ins == 0
        rig.step()  # Friday 09:00: the opening
        assert rig.sim.terminal.sign_ins == 1
        for hh in (9, 12, 21):
            rig.at(berlin(20, hh, 30))
            rig.step()
        assert rig.sim.terminal.sign_ins == 1  # once that day
        # a restart later that day (a new agent, the same store): still once
        rig.agent = Agent(rig.cfg, rig.clock, rig.terminal, rig.store)
        rig.at(berlin(20, 21, 45))
        rig.step()
        assert rig.sim.terminal.sign_ins == 1
        rig.at(berlin(21, 8, 30))  # Saturday, before the opening
        rig.step()
        assert rig.sim.terminal.sign_ins == 1
        rig.at(berlin(21, 9, 0))
        rig.step()
        assert rig.sim.terminal.sign_ins == 2
        events = [e for e in rig.store.events(50) if e["kind"] == "sign-in-at-opening"]
        assert len(events) == 2
    finally:
        rig.close()


def test_no_sign_in_at_opening_by_default(rig: Rig) -> None:
    rig.step()
    rig.at(berlin(20, 12))
    rig.step()
    assert rig.sim.terminal.sign_ins == 0
