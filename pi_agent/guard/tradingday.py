"""Trading days and cutoffs in the shop's time zone, DST-safe.

A trading day is named by the date it opens on and ends at its cutoff. A cutoff
in the small hours (before `EARLY_CUTOFF_LIMIT`, e.g. 02:00) belongs to the day
before: the Saturday-night trade settles at 02:00 on Sunday. Local times that do
not exist (the spring-forward gap) move forward by the gap; times that occur twice
(fall-back) take the first occurrence, so a cutoff is never missed and never doubled.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

EARLY_CUTOFF_LIMIT = time(6, 0)  # cutoffs before this end the previous date's trading day


def resolve_local(day: date, at: time, zone: ZoneInfo) -> datetime:
    """The instant (aware, UTC) of local wall time `at` on `day` in `zone`."""
    # fold=0: in a fall-back overlap the first occurrence; in a spring-forward gap the
    # offset from before the change, which lands the instant just after the gap.
    return (
        datetime.combine(day, at.replace(tzinfo=None)).replace(tzinfo=zone, fold=0).astimezone(UTC)
    )


@dataclass(frozen=True, slots=True)
class TradingCalendar:
    """When trading days end, in one zone."""

    zone: ZoneInfo
    cutoff: time

    @property
    def cutoff_next_date(self) -> bool:
        return self.cutoff < EARLY_CUTOFF_LIMIT

    def cutoff_of(self, day: date) -> datetime:
        """The instant trading day `day` ends."""
        on = day + timedelta(days=1) if self.cutoff_next_date else day
        return resolve_local(on, self.cutoff, self.zone)

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
