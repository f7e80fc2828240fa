"""Settlement, exactly once.

Before an end-of-day leaves, its intent (batch name, attempt) is committed to the
journal. A timeout, a crash or a power cut after that leaves the outcome *unknown*,
not failed: before anything else is sent, the terminal's batch is read again. If the
batch is gone (empty, or a reading that does not continue it), the lost end-of-day did
settle it; if the same batch is still open, it did not. A terminal busy with a running
end-of-day does not answer that read, so the journal stays open and nothing is sent twice.

Batches are named by `BatchBook` (guard/batches.py), never by the terminal's numbers
alone: those wrap, repeat or are missing. The totals recorded as settled are always the
terminal's own (its End-of-Day answer, or the same asked again with `last_settlement`);
where the terminal cannot say, none are recorded and the note says so, rather than
the totals read before, which a sale during the end-of-day would make wrong.

A terminal may close the batch while its totals and the host's differ ("out of
balance"): the batch is gone all the same, so the journal says ok (never retried) and
marks it for the owner to reconcile. Offline payments the terminal still holds after the
close (the reading that verifies it, where the protocol tells) are journaled too: the
upload failed, and the policy alarms.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from datetime import date, datetime, timedelta

from ..clock import Clock
from ..store import Settlement, Store
from ..terminal import BatchTotals, Outcome, PortUnavailable, Progress, Terminal, TerminalError
from .batches import BatchBook
from .tradingday import TradingCalendar

log = logging.getLogger(__name__)


class OutcomeStillOpen(TerminalError):
    """An earlier end-of-day's outcome is unknown and the terminal cannot tell yet."""


