"""The store on a real file: readings kept when they change, retention that respects the
payouts' foreign keys, private state files, and an upgrade from an older schema."""

from __future__ import annotations

import os
import sqlite3
import stat
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from pi_agent.notify import payouts
from pi_agent.store import MIGRATIONS, Store

T0 = datetime(2026, 11, 20, 12, tzinfo=UTC)
TOTALS = {"count": 2, "total_minor": 1500, "terminal_id": "T1", "terminal_time": None}


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(tmp_path / "guard.db")
    yield s
    s.close()


def writes(store: Store, call: object) -> list[str]:
    """The statements a call sends to SQLite that write (or open a write transaction)."""
    seen: list[str] = []
    store.db.set_trace_callback(seen.append)
    try:
        call()  # type: ignore[operator]
    finally:
        store.db.set_trace_callback(None)
    verbs = ("BEGIN", "INSERT", "UPDATE", "DELETE")
    return [s for s in seen if s.lstrip().upper().startswith(verbs)]


def count(store: Store, table: str) -> int:
    return store.db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]


def test_an_unchanged_reading_writes_nothing_until_the_heartbeat(store: Store) -> None:
    def totals(at: datetime, **changes: object) -> dict[str, object]:
        return {**TOTALS, "terminal_time": at.isoformat(), **changes}

    assert store.add_reading("totals", totals(T0), T0)
    for n in range(1, 60):  # 15 minutes at a 15 s poll: only the terminal's clock moves
        at = T0 + timedelta(seconds=15 * n)
        assert writes(store, lambda at=at: store.add_reading("totals", totals(at), at)) == []
    assert count(store, "readings") == 1
    beat = T0 + timedelta(minutes=15)
    assert not store.add_reading("totals", totals(beat), beat)  # the row's last-seen moves
    assert store.db.execute("SELECT seen_at FROM readings").fetchone()[0] == beat.isoformat()
    sale = beat + timedelta(seconds=15)
    assert store.add_reading("totals", totals(sale, count=3), sale)
    assert store.latest_reading("totals") == (sale, totals(sale, count=3))
    assert count(store, "readings") == 2


def test_a_failure_between_two_equal_readings_keeps_both(store: Store) -> None:
    store.add_reading("status", {"code": "00"}, T0)
    store.add_reading("failure", {"error": "no answer"}, T0 + timedelta(seconds=15))
    assert not store.add_reading("failure", {"error": "no answer"}, T0 + timedelta(seconds=30))
    assert store.add_reading("status", {"code": "00"}, T0 + timedelta(seconds=45))
    assert store.add_reading("failure", {"error": "no answer"}, T0 + timedelta(seconds=60))
    assert count(store, "readings") == 4


def test_readings_survive_a_restart_without_a_duplicate(tmp_path: Path) -> None:
    first = Store(tmp_path / "guard.db")
    first.add_reading("totals", TOTALS, T0)
    first.close()
    again = Store(tmp_path / "guard.db")
    assert not again.add_reading("totals", TOTALS, T0 + timedelta(seconds=15))
    assert count(again, "readings") == 1
    again.close()


def test_a_reading_commits_without_full_sync_and_the_journal_with_it(store: Store) -> None:
    seen: list[str] = []
    store.db.set_trace_callback(seen.append)
    store.add_reading("totals", TOTALS, T0)
    store.db.set_trace_callback(None)
    assert seen.index("PRAGMA synchronous=NORMAL") < seen.index("COMMIT")
    assert store.db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL again


def settle_day(store: Store, day: date, *, received: bool) -> int:
    at = datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=22)
    s = store.journal_intent(day, f"b{day}", {"count": 1}, "policy", at)
    store.finish(s.id, "ok", at)
    payouts.expect(store, s.id, day, amount=100, currency=978, count=1,
                   expected_on=day + timedelta(days=1))  # fmt: skip
    if received:
        [p] = [p for p in payouts.payouts(store) if p.settlement_id == s.id]
        payouts.mark_received(store, p.id, day + timedelta(days=1))
    return s.id


def test_prune_drops_old_payouts_and_then_their_settlements(store: Store) -> None:
    old, recent = date(2025, 1, 10), date(2026, 11, 1)
    settle_day(store, old, received=True)
    settle_day(store, old + timedelta(days=1), received=False)  # never marked received
    kept = settle_day(store, recent, received=False)
    at = datetime(2025, 1, 10, 9, tzinfo=UTC)
    store.add_event("level", "ok", {}, at)
    store.add_reading("totals", TOTALS, at)
    store.add_reading("totals", {**TOTALS, "count": 3}, T0)
    store.prune(T0, days=400)
    assert [s.id for s in store.settlements()] == [kept]
    assert [p.settlement_id for p in payouts.payouts(store)] == [kept]
    assert store.events() == [] and count(store, "readings") == 1


