"""Fleet benchmark: 1,000 simulated guards on one local Mosquitto, watched by `fleet watch`.

Starts Mosquitto on a free loopback port, a live `settle-guard fleet watch --json`, then
the guards: a few simulator processes (pi_agent/fleet/simulate.py), each holding hundreds
of MQTT connections (one per guard, with its last will, birth and retained state) in one
selector loop. Prints how long until the watch has seen every guard online with its state
(goal: 5 s), how long a watch started afterwards needs for the retained table, how long
until it sees every guard offline once the simulators are killed (last wills), and the
broker's resident memory (from /proc) along the way.

One connection per guard needs file descriptors: about one per guard in the broker and
three per guard in a simulator (paho keeps a socket pair besides each connection). The
soft RLIMIT_NOFILE is raised towards the hard limit when it is lower than that; the
broker and the simulators inherit it.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import resource
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from procstat import cpu_seconds, rss_mb  # noqa: E402

from pi_agent.fleet.simulate import LocalBroker  # noqa: E402

PATH = os.pathsep.join(filter(None, (str(ROOT), os.environ.get("PYTHONPATH"))))
ENV = {**os.environ, "PYTHONPATH": PATH}


def raise_fd_limit(need: int) -> str:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= need:
        return f"open files: soft limit {soft} already enough for {need}"
    new = need if hard == resource.RLIM_INFINITY else min(need, hard)
    resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
    return f"open files: soft limit raised from {soft} to {new} (hard {hard}) for {need}"


class Watcher:
    """A live `fleet watch --json`; `until` reads its tables until one passes a check."""

    def __init__(self, url: str) -> None:
        self.started = time.monotonic()
        self.proc = subprocess.Popen([sys.executable, "-m", "pi_agent", "fleet", "watch",
                                      "--broker", url, "--json"], env=ENV,
                                     stdout=subprocess.PIPE, text=True)  # fmt: skip
        self.lines: queue.Queue[tuple[float, str]] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put((time.monotonic(), line))

    def until(self, check: Any, seconds: float) -> tuple[float, dict[str, Any]]:
        end = time.monotonic() + seconds
        while True:
            try:
                at, line = self.lines.get(timeout=max(end - time.monotonic(), 0.01))
            except queue.Empty:
                raise SystemExit(f"the watch did not get there within {seconds:g} s") from None
            table = json.loads(line)
            if check(table):
                return at, table

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGINT)
        self.proc.wait(10)


def every(guards: int, online: bool) -> Any:
    def check(table: dict[str, Any]) -> bool:
        shops = table["shops"]
        return len(shops) == guards and all(
            s["online"] is online and s["level"] is not None for s in shops
        )

    return check


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--guards", type=int, default=1000)
    p.add_argument("--processes", type=int, default=2, help="simulator processes (default 2)")
    args = p.parse_args()
    per = -(-args.guards // args.processes)
    print(raise_fd_limit(max(per * 3, args.guards) + 256))

    with tempfile.TemporaryDirectory(prefix="bench-fleet-") as tmp:
        broker = LocalBroker(tmp).start()
        try:
            return run(broker, args.guards, args.processes, per)
        finally:
            broker.stop()


def run(broker: LocalBroker, guards: int, processes: int, per: int) -> int:
    print(f"broker: mosquitto on {broker.url}, RSS {rss_mb(broker.pid):.1f} MB idle")
    live = Watcher(broker.url)
    live.until(lambda t: t["connection"] == "connected", 30)
    sims: list[subprocess.Popen[str]] = []
    try:
        started = time.monotonic()
        for i in range(processes):
            argv = ["--broker", broker.url, "--guards", str(min(per, guards - i * per)),
                    "--first", str(i * per)]  # fmt: skip
            sims.append(subprocess.Popen([sys.executable, "-m", "pi_agent.fleet.simulate", *argv],
                                         env=ENV, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         text=True))  # fmt: skip
        seen_at, _ = live.until(every(guards, True), 60)
        for sim in sims:  # and the broker acknowledged every state
            assert sim.stdout is not None
            line = sim.stdout.readline().strip()
            if not line.startswith("ready "):
                raise SystemExit(f"a simulator failed: {line!r}")
        print(f"{guards} guards in {processes} processes, one MQTT connection each: "
              f"the live watch saw all online with their state {seen_at - started:.2f} s after "
              "the simulators were started (goal 5 s; includes their Python start-up)")  # fmt: skip
        print(
            f"broker: RSS {rss_mb(broker.pid):.1f} MB with {guards} connections and "
            f"{2 * guards} retained messages, CPU {cpu_seconds(broker.pid):.2f} s so far"
        )
        print(f"live watch: RSS {rss_mb(live.proc.pid):.1f} MB, CPU "
              f"{cpu_seconds(live.proc.pid):.2f} s")  # fmt: skip

        cold = Watcher(broker.url)
        first_at, _ = cold.until(every(guards, True), 60)
        took = first_at - cold.started
        print(f"a watch started now: the whole retained table {took:.2f} s after its start "
              f"(Python start-up, connect, {2 * guards:,} retained messages)")  # fmt: skip
        cold.stop()
        once = subprocess.run([sys.executable, "-m", "pi_agent", "fleet", "watch", "--broker",
                               broker.url, "--json", "--once", "3"], env=ENV, capture_output=True,
                              text=True, timeout=60, check=True)  # fmt: skip
        print(f"fleet watch --json --once 3: {len(json.loads(once.stdout)['shops'])} shops listed")

        killed = time.monotonic()
        for sim in sims:
            sim.send_signal(signal.SIGKILL)
            sim.wait()
        gone_at, _ = live.until(every(guards, False), 60)
        print(f"simulators killed: the live watch saw all {guards} offline (last wills) "
              f"{gone_at - killed:.2f} s later")  # fmt: skip
        print(f"broker: RSS {rss_mb(broker.pid):.1f} MB after, CPU {cpu_seconds(broker.pid):.2f} s")
        return 0
    finally:
        for sim in sims:
            if sim.poll() is None:
                sim.kill()
                sim.wait()
        live.stop()


if __name__ == "__main__":
    sys.exit(main())
