"""Store benchmark: how big 400 days make guard.db, what a policy tick costs on such a store
(with 400 payouts nobody marked received) against an empty one, and how often an
uneventful day makes the guard fsync.

The 400 days are written through the store layer the way the agent writes them at a 15 s
poll, without polling 2.3 M times: readings only at a change and at the 15-minute
heartbeat (the polls between them write nothing: tests/test_store.py shows it), a few
sales most days, a settlement, its payout and a closing report each trading day.

The fsync count replays one uneventful day (no sale; 5,760 polls and 17,280 ticks of a
real Agent on a fake clock) in a child process under `strace -f -c` when strace is
there; without it, it counts the commits that wrote under synchronous=FULL (each is one
fdatasync of the WAL in SQLite's WAL mode).
"""

from __future__ import annotations

import json
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pi_agent import config  # noqa: E402
from pi_agent.agent import Agent  # noqa: E402
from pi_agent.clock import FakeClock  # noqa: E402
from pi_agent.guard.batches import BatchBook  # noqa: E402
from pi_agent.notify import payouts  # noqa: E402
from pi_agent.notify.outbox import Draft, Outbox  # noqa: E402
from pi_agent.store import HEARTBEAT, Store  # noqa: E402
from pi_agent.terminal import BatchTotals, Condition, TerminalStatus  # noqa: E402
from pi_agent.terminal.models import CardTypeTotal  # noqa: E402

BERLIN = ZoneInfo("Europe/Berlin")
DAYS = 400
POLL = timedelta(seconds=15)
TICK = timedelta(seconds=5)
FIRST_DAY = date(2025, 10, 1)
CARDS = ("girocard", "visa", "mastercard")
STATUS = TerminalStatus(0, Condition.READY, "ready", software_version="SG 1.0",
                        terminal_id="29001006")  # fmt: skip


def totals(sales: list[tuple[str, int]], at: datetime, receipt: int) -> BatchTotals:
    by_card = {c: [0, 0] for c in CARDS}
    for card, amount in sales:
        by_card[card][0] += 1
        by_card[card][1] += amount
    cards = tuple(CardTypeTotal(c, n, a) for c, (n, a) in by_card.items() if n)
    return BatchTotals(978, sum(a for _, a in sales), cards,
                       first_receipt=receipt - len(sales) + 1 if sales else None,
                       last_receipt=receipt if sales else None, terminal_id="29001006",
                       terminal_time=at.astimezone(BERLIN).replace(tzinfo=None))  # fmt: skip