class SettlementExecutor:
    def __init__(self, terminal: Terminal, store: Store, clock: Clock,
                 calendar: TradingCalendar) -> None:  # fmt: skip
        self.terminal = terminal
        self.store = store
        self.clock = clock
        self.calendar = calendar
        self.batches = BatchBook(store)
        # The trading day whose batch the terminal has just closed, before the journal says
        # so: a payment between the close and the re-read opens the next day's batch.
        self._closed_day: date | None = None

    def identify(self, totals: BatchTotals) -> str | None:
        """The guard's name for the batch `totals` shows; None when it is empty."""
        now = self.clock.now()
        return self.batches.identify(totals, now, lambda: self._day_for_new_batch(now))

    def _day_for_new_batch(self, now: datetime) -> date:
        day = self.calendar.trading_day(now)
        settled = day == self._closed_day or any(
            s.state == "ok" for s in self.store.settlements(trading_day=day)
        )
        return day + timedelta(days=1) if settled else day  # after settling: tomorrow's batch

    def resolve_open(self) -> list[Settlement]:
        """Decide every journaled end-of-day whose outcome is unknown; returns those decided.

        Raises TerminalError if the terminal cannot be read: the outcome stays open.
        """
        decided = []
        for record in self.store.open_settlements():
            reading = self.terminal.totals()
            key = self.identify(reading)
            now = self.clock.now()
            if key != record.batch_key:
                settled, note = self._settled_totals(record)
                decided.append(self.store.finish(
                    record.id, "ok", now, totals_settled=settled, verified=False,
                    note="the answer was lost; the batch was closed, so that end-of-day "
                         f"settled it; {note}{_unsent_note(reading)}",
                    offline_unsent=reading.offline_pending,
                    offline_unsent_total=reading.offline_pending_total,
                ))  # fmt: skip
                self.store.batch_closed(record.batch_key, now)
            else:
                decided.append(self.store.finish(
                    record.id, "not-sent", now,
                    note="the batch is still open: that end-of-day never ran",
                ))  # fmt: skip
            log.info("settlement %s resolved: %s", record.id, decided[-1].state)
        return decided

    def _settled_totals(self, record: Settlement) -> tuple[dict | None, str]:
        """The terminal's own totals for a settlement whose answer was lost: what arrived
        before the loss, else the terminal's last end-of-day asked again, if it is this
        batch's (it starts at the same receipt and holds at least what was read before)."""
        if record.totals_settled:
            return record.totals_settled, "settled totals as the terminal sent them"
        before = record.totals_before or {}
        try:
            last = self.terminal.last_settlement()
        except TerminalError as exc:
            last, why = None, f"the terminal could not repeat its end-of-day ({exc})"
        else:
            why = "the terminal could not repeat its end-of-day"
        if last is not None and not last.empty:
            first, tid = before.get("first_receipt"), before.get("terminal_id")
            same = first is None or last.first_receipt is None or last.first_receipt == first
            # A receipt from another terminal (swapped while the outcome was open) is never
            # ours, however its numbers look: terminals without receipt numbers match any.
            same = same and (tid is None or last.terminal_id is None or last.terminal_id == tid)
            if same and last.count >= before.get("count", 0):
                return last.to_json(), "settled totals from the terminal's repeated receipt"
            why = "the terminal's last end-of-day is not this batch's"
        return None, (
            f"settled totals unknown: {why}; read before the end-of-day: "
            f"{before.get('count', '?')} transactions, {before.get('total', '?')}"
        )

    def settle(
        self, reason: str, progress: Callable[[Progress], None] | None = None, *,
        force: bool = False,
    ) -> Settlement | None:  # fmt: skip
        """Settle the open batch once. None if there is nothing to settle. `force`: close it
        on the terminal without the host (a person's explicit choice, journaled the same).

        Raises OutcomeStillOpen while an earlier outcome cannot be decided, and
        TerminalError when the terminal cannot be read before sending.
        """
        try:
            self.resolve_open()
        except TerminalError as exc:
            raise OutcomeStillOpen(f"an earlier end-of-day is still undecided: {exc}") from None
        before = self.terminal.totals()
        key = self.identify(before)
        if key is None:
            return None
        done = [s for s in self.store.settlements(batch_key=key) if s.state == "ok"]
        if done:
            log.warning("batch %s was settled already (settlement %s)", key, done[0].id)
            return done[0]
        now = self.clock.now()
        day: date = self.store.batch_trading_day(key) or self.calendar.trading_day(now)
        record = self.store.journal_intent(day, key, before.to_json(), reason, now)
        try:
            result = (self.terminal.force_settle if force else self.terminal.settle)(progress)
        except PortUnavailable as exc:  # raised only when nothing left us
            return self.store.finish(record.id, "not-sent", self.clock.now(), note=str(exc))
        now = self.clock.now()
        lines = list(result.receipt_lines)
        if result.outcome is Outcome.FAILED:
            return self.store.finish(
                record.id, "failed", now, result_code=result.result_code,
                result_text=result.result_text, receipt_lines=lines,
            )  # fmt: skip
        if result.outcome is Outcome.UNKNOWN:
            settled = result.totals.to_json() if result.totals else None  # if it came before
            self.store.finish(record.id, "unknown", now, note=result.error, receipt_lines=lines,
                              totals_settled=settled)  # fmt: skip
            with contextlib.suppress(TerminalError):  # else decided at the next poll
                self.resolve_open()
            return self.store.settlement(record.id)
        self._closed_day = day
        try:
            verified, note, after = self._verify(key, before, result.totals)
        finally:
            self._closed_day = None
        if result.out_of_balance:
            note = ("closed OUT OF BALANCE: the terminal's and the host's totals differ; "
                    f"reconcile with the acquirer; {note}")  # fmt: skip
        self.store.batch_closed(key, now)
        return self.store.finish(
            record.id, "ok", now,
            totals_settled=result.totals.to_json() if result.totals else None,
            result_code=result.result_code, result_text=result.result_text,
            receipt_lines=lines, verified=verified, note=note + _unsent_note(after),
            out_of_balance=result.out_of_balance,
            offline_unsent=after.offline_pending if after else None,
            offline_unsent_total=after.offline_pending_total if after else None,
        )  # fmt: skip

    def _verify(self, key: str, before: BatchTotals,
                settled: BatchTotals | None) -> tuple[bool, str, BatchTotals | None]:  # fmt: skip
        """After success: batch empty (or a new one), and settled totals equal those read
        before. Returns the verdict, its note and the reading it was judged by."""
        problems = []
        after = None
        try:
            after = self.terminal.totals()
            if self.identify(after) == key:
                problems.append("the terminal still reports the same batch")
        except TerminalError as exc:
            problems.append(f"could not re-read the batch: {exc}")
        if settled is None:
            problems.append("the terminal reported no settled totals")
        elif (settled.total, settled.count) not in _expected(before):
            problems.append(
                f"settled {settled.count} / {settled.total} differs from {before.count} / "
                f"{before.total} read before (sales during the settlement?)"
            )
        return (not problems, "; ".join(problems) or "batch closed; totals match", after)


def _unsent_note(reading: BatchTotals | None) -> str:
    """What the journal's note adds when the terminal still holds offline payments."""
    if reading is None or not reading.offline_pending:
        return ""
    return (
        f"; {reading.offline_pending} offline payments still not sent to the host"
        f" ({reading.offline_pending_total if reading.offline_pending_total is not None else '?'})"
    )


def _expected(before: BatchTotals) -> set[tuple[int, int]]:
    """(total, count) a correct end-of-day may report for the batch read before: the batch,
    or the batch with the stored offline payments the terminal uploads as it closes."""
    expected = {(before.total, before.count)}
    if before.offline_pending and before.offline_pending_total is not None:
        expected.add((before.total + before.offline_pending_total,
                      before.count + before.offline_pending))  # fmt: skip
    return expected
