"""Crash safety: kill -9 a settling process at random points, restart, and count end-of-days.

Each trial puts a new batch in the simulator, starts `settle-guard settle --config ... --yes`
(the journaled path), kills it at a random moment, then settles again to completion. Exactly
one end-of-day per batch must reach the terminal and the journal must record it once.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from pi_agent import config
from pi_agent.sim import SimServer, SimTerminal
from pi_agent.zvt.timers import Timeouts

TRIALS = int(os.environ.get("SETTLEGUARD_CRASH_TRIALS", "50"))


def settle(cfg_path: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "pi_agent", "settle", "--config", str(cfg_path), "--yes",
         "--timeout", "1", "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def test_kill_9_during_settlement_never_settles_twice(tmp_path: Path) -> None:
    rng = random.Random(20261122)
    # The simulator takes its time over each command so kills land inside the dialogue too.
    timeouts = Timeouts(t1=0.2, t2=0.5, t3=2.0, t4=5.0)
    with SimServer(SimTerminal(), link=tmp_path / "term", timeouts=timeouts,
                   processing_delay=0.05) as sim:  # fmt: skip
        cfg = config.replace(config.Config(), "terminal", port=sim.url)
        cfg = config.replace(cfg, "store", path=str(tmp_path / "guard.db"))
        cfg_path = tmp_path / "config.toml"
        config.save(cfg, cfg_path)
        killed_mid_way = 0
        for trial in range(TRIALS):
            sim.terminal.add_sale(100 + trial, "visa")
            before = sim.terminal.settlements
            proc = settle(cfg_path)
            time.sleep(rng.uniform(0.05, 0.9))
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                killed_mid_way += 1
            proc.communicate(timeout=30)
            for _ in range(5):  # restart until the journal has decided
                done = settle(cfg_path)
                out, err = done.communicate(timeout=60)
                if done.returncode == 0:
                    break
                time.sleep(0.5)
            assert done.returncode == 0, (trial, out, err)
            assert sim.terminal.settlements == before + 1, f"trial {trial}: {out} {err}"
            assert not sim.terminal.batch
        db = sqlite3.connect(tmp_path / "guard.db")
        oks = db.execute("SELECT batch_key, COUNT(*) FROM settlements WHERE state = 'ok'"
                         " GROUP BY batch_key").fetchall()  # fmt: skip
        resolved = db.execute(
            "SELECT COUNT(*) FROM settlements"
            " WHERE state = 'not-sent' OR note LIKE '%answer was lost%'"
        ).fetchone()[0]
        print(
            f"trials {TRIALS}, killed mid-way {killed_mid_way}, resolved after a crash {resolved}"
        )
        open_ = db.execute(
            "SELECT COUNT(*) FROM settlements WHERE state IN ('pending', 'unknown')"
        ).fetchone()[0]
        db.close()
        assert len(oks) == TRIALS and all(n == 1 for _, n in oks)
        assert open_ == 0
        assert sim.terminal.settlements == TRIALS
        assert killed_mid_way >= TRIALS // 4  # the kills really interrupted work
        assert resolved >= 1  # some kills landed between the journal's intent and the answer
