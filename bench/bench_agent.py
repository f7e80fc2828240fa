"""Agent benchmark: RSS after a steady run, cold start to the first successful poll, idle CPU.

Runs `settle-guard run` as the service would (its own process) against the simulator on a
pty, with the emulated OLED, mock pins and one push target (a local receiver) that gets a
message right after start. Targets: RSS <= 60 MB with everything loaded;
start <= 1.5 s; idle CPU <= 0.5 % of a core at a 15 s poll.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "notify"))

from bench_web import free_port  # noqa: E402
from procstat import cpu_seconds, rss_mb  # noqa: E402
from receiver import Receiver  # noqa: E402

from pi_agent import config  # noqa: E402
from pi_agent.notify.outbox import Draft, Outbox, target_id  # noqa: E402
from pi_agent.sim import SimServer, SimTerminal  # noqa: E402
from pi_agent.store import Store  # noqa: E402


def berlin_now() -> datetime:
    """The simulated terminal keeps the default config's shop time, as a real one would."""
    return datetime.now(ZoneInfo(config.Config().schedule.timezone)).replace(tzinfo=None)


def first_poll_at(db: Path) -> float | None:
    if not db.exists():
        return None
    try:
        with sqlite3.connect(db, timeout=1) as conn:
            row = conn.execute("SELECT 1 FROM readings WHERE kind = 'totals' LIMIT 1").fetchone()
    except sqlite3.Error:
        return None
    return time.monotonic() if row else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--idle-seconds", type=float, default=60.0)
    args = parser.parse_args()
    receiver = Receiver()  # a push target, so the notification path is loaded and used
    with (
        tempfile.TemporaryDirectory() as tmp,
        SimServer(SimTerminal(clock=berlin_now), link=Path(tmp) / "t") as sim,
    ):
        for amount in (1250, 4590, 899):
            sim.terminal.add_sale(amount)
        cfg = config.replace(config.Config(), "terminal", port=sim.url)
        cfg = config.replace(cfg, "store", path=str(Path(tmp) / "guard.db"))
        cfg = config.replace(cfg, "poll", interval_seconds=15)
        cfg = config.replace(cfg, "notify", targets=[{"url": receiver.url}])
        cfg = config.replace(cfg, "web", listen=f"127.0.0.1:{free_port()}")  # never the LAN
        store = Store(cfg.store.path)  # one message waiting: delivered right after start
        Outbox(store).put(Draft("bench", "notice", "warn", "bench", "waiting at start"),
                          target_id(receiver.url), datetime.now(ZoneInfo("UTC")))  # fmt: skip
        store.close()
        path = Path(tmp) / "config.toml"
        config.save(cfg, path)
        env = {**os.environ, "GPIOZERO_PIN_FACTORY": "mock"}
        start = time.monotonic()
        proc = subprocess.Popen(
            [sys.executable, "-m", "pi_agent", "run", "--config", str(path), "--log-level",
             "warning"], env=env, cwd=ROOT,
        )  # fmt: skip
        try:
            polled = None
            while polled is None and time.monotonic() - start < 30:
                polled = first_poll_at(Path(cfg.store.path))
                time.sleep(0.01)
            if polled is None:
                raise SystemExit("no successful poll within 30 s")
            print(f"cold start to first successful poll: {polled - start:.2f} s  (target <= 1.5 s)")
            time.sleep(5)  # settle in: scheduler, panel, first ticks
            cpu0, t0 = cpu_seconds(proc.pid), time.monotonic()
            time.sleep(args.idle_seconds)
            cpu = (cpu_seconds(proc.pid) - cpu0) / (time.monotonic() - t0) * 100
            print(f"idle CPU at a 15 s poll over {args.idle_seconds:g} s: {cpu:.2f} % of a core"
                  "  (target <= 0.5 %)")  # fmt: skip
            if not receiver.got:
                raise SystemExit("the waiting push was not delivered")
            print(f"RSS after a steady run with a push target, after its first delivery: "
                  f"{rss_mb(proc.pid):.1f} MB  (target <= 60 MB)")  # fmt: skip
        finally:
            proc.terminate()
            proc.wait(10)
            receiver.close()


if __name__ == "__main__":
    main()
