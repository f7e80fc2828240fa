"""Holiday facts from the `holidays` package, as plain data, in this process or another.

Asking the package for one country imports all of its ~250 country modules: some 14 MB
that would stay in the agent for good, to answer a handful of questions a day. So the
agent asks a short-lived process (`python -m pi_agent.notify.holiday_data`) for a few
years of plain facts and keeps only those; commands and tests ask in-process. The codes
the package knows, for config validation, ship with this package (holiday_codes.py).

Facts per kind ("country", "financial") and year: holiday names by date, the weekend
days the kind does not work, and the weekend days it does work (China's 调休).
"""

from __future__ import annotations

import functools
import json
import sys
import time
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Protocol

from ..subproc import call_module

KINDS = ("country", "financial")


class CalendarError(ValueError):
    """The calendar spec names something the holidays package cannot provide."""


@dataclass(frozen=True)
class Spec:
    """What to ask the package: codes only (the overrides are applied by the caller)."""

    country: str
    subdivision: str | None = None
    financial: str | None = None


@dataclass(frozen=True)
class KindInfo:
    code: str  # the class's own ISO code (an alias such as "CHN" becomes "CN")
    start_year: int | None
    end_year: int | None


@dataclass(frozen=True)
class YearFacts:
    holidays: dict[date, str]
    weekend: frozenset[date]  # weekend days off, by the kind's own weekend rule
    workdays: frozenset[date]  # weekend days worked (adjusted working days)


class Source(Protocol):
    def info(self, spec: Spec) -> dict[str, KindInfo]: ...

    def years(self, spec: Spec, years: list[int]) -> dict[tuple[str, int], YearFacts]: ...


# -- in this process ---------------------------------------------------------------


def _build(spec: Spec, kind: str, years: int | tuple[int, ...]) -> Any:
    import holidays  # heavy: see the module docstring

    try:
        if kind == "financial":
            return holidays.financial_holidays(spec.financial, years=years)
        return holidays.country_holidays(spec.country, subdiv=spec.subdivision, years=years)
    except (NotImplementedError, ValueError, KeyError) as exc:
        if kind == "financial":
            what = f"financial calendar {spec.financial!r}"
        elif spec.subdivision:
            what = f"calendar subdivision {spec.subdivision!r} of country {spec.country!r}"
        else:
            what = f"calendar country {spec.country!r}"
        raise CalendarError(f"{what} is not known to the holidays package") from exc


def _kinds(spec: Spec) -> tuple[str, ...]:
    return KINDS if spec.financial else KINDS[:1]


class Local:
    """Asks the package in this process."""

    def info(self, spec: Spec) -> dict[str, KindInfo]:
        found = {}
        for kind in _kinds(spec):
            cls = type(_build(spec, kind, ()))
            code = getattr(cls, "country", None) or getattr(cls, "market", None) or ""
            found[kind] = KindInfo(code, getattr(cls, "start_year", None),
                                   getattr(cls, "end_year", None))  # fmt: skip
        return found

    def years(self, spec: Spec, years: list[int]) -> dict[tuple[str, int], YearFacts]:
        facts = {}
        for kind in _kinds(spec):
            for year in years:
                obj = _build(spec, kind, year)
                days = [date(year, 1, 1) + timedelta(n) for n in range(366)]
                days = [d for d in days if d.year == year]
                worked = getattr(obj, "weekend_workdays", ()) or ()  # spans all years
                facts[kind, year] = YearFacts(
                    # the package files observed days under their own year; keep `year`'s
                    {d: name for d, name in obj.items() if d.year == year},
                    frozenset(d for d in days if obj.is_weekend(d)),
                    frozenset(d for d in worked if d.year == year),
                )
        return facts


def supported_here() -> dict[str, Any]:
    import holidays

    return {"countries": {k: list(v) for k, v in holidays.list_supported_countries().items()},
            "financial": list(holidays.list_supported_financial())}  # fmt: skip


# -- in a helper process -------------------------------------------------------------

MODULE = "pi_agent.notify.holiday_data"
TIMEOUT = 120.0  # a Pi Zero takes seconds to import the package; a stuck child is killed


def _ask(request: dict[str, Any]) -> Any:
    try:
        answer = call_module(MODULE, request, TIMEOUT)
    except OSError as exc:
        raise CalendarError(f"holiday data: {exc}") from None
    if "error" in answer:
        raise CalendarError(str(answer["error"]))
    return answer["result"]


