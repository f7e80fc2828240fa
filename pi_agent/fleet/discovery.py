"""Home Assistant MQTT discovery: the guard as one device with its sensors and buttons.

Every entity reads the one retained state document (state_topic + value_template) and
goes unavailable with the guard's availability topic (its last will). The "settle now"
button exists only while [fleet] allow_remote_settle is on; otherwise its config is
deleted (an empty retained payload). Its press names the batch open when the guard last
published (the config is sent again when the batch changes), so a press Home Assistant
kept from yesterday can never settle today's batch.
"""

from __future__ import annotations

import json
from typing import Any

from .. import __version__
from ..config import Config
from ..money import currency_alpha
from .topics import OFFLINE, ONLINE, Topics

SETTLE = ("button", "settle")  # (component, object id) of the "settle now" button


def _entities(currency: str) -> list[tuple[str, str, dict[str, Any]]]:
    """(component, object id, what is particular to it): names in the owner's words."""
    return [
        ("sensor", "level", {"name": "Level", "value_template": "{{ value_json.level }}",
                             "icon": "mdi:shield-check"}),
        ("sensor", "batch_total", {"name": "Open batch", "device_class": "monetary",
                                   "unit_of_measurement": currency,
                                   "value_template": "{{ value_json.batch.total }}"}),
        ("sensor", "batch_count", {"name": "Payments in the batch",
                                   "value_template": "{{ value_json.batch.count }}"}),
        ("sensor", "minutes_to_cutoff", {"name": "Minutes to cutoff", "device_class": "duration",
                                         "unit_of_measurement": "min",
                                         "value_template": "{{ value_json.minutes_to_cutoff }}"}),
        ("sensor", "terminal", {"name": "Terminal",
                                "value_template": "{{ value_json.terminal.condition }}"}),
        ("sensor", "last_settlement", {
            "name": "Last settlement",
            "value_template": "{{ value_json.last_settlement.state "
                              "if value_json.last_settlement else 'none' }}",
            "json_attributes_template": "{{ (value_json.last_settlement or {}) | tojson }}"}),
        ("sensor", "expected_payout", {
            "name": "Expected payout", "device_class": "date",
            "value_template": "{{ value_json.next_payout.expected_on "
                              "if value_json.next_payout else None }}"}),
        ("binary_sensor", "problem", {
            "name": "Problem", "device_class": "problem", "payload_on": "ON", "payload_off": "OFF",
            "value_template": "{{ 'ON' if value_json.problem else 'OFF' }}"}),
    ]  # fmt: skip


def messages(cfg: Config, batch_key: str | None) -> list[tuple[str, str]]:
    """(topic, retained payload) for every discovery config; "" deletes one."""
    fleet = cfg.fleet
    topics = Topics(fleet.prefix, fleet.shop_id, fleet.discovery_prefix)
    device = {"identifiers": [topics.node], "name": fleet.shop_name or fleet.shop_id,
              "manufacturer": "SettleGuard", "model": f"SettleGuard ({cfg.terminal.protocol})",
              "sw_version": __version__}  # fmt: skip
    common = {"availability_topic": topics.availability, "payload_available": ONLINE,
              "payload_not_available": OFFLINE, "device": device}  # fmt: skip
    out = []
    for component, object_id, own in _entities(currency_alpha(cfg.currency_code)):
        payload = {**own, "unique_id": f"{topics.node}_{object_id}", "state_topic": topics.state,
                   **common}  # fmt: skip
        if "json_attributes_template" in own:
            payload["json_attributes_topic"] = topics.state
        out.append((topics.discovery(component, object_id), _dump(payload)))
    ack = {"name": "Acknowledge alarms", "unique_id": f"{topics.node}_acknowledge",
           "command_topic": topics.command, "payload_press": _dump({"action": "acknowledge"}),
           "qos": 1, **common}  # fmt: skip
    out.append((topics.discovery("button", "acknowledge"), _dump(ack)))
    settle = ""
    if fleet.allow_remote_settle:
        settle = _dump({"name": "Settle now", "unique_id": f"{topics.node}_settle",
                        "command_topic": topics.command,
                        "payload_press": _dump({"action": "settle", "batch": batch_key}),
                        "qos": 1, **common})  # fmt: skip
    out.append((topics.discovery(*SETTLE), settle))
    return out


def _dump(value: dict[str, Any]) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
