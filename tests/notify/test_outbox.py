"""The outbox through real Apprise to a real local receiver: order, coalescing, backoff
through an outage, quiet hours, alarms that repeat until acknowledged."""

from __future__ import annotations

import logging
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pi_agent.config import Target
from pi_agent.notify.deliver import apprise_send, deliver_due
from pi_agent.notify.outbox import Draft, Outbox, target_id
from pi_agent.notify.push import DeliveryError
from pi_agent.quietlog import OncePerCause
from pi_agent.store import Store

from .receiver import Receiver

T0 = datetime(2026, 11, 20, 12, tzinfo=UTC)


@pytest.fixture
def outbox(tmp_path: Path) -> Iterator[Outbox]:
    store = Store(tmp_path / "guard.db")
    yield Outbox(store, random.Random(1))
    store.close()


def draft(key: str, title: str, kind: str = "notice", level: str = "warn") -> Draft:
    return Draft(key, kind, level, title, f"body of {title}")


def test_delivered_once_in_order(outbox: Outbox, receiver: Receiver) -> None:
    target = Target(receiver.url, "info")
    tid = target_id(target.url)
    for n in range(3):
        assert outbox.put(draft(f"k{n}", f"m{n}"), tid, T0)
    assert not outbox.put(draft("k1", "m1"), tid, T0)  # the same again: nothing new
    assert deliver_due(outbox, [target], T0, apprise_send) == 3
    assert deliver_due(outbox, [target], T0 + timedelta(hours=1), apprise_send) == 0
    assert outbox.put(draft("k1", "m1 changed"), tid, T0) is False  # delivered: never again
    assert receiver.titles() == ["m0", "m1", "m2"]


def test_an_outage_of_hours_loses_nothing_and_shows_nothing_twice(
    outbox: Outbox, receiver: Receiver
) -> None:
    target = Target(receiver.url, "info")
    tid = target_id(target.url)
    receiver.status = 500
    now = T0
    outbox.put(draft("first", "first"), tid, now)
    retries = 0
    for minute in range(0, 5 * 60, 5):  # five hours of a broken service, tried every 5 min
        now = T0 + timedelta(minutes=minute)
        # the terminal-offline alarm is updated on every poll, not repeated
        outbox.put(draft("offline", f"offline for {minute} min"), tid, now)
        if minute == 60:
            outbox.put(draft("later", "later"), tid, now)
        before = outbox.pending(tid)[0].attempts
        deliver_due(outbox, [target], now, apprise_send)
        retries += outbox.pending(tid)[0].attempts > before
    assert receiver.got == []
    head = outbox.pending(tid)[0]
    assert head.key == "first" and head.attempts == retries
    assert 5 <= retries <= 20  # backoff: far fewer tries than the 60 chances
    receiver.status = 200
    now += timedelta(hours=2)
    deliver_due(outbox, [target], now, apprise_send)
    assert receiver.titles() == ["first", "offline for 295 min", "later"]  # order kept
    assert outbox.pending() == []


def test_quiet_hours_hold_a_message_without_blocking_urgent_ones(
    outbox: Outbox, receiver: Receiver
) -> None:
    target = Target(receiver.url, "info")
    tid = target_id(target.url)
    outbox.put(draft("report", "report", level="info"), tid, T0, due=T0 + timedelta(hours=8))
    outbox.put(draft("alarm", "ALARM", kind="alarm", level="urgent"), tid, T0)
    deliver_due(outbox, [target], T0, apprise_send)
    assert receiver.titles() == ["ALARM"]
    deliver_due(outbox, [target], T0 + timedelta(hours=8), apprise_send)
    assert receiver.titles() == ["ALARM", "report"]


