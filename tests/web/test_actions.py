"""Tests and actions on a real guard: the agent against the simulator over a pty, the
mock panel, and a real push to a local json:// receiver through the delivery worker."""

from __future__ import annotations

import io
import re
import socket
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from PIL import Image

from pi_agent.config import Target
from pi_agent.notify import payouts
from pi_agent.notify.deliver import Deliverer

from ..notify.receiver import Receiver
from .conftest import PASSWORD, Rig, flashes, settled_with_payout


def flash_after(rig: Rig, response, page: str) -> list[str]:
    assert response.status_code in (302, 303), response.get_data(True)
    return flashes(rig.client.get(page).get_data(True))


def test_dashboard_shows_the_batch_terminal_and_the_live_oled(rig: Rig) -> None:
    rig.sim.terminal.add_sale(1250, "visa")
    rig.sim.terminal.add_sale(2000, "girocard")
    rig.login()
    rig.control.poll_now()
    html = rig.client.get("/").get_data(True)
    assert "32.50" in html and "2 payments" in html
    assert "ready" in html.lower() and "s ago" in html
    assert 'id="oled"' in html and "<svg" in html
    png = Image.open(io.BytesIO(rig.client.get("/oled.png").data))
    assert png.size == (256, 128)
    shown = rig.panel.image.convert("L").resize((256, 128), 0)
    assert png.convert("L").tobytes() == shown.tobytes()  # the same image


def test_poll_buzzer_light_and_oled_tests(rig: Rig) -> None:
    rig.login()
    assert "The terminal answered" in flash_after(rig, rig.post("/tests/poll"), "/tests")[0]
    assert "buzzer sounded" in flash_after(rig, rig.post("/tests/buzzer"), "/tests")[0]
    assert "cycled" in flash_after(rig, rig.post("/tests/light"), "/tests")[0]
    assert rig.panel.light_state() == "green"  # back to the guard's own colour after the test
    normal = rig.panel.image
    assert "test pattern" in flash_after(rig, rig.post("/tests/oled"), "/tests")[0]
    assert rig.panel.image is not normal  # the pattern is on the display
    assert rig.client.get("/oled.png").status_code == 200
    assert rig.post("/tests/nope").status_code == 404


def test_a_silent_terminal_is_reported_by_the_poll_test(rig: Rig) -> None:
    rig.login()
    rig.sim.inject("silent:5")
    said = flash_after(rig, rig.post("/tests/poll"), "/tests")
    assert "did not answer" in said[0]


def test_settle_now_needs_confirmation_and_the_password(rig: Rig) -> None:
    rig.sim.terminal.add_sale(4590, "mastercard")
    rig.login()
    rig.control.poll_now()

    def settle(**form: str) -> list[str]:
        return flash_after(rig, rig.post("/actions/settle", form), "/actions")

    said = settle(password=PASSWORD)
    assert "Tick the box" in said[0] and rig.sim.terminal.settlements == 0
    said = settle(confirm="yes", password="wrong wrong")
    assert "Wrong password" in said[0] and rig.sim.terminal.settlements == 0
    said = settle(confirm="yes", password=PASSWORD)
    assert said[0].startswith("Settled"), said
    assert rig.sim.terminal.settlements == 1
    [record] = rig.store.settlements()
    assert record.state == "ok" and record.verified
    # History and the turnover chart show it.
    assert "batch closed; totals match" in rig.client.get("/history").get_data(True)
    chart = rig.client.get("/").get_data(True).split("<svg", 1)[1]
    assert "45.90" in chart
    # Again: the batch is empty now; nothing is sent twice.
    said = settle(confirm="yes", password=PASSWORD)
    assert "batch is empty" in said[0] and rig.sim.terminal.settlements == 1
    assert rig.agent.state.settle_requested is None


def test_settle_through_the_api(rig: Rig) -> None:
    rig.sim.terminal.add_sale(899)
    _, token = rig.auth.create_token("back office", {"read", "settle"})
    api = rig.app.test_client()
    r = api.post("/api/v1/settle", headers={"Authorization": f"Bearer {token}"},
                 json={"confirm": True})  # fmt: skip
    assert r.status_code == 200 and r.json["outcome"] == "settle-ok", r.json
    assert rig.sim.terminal.settlements == 1
    rows = api.get("/api/v1/history/settlements",
                   headers={"Authorization": f"Bearer {token}"}).json["settlements"]  # fmt: skip
    assert rows[0]["state"] == "ok" and rows[0]["totals_settled"]["total_minor"] == 899


