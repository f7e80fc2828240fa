"""The state document a guard keeps on the broker, and the events between two of them.

Pure functions of data (no MQTT here): the publisher calls them on its own thread, the
tests with plain dicts. The state document is the snapshot's `to_json()` with the shop's
id and name; events are told once, from what changed between consecutive documents:

    alarm-raised / alarm-cleared   an alarm (a reason at urgent or worse) came or went
    settled / settlement-failed    a settlement in the journal reached that outcome
"""

from __future__ import annotations

from typing import Any

from ..snapshot import GuardSnapshot

# Keys that change with the clock alone: a document differing only there is not news
# (it still goes out once a minute as a heartbeat).
TICKING = ("at", "minutes_to_cutoff", "data_age_seconds")
TICKING_BATCH = ("oldest_sale_age_minutes",)
OUTCOMES = {"ok": "settled", "failed": "settlement-failed"}


def state_document(snap: GuardSnapshot, shop_id: str, shop_name: str) -> dict[str, Any]:
    return {"shop_id": shop_id, "shop_name": shop_name or shop_id, **snap.to_json()}


def steady(doc: dict[str, Any]) -> dict[str, Any]:
    """The document without what only ticks on: equal when nothing happened."""
    out = {k: v for k, v in doc.items() if k not in TICKING}
    batch = doc.get("batch")
    if isinstance(batch, dict):
        out["batch"] = {k: v for k, v in batch.items() if k not in TICKING_BATCH}
    return out


def events_between(before: dict[str, Any] | None, after: dict[str, Any]) -> list[dict[str, Any]]:
    """What happened from one document to the next. Nothing from the first one: a guard
    that restarts must not tell again what it told before (the state says it anyway)."""
    if before is None:
        return []
    head = {"shop_id": after.get("shop_id"), "at": after.get("at")}
    events: list[dict[str, Any]] = []
    old, new = before.get("alarms") or [], after.get("alarms") or []
    events += [{"event": "alarm-raised", **head, "alarm": a, "level": after.get("level")}
               for a in new if a not in old]  # fmt: skip
    events += [{"event": "alarm-cleared", **head, "alarm": a} for a in old if a not in new]
    last, prev = after.get("last_settlement"), before.get("last_settlement")
    if last and last.get("state") in OUTCOMES and _outcome(prev) != _outcome(last):
        events.append({"event": OUTCOMES[last["state"]], **head, "settlement": last})
    return events


def _outcome(last: dict[str, Any] | None) -> tuple[Any, Any] | None:
    return None if not last else (last.get("id"), last.get("state"))
