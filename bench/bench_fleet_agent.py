"""The fleet's cost to the guard: extra RSS of `settle-guard run` with [fleet] on, and
extra CPU per tick. Target: <= 3 MB RSS.

RSS: the service in its own process (page off, mock pins, emulated OLED) against the
simulator, once without the fleet and once publishing to a Mosquitto on a loopback port,
each after a steady run. CPU: the agent in this process; ticks paced 5 ms apart so the
publisher's thread keeps up, CPU of the whole process (loop + publisher + paho), without
the fleet, with it (nothing changed: no message), and with a state sent every tick.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench_agent import berlin_now, first_poll_at  # noqa: E402
from procstat import rss_mb  # noqa: E402

from pi_agent import config  # noqa: E402
from pi_agent.agent import Agent  # noqa: E402
from pi_agent.clock import SystemClock  # noqa: E402
from pi_agent.sim import SimServer, SimTerminal  # noqa: E402
from pi_agent.store import Store  # noqa: E402
from pi_agent.terminal.zvt import ZvtTerminal  # noqa: E402
from tests.fleet.mosquitto import Broker  # noqa: E402


def service_rss(cfg: config.Config, tmp: Path, steady: float) -> float:
    path = tmp / "config.toml"
    config.save(cfg, path)
    env = {**os.environ, "GPIOZERO_PIN_FACTORY": "mock", "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "pi_agent", "run", "--config", str(path),
                             "--log-level", "warning"], env=env, cwd=ROOT)  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while first_poll_at(Path(cfg.store.path)) is None:
            if time.monotonic() > deadline:
                raise SystemExit("no successful poll within 30 s")
            time.sleep(0.05)
        time.sleep(steady)
        return rss_mb(proc.pid)
    finally:
        proc.terminate()
        proc.wait(10)


def tick_cpu(cfg: config.Config, sim: SimServer, tmp: Path, ticks: int, mode: str) -> float:
    """CPU ms per tick (median of 3 runs), mode: off, steady or changing."""
    from pi_agent.fleet import publisher as fleet

    terminal = ZvtTerminal(sim.url, backoff=(0.05, 0.2))
    terminal.wait_connected(5)
    store = Store(tmp / f"{mode}.db")
    agent = Agent(cfg, SystemClock(), terminal, store)
    agent.poll()
    pub = fleet.attach(agent) if mode != "off" else None
    if mode == "changing":
        fleet.HEARTBEAT = 0.0  # every tick's state goes out
    try:
        while pub is not None and not pub.status.connected:
            time.sleep(0.01)
        runs = []
        for _ in range(3):
            for _ in range(20):
                agent.tick()
            time.sleep(0.2)
            c0 = time.process_time()
            for _ in range(ticks):
                agent.tick()
                time.sleep(0.005)
            time.sleep(0.2)  # the publisher's last work
            runs.append((time.process_time() - c0) / ticks * 1000)
        return statistics.median(runs)
    finally:
        fleet.HEARTBEAT = 60.0
        if pub is not None:
            pub.stop()
        store.close()
        terminal.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steady-seconds", type=float, default=20.0)
    parser.add_argument("--ticks", type=int, default=500)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        broker = Broker(Path(tmp)).start()
        try:
            with SimServer(SimTerminal(clock=berlin_now), link=Path(tmp) / "t") as sim:
                sim.terminal.add_sale(1250)
                base = config.replace(config.Config(), "terminal", port=sim.url)
                base = config.replace(base, "web", enabled=False)
                base = config.replace(base, "poll", interval_seconds=15)
                on = config.replace(base, "fleet", enabled=True, broker=broker.url,
                                    shop_id="bench", shop_name="Bench shop")  # fmt: skip
                rss = {}
                for name, cfg in (("off", base), ("on", on)):
                    stored = config.replace(cfg, "store", path=str(Path(tmp) / f"{name}.db"))
                    rss[name] = service_rss(stored, Path(tmp), args.steady_seconds)
                print(f"RSS of settle-guard run (page off) after {args.steady_seconds:g} s: "
                      f"{rss['off']:.1f} MB without the fleet, {rss['on']:.1f} MB with it: "
                      f"+{rss['on'] - rss['off']:.1f} MB  (target <= 3 MB)")  # fmt: skip
                cpu = {m: tick_cpu(on, sim, Path(tmp), args.ticks, m)
                       for m in ("off", "steady", "changing")}  # fmt: skip
                print(f"CPU per tick (the whole process, median of 3 x {args.ticks} ticks): "
                      f"{cpu['off']:.3f} ms without the fleet; +{cpu['steady'] - cpu['off']:.3f}"
                      f" ms with it, nothing to send; +{cpu['changing'] - cpu['off']:.3f} ms "
                      "sending the state every tick")  # fmt: skip
        finally:
            broker.kill()


if __name__ == "__main__":
    main()
