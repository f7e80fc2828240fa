"""The policy as a specification: one table row per rule, and properties over random days."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pi_agent import config
from pi_agent.guard.assessment import ActionKind, Level, ReasonKind
from pi_agent.guard.policy import Observations, SettleHistory, assess, window_start
from pi_agent.guard.tradingday import TradingCalendar
from pi_agent.terminal.models import BatchTotals, CardTypeTotal, Condition, TerminalStatus

from .dst import BERLIN, LOCAL_WALLS, LORD_HOWE, NEW_YORK, SANTIAGO, exists

CFG = config.Config()  # cutoff 23:00 Berlin, amber 60, red 15, settle off
AUTO = config.replace(CFG, "settle", mode="at", at="22:30", last_call="22:50")
ASK = config.replace(CFG, "settle", mode="ask", at="22:30", last_call="22:50")
DAY = date(2026, 11, 20)  # a Friday
READY = TerminalStatus(0x00, Condition.READY, "ready")


def at(hh: int, mm: int = 0, day: date = DAY) -> datetime:
    return datetime(day.year, day.month, day.day, hh, mm, tzinfo=BERLIN).astimezone(UTC)


def batch(count: int = 3, total: int = 4500, first: int = 1) -> BatchTotals:
    cards = (CardTypeTotal("visa", count, total),) if count else ()
    return BatchTotals(978, total if count else 0, cards, first if count else 0,
                       first + count - 1 if count else 0, "29001006")  # fmt: skip


def obs(**kw) -> Observations:
    base = {"status": READY, "totals": batch(), "totals_at": at(12), "batch_day": DAY,
            "last_answer_at": at(12), "system_synced": True}  # fmt: skip
    base.update(kw)
    return Observations(**base)


def kinds(a) -> set[ReasonKind]:
    return {r.kind for r in a.reasons}


@pytest.mark.parametrize(
    ("now", "level"),
    [(at(12), Level.OK), (at(21, 59), Level.OK), (at(22, 0), Level.WARN), (at(22, 44), Level.WARN),
     (at(22, 45), Level.URGENT), (at(22, 59), Level.URGENT)],
)  # fmt: skip
def test_open_batch_escalates_towards_the_cutoff(now: datetime, level: Level) -> None:
    a = assess(now, CFG, obs())
    assert a.level is level
    assert a.time_to_cutoff == at(23) - now


def test_a_batch_that_crossed_its_cutoff_is_overdue_and_notified_once_per_batch() -> None:
    a = assess(at(23, 5), CFG, obs())  # the batch was first seen on DAY; it is now DAY+1
    assert a.level is Level.OVERDUE
    assert [n.key for n in a.notices] == [f"overdue-batch:{DAY}"]


def test_an_empty_batch_never_nags() -> None:
    for now in (at(22, 50), at(23, 30), at(2)):
        a = assess(now, CFG, obs(totals=batch(0), batch_day=None))
        assert a.level is Level.OK and not a.notices


def test_urgent_open_batch_notifies_once_per_day() -> None:
    a = assess(at(22, 50), CFG, obs())
    assert [n.key for n in a.notices] == [f"open-batch:{DAY}"]


def test_settle_mode_at_settles_in_the_window_only() -> None:
    assert not assess(at(22, 29), AUTO, obs()).wants(ActionKind.SETTLE)
    assert assess(at(22, 30), AUTO, obs()).wants(ActionKind.SETTLE)
    assert not assess(at(22, 30), CFG, obs()).wants(ActionKind.SETTLE)  # mode off


@pytest.mark.parametrize(
    "blocker",
    [
        {"settling": True},
        {"open_outcome": True},
        {"failures": 1},
        {"status": TerminalStatus(0x9C, Condition.BUSY, "please wait")},
        {"history": SettleHistory(attempts=1, last_state="ok", settled_day=DAY)},
        {"totals": batch(0)},
    ],
)
def test_auto_settle_pre_checks(blocker: dict) -> None:
    assert not assess(at(22, 35), AUTO, obs(**blocker)).wants(ActionKind.SETTLE)


def test_an_unknown_outcome_is_resolved_not_retried() -> None:
    a = assess(at(22, 35), AUTO, obs(open_outcome=True))
    assert a.wants(ActionKind.RESOLVE) and not a.wants(ActionKind.SETTLE)
    assert ReasonKind.SETTLE_UNKNOWN in kinds(a)


def test_failed_settlement_retries_with_backoff_until_max_attempts() -> None:
    failed = SettleHistory(attempts=2, last_state="failed", last_at=at(22, 31), last_code=0x9B)
    assert not assess(at(22, 35), AUTO, obs(history=failed)).wants(ActionKind.SETTLE)  # 10 min
    a = assess(at(22, 41), AUTO, obs(history=failed))
    assert a.wants(ActionKind.SETTLE)
    assert ReasonKind.SETTLE_FAILED in kinds(a) and a.level is Level.URGENT
    exhausted = replace(failed, attempts=5)
    assert not assess(at(22, 58), AUTO, obs(history=exhausted)).wants(ActionKind.SETTLE)


def test_ask_mode_prompts_then_settles_at_last_call_unless_cancelled() -> None:
    a = assess(at(22, 35), ASK, obs())
    assert ReasonKind.SETTLE_PROMPT in kinds(a) and not a.wants(ActionKind.SETTLE)
    assert assess(at(22, 50), ASK, obs()).wants(ActionKind.SETTLE)
    assert not assess(at(22, 50), ASK, obs(settle_cancelled=True)).wants(ActionKind.SETTLE)
    assert assess(at(22, 35), ASK, obs(settle_requested=True)).wants(ActionKind.SETTLE)


def test_a_person_may_settle_in_any_mode() -> None:
    assert assess(at(15), CFG, obs(settle_requested=True)).wants(ActionKind.SETTLE)


@pytest.mark.parametrize(
    ("code", "condition", "kind", "level"),
    [
        (0xF0, Condition.NEEDS_END_OF_DAY, ReasonKind.TERMINAL_DEMANDS_SETTLE, Level.URGENT),
        (0x51, Condition.NEEDS_INITIALISATION, ReasonKind.SIGN_IN_NEEDED, Level.URGENT),
        (0xC2, Condition.NEEDS_DIAGNOSIS, ReasonKind.SIGN_IN_NEEDED, Level.URGENT),
        (0x62, Condition.DATE_TIME_INCORRECT, ReasonKind.TERMINAL_CLOCK_WRONG, Level.WARN),
        (0xCC, Condition.PRINTER_NOT_READY, ReasonKind.PRINTER, Level.WARN),
        (0xDF, Condition.OUT_OF_ORDER, ReasonKind.OUT_OF_ORDER, Level.FAULT),
    ],
)
def test_terminal_status_codes(
    code: int, condition: Condition, kind: ReasonKind, level: Level
) -> None:
    a = assess(at(12), CFG, obs(status=TerminalStatus(code, condition, "x")))
    assert kind in kinds(a) and a.level is level


def test_terminal_demanding_settlement_settles_early_when_allowed() -> None:
    demanding = TerminalStatus(0xF0, Condition.NEEDS_END_OF_DAY, "x")
    assert assess(at(12), AUTO, obs(status=demanding)).wants(ActionKind.SETTLE)
    assert not assess(at(12), CFG, obs(status=demanding)).wants(ActionKind.SETTLE)


def test_sign_in_happens_in_opening_hours_only() -> None:
    needs = TerminalStatus(0x51, Condition.NEEDS_INITIALISATION, "x")
    assert assess(at(10), CFG, obs(status=needs)).wants(ActionKind.SIGN_IN)
    night = assess(at(7), CFG, obs(status=needs))
    assert not night.wants(ActionKind.SIGN_IN) and night.level is Level.WARN


def test_terminal_silence_goes_stale_then_dead_sooner_near_the_cutoff() -> None:
    assert assess(at(12), CFG, obs(failures=1, last_answer_at=at(11, 59))).level is Level.OK
    stale = assess(at(12), CFG, obs(failures=3, last_answer_at=at(11, 58)))
    assert ReasonKind.TERMINAL_STALE in kinds(stale) and stale.level is Level.WARN
    dead = assess(at(12), CFG, obs(failures=9, last_answer_at=at(11, 45)))
    assert ReasonKind.TERMINAL_DEAD in kinds(dead) and dead.level is Level.FAULT
    near = assess(at(22, 50), CFG, obs(failures=1, last_answer_at=at(22, 44)))
    assert ReasonKind.TERMINAL_DEAD in kinds(near)  # half the dead-time near the cutoff


def test_clock_integrity() -> None:
    a = assess(at(12), CFG, obs(system_synced=False))
    assert ReasonKind.SYSTEM_CLOCK_UNSYNCED in kinds(a)
    drift = obs(terminal_drift=timedelta(minutes=5))
    assert ReasonKind.TERMINAL_CLOCK_WRONG in kinds(assess(at(12), CFG, drift))
    fixer = config.replace(CFG, "warnings", set_terminal_clock=True)
    assert assess(at(12), fixer, drift).wants(ActionKind.SET_TERMINAL_CLOCK)
    assert not assess(at(12), fixer, replace(drift, system_synced=False)).wants(
        ActionKind.SET_TERMINAL_CLOCK
    )  # never copy a wrong clock onto the terminal


def test_a_batch_near_the_size_limit_settles_early() -> None:
    big = obs(totals=batch(1400))
    assert ReasonKind.BATCH_NEAR_LIMIT in kinds(assess(at(12), CFG, big))
    assert assess(at(12), AUTO, obs(totals=batch(1500))).wants(ActionKind.SETTLE)


def test_sales_after_todays_settlement_belong_to_tomorrow() -> None:
    settled = SettleHistory(attempts=1, last_state="ok", settled_day=DAY)
    a = assess(at(22, 50), AUTO, obs(history=settled, totals=batch(1, first=7)))
    assert a.level is Level.OK and not a.wants(ActionKind.SETTLE)


def test_closed_day_and_quiet_hours() -> None:
    sunday_cfg = config.replace(CFG, "schedule", trading_days=["mon", "tue", "wed", "thu", "fri"])
    sunday = date(2026, 11, 22)
    a = assess(at(22, 50, sunday), sunday_cfg, obs(totals=batch(0), batch_day=None))
    assert ReasonKind.NOT_TRADING in kinds(a) and a.level is Level.OK
    quiet_cfg = config.replace(CFG, "panel", quiet_start="22:00", quiet_end="07:00")
    assert assess(at(22, 50), quiet_cfg, obs()).quiet


def test_snooze_is_reported_for_the_buzzer() -> None:
    assert assess(at(22, 50), CFG, obs(snoozed_until=at(22, 55))).snoozed
    assert not assess(at(22, 56), CFG, obs(snoozed_until=at(22, 55))).snoozed


def hhmm(wall: datetime) -> str:
    return wall.strftime("%H:%M")


def auto_settle(zone: ZoneInfo, cutoff: str, settle_at: str) -> config.Config:
    last = datetime.combine(DAY, time.fromisoformat(cutoff)) - timedelta(minutes=5)
    cfg = config.replace(CFG, "schedule", timezone=zone.key, cutoff=cutoff)
    return config.replace(cfg, "settle", mode="at", at=settle_at, last_call=hhmm(last))


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# Nights whose wall clock jumps: (zone, trading day, cutoff, settle at, window start), the
# expected start in UTC with the local reading in the comment.
SPRING_FORWARD = [
    # 02:30 does not exist; the clock reaches it at 03:00, the cutoff itself: the window
    # keeps its configured half hour and opens at 01:30 CET.
    (BERLIN, date(2026, 3, 28), "03:00", "02:30", utc(2026, 3, 29, 0, 30)),
    (BERLIN, date(2026, 3, 28), "03:30", "02:30", utc(2026, 3, 29, 1, 0)),  # 03:00 CEST
    (NEW_YORK, date(2026, 3, 7), "03:00", "02:30", utc(2026, 3, 8, 6, 30)),  # 01:30 EST
    (NEW_YORK, date(2026, 3, 7), "03:15", "02:15", utc(2026, 3, 8, 7, 0)),  # 03:00 EDT
    (LORD_HOWE, date(2026, 10, 3), "02:45", "02:15", utc(2026, 10, 3, 15, 30)),  # 02:30 +11
    (SANTIAGO, date(2026, 9, 5), "01:30", "00:30", utc(2026, 9, 6, 4, 0)),  # 01:00 -03
    (SANTIAGO, date(2026, 9, 5), "00:45", "00:15", utc(2026, 9, 6, 3, 30)),  # 23:30 -04
]
FALL_BACK = [  # a time that happens twice: the first occurrence
    (NEW_YORK, date(2026, 10, 31), "01:50", "01:20", utc(2026, 11, 1, 5, 20)),  # 01:20 EDT
    (SANTIAGO, date(2026, 4, 4), "23:45", "23:15", utc(2026, 4, 5, 2, 15)),  # 23:15 -03
    (LORD_HOWE, date(2026, 4, 4), "01:55", "01:40", utc(2026, 4, 4, 14, 40)),  # 01:40 +11
]


@pytest.mark.parametrize(("zone", "day", "cutoff", "settle_at", "start"),
                         SPRING_FORWARD + FALL_BACK)  # fmt: skip
def test_auto_settle_on_a_night_the_clock_changes_settles_before_the_cutoff(
    zone: ZoneInfo, day: date, cutoff: str, settle_at: str, start: datetime
) -> None:
    cfg = auto_settle(zone, cutoff, settle_at)
    end = TradingCalendar(zone, cfg.schedule.cutoff).cutoff_of(day)
    assert start < end
    before = timedelta(minutes=1)
    assert not assess(start - before, cfg, obs(batch_day=day)).wants(ActionKind.SETTLE)
    a = assess(start, cfg, obs(batch_day=day))
    assert a.wants(ActionKind.SETTLE) and a.trading_day == day and a.level < Level.OVERDUE


def test_quiet_hours_starting_in_the_repeated_hour_do_not_lapse_when_it_repeats() -> None:
    cfg = config.replace(CFG, "schedule", timezone="America/New_York")
    cfg = config.replace(cfg, "panel", quiet_start="01:15", quiet_end="07:00")
    # 1 November 2026: 01:00-02:00 happens twice; quiet from the first 01:15 (EDT) on.
    for now in (utc(2026, 11, 1, 5, 15), utc(2026, 11, 1, 5, 59), utc(2026, 11, 1, 6, 5)):
        assert assess(now, cfg, obs(batch_day=date(2026, 10, 31))).quiet, now
    assert not assess(utc(2026, 11, 1, 5, 14), cfg, obs(batch_day=date(2026, 10, 31))).quiet


def test_opening_hours_ending_in_the_repeated_hour_end_at_its_first_occurrence() -> None:
    cfg = config.replace(CFG, "schedule", timezone="America/New_York", opening="09:00",
                         closing="01:30", cutoff="03:00")  # fmt: skip
    needs = TerminalStatus(0x51, Condition.NEEDS_INITIALISATION, "x")
    day = date(2026, 10, 31)
    assert assess(utc(2026, 11, 1, 5, 29), cfg, obs(status=needs, batch_day=day)).wants(
        ActionKind.SIGN_IN
    )  # 01:29 EDT
    assert not assess(utc(2026, 11, 1, 6, 10), cfg, obs(status=needs, batch_day=day)).wants(
        ActionKind.SIGN_IN
    )  # 01:10 EST: the second time the clock reads it, the shop closed an hour ago


def test_opening_hours_starting_in_the_gap_open_when_the_clock_jumps() -> None:
    cfg = config.replace(CFG, "schedule", opening="02:30", closing="22:00")
    needs = TerminalStatus(0x51, Condition.NEEDS_INITIALISATION, "x")
    day = date(2026, 3, 29)
    assert not assess(utc(2026, 3, 29, 0, 59), cfg, obs(status=needs, batch_day=day)).wants(
        ActionKind.SIGN_IN
    )  # 01:59 CET
    assert assess(utc(2026, 3, 29, 1, 0), cfg, obs(status=needs, batch_day=day)).wants(
        ActionKind.SIGN_IN
    )  # 03:00 CEST


def run_day(cfg: config.Config, day: date, count: int) -> tuple[list[Level], list[datetime]]:
    """Poll an open batch through trading day `day` (every 7 minutes, every minute in the
    last four hours, on to half an hour past the cutoff); settle when asked to.
    Returns the levels seen while the batch was open and the instants it was settled at."""
    cal = TradingCalendar(cfg.zone, cfg.schedule.cutoff)
    cutoff = cal.cutoff_of(day)
    history = SettleHistory()
    levels: list[Level] = []
    settled_at: list[datetime] = []
    opened = cal.cutoff_of(day - timedelta(days=1))
    coarse = range(1, int((cutoff - opened).total_seconds() // 60) - 240, 7)
    # Minute steps counted back from the cutoff: every window of whole minutes is polled.
    polls = [opened + timedelta(minutes=m) for m in coarse]
    polls += [cutoff - timedelta(minutes=m) for m in range(240, -30, -1)]
    for now in polls:
        settled = history.settled_day == day
        o = Observations(status=READY, totals=batch(0 if settled else count), totals_at=now,
                         batch_day=day if not settled else None, last_answer_at=now,
                         system_synced=True, history=history)  # fmt: skip
        a = assess(now, cfg, o)
        if a.wants(ActionKind.SETTLE):
            settled_at.append(now)
            history = SettleHistory(attempts=1, last_state="ok", last_at=now, settled_day=day)
        elif not settled:
            levels.append(a.level)
    return levels, settled_at


@settings(max_examples=200, deadline=None)
@given(LOCAL_WALLS, st.integers(6, 180), st.integers(1, 40))
def test_an_open_batch_escalates_in_order_and_settles_once_before_the_cutoff(
    local_wall: tuple[ZoneInfo, datetime], lead: int, count: int
) -> None:
    zone, settle_wall = local_wall  # often inside a gap or a fold, and so often the cutoff
    cutoff_wall = settle_wall + timedelta(minutes=lead)
    cfg = auto_settle(zone, hhmm(cutoff_wall), hhmm(settle_wall))
    cal = TradingCalendar(zone, cfg.schedule.cutoff)
    day = cutoff_wall.date() - timedelta(days=1) if cal.cutoff_next_date else cutoff_wall.date()
    cutoff = cal.cutoff_of(day)

    start = window_start(cal, day, cfg.settle.at)
    assert cal.cutoff_of(day - timedelta(days=1)) <= start < cutoff
    assert cal.trading_day(start) == day
    there = start.astimezone(zone)
    assert there.fold == 0  # a settle time that happens twice: the first, earlier one
    if exists(settle_wall, zone):
        assert there.replace(tzinfo=None) == settle_wall
    else:  # in the gap: no earlier than the configured lead before the cutoff asks
        assert cutoff - start <= timedelta(minutes=lead)

    levels, settled_at = run_day(cfg, day, count)
    assert len(settled_at) == 1 and start <= settled_at[0] < cutoff
    assert Level.OVERDUE not in levels
    assert levels == sorted(levels, key=lambda lv: lv.value)  # never de-escalates


@settings(max_examples=150, deadline=None)
@given(LOCAL_WALLS, st.integers(0, 1500))
def test_without_auto_settle_an_open_batch_goes_warn_urgent_overdue(
    local_wall: tuple[ZoneInfo, datetime], earlier: int
) -> None:
    zone, cutoff_wall = local_wall  # often inside a gap or a fold
    cfg = config.replace(CFG, "schedule", timezone=zone.key, cutoff=hhmm(cutoff_wall))
    cal = TradingCalendar(cfg.zone, cfg.schedule.cutoff)
    now = cutoff_wall.replace(tzinfo=UTC) - timedelta(minutes=earlier)
    day = cal.trading_day(now)
    seen: list[Level] = []
    while now < cal.cutoff_of(day) + timedelta(minutes=30):
        level = assess(now, cfg, obs(batch_day=day, totals_at=now, last_answer_at=now)).level
        if not seen or seen[-1] is not level:
            seen.append(level)
        now += timedelta(minutes=5)
    assert seen[-1] is Level.OVERDUE
    assert seen == sorted(seen, key=lambda lv: lv.value)
    assert set(seen) <= {Level.OK, Level.WARN, Level.URGENT, Level.OVERDUE}


# -- the opening sign-in ([settle] sign_in_at_opening)

OPENING = config.replace(CFG, "settle", sign_in_at_opening=True)
WEEKDAYS_ONLY = config.replace(OPENING, "schedule",
                               trading_days=["mon", "tue", "wed", "thu", "fri"])  # fmt: skip


@pytest.mark.parametrize(
    ("cfg", "now", "kw", "wanted"),
    [(OPENING, at(9), {}, True),  # opening time on a trading day (Friday)
     (OPENING, at(8, 59), {}, False),  # before the opening
     (OPENING, at(14), {}, True),  # a guard started late still signs in once that day
     (OPENING, at(22, 0), {}, False),  # closed
     (OPENING, at(9), {"opened_today": True}, False),  # once per trading day
     (WEEKDAYS_ONLY, at(9), {}, True),
     (WEEKDAYS_ONLY, at(9, day=date(2026, 11, 22)), {}, False),  # a Sunday: closed
     (OPENING, at(9), {"failures": 1, "last_answer_at": at(8, 58)}, False),  # not answering
     (OPENING, at(9), {"settling": True}, False),
     (CFG, at(9), {}, False)],  # the default: off
)  # fmt: skip
def test_the_opening_sign_in(cfg, now: datetime, kw: dict, wanted: bool) -> None:
    a = assess(now, cfg, obs(totals=batch(0), **kw))
    assert a.wants(ActionKind.SIGN_IN_AT_OPENING) is wanted
    assert a.level.value <= Level.INFO.value  # a chore, not an alarm


def test_a_sign_in_the_terminal_asks_for_comes_instead_of_the_opening_one() -> None:
    needs = TerminalStatus(0x51, Condition.NEEDS_INITIALISATION, "x")
    a = assess(at(9), OPENING, obs(status=needs))
    assert a.wants(ActionKind.SIGN_IN) and not a.wants(ActionKind.SIGN_IN_AT_OPENING)


# -- what comes next, for the panel: opening, auto-settle time, the day's settlement


def test_the_assessment_says_when_the_day_opens_and_when_the_guard_settles() -> None:
    a = assess(at(14), AUTO, obs())
    assert a.opens_at == at(9) and a.auto_settle_at == at(22, 30)
    assert assess(at(14), ASK, obs()).auto_settle_at == at(22, 50)  # last call
    assert assess(at(14), ASK, obs(settle_cancelled=True)).auto_settle_at is None
    assert assess(at(14), CFG, obs()).auto_settle_at is None  # mode off
    later = assess(at(23, 30), AUTO, obs(batch_day=DAY + timedelta(days=1)))
    assert later.opens_at == at(9, day=DAY + timedelta(days=1))
    assert later.auto_settle_at == at(22, 30, day=DAY + timedelta(days=1))


def test_the_days_settlement_is_shown_until_the_next_day_opens() -> None:
    from pi_agent.guard.policy import SettledFacts

    facts = SettledFacts(4, at(22, 31), trading_day=DAY, count=38, total=178685, currency=978,
                         verified=True)  # fmt: skip
    settled = obs(totals=batch(0), last_settled=facts, history=SettleHistory(settled_day=DAY))
    a = assess(at(22, 40), AUTO, settled)
    assert a.settled is not None
    s = a.settled
    assert (s.at, s.count, s.total, s.verified) == (at(22, 31), 38, 178685, True)
    tomorrow = DAY + timedelta(days=1)
    assert assess(at(23, 30), AUTO, settled).settled == a.settled  # evening: still shown
    assert assess(at(8, 59, tomorrow), AUTO, settled).settled == a.settled
    assert assess(at(9, 0, tomorrow), AUTO, settled).settled is None  # the day opened
    older = replace(facts, trading_day=DAY - timedelta(days=1))
    assert assess(at(22, 40), AUTO, replace(settled, last_settled=older)).settled is None
