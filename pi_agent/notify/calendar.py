"""Business-day calendar for payout dates, built on the `holidays` package.

The guard tells the merchant when a settled batch will be paid out, so it needs to know
which days the acquirer's bank actually works. Everything here is pure: no I/O and no
clock reads; callers pass dates in. Holiday facts come from `holidays` and are cached
per year, so repeated look-ups on a Pi Zero stay cheap.

Two quirks drive the design:

* China moves working days onto weekends around long holidays (调休). Those adjusted
  days are published by the State Council year by year, so the library only knows them
  for years already announced; `BusinessCalendar.missing_data` reports the gap and the
  spec's `extra_workdays` / `extra_holidays` let a technician fill it in.
* Banks settle through payment systems (e.g. TARGET in the euro area) that may close on
  days the country works, so a spec can name a financial calendar that must be open too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from .holiday_data import CalendarError, KindInfo, Local, Source, Spec, YearFacts

__all__ = ["BusinessCalendar", "CalendarError", "CalendarSpec"]

# A calendar with no business day in this many days is broken (e.g. every day
# overridden as a holiday); stop rather than loop forever.
_MAX_SEARCH_DAYS = 3 * 366

EXTRA_HOLIDAY_NAME = "Extra holiday (configured)"
_UNNAMED_CLOSURE = "Non-business day"
_NO_FACTS = YearFacts({}, frozenset(), frozenset())


@dataclass(frozen=True)
class CalendarSpec:
    """Which days count as business days for payouts.

    `country` and `subdivision` are passed to `holidays.country_holidays` as is (e.g. "DE"
    and "BY"); `financial` to `holidays.financial_holidays` (e.g. "XECB" for TARGET,
    "XNYS"). With `financial` set a day must be open in both calendars.

    The overrides exist for years the library does not know yet: an extra workday turns a
    day into a working day in the country calendar (it beats both the weekend and a
    library holiday, since the library may have guessed the schedule of an unannounced
    year), but it cannot open a closed financial calendar. An extra holiday beats
    everything.
    """

    country: str = "DE"
    subdivision: str | None = None
    financial: str | None = None
    extra_holidays: tuple[date, ...] = ()
    extra_workdays: tuple[date, ...] = ()


@dataclass(frozen=True)
class _Year:
    """One year's facts of both kinds."""

    country: YearFacts
    financial: YearFacts


