"""API tokens: scopes chosen at creation with the password re-typed; a token may do only
what its scopes say; a password change lists them and offers to revoke them."""

from __future__ import annotations

import re

from .conftest import PASSWORD, Rig, bearer, flashes


def created(rig: Rig, data: dict) -> str | None:
    html = rig.post("/access/tokens", data).get_data(True)
    found = re.search(r'<pre class="token">([^<]+)</pre>', html)
    return found.group(1) if found else None


def test_creating_a_token_needs_the_password_and_a_scope(rig: Rig) -> None:
    rig.login()
    assert created(rig, {"name": "phone", "scope": "read"}) is None
    assert "needed for this" in " ".join(flashes(rig.client.get("/access").get_data(True)))
    assert created(rig, {"name": "phone", "scope": "read", "password": "wrong wrong"}) is None
    assert created(rig, {"name": "phone", "password": PASSWORD}) is None  # no scope
    assert rig.auth.tokens() == []
    token = created(rig, {"name": "phone", "scope": ["read", "acknowledge"],
                          "password": PASSWORD})  # fmt: skip
    assert token and token.startswith("sg_")
    [row] = rig.auth.tokens()
    assert row["scopes"] == ("read", "acknowledge")
    assert "acknowledge" in rig.client.get("/access").get_data(True)


def test_a_token_does_only_what_its_scopes_allow(rig: Rig) -> None:
    _, reader = rig.auth.create_token("display", {"read"})
    _, acker = rig.auth.create_token("button", {"acknowledge"})
    _, settler = rig.auth.create_token("office", {"read", "settle"})
    api = rig.app.test_client()
    assert api.get("/api/v1/status", headers=bearer(reader)).status_code == 200
    assert api.get("/api/v1/history/events", headers=bearer(reader)).status_code == 200
    assert api.post("/api/v1/settle", headers=bearer(reader),
                    json={"confirm": True}).status_code == 403  # fmt: skip
    assert api.post("/api/v1/acknowledge", headers=bearer(reader)).status_code == 403
    assert api.get("/api/v1/status", headers=bearer(acker)).status_code == 403
    assert api.post("/api/v1/acknowledge", headers=bearer(acker)).status_code == 200
    assert rig.agent.state.snoozed_until is not None  # the buzzer is snoozed as by the button
    assert rig.sim.terminal.settlements == 0
    rig.sim.terminal.add_sale(1000)
    rig.control.poll_now()
    r = api.post("/api/v1/settle", headers=bearer(settler), json={"confirm": True})
    assert r.status_code == 200 and rig.sim.terminal.settlements == 1
    assert rig.throttle.wait("127.0.0.1") == 0  # 403s are not failed logins


def test_a_password_change_lists_the_tokens_and_revokes_the_chosen(rig: Rig) -> None:
    rig.login()
    keep_id, keep = rig.auth.create_token("office pc", {"read"})
    drop_id, drop = rig.auth.create_token("old phone", {"read", "settle"})
    form = rig.client.get("/access").get_data(True).split('action="/access/password"')[1]
    form = form.split("</form>")[0]
    assert "office pc" in form and "old phone" in form
    assert f'name="revoke" value="{drop_id}"' in form
    r = rig.post(
        "/access/password",
        {
            "current": PASSWORD,
            "new": "brand new pass",
            "again": "brand new pass",
            "revoke": str(drop_id),
        },
    )
    assert r.status_code == 303
    api = rig.app.test_client()
    assert api.get("/api/v1/status", headers=bearer(keep)).status_code == 200
    assert api.get("/api/v1/status", headers=bearer(drop)).status_code == 401
    assert [t["id"] for t in rig.auth.tokens()] == [keep_id]
