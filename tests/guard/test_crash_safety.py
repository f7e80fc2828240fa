"""Crash safety: kill -9 a settling process, restart, and count end-of-days, for every protocol.

Each trial puts a new batch in a simulator, starts `settle-guard settle --config ... --yes`
(the journaled path) and kills it with SIGKILL, then settles again until the journal has
decided. The kill lands at a random moment, or exactly when the simulated terminal takes
the request a stage names: the batch reading before the journal's intent, the reading
after it, the upload of stored offline payments, the end-of-day itself (closed on the
terminal, its answer not yet sent) and the reading after its answer, before the journal
records it. Every trial: the terminal closed the batch at most once by the kill and
exactly once in all; a batch whose end-of-day never left is still open until the restart
settles it; the journal holds no undecided outcome and one "ok" per batch.

SETTLEGUARD_CRASH_TRIALS sets the trials of each case (a soak: 200 each, about a quarter
of an hour; the default keeps the four cases under a minute together).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from pi_agent import config
from pi_agent.sim import SimServer, SimTerminal
from pi_agent.sim.poslink_server import PosLinkServer
from pi_agent.sim.poslink_terminal import PosLinkTerminal
from pi_agent.store import Settlement, Store
from pi_agent.zvt.timers import Timeouts

DECIDED = ("ok", "not-sent", "failed")


def trials(default: int) -> int:
    return int(os.environ.get("SETTLEGUARD_CRASH_TRIALS", default))


@dataclass(frozen=True)
class Stage:
    """Where a trial kills: when the terminal takes the `nth` request of kind `request`
    within the process (a request class name), or after a random wait (`request` None)."""

    name: str
    request: str | None = None
    nth: int = 1
    # The journal's entries for the trial, oldest first, once the restart has decided:
    # "lost" is an end-of-day whose answer the kill took (settled, found out on restart).
    journal: tuple[str, ...] | None = None


RANDOM = Stage("random moment")
# What a batch holds (POSLink; ZVT has no stored offline payments): a day taken wholly
# offline is a batch too, though the terminal's totals show none of it until uploaded.
MIXES = ("sales", "sales and offline", "offline only")
SETTLED = ("ok",)  # killed before the intent: only the restart's end-of-day
NOT_SENT = ("not-sent", "ok")  # journaled, never sent: resolved, then settled afresh
LOST = ("lost",)


@dataclass
class Rig:
    """One protocol's simulator as the kill test drives it."""

    protocol: str
    terminal: Any  # the simulated terminal: its `handle` is what the kill switch wraps
    port: str
    pay: Callable[[int, str], None]  # a trial's payments, one of MIXES
    settled: Callable[[], int]  # end-of-days the terminal ran
    batch_open: Callable[[], bool]
    end_of_day: str  # the request that closes the batch
    stages: tuple[Stage, ...]
    trials: int
    # Seconds after the start a random kill comes: past Python's start-up, within the dialogue.
    random_window: tuple[float, float]


class KillSwitch:
    """Wraps the simulated terminal's `handle`: the moment it has answered the request a
    stage names, the settling process is killed, before any answer has left. Records the
    requests each process sent."""

    def __init__(self, terminal: Any) -> None:
        self._handle = terminal.handle
        terminal.handle = self
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[str] | None = None
        self._stage = RANDOM
        self.seen: list[str] = []

    def arm(self, proc: subprocess.Popen[str], stage: Stage) -> None:
        with self._lock:
            self._proc, self._stage, self.seen = proc, stage, []

    def disarm(self) -> list[str]:
        with self._lock:
            self._proc = None
            return list(self.seen)

    def __call__(self, request: Any, *args: Any) -> Any:
        answer = self._handle(request, *args)
        with self._lock:
            if self._proc is not None:
                name = type(request).__name__
                self.seen.append(name)
                stage = self._stage
                if name == stage.request and self.seen.count(name) == stage.nth:
                    self._proc.send_signal(signal.SIGKILL)  # a no-op once it was reaped
        return answer


