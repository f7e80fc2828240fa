"""`settle-guard run` as the appliance runs it: a subprocess against the simulator on a pty.

The service must start from a config file, poll the terminal into its store, drive the
(mock) panel, and stop cleanly on SIGTERM; a bad config must stop it with one clear line.
"""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from pi_agent import config
from pi_agent.sim import SimServer, SimTerminal

CLI = [sys.executable, "-m", "pi_agent"]


def start(cfg_path: Path, **env_extra: str) -> subprocess.Popen[str]:
    env = {**os.environ, "GPIOZERO_PIN_FACTORY": "mock", **env_extra}
    return subprocess.Popen(
        [*CLI, "run", "--config", str(cfg_path)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip


def loopback_port() -> int:
    """A port the OS hands out on loopback: a test never listens on the LAN or on 8080."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def readings(db_path: Path) -> list[str]:
    if not db_path.exists():
        return []
    db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        return [row[0] for row in db.execute("SELECT kind FROM readings")]
    except sqlite3.OperationalError:  # not migrated yet
        return []
    finally:
        db.close()


def test_run_polls_the_terminal_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    with SimServer(SimTerminal(), link=tmp_path / "term") as sim:
        sim.terminal.add_sale(1250, "visa")
        cfg = config.replace(config.Config(), "terminal", port=sim.url)
        cfg = config.replace(cfg, "store", path=str(tmp_path / "guard.db"))
        cfg = config.replace(cfg, "web", listen=f"127.0.0.1:{loopback_port()}")
        cfg_path = tmp_path / "config.toml"
        config.save(cfg, cfg_path)
        proc = start(cfg_path)
        try:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and proc.poll() is None:
                kinds = readings(tmp_path / "guard.db")
                if "status" in kinds and "totals" in kinds:
                    break
                time.sleep(0.2)
            assert proc.poll() is None, proc.communicate()[1]
            proc.send_signal(signal.SIGTERM)
            _, err = proc.communicate(timeout=20)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    assert "status" in kinds and "totals" in kinds, (kinds, err)
    assert "stopping" in err
    assert cfg.terminal.password not in err  # the terminal password never reaches the log


def test_run_with_a_bad_config_names_the_file_and_field(tmp_path: Path) -> None:
    cfg_path = tmp_path / "config.toml"
    cfg_path.write_text('[schedule]\ncutoff = "25:00"\n')
    done = subprocess.run([*CLI, "run", "--config", str(cfg_path)], capture_output=True,
                          text=True, timeout=60, check=False)  # fmt: skip
    assert done.returncode == 7
    assert "Traceback" not in done.stderr
    assert str(cfg_path) in done.stderr and "cutoff" in done.stderr


def test_run_with_a_missing_config_says_so(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    done = subprocess.run([*CLI, "run", "--config", str(missing)], capture_output=True,
                          text=True, timeout=60, check=False)  # fmt: skip
    assert done.returncode == 7, done.stderr
    assert "Traceback" not in done.stderr
    assert str(missing) in done.stderr