def test_sign_in_diagnosis_and_clock(rig: Rig) -> None:
    rig.login()
    assert "Signed in" in flash_after(rig, rig.post("/actions/sign-in"), "/actions")[0]
    assert "Diagnosis done" in flash_after(rig, rig.post("/actions/diagnosis"), "/actions")[0]
    assert "clock is set" in flash_after(rig, rig.post("/actions/clock"), "/actions")[0]
    kinds = [e["kind"] for e in rig.store.events()]
    assert {"sign-in", "diagnosis", "clock"} <= set(kinds)
    rig.sim.inject("host-down")
    said = flash_after(rig, rig.post("/actions/sign-in"), "/actions")
    assert "Sign-in failed" in said[0]


def test_mark_a_payout_received(rig: Rig) -> None:
    p = settled_with_payout(rig)
    rig.login()
    html = rig.client.get("/history").get_data(True)
    assert "Mark received" in html and "2026-11-23" in html
    said = flash_after(rig, rig.post(f"/history/payouts/{p.id}/received"), "/history")
    assert "Marked received" in said[0]
    assert payouts.payouts(rig.store)[0].received_on == date(2026, 11, 20)
    said = flash_after(rig, rig.post("/history/payouts/999/received"), "/history")
    assert "No such payout" in said[0]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def push(rig: Rig, target: str, seconds: float = 20) -> tuple[float, list[str]]:
    """Press "push test" for a target: how long the answer took, then what the page says
    about it (asking again, as page.js does, until it is decided)."""
    started = time.monotonic()
    r = rig.post("/tests/push", {"target": target})
    answered = time.monotonic() - started
    assert r.status_code in (302, 303), r.get_data(True)
    html = rig.client.get(r.headers["Location"]).get_data(True)
    poll = re.search(r'data-poll="([^"]+)"', html)
    if poll is None:  # decided (or refused) already
        said = re.findall(r'<p (?:id="push-result" )?class="flash \w+"[^>]*>(.*?)</p>', html)
        return answered, said
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        state = rig.client.get(poll.group(1)).json
        if state["done"]:
            return answered, [state["text"]]
        time.sleep(0.1)
    return answered, [state["text"]]


def test_push_test_per_target_reaches_a_real_receiver(tmp_path: Path, receiver: Receiver) -> None:
    dead = "json://127.0.0.1:9/"  # nothing listens there: refused
    rig = Rig(tmp_path, targets=(Target(receiver.url, "info"), Target(dead, "info")))
    deliverer = Deliverer(rig.cfg, rig.clock).start()
    rig.agent.on_queued = deliverer.wake
    try:
        rig.login()
        html = rig.client.get("/tests").get_data(True)
        assert "json://******" in html and receiver.url not in html
        assert push(rig, "1")[1] == ["Target 1: delivered."]
        assert receiver.titles() == ["SettleGuard test message"]
        push(rig, "1")
        assert len(receiver.got) == 2  # every press is a message of its own
        said = push(rig, "2")[1]
        assert said[0].startswith("Target 2: not delivered"), said
        assert "No such push target" in push(rig, "7")[1][0]
        assert rig.client.get("/tests/push/99999").json["text"] == "No such push target."
    finally:
        deliverer.stop()
        rig.close()


def test_a_push_test_to_a_silent_target_answers_at_once(tmp_path: Path) -> None:
    """A target that accepts the connection and never answers held the request for a
    minute; now the press answers at once and the page shows the outcome when it comes."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"json://127.0.0.1:{silent.getsockname()[1]}/"
        rig = Rig(tmp_path, targets=(Target(url, "info"),))
        deliverer = Deliverer(rig.cfg, rig.clock).start()
        rig.agent.on_queued = deliverer.wake
        try:
            rig.login()
            started = time.monotonic()
            r = rig.post("/tests/push", {"target": "1"})
            assert time.monotonic() - started < 2.0  # was: held until the push timeout
            html = rig.client.get(r.headers["Location"]).get_data(True)
            assert "Sending the test message" in html and "data-poll=" in html
            rig.control.push_timeout = 1.0  # then "still waiting", unless refused before
            _, said = push(rig, "1", seconds=10)
            assert said[0].startswith("Target 1: ") and "Sending" not in said[0], said
        finally:
            deliverer.stop()
            rig.close()
