"""Batch identity: a batch is never taken for another, whatever the terminal's numbers do.

Receipt numbers wrap (9999 -> 0001), some terminals send none, some start each batch at
0001 again. Each case settles every batch exactly once, against the simulator on a pty.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from pi_agent.clock import FakeClock
from pi_agent.guard.batches import BatchBook
from pi_agent.guard.settle import SettlementExecutor
from pi_agent.guard.tradingday import TradingCalendar
from pi_agent.sim import SimServer, SimTerminal
from pi_agent.store import MIGRATIONS, Store
from pi_agent.terminal import BatchTotals, CardTypeTotal
from pi_agent.terminal.zvt import ZvtTerminal
from pi_agent.zvt.messages import EndOfDay
from pi_agent.zvt.timers import Timeouts

FAST = Timeouts(t1=0.2, t2=0.3, t3=1.0, t4=3.0)
CAL = TradingCalendar(ZoneInfo("Europe/Berlin"), time(23, 0))
T0 = datetime(2026, 11, 22, 21, 0, tzinfo=UTC)


def rig_for(tmp_path: Path, **sim_options: object):
    sim = SimServer(SimTerminal(**sim_options), link=tmp_path / "t", timeouts=FAST).start()
    terminal = ZvtTerminal(sim.url, timeouts=FAST, backoff=(0.05, 0.2))
    assert terminal.wait_connected(5)
    store = Store(tmp_path / "guard.db")
    clock = FakeClock(T0)
    return sim, terminal, store, SettlementExecutor(terminal, store, clock, CAL)


def rigged(tmp_path: Path, **sim_options: object):
    sim, terminal, store, executor = rig_for(tmp_path, **sim_options)
    yield sim, terminal, store, executor
    store.close()
    terminal.close()
    sim.stop()


@pytest.fixture
def zvt(tmp_path: Path):
    yield from rigged(tmp_path)


@pytest.fixture
def per_batch(tmp_path: Path):
    yield from rigged(tmp_path, receipt_numbers="per-batch")


@pytest.fixture(params=["continuous", "per-batch", "none"])
def rig(request, tmp_path: Path):
    yield from rigged(tmp_path, receipt_numbers=request.param)


def settle_days(sim, executor, days: int, amounts=(1250,)) -> None:
    for day in range(days):
        sent = sim.terminal.settlements
        for amount in amounts:
            sim.terminal.add_sale(amount)
        record = executor.settle(f"day {day}")
        assert record is not None and record.state == "ok", (day, record)
        assert record.verified, record.note
        assert sim.terminal.settlements == sent + 1, f"day {day}: no end-of-day was sent"
        assert not sim.terminal.batch
        executor.clock.advance(timedelta(days=1))


def test_every_day_is_settled_whatever_the_receipt_numbering(rig) -> None:
    sim, _terminal, _store, executor = rig
    # Same amount every day: with "none" or "per-batch" every batch reads exactly alike.
    settle_days(sim, executor, 3)
    oks = [s for s in executor.store.settlements() if s.state == "ok"]
    assert len({s.batch_key for s in oks}) == 3


def test_receipt_numbers_that_wrap_give_a_new_batch(zvt) -> None:
    sim, _terminal, _store, executor = zvt
    sim.terminal.next_receipt = 9998
    settle_days(sim, executor, 1, amounts=(100, 200, 300))  # receipts 9998, 9999, 0001
    sim.terminal.next_receipt = 9998  # 9,998 receipts later: the same first number again
    settle_days(sim, executor, 1, amounts=(100, 200, 300))
    assert sim.terminal.settlements == 2


def test_a_batch_settled_and_seen_empty_never_returns(per_batch) -> None:
    """Settled and verified empty, then a sale with the same first receipt and amount."""
    sim, _terminal, _store, executor = per_batch
    sim.terminal.add_sale(500)
    first = executor.settle("first")
    assert first.state == "ok" and first.verified
    sim.terminal.add_sale(500)  # receipt 0001 again, 5.00 again
    second = executor.settle("second")
    assert second.state == "ok" and second.id != first.id
    assert second.batch_key != first.batch_key
    assert sim.terminal.settlements == 2


def totals(first: int | None, last: int | None, count: int, total: int) -> BatchTotals:
    return BatchTotals(978, total, (CardTypeTotal("visa", count, total),), first, last,
                       "T1", receipt_cycle=9999, card_count_limit=255)  # fmt: skip


def test_the_book_keeps_a_growing_batch_across_the_wrap(tmp_path: Path) -> None:
    store = Store(tmp_path / "g.db")
    book = BatchBook(store)
    day = T0.date()
    key = book.identify(totals(9998, 9999, 2, 300), T0, day)
    assert book.identify(totals(9998, 2, 5, 800), T0, day) == key  # grew across 9999 -> 0001
    assert book.identify(totals(9998, 3, 6, 900), T0, day) == key
    # Fewer transactions than before: not this batch (it was settled elsewhere and refilled).
    other = book.identify(totals(9998, 9999, 2, 300), T0, day)
    assert other != key
    assert store.newest_batch().key == other
    store.close()


def test_a_batch_still_reported_unchanged_after_its_end_of_day_is_the_same(tmp_path) -> None:
    store = Store(tmp_path / "g.db")
    book = BatchBook(store)
    day = T0.date()
    key = book.identify(totals(None, None, 3, 900), T0, day)
    store.batch_closed(key, T0, "settled")  # the terminal said "settled"...
    assert book.identify(totals(None, None, 3, 900), T0, day) == key  # ...but still shows it
    assert book.identify(totals(None, None, 0, 0), T0, day) is None  # now it is gone
    assert book.identify(totals(None, None, 3, 900), T0, day) != key  # so this one is new
    store.close()


def test_an_end_of_day_journaled_before_the_upgrade_is_judged_against_its_batch(zvt) -> None:
    """A store from the version that named batches terminal:first-receipt, with an end-of-day
    journaled and its answer lost; the batch is still open, so it never ran."""
    sim, _terminal, store, executor = zvt
    sim.terminal.add_sale(700)
    store.db.execute(
        "INSERT INTO batches (batch_key, trading_day, opened_at, seq)"
        " VALUES ('29001006:0001', '2026-11-22', '2026-11-22T20:00:00+00:00', 1)"
    )
    store.journal_intent(T0.date(), "29001006:0001", {}, "before upgrade", T0)
    [decided] = executor.resolve_open()
    assert decided.state == "not-sent"
    assert executor.settle("after upgrade").state == "ok"
    assert sim.terminal.settlements == 1


def test_an_upgraded_store_keeps_its_batches(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    db = sqlite3.connect(path, isolation_level=None)  # schema 2, as the old version left it
    for script in MIGRATIONS[:2]:
        db.executescript(script)
    db.executescript(
        "PRAGMA user_version = 2;"
        "INSERT INTO batches VALUES ('T1:0001', '2026-11-22', '2026-11-22T08:00:00+00:00', NULL);"
    )
    db.close()
    store = Store(path)
    assert store.newest_batch().key == "T1:0001"
    assert BatchBook(store).identify(totals(1, 4, 4, 900), T0, T0.date()) == "T1:0001"
    store.close()


# -- counts that saturate


def visa(count: int, first: int | None, last: int | None) -> BatchTotals:
    return BatchTotals(978, count * 100, (CardTypeTotal("visa", count, count * 100),), first,
                       last, "T1", receipt_cycle=9999, card_count_limit=255)  # fmt: skip


@pytest.mark.parametrize(
    ("cards", "first", "last", "count", "exact"),
    [
        (255, 1, 1999, 1999, True),  # capped at 255: the receipt range counts
        (1999 % 256, 1, 1999, 1999, True),  # a byte that wrapped: the range counts
        (255, 9000, 999, 1999, True),  # the range itself wraps 9999 -> 0001
        (40, 1, 42, 40, True),  # two receipt numbers more (declined): the cards are exact
        (255, None, None, 255, False),  # saturated with no range: a lower bound
        (0, None, None, 0, True),
    ],
)
def test_the_count_does_not_saturate(cards, first, last, count, exact) -> None:
    t = visa(cards, first, last)
    assert (t.count, t.count_exact) == (count, exact)
    assert t.to_json()["count"] == count


def test_1999_sales_of_one_card_type_are_counted_and_the_size_rule_fires(zvt) -> None:
    from pi_agent import config
    from pi_agent.agent import Agent
    from pi_agent.guard.assessment import ReasonKind

    sim, terminal, store, executor = zvt
    for _ in range(1999):
        sim.terminal.add_sale(100, "visa")
    cfg = config.replace(config.Config(), "terminal", port=sim.url)
    cfg = config.replace(cfg, "settle", mode="off")
    agent = Agent(cfg, executor.clock, terminal, store)
    agent.poll()
    a = agent.tick()
    assert agent.state.totals.card_count == 255  # what the one-byte field says
    assert a.batch_count == 1999
    assert ReasonKind.BATCH_NEAR_LIMIT in {r.kind for r in a.reasons}


# -- the totals recorded when the end-of-day's answer was lost


def journal_lost_end_of_day(zvt, amount: int) -> None:
    """A sale, then an end-of-day journaled whose process dies before sending it."""
    sim, terminal, store, executor = zvt
    sim.terminal.add_sale(amount)
    before = terminal.totals()
    store.journal_intent(T0.date(), executor.identify(before), before.to_json(), "crash", T0)


def test_a_lost_answer_records_the_terminals_own_settled_totals(zvt) -> None:
    sim, _terminal, _store, executor = zvt
    journal_lost_end_of_day(zvt, 700)
    sim.terminal.add_sale(300)  # a sale between our read and the end-of-day
    sim.terminal.handle(EndOfDay())  # it ran; the process died before the answer
    [decided] = executor.resolve_open()
    assert decided.state == "ok"
    assert decided.totals_settled["total_minor"] == 1000  # not the 700 read before
    assert decided.totals_settled["count"] == 2


def test_settled_totals_that_cannot_be_known_are_not_made_up(zvt) -> None:
    sim, _terminal, _store, executor = zvt
    journal_lost_end_of_day(zvt, 700)
    sim.terminal.handle(EndOfDay())
    sim.terminal.add_sale(450)  # the last receipt is now a payment's, not the end-of-day's
    [decided] = executor.resolve_open()
    assert decided.state == "ok" and decided.totals_settled is None
    assert "settled totals unknown" in decided.note and "7.00" in decided.note


def test_killed_after_the_end_of_day_ran_then_fewer_sales_is_settled_once(rig) -> None:
    """The end-of-day ran, the process died before its answer, a sale came before the
    restart: the journal says settled (with the terminal's totals), the new sale stays open
    and is settled once, by an end-of-day of its own."""
    sim, terminal, store, executor = rig
    for amount in (700, 300):
        sim.terminal.add_sale(amount)
    before = terminal.totals()
    store.journal_intent(T0.date(), executor.identify(before), before.to_json(), "crash", T0)
    sim.terminal.handle(EndOfDay())
    executor.clock.advance(timedelta(seconds=30))
    sim.terminal.add_sale(700)  # fewer sales than before: cannot be the same batch grown
    [decided] = executor.resolve_open()
    assert decided.state == "ok", decided.note
    record = executor.settle("after restart")
    assert record.state == "ok" and record.batch_key != decided.batch_key
    assert sim.terminal.settlements == 2
    assert record.totals_settled["total_minor"] == 700


def test_a_batch_across_the_wrap_whose_answer_was_lost_gets_its_own_totals(zvt) -> None:
    sim, terminal, store, executor = zvt
    sim.terminal.next_receipt = 9998
    for amount in (100, 200, 300):  # receipts 9998, 9999, 0001
        sim.terminal.add_sale(amount)
    before = terminal.totals()
    assert before.count == 3
    store.journal_intent(T0.date(), executor.identify(before), before.to_json(), "crash", T0)
    sim.terminal.handle(EndOfDay())
    [decided] = executor.resolve_open()
    assert decided.state == "ok"
    assert decided.totals_settled["total_minor"] == 600
    assert decided.totals_settled["count"] == 3
    assert executor.settle("again") is None and sim.terminal.settlements == 1


@pytest.fixture
def unnumbered(tmp_path: Path):
    yield from rigged(tmp_path, receipt_numbers="none")


def test_another_terminals_end_of_day_is_not_taken_for_the_lost_one(unnumbered) -> None:
    """The answer was lost, then the terminal was swapped: the new one's last end-of-day
    (more sales, no receipt numbers) is not the settled totals of our batch."""
    sim, terminal, store, executor = unnumbered
    sim.terminal.add_sale(700)
    before = terminal.totals()
    store.journal_intent(T0.date(), executor.identify(before), before.to_json(), "crash", T0)
    sim.terminal.batch.clear()  # the replacement terminal, with an end-of-day of its own
    sim.terminal.terminal_id = "29005555"
    for amount in (5000, 5000):
        sim.terminal.add_sale(amount)
    sim.terminal.handle(EndOfDay())
    [decided] = executor.resolve_open()
    assert decided.totals_settled is None, decided.totals_settled
    assert "settled totals unknown" in decided.note


@pytest.mark.parametrize(
    ("earlier", "later", "same"),
    [
        ((1, 5, 5), (1, 7, 7), True),  # grew
        ((1, 5, 5), (1, 6, 4), True),  # a reversal netted out of the count: receipts go on
        ((9990, 9999, 10), (9990, 3, 13), True),  # across the wrap
        ((1, 5, 5), (1, 2, 2), False),  # per-batch numbering: a new batch from 0001
        ((1, 5, 5), (1, 4, 5), False),  # the last receipt went back
        ((1, 5, 5), (2, 6, 5), False),  # another first receipt
        ((None, None, 5), (None, None, 6), True),  # no receipts: a batch only grows
        ((None, None, 5), (None, None, 4), False),
    ],
)
def test_continuity(earlier, later, same) -> None:
    a, b = (totals(f, last, n, n * 100).identity for f, last, n in (earlier, later))
    assert b.continues(a) is same
