"""The actions page offers only what the terminal's protocol can do."""

from __future__ import annotations

import dataclasses

from pi_agent import config
from pi_agent.terminal import registry

from ..terminal.test_registry import FAKE, fake, fake_config  # noqa: F401 (a fixture)
from .conftest import PASSWORD, Rig
from .test_actions import flash_after


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


def test_force_close_only_for_poslink_with_the_password_and_journaled(tmp_path) -> None:
    pax = Rig(tmp_path, protocol="poslink")
    try:
        pax.sim.terminal.add_transaction(1250)
        pax.sim.terminal.add_transaction(300)
        pax.sim.inject("host-down")  # the host will not take the batch: B00 is declined
        pax.login()
        pax.control.poll_now()
        html = pax.client.get("/actions").get_data(True)
        assert "/actions/force-close" in html and "/actions/settle" in html
        assert "/actions/clock" not in html and "/actions/sign-in" not in html
        said = flash_after(
            pax,
            pax.post("/actions/force-close", {"confirm": "yes", "password": "wrong wrong"}),
            "/actions",
        )
        assert "Wrong password" in said[0] and pax.sim.terminal.settled == []
        said = flash_after(
            pax, pax.post("/actions/force-close", {"password": PASSWORD}), "/actions"
        )
        assert "Tick the box" in said[0] and pax.sim.terminal.settled == []
        said = flash_after(
            pax,
            pax.post("/actions/force-close", {"confirm": "yes", "password": PASSWORD}),
            "/actions",
        )
        assert said[0].startswith("Settled"), said
        assert pax.sim.terminal.settled == [(1, 2, 1550)]
        [record] = pax.store.settlements()
        assert record.state == "ok" and record.reason == "force"
        assert "FORCE BATCH CLOSE" in record.receipt_lines
        # The policy never force-closes by itself: B00 failures only ever retry B00.
        assert [e for e in pax.store.events() if e["kind"] == "settlement"]
    finally:
        pax.close()


def test_no_force_close_for_zvt(rig: Rig) -> None:
    rig.login()
    assert "/actions/force-close" not in rig.client.get("/actions").get_data(True)
    assert (
        rig.post("/actions/force-close", {"confirm": "yes", "password": PASSWORD}).status_code
        == 404
    )
    assert rig.sim.terminal.settlements == 0


def test_the_page_switches_the_guard_to_poslink_over_http(rig: Rig) -> None:
    """Protocol and port on the settings page: POSLink's own fields replace ZVT's, an
    http:// port is POSLink's only, and a bad one is a field error with nothing saved."""
    from pi_agent.config import load

    from .test_routes import form_of

    rig.login()
    before = rig.config_path.read_bytes()
    data = {**form_of(rig), "terminal.protocol": "poslink", "confirm_password": PASSWORD}
    bad = rig.post("/config", {**data, "terminal.port": "http://10.0.0.5:10009/admin?x=1"})
    assert bad.status_code == 400 and "http://HOST:PORT" in bad.get_data(True)
    assert rig.config_path.read_bytes() == before
    zvt_http = rig.post("/config", {**form_of(rig), "terminal.port": "http://10.0.0.5:10009",
                                    "confirm_password": PASSWORD})  # fmt: skip
    assert zvt_http.status_code == 400 and rig.config_path.read_bytes() == before
    saved = rig.post("/config", {**data, "terminal.port": "http://10.0.0.5:10009"})
    assert saved.status_code == 303, saved.get_data(True)[:2000]
    cfg = load(rig.config_path)
    assert (cfg.terminal.protocol, cfg.terminal.port) == ("poslink", "http://10.0.0.5:10009")
    assert "password" not in dict(cfg.terminal.options)  # ZVT's password is dropped
    rig.agent.cfg = cfg  # what the reload does
    form = form_of(rig)
    assert "terminal.version" in form and "terminal.password" not in form
