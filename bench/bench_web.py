"""Web page benchmark: dashboard response time under 20 concurrent clients on loopback, and
the guard's RSS without the page, with it idle, and after the load.

Runs `settle-guard run` (its own process, emulated OLED, mock pins) against the simulator
on a pty, once with `[web] enabled = false` and once with the page on 127.0.0.1; each
client logs in with its own session and loads the dashboard (which reads a snapshot from
the guard's loop, the 30-day chart from SQLite and the live OLED PNG) in a loop.
"""

from __future__ import annotations

import argparse
import functools
import http.client
import http.cookiejar
import os
import re
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from procstat import rss_mb  # noqa: E402

from pi_agent import config  # noqa: E402
from pi_agent.sim import SimServer, SimTerminal  # noqa: E402

PASSWORD = "bench password 1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(check, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except OSError:
            pass
        time.sleep(0.05)
    raise SystemExit("timed out waiting for the guard")


class FromAddress(urllib.request.HTTPHandler):
    """Connections from one loopback address: the page allows 10 per address, so each
    simulated visitor comes from a machine of its own (127.0.0.N), as on a shop LAN."""

    def __init__(self, source: str) -> None:
        super().__init__()
        self.source = source

    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(functools.partial(http.client.HTTPConnection,
                                              source_address=(self.source, 0)), req)  # fmt: skip


class Client:
    def __init__(self, base: str, source: str = "127.0.0.1") -> None:
        self.base = base
        jar = urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        self.opener = urllib.request.build_opener(jar, FromAddress(source))

    def get(self, path: str) -> bytes:
        with self.opener.open(self.base + path, timeout=60) as r:
            return r.read()

    def login(self) -> None:
        csrf = re.search(rb'name="csrf" value="([^"]+)"', self.get("/login")).group(1).decode()
        data = urllib.parse.urlencode({"csrf": csrf, "password": PASSWORD}).encode()
        with self.opener.open(self.base + "/login", data=data, timeout=60) as r:
            r.read()


def start_guard(tmp: Path, sim: SimServer, web: bool, port: int) -> subprocess.Popen[bytes]:
    cfg = config.replace(config.Config(), "terminal", port=sim.url)
    cfg = config.replace(cfg, "store", path=str(tmp / "guard.db"))
    cfg = config.replace(cfg, "poll", interval_seconds=15)
    cfg = config.replace(cfg, "web", enabled=web, listen=f"127.0.0.1:{port}")
    path = tmp / "config.toml"
    config.save(cfg, path)
    subprocess.run([sys.executable, "-m", "pi_agent", "passwd", "--config", str(path)],
                   input=f"{PASSWORD}\n{PASSWORD}\n".encode(), check=True, cwd=ROOT,
                   capture_output=True)  # fmt: skip
    env = {**os.environ, "GPIOZERO_PIN_FACTORY": "mock"}
    return subprocess.Popen([sys.executable, "-m", "pi_agent", "run", "--config", str(path),
                             "--log-level", "warning"], env=env, cwd=ROOT)  # fmt: skip


def polled(db: Path) -> bool:
    if not db.exists():
        return False
    try:
        with sqlite3.connect(db, timeout=1) as conn:
            return (
                conn.execute("SELECT 1 FROM readings WHERE kind = 'totals'").fetchone() is not None
            )
    except sqlite3.Error:
        return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--requests", type=int, default=25, help="dashboard loads per client")
    args = parser.parse_args()
    run_guard(False, args)
    run_guard(True, args)


def run_guard(web: bool, args: argparse.Namespace) -> None:
    with (
        tempfile.TemporaryDirectory() as tmpdir,
        SimServer(SimTerminal(), link=Path(tmpdir) / "t") as sim,
    ):
        for amount in (1250, 4590, 899):
            sim.terminal.add_sale(amount)
        port = free_port()
        proc = start_guard(Path(tmpdir), sim, web, port)
        try:
            wait_until(lambda: polled(Path(tmpdir) / "guard.db"))
            time.sleep(3)
            if not web:
                print(f"RSS without the page ([web] enabled = false): {rss_mb(proc.pid):.1f} MB")
                return
            base = f"http://127.0.0.1:{port}"
            wait_until(lambda: Client(base).get("/login") != b"")
            print(f"RSS with the page, before any visit: {rss_mb(proc.pid):.1f} MB")
            measure(base, args.clients, args.requests)
            print(f"RSS with the page after the load: {rss_mb(proc.pid):.1f} MB"
                  "  (target about 60 MB)")  # fmt: skip
        finally:
            proc.terminate()
            proc.wait(10)


def measure(base: str, clients: int, requests: int) -> None:
    sessions = [Client(base, f"127.0.0.{10 + n}") for n in range(clients)]
    for s in sessions:
        s.login()
        s.get("/")  # warm: templates compiled, first snapshot taken
    times: list[float] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    start = threading.Barrier(clients)

    def run(s: Client) -> None:
        start.wait()
        try:
            for _ in range(requests):
                t0 = time.perf_counter()
                page = s.get("/")
                s.get("/oled.png")
                took = time.perf_counter() - t0
                assert b'id="oled"' in page
                with lock:
                    times.append(took)
        except (OSError, AssertionError) as exc:  # a figure from fewer answers would lie
            with lock:
                errors.append(exc)

    threads = [threading.Thread(target=run, args=(s,)) for s in sessions]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    if errors:
        raise SystemExit(f"{len(errors)} of {clients} clients failed: {errors[0]!r}")
    times.sort()
    p95 = times[int(len(times) * 0.95) - 1]
    print(f"dashboard + OLED image, {clients} concurrent clients x {requests} on loopback: "
          f"median {statistics.median(times) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, "
          f"{len(times) / wall:.0f} dashboards/s")  # fmt: skip
    one = Client(base)
    one.login()
    solo = []
    for _ in range(30):
        t0 = time.perf_counter()
        one.get("/")
        solo.append(time.perf_counter() - t0)
    print(f"dashboard alone (one client): median {statistics.median(solo) * 1000:.1f} ms")


if __name__ == "__main__":
    main()
