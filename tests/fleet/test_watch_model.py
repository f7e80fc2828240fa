"""The watch's table without a broker: messages in, rows worst first, text and JSON out."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime, timedelta

import pytest

from pi_agent.fleet.simulate import ZONE, document, level_of, shop_id
from pi_agent.fleet.watch import MAX_DOCUMENT, Fleet, broker, parse_state, render
from pi_agent.guard.assessment import Level

NOW = datetime(2026, 11, 20, 21, 30, tzinfo=UTC)
AT = datetime(2026, 11, 20, 22, 30, tzinfo=ZONE)


def state(fleet: Fleet, n: int, payload: bytes | dict | None = None, *, retained=True) -> bool:
    body = document(n, AT) if payload is None else payload
    raw = json.dumps(body).encode() if isinstance(body, dict) else body
    return fleet.receive(f"settleguard/{shop_id(n)}/state", raw, retained=retained, now=NOW)


def link(fleet: Fleet, n: int, payload: bytes, *, retained=False, now=NOW) -> bool:
    topic = f"settleguard/{shop_id(n)}/availability"
    return fleet.receive(topic, payload, retained=retained, now=now)


def test_every_level_a_guard_publishes_reads_back() -> None:
    for level in Level:
        doc = document(3, AT, level)
        got = parse_state(shop_id(3), json.dumps(doc).encode())
        assert got.level == level.name.lower()
        assert got.name == "Shop 3" and got.minutes_to_cutoff == doc["minutes_to_cutoff"]
        assert got.alarms == tuple(doc["alarms"])
        assert (got.batch_count, got.batch_total, got.currency) == (
            doc["batch"]["count"], doc["batch"]["total"], "EUR")  # fmt: skip
        assert got.last_state == "ok" and got.last_verified is True


def test_rows_come_worst_first_offline_with_the_broken_ties_by_shop() -> None:
    fleet = Fleet("settleguard")
    for n in range(10):
        state(fleet, n)
        link(fleet, n, b"online")
    link(fleet, 1, b"offline")  # calm, but nobody can see it any more
    order = [(r.shop, r.state.level if r.state else None, r.offline) for r in fleet.sorted()]
    assert order == [
        ("shop-0001", "ok", True), ("shop-0007", "overdue", False),
        ("shop-0008", "fault", False), ("shop-0005", "urgent", False),
        ("shop-0003", "warn", False), ("shop-0002", "info", False),
        ("shop-0000", "ok", False), ("shop-0004", "ok", False), ("shop-0006", "ok", False),
        ("shop-0009", "ok", False),
    ]  # fmt: skip
    assert [level_of(n).name.lower() for n in (7, 8)] == ["overdue", "fault"]


def test_a_shop_known_only_by_its_birth_sorts_below_warn_above_info() -> None:
    fleet = Fleet("settleguard")
    for n in (2, 3, 11):
        state(fleet, n)
    link(fleet, 4, b"online")
    assert [r.shop for r in fleet.sorted()] == ["shop-0003", "shop-0004", "shop-0002", "shop-0011"]
    assert fleet.counts()["unknown"] == 1


@pytest.mark.parametrize(
    ("payload", "why"),
    [
        (b"{not json", "state is not JSON"),
        (b"\xff\xfe\x00", "state is not JSON"),
        (b"[" * 50_000 + b"]" * 50_000, "bytes (at most 65536)"),
        (b"[1, 2]", "not a JSON object"),
        (b"[" * 5000 + b"]" * 5000, "state is not JSON"),  # deeper than the parser goes
    ],
)  # fmt: skip
def test_what_is_not_a_state_document_is_counted_not_raised(payload: bytes, why: str) -> None:
    fleet = Fleet("settleguard")
    state(fleet, 5)
    assert state(fleet, 5, payload)
    assert why in fleet.bad["shop-0005"].why and fleet.bad_total == 1
    assert fleet.rows["shop-0005"].state.level == "urgent"  # the last good state stays


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"level": 3}, "level is not str"),
        ({"level": "panic"}, "level 'panic' is unknown"),
        ({"schema": True}, "schema is not int"),
        ({"schema": 99}, "schema 99 is newer"),
        ({"alarms": "open-batch"}, "alarms is not list"),
        ({"alarms": [1]}, "alarms are not all text"),
        ({"minutes_to_cutoff": "10"}, "minutes_to_cutoff is not int"),
        ({"minutes_to_cutoff": False}, "minutes_to_cutoff is not int"),
        ({"batch": None}, "batch is not dict (or missing)"),
        ({"batch": {"count": "3"}}, "batch.count is not int"),
        ({"last_settlement": {"at": "yesterday", "state": "ok"}}, "last_settlement.at is not a"),
        ({"last_settlement": {"at": "2026-11-20T22:00:00"}}, "last_settlement.state is not"),
        ({"shop": "shop-0001"}, "says it is shop 'shop-0001'"),
        ({"at": 5}, "state at is not str"),
    ],
)  # fmt: skip
def test_wrong_types_are_bad_data_from_that_shop(change: dict, why: str) -> None:
    fleet = Fleet("settleguard")
    doc = {**document(5, AT), **change}
    assert state(fleet, 5, doc)
    assert why in fleet.bad["shop-0005"].why
    assert "shop-0005" not in fleet.rows
    assert any(line.startswith("bad data from shop-0005: ") for line in render(fleet, NOW))


def test_an_older_guard_without_the_newer_keys_still_reads() -> None:
    doc = document(5, AT)
    for key in ("shop", "shop_name", "acknowledged", "last_settlement", "minutes_to_cutoff"):
        doc.pop(key)
    got = parse_state("shop-0005", json.dumps(doc).encode())
    assert (got.name, got.last_at, got.minutes_to_cutoff) == ("", None, None)


def test_a_topic_outside_the_layout_is_bad_data_from_that_topic() -> None:
    fleet = Fleet("settleguard")
    for topic in ("settleguard//state", "other/shop-0001/state", "settleguard/a/b/state",
                  "settleguard/shop-0001/event"):  # fmt: skip
        assert fleet.receive(topic, b"{}", retained=False, now=NOW)
    assert sorted(fleet.bad) == [
        "other/shop-0001/state",
        "settleguard//state",
        "settleguard/a/b/state",
        "settleguard/shop-0001/event",
    ]
    assert fleet.rows == {} and fleet.bad_total == 4


def test_availability_other_than_online_or_offline_is_bad_data() -> None:
    fleet = Fleet("settleguard")
    link(fleet, 2, b"online")
    assert link(fleet, 2, b"ONLINE please")
    assert fleet.rows["shop-0002"].link.online and "availability" in fleet.bad["shop-0002"].why


def test_an_empty_retained_state_removes_the_shop() -> None:
    fleet = Fleet("settleguard")
    state(fleet, 5)
    link(fleet, 5, b"online")
    state(fleet, 5, b"not json")
    assert state(fleet, 5, b"")
    assert "shop-0005" not in fleet.rows and "shop-0005" not in fleet.bad
    assert not state(fleet, 5, b"")  # nothing left to change


def test_online_since_when_it_changed_or_at_the_latest_when_learnt() -> None:
    fleet = Fleet("settleguard")
    link(fleet, 1, b"offline", retained=True)
    first = fleet.rows["shop-0001"].link
    assert not first.online and not first.exact  # retained: offline since then at the latest
    later = NOW + timedelta(minutes=5)
    assert not link(fleet, 1, b"offline", now=later)  # the same news: no change, same since
    assert link(fleet, 1, b"online", now=later)
    now_online = fleet.rows["shop-0001"].link
    assert now_online.online and now_online.exact and now_online.since == later
    row = fleet.to_json(later)["shops"][0]
    assert (row["online"], row["since"], row["since_exact"]) == (True, later.isoformat(), True)
    assert link(fleet, 1, b"")  # the link's retained message cleared, no state: gone
    assert fleet.rows == {}


def test_the_table_as_text() -> None:
    fleet = Fleet("settleguard")
    for n in (0, 8, 16):
        state(fleet, n)
        link(fleet, n, b"online")
    link(fleet, 16, b"offline")
    lines = render(fleet, NOW, title="fleet")
    assert lines[0] == "fleet  3 shops: 1 offline, 1 fault, 2 ok  21:30:00"
    assert lines[2].split() == ["LEVEL", "SHOP", "OPEN", "BATCH", "CUTOFF", "LAST", "SETTLED",
                                "LINK", "ALARMS"]  # fmt: skip
    assert lines[3].startswith("FAULT") and "shop-0008 Shop 8" in lines[3]
    assert "11 / 137.58 EUR" in lines[3] and "in 1:30" in lines[3] and "terminal-dead" in lines[3]
    assert lines[4].startswith("OK") and "OFFLINE since 21:30" in lines[4]
    assert "failed, unverified" in lines[4]  # shop 16's last settlement failed
    assert lines[5].startswith("OK") and "empty" in lines[5] and "in 5:00" in lines[5]
    assert "\x1b" not in "".join(lines)
    coloured = render(fleet, NOW, colour=True)
    assert coloured[3].startswith("\x1b[1;31mFAULT") and coloured[4].startswith("\x1b[1;31mOK")


def test_overdue_counts_minutes_past_the_cutoff() -> None:
    fleet = Fleet("settleguard")
    state(fleet, 7)
    assert "0:35 past" in render(fleet, NOW)[3]


def test_a_shop_name_cannot_move_the_cursor() -> None:
    fleet = Fleet("settleguard")
    state(fleet, 1, {**document(1, AT), "shop_name": "Evil\x1b[2J\x1b[H shop"})
    text = "\n".join(render(fleet, NOW))
    assert "\x1b" not in text and "Evil?[2J?[H shop" in text


def test_a_small_screen_shows_the_worst_and_how_many_more() -> None:
    fleet = Fleet("settleguard")
    for n in range(40):
        state(fleet, n)
    state(fleet, 41, b"garbage")
    lines = render(fleet, NOW, width=50, height=12)
    assert len(lines) == 12 and all(len(line) <= 50 for line in lines)
    shown = [line.split()[:2] for line in lines[3:9]]  # six rows fit: rank 0, ties by shop
    assert shown == [
        ["OVERDUE", "shop-0007"],
        ["FAULT", "shop-0008"],
        ["OVERDUE", "shop-0017"],
        ["FAULT", "shop-0018"],
        ["OVERDUE", "shop-0027"],
        ["FAULT", "shop-0028"],
    ]
    assert lines[10] == "... and 34 more shops"
    assert any(line.startswith("... and ") and "more shops" in line for line in lines)
    assert lines[-1].startswith("bad data from shop-0041")
    assert len(render(fleet, NOW, height=60)) == 3 + 40 + 2  # room for all: no "... more"


def test_the_json_snapshot() -> None:
    fleet = Fleet("settleguard")
    state(fleet, 8)
    state(fleet, 9, b"{")
    doc = json.loads(json.dumps(fleet.to_json(NOW)))
    assert doc["counts"]["shops"] == 1 and doc["counts"]["fault"] == 1
    assert doc["bad"] == [{"from": "shop-0009", "count": 1, "why": "state is not JSON"}]
    shop = doc["shops"][0]
    assert shop["shop"] == "shop-0008" and shop["level"] == "fault" and shop["online"] is None
    assert shop["batch"] == {"count": 11, "total": "137.58", "currency": "EUR"}
    assert shop["alarms"] == ["terminal-dead"] and shop["last_settlement"]["verified"] is True


@pytest.mark.parametrize(
    ("url", "expected"),
    [("mqtt://broker.example", (False, "broker.example", 1883)),
     ("mqtts://broker.example", (True, "broker.example", 8883)),
     ("mqtt://127.0.0.1:1999/", (False, "127.0.0.1", 1999))],
)  # fmt: skip
def test_broker_urls(url: str, expected: tuple) -> None:
    got = broker(url)
    assert (got.tls, got.host, got.port) == expected


@pytest.mark.parametrize(
    "url", ["http://h", "mqtt://", "mqtt://u:p@h", "mqtt://h/x", "mqtt://h:99999", "mqtt://h?a=1"]
)
def test_broker_urls_refused(url: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        broker(url)


def test_the_document_limit_is_64_kb() -> None:
    doc = {**document(1, AT), "pad": ""}
    doc["pad"] = "x" * (MAX_DOCUMENT - len(json.dumps(doc)))
    assert len(json.dumps(doc)) == MAX_DOCUMENT
    assert parse_state("shop-0001", json.dumps(doc).encode()).level == "ok"
    doc["pad"] += "x"
    with pytest.raises(ValueError, match="65537 bytes"):
        parse_state("shop-0001", json.dumps(doc).encode())


def test_an_online_guard_whose_state_stopped_coming_is_silent_and_sorts_first() -> None:
    """The guard sends its state at least once a minute: three missed and it is silent, even
    though its availability still says online (its loop stuck, or its clock far off)."""
    fleet = Fleet("settleguard")
    for n in (1, 2):
        state(fleet, n, document(n, AT, Level.OK))
        link(fleet, n, b"online")
    later = NOW + timedelta(minutes=4)
    state(fleet, 2, document(2, AT + timedelta(minutes=4), Level.OK))  # shop 2 goes on
    rows = fleet.sorted(later)
    assert [r.shop for r in rows] == [shop_id(1), shop_id(2)]
    assert rows[0].silent(later) and not rows[1].silent(later)
    assert not rows[0].silent(NOW + timedelta(minutes=2))  # two missed beats: not yet
    doc = fleet.to_json(later)
    assert doc["counts"]["silent"] == 1 and doc["shops"][0]["silent"] is True
    text = "\n".join(render(fleet, later))
    assert "SILENT since" in text and "1 silent" in text
