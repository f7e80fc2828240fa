"""Which batch a reading belongs to: the guard's names for the terminal's batches.

A terminal's numbers cannot name a batch for good: receipt numbers wrap (9999 -> 0001),
some terminals send none, some start each batch at 1 again. So a batch gets a name of
the guard's own when it is first seen, and later readings keep that name only while they
continue it (`BatchIdentity.continues`: same terminal, batch number and first receipt,
nothing taken away). What no reading can tell, the journal knows: a batch we settled, or
saw empty, is over, and any later sales are a new batch whatever their numbers. The one
exception is a terminal that still reports, unchanged, the batch it said it settled: that
is the same batch (verification flags it), and settling it again is refused.

A batch with sales that ends without our end-of-day (seen empty, or replaced by a reading
that does not continue it) is *lost* when the terminal numbers its batches and the number
did not advance: its sales were discarded (BroadPOS "auto clear database"), not settled.
An empty batch may carry no number (POSLink tells it only with a record): then the next
sale under the same number tells it, and the batch seen empty is marked lost then.
Not while an end-of-day of ours for it is undecided: that may be what closed it. Where
there is no batch number (ZVT) a batch that goes may be the terminal's own end-of-day, and
nothing tells the two apart: it is closed, never called lost.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, date, datetime

from ..store import BatchRecord, Store
from ..terminal.models import BatchIdentity, BatchTotals


def _name(ident: BatchIdentity, at: datetime) -> str:
    """Readable and unique: terminal, first receipt, and when the guard first saw it."""
    first = f"{ident.first_receipt:04d}" if ident.first_receipt is not None else "----"
    return f"{ident.terminal_id or '-'}:{first}:{at.astimezone(UTC):%Y%m%dT%H%M%SZ}"


class BatchBook:
    """Names batches from readings, keeping the names in the store (so across restarts)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def identify(self, totals: BatchTotals, now: datetime,
                 day: date | Callable[[], date]) -> str | None:  # fmt: skip
        """The name of the batch `totals` shows (None when it is empty). `day` is the trading
        day a batch first seen now belongs to (a callable: asked only for a new batch)."""
        newest = self.store.newest_batch()
        if totals.empty:
            if newest is not None and newest.closed_why != "empty":
                lost = newest.closed_at is None and self._lost(newest, totals.batch_number)
                self.store.batch_closed(newest.key, now, "empty", lost=lost)
            return None
        ident = totals.identity
        if newest is not None:
            earlier = _earlier(newest, ident)
            if newest.closed_at is None and earlier is not None and ident.continues(earlier):
                if ident != earlier or newest.ref is None:
                    self.store.batch_seen(newest.key, asdict(ident))
                return newest.key
            if newest.closed_why == "settled" and ident == earlier:
                return newest.key  # still reported unchanged after its end-of-day
            if newest.closed_at is None:
                lost = self._lost(newest, ident.batch_number)
                self.store.batch_closed(newest.key, now, "replaced", lost=lost)
            elif (
                newest.closed_why == "empty"
                and newest.lost_at is None
                and self._lost(newest, ident.batch_number)
            ):
                # Seen empty, and now sales under its very number: it was not closed by an
                # end-of-day (that moves the number on), its sales were discarded.
                self.store.batch_lost(newest.key, now)
        key = base = _name(ident, now)
        n = 1
        while self.store.batch_key_used(key):  # two batches within one second
            n += 1
            key = f"{base}-{n}"
        self.store.batch_opened(key, day() if callable(day) else day, now, asdict(ident))
        return key

    def _lost(self, gone: BatchRecord, number: int | None) -> bool:
        """Whether `gone`, open until a reading under batch number `number` ended it, lost
        its sales: it had some, it and the reading carry the same number, and no end-of-day
        of ours for it is undecided."""
        ref = gone.ref or {}
        had = ref.get("batch_number")
        if had is None or number is None or number != had:
            return False
        if not (ref.get("count") or ref.get("total")):
            return False
        if any(s.state == "ok" for s in self.store.settlements(batch_key=gone.key)):
            return False  # ours: settled, then seen empty
        return not any(s.batch_key == gone.key for s in self.store.open_settlements())


def _earlier(newest: BatchRecord, ident: BatchIdentity) -> BatchIdentity | None:
    """The identity the store kept for `newest`. A batch recorded before identities were kept
    was named terminal:first-receipt; a reading with that name continues it (an end-of-day
    journaled before an upgrade is still judged against its own batch)."""
    if newest.ref:
        try:
            return BatchIdentity(**newest.ref)
        except TypeError:  # a field this version does not know: judge it as a new batch
            return None
    legacy = f"{ident.terminal_id or '-'}:{ident.first_receipt or 0:04d}"
    return ident if newest.key == legacy else None
