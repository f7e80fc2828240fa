"""What the journal keeps of a settlement for the policy to judge after it: a batch closed
out of balance (ok: closed, never retried), offline payments still unsent after it. Against
a scripted protocol-neutral terminal: the ZVT simulator has neither."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

from pi_agent.clock import FakeClock
from pi_agent.guard.settle import SettlementExecutor
from pi_agent.guard.tradingday import TradingCalendar
from pi_agent.store import Store
from pi_agent.terminal import BatchTotals, CardTypeTotal, Outcome, SettlementResult, TerminalError
from pi_agent.terminal.base import Terminal

CAL = TradingCalendar(ZoneInfo("Europe/Berlin"), time(23, 0))
T0 = datetime(2026, 11, 20, 21, 30, tzinfo=UTC)


def totals(count: int, number: int = 12, pending: int | None = None,
           pending_total: int | None = None) -> BatchTotals:  # fmt: skip
    cards = (CardTypeTotal("visa", count, count * 1000),) if count else ()
    return BatchTotals(978, count * 1000, cards, terminal_id="PAX1", batch_number=number,
                       offline_pending=pending, offline_pending_total=pending_total)  # fmt: skip


class Scripted(Terminal):
    """Answers totals from a list (the last one repeats) and settles with a given result."""

    def __init__(self, readings: list[BatchTotals], result: SettlementResult) -> None:
        self.readings = list(readings)
        self.result = result
        self.settled = 0

    def totals(self) -> BatchTotals:
        if not self.readings:
            raise TerminalError("no answer")
        return self.readings.pop(0) if len(self.readings) > 1 else self.readings[0]

    def settle(self, progress=None) -> SettlementResult:
        self.settled += 1
        return self.result

    def status(self):  # pragma: no cover - not asked here
        raise NotImplementedError

    register = diagnose = initialise = set_clock = abort = status
    connected = True

    def wait_connected(self, timeout: float) -> bool:
        return True

    def close(self) -> None:
        pass


def run(readings: list[BatchTotals], result: SettlementResult):
    store = Store(":memory:")
    terminal = Scripted(readings, result)
    executor = SettlementExecutor(terminal, store, FakeClock(T0), CAL)
    return store, terminal, executor.settle("open-batch")


def test_a_batch_closed_out_of_balance_is_ok_and_never_sent_again() -> None:
    ok = SettlementResult(Outcome.OK, totals(3), result_code=0, out_of_balance=True)
    # The terminal still shows the batch it closed (its reading lags the close).
    store, terminal, record = run([totals(3), totals(3)], ok)
    assert record.state == "ok" and record.out_of_balance and record.verified is False
    assert "out of balance" in record.note.lower() and "reconcile" in record.note
    assert store.last_ok_settlement().id == record.id and store.last_ok_settlement().out_of_balance
    # The journal's ok is final: asked again, nothing is sent.
    again = SettlementExecutor(terminal, store, FakeClock(T0), CAL).settle("again")
    assert again is not None and again.id == record.id and terminal.settled == 1
    # Then it goes: closed, never called lost.
    terminal.readings = [totals(0)]
    SettlementExecutor(terminal, store, FakeClock(T0), CAL).identify(terminal.totals())
    assert store.batch(record.batch_key).closed_why == "empty"
    assert store.lost_batches(T0) == []


def test_a_balanced_close_says_nothing_of_balance() -> None:
    ok = SettlementResult(Outcome.OK, totals(3), result_code=0)
    _store, _terminal, record = run([totals(3), totals(0, 13)], ok)
    assert record.state == "ok" and not record.out_of_balance and record.verified
    assert record.offline_unsent is None  # the terminal cannot say


def test_offline_payments_still_stored_after_the_close_are_journaled() -> None:
    ok = SettlementResult(Outcome.OK, totals(3), result_code=0)
    after = totals(0, 13, pending=2, pending_total=2500)
    store, _t, record = run([totals(3, pending=2, pending_total=2500), after], ok)
    assert (record.offline_unsent, record.offline_unsent_total) == (2, 2500)
    assert "2 offline payments" in record.note
    assert store.settlement(record.id).offline_unsent == 2  # from the file, as after a restart


def test_none_left_is_zero_not_unknown() -> None:
    ok = SettlementResult(Outcome.OK, totals(3), result_code=0)
    _s, _t, record = run([totals(3), totals(0, 13, pending=0, pending_total=0)], ok)
    assert record.offline_unsent == 0


def test_a_lost_answer_resolved_as_ok_keeps_the_offline_count_it_read() -> None:
    lost = SettlementResult(Outcome.UNKNOWN, None, error="timeout")
    after = replace(totals(0, 13), offline_pending=1, offline_pending_total=900)
    _s, _t, record = run([totals(3), after], lost)
    assert record.state == "ok" and record.offline_unsent == 1
