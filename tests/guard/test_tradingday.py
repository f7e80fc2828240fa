"""Trading days and cutoffs: named cases across DST changes and properties over many zones."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pi_agent.guard.tradingday import TradingCalendar

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
SHANGHAI = ZoneInfo("Asia/Shanghai")


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


def test_cutoff_in_the_spring_forward_gap_moves_past_the_gap() -> None:
    cal = TradingCalendar(BERLIN, time(2, 30))  # 02:00-03:00 does not exist on 29 March 2026
    cutoff = cal.cutoff_of(date(2026, 3, 28))
    assert cutoff.astimezone(BERLIN).replace(tzinfo=None) == datetime(2026, 3, 29, 3, 30)
    assert cutoff == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)


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


ZONES = st.sampled_from(
    [BERLIN, NEW_YORK, SHANGHAI, ZoneInfo("Australia/Lord_Howe"), ZoneInfo("America/Santiago"),
     ZoneInfo("UTC")]
)  # fmt: skip
CUTOFFS = st.times().map(lambda t: t.replace(microsecond=0))
DAYS = st.dates(date(2024, 1, 1), date(2030, 12, 31))


@settings(max_examples=400)
@given(ZONES, CUTOFFS, DAYS)
def test_cutoffs_are_ordered_and_each_day_owns_the_time_before_its_cutoff(
    zone: ZoneInfo, cutoff: time, day: date
) -> None:
    cal = TradingCalendar(zone, cutoff)
    end = cal.cutoff_of(day)
    before = cal.cutoff_of(day - timedelta(days=1))
    assert timedelta(hours=22) <= end - before <= timedelta(hours=26)
    assert cal.trading_day(end - timedelta(seconds=1)) == day
    assert cal.trading_day(end) == day + timedelta(days=1)
    assert cal.trading_day(before) == day


@settings(max_examples=300)
@given(
    ZONES,
    CUTOFFS,
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
