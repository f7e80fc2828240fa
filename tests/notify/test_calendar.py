"""Business-day calendar: dates checked against the installed `holidays` package (0.109)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pi_agent.notify.calendar import (
    EXTRA_HOLIDAY_NAME,
    BusinessCalendar,
    CalendarError,
    CalendarSpec,
)

CN = BusinessCalendar(CalendarSpec(country="CN"))
DE = BusinessCalendar(CalendarSpec(country="DE"))


def _days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


# -- China: adjusted working days (调休) ------------------------------------------------


def test_china_spring_festival_2026_schedule() -> None:
    # Working Saturdays of the 2026 schedule are business days despite the weekend.
    assert date(2026, 2, 14).weekday() == 5
    assert date(2026, 2, 28).weekday() == 5
    assert CN.is_business_day(date(2026, 2, 14))
    assert CN.is_business_day(date(2026, 2, 28))
    # An ordinary Saturday is not.
    assert not CN.is_business_day(date(2026, 3, 7))
    # 16..23 Feb: nothing is open (16-20 and 23 holidays, 21/22 weekend).
    for day in _days(date(2026, 2, 15), date(2026, 2, 23)):
        assert not CN.is_business_day(day), day
    assert CN.holiday_name(date(2026, 2, 17)) == "Chinese New Year (Spring Festival)"
    assert CN.holiday_name(date(2026, 2, 23)) == "Day off (substituted from 02/28/2026)"
    assert CN.holiday_name(date(2026, 2, 21)) is None  # plain weekend, no holiday
    assert CN.is_business_day(date(2026, 2, 24))


def test_china_payout_across_spring_festival() -> None:
    # Friday before the festival: T+1 is the working Saturday.
    assert CN.payout_date(date(2026, 2, 13), 1) == date(2026, 2, 14)
    # From the working Saturday, T+1 jumps the whole festival.
    assert CN.payout_date(date(2026, 2, 14), 1) == date(2026, 2, 24)
    # A trade on a festival day is counted from the first business day after it.
    assert CN.payout_date(date(2026, 2, 18), 0) == date(2026, 2, 24)
    assert CN.payout_date(date(2026, 2, 18), 1) == date(2026, 2, 25)


def test_china_national_day_golden_week_2026() -> None:
    for day in _days(date(2026, 10, 1), date(2026, 10, 7)):
        assert not CN.is_business_day(day), day
    assert date(2026, 9, 20).weekday() == 6
    assert date(2026, 10, 10).weekday() == 5
    assert CN.is_business_day(date(2026, 9, 20))
    assert CN.is_business_day(date(2026, 10, 10))
    assert CN.payout_date(date(2026, 9, 30), 1) == date(2026, 10, 8)
    assert CN.payout_date(date(2026, 10, 9), 1) == date(2026, 10, 10)
    assert CN.next_business_day(date(2026, 9, 19)) == date(2026, 9, 20)


def test_china_notice_lists_only_holidays_on_working_days() -> None:
    assert CN.next_non_business_days(date(2026, 2, 13), 14) == [
        (date(2026, 2, 16), "Chinese New Year's Eve"),
        (date(2026, 2, 17), "Chinese New Year (Spring Festival)"),
        (date(2026, 2, 18), "Chinese New Year (Spring Festival)"),
        (date(2026, 2, 19), "Chinese New Year (Spring Festival)"),
        (date(2026, 2, 20), "Day off (substituted from 02/14/2026)"),
        (date(2026, 2, 23), "Day off (substituted from 02/28/2026)"),
    ]
    # 2 May 2026 is Labour Day but a Saturday: not worth a notice.
    assert CN.holiday_name(date(2026, 5, 2)) == "Labor Day"
    assert CN.next_non_business_days(date(2026, 4, 30), 10) == [
        (date(2026, 5, 1), "Labor Day"),
        (date(2026, 5, 4), "Labor Day (observed)"),
        (date(2026, 5, 5), "Day off (substituted from 05/09/2026)"),
    ]


# -- China: years the library does not know yet ------------------------------------------


def test_china_2027_schedule_is_missing() -> None:
    # The installed library has no adjusted working days for 2027 or 2028.
    assert CN.missing_data(date(2026, 3, 1)) == []
    assert CN.missing_data(date(2026, 12, 1)) == [2027]
    assert CN.missing_data(date(2027, 12, 1), days=60) == [2027, 2028]


def test_china_overrides_fill_the_gap_and_change_business_days() -> None:
    saturday, thursday = date(2027, 2, 20), date(2027, 2, 11)
    assert saturday.weekday() == 5
    assert thursday.weekday() == 3
    assert not CN.is_business_day(saturday)
    assert CN.is_business_day(thursday)

    patched = BusinessCalendar(
        CalendarSpec(country="CN", extra_workdays=(saturday,), extra_holidays=(thursday,))
    )
    assert patched.missing_data(date(2026, 12, 1)) == []
    assert patched.missing_data(date(2027, 12, 1)) == [2028]
    assert patched.is_business_day(saturday)
    assert not patched.is_business_day(thursday)
    assert patched.holiday_name(thursday) == EXTRA_HOLIDAY_NAME
    assert patched.next_business_day(date(2027, 2, 19)) == saturday
    assert (thursday, EXTRA_HOLIDAY_NAME) in patched.next_non_business_days(date(2027, 2, 10), 3)


def test_extra_holiday_beats_extra_workday_and_workday_beats_library_holiday() -> None:
    day = date(2026, 4, 3)  # Good Friday
    both = BusinessCalendar(
        CalendarSpec(country="DE", extra_workdays=(day,), extra_holidays=(day,))
    )
    assert not both.is_business_day(day)
    worked = BusinessCalendar(CalendarSpec(country="DE", extra_workdays=(day,)))
    assert worked.is_business_day(day)
    assert worked.holiday_name(day) is None
    # ...but a financial calendar that is closed stays closed.
    target = BusinessCalendar(CalendarSpec(country="DE", financial="XECB", extra_workdays=(day,)))
    assert not target.is_business_day(day)


# -- Germany and TARGET -----------------------------------------------------------------


def test_germany_easter_2026() -> None:
    assert not DE.is_business_day(date(2026, 4, 3))
    assert not DE.is_business_day(date(2026, 4, 6))
    assert DE.holiday_name(date(2026, 4, 3)) == "Good Friday"
    assert DE.holiday_name(date(2026, 4, 6)) == "Easter Monday"
    assert DE.payout_date(date(2026, 4, 2), 1) == date(2026, 4, 7)
    assert DE.next_non_business_days(date(2026, 4, 1), 7) == [
        (date(2026, 4, 3), "Good Friday"),
        (date(2026, 4, 6), "Easter Monday"),
    ]


def test_corpus_christi_only_in_some_states() -> None:
    day = date(2026, 6, 4)
    bavaria = BusinessCalendar(CalendarSpec(country="DE", subdivision="BY"))
    berlin = BusinessCalendar(CalendarSpec(country="DE", subdivision="BE"))
    assert not bavaria.is_business_day(day)
    assert bavaria.holiday_name(day) == "Corpus Christi"
    assert berlin.is_business_day(day)
    assert berlin.holiday_name(day) is None
    assert bavaria.payout_date(date(2026, 6, 3), 1) == date(2026, 6, 5)
    assert berlin.payout_date(date(2026, 6, 3), 1) == day


def test_target_calendar_combined_with_country() -> None:
    de_target = BusinessCalendar(CalendarSpec(country="DE", financial="XECB"))
    # The library's TARGET calendar keeps 24 and 31 December open, like German law.
    assert de_target.is_business_day(date(2026, 12, 24))
    assert de_target.is_business_day(date(2026, 12, 31))
    # Ascension Day closes German banks although TARGET runs: the country side counts.
    assert not de_target.is_business_day(date(2026, 5, 14))
    assert de_target.holiday_name(date(2026, 5, 14)) == "Ascension Day"
    # France has no Good Friday holiday, TARGET does: only the combination is closed.
    france = BusinessCalendar(CalendarSpec(country="FR"))
    france_target = BusinessCalendar(CalendarSpec(country="FR", financial="XECB"))
    assert france.is_business_day(date(2026, 4, 3))
    assert not france_target.is_business_day(date(2026, 4, 3))
    assert france_target.holiday_name(date(2026, 4, 3)) == "Good Friday"
    assert france_target.payout_date(date(2026, 4, 2), 1) == date(2026, 4, 7)
    assert france_target.next_non_business_days(date(2026, 4, 2), 1) == [
        (date(2026, 4, 3), "Good Friday")
    ]


def test_year_boundary_germany() -> None:
    # 31 Dec is a working day in German law and in the library, 1 Jan is not.
    assert DE.is_business_day(date(2026, 12, 31))
    assert not DE.is_business_day(date(2027, 1, 1))
    assert DE.payout_date(date(2026, 12, 30), 2) == date(2027, 1, 4)
    # A bank that closes on New Year's Eve is configured with an extra holiday.
    closed_nye = BusinessCalendar(CalendarSpec(country="DE", extra_holidays=(date(2026, 12, 31),)))
    assert closed_nye.payout_date(date(2026, 12, 30), 2) == date(2027, 1, 5)


# -- United States: observed holidays ---------------------------------------------------


def test_us_independence_day_observed_on_friday() -> None:
    assert date(2026, 7, 4).weekday() == 5
    us = BusinessCalendar(CalendarSpec(country="US"))
    assert not us.is_business_day(date(2026, 7, 3))
    assert us.holiday_name(date(2026, 7, 3)) == "Independence Day (observed)"
    assert us.payout_date(date(2026, 7, 2), 1) == date(2026, 7, 6)
    # NYSE closes too. (The library's XFED calendar keeps Fed banks open on the Friday,
    # so a Fed-only calendar would differ; combined with "US" the day stays closed.)
    nyse = BusinessCalendar(CalendarSpec(country="US", financial="XNYS"))
    assert not nyse.is_business_day(date(2026, 7, 3))
    fed = BusinessCalendar(CalendarSpec(country="US", financial="XFED"))
    assert not fed.is_business_day(date(2026, 7, 3))


def test_us_new_year_observed_in_previous_year() -> None:
    # 1 Jan 2022 was a Saturday; the observed day falls on Friday 31 Dec 2021.
    us = BusinessCalendar(CalendarSpec(country="US"))
    assert not us.is_business_day(date(2021, 12, 31))
    assert us.holiday_name(date(2021, 12, 31)) == "New Year's Day (observed)"


def test_missing_data_outside_supported_range() -> None:
    assert DE.missing_data(date(2026, 12, 1)) == []
    assert DE.missing_data(date(2100, 12, 1)) == [2101]
    assert DE.missing_data(date(1990, 12, 1)) == [1990]


# -- errors -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "needle"),
    [
        (CalendarSpec(country="XX"), "'XX'"),
        (CalendarSpec(country="DE", subdivision="ZZ"), "'ZZ'"),
        (CalendarSpec(country="DE", financial="QQQQ"), "'QQQQ'"),
    ],
)
def test_unknown_codes_raise_calendar_error(spec: CalendarSpec, needle: str) -> None:
    with pytest.raises(CalendarError) as info:
        BusinessCalendar(spec)
    assert needle in str(info.value)
    assert "holidays package" in str(info.value)
    assert isinstance(info.value, ValueError)


def test_negative_business_days_rejected() -> None:
    with pytest.raises(ValueError, match="-1"):
        DE.add_business_days(date(2026, 1, 5), -1)


def test_add_zero_business_days() -> None:
    assert DE.add_business_days(date(2026, 1, 5), 0) == date(2026, 1, 5)
    assert DE.add_business_days(date(2026, 1, 3), 0) == date(2026, 1, 5)
    assert DE.add_business_days(date(2026, 1, 3), 1) == date(2026, 1, 5)
    assert DE.payout_date(date(2026, 1, 3), 1) == date(2026, 1, 6)


# -- properties -------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(
    calendar=st.sampled_from([DE, CN]),
    trade_day=st.dates(min_value=date(2024, 1, 1), max_value=date(2028, 12, 31)),
    n=st.integers(min_value=0, max_value=5),
)
def test_payout_properties(calendar: BusinessCalendar, trade_day: date, n: int) -> None:
    payout = calendar.payout_date(trade_day, n)
    assert calendar.is_business_day(payout)
    assert payout >= trade_day
    start = calendar.add_business_days(trade_day, 0)
    # Exactly n business days lie in (start, payout].
    counted = [d for d in _days(start + timedelta(days=1), payout) if calendar.is_business_day(d)]
    assert len(counted) == n
    # add_business_days is monotonic in n; it only stands still from n=0 to n=1 when
    # trade_day itself is closed (both then mean "the next business day").
    here = calendar.add_business_days(trade_day, n)
    following = calendar.add_business_days(trade_day, n + 1)
    assert calendar.is_business_day(here)
    assert following >= here
    if n >= 1 or calendar.is_business_day(trade_day):
        assert following > here
    else:
        assert following == here


# -- D+N: calendar days --------------------------------------------------------------


def test_calendar_day_payouts_count_weekends_and_holidays() -> None:
    """D+N pays N calendar days after the trading day, whatever day that is; T+N waits
    for business days. Friday before Easter 2026 (Good Friday 3 Apr, Easter Monday 6 Apr)."""
    thursday = date(2026, 4, 2)
    assert DE.payout_date(thursday, 1, "calendar") == date(2026, 4, 3)  # Good Friday
    assert DE.payout_date(thursday, 1, "business") == date(2026, 4, 7)
    friday = date(2026, 11, 20)
    assert DE.payout_date(friday, 1, "calendar") == date(2026, 11, 21)  # a Saturday
    assert DE.payout_date(friday, 1, "business") == date(2026, 11, 23)
    saturday = date(2026, 11, 21)  # a shop trading on Saturday
    assert DE.payout_date(saturday, 2, "calendar") == date(2026, 11, 23)
    assert DE.payout_date(saturday, 2, "business") == date(2026, 11, 25)
    assert CN.payout_date(date(2026, 9, 30), 1, "calendar") == date(2026, 10, 1)  # National Day
    assert DE.payout_date(friday, 0, "calendar") == friday
    assert DE.payout_date(friday, 1) == DE.payout_date(friday, 1, "business")  # the default
