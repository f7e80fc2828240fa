"""The agent's one snapshot per tick: every listener gets the same value, built only when
someone listens; a listener that fails never stops the guard."""

from __future__ import annotations

import json
from pathlib import Path

from pi_agent.guard.assessment import Level
from pi_agent.snapshot import GuardSnapshot
from tests.test_agent import Rig, berlin


def test_each_tick_hands_listeners_one_snapshot(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    got: list[GuardSnapshot] = []
    rig.agent.subscribe(got.append)
    try:
        rig.sim.terminal.add_sale(1250, "girocard")
        rig.at(berlin(20, 10))
        rig.step()
        snap = got[-1]
        assert snap.level is Level.OK and (snap.batch_count, snap.batch_total) == (1, 1250)
        assert snap.batch_key == rig.agent.state.batch_key and snap.oldest_sale_estimated
        doc = json.loads(json.dumps(snap.to_json()))
        assert doc["batch"]["total"] == "12.50" and doc["batch"]["currency"] == "EUR"
        assert doc["minutes_to_cutoff"] == 13 * 60 and doc["terminal"]["answering"]
        assert doc["last_settlement"] is None and doc["next_payout"] is None
        rig.at(berlin(20, 22, 30))
        rig.step()  # auto-settle, verified; its payout is expected Monday
        doc = got[-1].to_json()
        assert doc["last_settlement"]["state"] == "ok" and doc["last_settlement"]["verified"]
        assert doc["last_settlement"]["total_minor"] == 1250
        assert doc["next_payout"] == {"expected_on": "2026-11-23", "amount_minor": 1250,
                                      "amount": "12.50", "currency": "EUR"}  # fmt: skip
        assert doc["batch"]["count"] == 0 and doc["batch"]["oldest_sale_age_minutes"] is None
    finally:
        rig.close()


def test_a_failing_listener_never_stops_the_guard(tmp_path: Path) -> None:
    rig = Rig(tmp_path, mode="off")
    seen: list[GuardSnapshot] = []

    def broken(snap: GuardSnapshot) -> None:
        raise RuntimeError("listener broke")

    rig.agent.subscribe(broken)
    rig.agent.subscribe(seen.append)
    try:
        rig.sim.terminal.add_sale(1000)
        rig.at(berlin(20, 22, 50))
        a = rig.step()
        assert a.level is Level.URGENT  # the tick ran to its end
        assert seen[-1].level is Level.URGENT  # the next listener still got it
        assert seen[-1].alarms == ("open-batch",)
        rig.at(berlin(20, 22, 51))
        rig.step()
        assert len(seen) == 2
    finally:
        rig.close()


def test_no_listener_no_snapshot(tmp_path: Path, monkeypatch) -> None:
    rig = Rig(tmp_path)
    built: list[object] = []
    monkeypatch.setattr(rig.agent, "_snapshot", lambda *a: built.append(a))
    try:
        rig.step()
        assert built == []
    finally:
        rig.close()
