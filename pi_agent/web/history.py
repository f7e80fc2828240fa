"""History for the page and the API, read through a read-only connection to guard.db."""

from __future__ import annotations

import csv
import io
import json
from contextlib import closing
from datetime import date, timedelta
from typing import Any

from ..store import Settlement
from .control import read_only

KINDS = ("events", "settlements", "payouts")


def events(db_path: str, limit: int = 200) -> list[dict[str, Any]]:
    with _db(db_path) as db:
        rows = db.execute("SELECT id, at, kind, level, key, payload FROM events"
                          " ORDER BY id DESC LIMIT ?", (limit,)).fetchall()  # fmt: skip
    return [{**dict(r), "payload": json.loads(r["payload"])} for r in rows]


def settlements(db_path: str, limit: int = 100) -> list[Settlement]:
    with _db(db_path) as db:
        rows = db.execute("SELECT * FROM settlements ORDER BY id DESC LIMIT ?", (limit,))
        return [Settlement.from_row(r) for r in rows.fetchall()]


def payouts(db_path: str, limit: int = 100) -> list[dict[str, Any]]:
    with _db(db_path) as db:
        rows = db.execute("SELECT * FROM payouts ORDER BY id DESC LIMIT ?", (limit,)).fetchall()
    return [dict(r) for r in rows]


def turnover(db_path: str, today: date, days: int = 30) -> dict[date, int]:
    """Settled amount (minor units) per trading day over the last `days` days."""
    since = (today - timedelta(days=days - 1)).isoformat()
    with _db(db_path) as db:
        query = "SELECT trading_day, totals_settled FROM settlements WHERE state = 'ok'"
        rows = db.execute(query + " AND trading_day >= ?", (since,)).fetchall()
    out: dict[date, int] = {}
    for r in rows:
        settled = json.loads(r["totals_settled"]) if r["totals_settled"] else {}
        day = date.fromisoformat(r["trading_day"])
        out[day] = out.get(day, 0) + int(settled.get("total_minor") or 0)
    return out


def settlement_json(s: Settlement) -> dict[str, Any]:
    return {"id": s.id, "trading_day": s.trading_day.isoformat(), "attempt": s.attempt,
            "state": s.state, "reason": s.reason, "created_at": s.created_at.isoformat(),
            "updated_at": s.updated_at.isoformat(), "result_code": s.result_code,
            "result_text": s.result_text, "verified": s.verified, "note": s.note,
            "totals_before": s.totals_before, "totals_settled": s.totals_settled,
            "receipt_lines": s.receipt_lines, "out_of_balance": s.out_of_balance,
            "offline_unsent": s.offline_unsent,
            "offline_unsent_total": s.offline_unsent_total}  # fmt: skip


def rows(db_path: str, kind: str) -> list[dict[str, Any]]:
    """One kind of history as flat JSON-able rows (the API and the CSV export)."""
    if kind == "events":
        return [{**e, "payload": json.dumps(e["payload"], ensure_ascii=False)}
                for e in events(db_path, 1000)]  # fmt: skip
    if kind == "settlements":
        return [settlement_json(s) for s in settlements(db_path, 1000)]
    return payouts(db_path, 1000)


def to_csv(records: list[dict[str, Any]]) -> str:
    """CSV for a spreadsheet; a cell that starts like a formula is quoted as text."""
    out = io.StringIO()
    if not records:
        return ""
    writer = csv.DictWriter(out, fieldnames=list(records[0]))
    writer.writeheader()
    for record in records:
        writer.writerow({k: _cell(v) for k, v in record.items()})
    return out.getvalue()


def _cell(value: Any) -> Any:
    if isinstance(value, list | dict):
        value = json.dumps(value, ensure_ascii=False)
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def _db(path: str) -> closing[Any]:
    return closing(read_only(path))
