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
import os
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
    # 4: readings stored on change (seen_at: the last poll that saw the same one), and an
    # index for each query of the tick, the page and `report`
    """
    ALTER TABLE readings ADD COLUMN seen_at TEXT;
    DROP INDEX readings_kind_at;
    CREATE INDEX readings_kind ON readings (kind);
    CREATE INDEX readings_at ON readings (at);
    CREATE INDEX settlements_open ON settlements (id) WHERE state IN ('pending', 'unknown');
    CREATE INDEX payouts_open ON payouts (expected_on, id) WHERE received_on IS NULL;
    -- A number that moves with every change of payouts, in any process (the CLI marks them
    -- received): the planner re-reads late payouts only when it moved.
    CREATE TABLE revisions (name TEXT PRIMARY KEY, rev INTEGER NOT NULL) WITHOUT ROWID;
    INSERT INTO revisions VALUES ('payouts', 0);
    CREATE TRIGGER payouts_added AFTER INSERT ON payouts BEGIN
        UPDATE revisions SET rev = rev + 1 WHERE name = 'payouts';
    END;
    CREATE TRIGGER payouts_changed AFTER UPDATE ON payouts BEGIN
        UPDATE revisions SET rev = rev + 1 WHERE name = 'payouts';
    END;
    CREATE TRIGGER payouts_dropped AFTER DELETE ON payouts BEGIN
        UPDATE revisions SET rev = rev + 1 WHERE name = 'payouts';
    END;
    """,
    # 5: what the policy judges after the fact: a batch that vanished without a settlement
    # (lost_at), a settlement closed out of balance, offline payments still unsent after it
    """
    ALTER TABLE batches ADD COLUMN lost_at TEXT;
    CREATE INDEX batches_lost ON batches (lost_at) WHERE lost_at IS NOT NULL;
    ALTER TABLE settlements ADD COLUMN out_of_balance INTEGER;
    ALTER TABLE settlements ADD COLUMN offline_unsent INTEGER;
    ALTER TABLE settlements ADD COLUMN offline_unsent_total INTEGER;
    CREATE INDEX settlements_ok ON settlements (id) WHERE state = 'ok';
    """,
)

HEARTBEAT = timedelta(minutes=15)  # an unchanged reading moves its row's seen_at this often
VOLATILE = frozenset({"terminal_time"})  # fields that change on every poll: not a change
ANSWERS = ("status", "totals")  # a failure between two equal answers is kept as three rows

OPEN_STATES = ("pending", "unknown")  # outcome not known: never send another end-of-day


def _iso(at: datetime) -> str:
    if at.tzinfo is None:
        raise ValueError("the store keeps aware times only")
    return at.astimezone(UTC).isoformat(timespec="seconds")


