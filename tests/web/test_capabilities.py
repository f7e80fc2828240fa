"""The actions page offers only what the terminal's protocol can do."""

from __future__ import annotations

import dataclasses

from pi_agent import config
from pi_agent.terminal import registry

from ..terminal.test_registry import FAKE, fake, fake_config  # noqa: F401 (a fixture)
from .conftest import Rig


def test_no_clock_or_diagnosis_button_for_a_protocol_without_them(rig: Rig, fake) -> None:  # noqa: F811
    rig.login()
    html = rig.client.get("/actions").get_data(True)
    assert "/actions/clock" in html and "/actions/diagnosis" in html  # ZVT has both
    rig.agent.cfg = fake_config(rig.agent.cfg)
    html = rig.client.get("/actions").get_data(True)
    assert "/actions/sign-in" in html and "/actions/settle" in html
    assert "/actions/clock" not in html and "/actions/diagnosis" not in html
    assert rig.post("/actions/clock").status_code == 404
    assert rig.post("/actions/diagnosis").status_code == 404
    assert not [e for e in rig.store.events() if e["kind"] in ("clock", "diagnosis")]


def test_no_settle_form_for_a_protocol_that_cannot_settle(rig: Rig) -> None:
    registry.register("watch-only", dataclasses.replace(
        FAKE, name="watch-only", capabilities=frozenset({registry.Capability.STATUS})))  # fmt: skip
    try:
        rig.login()
        rig.agent.cfg = config.replace(rig.agent.cfg, "terminal", protocol="watch-only")
        html = rig.client.get("/actions").get_data(True)
        assert "/actions/settle" not in html and "/actions/sign-in" not in html
        assert rig.post("/actions/settle", {"confirm": "yes"}).status_code == 404
        _, token = rig.auth.create_token("back office", scopes={"settle"})
        r = rig.app.test_client().post("/api/v1/settle", json={"confirm": True},
                                       headers={"Authorization": f"Bearer {token}"})  # fmt: skip
        assert r.status_code == 404 and rig.sim.terminal.settlements == 0
    finally:
        registry.unregister("watch-only")
