"""Every query the policy tick, the page's history and `report` run uses an index.

The statements are not listed by hand: they are recorded (SQLite's trace) while a real
agent polls and ticks against the simulator, while the page's history functions read, and
while `report` runs, all on a store with big tables; each is then put to EXPLAIN QUERY
PLAN. A full scan of a big table, or a sort of one, fails, except the newest-first read of
`ORDER BY id DESC LIMIT n` without a filter, which stops after n rows."""

from __future__ import annotations

import argparse
import re
import sqlite3
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from pi_agent import config
from pi_agent.notify import cli as notify_cli
from pi_agent.web import history

from .test_agent import Rig, berlin

BIG = ("readings", "events", "settlements", "payouts", "outbox", "batches")
NEWEST_FIRST = re.compile(r"^SELECT [^;]* FROM \w+ ORDER BY id DESC LIMIT \d+$", re.I | re.S)


def fill(db: sqlite3.Connection, days: int = 400) -> None:
    """Big tables, as a year of trading leaves them (not realistic in content, in size)."""
    start = datetime(2025, 10, 1, tzinfo=UTC)
    db.execute("BEGIN")
    for d in range(days):
        at = (start + timedelta(days=d)).isoformat()
        day = (start + timedelta(days=d)).date().isoformat()
        for n in range(10):
            db.execute("INSERT INTO readings (at, kind, payload) VALUES (?, ?, ?)",
                       (at, ("status", "totals", "failure")[n % 3], '{"count": 0}'))  # fmt: skip
            db.execute("INSERT INTO events (at, kind, level, payload) VALUES (?, 'level', 'ok',"
                       " '{}')", (at,))  # fmt: skip
            db.execute("INSERT INTO outbox (key, target, kind, level, title, body, created_at,"
                       " due_at, state) VALUES (?, 't', 'report', 'info', 'x', 'y', ?, ?,"
                       " 'delivered')", (f"k{d}:{n}", at, at))  # fmt: skip
        db.execute("INSERT INTO batches (batch_key, trading_day, opened_at, closed_at)"
                   " VALUES (?, ?, ?, ?)", (f"b{d}", day, at, at))  # fmt: skip
        sid = db.execute("INSERT INTO settlements (trading_day, batch_key, attempt, state,"
                         " reason, created_at, updated_at, totals_settled) VALUES"
                         " (?, ?, 1, 'ok', 'policy', ?, ?, '{}')",
                         (day, f"b{d}", at, at)).lastrowid  # fmt: skip
        db.execute("INSERT INTO payouts (settlement_id, trading_day, amount, currency, count,"
                   " expected_on) VALUES (?, ?, 100, 978, 1, ?)", (sid, day, day))  # fmt: skip
    db.execute("COMMIT")


def bad_plans(db: sqlite3.Connection, statements: list[str]) -> dict[str, list[str]]:
    """The statements that scan or sort a big table, with their plans. Scanning a partial
    index is fine: it holds only the few rows its WHERE picks (open settlements)."""
    partial = [
        r[0]
        for t in BIG
        for r in db.execute("SELECT name FROM pragma_index_list(?) WHERE partial", (t,))
    ]
    found: dict[str, list[str]] = {}
    for sql in dict.fromkeys(statements):
        if sql.split(None, 1)[0].upper() not in ("SELECT", "UPDATE", "DELETE", "INSERT", "WITH"):
            continue
        plan = [row[3] for row in db.execute("EXPLAIN QUERY PLAN " + sql)]
        big = [p for p in plan if re.match(rf"SCAN ({'|'.join(BIG)})\b", p)
               and not any(p.endswith(f"INDEX {name}") for name in partial)]  # fmt: skip
        if big and NEWEST_FIRST.match(sql.strip()):
            big = []
        if big or (any("TEMP B-TREE" in p for p in plan) and any(t in sql for t in BIG)):
            found[sql] = plan
    return found


@pytest.fixture
def rig(tmp_path: Path):
    r = Rig(tmp_path)
    r.cfg = config.replace(r.cfg, "notify", targets=[{"url": "json://127.0.0.1:9/x"}])
    r.agent.cfg = r.agent.planner.cfg = r.cfg
    fill(r.store.db)
    yield r
    r.close()


def traced(statements: list[str]) -> object:
    def read_only(path: str) -> sqlite3.Connection:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        db.row_factory = sqlite3.Row
        db.set_trace_callback(statements.append)
        return db

    return read_only


def test_the_tick_the_page_and_report_use_indexes(rig: Rig, monkeypatch) -> None:
    ran: list[str] = []
    rig.store.db.set_trace_callback(ran.append)
    rig.sim.terminal.add_sale(1250)
    for when in (berlin(20, 12), berlin(20, 22, 10), berlin(20, 22, 40), berlin(20, 23)):
        rig.at(when)  # midday, the amber lead, the settlement, after closing time
        rig.step()
        rig.agent.tick()
    notify_cli._report(argparse.Namespace(date=None, lang=None), rig.cfg, rig.store)
    notify_cli._report(argparse.Namespace(date=date(2026, 11, 19), lang="en"), rig.cfg,
                       rig.store)  # fmt: skip
    rig.store.db.set_trace_callback(None)
    monkeypatch.setattr(history, "read_only", traced(ran))
    path = rig.store.path
    history.turnover(path, date(2026, 11, 20))
    for kind in history.KINDS:
        history.rows(path, kind)
    history.settlements(path, 5)
    assert any("FROM readings" in s for s in ran) and any("FROM payouts" in s for s in ran)
    assert bad_plans(rig.store.db, ran) == {}
