"""One acknowledgement wherever it comes from: the panel's short press, the page's button and
the API each snooze the buzzer, mark the alarms acknowledged and stop the owner's repeated
pushes of the alarms open now, recorded as one event that says who it was."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from pi_agent.config import Target
from pi_agent.notify.outbox import Outbox

from .conftest import Rig, bearer, flashes

ALARM = "json://127.0.0.1:9/"  # never delivered here: the outbox's rows are what is looked at


@pytest.fixture
def alarmed(tmp_path: Path) -> Iterator[Rig]:
    """A guard 10 minutes before the cutoff with an open batch: an urgent alarm, repeated."""
    rig = Rig(tmp_path, targets=(Target(ALARM, "info"),))
    try:
        rig.clock.advance(timedelta(hours=1, minutes=50))  # 22:50, the cutoff is 23:00
        rig.sim.terminal.add_sale(1000)
        rig.control.poll_now()
        assert rig.agent.level is not None and rig.agent.level.name == "URGENT"
        assert repeating(rig), "the urgent alarm repeats until acknowledged"
        yield rig
    finally:
        rig.close()


def repeating(rig: Rig) -> list[str]:
    return [m.key for m in Outbox(rig.store).pending() if m.kind == "alarm" and m.repeat_minutes]


def acknowledgements(rig: Rig) -> list[dict]:
    return [e["payload"] for e in rig.store.events() if e["kind"] == "acknowledge"]


def test_the_dashboard_offers_the_button_only_when_there_is_something_to_acknowledge(
    rig: Rig,
) -> None:
    rig.login()
    rig.control.poll_now()
    assert 'action="/acknowledge"' not in rig.client.get("/").get_data(True)  # all is well


def test_the_page_button_acknowledges_everything_at_once(alarmed: Rig) -> None:
    rig = alarmed
    rig.login()
    html = rig.client.get("/").get_data(True)
    assert 'action="/acknowledge"' in html and "Acknowledge alarms" in html
    open_keys = repeating(rig)
    r = rig.post("/acknowledge")
    assert r.status_code == 303 and r.headers["Location"].endswith("/")
    assert flashes(rig.client.get("/").get_data(True)) == ["Acknowledged."]
    assert repeating(rig) == []  # the owner's phone is not asked again
    assert rig.agent.state.snoozed_until == rig.clock.now() + timedelta(minutes=10)
    [event] = acknowledgements(rig)
    assert event["by"] == "page" and event["alarms"] == open_keys
    assert 'action="/acknowledge"' not in rig.client.get("/").get_data(True)  # done


def test_the_page_button_needs_no_password_but_the_csrf_token(alarmed: Rig) -> None:
    rig = alarmed
    rig.login()
    assert rig.client.post("/acknowledge").status_code == 400
    assert repeating(rig) and acknowledgements(rig) == []


def test_the_page_button_in_chinese(alarmed: Rig) -> None:
    rig = alarmed
    rig.login()
    rig.post("/lang/zh-CN")
    assert "确认警报" in rig.client.get("/").get_data(True)


def test_the_api_acknowledges_the_same_way_and_names_the_token(alarmed: Rig) -> None:
    rig = alarmed
    _, token = rig.auth.create_token("back office", {"acknowledge"})
    open_keys = repeating(rig)
    r = rig.app.test_client().post("/api/v1/acknowledge", headers=bearer(token))
    assert r.status_code == 200 and r.json == {"ok": True, "outcome": "ack-ok"}
    assert repeating(rig) == []
    assert rig.agent.state.snoozed_until is not None
    [event] = acknowledgements(rig)
    assert event["by"] == "api:back office" and event["alarms"] == open_keys


def test_the_panel_press_acknowledges_the_same_way(alarmed: Rig) -> None:
    rig = alarmed
    open_keys = repeating(rig)
    rig.agent.acknowledge()  # what the panel's button calls on a short press
    rig.control.poll_now()  # the loop works in order: the press is done after this
    assert repeating(rig) == []
    assert rig.agent.state.snoozed_until is not None
    [event] = acknowledgements(rig)
    assert event["by"] == "panel" and event["alarms"] == open_keys
