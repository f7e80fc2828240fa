"""The policy's protocol-neutral judgements: the oldest sale's age, stored offline payments,
a full terminal store, a batch that vanished unsettled, a batch closed out of balance.
Plain data in, an assessment out, as in test_policy.py."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings

from pi_agent import config
from pi_agent.guard.assessment import ActionKind, Level, ReasonKind
from pi_agent.guard.policy import (
    LostBatch,
    Observations,
    SettledFacts,
    SettleHistory,
    assess,
    oldest_sale,
)

from .dst import BERLIN, LOCAL_WALLS, exists
from .test_policy import ASK, AUTO, CFG, DAY, READY, at, batch, kinds

YESTERDAY = DAY - timedelta(days=1)


def wall(hh: int, mm: int = 0, day: date = YESTERDAY) -> datetime:
    """The terminal's naive local wall clock."""
    return datetime(day.year, day.month, day.day, hh, mm)


def aged(oldest: datetime | None, **kw) -> Observations:
    totals = replace(batch(), oldest_authorised_at=oldest)
    base = {"status": READY, "totals": totals, "totals_at": at(12), "batch_day": DAY,
            "last_answer_at": at(12), "system_synced": True}  # fmt: skip
    base.update(kw)
    return Observations(**base)


def reason(a, kind: ReasonKind):
    return next(r for r in a.reasons if r.kind is kind)


def settle_why(a) -> ReasonKind | None:
    return next((x.why for x in a.actions if x.kind is ActionKind.SETTLE), None)


# -- the oldest sale's age (default limit 24 h; the sale 12:00 the day before)