class Remote:
    """Asks a short-lived process; the same answers as `Local`, without its memory.

    After a failure it answers with the same error for `retry_after` seconds instead of
    starting a process on every policy tick."""

    def __init__(self, retry_after: float = 600.0) -> None:
        self.retry_after = retry_after
        self._failed: tuple[float, CalendarError] | None = None

    def _ask(self, request: dict[str, Any]) -> Any:
        if self._failed is not None and time.monotonic() < self._failed[0]:
            raise self._failed[1]
        try:
            return _ask(request)
        except CalendarError as exc:
            self._failed = (time.monotonic() + self.retry_after, exc)
            raise

    def info(self, spec: Spec) -> dict[str, KindInfo]:
        found = self._ask({"op": "info", "spec": vars(spec)})
        return {kind: KindInfo(**v) for kind, v in found.items()}

    def years(self, spec: Spec, years: list[int]) -> dict[tuple[str, int], YearFacts]:
        found = self._ask({"op": "years", "spec": vars(spec), "years": years})
        return {
            (row["kind"], row["year"]): YearFacts(
                {date.fromisoformat(d): n for d, n in row["holidays"].items()},
                frozenset(map(date.fromisoformat, row["weekend"])),
                frozenset(map(date.fromisoformat, row["workdays"])),
            )
            for row in found
        }


CODES_MODULE = Path(__file__).with_name("holiday_codes.py")


def _code_lines(code: str, subs: list[str], width: int = 96) -> list[str]:
    """`CODE A,B,C`, continued on lines indented by two spaces, broken only after a comma
    (some subdivision names hold spaces)."""
    lines, line = [], f"{code} " if subs else code
    for n, sub in enumerate(subs):
        piece = sub + ("," if n < len(subs) - 1 else "")
        if len(line) + len(piece) > width and line.endswith(","):
            lines.append(line)
            line = "  "
        line += piece
    return [*lines, line]


def codes_source(known: dict[str, Any]) -> str:
    """The text of holiday_codes.py for `supported_here()`'s answer."""
    import holidays

    def block(codes: dict[str, list[str]]) -> str:
        return "\n".join(line for code, subs in codes.items() for line in _code_lines(code, subs))

    return (
        f'"""Codes the holidays package ({holidays.__version__}) knows: countries with their\n'
        "subdivisions, and financial markets. Generated by\n"
        "`python -m pi_agent.notify.holiday_data --write-codes`;\n"
        "tests/notify/test_holiday_data.py checks it against the installed package.\n"
        "Validating a config against these lists loads nothing and starts no process.\n"
        '"""\n\n'
        f'COUNTRIES = """\n{block(known["countries"])}\n"""\n\n'
        f'FINANCIAL = """\n{block({code: [] for code in known["financial"]})}\n"""\n'
    )


def _parse_codes(text: str) -> dict[str, list[str]]:
    joined = text.strip().replace("\n  ", "")  # continuation lines join without a space
    codes = {}
    for line in joined.splitlines():
        code, _, subs = line.partition(" ")
        codes[code] = subs.split(",") if subs else []
    return codes


@functools.cache
def supported() -> dict[str, Any]:
    """The package's country (with subdivisions) and financial codes, from the list shipped
    with this package: the start of the guard does not wait for the package or a process."""
    from . import holiday_codes

    return {"countries": _parse_codes(holiday_codes.COUNTRIES),
            "financial": list(_parse_codes(holiday_codes.FINANCIAL))}  # fmt: skip


def answer(request: dict[str, Any]) -> dict[str, Any]:
    try:
        op = request["op"]
        spec = Spec(**request["spec"])
        if op == "info":
            return {"result": {k: vars(v) for k, v in Local().info(spec).items()}}
        if op == "years":
            facts = Local().years(spec, [int(y) for y in request["years"]])
            return {"result": [
                {"kind": kind, "year": year,
                 "holidays": {d.isoformat(): n for d, n in f.holidays.items()},
                 "weekend": sorted(d.isoformat() for d in f.weekend),
                 "workdays": sorted(d.isoformat() for d in f.workdays)}
                for (kind, year), f in facts.items()
            ]}  # fmt: skip
        return {"error": f"unknown request {op!r}"}
    except CalendarError as exc:
        return {"error": str(exc)}
    except (KeyError, TypeError, ValueError) as exc:
        return {"error": f"bad request for holiday data: {exc}"}


if __name__ == "__main__":
    if sys.argv[1:] == ["--write-codes"]:
        CODES_MODULE.write_text(codes_source(supported_here()), encoding="utf-8")
        sys.exit(0)
    try:
        request = json.load(sys.stdin)
    except ValueError:
        request = {}
    json.dump(answer(request if isinstance(request, dict) else {}), sys.stdout)
