"""Trading days and cutoffs in the shop's time zone, DST-safe.

A trading day is named by the date it opens on and ends at its cutoff. A cutoff
in the small hours (before `EARLY_CUTOFF_LIMIT`, e.g. 02:00) belongs to the day
before: the Saturday-night trade settles at 02:00 on Sunday. A local time that does
not exist that night (the spring-forward gap) is the first instant after the gap, when
the wall clock jumps past it; a time that occurs twice (fall-back) is its first
occurrence. Either way a configured time is never late and never doubled.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

EARLY_CUTOFF_LIMIT = time(6, 0)  # cutoffs before this end the previous date's trading day


def resolve_local(day: date, at: time, zone: ZoneInfo) -> datetime:
    """The first instant (aware, UTC) at which the wall clock in `zone` reads `at` on `day`,
    or jumps past it."""
    wall = datetime.combine(day, at.replace(tzinfo=None))
    # fold=0 is the first occurrence of a time that happens twice: the earlier one, so a
    # settle time or cutoff in the repeated hour is never an hour late.
    after = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if after.astimezone(zone).replace(tzinfo=None) == wall:
        return after
    # In a gap fold=0 lands as far after the jump as `at` is into the gap (02:30 -> 03:30)
    # and fold=1 as far before it. The jump itself, found to the second, is when the
    # clock passes `at`.
    before = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)
    offset = after.astimezone(zone).utcoffset()
    while after - before > timedelta(seconds=1):
        mid = before + timedelta(seconds=(after - before).total_seconds() // 2)
        if mid.astimezone(zone).utcoffset() == offset:
            after = mid
        else:
            before = mid
    return after


@dataclass(frozen=True, slots=True)
class TradingCalendar:
    """When trading days end, in one zone."""

    zone: ZoneInfo
    cutoff: time

    @property
    def cutoff_next_date(self) -> bool:
        return self.cutoff < EARLY_CUTOFF_LIMIT

    def cutoff_date(self, day: date) -> date:
        """The date whose wall clock shows trading day `day`'s cutoff."""
        return day + timedelta(days=1) if self.cutoff_next_date else day

    def cutoff_of(self, day: date) -> datetime:
        """The instant trading day `day` ends."""
        return resolve_local(self.cutoff_date(day), self.cutoff, self.zone)

    def trading_day(self, instant: datetime) -> date:
        """The trading day an instant belongs to: the first whose cutoff is still ahead."""
        if instant.tzinfo is None:
            raise ValueError("trading_day needs an aware datetime")
        local = instant.astimezone(self.zone).date()
        # The answer is the local date or the one before it (early cutoff) or after (past cutoff).
        for day in (local - timedelta(days=1), local, local + timedelta(days=1)):
            if instant < self.cutoff_of(day):
                return day
        return local + timedelta(days=2)  # unreachable for real zones; keeps the type total

    def next_cutoff(self, instant: datetime) -> datetime:
        return self.cutoff_of(self.trading_day(instant))

    def time_to_cutoff(self, instant: datetime) -> timedelta:
        return self.next_cutoff(instant) - instant