@pytest.fixture
def zvt(tmp_path: Path) -> Iterator[Rig]:
    # The simulator takes its time over each command so random kills land inside it too.
    timeouts = Timeouts(t1=0.2, t2=0.5, t3=2.0, t4=5.0)
    with SimServer(SimTerminal(), link=tmp_path / "term", timeouts=timeouts,
                   processing_delay=0.05) as sim:  # fmt: skip
        t = sim.terminal
        yield Rig(
            "zvt", t, sim.url,
            pay=lambda trial, _mix: t.add_sale(100 + trial, "visa"),
            settled=lambda: t.settlements,
            batch_open=lambda: bool(t.batch),
            end_of_day="EndOfDay",
            stages=(
                RANDOM,
                Stage("before the intent", "TurnoverTotals", 1, SETTLED),
                Stage("end-of-day sent, no answer", "EndOfDay", 1, LOST),
                Stage("answered, not journaled", "TurnoverTotals", 2, LOST),
            ),
            trials=trials(16),
            random_window=(0.25, 0.55),
        )  # fmt: skip


def poslink_rig(tmp_path: Path, carrier: str, count: int) -> Iterator[Rig]:
    with PosLinkServer(PosLinkTerminal(), link=tmp_path / "term" if carrier == "pty" else None,
                       tcp=carrier == "tcp", http=carrier == "http",
                       processing_delay=0.01, ack_delay=0.0) as sim:  # fmt: skip
        t = sim.terminal
        port = {"pty": sim.url, "tcp": f"socket://127.0.0.1:{sim.port}",
                "http": f"http://127.0.0.1:{sim.http_port}"}[carrier]  # fmt: skip

        def pay(trial: int, mix: str) -> None:
            if mix != "offline only":
                t.add_transaction(100 + trial)
            if mix != "sales":  # approved offline, waiting in SAF: B08 goes before B00
                t.add_transaction(5000 + trial, card_type="02", offline=True)

        yield Rig(
            "poslink", t, port, pay,
            settled=lambda: len(t.settled),
            batch_open=lambda: bool(t.normal or t.saf_records),
            end_of_day="BatchClose",
            stages=(
                RANDOM,
                Stage("before the intent", "LocalTotal", 1, SETTLED),
                Stage("journaled, before B08/B00", "SafSummary", 2, NOT_SENT),  # settle's R10
                Stage("during the SAF upload (B08)", "SafUpload", 1, NOT_SENT),
                Stage("B00 sent, no answer", "BatchClose", 1, LOST),
                Stage("answered, not journaled", "LocalTotal", 2, LOST),  # the check after B00
            ),
            trials=trials(count),
            random_window=(0.2, 0.45),
        )  # fmt: skip


@pytest.fixture(params=["zvt-pty", "poslink-pty", "poslink-tcp", "poslink-http"])
def rig(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Rig]:
    if request.param == "zvt-pty":
        yield request.getfixturevalue("zvt")
        return
    carrier = request.param.removeprefix("poslink-")
    yield from poslink_rig(tmp_path, carrier, {"pty": 18, "tcp": 12, "http": 6}[carrier])


