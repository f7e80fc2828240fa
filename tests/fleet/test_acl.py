"""The Mosquitto ACL the README gives: each guard writes only its own topics (and its own
Home Assistant discovery), the head office reads them all and may send commands."""

from __future__ import annotations

import time
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from pi_agent.fleet import publisher as fleet
from tests.fleet.mosquitto import Broker, Watcher, fleet_config
from tests.test_agent import Rig

# The same lines as the README's example (a test that the example works).
ACL = """\
# each guard: its own subtree and its own discovery configs (%u: its user name = shop id)
pattern readwrite settleguard/%u/#
pattern write homeassistant/+/settleguard_%u/+/config

user headoffice
topic read settleguard/#
topic write settleguard/+/command
topic read homeassistant/#
"""
USERS = {"shop-1": "s1-secret-4711", "shop-2": "s2-secret-0815", "headoffice": "ho-secret-99"}


def client(port: int, user: str) -> mqtt.Client:
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"{user}-raw")
    c.username_pw_set(user, USERS[user])
    c.connect("127.0.0.1", port)
    c.loop_start()
    return c


def test_a_guard_writes_only_its_own_topics(tmp_path: Path) -> None:
    broker = Broker(tmp_path, users=USERS, acl=ACL).start()
    office = Watcher(broker.port, ["settleguard/#", "homeassistant/#"], username="headoffice",
                     password=USERS["headoffice"])  # fmt: skip
    rig = Rig(tmp_path, mode="off")
    rig.agent.cfg = fleet_config(rig.cfg, broker, username="shop-1", password=USERS["shop-1"])
    pub = fleet.attach(rig.agent, reconnect=(0.1, 0.5))
    intruder = client(broker.port, "shop-1")
    try:
        rig.step()
        office.wait(lambda: office.last["settleguard/shop-1/availability"] == b"online")
        office.wait(lambda: office.json("settleguard/shop-1/state")["shop_id"] == "shop-1")
        assert office.wait(lambda: office.last[
            "homeassistant/sensor/settleguard_shop-1/level/config"])  # fmt: skip
        # shop-1's credentials speak for shop-2: the broker drops it.
        for topic in ("settleguard/shop-2/state", "settleguard/shop-2/availability",
                      "homeassistant/sensor/settleguard_shop-2/level/config"):  # fmt: skip
            intruder.publish(topic, b'{"level": "ok"}', qos=1, retain=True).wait_for_publish(5)
        intruder.publish("settleguard/shop-1/event", b'{"event": "marker"}', qos=1)
        office.wait(lambda: office.last["settleguard/shop-1/event"] == b'{"event": "marker"}')
        time.sleep(0.3)
        assert not [t for t, *_ in office.seen if "shop-2" in t]
    finally:
        intruder.disconnect()
        intruder.loop_stop()
        pub.stop()
        office.close()
        rig.close()
        broker.kill()


def test_wrong_credentials_are_told_in_the_status_never_the_password(
    tmp_path: Path, caplog
) -> None:
    broker = Broker(tmp_path, users=USERS, acl=ACL).start()
    rig = Rig(tmp_path, mode="off")
    wrong = "not-the-password-31337"
    rig.agent.cfg = fleet_config(rig.cfg, broker, username="shop-1", password=wrong)
    pub = fleet.attach(rig.agent, reconnect=(0.1, 0.5))
    try:
        rig.step()  # the guard goes on
        deadline = time.monotonic() + 5
        while not pub.status.last_error and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not pub.status.connected and "refused" in pub.status.last_error
        time.sleep(0.5)  # a few retries: told once in the log
        told = [r for r in caplog.records if r.name.startswith("pi_agent.fleet")]
        assert sum("refused" in r.getMessage() for r in told) == 1
        assert wrong not in caplog.text and wrong not in str(pub.status.to_json())
    finally:
        pub.stop()
        rig.close()
        broker.kill()
