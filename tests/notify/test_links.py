"""An alarm pushed to a service that can open a link (ntfy, Bark) opens the guard's page,
where the owner acknowledges it; the closing report and other services carry no link, and
the link names only the page (it asks for a login), never a secret."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pi_agent import config
from pi_agent.clock import SystemClock
from pi_agent.config import Target, WebConfig
from pi_agent.notify import push
from pi_agent.notify.deliver import Deliverer, deliver_due
from pi_agent.notify.outbox import Draft, Message, Outbox, target_id
from pi_agent.store import Store
from pi_agent.web import hosts

from .receiver import Receiver

PAGE = "http://192.0.2.10:8081/"  # a documentation address: nothing is ever sent there
NOW = datetime(2026, 11, 20, 21, 50, tzinfo=UTC)


def test_the_page_link_is_the_address_a_phone_on_the_lan_would_type(monkeypatch) -> None:
    assert hosts.page_url(WebConfig(listen="192.0.2.10:8081")) == PAGE
    monkeypatch.setattr(hosts, "lan_address", lambda host: "192.168.1.40")
    every = WebConfig()  # the default: every interface, port 8080
    assert hosts.page_url(every) == "http://192.168.1.40:8080/"
    monkeypatch.setattr(hosts, "lan_address", lambda host: "127.0.0.1")  # no network yet
    assert hosts.page_url(every) is None
    assert hosts.page_url(WebConfig(listen="127.0.0.1:8081")) is None  # only on the Pi
    assert hosts.page_url(WebConfig(enabled=False, listen="192.0.2.10:8081")) is None


@pytest.mark.parametrize(
    ("url", "linked"),
    [
        ("ntfy://shop-topic", "ntfy://shop-topic?click=http%3A%2F%2F192.0.2.10%3A8081%2F"),
        ("ntfys://ntfy.example/topic?priority=high",
         "ntfys://ntfy.example/topic?priority=high&click=http%3A%2F%2F192.0.2.10%3A8081%2F"),
        ("bark://api.day.app/DEVICEKEY", "bark://api.day.app/DEVICEKEY?click=http%3A%2F%2F192.0.2.10%3A8081%2F"),
        ("barks://api.day.app/KEY?sound=alarm",
         "barks://api.day.app/KEY?sound=alarm&click=http%3A%2F%2F192.0.2.10%3A8081%2F"),
        ("ntfy://topic?click=https://mine.example/", "ntfy://topic?click=https://mine.example/"),
        ("NTFY://topic", "NTFY://topic?click=http%3A%2F%2F192.0.2.10%3A8081%2F"),
        ("json://127.0.0.1:9/", "json://127.0.0.1:9/"),
        ("wecombot://BOTKEY", "wecombot://BOTKEY"),
        ("tgram://bottoken/ChatID", "tgram://bottoken/ChatID"),
    ],
)  # fmt: skip
def test_only_ntfy_and_bark_urls_get_the_link(url: str, linked: str) -> None:
    assert push.with_link(url, PAGE) == linked
    assert push.with_link(url, "") == url


def test_deliver_hands_the_link_with_alarms_only(tmp_path: Path) -> None:
    store = Store(tmp_path / "guard.db")
    try:
        outbox = Outbox(store)
        target = Target("ntfy://shop-topic", "info")
        tid = target_id(target.url)
        outbox.put(Draft("overdue-batch:2026-11-20", "alarm", "urgent", "Batch NOT settled", "b"),
                   tid, NOW)  # fmt: skip
        outbox.put(Draft("report:2026-11-20", "report", "urgent", "Not settled!", "b"), tid, NOW)
        handed: list[tuple[str, str]] = []

        def send(t: Target, m: Message) -> None:
            handed.append((m.kind, push.with_link(t.url, m.link)))

        assert deliver_due(outbox, [target], NOW, send, link=PAGE) == 2
        assert handed == [("alarm", f"ntfy://shop-topic?click={push.quote(PAGE)}"),
                          ("report", "ntfy://shop-topic")]  # fmt: skip
    finally:
        store.close()


def test_ntfy_and_bark_alarms_open_the_page_through_the_push_worker(tmp_path: Path) -> None:
    """The delivery thread as the agent runs it: Apprise in the worker process, real HTTP to
    local receivers that speak for ntfy, Bark and a json:// service."""
    ntfy, bark, plain = Receiver(), Receiver(), Receiver()
    urls = (f"ntfy://127.0.0.1:{ntfy.port}/shop-topic",
            f"bark://127.0.0.1:{bark.port}/DEVICEKEY", plain.url)  # fmt: skip
    cfg = config.replace(config.Config(), "notify",
                         targets=[{"url": u, "min_level": "info"} for u in urls])  # fmt: skip
    cfg = config.replace(cfg, "store", path=str(tmp_path / "guard.db"))
    cfg = config.replace(cfg, "web", listen="192.0.2.10:8081")
    store = Store(cfg.store.path)
    deliverer = None
    try:
        outbox = Outbox(store)
        now = datetime.now(UTC)
        for url in urls:
            tid = target_id(url)
            outbox.put(Draft("overdue-batch:x", "alarm", "urgent", "Batch NOT settled", "b"),
                       tid, now)  # fmt: skip
            outbox.put(Draft("report:x", "report", "info", "Settled: 3 payments", "b"), tid, now)
        deliverer = Deliverer(cfg, SystemClock()).start()
        deadline = time.monotonic() + 60
        while Outbox(store).pending() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert Outbox(store).pending() == []
        assert [h.get("X-Click") for h in ntfy.headers] == [PAGE, None]  # the alarm, the report
        assert [m.get("url") for m in bark.got] == [PAGE, None]
        assert [m["title"] for m in plain.got] == ["Batch NOT settled", "Settled: 3 payments"]
        assert all("click" not in str(m) and PAGE not in str(m) for m in plain.got)
        assert all("X-Click" not in h for h in plain.headers)
    finally:
        if deliverer is not None:
            deliverer.stop()
        store.close()
        for r in (ntfy, bark, plain):
            r.close()
