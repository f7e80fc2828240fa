"""A batch with sales that vanished without any settlement: where the terminal numbers its
batches (POSLink) and the number did not advance, its sales were discarded (BroadPOS "auto
clear database"), and the journal keeps it as lost (batches.lost_at), across restarts.
Where there is no batch number (ZVT) a vanished batch may be the terminal's own end-of-day:
it is closed as before, never called lost."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from pi_agent.guard.batches import BatchBook
from pi_agent.store import Store
from pi_agent.terminal import BatchTotals, CardTypeTotal

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
DAY = date(2026, 11, 20)


def reading(count: int, total: int = 0, number: int | None = 12,
            tid: str = "PAX1") -> BatchTotals:  # fmt: skip
    cards = (CardTypeTotal("visa", count, total or count * 1000),) if count else ()
    return BatchTotals(978, (total or count * 1000) if count else 0, cards, terminal_id=tid,
                       batch_number=number)  # fmt: skip


def seen(book: BatchBook, totals: BatchTotals, minutes: int) -> str | None:
    return book.identify(totals, T0 + timedelta(minutes=minutes), DAY)


def test_a_numbered_batch_gone_empty_under_the_same_number_is_lost(tmp_path: Path) -> None:
    store = Store(tmp_path / "g.db")
    book = BatchBook(store)
    key = seen(book, reading(2), 0)
    seen(book, reading(4, 6100), 10)
    assert seen(book, reading(0), 20) is None
    [lost] = store.lost_batches(T0)
    assert lost.key == key and lost.lost_at == T0 + timedelta(minutes=20)
    assert (lost.ref["count"], lost.ref["total"], lost.ref["batch_number"]) == (4, 6100, 12)
    seen(book, reading(0), 30)  # seen empty again: still the one loss, at the same time
    assert [b.lost_at for b in store.lost_batches(T0)] == [T0 + timedelta(minutes=20)]
    store.close()
    again = Store(tmp_path / "g.db")  # a restart keeps it
    assert [b.key for b in again.lost_batches(T0)] == [key]
    again.close()


def test_a_numbered_batch_that_shrank_under_the_same_number_is_lost() -> None:
    store = Store(":memory:")
    book = BatchBook(store)
    first = seen(book, reading(5), 0)
    second = seen(book, reading(1), 10)  # cleared, and a new sale since, same batch number
    assert second != first
    assert [b.key for b in store.lost_batches(T0)] == [first]
    assert store.batch(first).closed_why == "replaced"


def test_a_batch_number_that_advanced_is_a_settlement_not_a_loss() -> None:
    store = Store(":memory:")
    book = BatchBook(store)
    seen(book, reading(3), 0)
    seen(book, reading(0, number=13), 10)  # the terminal (or its host) closed it
    seen(book, reading(2, number=13), 20)
    seen(book, reading(1, number=14), 30)  # replaced by the next number
    assert store.lost_batches(T0) == []


def test_without_batch_numbers_a_vanished_batch_is_closed_as_before() -> None:
    """ZVT: a terminal's own end-of-day looks the same as a cleared batch."""
    store = Store(":memory:")
    book = BatchBook(store)
    key = seen(book, reading(3, number=None), 0)
    seen(book, reading(0, number=None), 10)
    assert store.batch(key).closed_why == "empty" and store.lost_batches(T0) == []
    key = seen(book, reading(5, number=None), 20)
    seen(book, reading(1, number=None), 30)  # fewer sales: a new batch
    assert store.batch(key).closed_why == "replaced" and store.lost_batches(T0) == []


def test_a_reading_that_cannot_say_its_number_is_not_a_loss() -> None:
    store = Store(":memory:")
    book = BatchBook(store)
    seen(book, reading(3), 0)
    seen(book, reading(0, number=None), 10)
    assert store.lost_batches(T0) == []


def test_a_batch_gone_while_an_end_of_day_outcome_is_open_is_not_lost() -> None:
    """The guard's own settlement may have closed it (its answer lost): resolving the
    outcome decides, not the batch book."""
    store = Store(":memory:")
    book = BatchBook(store)
    key = seen(book, reading(3), 0)
    record = store.journal_intent(DAY, key, reading(3).to_json(), "open-batch", T0)
    store.finish(record.id, "unknown", T0 + timedelta(minutes=1), note="timeout")
    seen(book, reading(0), 10)  # same number: the terminal did not advance it, or not yet
    assert store.lost_batches(T0) == []
    assert store.batch(key).closed_why == "empty"


def test_a_batch_the_guard_settled_is_never_lost() -> None:
    store = Store(":memory:")
    book = BatchBook(store)
    key = seen(book, reading(3), 0)
    # As the executor settles: the journal's intent and outcome, then the batch closed.
    record = store.journal_intent(DAY, key, reading(3).to_json(), "open-batch", T0)
    store.finish(record.id, "ok", T0 + timedelta(minutes=5))
    store.batch_closed(key, T0 + timedelta(minutes=5))
    seen(book, reading(0), 10)
    seen(book, reading(1), 20)  # a sale under the same number (the terminal did not advance)
    assert store.lost_batches(T0) == []


def test_a_batch_seen_empty_before_it_vanished_is_not_lost_twice() -> None:
    store = Store(":memory:")
    book = BatchBook(store)
    seen(book, reading(0), 0)
    seen(book, reading(0), 10)
    assert store.lost_batches(T0) == []


def test_lost_batches_are_found_by_when_they_were_lost() -> None:
    store = Store(":memory:")
    book = BatchBook(store)
    seen(book, reading(3), 0)
    seen(book, reading(0), 10)
    assert store.lost_batches(T0 + timedelta(minutes=11)) == []
    assert len(store.lost_batches(T0 + timedelta(minutes=10))) == 1


def test_an_empty_reading_without_a_number_is_told_lost_by_the_next_sale() -> None:
    """POSLink: an empty batch has no record to carry its number; the next sale does."""
    store = Store(":memory:")
    book = BatchBook(store)
    key = seen(book, reading(3), 0)
    seen(book, reading(0, number=None), 10)
    assert store.lost_batches(T0) == []  # not known yet: settled by the terminal, or not
    seen(book, reading(1, number=12), 20)
    [lost] = store.lost_batches(T0)
    assert lost.key == key and lost.lost_at == T0 + timedelta(minutes=20)
    seen(book, reading(2, number=12), 30)
    assert len(store.lost_batches(T0)) == 1


def test_an_empty_reading_then_the_next_batch_number_is_not_lost() -> None:
    store = Store(":memory:")
    book = BatchBook(store)
    seen(book, reading(3), 0)
    seen(book, reading(0, number=None), 10)
    seen(book, reading(1, number=13), 20)  # the terminal's own close moved the number on
    assert store.lost_batches(T0) == []
