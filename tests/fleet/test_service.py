"""`settle-guard run` with [fleet] enabled: the service publishes, says "offline" when it
stops, its last will says it when it is killed; paho is imported only when enabled."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

from pi_agent import config, service
from pi_agent.fleet.topics import Topics
from pi_agent.sim import SimServer, SimTerminal
from tests.fleet.mosquitto import Broker, Watcher, fleet_config
from tests.fleet.test_acl import ACL, USERS
from tests.test_agent import Rig
from tests.test_service import start

TOPICS = Topics("settleguard", "shop-1")


def test_the_service_publishes_and_goes_offline_when_stopped_or_killed(tmp_path: Path) -> None:
    broker = Broker(tmp_path, users=USERS, acl=ACL).start()
    office = Watcher(broker.port, ["settleguard/#"], username="headoffice",
                     password=USERS["headoffice"])  # fmt: skip
    with SimServer(SimTerminal(), link=tmp_path / "term") as sim:
        sim.terminal.add_sale(1250, "visa")
        cfg = config.replace(config.Config(), "terminal", port=sim.url)
        cfg = config.replace(cfg, "store", path=str(tmp_path / "guard.db"))
        cfg = config.replace(cfg, "web", enabled=False)
        cfg = fleet_config(cfg, broker, username="shop-1", password=USERS["shop-1"])
        path = tmp_path / "config.toml"
        config.save(cfg, path)
        errs = []
        for ending in (signal.SIGTERM, signal.SIGKILL):
            proc = start(path)
            try:
                office.wait(lambda: office.last[TOPICS.availability] == b"online", 30)
                doc = office.wait(lambda: office.json(TOPICS.state), 30)
                assert doc["batch"]["total"] == "12.50" and doc["shop_id"] == "shop-1"
                cmdline = Path(f"/proc/{proc.pid}/cmdline").read_bytes()
                assert USERS["shop-1"].encode() not in cmdline
                proc.send_signal(ending)  # SIGTERM: a clean stop; SIGKILL: the last will
                errs.append(proc.communicate(timeout=30)[1])
                office.wait(lambda: office.last[TOPICS.availability] == b"offline", 10)
                office.last.pop(TOPICS.availability)
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.communicate()
    office.close()
    broker.kill()
    assert "fleet: connected to the broker" in errs[0] and "Traceback" not in errs[0]
    assert all(USERS["shop-1"] not in err for err in errs)


def test_paho_is_imported_only_when_the_fleet_is_enabled() -> None:
    script = """
import sys
from pi_agent import config, service
guard = service.Guard(config.Config(), None, None, None, None)
print(guard.attach_fleet(), "paho" in sys.modules, "pi_agent.fleet.publisher" in sys.modules)
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=60, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["None", "False", "False"]


def test_a_ca_file_that_is_no_certificate_leaves_the_guard_without_the_fleet(
    tmp_path: Path, caplog
) -> None:
    rig = Rig(tmp_path, mode="off")
    try:
        bad = tmp_path / "ca.pem"
        bad.write_text("not a certificate\n")
        cfg = config.replace(rig.cfg, "fleet", enabled=True, broker="mqtts://127.0.0.1:8883",
                             shop_id="shop-1", ca_file=str(bad))  # fmt: skip
        rig.agent.cfg = cfg
        guard = service.Guard(cfg, rig.terminal, rig.store, rig.agent, None)  # type: ignore[arg-type]
        assert guard.attach_fleet() is None
        assert "fleet not started" in caplog.text
        rig.sim.terminal.add_sale(500)
        assert rig.step().batch_count == 1  # the guard goes on
    finally:
        rig.close()
