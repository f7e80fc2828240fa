"""Payout tracking: each settled batch gets the date its money should reach the bank."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from ..store import Store


@dataclass(frozen=True, slots=True)
class Payout:
    id: int
    settlement_id: int
    trading_day: date
    amount: int
    currency: int
    count: int
    expected_on: date
    received_on: date | None


def _payout(r: object) -> Payout:
    return Payout(r["id"], r["settlement_id"], date.fromisoformat(r["trading_day"]),  # type: ignore[index]
                  r["amount"], r["currency"], r["count"], date.fromisoformat(r["expected_on"]),  # type: ignore[index]
                  date.fromisoformat(r["received_on"]) if r["received_on"] else None)  # type: ignore[index]  # fmt: skip


def recorded(store: Store, settlement_id: int) -> bool:
    known = "SELECT 1 FROM payouts WHERE settlement_id = ?"
    return store.db.execute(known, (settlement_id,)).fetchone() is not None


def expect(store: Store, settlement_id: int, day: date, *, amount: int, currency: int,
           count: int, expected_on: date) -> bool:  # fmt: skip
    """Record a settled batch's expected payout once; False if it was already recorded."""
    if recorded(store, settlement_id):
        return False  # the usual case on every tick: no write transaction for nothing
    with store.tx() as db:
        cur = db.execute(
            "INSERT OR IGNORE INTO payouts (settlement_id, trading_day, amount, currency, count,"
            " expected_on) VALUES (?, ?, ?, ?, ?, ?)",
            (settlement_id, day.isoformat(), amount, currency, count, expected_on.isoformat()),
        )
    return cur.rowcount == 1


def payouts(store: Store, limit: int = 60) -> list[Payout]:
    rows = store.db.execute("SELECT * FROM payouts ORDER BY id DESC LIMIT ?", (limit,)).fetchall()
    return [_payout(r) for r in rows]


def late(store: Store, today: date) -> list[Payout]:
    """Expected before today and not marked received, the longest overdue first."""
    rows = store.db.execute(
        "SELECT * FROM payouts WHERE received_on IS NULL AND expected_on < ?"
        " ORDER BY expected_on, id",
        (today.isoformat(),),
    ).fetchall()
    return [_payout(r) for r in rows]


def revision(store: Store) -> int:
    """Moves with every change of payouts, by any process (a trigger keeps it)."""
    return store.db.execute("SELECT rev FROM revisions WHERE name = 'payouts'").fetchone()[0]


def unrecorded(store: Store, newest: int = 10) -> list[int]:
    """Settled ones among the `newest` settlements that have no payout yet (ids)."""
    rows = store.db.execute(
        "SELECT id FROM settlements s WHERE id > (SELECT max(id) FROM settlements) - ?"
        " AND state = 'ok' AND NOT EXISTS (SELECT 1 FROM payouts WHERE settlement_id = s.id)"
        " ORDER BY id DESC",
        (newest,),
    ).fetchall()
    return [r[0] for r in rows]


def mark_received(store: Store, payout_id: int, on: date) -> Payout | None:
    with store.tx() as db:
        db.execute("UPDATE payouts SET received_on = ? WHERE id = ? AND received_on IS NULL",
                   (on.isoformat(), payout_id))  # fmt: skip
    row = store.db.execute("SELECT * FROM payouts WHERE id = ?", (payout_id,)).fetchone()
    return _payout(row) if row else None
