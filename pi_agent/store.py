"""SQLite state: readings, batches, the settlement journal, events. WAL mode; the journal's
writes are synchronous=FULL so a committed intent survives a power cut.

One owner at a time: while the agent runs, only its loop thread uses the store; the
thread that built it may use it again after the agent has stopped (start and stop
hand the connection over, so sqlite3's same-thread check is relaxed on purpose).
Migrations are numbered SQL scripts applied in order; `PRAGMA user_version` says how far.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

MIGRATIONS: tuple[str, ...] = (
    # 1: the first schema
    """
    CREATE TABLE readings (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('status', 'totals', 'failure')),
        payload TEXT NOT NULL
    );
    CREATE INDEX readings_kind_at ON readings (kind, at);
    CREATE TABLE batches (
        batch_key TEXT PRIMARY KEY,
        trading_day TEXT NOT NULL,
        opened_at TEXT NOT NULL,
        closed_at TEXT
    );
    CREATE TABLE settlements (
        id INTEGER PRIMARY KEY,
        trading_day TEXT NOT NULL,
        batch_key TEXT NOT NULL,
        attempt INTEGER NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('pending', 'ok', 'failed', 'unknown', 'not-sent')),
        reason TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        totals_before TEXT,
        totals_settled TEXT,
        result_code INTEGER,
        result_text TEXT,
        receipt_lines TEXT,
        verified INTEGER,
        note TEXT
    );
    -- Exactly once: a batch can be settled successfully only one time.
    CREATE UNIQUE INDEX settlements_one_ok ON settlements (batch_key) WHERE state = 'ok';
    CREATE INDEX settlements_day ON settlements (trading_day);
    CREATE TABLE events (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        kind TEXT NOT NULL,
        level TEXT NOT NULL,
        key TEXT UNIQUE,
        payload TEXT NOT NULL
    );
    CREATE INDEX events_at ON events (at);
    """,
    # 2: the push outbox and payout tracking
    """
    CREATE TABLE outbox (
        id INTEGER PRIMARY KEY,
        key TEXT NOT NULL,
        target TEXT NOT NULL,
        kind TEXT NOT NULL,
        level TEXT NOT NULL,
        title TEXT NOT NULL,
        body TEXT NOT NULL,
        created_at TEXT NOT NULL,
        due_at TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        sends INTEGER NOT NULL DEFAULT 0,
        state TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'gone')),
        repeat_minutes INTEGER NOT NULL DEFAULT 0,
        delivered_at TEXT,
        acked_at TEXT,
        last_error TEXT,
        UNIQUE (key, target)
    );
    CREATE INDEX outbox_pending ON outbox (state, target, id);
    CREATE TABLE payouts (
        id INTEGER PRIMARY KEY,
        settlement_id INTEGER NOT NULL UNIQUE REFERENCES settlements (id),
        trading_day TEXT NOT NULL,
        amount INTEGER NOT NULL,
        currency INTEGER NOT NULL,
        count INTEGER NOT NULL,
        expected_on TEXT NOT NULL,
        received_on TEXT
    );
    """,
    # 3: batch identity by continuity (the last reading of each batch, and why it closed)
    """
    ALTER TABLE batches ADD COLUMN ref TEXT;
    ALTER TABLE batches ADD COLUMN closed_why TEXT;
    ALTER TABLE batches ADD COLUMN seq INTEGER;
    UPDATE batches SET seq = rowid;
    CREATE UNIQUE INDEX batches_seq ON batches (seq);
    CREATE INDEX settlements_batch ON settlements (batch_key);
    """,
)

OPEN_STATES = ("pending", "unknown")  # outcome not known: never send another end-of-day


def _iso(at: datetime) -> str:
    if at.tzinfo is None:
        raise ValueError("the store keeps aware times only")
    return at.astimezone(UTC).isoformat(timespec="seconds")


def _dt(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


@dataclass(frozen=True, slots=True)
class Settlement:
    id: int
    trading_day: date
    batch_key: str
    attempt: int
    state: str
    reason: str
    created_at: datetime
    updated_at: datetime
    totals_before: dict[str, Any] | None
    totals_settled: dict[str, Any] | None
    result_code: int | None
    result_text: str | None
    receipt_lines: list[str]
    verified: bool | None
    note: str | None

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Settlement:
        return cls(
            row["id"], date.fromisoformat(row["trading_day"]), row["batch_key"], row["attempt"],
            row["state"], row["reason"], _dt(row["created_at"]), _dt(row["updated_at"]),
            json.loads(row["totals_before"]) if row["totals_before"] else None,
            json.loads(row["totals_settled"]) if row["totals_settled"] else None,
            row["result_code"], row["result_text"],
            json.loads(row["receipt_lines"]) if row["receipt_lines"] else [],
            None if row["verified"] is None else bool(row["verified"]), row["note"],
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class BatchRecord:
    key: str
    trading_day: date
    opened_at: datetime
    closed_at: datetime | None
    closed_why: str | None  # settled / empty / replaced
    ref: dict[str, Any] | None  # the batch's latest reading (BatchIdentity's fields)

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> BatchRecord:
        return cls(row["batch_key"], date.fromisoformat(row["trading_day"]),
                   _dt(row["opened_at"]), _dt(row["closed_at"]), row["closed_why"],
                   json.loads(row["ref"]) if row["ref"] else None)  # fmt: skip


class Store:
    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(
            self.path, isolation_level=None, timeout=10, check_same_thread=False
        )
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("PRAGMA foreign_keys=ON")
        self._migrate()

    def close(self) -> None:
        self._db.close()

    @property
    def db(self) -> sqlite3.Connection:
        """The connection, for the outbox and payouts that share this file and its owner."""
        return self._db

    def tx(self) -> contextlib.AbstractContextManager[sqlite3.Connection]:
        """One write transaction (BEGIN IMMEDIATE ... COMMIT, rolled back on any error)."""
        return self._tx()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    @property
    def version(self) -> int:
        return self._db.execute("PRAGMA user_version").fetchone()[0]

    def _migrate(self) -> None:
        current = self.version
        if current > len(MIGRATIONS):
            raise RuntimeError(f"{self.path} has schema {current}, newer than this program knows")
        for number, script in enumerate(MIGRATIONS[current:], start=current + 1):
            with self._tx() as db:
                for statement in script.split(";"):
                    if statement.strip():
                        db.execute(statement)
                db.execute(f"PRAGMA user_version = {number}")

    # -- readings

    def add_reading(self, kind: str, payload: dict[str, Any], at: datetime) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT INTO readings (at, kind, payload) VALUES (?, ?, ?)",
                (_iso(at), kind, json.dumps(payload, ensure_ascii=False)),
            )

    def latest_reading(self, kind: str) -> tuple[datetime, dict[str, Any]] | None:
        row = self._db.execute(
            "SELECT at, payload FROM readings WHERE kind = ? ORDER BY id DESC LIMIT 1", (kind,)
        ).fetchone()
        return (_dt(row["at"]), json.loads(row["payload"])) if row else None

    # -- batches

    def newest_batch(self) -> BatchRecord | None:
        """The batch seen last (open, or closed and why): what a new reading is judged by."""
        row = self._db.execute("SELECT * FROM batches ORDER BY seq DESC LIMIT 1").fetchone()
        return BatchRecord.from_row(row) if row else None

    def batch_opened(self, key: str, trading_day: date, at: datetime,
                     ref: dict[str, Any] | None = None) -> None:  # fmt: skip
        """Remember a batch first seen open now, with the reading that identifies it."""
        with self._tx() as db:
            db.execute(
                "INSERT INTO batches (batch_key, trading_day, opened_at, ref, seq)"
                " VALUES (?, ?, ?, ?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM batches))",
                (key, trading_day.isoformat(), _iso(at), json.dumps(ref) if ref else None),
            )

    def batch_key_used(self, key: str) -> bool:
        """A name a batch or a settlement already has (a name is never given twice)."""
        row = self._db.execute(
            "SELECT EXISTS (SELECT 1 FROM batches WHERE batch_key = ?)"
            " OR EXISTS (SELECT 1 FROM settlements WHERE batch_key = ?)",
            (key, key),
        ).fetchone()
        return bool(row[0])

    def batch_seen(self, key: str, ref: dict[str, Any]) -> None:
        """The open batch grew: keep its latest reading to judge the next one by."""
        with self._tx() as db:
            db.execute("UPDATE batches SET ref = ? WHERE batch_key = ?", (json.dumps(ref), key))

    def batch_closed(self, key: str, at: datetime, why: str = "settled") -> None:
        """The batch is over: `settled` by us, seen `empty`, or `replaced` by another one.
        A batch we settled and then saw empty is marked `empty`: nothing can reopen it."""
        with self._tx() as db:
            db.execute(
                "UPDATE batches SET closed_at = COALESCE(closed_at, ?),"
                " closed_why = CASE WHEN closed_at IS NULL OR ? = 'empty' THEN ? ELSE closed_why"
                " END WHERE batch_key = ?",
                (_iso(at), why, why, key),
            )

    def batch_trading_day(self, key: str) -> date | None:
        row = self._db.execute(
            "SELECT trading_day FROM batches WHERE batch_key = ?", (key,)
        ).fetchone()
        return date.fromisoformat(row["trading_day"]) if row else None

    # -- settlement journal

    def journal_intent(
        self, trading_day: date, batch_key: str, totals_before: dict[str, Any], reason: str,
        at: datetime,
    ) -> Settlement:  # fmt: skip
        """Commit (durably) that an end-of-day for this batch is about to be sent."""
        with self._tx() as db:
            busy = db.execute(
                "SELECT id FROM settlements"
                " WHERE batch_key = ? AND state IN ('pending', 'unknown', 'ok')",
                (batch_key,),
            ).fetchone()
            if busy is not None:
                raise RuntimeError(f"batch {batch_key} is settled or its outcome is open")
            attempt = (
                db.execute(
                    "SELECT COUNT(*) FROM settlements WHERE batch_key = ?", (batch_key,)
                ).fetchone()[0]
                + 1
            )
            cur = db.execute(
                "INSERT INTO settlements (trading_day, batch_key, attempt, state, reason,"
                " created_at,"
                " updated_at, totals_before) VALUES (?, ?, ?, 'pending', ?, ?, ?, ?)",
                (trading_day.isoformat(), batch_key, attempt, reason, _iso(at), _iso(at),
                 json.dumps(totals_before, ensure_ascii=False)),
            )  # fmt: skip
        return self.settlement(cur.lastrowid)

    def finish(self, settlement_id: int, state: str, at: datetime, **fields: Any) -> Settlement:
        allowed = {
            "totals_settled",
            "result_code",
            "result_text",
            "receipt_lines",
            "verified",
            "note",
        }
        unknown = set(fields) - allowed
        if unknown:
            raise ValueError(f"unknown settlement fields {sorted(unknown)}")
        values = {k: json.dumps(v, ensure_ascii=False) if k in ("totals_settled", "receipt_lines")
                  and v is not None else v for k, v in fields.items()}  # fmt: skip
        sets = "".join(f", {k} = :{k}" for k in values)
        with self._tx() as db:
            db.execute(
                f"UPDATE settlements SET state = :state, updated_at = :at{sets} WHERE id = :id",
                {"state": state, "at": _iso(at), "id": settlement_id, **values},
            )
        return self.settlement(settlement_id)

    def settlement(self, settlement_id: int) -> Settlement:
        row = self._db.execute(
            "SELECT * FROM settlements WHERE id = ?", (settlement_id,)
        ).fetchone()
        if row is None:
            raise KeyError(settlement_id)
        return Settlement.from_row(row)

    def open_settlements(self) -> list[Settlement]:
        """Settlements whose outcome is not known (a crash or a lost answer)."""
        rows = self._db.execute(
            "SELECT * FROM settlements WHERE state IN ('pending', 'unknown') ORDER BY id"
        ).fetchall()
        return [Settlement.from_row(r) for r in rows]

    def settlements(self, batch_key: str | None = None, trading_day: date | None = None,
                    limit: int = 100) -> list[Settlement]:  # fmt: skip
        query, args = "SELECT * FROM settlements WHERE 1=1", []
        if batch_key is not None:
            query, args = query + " AND batch_key = ?", [*args, batch_key]
        if trading_day is not None:
            query, args = query + " AND trading_day = ?", [*args, trading_day.isoformat()]
        rows = self._db.execute(query + " ORDER BY id DESC LIMIT ?", (*args, limit)).fetchall()
        return [Settlement.from_row(r) for r in rows]

    # -- events

    def add_event(self, kind: str, level: str, payload: dict[str, Any], at: datetime,
                  key: str | None = None) -> bool:  # fmt: skip
        """Record an event; with a key, only the first one per key (False for a repeat)."""
        with self._tx() as db:
            cur = db.execute(
                "INSERT OR IGNORE INTO events (at, kind, level, key, payload)"
                " VALUES (?, ?, ?, ?, ?)",
                (_iso(at), kind, level, key, json.dumps(payload, ensure_ascii=False, default=str)),
            )
        return cur.rowcount == 1

    def events(self, limit: int = 100) -> list[dict[str, Any]]:
        rows = self._db.execute(
            "SELECT at, kind, level, key, payload FROM events ORDER BY id DESC LIMIT ?", (limit,)
        ).fetchall()
        return [{**dict(r), "payload": json.loads(r["payload"])} for r in rows]

    # -- retention

    def prune(self, now: datetime, days: int) -> int:
        """Drop what is older than `days`; open settlements are never dropped."""
        cutoff = _iso(now - timedelta(days=days))
        with self._tx() as db:
            removed = db.execute("DELETE FROM readings WHERE at < ?", (cutoff,)).rowcount
            removed += db.execute("DELETE FROM events WHERE at < ?", (cutoff,)).rowcount
            removed += db.execute(
                "DELETE FROM batches WHERE closed_at IS NOT NULL AND closed_at < ?", (cutoff,)
            ).rowcount
            removed += db.execute(
                "DELETE FROM settlements"
                " WHERE updated_at < ? AND state NOT IN ('pending', 'unknown')",
                (cutoff,),
            ).rowcount
        return removed
