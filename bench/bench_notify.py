"""Notification benchmark: what Apprise costs the agent's memory, and how long an alarm
takes from the guard's decision to a local receiver (json:// on loopback).

Runs the real delivery thread in this process: RSS before anything is sent (Apprise not
yet imported), after the first delivery, and the decision-to-receipt time over 20 alarms.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "notify"))

from receiver import Receiver  # noqa: E402

from pi_agent import config  # noqa: E402
from pi_agent.clock import SystemClock  # noqa: E402
from pi_agent.notify.deliver import Deliverer  # noqa: E402
from pi_agent.notify.outbox import Draft, Outbox, target_id  # noqa: E402
from pi_agent.store import Store  # noqa: E402


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    receiver = Receiver()
    arrived = receiver.arrived
    with tempfile.TemporaryDirectory() as tmp:
        target = {"url": receiver.url, "min_level": "info"}
        cfg = config.replace(config.Config(), "notify", targets=[target])
        cfg = config.replace(cfg, "store", path=str(Path(tmp) / "guard.db"))
        store = Store(cfg.store.path)
        outbox = Outbox(store)
        before = rss_mb()
        modules = len(sys.modules)
        deliverer = Deliverer(cfg, SystemClock()).start()
        tid = target_id(receiver.url)
        latencies = []
        for n in range(21):
            arrived.clear()
            start = time.perf_counter()
            outbox.put(Draft(f"bench:{n}", "alarm", "urgent", f"alarm {n}", "body"), tid,
                       datetime.now(UTC))  # fmt: skip
            deliverer.wake()
            if not arrived.wait(30):
                raise SystemExit(f"alarm {n} did not arrive within 30 s")
            latencies.append(time.perf_counter() - start)
            if n == 0:
                after_first = rss_mb()
                loaded = len(sys.modules) - modules
        deliverer.stop()
        store.close()
    receiver.close()
    steady = sorted(latencies[1:])
    print(f"RSS before any push (Apprise not loaded): {before:.1f} MB")
    print(f"RSS after the first delivery: {after_first:.1f} MB  (+{after_first - before:.1f} MB, "
          f"{loaded} modules loaded)")  # fmt: skip
    print(
        f"first alarm, decision to receipt (includes loading Apprise): {latencies[0] * 1000:.0f} ms"
    )
    print(f"later alarms, decision to receipt: median {statistics.median(steady) * 1000:.1f} ms,"
          f" max {steady[-1] * 1000:.1f} ms over {len(steady)}")  # fmt: skip


if __name__ == "__main__":
    main()
