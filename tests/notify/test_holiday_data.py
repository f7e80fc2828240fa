"""Holiday facts asked of a helper process are the same as asked here, errors included,
and the agent's side of the calendar never loads the holidays package."""

from __future__ import annotations

import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest

from pi_agent.notify import holiday_data
from pi_agent.notify.calendar import BusinessCalendar, CalendarSpec
from pi_agent.notify.holiday_data import CalendarError, Local, Remote, Spec

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "spec", [Spec("CN"), Spec("DE", "BY", "XECB"), Spec("US", None, "XNYS"), Spec("AE")]
)
def test_remote_facts_equal_local_ones(spec: Spec) -> None:
    assert Remote().info(spec) == Local().info(spec)
    assert Remote().years(spec, [2026, 2027]) == Local().years(spec, [2026, 2027])


def test_facts_carry_each_kinds_own_weekend_and_adjusted_workdays() -> None:
    facts = Local().years(Spec("CN"), [2026])[("country", 2026)]
    assert date(2026, 2, 14) in facts.workdays  # a Saturday worked before Spring Festival
    assert date(2026, 2, 17) in facts.holidays
    assert date(2026, 1, 3) in facts.weekend
    uae = Local().years(Spec("AE"), [2026])[("country", 2026)]
    assert date(2026, 1, 3) in uae.weekend and date(2026, 1, 2) not in uae.weekend  # Sat-Sun


def test_remote_errors_say_what_is_wrong_and_are_not_retried_at_once() -> None:
    remote = Remote()
    with pytest.raises(CalendarError, match="'XX' is not known"):
        remote.info(Spec("XX"))
    with pytest.raises(CalendarError, match="'XX' is not known"):
        remote.info(Spec("DE"))  # within retry_after: the same error, no new process
    assert Remote(retry_after=0).info(Spec("DE"))["country"].code == "DE"
    with pytest.raises(CalendarError, match="subdivision 'ZZ' of country 'DE'"):
        Remote().info(Spec("DE", "ZZ"))


def test_a_bad_request_is_answered_not_crashed() -> None:
    assert "error" in holiday_data.answer({"op": "info", "spec": {"nation": "DE"}})
    assert "error" in holiday_data.answer({"op": "guess"})
    assert "error" in holiday_data.answer({})


def test_the_calendar_gives_the_same_dates_from_either_source() -> None:
    spec = CalendarSpec(country="CN", extra_workdays=(date(2027, 2, 20),))
    here, there = BusinessCalendar(spec), BusinessCalendar(spec, Remote())
    days = [date(2026, 9, 20) + timedelta(days=n) for n in range(30)] + [date(2027, 2, 20)]
    assert [here.payout_date(d, 1) for d in days] == [there.payout_date(d, 1) for d in days]
    assert here.missing_data(date(2026, 11, 22)) == there.missing_data(date(2026, 11, 22))


def test_the_agent_side_never_imports_holidays(tmp_path: Path) -> None:
    script = """
import sys
from datetime import date
from pi_agent import config
from pi_agent.notify.planner import Planner
from pi_agent.store import Store
cfg = config.from_dict({"calendar": {"country": "CN"}})  # validated: codes checked
bad = None
try:
    config.from_dict({"calendar": {"country": "CN", "financial": "XQQQ"}})
except config.ConfigError as exc:
    bad = str(exc.errors[0])
planner = Planner(cfg, Store(sys.argv[1]))
print(planner.calendar.payout_date(date(2026, 9, 30), 1), "holidays" in sys.modules)
print(bad)
"""
    out = subprocess.run([sys.executable, "-c", script, str(tmp_path / "g.db")], cwd=ROOT,
                         capture_output=True, text=True, timeout=120, check=False)  # fmt: skip
    assert out.returncode == 0, out.stderr
    first, second = out.stdout.splitlines()
    assert first == "2026-10-08 False"  # after Golden Week (1-7 Oct 2026)
    assert "[calendar] financial" in second and "XQQQ" in second


def test_the_shipped_codes_are_the_packages_own() -> None:
    """Config validation uses the shipped list; a holidays upgrade that changes its codes
    fails here until `python -m pi_agent.notify.holiday_data --write-codes` is run."""
    shipped, package = holiday_data.supported(), holiday_data.supported_here()
    assert {k: set(v) for k, v in shipped["countries"].items()} == {
        k: set(v) for k, v in package["countries"].items()
    }
    assert set(shipped["financial"]) == set(package["financial"])


def test_codes_with_spaces_and_long_lists_survive_the_shipped_format() -> None:
    known = {"countries": {"AU": ["ACT", "NSW Western"], "XY": [f"S{n:03d}" for n in range(80)],
                           "ZZ": []},
             "financial": ["XECB"]}  # fmt: skip
    text = holiday_data.codes_source(known)
    assert max(len(line) for line in text.splitlines()) <= 100
    namespace: dict[str, str] = {}
    exec(text, namespace)
    assert holiday_data._parse_codes(namespace["COUNTRIES"]) == known["countries"]
    assert list(holiday_data._parse_codes(namespace["FINANCIAL"])) == known["financial"]
