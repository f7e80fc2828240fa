"""Commands over the broker: acknowledge; settle only when allowed and only the open batch,
exactly once; anything malformed is refused with an event and changes nothing."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from pi_agent.fleet import publisher as fleet
from pi_agent.fleet.commands import MAX_COMMAND
from pi_agent.fleet.topics import Topics
from tests.fleet.mosquitto import Broker, Watcher, broker_fixture, fleet_config  # noqa: F401
from tests.test_agent import Rig, berlin

TOPICS = Topics("settleguard", "shop-1")


class Shop:
    """A running guard (its loop and scheduler) with an open batch, on the broker, and a
    head office's client that sends commands and reads events."""

    def __init__(self, tmp_path: Path, broker: Broker, **fleet_extra: object) -> None:
        self.rig = Rig(tmp_path, mode="off")
        self.rig.sim.terminal.add_sale(1000)
        self.rig.at(berlin(20, 22, 50))  # urgent: the batch is still open near the cutoff
        self.rig.agent.cfg = fleet_config(self.rig.cfg, broker, **fleet_extra)
        self.watcher = Watcher(broker.port, ["settleguard/#"])
        self.pub = fleet.attach(self.rig.agent, reconnect=(0.1, 0.5))
        self.rig.agent.start()
        self.doc = self.watcher.wait(self._with_batch)
        self.batch = self.doc["batch"]["key"]

    def _with_batch(self) -> dict | None:
        doc = self.watcher.json(TOPICS.state)
        return doc if doc["batch"]["key"] else None

    def send(self, payload: bytes | dict) -> None:
        raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.watcher.client.publish(TOPICS.command, raw, qos=1)

    def answers(self, kind: str) -> list[dict]:
        return [e for e in self.watcher.events(TOPICS.event) if e["event"] == kind]

    def wait_answers(self, kind: str, n: int) -> list[dict]:
        return self.watcher.wait(lambda: len(self.answers(kind)) >= n and self.answers(kind))

    def idle(self) -> None:
        """Wait until the loop has run everything posted so far."""
        done = threading.Event()
        self.rig.agent.post(done.set)
        assert done.wait(30)

    def close(self) -> None:
        self.rig.agent.stop()
        self.pub.stop()
        self.watcher.close()
        self.rig.close()


@pytest.fixture
def shop(tmp_path: Path, broker: Broker) -> Iterator[Shop]:
    s = Shop(tmp_path, broker)
    yield s
    s.close()


def test_acknowledge_snoozes_the_alarm(shop: Shop) -> None:
    assert shop.doc["level"] == "urgent" and shop.doc["alarms"] == ["open-batch"]
    assert not shop.doc["acknowledged"]
    shop.send({"action": "acknowledge"})
    [done] = shop.wait_answers("command-accepted", 1)
    assert done["action"] == "acknowledge" and done["shop_id"] == "shop-1"
    assert shop.watcher.wait(lambda: shop.watcher.json(TOPICS.state)["acknowledged"])
    assert shop.rig.agent.state.snoozed_until is not None
    acks = [e for e in shop.rig.store.events() if e["kind"] == "acknowledge"]
    assert acks and acks[0]["payload"]["by"] == "fleet"  # one acknowledgement, wherever from


def test_remote_settle_is_refused_when_not_allowed(shop: Shop) -> None:
    shop.send({"action": "settle", "batch": shop.batch})
    [refused] = shop.wait_answers("command-refused", 1)
    assert refused["why"] == "remote-settle-off"
    shop.idle()
    assert shop.rig.sim.terminal.settlements == 0


@pytest.fixture
def remote(tmp_path: Path, broker: Broker) -> Iterator[Shop]:
    s = Shop(tmp_path, broker, allow_remote_settle=True)
    yield s
    s.close()


def test_a_stale_batch_is_refused(remote: Shop) -> None:
    remote.send({"action": "settle", "batch": "zvt:yesterday"})
    remote.send({"action": "settle"})  # no batch named: not "whatever is open"
    refused = remote.wait_answers("command-refused", 2)
    assert [r["why"] for r in refused] == ["stale-batch", "stale-batch"]
    assert refused[0]["open"] == remote.batch
    remote.idle()
    assert remote.rig.sim.terminal.settlements == 0


def test_two_identical_settle_commands_settle_once(remote: Shop) -> None:
    remote.send({"action": "settle", "batch": remote.batch})
    remote.send({"action": "settle", "batch": remote.batch})
    [settled] = remote.wait_answers("settled", 1)
    assert settled["settlement"]["total_minor"] == 1000
    remote.idle()
    remote.send({"action": "settle", "batch": remote.batch})  # later: the batch is gone
    refused = remote.wait_answers("command-refused", 1)
    assert refused[-1]["why"] in ("stale-batch", "no-open-batch")
    remote.idle()
    assert remote.rig.sim.terminal.settlements == 1
    assert len(remote.rig.store.settlements()) == 1
    doc = remote.watcher.wait(lambda: remote.watcher.json(TOPICS.state)["last_settlement"])
    assert doc["state"] == "ok"


@pytest.mark.parametrize(
    ("payload", "why"),
    [(b"{not json", "malformed"), (b"\xff\xfe", "malformed"), (b"[]", "malformed"),
     (b'{"action": 5}', "malformed"), (b'{"action": "open-the-till"}', "unknown-action"),
     (b'{"action": "acknowledge", "pad": "' + b"x" * MAX_COMMAND + b'"}', "too-large")],
)  # fmt: skip
def test_malformed_commands_are_refused_and_nothing_happens(
    remote: Shop, payload: bytes, why: str
) -> None:
    remote.send(payload)
    [refused] = remote.wait_answers("command-refused", 1)
    assert refused["why"] == why
    remote.idle()
    assert remote.rig.sim.terminal.settlements == 0
    assert remote.rig.agent.state.snoozed_until is None  # not even the oversize acknowledge
    assert remote.answers("command-accepted") == []