def settle(cfg_path: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "pi_agent", "settle", "--config", str(cfg_path), "--yes",
         "--timeout", "1", "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def journal_since(path: Path, known: int) -> list[Settlement]:
    """The journal's entries after the first `known`, oldest first."""
    store = Store(path)
    try:
        return sorted(store.settlements(limit=1_000_000), key=lambda s: s.id)[known:]
    finally:
        store.close()


def outcome(record: Settlement) -> str:
    """The journal's state, with "lost" for an end-of-day found settled after its answer was
    lost, and "unverified" for an "ok" whose totals did not check out."""
    if record.state == "ok" and "answer was lost" in (record.note or ""):
        return "lost"
    return "unverified" if record.state == "ok" and not record.verified else record.state


@dataclass
class Trial:
    """One batch, one killed settlement, then restarts until it is settled."""

    rig: Rig
    switch: KillSwitch
    cfg_path: Path
    number: int
    stage: Stage
    mix: str

    def __str__(self) -> str:
        return f"trial {self.number} ({self.stage.name}, {self.mix})"

    def kill(self, rng: random.Random) -> str:
        """Settle and kill; returns where the kill landed."""
        rig, stage = self.rig, self.stage
        rig.pay(self.number, self.mix)
        before = rig.settled()
        proc = settle(self.cfg_path)
        self.switch.arm(proc, stage)
        if stage is RANDOM:
            time.sleep(rng.uniform(*rig.random_window))
            proc.send_signal(signal.SIGKILL)  # a no-op if it has finished
        proc.communicate(timeout=60)
        seen = self.switch.disarm()
        sent = rig.end_of_day in seen
        assert rig.settled() - before in ((0, 1) if sent else (0,)), (str(self), seen)
        if not sent:  # the end-of-day never left: the batch waits for the restart
            assert rig.batch_open(), f"{self}: the batch vanished without an end-of-day"
        if proc.returncode != -signal.SIGKILL:
            assert stage is RANDOM, f"{self}: the request never came ({seen})"
            return "random, finished first"
        if stage is RANDOM:
            return f"random, {'after' if sent else 'before'} the end-of-day left"
        return stage.name

    def restart(self, settled_before: int) -> int:
        """Settle in fresh processes until one succeeds; returns the extra tries."""
        for extra in range(5):
            done = settle(self.cfg_path)
            out, err = done.communicate(timeout=60)
            if done.returncode == 0:
                assert self.rig.settled() == settled_before + 1, f"{self}: {out} {err}"
                assert not self.rig.batch_open(), str(self)
                return extra
            time.sleep(0.5)  # a terminal still busy: the journal stays open meanwhile
        raise AssertionError(f"{self}: no restart settled: {out} {err}")


def test_kill_9_during_settlement_never_settles_twice(rig: Rig, tmp_path: Path) -> None:
    rng = random.Random(20261122)
    cfg = config.replace(config.Config(), "terminal", protocol=rig.protocol, port=rig.port)
    cfg = config.replace(cfg, "store", path=str(tmp_path / "guard.db"))
    cfg_path = tmp_path / "config.toml"
    config.save(cfg, cfg_path)
    switch = KillSwitch(rig.terminal)
    kills: Counter[str] = Counter()
    restarts = journaled = 0
    for number in range(rig.trials):
        stage = rig.stages[number % len(rig.stages)]
        mix = MIXES[(number + number // len(rig.stages)) % len(MIXES)]  # each stage, each mix
        if stage.request == "SafUpload" and mix == "sales":
            mix = "sales and offline"
        trial = Trial(rig, switch, cfg_path, number, stage, mix)
        before = rig.settled()
        kills[trial.kill(rng)] += 1
        restarts += trial.restart(before)
        entries = [outcome(s) for s in journal_since(tmp_path / "guard.db", journaled)]
        journaled += len(entries)
        # Every outcome decided, and every end-of-day whose answer came verified.
        assert set(entries) <= {*DECIDED, "lost"}, (str(trial), entries)
        if stage.journal is not None:
            assert tuple(entries) == stage.journal, (str(trial), entries)

    journal = journal_since(tmp_path / "guard.db", 0)
    outcomes = Counter(outcome(s) for s in journal)
    oks = Counter(s.batch_key for s in journal if s.state == "ok")
    print(f"\n{rig.port}: trials {rig.trials}, kills {dict(sorted(kills.items()))}, "
          f"journal {dict(sorted(outcomes.items()))}, extra restarts {restarts}")  # fmt: skip
    assert len(oks) == rig.trials and set(oks.values()) == {1}  # one end-of-day per batch
    assert rig.settled() == rig.trials
    if isinstance(rig.terminal, PosLinkTerminal):  # each batch number closed once
        assert len({number for number, _, _ in rig.terminal.settled}) == rig.trials
