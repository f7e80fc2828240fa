"""Settlement, exactly once.

Before an end-of-day leaves, its intent (batch identity, attempt) is committed to the
journal. A timeout, a crash or a power cut after that leaves the outcome *unknown*,
not failed: before anything else is sent, the terminal's batch is read again. If the
batch is gone (empty, or a new first receipt), the lost end-of-day did settle it; if the
same batch is still open, it did not. A terminal busy with a running end-of-day does
not answer that read, so the journal stays open and nothing is sent twice.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from datetime import date

from ..clock import Clock
from ..store import Settlement, Store
from ..terminal import BatchTotals, Outcome, PortUnavailable, Progress, Terminal, TerminalError
from .tradingday import TradingCalendar

log = logging.getLogger(__name__)


def batch_key(totals: BatchTotals) -> str:
    """A batch is named by its terminal and first receipt: it keeps its name as it grows."""
    return f"{totals.terminal_id or '-'}:{totals.first_receipt or 0:04d}"


class OutcomeStillOpen(TerminalError):
    """An earlier end-of-day's outcome is unknown and the terminal cannot tell yet."""


class SettlementExecutor:
    def __init__(self, terminal: Terminal, store: Store, clock: Clock,
                 calendar: TradingCalendar) -> None:  # fmt: skip
        self.terminal = terminal
        self.store = store
        self.clock = clock
        self.calendar = calendar

    def resolve_open(self) -> list[Settlement]:
        """Decide every journaled end-of-day whose outcome is unknown; returns those decided.

        Raises TerminalError if the terminal cannot be read: the outcome stays open.
        """
        decided = []
        for record in self.store.open_settlements():
            totals = self.terminal.totals()
            now = self.clock.now()
            if totals.empty or batch_key(totals) != record.batch_key:
                decided.append(self.store.finish(
                    record.id, "ok", now, totals_settled=record.totals_before, verified=False,
                    note="the answer was lost; the batch was closed, so that end-of-day settled it",
                ))  # fmt: skip
                self.store.batch_closed(record.batch_key, now)
            else:
                decided.append(self.store.finish(
                    record.id, "not-sent", now,
                    note="the batch is still open: that end-of-day never ran",
                ))  # fmt: skip
            log.info("settlement %s resolved: %s", record.id, decided[-1].state)
        return decided

    def settle(
        self, reason: str, progress: Callable[[Progress], None] | None = None
    ) -> Settlement | None:
        """Settle the open batch once. None if there is nothing to settle.

        Raises OutcomeStillOpen while an earlier outcome cannot be decided, and
        TerminalError when the terminal cannot be read before sending.
        """
        try:
            self.resolve_open()
        except TerminalError as exc:
            raise OutcomeStillOpen(f"an earlier end-of-day is still undecided: {exc}") from None
        before = self.terminal.totals()
        if before.empty:
            return None
        key = batch_key(before)
        done = [s for s in self.store.settlements(batch_key=key) if s.state == "ok"]
        if done:
            log.warning("batch %s was settled already (settlement %s)", key, done[0].id)
            return done[0]
        now = self.clock.now()
        day: date = self.store.batch_trading_day(key) or self.calendar.trading_day(now)
        record = self.store.journal_intent(day, key, before.to_json(), reason, now)
        try:
            result = self.terminal.settle(progress)
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
            self.store.finish(record.id, "unknown", now, note=result.error, receipt_lines=lines)
            with contextlib.suppress(TerminalError):  # else decided at the next poll
                self.resolve_open()
            return self.store.settlement(record.id)
        verified, note = self._verify(before, result.totals)
        self.store.batch_closed(key, now)
        return self.store.finish(
            record.id, "ok", now,
            totals_settled=result.totals.to_json() if result.totals else None,
            result_code=result.result_code, result_text=result.result_text,
            receipt_lines=lines, verified=verified, note=note,
        )  # fmt: skip

    def _verify(self, before: BatchTotals, settled: BatchTotals | None) -> tuple[bool, str]:
        """After success: batch empty (or a new one), and settled totals equal those read before."""
        problems = []
        try:
            after = self.terminal.totals()
            if not after.empty and batch_key(after) == batch_key(before):
                problems.append("the terminal still reports the same batch")
        except TerminalError as exc:
            problems.append(f"could not re-read the batch: {exc}")
        if settled is None:
            problems.append("the terminal reported no settled totals")
        elif (settled.total, settled.count) != (before.total, before.count):
            problems.append(
                f"settled {settled.count} / {settled.total} differs from {before.count} / "
                f"{before.total} read before (sales during the settlement?)"
            )
        return (not problems, "; ".join(problems) or "batch closed; totals match")