def test_an_alarm_repeats_until_acknowledged_or_its_cause_is_gone(
    outbox: Outbox, receiver: Receiver
) -> None:
    target = Target(receiver.url, "info")
    tid = target_id(target.url)
    outbox.put(draft("overdue:1", "OVERDUE", "alarm", "urgent"), tid, T0, repeat_minutes=30)
    outbox.put(draft("dead:1", "OFFLINE", "alarm", "urgent"), tid, T0, repeat_minutes=30)
    for minute in range(0, 95, 5):
        deliver_due(outbox, [target], T0 + timedelta(minutes=minute), apprise_send)
    assert receiver.titles().count("OVERDUE") == 4  # 0, 30, 60, 90
    assert outbox.acknowledge("overdue:", T0 + timedelta(minutes=95)) == 1
    outbox.settle_repeats({"overdue:1"})  # the terminal answers again: OFFLINE's cause is gone
    for minute in range(95, 200, 5):
        deliver_due(outbox, [target], T0 + timedelta(minutes=minute), apprise_send)
    assert receiver.titles().count("OVERDUE") == 4
    assert receiver.titles().count("OFFLINE") == 4
    assert outbox.pending() == []


def test_a_bad_url_is_given_up_and_does_not_block_others(
    outbox: Outbox, receiver: Receiver
) -> None:
    bad, good = Target("nosuchscheme://x", "info"), Target(receiver.url, "info")
    outbox.put(draft("a", "to bad"), target_id(bad.url), T0)
    outbox.put(draft("a", "to good"), target_id(good.url), T0)
    deliver_due(outbox, [bad, good], T0, apprise_send)
    assert receiver.titles() == ["to good"]
    states = {r["target"]: r["state"] for r in outbox.history()}
    assert states[target_id(bad.url)] == "gone"


def test_quiet_hours_hold_through_the_repeated_hour_of_the_autumn_change(tmp_path) -> None:
    """Quiet 02:15-06:00 in Berlin on 25 Oct 2026: at 02:05 the second time round (CET)
    the quiet hours began an hour ago; a wall-clock comparison would send now."""
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    from pi_agent import config
    from pi_agent.notify.outbox import Draft
    from pi_agent.notify.planner import Planner
    from pi_agent.store import Store

    cfg = config.replace(config.Config(), "notify", quiet_start="02:15", quiet_end="06:00")
    store = Store(tmp_path / "g.db")
    try:
        planner = Planner(cfg, store)
        now = datetime(2026, 10, 25, 1, 5, tzinfo=UTC)  # 02:05 CET, after 02:15 CEST
        assert now.astimezone(ZoneInfo("Europe/Berlin")).strftime("%H:%M %Z") == "02:05 CET"
        due = planner._after_quiet(now, Draft("k", "report", "info", "t", "b"))
        assert due == datetime(2026, 10, 25, 5, 0, tzinfo=UTC)  # 06:00 CET
    finally:
        store.close()


def test_acknowledging_keys_stops_exactly_those_alarms(outbox: Outbox) -> None:
    for key in ("out-of-balance:1", "out-of-balance:12", "batch-lost:7"):
        outbox.put(draft(key, key, kind="alarm", level="urgent"), "t", T0, repeat_minutes=30)
    assert outbox.acknowledge_keys(["out-of-balance:1", "batch-lost:7"], T0) == 2
    assert [m.key for m in outbox.pending() if m.repeat_minutes] == ["out-of-balance:12"]
    assert outbox.acknowledge_keys([], T0) == 0


def test_a_push_outage_is_logged_once_per_cause(
    outbox: Outbox, caplog: pytest.LogCaptureFixture
) -> None:
    """Retries every few minutes for hours would fill the log: one line when it starts, one
    when the cause changes, one when pushes go through again."""
    target = Target("json://127.0.0.1:9/", "info")
    tid = target_id(target.url)
    outbox.put(draft("first", "first"), tid, T0)
    causes = iter(["refused"] * 5 + ["timed out"] * 5)
    sent: list[str] = []

    def send(t: Target, m) -> None:
        cause = next(causes, None)
        if cause is not None:
            raise DeliveryError(cause)
        sent.append(m.title)

    said = OncePerCause()
    caplog.set_level(logging.INFO, "settle-guard.notify")
    for hour in range(48):  # due or not, try every hour for two days
        deliver_due(outbox, [target], T0 + timedelta(hours=hour), send, said=said)
    assert sent == ["first"]
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 3, lines
    assert "refused" in lines[0] and "timed out" in lines[1] and "delivered again" in lines[2]
