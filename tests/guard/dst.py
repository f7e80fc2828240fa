"""DST transitions of real zones, so that properties can aim local times at gaps and folds.

Random dates almost never land on the two nights a year whose wall clock jumps; these
strategies draw a zone's own transition and a wall time within a few hours of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import strategies as st

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
SHANGHAI = ZoneInfo("Asia/Shanghai")
LORD_HOWE = ZoneInfo("Australia/Lord_Howe")  # moves by 30 minutes
SANTIAGO = ZoneInfo("America/Santiago")  # moves at 24:00: the gap is the first hour of a date
DST_ZONES = (BERLIN, NEW_YORK, LORD_HOWE, SANTIAGO)
ZONES = (*DST_ZONES, SHANGHAI, ZoneInfo("UTC"))


@dataclass(frozen=True, slots=True)
class Transition:
    instant: datetime  # UTC, the first instant on the new offset
    before: datetime  # naive wall time the clock reads just before it (as if it went on)
    after: datetime  # naive wall time the clock reads from it on

    @property
    def gap(self) -> bool:
        """Spring forward: wall times in [before, after) never happen that night."""
        return self.after > self.before


def transitions(zone: ZoneInfo, first: int = 2024, last: int = 2030) -> list[Transition]:
    """Every offset change in the years given, found day by day and then to the second."""
    found = []
    t = datetime(first, 1, 1, tzinfo=UTC)
    end = datetime(last + 1, 1, 1, tzinfo=UTC)
    while t < end:
        nxt = t + timedelta(days=1)
        if t.astimezone(zone).utcoffset() != nxt.astimezone(zone).utcoffset():
            lo, hi = t, nxt  # lo on the old offset, hi on the new one; whole seconds
            while hi - lo > timedelta(seconds=1):
                mid = lo + timedelta(seconds=(hi - lo).total_seconds() // 2)
                same = mid.astimezone(zone).utcoffset() == lo.astimezone(zone).utcoffset()
                lo, hi = (mid, hi) if same else (lo, mid)
            old = lo.astimezone(zone).utcoffset()
            assert old is not None
            found.append(Transition(hi, (hi + old).replace(tzinfo=None),
                                    hi.astimezone(zone).replace(tzinfo=None, fold=0)))  # fmt: skip
        t = nxt
    return found


TRANSITIONS = {zone: transitions(zone) for zone in DST_ZONES}


def exists(wall: datetime, zone: ZoneInfo) -> bool:
    """Whether the naive wall time happens at all in `zone` (not inside a spring-forward gap)."""
    there = wall.replace(tzinfo=zone).astimezone(UTC).astimezone(zone)
    return there.replace(tzinfo=None) == wall


@st.composite
def near_transition(draw: st.DrawFn) -> tuple[ZoneInfo, datetime]:
    """A zone and a naive wall time (whole minutes) from 90 minutes before one of its
    transitions to 150 minutes after: inside the gap or fold and just around it."""
    zone = draw(st.sampled_from(DST_ZONES))
    change = draw(st.sampled_from(TRANSITIONS[zone]))
    return zone, change.before + timedelta(minutes=draw(st.integers(-90, 150)))


@st.composite
def any_night(draw: st.DrawFn) -> tuple[ZoneInfo, datetime]:
    """A zone and a naive wall time (whole minutes) on any date."""
    day = draw(st.dates(date(2024, 1, 2), date(2030, 12, 30)))
    minute = draw(st.integers(0, 1439))
    return draw(st.sampled_from(ZONES)), datetime.combine(day, time(minute // 60, minute % 60))


# Half the examples on a transition night: that is where the bugs were.
LOCAL_WALLS = st.one_of(near_transition(), any_night())
