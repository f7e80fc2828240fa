"""No secret ever leaves: recognisable terminal password and push token are configured, then
every page, API answer, download without the password and log record is searched."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from pi_agent.config import Target
from pi_agent.notify.deliver import Deliverer

from .conftest import PASSWORD, PUSH_SECRET, TERMINAL_SECRET, Rig
from .test_routes import form_of, url_for_rule

SECRETS = (TERMINAL_SECRET, PUSH_SECRET, PASSWORD)


def test_no_secret_in_any_page_api_answer_or_log(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    # The push target is unreachable, so its failure (with the URL's reasons) is logged too.
    target = Target(f"json://user:{PUSH_SECRET}@127.0.0.1:9/{PUSH_SECRET}", "info")
    rig = Rig(tmp_path, targets=(target,))
    deliverer = Deliverer(rig.cfg, rig.clock).start()
    rig.agent.on_queued = deliverer.wake
    bodies: list[bytes] = []
    try:
        rig.sim.terminal.add_sale(1234)
        rig.login()
        _, token = rig.auth.create_token("phone", {"read"})
        # Actions first, so their traces are in the history pages and the logs.
        for url in ("/tests/poll", "/tests/buzzer", "/tests/oled", "/actions/sign-in",
                    "/actions/clock"):  # fmt: skip
            rig.post(url)
        bodies.append(rig.post("/tests/push", {"target": "1"}).data)
        rig.post("/actions/settle", {"confirm": "yes", "password": PASSWORD})
        bodies.append(rig.post("/config", {**form_of(rig), "schedule.cutoff": "99:99"})
                      .data)  # fmt: skip
        rig.post("/config", {**form_of(rig), "schedule.cutoff": "23:10"})
        bodies.append(rig.client.get("/config/backup").data)
        for rule in rig.app.url_map.iter_rules():
            if "GET" not in rule.methods or rule.endpoint == "static":
                continue
            url = url_for_rule(rule)
            if rule.endpoint.startswith("api."):
                for kind in ("events", "settlements", "payouts"):
                    r = rig.client.get(url.replace("/events", f"/{kind}"),
                                       headers={"Authorization": f"Bearer {token}"})  # fmt: skip
                    bodies.append(r.data)
            else:
                for kind in ("events", "settlements", "payouts"):
                    bodies.append(rig.client.get(url.replace("/events", f"/{kind}"))
                                  .data)  # fmt: skip
        assert len(bodies) > 20
    finally:
        deliverer.stop()
        rig.close()
    logs = [r.getMessage() for r in caplog.records]
    logs += [str(r.exc_info) for r in caplog.records if r.exc_info]
    assert any("push" in line for line in logs)  # the failed push was logged ...
    for secret in SECRETS:
        for body in bodies:
            assert secret.encode() not in body
        for line in logs:
            assert secret not in line  # ... without its token
    assert "settle-guard.web" in {r.name for r in caplog.records}