def _dt(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def _statements(script: str) -> Iterator[str]:
    """A migration's statements one by one (a trigger's body has semicolons of its own)."""
    pending = ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            yield pending
            pending = ""


def _private(path: Path) -> None:
    """guard.db holds the shop's takings: readable by the guard alone, whatever the umask.
    SQLite gives -wal and -shm the main file's mode when it creates them."""
    path.parent.mkdir(parents=True, exist_ok=True)
    os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
    for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        with contextlib.suppress(OSError):  # absent, or another user's (then not ours to fix)
            if p.stat().st_mode & 0o077:
                p.chmod(0o600)


@dataclass(slots=True)
class _Last:
    """The newest stored reading of a kind, as add_reading compares the next one with it."""

    id: int
    same: dict[str, Any]  # its payload without the VOLATILE fields
    seen: datetime  # when it was last written or its seen_at moved


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
    out_of_balance: bool = False  # closed, but the terminal's and the host's totals differ
    offline_unsent: int | None = None  # offline payments still not sent after it (None: unknown)
    offline_unsent_total: int | None = None

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Settlement:
        later = row.keys()  # a reader of a store older than schema 5 has none of these
        return cls(
            row["id"], date.fromisoformat(row["trading_day"]), row["batch_key"], row["attempt"],
            row["state"], row["reason"], _dt(row["created_at"]), _dt(row["updated_at"]),
            json.loads(row["totals_before"]) if row["totals_before"] else None,
            json.loads(row["totals_settled"]) if row["totals_settled"] else None,
            row["result_code"], row["result_text"],
            json.loads(row["receipt_lines"]) if row["receipt_lines"] else [],
            None if row["verified"] is None else bool(row["verified"]), row["note"],
            bool(row["out_of_balance"]) if "out_of_balance" in later else False,
            row["offline_unsent"] if "offline_unsent" in later else None,
            row["offline_unsent_total"] if "offline_unsent_total" in later else None,
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class BatchRecord:
    key: str
    trading_day: date
    opened_at: datetime
    closed_at: datetime | None
    closed_why: str | None  # settled / empty / replaced
    ref: dict[str, Any] | None  # the batch's latest reading (BatchIdentity's fields)
    # When the guard saw it vanish without any settlement (its sales discarded), else None.
    lost_at: datetime | None = None

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> BatchRecord:
        names = row.keys()  # a reader of a store older than schema 5 has no lost_at
        return cls(row["batch_key"], date.fromisoformat(row["trading_day"]),
                   _dt(row["opened_at"]), _dt(row["closed_at"]), row["closed_why"],
                   json.loads(row["ref"]) if row["ref"] else None,
                   _dt(row["lost_at"]) if "lost_at" in names else None)  # fmt: skip


class Store:
    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            _private(Path(self.path))
        self._db = sqlite3.connect(
            self.path, isolation_level=None, timeout=10, check_same_thread=False
        )
        self._db.row_factory = sqlite3.Row
        if self.version == 0:  # only a new, empty file takes it: prune then gives space back
            self._db.execute("PRAGMA auto_vacuum=INCREMENTAL")
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("PRAGMA foreign_keys=ON")
        self._migrate()
        self._last: dict[str, _Last | None] = {}  # per kind; None: the next one is stored

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
    def _tx(self, durable: bool = True) -> Iterator[sqlite3.Connection]:
        """durable=False commits without an fsync (synchronous=NORMAL): after a power cut
        the database is intact but may lack its newest such commits; the next durable
        commit makes them durable too."""
        if not durable:
            self._db.execute("PRAGMA synchronous=NORMAL")
        try:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
        finally:
            if not durable:
                self._db.execute("PRAGMA synchronous=FULL")

    @property
    def version(self) -> int:
        return self._db.execute("PRAGMA user_version").fetchone()[0]

    def _migrate(self) -> None:
        current = self.version
        if current > len(MIGRATIONS):
            raise RuntimeError(f"{self.path} has schema {current}, newer than this program knows")
        for number, script in enumerate(MIGRATIONS[current:], start=current + 1):
            with self._tx() as db:
                for statement in _statements(script):
                    db.execute(statement)
                db.execute(f"PRAGMA user_version = {number}")

    # -- readings

    def add_reading(self, kind: str, payload: dict[str, Any], at: datetime) -> bool:
        """Store a reading if it differs from the last one of its kind (VOLATILE fields
        aside) or a failure came between them; True if it was stored. An unchanged one
        only moves that row's seen_at, once per HEARTBEAT: an uneventful day writes little.

        Readings commit without an fsync: the terminal repeats them at the next poll, and
        a power cut costs at most the newest few (the settlement journal stays FULL)."""
        same = {k: v for k, v in payload.items() if k not in VOLATILE}
        last = self._last_of(kind)
        if last is not None and last.same == same:
            if abs(at - last.seen) >= HEARTBEAT:  # abs: the clock may have been set back
                with self._tx(durable=False) as db:
                    db.execute("UPDATE readings SET seen_at = ? WHERE id = ?", (_iso(at), last.id))
                last.seen = at
            return False
        with self._tx(durable=False) as db:
            cur = db.execute(
                "INSERT INTO readings (at, kind, payload) VALUES (?, ?, ?)",
                (_iso(at), kind, json.dumps(payload, ensure_ascii=False, separators=(",", ":"))),
            )
        self._last[kind] = _Last(cur.lastrowid, same, at)
        for other in ANSWERS if kind == "failure" else ("failure",):
            self._last[other] = None  # the other side's next reading starts a row again
        return True

    def _newest(self, kind: str) -> sqlite3.Row | None:
        return self._db.execute(
            "SELECT id, at, seen_at, payload FROM readings WHERE kind = ? ORDER BY id DESC LIMIT 1",
            (kind,),
        ).fetchone()

    def _last_of(self, kind: str) -> _Last | None:
        if kind not in self._last:  # first use since start or prune: ask the file
            row, last = self._newest(kind), None
            if row is not None:
                others = ANSWERS if kind == "failure" else ("failure",)
                later = self._db.execute(
                    f"SELECT 1 FROM readings WHERE kind IN ({','.join('?' * len(others))})"
                    " AND id > ? LIMIT 1",
                    (*others, row["id"]),
                ).fetchone()
                if later is None:
                    payload = json.loads(row["payload"])
                    same = {k: v for k, v in payload.items() if k not in VOLATILE}
                    last = _Last(row["id"], same, _dt(row["seen_at"] or row["at"]))
            self._last[kind] = last
        return self._last[kind]

    def latest_reading(self, kind: str) -> tuple[datetime, dict[str, Any]] | None:
        row = self._newest(kind)
        return (_dt(row["at"]), json.loads(row["payload"])) if row else None

    # -- batches

    def newest_batch(self) -> BatchRecord | None:
        """The batch seen last (open, or closed and why): what a new reading is judged by."""
        row = self._db.execute(
            "SELECT * FROM batches WHERE seq = (SELECT MAX(seq) FROM batches)"
        ).fetchone()
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

    def batch_closed(self, key: str, at: datetime, why: str = "settled",
                     lost: bool = False) -> None:  # fmt: skip
        """The batch is over: `settled` by us, seen `empty`, or `replaced` by another one.
        A batch we settled and then saw empty is marked `empty`: nothing can reopen it.
        `lost`: it went without any settlement (its sales discarded); kept whatever later
        readings close it as."""
        with self._tx() as db:
            db.execute(
                "UPDATE batches SET closed_at = COALESCE(closed_at, ?),"
                " closed_why = CASE WHEN closed_at IS NULL OR ? = 'empty' THEN ? ELSE closed_why"
                " END, lost_at = CASE WHEN ? AND closed_at IS NULL THEN ? ELSE lost_at END"
                " WHERE batch_key = ?",
                (_iso(at), why, why, lost, _iso(at), key),
            )

    def batch_lost(self, key: str, at: datetime) -> None:
        """A batch already closed turns out to have lost its sales (learnt from a later
        reading: an empty one tells nothing of where the batch went)."""
        with self._tx() as db:
            db.execute("UPDATE batches SET lost_at = COALESCE(lost_at, ?) WHERE batch_key = ?",
                       (_iso(at), key))  # fmt: skip

    def batch(self, key: str) -> BatchRecord | None:
        row = self._db.execute("SELECT * FROM batches WHERE batch_key = ?", (key,)).fetchone()
        return BatchRecord.from_row(row) if row else None

    def lost_batches(self, since: datetime) -> list[BatchRecord]:
        """Batches seen vanishing without a settlement at or after `since`, newest first."""
        rows = self._db.execute(
            "SELECT * FROM batches WHERE lost_at IS NOT NULL AND lost_at >= ?"
            " ORDER BY lost_at DESC", (_iso(since),),
        ).fetchall()  # fmt: skip
        return [BatchRecord.from_row(r) for r in rows]

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
            "out_of_balance",
            "offline_unsent",
            "offline_unsent_total",
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

    def last_ok_settlement(self) -> Settlement | None:
        """The newest settlement that closed a batch."""
        row = self._db.execute(
            "SELECT * FROM settlements WHERE state = 'ok' ORDER BY id DESC LIMIT 1"
        ).fetchone()
        return Settlement.from_row(row) if row else None

    def open_settlements(self) -> list[Settlement]:
        """Settlements whose outcome is not known (a crash or a lost answer)."""
        rows = self._db.execute(
            "SELECT * FROM settlements WHERE state IN ('pending', 'unknown') ORDER BY id"
        ).fetchall()
        return [Settlement.from_row(r) for r in rows]

    def settlements(self, batch_key: str | None = None, trading_day: date | None = None,
                    limit: int = 100) -> list[Settlement]:  # fmt: skip
        where = {"batch_key": batch_key,
                 "trading_day": trading_day.isoformat() if trading_day else None}  # fmt: skip
        where = {k: v for k, v in where.items() if v is not None}
        query = "SELECT * FROM settlements"
        if where:
            query += " WHERE " + " AND ".join(f"{k} = ?" for k in where)
        rows = self._db.execute(query + " ORDER BY id DESC LIMIT ?",
                                (*where.values(), limit)).fetchall()  # fmt: skip
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

    def event_seen(self, key: str) -> bool:
        """Whether an event with this key was recorded (and not pruned yet)."""
        row = self._db.execute("SELECT 1 FROM events WHERE key = ?", (key,)).fetchone()
        return row is not None

    def acknowledged(self, since: datetime) -> set[str]:
        """The notice keys acknowledged (an `acknowledged` event keyed `ack:KEY`) since then."""
        rows = self._db.execute(
            "SELECT key FROM events WHERE kind = 'acknowledged' AND at >= ? AND key IS NOT NULL",
            (_iso(since),),
        ).fetchall()
        return {r["key"].removeprefix("ack:") for r in rows}

    def events(self, limit: int = 100) -> list[dict[str, Any]]:
        rows = self._db.execute(
            "SELECT at, kind, level, key, payload FROM events ORDER BY id DESC LIMIT ?", (limit,)
        ).fetchall()
        return [{**dict(r), "payload": json.loads(r["payload"])} for r in rows]

    # -- retention

    def prune(self, now: datetime, days: int) -> int:
        """Drop what is older than `days`. Open settlements are never dropped; a payout goes
        once it was due before the cutoff, received or not (nobody chases it any more), and
        its settlement only with it or after it (the payout points at it)."""
        since = now - timedelta(days=days)
        cutoff = _iso(since)
        with self._tx() as db:
            removed = db.execute(
                "DELETE FROM readings WHERE at < ? AND coalesce(seen_at, at) < ?",
                (cutoff, cutoff),
            ).rowcount
            removed += db.execute("DELETE FROM events WHERE at < ?", (cutoff,)).rowcount
            removed += db.execute(
                "DELETE FROM batches WHERE closed_at IS NOT NULL AND closed_at < ?", (cutoff,)
            ).rowcount
            removed += db.execute(
                "DELETE FROM payouts WHERE expected_on < ?", (since.date().isoformat(),)
            ).rowcount
            removed += db.execute(
                "DELETE FROM settlements"
                " WHERE updated_at < ? AND state NOT IN ('pending', 'unknown')"
                " AND id NOT IN (SELECT settlement_id FROM payouts)",
                (cutoff,),
            ).rowcount
            removed += db.execute(
                "DELETE FROM outbox WHERE state != 'pending' AND created_at < ?", (cutoff,)
            ).rowcount
        self._last.clear()
        # The space back to the file system (a no-op on a store made before schema 4);
        # executescript: execute would step once and free a single page.
        self._db.executescript("PRAGMA incremental_vacuum")
        return removed
