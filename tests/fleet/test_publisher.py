"""A guard on a real Mosquitto: retained state, availability and its last will, discovery,
and a broker that goes away and comes back while the guard keeps guarding."""

from __future__ import annotations

import socket
import time
from datetime import timedelta
from pathlib import Path

import pytest

from pi_agent.fleet import publisher as fleet
from pi_agent.fleet.topics import Topics
from tests.fleet.mosquitto import Broker, Watcher, broker_fixture, fleet_config  # noqa: F401
from tests.test_agent import Rig, berlin

TOPICS = Topics("settleguard", "shop-1")


@pytest.fixture
def rig(tmp_path: Path):
    r = Rig(tmp_path, mode="off")
    yield r
    r.close()


def guard(rig: Rig, broker: Broker, **extra: object) -> fleet.Publisher:
    rig.agent.cfg = fleet_config(rig.cfg, broker, **extra)  # the agent never reads [fleet]
    return fleet.attach(rig.agent, reconnect=(0.1, 0.5))


def test_the_guard_publishes_state_availability_and_discovery(rig: Rig, broker: Broker) -> None:
    pub = guard(rig, broker)
    watcher = Watcher(broker.port, ["settleguard/#", "homeassistant/#"])
    try:
        rig.sim.terminal.add_sale(1250, "girocard")
        rig.at(berlin(20, 10))
        rig.step()
        watcher.wait(lambda: watcher.last[TOPICS.availability] == b"online")
        doc = watcher.wait(lambda: watcher.json(TOPICS.state))
        assert doc["shop_id"] == "shop-1" and doc["shop_name"] == "Shop shop-1"
        assert doc["level"] == "ok" and doc["batch"]["total"] == "12.50"
        assert doc["batch"]["key"] == rig.agent.state.batch_key
        assert watcher.wait(lambda: watcher.last[TOPICS.discovery("sensor", "batch_total")])
        assert watcher.last[TOPICS.discovery("button", "settle")] == b""  # remote settle off
    finally:
        watcher.close()
        pub.stop()


def crash(pub: fleet.Publisher) -> None:
    """The guard dies without a word: its network thread stops, its socket just closes."""
    pub._stopping.set()
    pub._client.loop_stop()
    sock = pub._client.socket()
    sock.shutdown(socket.SHUT_RDWR)
    sock.close()


def test_a_dead_guard_goes_offline_by_its_last_will_and_a_new_one_is_back(
    rig: Rig, broker: Broker
) -> None:
    watcher = Watcher(broker.port, ["settleguard/#"])
    pub = guard(rig, broker)
    try:
        rig.step()
        watcher.wait(lambda: watcher.last[TOPICS.availability] == b"online")
        watcher.wait(lambda: TOPICS.state in watcher.last)
        crash(pub)
        watcher.wait(lambda: watcher.last[TOPICS.availability] == b"offline")
        rig.sim.terminal.add_sale(990)
        pub = guard(rig, broker)
        rig.step()  # the next guard's first tick: what it publishes is current
        watcher.wait(lambda: watcher.last[TOPICS.availability] == b"online")
        assert watcher.wait(lambda: watcher.json(TOPICS.state)["batch"]["count"] == 1)
        # A new subscriber (a head office starting up) gets both, retained.
        late = Watcher(broker.port, ["settleguard/#"])
        late.wait(lambda: late.last[TOPICS.availability] == b"online")
        assert late.wait(lambda: late.json(TOPICS.state)["batch"]["total_minor"] == 990)
        late.close()
    finally:
        watcher.close()
        pub.stop()
    # A clean stop says "offline" itself (a clean disconnect fires no last will).
    check = Watcher(broker.port, [TOPICS.availability])
    check.wait(lambda: check.last[TOPICS.availability] == b"offline")
    check.close()


def test_a_broker_away_never_slows_the_guard_and_gets_current_state_back(
    rig: Rig, broker: Broker
) -> None:
    pub = guard(rig, broker)
    try:
        started = time.monotonic()
        rig.step()
        baseline = time.monotonic() - started
        watcher = Watcher(broker.port, ["settleguard/#"])
        watcher.wait(lambda: TOPICS.state in watcher.last)
        watcher.close()
        broker.kill()
        time.sleep(0.3)
        assert not pub.status.connected and pub.status.last_error
        answers = []
        for minute in range(1, 6):  # the guard keeps polling and judging, at its own pace
            rig.sim.terminal.add_sale(100 * minute)
            rig.at(berlin(20, 10, minute))
            started = time.monotonic()
            rig.step()
            assert time.monotonic() - started < baseline * 3 + 0.3
            answers.append(rig.agent.state.last_answer_at)
        assert len(set(answers)) == 5 and rig.agent.state.failures == 0
        broker.start()  # the same port; it lost every retained message (no persistence)
        watcher = Watcher(broker.port, ["settleguard/#"])
        # No tick needed: on reconnect the guard sends what it knows now.
        doc = watcher.wait(lambda: watcher.json(TOPICS.state), timeout=5)
        assert doc["batch"]["count"] == 5 and doc["batch"]["total_minor"] == 1500
        assert watcher.wait(lambda: watcher.last[TOPICS.availability] == b"online")
        assert pub.status.connected and pub.status.last_error == ""
        watcher.close()
    finally:
        pub.stop()


def test_an_unchanged_state_is_not_sent_again_until_the_heartbeat(
    rig: Rig, broker: Broker, monkeypatch: pytest.MonkeyPatch
) -> None:
    watcher = Watcher(broker.port, [TOPICS.state])
    pub = guard(rig, broker)
    try:
        for second in range(0, 60, 5):  # a minute of 5 s ticks with nothing happening
            rig.at(berlin(20, 10, 0) + timedelta(seconds=second))
            rig.agent.tick()
        watcher.wait(lambda: TOPICS.state in watcher.last)
        time.sleep(0.5)
        assert len(watcher.seen) == 1
        rig.sim.terminal.add_sale(700)
        rig.step()  # news: sent at once
        watcher.wait(lambda: len(watcher.seen) == 2)
        monkeypatch.setattr(fleet, "HEARTBEAT", 0.0)
        rig.agent.tick()  # nothing new, but the heartbeat is due
        watcher.wait(lambda: len(watcher.seen) == 3)
        time.sleep(1.5)  # and only on a tick: never from the publisher's own timer
        assert len(watcher.seen) == 3
    finally:
        watcher.close()
        pub.stop()