@pytest.mark.parametrize(
    ("now", "level"),
    [(at(7, 59), None), (at(8, 0), Level.WARN), (at(10, 59), Level.WARN),
     (at(11, 0), Level.URGENT), (at(12, 30), Level.URGENT)],
)  # fmt: skip
def test_the_oldest_sale_warns_hours_before_the_limit_then_is_urgent(
    now: datetime, level: Level | None
) -> None:
    a = assess(now, CFG, aged(wall(12)))
    if level is None:
        assert ReasonKind.AUTH_AGE not in kinds(a) and a.level is Level.OK
        return
    r = reason(a, ReasonKind.AUTH_AGE)
    assert r.level is level and a.level is level
    assert r.detail["limit_hours"] == 24 and r.detail["estimated"] is False
    assert r.detail["hours"] == int((now - at(12, day=YESTERDAY)).total_seconds() // 3600)


def test_the_urgent_age_notifies_once_per_batch() -> None:
    times = (at(11), at(11, 30), at(13))
    keys = {n.key for t in times for n in assess(t, CFG, aged(wall(12))).notices}
    assert keys == {"auth-age:20261119T1100Z"}
    assert not assess(at(10), CFG, aged(wall(12))).notices  # WARN: shown, not sent


def test_auto_settle_settles_early_before_the_age_limit_whatever_the_cutoff() -> None:
    assert settle_why(assess(at(9, 59), AUTO, aged(wall(12)))) is None
    assert settle_why(assess(at(10), AUTO, aged(wall(12)))) is ReasonKind.AUTH_AGE
    assert settle_why(assess(at(10), ASK, aged(wall(12)))) is ReasonKind.AUTH_AGE
    # mode off warns only; a person may still ask
    assert settle_why(assess(at(10), CFG, aged(wall(12)))) is None
    assert settle_why(assess(at(10), CFG, aged(wall(12), settle_requested=True))) is not None


def test_the_age_settles_a_batch_opened_after_todays_settlement() -> None:
    """Sales after the day's settlement wait for tomorrow's, unless they would grow too old."""
    after = SettleHistory(attempts=0, settled_day=DAY)
    assert settle_why(assess(at(22, 50), AUTO, aged(wall(22, 45, DAY), history=after))) is None
    day2 = DAY + timedelta(days=1)
    a = assess(at(20, 45, day2), AUTO, aged(wall(22, 40, DAY), batch_day=day2))
    assert settle_why(a) is ReasonKind.AUTH_AGE  # 22 h 05 min old, before the 22:30 window


def test_the_limit_is_configured() -> None:
    longer = config.replace(CFG, "warnings", auth_age_hours=48)
    assert ReasonKind.AUTH_AGE not in kinds(assess(at(11), longer, aged(wall(12))))


def test_without_sale_times_the_guards_first_sight_is_the_estimate() -> None:
    a = assess(at(11), CFG, aged(None, batch_opened_at=at(12, day=YESTERDAY)))
    r = reason(a, ReasonKind.AUTH_AGE)
    assert r.level is Level.URGENT and r.detail["estimated"] is True
    assert settle_why(assess(at(10), AUTO, aged(None, batch_opened_at=at(12, day=YESTERDAY))))
    # Neither the terminal's time nor the journal's: nothing to judge by, nothing said.
    assert ReasonKind.AUTH_AGE not in kinds(assess(at(11), CFG, aged(None)))


def test_the_terminals_time_wins_over_the_estimate() -> None:
    # The guard saw the batch at 12:00 (a sale it then saw voided, say); its oldest sale now
    # is from 18:00: the terminal knows better than the journal.
    o = aged(wall(18), batch_opened_at=at(12, day=YESTERDAY))
    assert ReasonKind.AUTH_AGE not in kinds(assess(at(11), CFG, o))


def test_a_settled_batch_still_shown_does_not_age() -> None:
    settled = SettleHistory(attempts=1, last_state="ok", settled_day=DAY)
    assert ReasonKind.AUTH_AGE not in kinds(assess(at(12), CFG, aged(wall(9), history=settled)))


def test_an_empty_batch_has_no_age() -> None:
    empty = replace(batch(0), oldest_authorised_at=wall(9))
    a = assess(at(12), CFG, aged(None, totals=empty, batch_opened_at=at(9, day=YESTERDAY)))
    assert not kinds(a) & {ReasonKind.AUTH_AGE, ReasonKind.AUTH_TIME_IGNORED}


@pytest.mark.parametrize(
    ("oldest", "why"),
    [(wall(14, 0, DAY), "future"),  # the terminal's clock ahead: a sale two hours from now
     (datetime(2000, 1, 1, 0, 0), "past"),  # its clock reset to its epoch
     (wall(12, 0, DAY - timedelta(days=40)), "past")],
)  # fmt: skip
def test_an_implausible_terminal_time_is_ignored_with_a_note_and_no_alarm(
    oldest: datetime, why: str
) -> None:
    a = assess(at(12), AUTO, aged(oldest))
    assert ReasonKind.AUTH_AGE not in kinds(a) and not a.notices
    note = reason(a, ReasonKind.AUTH_TIME_IGNORED)
    assert note.level is Level.INFO and note.detail["why"] == why
    assert a.level is Level.INFO and not a.wants(ActionKind.SETTLE)
    # The guard's own first sight still judges the age: an estimate, said as such.
    est = assess(at(11), CFG, aged(oldest, batch_opened_at=at(12, day=YESTERDAY)))
    assert reason(est, ReasonKind.AUTH_AGE).detail["estimated"] is True


def test_a_terminal_a_few_minutes_ahead_is_believed() -> None:
    a = assess(at(12), CFG, aged(wall(12, 5, DAY)))
    assert not kinds(a) & {ReasonKind.AUTH_AGE, ReasonKind.AUTH_TIME_IGNORED}


def test_the_age_is_real_time_across_the_spring_change() -> None:
    """Sat 28 Mar 2026 12:00 CET to Sun 29 Mar: the wall clock skips an hour, the age does
    not. Warned at 20 h real age (09:00 CEST), not at 20 h of wall clock (08:00 CEST)."""
    sale = datetime(2026, 3, 28, 12, 0)
    o = aged(sale, batch_day=date(2026, 3, 29))
    early = assess(datetime(2026, 3, 29, 6, 59, tzinfo=UTC), CFG, o)  # 08:59 CEST
    assert ReasonKind.AUTH_AGE not in kinds(early)
    a = assess(datetime(2026, 3, 29, 7, 0, tzinfo=UTC), CFG, o)  # 09:00 CEST
    assert reason(a, ReasonKind.AUTH_AGE).detail["hours"] == 20


def test_a_sale_in_the_repeated_autumn_hour_counts_from_its_first_occurrence() -> None:
    """Sun 25 Oct 2026 02:30 happens at 00:30 UTC and again at 01:30 UTC: the earlier one,
    so the age is never understated (the batch settles early rather than late)."""
    o = aged(datetime(2026, 10, 25, 2, 30), batch_day=date(2026, 10, 25))
    a = assess(datetime(2026, 10, 25, 20, 30, tzinfo=UTC), CFG, o)
    assert reason(a, ReasonKind.AUTH_AGE).detail["oldest"] == datetime(2026, 10, 25, 0, 30,
                                                                       tzinfo=UTC)  # fmt: skip


def test_a_sale_time_inside_the_spring_gap_is_the_jump() -> None:
    totals = replace(batch(), oldest_authorised_at=datetime(2026, 3, 29, 2, 30))
    s = oldest_sale(datetime(2026, 3, 29, 12, tzinfo=UTC), BERLIN, totals, None)
    assert s.at == datetime(2026, 3, 29, 1, 0, tzinfo=UTC) and not s.estimated


@settings(max_examples=200, deadline=None)
@given(LOCAL_WALLS)
def test_the_age_never_understates_real_time(local_wall) -> None:
    """Whatever the zone and night: the instant read for a sale is never later than the
    first moment its wall time was shown (or, in a gap, jumped past)."""
    zone, sale = local_wall
    now = datetime.combine(sale.date() + timedelta(days=1), sale.time()).replace(tzinfo=UTC)
    s = oldest_sale(now, zone, replace(batch(), oldest_authorised_at=sale), None)
    assert s.at is not None
    if exists(sale, zone):
        first = sale.replace(tzinfo=zone, fold=0).astimezone(UTC)
        assert s.at == first
        assert s.at.astimezone(zone).replace(tzinfo=None) == sale
    else:  # in the gap: the clock jumped past it then, and showed an earlier time just before
        assert s.at.astimezone(zone).replace(tzinfo=None) > sale
        assert (s.at - timedelta(seconds=1)).astimezone(zone).replace(tzinfo=None) < sale


# -- stored offline payments


def offline(pending: int | None, total: int | None = None, **kw) -> Observations:
    totals = replace(batch(), offline_pending=pending, offline_pending_total=total)
    return aged(None, totals=totals, **kw)


@pytest.mark.parametrize("pending", [None, 0])
def test_no_offline_payments_or_cannot_say_is_silent(pending: int | None) -> None:
    for now in (at(12), at(22, 10), at(22, 50)):
        assert ReasonKind.OFFLINE_PENDING not in kinds(assess(now, CFG, offline(pending)))


def test_offline_payments_pending_near_the_cutoff_warn_and_notify_at_the_red_lead() -> None:
    assert ReasonKind.OFFLINE_PENDING not in kinds(assess(at(12), CFG, offline(3, 4200)))
    a = assess(at(22, 10), CFG, offline(3, 4200))
    r = reason(a, ReasonKind.OFFLINE_PENDING)
    assert r.level is Level.WARN and r.detail == {"count": 3, "total": 4200}
    assert not [n for n in a.notices if n.kind is ReasonKind.OFFLINE_PENDING]
    late = assess(at(22, 50), CFG, offline(3, 4200))
    assert f"offline-pending:{DAY}" in {n.key for n in late.notices}


def unsent(pending: int | None, at_: datetime, **kw) -> Observations:
    empty = replace(batch(0), offline_pending=pending, offline_pending_total=2500 if pending else 0)
    facts = SettledFacts(7, at_, offline_unsent=2, offline_unsent_total=2500)
    return aged(None, totals=empty, batch_day=None, last_settled=facts, **kw)


def test_offline_payments_still_pending_after_the_end_of_day_alarm() -> None:
    a = assess(at(22, 35), AUTO, unsent(2, at(22, 31)))
    r = reason(a, ReasonKind.OFFLINE_UNSENT)
    assert r.level is Level.URGENT and r.detail == {"count": 2, "total": 2500}
    assert [n.key for n in a.notices] == ["offline-unsent:7"]
    assert ReasonKind.OFFLINE_PENDING not in kinds(a)  # the same payments, said once
    # uploaded since: the alarm is over
    assert ReasonKind.OFFLINE_UNSENT not in kinds(assess(at(22, 40), AUTO, unsent(0, at(22, 31))))
    # still there the next morning: still urgent
    assert reason(assess(at(9, day=DAY + timedelta(days=1)), AUTO, unsent(2, at(22, 31))),
                  ReasonKind.OFFLINE_UNSENT).level is Level.URGENT  # fmt: skip


def test_offline_unsent_where_the_terminal_cannot_say_any_more_is_shown_for_a_day() -> None:
    assert ReasonKind.OFFLINE_UNSENT in kinds(assess(at(22, 40), CFG, unsent(None, at(22, 31))))
    gone = assess(at(22, 32, DAY + timedelta(days=1)), CFG, unsent(None, at(22, 31)))
    assert ReasonKind.OFFLINE_UNSENT not in kinds(gone)


def test_an_acknowledged_offline_alarm_is_shown_quietly() -> None:
    a = assess(at(22, 35), CFG, unsent(2, at(22, 31), acknowledged=frozenset({"offline-unsent:7"})))
    assert reason(a, ReasonKind.OFFLINE_UNSENT).level is Level.INFO and not a.notices


# -- a full store


def test_a_full_terminal_store_is_urgent_and_settles_early_when_allowed() -> None:
    full = aged(None, totals=replace(batch(), storage_full=True))
    a = assess(at(12), AUTO, full)
    assert reason(a, ReasonKind.STORAGE_FULL).level is Level.URGENT
    assert settle_why(a) is ReasonKind.STORAGE_FULL
    assert f"storage-full:{DAY}" in {n.key for n in a.notices}
    assert settle_why(assess(at(12), CFG, full)) is None  # mode off: shown, not settled
    busy = assess(at(12), AUTO, replace(full, settling=True))
    assert settle_why(busy) is None  # the usual pre-checks still hold


# -- what happened and nothing undoes


def test_a_lost_batch_alarms_once_and_stays_urgent_until_acknowledged_or_a_day() -> None:
    lost = LostBatch("T1:----:20261120T090000Z", at(11), count=4, total=6100, batch_number=12)
    o = aged(None, totals=batch(0), batch_day=None, lost_batches=(lost,))
    a = assess(at(11, 5), CFG, o)
    r = reason(a, ReasonKind.BATCH_LOST)
    assert r.level is Level.URGENT and a.level is Level.URGENT
    assert (r.detail["count"], r.detail["total"], r.detail["batch_number"]) == (4, 6100, 12)
    assert [n.key for n in a.notices] == [f"batch-lost:{lost.key}"]
    acked = replace(o, acknowledged=frozenset({f"batch-lost:{lost.key}"}))
    quiet = assess(at(11, 10), CFG, acked)
    assert reason(quiet, ReasonKind.BATCH_LOST).level is Level.INFO and not quiet.notices
    assert ReasonKind.BATCH_LOST not in kinds(assess(at(11, day=DAY + timedelta(days=1)), CFG, o))


def test_a_batch_closed_out_of_balance_alarms_and_is_never_settled_again() -> None:
    facts = SettledFacts(9, at(22, 31), out_of_balance=True)
    o = aged(None, totals=batch(0), batch_day=None, last_settled=facts,
             history=SettleHistory(settled_day=DAY))  # fmt: skip
    a = assess(at(22, 35), AUTO, o)
    assert reason(a, ReasonKind.OUT_OF_BALANCE).level is Level.URGENT
    assert [n.key for n in a.notices] == ["out-of-balance:9"]
    assert not a.wants(ActionKind.SETTLE)
    # The terminal still showing the batch it closed: the journal's ok forbids another try.
    shown = replace(o, totals=batch(), batch_day=DAY,
                    history=SettleHistory(1, "ok", at(22, 31), settled_day=DAY))  # fmt: skip
    assert not assess(at(22, 40), AUTO, shown).wants(ActionKind.SETTLE)
    assert ReasonKind.OUT_OF_BALANCE not in kinds(assess(at(22, 31, DAY + timedelta(days=1)),
                                                         AUTO, o))  # fmt: skip
