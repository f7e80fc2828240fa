"""Business-day calendar for payout dates, built on the `holidays` package.

The guard tells the merchant when a settled batch will be paid out, so it needs to know
which days the acquirer's bank actually works. Everything here is pure: no I/O and no
clock reads; callers pass dates in. Holiday tables come from `holidays` and are cached
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
from typing import Any

import holidays

# A calendar with no business day in this many days is broken (e.g. every day
# overridden as a holiday); stop rather than loop forever.
_MAX_SEARCH_DAYS = 3 * 366

EXTRA_HOLIDAY_NAME = "Extra holiday (configured)"
_UNNAMED_CLOSURE = "Non-business day"


class CalendarError(ValueError):
    """The calendar spec names something the holidays package cannot provide."""


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
    """One year's merged facts, as plain sets and dicts for fast look-ups."""

    country_holidays: dict[date, str]
    country_workdays: frozenset[date]  # adjusted weekend working days (调休)
    financial_holidays: dict[date, str]
    financial_workdays: frozenset[date]


class BusinessCalendar:
    """Answers "is this a business day?" and "when is T+N?" for one `CalendarSpec`."""

    def __init__(self, spec: CalendarSpec) -> None:
        self.spec = spec
        self._extra_holidays = frozenset(spec.extra_holidays)
        self._extra_workdays = frozenset(spec.extra_workdays)
        self._raw: dict[tuple[str, int], Any] = {}
        self._years: dict[int, _Year] = {}
        # Build an empty calendar of each kind now so a bad code fails at start-up,
        # not on the first payout notice.
        self._country_cls = type(self._build_country(()))
        # `holidays.China` is a lazy-loading proxy, so compare the ISO code instead of
        # using issubclass; this also catches aliases such as "CHN".
        self._is_china = getattr(self._country_cls, "country", None) == "CN"
        self._financial_cls = (
            type(self._build_financial(())) if spec.financial is not None else None
        )

    # -- building and caching ------------------------------------------------------

    def _build_country(self, years: tuple[int, ...] | int) -> Any:
        spec = self.spec
        try:
            base = holidays.country_holidays(spec.country, years=years)
        except (NotImplementedError, ValueError, KeyError) as exc:
            raise CalendarError(
                f"calendar country {spec.country!r} is not known to the holidays package"
            ) from exc
        if spec.subdivision is None:
            return base
        try:
            return holidays.country_holidays(spec.country, subdiv=spec.subdivision, years=years)
        except (NotImplementedError, ValueError, KeyError) as exc:
            raise CalendarError(
                f"calendar subdivision {spec.subdivision!r} of country {spec.country!r} "
                "is not known to the holidays package"
            ) from exc

    def _build_financial(self, years: tuple[int, ...] | int) -> Any:
        try:
            return holidays.financial_holidays(self.spec.financial, years=years)
        except (NotImplementedError, ValueError, KeyError) as exc:
            raise CalendarError(
                f"financial calendar {self.spec.financial!r} is not known to the holidays package"
            ) from exc

    def _raw_year(self, kind: str, year: int) -> Any:
        """The library's object for one year, built once (construction is the slow part)."""
        key = (kind, year)
        obj = self._raw.get(key)
        if obj is None:
            obj = self._build_country(year) if kind == "country" else self._build_financial(year)
            self._raw[key] = obj
        return obj

    def _year(self, year: int) -> _Year:
        """Facts for dates inside `year`, from the library's objects for that year.

        The library files every date (observed days included) under its own year, but
        some classes carry a static `weekend_workdays` set spanning all years, so that set
        is filtered to `year`.
        """
        cached = self._years.get(year)
        if cached is not None:
            return cached

        def collect(kind: str) -> tuple[dict[date, str], frozenset[date]]:
            obj = self._raw_year(kind, year)
            names = {day: name for day, name in obj.items() if day.year == year}
            workdays = frozenset(
                d for d in getattr(obj, "weekend_workdays", ()) or () if d.year == year
            )
            return names, workdays

        c_names, c_work = collect("country")
        if self.spec.financial is not None:
            f_names, f_work = collect("financial")
        else:
            f_names, f_work = {}, frozenset()
        cached = _Year(c_names, c_work, f_names, f_work)
        self._years[year] = cached
        return cached

    # -- single-day questions ------------------------------------------------------

    def _country_weekend_off(self, d: date, facts: _Year) -> bool:
        """True if `d` is a weekend day the country does not work (ignoring holidays)."""
        if d in self._extra_workdays or d in facts.country_workdays:
            return False
        return bool(self._raw_year("country", d.year).is_weekend(d))

    def _financial_weekend_off(self, d: date, facts: _Year) -> bool:
        if self.spec.financial is None or d in facts.financial_workdays:
            return False
        return bool(self._raw_year("financial", d.year).is_weekend(d))

    def _weekend_off(self, d: date) -> bool:
        facts = self._year(d.year)
        return self._country_weekend_off(d, facts) or self._financial_weekend_off(d, facts)

    def is_business_day(self, d: date) -> bool:
        """Whether money can move on `d`: a working day in the country and, if set, in the
        financial calendar, after applying the spec's overrides."""
        if d in self._extra_holidays:
            return False
        facts = self._year(d.year)
        if d in facts.financial_holidays or self._financial_weekend_off(d, facts):
            return False
        if d in self._extra_workdays:
            return True
        return d not in facts.country_holidays and not self._country_weekend_off(d, facts)

    def holiday_name(self, d: date) -> str | None:
        """Name(s) of the holiday on `d`, for notices; None for ordinary days and plain
        weekends. A country holiday cancelled by an extra workday is not reported."""
        if d in self._extra_holidays:
            return EXTRA_HOLIDAY_NAME
        facts = self._year(d.year)
        names: list[str] = []
        if d not in self._extra_workdays and d in facts.country_holidays:
            names.append(facts.country_holidays[d])
        financial = facts.financial_holidays.get(d)
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

    def payout_date(self, trade_day: date, days: int) -> date:
        """When a batch settled for `trade_day` is paid, under the acquirer's "T+N" rule.

        Rule: T is first rolled forward to a business day (a batch closed on a Saturday or
        a holiday is treated as if closed on the next business day), then N business days
        are counted after it. T+0 is therefore the first business day on or after the
        trading day, and e.g. T+1 from Friday is Monday (or later, across holidays).
        """
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
        """Whether the country (and financial) classes claim to cover `year`."""
        for klass in (self._country_cls, self._financial_cls):
            if klass is None:
                continue
            start_year = getattr(klass, "start_year", None)
            end_year = getattr(klass, "end_year", None)
            if (start_year is not None and year < start_year) or (
                end_year is not None and year > end_year
            ):
                return False
        return True

    def _china_year_known(self, year: int) -> bool:
        overrides = self._extra_workdays | self._extra_holidays
        if any(d.year == year for d in overrides):
            return True
        return bool(self._year(year).country_workdays)
