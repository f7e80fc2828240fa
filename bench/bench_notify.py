"""Notification benchmark: what pushing costs the agent's memory, and how long an alarm
takes from the guard's decision to a local receiver (json:// on loopback).

Runs the real delivery thread in this process, as the agent does: it sends through a
push worker process. Prints this process's RSS before the first push and after it, the
worker's RSS, and the decision-to-receipt time of the first alarm (worker start-up and
Apprise included) and of 20 more while the worker lingers.
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

from procstat import rss_mb  # noqa: E402
from receiver import Receiver  # noqa: E402

from pi_agent import config  # noqa: E402
from pi_agent.clock import SystemClock  # noqa: E402
from pi_agent.notify.deliver import Deliverer  # noqa: E402
from pi_agent.notify.outbox import Draft, Outbox, target_id  # noqa: E402
from pi_agent.store import Store  # noqa: E402


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
                assert deliverer.worker is not None and deliverer.worker.pid is not None
                worker_rss = rss_mb(deliverer.worker.pid)
        deliverer.stop()
        store.close()
    receiver.close()
    steady = sorted(latencies[1:])
    print(f"agent RSS before any push: {before:.1f} MB")
    print(f"agent RSS after the first delivery: {after_first:.1f} MB  "
          f"(+{after_first - before:.1f} MB, {loaded} modules loaded)")  # fmt: skip
    print(f"push worker RSS (a separate process, ends when idle): {worker_rss:.1f} MB")
    print(f"first alarm, decision to receipt (starts the worker, loads Apprise): "
          f"{latencies[0] * 1000:.0f} ms")  # fmt: skip
    print(f"later alarms, decision to receipt: median {statistics.median(steady) * 1000:.1f} ms,"
          f" max {steady[-1] * 1000:.1f} ms over {len(steady)}")  # fmt: skip


if __name__ == "__main__":
    main()