class StubTerminal:
    """Answers every poll with the same status and the batch it is given."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock, self.batch = clock, totals([], clock.now(), 0)

    def status(self) -> TerminalStatus:
        return STATUS

    def watch(self, beat: object) -> None:
        pass  # no dialogue ever runs long here

    def totals(self) -> BatchTotals:
        return BatchTotals(self.batch.currency, self.batch.total, self.batch.cards,
                           self.batch.first_receipt, self.batch.last_receipt,
                           self.batch.terminal_id, terminal_time=self.clock.now().replace(
                               tzinfo=None))  # fmt: skip


def local(day: date, hh: int, mm: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hh, mm, tzinfo=BERLIN)


def generate(store: Store, days: int = DAYS, seed: int = 7) -> None:
    """`days` days of a small shop, as the agent stores them now."""
    rng = random.Random(seed)
    outbox = Outbox(store)
    book = BatchBook(store)  # names batches as the agent's poll does
    receipt = 0
    key = None
    for n in range(days):
        day = FIRST_DAY + timedelta(days=n)
        # open every day, a few sales spread over eleven hours: most polls see nothing new
        sales_at = sorted(rng.sample(range(9 * 60, 20 * 60), rng.randint(5, 60)))
        sales: list[tuple[str, int]] = []
        at = local(day, 0)
        end = local(day + timedelta(days=1), 0)
        beat = at
        while at < end:  # the heartbeats and the changes: the only polls that write
            minute = at.astimezone(BERLIN).hour * 60 + at.astimezone(BERLIN).minute
            while sales_at and sales_at[0] <= minute:
                sales_at.pop(0)
                receipt += 1
                sales.append((rng.choice(CARDS), rng.randint(250, 9000)))
                t = totals(sales, at, receipt)
                store.add_reading("totals", t.to_json(), at)
                key = book.identify(t, at, day)
            if rng.random() < 0.002:  # the odd unanswered poll
                store.add_reading("failure", {"error": "no answer (T3)"}, at)
            if at >= beat:
                store.add_reading("status", STATUS.to_json(), at)
                store.add_reading("totals", totals(sales, at, receipt).to_json(), at)
                beat += HEARTBEAT
            at += timedelta(minutes=1)
        if sales and key is not None:
            settle(store, day, totals(sales, local(day, 22, 30), receipt), receipt, key)
            sales.clear()
            store.add_reading("totals", totals([], local(day, 22, 31), receipt).to_json(),
                              local(day, 22, 31))  # fmt: skip
        for hh, level in ((22, "warn"), (22, "ok")):
            store.add_event("level", level, {"reasons": ["open-batch"]}, local(day, hh, 5))
        report = Draft(f"report:{day}", "report", "info", f"Settled {day}: 1,234.56 EUR",
                       "Settled at 22:30. 42 payments, 1,234.56 EUR. " * 4)  # fmt: skip
        outbox.put(report, "0123456789ab", local(day, 22, 35))
        for m in outbox.pending():
            outbox.sent(m, local(day, 22, 35))


def settle(store: Store, day: date, t: BatchTotals, receipt: int, key: str) -> None:
    at = local(day, 22, 30)
    s = store.journal_intent(day, key, t.to_json(), "auto", at)
    lines = [f"{c.card:<20}{c.count:>5}{c.amount / 100:>12.2f}" for c in t.cards]
    lines += ["-" * 40, f"TOTAL {t.total / 100:>30.2f}", f"RECEIPT {receipt}", "SETTLED OK"]
    store.finish(s.id, "ok", at, totals_settled=t.to_json(), result_code=0,
                 result_text="ok", receipt_lines=lines * 3, verified=True)  # fmt: skip
    store.batch_closed(key, at)
    payouts.expect(store, s.id, day, amount=t.total, currency=978, count=t.count,
                   expected_on=day + timedelta(days=1))  # never marked received  # fmt: skip


def agent_on(path: Path, start: datetime) -> tuple[Agent, FakeClock, StubTerminal]:
    cfg = config.replace(config.Config(), "settle", mode="off")
    cfg = config.replace(cfg, "store", path=str(path))
    cfg = config.replace(cfg, "notify", targets=[{"url": "json://127.0.0.1:9/x"}])
    clock = FakeClock(start)
    terminal = StubTerminal(clock)
    return Agent(cfg, clock, terminal, Store(path)), clock, terminal  # type: ignore[arg-type]


def tick_cost(path: Path, ticks: int = 300) -> tuple[float, float]:
    """The first policy tick at midday (it queues what is due) and the median of later ones,
    in milliseconds."""
    agent, clock, _ = agent_on(path, local(FIRST_DAY + timedelta(days=DAYS), 12))
    agent.poll()
    start = time.perf_counter()
    agent.tick()
    first = time.perf_counter() - start
    for _ in range(3):
        clock.advance(TICK)
        agent.tick()
    times = []
    for _ in range(ticks):
        start = time.perf_counter()
        agent.tick()
        times.append(time.perf_counter() - start)
        clock.advance(TICK)
    agent.store.close()
    return first * 1000, statistics.median(times) * 1000


def uneventful_day(path: str) -> None:
    """One day of real polls (15 s) and ticks (5 s) with nothing sold; prints the commits
    that wrote under synchronous=FULL."""
    day = FIRST_DAY + timedelta(days=DAYS + 1)
    agent, clock, _ = agent_on(Path(path), local(day, 0))
    db = agent.store.db
    full, state = [0], {"sync": "FULL", "changes": 0}

    def trace(sql: str) -> None:
        if sql.startswith("PRAGMA synchronous="):
            state["sync"] = sql.split("=")[1]
        elif sql == "BEGIN IMMEDIATE":
            state["changes"] = db.total_changes
        elif sql == "COMMIT" and state["sync"] == "FULL" and db.total_changes != state["changes"]:
            full[0] += 1

    db.set_trace_callback(trace)
    end = clock.now() + timedelta(days=1)
    n = 0
    while clock.now() < end:
        if n % 3 == 0:
            agent.poll()
        agent.tick()
        clock.advance(TICK)
        n += 1
    db.set_trace_callback(None)
    agent.store.close()
    print(json.dumps({"full_commits": full[0], "polls": (n + 2) // 3, "ticks": n}))


def fsyncs_of_a_day(path: Path) -> tuple[int, int, str]:
    """(fsync + fdatasync calls, FULL commits, how counted) for one uneventful day."""
    child = [sys.executable, __file__, "--uneventful-day", str(path)]
    strace = shutil.which("strace")
    if strace is None:
        out = subprocess.run(child, capture_output=True, text=True, check=True).stdout
        commits = json.loads(out.splitlines()[-1])["full_commits"]
        return commits, commits, "commits that wrote under synchronous=FULL (no strace)"
    with tempfile.NamedTemporaryFile("r", suffix=".strace") as log:
        out = subprocess.run([strace, "-f", "-qq", "-c", "-o", log.name, "-e",
                              "trace=fsync,fdatasync", *child], capture_output=True, text=True,
                             check=True).stdout  # fmt: skip
        calls = sum(int(line.split()[3]) for line in log.read().splitlines()
                    if line.split()[-1:] in (["fsync"], ["fdatasync"]))  # fmt: skip
    commits = json.loads(out.splitlines()[-1])["full_commits"]
    return calls, commits, "strace -f -c, fsync + fdatasync of the whole process"


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        big, empty, late = Path(tmp, "big.db"), Path(tmp, "empty.db"), Path(tmp, "late.db")
        start = time.perf_counter()
        store = Store(big)
        generate(store)
        store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        counts = {t: store.db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
                  for t in ("readings", "settlements", "payouts", "events", "outbox")}  # fmt: skip
        store.close()
        made = time.perf_counter() - start
        size = sum(p.stat().st_size for p in Path(tmp).glob("big.db*")) / 1e6
        Store(empty).close()
        shutil.copy(big, late)  # the same late payouts, and nothing else
        store = Store(late)
        with store.tx() as db:
            for table in ("readings", "events", "outbox", "batches"):
                db.execute(f"DELETE FROM {table}")
        store.close()
        (_, cost_empty), (first_late, cost_late) = tick_cost(empty), tick_cost(late)
        first_big, cost_big = tick_cost(big)
        day_db = Path(tmp, "day.db")
        shutil.copy(big, day_db)
        calls, commits, how = fsyncs_of_a_day(day_db)
    late_now = counts["payouts"]
    print(
        f"{DAYS} days at a 15 s poll, generated in {made:.1f} s: {size:.1f} MB "
        f"(target <= 50 MB); rows: " + ", ".join(f"{k} {v}" for k, v in counts.items())
    )
    print(
        f"policy tick, median: empty store {cost_empty:.2f} ms; "
        f"{late_now} late payouts only {cost_late:.2f} ms; "
        f"{DAYS}-day store with {late_now} late payouts {cost_big:.2f} ms "
        f"({cost_big / cost_empty:.2f}x empty, target <= 1.5x); the first tick that "
        f"queues the {late_now} late alarms: {first_late:.0f} ms, {first_big:.0f} ms"
    )
    print(f"an uneventful day (5760 polls, 17280 ticks): {calls} fsync/fdatasync "
          f"({calls / 1440:.3f} per minute, target <= 1), {commits} commits under "
          f"synchronous=FULL; counted by {how}")  # fmt: skip


if __name__ == "__main__":
    if sys.argv[1:2] == ["--uneventful-day"]:
        uneventful_day(sys.argv[2])
    else:
        main()
