"""Trading days and cutoffs: named cases across DST changes and properties over many zones."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pi_agent.guard.tradingday import TradingCalendar, resolve_local

from .dst import BERLIN, LOCAL_WALLS, LORD_HOWE, NEW_YORK, SANTIAGO, SHANGHAI, ZONES, exists


def local(zone: ZoneInfo, *args: int) -> datetime:
    return datetime(*args, tzinfo=zone)


def test_evening_cutoff_ends_the_same_date() -> None:
    cal = TradingCalendar(SHANGHAI, time(23, 0))
    assert cal.trading_day(local(SHANGHAI, 2026, 11, 22, 22, 30)) == date(2026, 11, 22)
    assert cal.time_to_cutoff(local(SHANGHAI, 2026, 11, 22, 22, 30)) == timedelta(minutes=30)
    # After the cutoff the next batch belongs to the next trading day.
    assert cal.trading_day(local(SHANGHAI, 2026, 11, 22, 23, 0)) == date(2026, 11, 23)


def test_a_2am_cutoff_belongs_to_the_day_before() -> None:
    cal = TradingCalendar(BERLIN, time(2, 0))
    assert cal.trading_day(local(BERLIN, 2026, 11, 22, 1, 30)) == date(2026, 11, 21)
    assert cal.cutoff_of(date(2026, 11, 21)) == local(BERLIN, 2026, 11, 22, 2, 0)
    assert cal.trading_day(local(BERLIN, 2026, 11, 22, 2, 0)) == date(2026, 11, 22)


def test_cutoff_in_the_spring_forward_gap_is_the_end_of_the_gap() -> None:
    cal = TradingCalendar(BERLIN, time(2, 30))  # 02:00-03:00 does not exist on 29 March 2026
    cutoff = cal.cutoff_of(date(2026, 3, 28))
    # The wall clock passes 02:30 at 03:00, not an hour later.
    assert cutoff.astimezone(BERLIN).replace(tzinfo=None) == datetime(2026, 3, 29, 3, 0)
    assert cutoff == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)


# A time in the spring-forward gap is the first instant after the gap (the clock jumps
# past it then); a time that happens twice is its first occurrence.
# fmt: off
GAPS = [(BERLIN, date(2026, 3, 29), time(2, 30), datetime(2026, 3, 29, 1, 0, tzinfo=UTC)),
        (NEW_YORK, date(2026, 3, 8), time(2, 30), datetime(2026, 3, 8, 7, 0, tzinfo=UTC)),
        (LORD_HOWE, date(2026, 10, 4), time(2, 15), datetime(2026, 10, 3, 15, 30, tzinfo=UTC)),
        (SANTIAGO, date(2026, 9, 6), time(0, 30), datetime(2026, 9, 6, 4, 0, tzinfo=UTC))]
FOLDS = [(BERLIN, date(2026, 10, 25), time(2, 30), datetime(2026, 10, 25, 0, 30, tzinfo=UTC)),
         (NEW_YORK, date(2026, 11, 1), time(1, 30), datetime(2026, 11, 1, 5, 30, tzinfo=UTC)),
         (LORD_HOWE, date(2026, 4, 5), time(1, 45), datetime(2026, 4, 4, 14, 45, tzinfo=UTC)),
         (SANTIAGO, date(2026, 4, 4), time(23, 30), datetime(2026, 4, 5, 2, 30, tzinfo=UTC))]
# fmt: on


@pytest.mark.parametrize(("zone", "day", "at", "expected"), GAPS + FOLDS)
def test_a_local_time_on_a_night_the_clock_changes(
    zone: ZoneInfo, day: date, at: time, expected: datetime
) -> None:
    assert resolve_local(day, at, zone) == expected


def test_cutoff_in_the_fall_back_overlap_is_the_first_one() -> None:
    cal = TradingCalendar(NEW_YORK, time(1, 30))  # 01:00-02:00 happens twice on 1 Nov 2026
    cutoff = cal.cutoff_of(date(2026, 10, 31))
    assert cutoff == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)  # EDT, not EST
    # The second 01:30 belongs to the next trading day: no batch is settled twice.
    second = datetime(2026, 11, 1, 6, 30, tzinfo=UTC)
    assert cal.trading_day(second) == date(2026, 11, 1)


def test_trading_days_around_dst_are_23_and_25_hours() -> None:
    cal = TradingCalendar(BERLIN, time(23, 0))
    spring = cal.cutoff_of(date(2026, 3, 29)) - cal.cutoff_of(date(2026, 3, 28))
    autumn = cal.cutoff_of(date(2026, 10, 25)) - cal.cutoff_of(date(2026, 10, 24))
    assert (spring, autumn) == (timedelta(hours=23), timedelta(hours=25))


def test_naive_instants_are_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        TradingCalendar(BERLIN, time(23)).trading_day(datetime(2026, 1, 1))


@settings(max_examples=400)
@given(LOCAL_WALLS)
def test_a_local_time_is_the_first_instant_the_wall_clock_reaches_it(
    local_wall: tuple[ZoneInfo, datetime],
) -> None:
    zone, wall = local_wall
    instant = resolve_local(wall.date(), wall.time(), zone)
    there = instant.astimezone(zone)
    assert there.fold == 0  # the first occurrence of a time that happens twice
    if exists(wall, zone):
        assert there.replace(tzinfo=None) == wall
    else:  # in the gap: the clock jumps from before `wall` to after it at this instant
        assert there.replace(tzinfo=None) > wall
        assert (instant - timedelta(seconds=1)).astimezone(zone).replace(tzinfo=None) < wall


@settings(max_examples=400)
@given(LOCAL_WALLS)
def test_cutoffs_are_ordered_and_each_day_owns_the_time_before_its_cutoff(
    local_wall: tuple[ZoneInfo, datetime],
) -> None:
    zone, wall = local_wall  # the cutoff's wall time and the date it falls on
    cutoff = wall.time()
    cal = TradingCalendar(zone, cutoff)
    day = wall.date() - timedelta(days=1) if cal.cutoff_next_date else wall.date()
    end = cal.cutoff_of(day)
    before = cal.cutoff_of(day - timedelta(days=1))
    assert timedelta(hours=22) <= end - before <= timedelta(hours=26)
    assert cal.trading_day(end - timedelta(seconds=1)) == day
    assert cal.trading_day(end) == day + timedelta(days=1)
    assert cal.trading_day(before) == day


@settings(max_examples=300)
@given(
    st.sampled_from(ZONES),
    st.times().map(lambda t: t.replace(microsecond=0)),
    st.datetimes(datetime(2024, 1, 1), datetime(2030, 12, 31)),
    st.integers(1, 200_000),
)
def test_time_only_moves_trading_days_forward(
    zone: ZoneInfo, cutoff: time, start: datetime, step: int
) -> None:
    cal = TradingCalendar(zone, cutoff)
    a = start.replace(tzinfo=UTC)
    b = a + timedelta(seconds=step)
    assert cal.trading_day(a) <= cal.trading_day(b)
    assert timedelta(0) < cal.time_to_cutoff(a) <= timedelta(hours=26)
