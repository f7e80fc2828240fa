"""The new judgements through the agent: the ZVT simulator where ZVT is affected (the age
estimated from the journal, a batch gone without a batch number), a scripted protocol-
neutral terminal where only a protocol with the data shows them (batch numbers, out of
balance). Alarms are sent once, and survive a restart in the store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from pi_agent import config
from pi_agent.agent import Agent
from pi_agent.clock import FakeClock
from pi_agent.guard.assessment import Level, ReasonKind
from pi_agent.store import Store
from pi_agent.terminal import Condition, Outcome, SettlementResult, TerminalStatus

from .guard.test_settle_judgements import Scripted, totals
from .test_agent import BERLIN, Rig, berlin, kinds

TARGET = "json://127.0.0.1:9/"


def reason(a, kind: ReasonKind):
    return next(r for r in a.reasons if r.kind is kind)


# -- ZVT: no sale times, so the guard's first sight of the batch is the age


def test_zvt_a_batch_opened_after_the_days_settlement_settles_before_it_ages(
    tmp_path: Path,
) -> None:
    rig = Rig(tmp_path)  # mode at 22:30
    try:
        rig.step()
        rig.sim.terminal.add_sale(1000)
        rig.at(berlin(20, 22, 30))
        rig.step()  # settled in the window
        assert rig.sim.terminal.settlements == 1
        rig.at(berlin(20, 22, 40))
        rig.sim.terminal.add_sale(700)  # tomorrow's batch, first seen now
        assert ReasonKind.AUTH_AGE not in kinds(rig.step())
        rig.at(berlin(21, 18, 39))
        assert ReasonKind.AUTH_AGE not in kinds(rig.step())  # 19 h 59 min
        rig.at(berlin(21, 18, 41))
        a = rig.step()
        r = reason(a, ReasonKind.AUTH_AGE)
        assert r.level is Level.WARN and r.detail["estimated"] is True
        assert rig.sim.terminal.settlements == 1

        # A restart: the journal still knows when the batch was first seen.
        rig.agent = Agent(rig.cfg, rig.clock, rig.terminal, rig.store)
        assert reason(rig.step(), ReasonKind.AUTH_AGE).detail["estimated"] is True

        rig.at(berlin(21, 20, 41))  # 22 h: settle early, long before the 22:30 window
        rig.step()
        assert rig.sim.terminal.settlements == 2
        newest = rig.store.settlements(limit=1)[0]
        assert newest.state == "ok" and newest.reason == "auth-age"
        assert ReasonKind.AUTH_AGE not in kinds(rig.agent.state.assessment)
    finally:
        rig.close()


def test_zvt_without_auto_settle_the_age_warns_then_is_urgent_once(tmp_path: Path) -> None:
    rig = Rig(tmp_path, mode="off")
    try:
        rig.at(berlin(20, 23, 30))  # after the cutoff: the sale belongs to the 21st
        rig.step()
        rig.sim.terminal.add_sale(500)
        rig.step()
        rig.at(berlin(21, 22, 31))  # 23 h 01 min, and the 21st's cutoff is near too
        a = rig.step()
        assert reason(a, ReasonKind.AUTH_AGE).level is Level.URGENT
        rig.at(berlin(21, 22, 40))
        rig.step()
        keys = [e["key"] for e in rig.store.events() if e["kind"] == "notice"]
        assert len([k for k in keys if k.startswith("auth-age:")]) == 1
        assert rig.sim.terminal.settlements == 0
    finally:
        rig.close()


def test_zvt_a_batch_gone_without_our_end_of_day_is_closed_not_called_lost(
    tmp_path: Path,
) -> None:
    """ZVT numbers no batches: the terminal's own end-of-day (or a cleared batch) looks the
    same. Kept as it was: the batch is closed, nothing alarms."""
    rig = Rig(tmp_path)
    try:
        _gone_zvt(rig)
    finally:
        rig.close()


def _gone_zvt(rig: Rig) -> None:
    rig.sim.terminal.add_sale(1200)
    rig.at(berlin(20, 12))
    rig.step()
    key = rig.agent.state.batch_key
    rig.sim.terminal.batch.clear()
    rig.at(berlin(20, 12, 5))
    a = rig.step()
    assert ReasonKind.BATCH_LOST not in kinds(a) and a.level is Level.OK
    assert (
        rig.store.batch(key).closed_why == "empty" and rig.store.lost_batches(berlin(20, 0)) == []
    )


# -- a protocol that numbers its batches and tells more (scripted)


READY = TerminalStatus(0x00, Condition.READY, "ready")


class Neutral(Scripted):
    def status(self) -> TerminalStatus:
        return READY


class Shop:
    def __init__(self, tmp_path: Path, readings, result=None, mode: str = "off") -> None:
        cfg = config.replace(config.Config(), "settle", mode=mode, at="22:30", last_call="22:50")
        self.cfg = config.replace(cfg, "notify", targets=[{"url": TARGET, "min_level": "warn"}])
        self.terminal = Neutral(readings, result or SettlementResult(Outcome.OK, totals(0)))
        self.path = tmp_path / "guard.db"
        self.store = Store(self.path)
        self.clock = FakeClock(datetime(2026, 11, 20, 12, 0, tzinfo=BERLIN))
        self.agent = Agent(self.cfg, self.clock, self.terminal, self.store)

    def step(self, minutes: int = 1):
        self.clock.advance(timedelta(minutes=minutes))
        self.agent.poll()
        return self.agent.tick()

    def restart(self) -> None:
        self.store.close()
        self.store = Store(self.path)
        self.agent = Agent(self.cfg, self.clock, self.terminal, self.store)

    def queued(self, prefix: str) -> list[str]:
        return [m.key for m in self.agent.planner.outbox.pending() if m.key.startswith(prefix)]


def test_a_cleared_batch_alarms_once_survives_a_restart_and_quietens_when_acknowledged(
    tmp_path: Path,
) -> None:
    shop = Shop(tmp_path, [totals(4), totals(4), totals(0)])
    try:
        shop.step()
        shop.step()
        a = shop.step()  # the same batch number, nothing in it, no end-of-day of ours
        r = reason(a, ReasonKind.BATCH_LOST)
        assert r.level is Level.URGENT and (r.detail["count"], r.detail["total"]) == (4, 4000)
        shop.step()
        assert len(shop.queued("batch-lost:")) == 1
        shop.restart()
        assert reason(shop.step(), ReasonKind.BATCH_LOST).level is Level.URGENT
        assert len(shop.queued("batch-lost:")) == 1  # not again after the restart
        notices = [e for e in shop.store.events() if e["kind"] == "notice"]
        assert len([e for e in notices if e["key"].startswith("batch-lost:")]) == 1
        shop.agent._acknowledge()  # a short press
        assert reason(shop.agent.state.assessment, ReasonKind.BATCH_LOST).level is Level.INFO
        shop.restart()
        assert reason(shop.step(), ReasonKind.BATCH_LOST).level is Level.INFO
        shop.clock.advance(timedelta(hours=24))
        assert ReasonKind.BATCH_LOST not in kinds(shop.step())
    finally:
        shop.store.close()


def test_a_batch_gone_while_our_end_of_day_is_undecided_is_not_lost(tmp_path: Path) -> None:
    lost_answer = SettlementResult(Outcome.UNKNOWN, None, error="timeout")
    shop = Shop(tmp_path, [totals(4)], lost_answer, mode="at")
    try:
        shop.clock.advance(timedelta(hours=10, minutes=28))  # the step is at 22:29
        shop.step()
        shop.terminal.readings = [totals(4), totals(4), totals(0)]  # the batch, then gone
        shop.step()  # 22:30: the end-of-day's answer is lost; the batch is gone after it
        [record] = shop.store.settlements()
        assert record.state == "ok" and "settled it" in record.note
        assert shop.store.lost_batches(shop.clock.now() - timedelta(hours=1)) == []
        assert ReasonKind.BATCH_LOST not in kinds(shop.step())
    finally:
        shop.store.close()


def test_a_batch_closed_out_of_balance_alarms_and_the_report_says_so(tmp_path: Path) -> None:
    out = SettlementResult(Outcome.OK, totals(3), result_code=0, out_of_balance=True)
    shop = Shop(tmp_path, [totals(3)], out, mode="at")
    shop.cfg = config.replace(shop.cfg, "notify", report=True)
    shop.agent = Agent(shop.cfg, shop.clock, shop.terminal, shop.store)
    try:
        shop.clock.advance(timedelta(hours=10, minutes=28))  # the step is at 22:29
        shop.step()
        shop.terminal.readings = [totals(3), totals(3), totals(0, 13)]
        shop.step()  # 22:30: settled, out of balance
        [record] = shop.store.settlements()
        assert record.state == "ok" and record.out_of_balance
        a = shop.step()
        assert reason(a, ReasonKind.OUT_OF_BALANCE).level is Level.URGENT
        assert shop.queued("out-of-balance:") == [f"out-of-balance:{record.id}"]
        [report] = [m for m in shop.agent.planner.outbox.pending() if m.kind == "report"]
        assert "out of balance" in report.body.lower() and "acquirer" in report.body
        assert shop.terminal.settled == 1
    finally:
        shop.store.close()


def test_offline_payments_left_after_the_end_of_day_alarm_until_sent(tmp_path: Path) -> None:
    shop = Shop(tmp_path, [totals(3, pending=2, pending_total=2500)], mode="at")
    try:
        shop.clock.advance(timedelta(hours=10, minutes=9))  # 22:10: within the amber lead
        a = shop.step()
        assert reason(a, ReasonKind.OFFLINE_PENDING).level is Level.WARN
        shop.clock.advance(timedelta(minutes=19))
        after = totals(0, 13, pending=2, pending_total=2500)
        before = totals(3, pending=2, pending_total=2500)
        shop.terminal.readings = [before, before, after]  # poll, read before, verify
        shop.step()  # 22:30: settled; two offline payments still on the terminal
        a = shop.step()
        r = reason(a, ReasonKind.OFFLINE_UNSENT)
        assert r.level is Level.URGENT and r.detail == {"count": 2, "total": 2500}
        assert ReasonKind.OFFLINE_PENDING not in kinds(a)
        assert len(shop.queued("offline-unsent:")) == 1
        shop.terminal.readings = [totals(0, 13, pending=0, pending_total=0)]
        assert ReasonKind.OFFLINE_UNSENT not in kinds(shop.step())
        # A new offline payment later is a new one, not the ones the end-of-day left (also
        # after a restart).
        shop.restart()
        shop.terminal.readings = [totals(1, 13, pending=1, pending_total=700)]
        assert ReasonKind.OFFLINE_UNSENT not in kinds(shop.step())
    finally:
        shop.store.close()


def test_a_full_terminal_store_settles_early(tmp_path: Path) -> None:
    from dataclasses import replace

    full = replace(totals(5), storage_full=True)
    shop = Shop(tmp_path, [full, totals(0, 13)], mode="at")
    try:
        shop.terminal.readings = [full, full, totals(0, 13)]
        shop.step()  # 12:01: reads full; settles at once
        [record] = shop.store.settlements()
        assert record.state == "ok" and record.reason == "storage-full"
    finally:
        shop.store.close()


def test_new_store_columns_exist_after_an_upgrade(tmp_path: Path) -> None:
    store = Store(tmp_path / "g.db")
    assert store.last_ok_settlement() is None
    assert store.lost_batches(datetime(2026, 1, 1, tzinfo=UTC)) == []
    store.close()
