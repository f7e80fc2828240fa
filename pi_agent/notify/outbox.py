"""The push outbox: every message is a row before anyone tries to send it.

Rows are keyed (dedupe key, target): the same key again while a message still waits
updates it in place (one "terminal offline" that grows, not one per poll); once delivered
it is never sent again, except an alarm, which comes back every `repeat_minutes` until it
is acknowledged or its cause is gone. A failed send waits with exponential backoff and
jitter and holds back the later messages for that target, so each target gets them in
order; a message held by quiet hours or waiting for its repeat holds back nothing.
Delivery is at least once: the row is marked only after the service accepted it.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from ..store import Store

BACKOFF_FIRST = timedelta(seconds=30)
BACKOFF_CAP = timedelta(hours=1)
GIVE_UP_AFTER = timedelta(days=3)  # the owner learns of it on the page; the log says so
LEVEL_ORDER = {"info": 0, "warn": 1, "urgent": 2}


def target_id(url: str) -> str:
    """A stable name for a target that does not reveal its URL (which holds its token)."""
    return hashlib.sha256(url.encode()).hexdigest()[:12]


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True, slots=True)
class Draft:
    """A message in one language, before it is queued for a target."""

    key: str  # dedupe key: one message per key and target
    kind: str  # alarm | report | notice | test
    level: str  # info | warn | urgent
    title: str  # short: it must be readable on a lock screen
    body: str


@dataclass(frozen=True, slots=True)
class Put:
    """A draft on its way to one target."""

    draft: Draft
    target: str  # target_id
    due: datetime
    repeat_minutes: int = 0


@dataclass(frozen=True, slots=True)
class Message:
    id: int
    key: str
    target: str
    kind: str  # alarm | report | notice | test
    level: str  # info | warn | urgent
    title: str
    body: str
    due_at: datetime
    attempts: int
    sends: int
    repeat_minutes: int
    link: str = ""  # not stored: the page's address, given to an alarm on its way out


class Outbox:
    def __init__(self, store: Store, rng: random.Random | None = None) -> None:
        self.store = store
        self.rng = rng or random.Random()

    def put(self, d: Draft, target: str, now: datetime, *, due: datetime | None = None,
            repeat_minutes: int = 0) -> bool:  # fmt: skip
        """Queue a message, or update the one with this key that still waits.

        True if something new or changed will be sent."""
        return self.put_many([Put(d, target, due or now, repeat_minutes)], now) == 1

    def put_many(self, puts: list[Put], now: datetime) -> int:
        """`put` for many messages in one transaction (one fsync, not one each); returns how
        many are new or changed."""
        if not puts:
            return 0
        changed = 0
        with self.store.tx() as db:
            for p in puts:
                d = p.draft
                changed += db.execute(
                    "INSERT INTO outbox (key, target, kind, level, title, body, created_at,"
                    " due_at, state, repeat_minutes) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?)"
                    " ON CONFLICT (key, target) DO UPDATE SET title = excluded.title,"
                    " body = excluded.body, level = excluded.level"
                    " WHERE state = 'pending'"
                    " AND (title != excluded.title OR body != excluded.body)",
                    (d.key, p.target, d.kind, d.level, d.title, d.body, _iso(now), _iso(p.due),
                     p.repeat_minutes),
                ).rowcount  # fmt: skip
        return changed

    def pending(self, target: str | None = None) -> list[Message]:
        sql = "SELECT * FROM outbox WHERE state = 'pending'"
        args: tuple[str, ...] = ()
        if target is not None:
            sql, args = sql + " AND target = ?", (target,)
        rows = self.store.db.execute(sql + " ORDER BY id", args).fetchall()
        return [
            Message(r["id"], r["key"], r["target"], r["kind"], r["level"], r["title"], r["body"],
                    datetime.fromisoformat(r["due_at"]), r["attempts"], r["sends"],
                    r["repeat_minutes"])
            for r in rows
        ]  # fmt: skip

    def next_for(self, target: str, now: datetime) -> Message | None:
        """The message to send to `target` now, if any, keeping the target's order."""
        for m in self.pending(target):
            if m.due_at <= now:
                return m
            if m.attempts > 0 and m.sends == 0:
                return None  # a failed message waits for its retry; the later ones wait too
        return None

    def next_due(self) -> datetime | None:
        row = self.store.db.execute(
            "SELECT MIN(due_at) FROM outbox WHERE state = 'pending'"
        ).fetchone()
        return datetime.fromisoformat(row[0]) if row[0] else None

    def sent(self, m: Message, now: datetime) -> None:
        with self.store.tx() as db:
            if m.repeat_minutes and m.kind == "alarm":
                again = now + timedelta(minutes=m.repeat_minutes)
                db.execute(
                    "UPDATE outbox SET sends = sends + 1, attempts = 0, delivered_at = ?,"
                    " due_at = ?, last_error = NULL WHERE id = ? AND state = 'pending'",
                    (_iso(now), _iso(again), m.id),
                )
            else:
                db.execute(
                    "UPDATE outbox SET sends = sends + 1, attempts = 0, state = 'delivered',"
                    " delivered_at = ?, last_error = NULL WHERE id = ?",
                    (_iso(now), m.id),
                )

    def failed(self, m: Message, now: datetime, error: str, *, permanent: bool = False) -> None:
        attempts = m.attempts + 1
        delay = min(BACKOFF_CAP, BACKOFF_FIRST * 2 ** (attempts - 1))
        delay *= self.rng.uniform(0.5, 1.0)  # jitter: many guards must not retry in step
        gone = permanent or (m.sends == 0 and now - m.due_at > GIVE_UP_AFTER)
        with self.store.tx() as db:
            db.execute(
                "UPDATE outbox SET attempts = ?, due_at = ?, last_error = ?, state = ?"
                " WHERE id = ?",
                (attempts, _iso(now + delay), error[:500], "gone" if gone else "pending", m.id),
            )

    def acknowledge(self, key_prefix: str, now: datetime) -> int:
        """The owner has seen it: alarms whose key starts with the prefix stop repeating."""
        return self._acknowledge("key LIKE ? || '%'", [key_prefix], now)

    def acknowledge_keys(self, keys: Iterable[str], now: datetime) -> int:
        """`acknowledge` for exactly these keys ("out-of-balance:1" is not "...:12")."""
        return self._acknowledge("key = ?", list(keys), now)

    def _acknowledge(self, match: str, values: list[str], now: datetime) -> int:
        if not values:
            return 0
        with self.store.tx() as db:
            return db.executemany(
                "UPDATE outbox SET acked_at = ?, repeat_minutes = 0,"
                " state = CASE WHEN sends > 0 THEN 'delivered' ELSE state END"
                f" WHERE {match} AND acked_at IS NULL AND kind = 'alarm'",
                [(_iso(now), v) for v in values],
            ).rowcount

    def settle_repeats(self, active_keys: set[str]) -> int:
        """Alarms whose cause is gone stop repeating (a delivered one is not recalled)."""
        rows = self.store.db.execute(
            "SELECT id, key FROM outbox WHERE state = 'pending' AND repeat_minutes > 0"
        ).fetchall()
        done = [r["id"] for r in rows if r["key"] not in active_keys]
        if not done:
            return 0
        with self.store.tx() as db:
            db.executemany(
                "UPDATE outbox SET repeat_minutes = 0,"
                " state = CASE WHEN sends > 0 THEN 'delivered' ELSE state END WHERE id = ?",
                [(i,) for i in done],
            )
        return len(done)

    def history(self, limit: int = 100) -> list[dict[str, object]]:
        rows = self.store.db.execute(
            "SELECT id, key, target, kind, level, title, state, sends, attempts, created_at,"
            " delivered_at, last_error FROM outbox ORDER BY id DESC LIMIT ?",
            (limit,),
        ).fetchall()
        return [dict(r) for r in rows]
