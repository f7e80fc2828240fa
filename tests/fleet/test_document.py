"""The state document and the events told between two of them (pure: plain dicts)."""

from __future__ import annotations

from pi_agent.fleet.document import events_between, steady


def doc(at: str = "10:00", alarms=(), last=None, minutes: int = 60, age: int | None = 5) -> dict:
    return {"shop_id": "s1", "at": at, "level": "urgent" if alarms else "ok",
            "alarms": list(alarms), "minutes_to_cutoff": minutes, "data_age_seconds": 3,
            "batch": {"count": 1, "oldest_sale_age_minutes": age},
            "last_settlement": last}  # fmt: skip


def test_a_document_that_only_ticks_on_is_steady() -> None:
    assert steady(doc("10:00", minutes=60, age=5)) == steady(doc("10:01", minutes=59, age=6))
    assert steady(doc()) != steady(doc(alarms=["open-batch"]))


def test_nothing_is_told_from_the_first_document() -> None:
    assert events_between(None, doc(alarms=["open-batch"], last={"id": 1, "state": "ok"})) == []


def test_alarms_raised_and_cleared() -> None:
    got = events_between(doc(alarms=["open-batch"]), doc(alarms=["terminal-dead"]))
    assert [(e["event"], e["alarm"]) for e in got] == [("alarm-raised", "terminal-dead"),
                                                       ("alarm-cleared", "open-batch")]  # fmt: skip
    assert got[0]["shop_id"] == "s1" and got[0]["level"] == "urgent"
    assert events_between(doc(alarms=["x"]), doc(alarms=["x"])) == []


def test_a_settlement_is_told_once_when_it_reaches_an_outcome() -> None:
    pending, ok = {"id": 7, "state": "pending"}, {"id": 7, "state": "ok", "total_minor": 10}
    assert events_between(doc(), doc(last=pending)) == []
    [settled] = events_between(doc(last=pending), doc(last=ok))
    assert settled["event"] == "settled" and settled["settlement"]["total_minor"] == 10
    assert events_between(doc(last=ok), doc(last=ok)) == []
    [failed] = events_between(doc(last=ok), doc(last={"id": 8, "state": "failed"}))
    assert failed["event"] == "settlement-failed"
