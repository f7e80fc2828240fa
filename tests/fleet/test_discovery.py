"""Home Assistant discovery payloads use only keys Home Assistant documents, carry the
ones it requires, and tie every entity to one device that goes unavailable with the guard."""

from __future__ import annotations

import json

import pytest

from pi_agent import config
from pi_agent.fleet import discovery
from pi_agent.fleet.topics import Topics

# Keys documented by Home Assistant for entities configured through MQTT discovery, from
# the "Configuration Variables" of its pages "MQTT Sensor" (integrations/sensor.mqtt),
# "MQTT Binary sensor" (integrations/binary_sensor.mqtt) and "MQTT button"
# (integrations/button.mqtt); the device's keys from the "device" map on the same pages.
COMMON = {
    "availability", "availability_mode", "availability_template", "availability_topic",
    "device", "enabled_by_default", "encoding", "entity_category", "entity_picture",
    "icon", "json_attributes_template", "json_attributes_topic", "name", "object_id",
    "default_entity_id", "payload_available", "payload_not_available", "platform", "qos",
    "unique_id",
}  # fmt: skip
DOCUMENTED = {
    "sensor": COMMON | {"device_class", "expire_after", "force_update",
                        "last_reset_value_template", "options", "state_class", "state_topic",
                        "suggested_display_precision", "unit_of_measurement",
                        "value_template"},
    "binary_sensor": COMMON | {"device_class", "expire_after", "force_update", "off_delay",
                               "payload_off", "payload_on", "state_topic", "value_template"},
    "button": COMMON | {"command_template", "command_topic", "device_class", "payload_press",
                        "retain"},
}  # fmt: skip
REQUIRED = {"sensor": {"state_topic"}, "binary_sensor": {"state_topic"},
            "button": {"command_topic"}}  # fmt: skip
DEVICE_KEYS = {"configuration_url", "connections", "hw_version", "identifiers", "manufacturer",
               "model", "model_id", "name", "serial_number", "suggested_area", "sw_version",
               "via_device"}  # fmt: skip
# What we promise on top: every entity is unique, tied to the device, and unavailable
# when the guard is (its last will).
OURS = {"unique_id", "device", "availability_topic", "payload_available",
        "payload_not_available"}  # fmt: skip
TOPICS = Topics("settleguard", "shop-1")


def fleet(**extra: object) -> config.Config:
    return config.replace(config.Config(), "fleet", enabled=True, broker="mqtt://broker.lan",
                          shop_id="shop-1", shop_name="Corner Café", **extra)  # fmt: skip


def payloads(cfg: config.Config) -> dict[tuple[str, str], dict]:
    out = {}
    for topic, raw in discovery.messages(cfg, "zvt:batch-7"):
        prefix, component, node, object_id, tail = topic.split("/")
        assert (prefix, node, tail) == ("homeassistant", "settleguard_shop-1", "config")
        out[component, object_id] = json.loads(raw) if raw else None
    return out


@pytest.mark.parametrize("allow", [False, True])
def test_every_payload_uses_documented_keys_and_carries_the_required(allow: bool) -> None:
    found = payloads(fleet(allow_remote_settle=allow))
    for (component, object_id), payload in found.items():
        if payload is None:
            continue
        keys = set(payload)
        assert keys <= DOCUMENTED[component], (object_id, keys - DOCUMENTED[component])
        assert REQUIRED[component] | OURS <= keys, object_id
        assert set(payload["device"]) <= DEVICE_KEYS
        assert payload["availability_topic"] == TOPICS.availability
        assert payload.get("state_topic", TOPICS.state) == TOPICS.state
        assert payload.get("command_topic", TOPICS.command) == TOPICS.command
    ids = [p["unique_id"] for p in found.values() if p]
    assert len(ids) == len(set(ids))


def test_one_device_with_the_shops_name_and_the_entities_asked_for() -> None:
    found = payloads(fleet(allow_remote_settle=True))
    assert set(found) == {
        ("sensor", "level"), ("sensor", "batch_total"), ("sensor", "batch_count"),
        ("sensor", "minutes_to_cutoff"), ("sensor", "terminal"), ("sensor", "last_settlement"),
        ("sensor", "expected_payout"), ("binary_sensor", "problem"), ("button", "acknowledge"),
        ("button", "settle"),
    }  # fmt: skip
    devices = {json.dumps(p["device"], sort_keys=True) for p in found.values()}
    [device] = [json.loads(d) for d in devices]
    assert device["identifiers"] == ["settleguard_shop-1"] and device["name"] == "Corner Café"
    assert device["manufacturer"] == "SettleGuard" and device["sw_version"]
    total = found["sensor", "batch_total"]
    assert (total["device_class"], total["unit_of_measurement"]) == ("monetary", "EUR")
    assert found["sensor", "minutes_to_cutoff"]["unit_of_measurement"] == "min"
    assert found["sensor", "expected_payout"]["device_class"] == "date"
    assert found["binary_sensor", "problem"]["device_class"] == "problem"
    assert json.loads(found["button", "acknowledge"]["payload_press"]) == {"action": "acknowledge"}
    press = json.loads(found["button", "settle"]["payload_press"])
    assert press == {"action": "settle", "batch": "zvt:batch-7"}  # the batch it was shown for


def test_without_remote_settle_the_settle_button_is_deleted() -> None:
    found = payloads(fleet())
    assert found["button", "settle"] is None  # an empty retained payload removes it
    assert found["button", "acknowledge"] is not None


def test_the_unit_is_the_terminals_currency() -> None:
    cfg = config.replace(fleet(), "terminal", currency="CNY")
    assert payloads(cfg)["sensor", "batch_total"]["unit_of_measurement"] == "CNY"