class BusinessCalendar:
    """Answers "is this a business day?" and "when is T+N?" for one `CalendarSpec`.

    The holiday facts come from `source`: the package in this process by default, or a
    helper process (`holiday_data.Remote`) where memory matters, fetched a year ahead.
    """

    def __init__(self, spec: CalendarSpec, source: Source | None = None) -> None:
        self.spec = spec
        self.source = source or Local()
        self._codes = Spec(spec.country, spec.subdivision, spec.financial)
        self._extra_holidays = frozenset(spec.extra_holidays)
        self._extra_workdays = frozenset(spec.extra_workdays)
        self._years: dict[int, _Year] = {}
        # Asked now so that a bad code fails at start-up, not on the first payout notice.
        self._info: dict[str, KindInfo] = self.source.info(self._codes)
        # Compare the ISO code, which also catches aliases such as "CHN".
        self._is_china = self._info["country"].code == "CN"

    def _year(self, year: int) -> _Year:
        cached = self._years.get(year)
        if cached is None:
            wanted = [y for y in (year, year + 1) if y not in self._years]  # payouts roll on
            facts = self.source.years(self._codes, wanted)
            for y in wanted:
                self._years[y] = _Year(facts[("country", y)],
                                       facts.get(("financial", y), _NO_FACTS))  # fmt: skip
            cached = self._years[year]
        return cached

    # -- single-day questions ------------------------------------------------------

    def _country_weekend_off(self, d: date, facts: _Year) -> bool:
        """True if `d` is a weekend day the country does not work (ignoring holidays)."""
        if d in self._extra_workdays or d in facts.country.workdays:
            return False
        return d in facts.country.weekend

    def _financial_weekend_off(self, d: date, facts: _Year) -> bool:
        return d in facts.financial.weekend and d not in facts.financial.workdays

    def _weekend_off(self, d: date) -> bool:
        facts = self._year(d.year)
        return self._country_weekend_off(d, facts) or self._financial_weekend_off(d, facts)

    def is_business_day(self, d: date) -> bool:
        """Whether money can move on `d`: a working day in the country and, if set, in the
        financial calendar, after applying the spec's overrides."""
        if d in self._extra_holidays:
            return False
        facts = self._year(d.year)
        if d in facts.financial.holidays or self._financial_weekend_off(d, facts):
            return False
        if d in self._extra_workdays:
            return True
        return d not in facts.country.holidays and not self._country_weekend_off(d, facts)

    def holiday_name(self, d: date) -> str | None:
        """Name(s) of the holiday on `d`, for notices; None for ordinary days and plain
        weekends. A country holiday cancelled by an extra workday is not reported."""
        if d in self._extra_holidays:
            return EXTRA_HOLIDAY_NAME
        facts = self._year(d.year)
        names: list[str] = []
        if d not in self._extra_workdays and d in facts.country.holidays:
            names.append(facts.country.holidays[d])
        financial = facts.financial.holidays.get(d)
        if financial is not None and financial not in names:
            names.append(financial)
        return "; ".join(names) if names else None

    # -- counting ------------------------------------------------------------------

    def next_business_day(self, d: date) -> date:
        """The first business day strictly after `d`."""
        day = d
        for _ in range(_MAX_SEARCH_DAYS):
            day += timedelta(days=1)
            if self.is_business_day(day):
                return day
        raise CalendarError(f"no business day within {_MAX_SEARCH_DAYS} days after {d}")

    def add_business_days(self, d: date, n: int) -> date:
        """`n` business days after `d`, counting only business days strictly after `d`.

        `n == 0` means "the first business day on or after `d`", so callers can roll a
        date forward without special-casing.
        """
        if n < 0:
            raise ValueError(f"business days to add must be >= 0, got {n}")
        day = d
        if n == 0:
            return day if self.is_business_day(day) else self.next_business_day(day)
        for _ in range(n):
            day = self.next_business_day(day)
        return day

    def payout_date(self, trade_day: date, days: int, count: str = "business") -> date:
        """When a batch settled for `trade_day` is paid, under the acquirer's rule.

        "business" (T+N): T is first rolled forward to a business day (a batch closed on a
        Saturday or a holiday is treated as if closed on the next business day), then N
        business days are counted after it. T+0 is therefore the first business day on or
        after the trading day, and e.g. T+1 from Friday is Monday (or later, across holidays).

        "calendar" (D+N): N calendar days after the trading day, weekends and holidays
        included; acquirers that pay D+1 credit on those days too.
        """
        if count == "calendar":
            return trade_day + timedelta(days=days)
        start = self.add_business_days(trade_day, 0)
        return self.add_business_days(start, days)

    def next_non_business_days(self, start: date, days: int) -> list[tuple[date, str]]:
        """Holidays in the `days` days after `start` that fall on would-be working days.

        Plain weekends are left out: merchants expect those. This feeds notices such as
        "tomorrow is a holiday, the payout moves to ...".
        """
        found: list[tuple[date, str]] = []
        for offset in range(1, days + 1):
            day = start + timedelta(days=offset)
            if self._weekend_off(day) or self.is_business_day(day):
                continue
            found.append((day, self.holiday_name(day) or _UNNAMED_CLOSURE))
        return found

    # -- data coverage -------------------------------------------------------------

    def missing_data(self, start: date, days: int = 60) -> list[int]:
        """Years touched by [start, start + days] whose schedule the library lacks.

        For China a year counts as known only if the library lists adjusted weekend
        working days for it, or the spec's overrides mention a date in it: without those
        the library still guesses holidays but gets the 调休 shifts wrong. Elsewhere a year
        is missing only outside the supported range of the country (or financial)
        calendar class.
        """
        end = start + timedelta(days=days)
        return [
            year
            for year in range(start.year, end.year + 1)
            if not self._year_in_range(year)
            or (self._is_china and not self._china_year_known(year))
        ]

    def _year_in_range(self, year: int) -> bool:
        """Whether the country (and financial) calendars claim to cover `year`."""
        return all(
            (i.start_year is None or year >= i.start_year)
            and (i.end_year is None or year <= i.end_year)
            for i in self._info.values()
        )

    def _china_year_known(self, year: int) -> bool:
        overrides = self._extra_workdays | self._extra_holidays
        if any(d.year == year for d in overrides):
            return True
        return bool(self._year(year).country.workdays)