def test_prune_gives_the_space_back(store: Store) -> None:
    for n in range(300):
        store.add_event("level", "ok", {"n": n, "pad": "x" * 1000}, T0 - timedelta(days=500))
    pages = store.db.execute("PRAGMA page_count").fetchone()[0]
    store.prune(T0, days=400)
    assert store.db.execute("PRAGMA freelist_count").fetchone()[0] == 0
    assert store.db.execute("PRAGMA page_count").fetchone()[0] < pages - 50


def test_prune_keeps_a_settlement_while_its_payout_is_kept(store: Store) -> None:
    day = date(2025, 10, 15)
    sid = settle_day(store, day, received=False)
    # The payout is due long after the batch (a holiday): it outlives the settlement's age.
    store.db.execute("UPDATE payouts SET expected_on = '2025-10-25'")
    store.prune(datetime(2026, 11, 16, tzinfo=UTC), days=395)
    assert [s.id for s in store.settlements()] == [sid]
    store.prune(datetime(2026, 11, 30, tzinfo=UTC), days=395)
    assert store.settlements() == [] and payouts.payouts(store) == []


def test_prune_drops_old_delivered_messages_but_not_waiting_ones(store: Store) -> None:
    from pi_agent.notify.outbox import Draft, Outbox

    outbox = Outbox(store)
    old = datetime(2025, 1, 1, tzinfo=UTC)
    outbox.put(Draft("a", "report", "info", "A", "a"), "t1", old)
    outbox.put(Draft("b", "report", "info", "B", "b"), "t1", old)
    outbox.sent(outbox.pending()[0], old)
    store.prune(T0, days=400)
    assert [m.key for m in outbox.pending()] == ["b"]
    assert [row["key"] for row in outbox.history()] == ["b"]


def test_state_files_are_private_whatever_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        s = Store(tmp_path / "state" / "guard.db")
        s.add_event("level", "ok", {}, T0)
        reader = sqlite3.connect(f"file:{tmp_path / 'state' / 'guard.db'}?mode=ro", uri=True)
        reader.execute("SELECT COUNT(*) FROM events").fetchone()
        names = sorted(p.name for p in (tmp_path / "state").iterdir())
        assert names == ["guard.db", "guard.db-shm", "guard.db-wal"]
        for p in (tmp_path / "state").iterdir():
            assert stat.S_IMODE(p.stat().st_mode) == 0o600, p.name
        reader.close()
        s.close()
    finally:
        os.umask(old)


def test_an_existing_store_is_made_private(tmp_path: Path) -> None:
    path = tmp_path / "guard.db"
    Store(path).close()
    path.chmod(0o644)
    Store(path).close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_version_2_store_upgrades_and_keeps_its_data(tmp_path: Path) -> None:
    path = tmp_path / "guard.db"
    old = sqlite3.connect(path, isolation_level=None)
    for script in MIGRATIONS[:2]:
        old.executescript(script)
    old.execute("PRAGMA user_version = 2")
    old.execute("INSERT INTO readings (at, kind, payload) VALUES (?, 'totals', ?)",
                (T0.isoformat(), '{"count": 2}'))  # fmt: skip
    old.execute("INSERT INTO settlements (trading_day, batch_key, attempt, state, reason,"
                " created_at, updated_at) VALUES ('2026-11-19', 'k', 1, 'ok', 'policy', ?, ?)",
                (T0.isoformat(), T0.isoformat()))  # fmt: skip
    old.execute("INSERT INTO payouts (settlement_id, trading_day, amount, currency, count,"
                " expected_on) VALUES (1, '2026-11-19', 100, 978, 1, '2026-11-20')")  # fmt: skip
    old.close()
    store = Store(path)
    assert store.version == len(MIGRATIONS) > 2
    assert store.latest_reading("totals") == (T0, {"count": 2})
    assert not store.add_reading("totals", {"count": 2}, T0 + timedelta(seconds=15))
    assert [p.settlement_id for p in payouts.late(store, date(2026, 11, 21))] == [1]
    assert store.settlements(batch_key="k")[0].state == "ok"
    store.close()
