"""Exactly-once settlement against the simulator over a real pty, with the journal in SQLite."""

from __future__ import annotations

from datetime import UTC, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from pi_agent.clock import FakeClock
from pi_agent.guard.settle import OutcomeStillOpen, SettlementExecutor
from pi_agent.guard.tradingday import TradingCalendar
from pi_agent.sim import SimServer, SimTerminal
from pi_agent.sim.poslink_server import PosLinkServer
from pi_agent.sim.poslink_terminal import PosLinkTerminal as PosLinkSim
from pi_agent.store import Store
from pi_agent.terminal.poslink import PosLinkTerminal
from pi_agent.terminal.zvt import ZvtTerminal
from pi_agent.zvt.timers import Timeouts

FAST = Timeouts(t1=0.2, t2=0.3, t3=1.0, t4=3.0)
CAL = TradingCalendar(ZoneInfo("Europe/Berlin"), time(23, 0))


@pytest.fixture
def rig(tmp_path: Path):
    with SimServer(SimTerminal(), link=tmp_path / "t", timeouts=FAST) as sim:
        terminal = ZvtTerminal(sim.url, timeouts=FAST, backoff=(0.05, 0.2))
        assert terminal.wait_connected(5)
        store = Store(tmp_path / "guard.db")
        clock = FakeClock(datetime(2026, 11, 22, 21, 0, tzinfo=UTC))
        yield sim, terminal, store, SettlementExecutor(terminal, store, clock, CAL)
        store.close()
        terminal.close()


def test_settles_once_and_verifies(rig) -> None:
    sim, _terminal, _store, executor = rig
    for amount in (1000, 250, 99):
        sim.terminal.add_sale(amount)
    record = executor.settle("test")
    assert record is not None and record.state == "ok" and record.verified
    assert record.totals_settled["total_minor"] == 1349
    assert sim.terminal.settlements == 1
    # Asking again settles nothing: the batch is empty now.
    assert executor.settle("again") is None
    assert sim.terminal.settlements == 1


def test_failure_is_recorded_and_a_retry_is_a_new_attempt(rig) -> None:
    sim, _terminal, _store, executor = rig
    sim.terminal.add_sale(500)
    sim.inject("host-down:A3")
    failed = executor.settle("test")
    assert failed.state == "failed" and failed.result_code == 0xA3 and failed.attempt == 1
    sim.clear_faults()
    ok = executor.settle("retry")
    assert ok.state == "ok" and ok.attempt == 2 and ok.batch_key == failed.batch_key
    assert sim.terminal.settlements == 1


def test_a_lost_answer_is_resolved_by_reading_the_batch_again(rig) -> None:
    sim, terminal, store, executor = rig
    sim.terminal.add_sale(700)
    key = executor.identify(terminal.totals())
    # The journal says an end-of-day was sent, then the process died before the answer.
    store.journal_intent(
        CAL.trading_day(executor.clock.now()), key, {}, "crash", executor.clock.now()
    )
    sim.terminal.handle(__import__("pi_agent.zvt.messages", fromlist=["EndOfDay"]).EndOfDay())
    [decided] = executor.resolve_open()
    assert decided.state == "ok" and "settled it" in decided.note
    assert executor.settle("after restart") is None
    assert sim.terminal.settlements == 1


def test_a_crash_before_sending_is_resolved_as_not_sent(rig) -> None:
    sim, terminal, store, executor = rig
    sim.terminal.add_sale(700)
    key = executor.identify(terminal.totals())
    store.journal_intent(
        CAL.trading_day(executor.clock.now()), key, {}, "crash", executor.clock.now()
    )
    record = executor.settle("after restart")
    assert record.state == "ok" and record.attempt == 2
    states = [s.state for s in store.settlements(batch_key=key)]
    assert sorted(states) == ["not-sent", "ok"]
    assert sim.terminal.settlements == 1


def test_nothing_is_sent_while_the_outcome_cannot_be_decided(rig) -> None:
    sim, terminal, store, executor = rig
    sim.terminal.add_sale(700)
    key = executor.identify(terminal.totals())
    store.journal_intent(
        CAL.trading_day(executor.clock.now()), key, {}, "crash", executor.clock.now()
    )
    sim.inject("silent:1.5")  # a terminal busy with the first end-of-day does not answer
    with pytest.raises(OutcomeStillOpen):
        executor.settle("retry")
    assert sim.terminal.settlements == 0
    assert [s.state for s in store.open_settlements()] == ["pending"]


def test_the_journal_allows_one_ok_per_batch(tmp_path: Path) -> None:
    store = Store(tmp_path / "g.db")
    now = datetime(2026, 1, 1, tzinfo=UTC)
    first = store.journal_intent(CAL.trading_day(now), "T:0001", {}, "a", now)
    with pytest.raises(RuntimeError, match="outcome is open"):
        store.journal_intent(CAL.trading_day(now), "T:0001", {}, "b", now)
    store.finish(first.id, "ok", now)
    with pytest.raises(RuntimeError):
        store.journal_intent(CAL.trading_day(now), "T:0001", {}, "c", now)
    store.close()


def test_a_day_taken_wholly_offline_is_settled(tmp_path: Path) -> None:
    """POSLink: payments approved offline wait in SAF, outside the batch's totals; a batch
    holding nothing else is still open, and its end-of-day uploads and closes them."""
    with PosLinkServer(PosLinkSim(), http=True) as sim:
        terminal = PosLinkTerminal(f"http://127.0.0.1:{sim.http_port}", timeouts=(1.0, 3.0))
        store = Store(tmp_path / "guard.db")
        clock = FakeClock(datetime(2026, 11, 22, 21, 0, tzinfo=UTC))
        executor = SettlementExecutor(terminal, store, clock, CAL)
        sim.terminal.add_transaction(700, offline=True)
        assert not terminal.totals().empty
        record = executor.settle("offline day")
        assert record is not None and record.state == "ok" and record.verified, record
        assert sim.terminal.settled == [(1, 1, 700)]
        assert terminal.totals().empty
        assert executor.settle("again") is None
        store.close()
