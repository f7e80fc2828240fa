"""The page tells whether the guard reaches the chain's broker, since when, and why not
(the dashboard and /api/v1/status), in English and Chinese."""

from __future__ import annotations

import time
from pathlib import Path

from pi_agent.fleet import publisher as fleet
from tests.fleet.mosquitto import Broker, fleet_config
from tests.web.conftest import Rig, bearer


def test_the_dashboard_and_the_api_show_the_broker_connection(tmp_path: Path) -> None:
    broker = Broker(tmp_path).start()
    rig = Rig(tmp_path)
    rig.agent.cfg = fleet_config(rig.cfg, broker)
    pub = rig.control.fleet = fleet.attach(rig.agent, reconnect=(0.1, 0.5))
    try:
        rig.login()
        deadline = time.monotonic() + 5
        while not pub.status.connected and time.monotonic() < deadline:
            time.sleep(0.05)
        page = rig.client.get("/").get_data(as_text=True)
        assert "Chain broker (MQTT)" in page and f"127.0.0.1:{broker.port}" in page
        assert "connected since" in page
        broker.kill()
        while pub.status.connected and time.monotonic() < deadline + 5:
            time.sleep(0.05)
        zh = rig.client.get("/", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
        assert "连锁店服务器（MQTT）" in zh and "起未连接" in zh
        _, token = rig.auth.create_token("office", ["read"])
        status = rig.client.get("/api/v1/status", headers=bearer(token)).get_json()
        assert status["fleet"]["connected"] is False and status["fleet"]["last_error"]
        assert status["fleet"]["broker"] == f"127.0.0.1:{broker.port}"
        page = rig.client.get("/").get_data(as_text=True)
        assert "not connected since" in page and status["fleet"]["last_error"] in page
    finally:
        pub.stop()
        rig.close()
        broker.kill()


def test_without_the_fleet_the_dashboard_has_no_broker_card(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    try:
        rig.login()
        assert 'id="fleet"' not in rig.client.get("/").get_data(as_text=True)
    finally:
        rig.close()
