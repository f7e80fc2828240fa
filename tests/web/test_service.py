"""`settle-guard run` serves the page: a subprocess against the simulator, spoken to over
real HTTP on loopback; a saved config rebuilds the guard; a busy port never stops it."""

from __future__ import annotations

import http.cookiejar
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

from pi_agent import config
from pi_agent.sim import SimServer, SimTerminal

from ..test_service import loopback_port as free_port
from ..test_service import readings, start
from ..test_watchdog import FakeSystemd
from .conftest import PASSWORD
from .test_routes import form_fields

CLI = [sys.executable, "-m", "pi_agent"]


class Browser:
    def __init__(self, base: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))  # fmt: skip

    def get(self, path: str) -> str:
        with self.opener.open(self.base + path, timeout=30) as r:
            return r.read().decode()

    def post(self, path: str, form: dict[str, object], page: str) -> str:
        csrf = re.search(r'name="csrf" value="([^"]+)"', self.get(page)).group(1)
        data = urllib.parse.urlencode({"csrf": csrf, **form}, doseq=True).encode()
        with self.opener.open(self.base + path, data=data, timeout=60) as r:
            return r.read().decode()


def wait_for(check, seconds: float = 30) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.2)
    return False


def service_config(tmp_path: Path, sim: SimServer, listen: str) -> Path:
    cfg = config.replace(config.Config(), "terminal", port=sim.url)
    cfg = config.replace(cfg, "store", path=str(tmp_path / "guard.db"))
    cfg = config.replace(cfg, "web", listen=listen)
    path = tmp_path / "config.toml"
    config.save(cfg, path)
    return path


def stop(proc: subprocess.Popen[str]) -> str:
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    return err


def test_the_service_serves_the_page_and_applies_a_saved_config(tmp_path: Path) -> None:
    port = free_port()
    with SimServer(SimTerminal(), link=tmp_path / "term") as sim:
        sim.terminal.add_sale(1250, "visa")
        path = service_config(tmp_path, sim, f"127.0.0.1:{port}")
        done = subprocess.run([*CLI, "passwd", "--config", str(path)],
                              input=f"{PASSWORD}\n{PASSWORD}\n", text=True,
                              capture_output=True, timeout=60, check=False)  # fmt: skip
        assert done.returncode == 0, done.stderr
        systemd = FakeSystemd(tmp_path / "notify")
        proc = start(path, NOTIFY_SOCKET=str(tmp_path / "notify"))
        try:
            browser = Browser(f"http://127.0.0.1:{port}")

            def up() -> bool:
                try:
                    return "password" in browser.get("/login")
                except OSError:
                    return False

            assert wait_for(up), proc.poll()
            page = browser.post("/login", {"password": PASSWORD}, "/login")
            assert "12.50" in page or wait_for(lambda: "12.50" in browser.get("/"))
            form = browser.get("/config")
            assert f'name="web.listen" value="127.0.0.1:{port}"' in form
            # The cutoff changes on the page: saved, and the guard restarts with it.
            browser.post("/config", {**form_fields(form), "schedule.cutoff": "23:40",
                                    "confirm_password": PASSWORD}, "/config")  # fmt: skip
            assert wait_for(lambda: config.load(path).schedule.cutoff.strftime("%H:%M")
                            == "23:40")  # fmt: skip
            assert wait_for(lambda: "23:40" in browser.get("/"))  # the rebuilt guard's cutoff
            assert "Configuration" in browser.get("/config")  # the same session goes on
            assert wait_for(lambda: systemd.messages.count("READY=1") == 2)
        finally:
            err = stop(proc) if proc.poll() is None else proc.communicate()[1]
            systemd.close()
    # systemd hears a reload, not a stop: STOPPING=1 would make it wait for the process to
    # end and kill it after TimeoutStopSec, though it goes on guarding.
    told = [m for m in systemd.messages if m != "WATCHDOG=1"]
    assert told == ["READY=1", "RELOADING=1", "READY=1", "STOPPING=1"], told
    assert "configuration changed: restarting the guard" in err, err
    assert f"web page on http://127.0.0.1:{port}/" in err
    assert "Traceback" not in err and PASSWORD not in err


def test_a_busy_port_leaves_the_guard_running_without_its_page(tmp_path: Path) -> None:
    with socket.socket() as taken, SimServer(SimTerminal(), link=tmp_path / "term") as sim:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        path = service_config(tmp_path, sim, f"127.0.0.1:{taken.getsockname()[1]}")
        proc = start(path)
        try:
            assert wait_for(lambda: "totals" in readings(tmp_path / "guard.db"))
            assert proc.poll() is None
        finally:
            err = stop(proc)
    assert "web page not started: cannot listen on" in err
