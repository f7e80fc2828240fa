"""History for the page and the API, read through a read-only connection to guard.db."""

from __future__ import annotations

import csv
import io
import json
import re
from contextlib import closing
from datetime import date, timedelta
from typing import Any

from ..store import Settlement
from .control import read_only
from .texts import text

KINDS = ("events", "settlements", "payouts")


def events(db_path: str, limit: int = 200) -> list[dict[str, Any]]:
    with _db(db_path) as db:
        rows = db.execute("SELECT id, at, kind, level, key, payload FROM events"
                          " ORDER BY id DESC LIMIT ?", (limit,)).fetchall()  # fmt: skip
    return [{**dict(r), "payload": json.loads(r["payload"])} for r in rows]


def in_words(
    events: list[dict[str, Any]], settled: list[Settlement], lang: str
) -> list[dict[str, Any]]:
    """Each event with `text`, a sentence in `lang` (settlement amounts from `settled`), and
    `level_text`, its level in words."""
    by_id = {s.id: s for s in settled}
    return [{**e, "text": describe(e, lang, by_id), "level_text": _level(e["level"], lang)}
            for e in events]  # fmt: skip


def describe(event: dict[str, Any], lang: str, settled: dict[int, Settlement]) -> str:
    """One event as a sentence for the page; a kind this page does not know becomes a
    generic line of its fields, never raw JSON."""
    kind, p = event["kind"], event["payload"] if isinstance(event["payload"], dict) else {}
    ok = event.get("level") == "info"

    def say(key: str, **values: object) -> str:
        return text(key, lang, **values)

    def detail(value: object) -> str:
        colon = "：" if lang == "zh-CN" else ": "
        return f"{colon}{value}" if value not in (None, "") else ""

    if kind == "settlement":
        if "state" not in p:
            return say("ev-settlement-error", error=p.get("error", "?"))
        if p["state"] == "ok":
            record = settled.get(p.get("id"))  # type: ignore[arg-type]
            totals = record.totals_settled if record is not None else None
            if totals and totals.get("total") is not None:
                amount = f"{totals['total']} {totals.get('currency', '')}".strip()
                return say("ev-settlement-ok", amount=amount)
            return say("ev-settlement-ok-empty")
        if p["state"] == "unknown":
            return say("ev-settlement-unknown")
        return say("ev-settlement-failed", detail=detail(p.get("note") or p.get("code")))
    if kind == "level":
        reasons = [_reason(r, lang) for r in p.get("reasons", [])[:1]]
        return say("ev-level", level=_level(str(event.get("level")), lang),
                   detail=detail(reasons[0] if reasons else ""))  # fmt: skip
    if kind == "notice":
        return say("ev-notice", detail=_reason(str(p.get("kind", "")), lang))
    if kind in ("acknowledge", "acknowledged", "settle-cancelled"):
        return say(f"ev-{kind}", by=_who(str(p.get("by", "")), lang), day=p.get("day", ""))
    if kind in ("settle-request-expired", "offline-sent"):
        return say(f"ev-{kind}")
    if kind in ("sign-in", "diagnosis", "clock"):
        # From the page: the result as JSON; from the agent's own schedule: its repr, or
        # the error's text when the terminal did not answer.
        result = p.get("result")
        if isinstance(result, dict):
            ok, why = bool(result.get("ok")), result.get("result_text")
        elif isinstance(result, str) and not result.startswith("OperationResult("):
            ok, why = False, result
        else:
            ok = ok and "ok=False" not in str(result)
            why = p.get("error")
        return say(f"ev-{kind}-{'ok' if ok else 'failed'}", detail=detail(why))
    fields = ", ".join(f"{k}: {_plain(v)}" for k, v in p.items())
    return say("ev-other", kind=kind, detail=detail(fields))


def _level(level: str, lang: str) -> str:
    words = text(f"lv-{level}", lang)
    return level if words.startswith("?") else words


def _reason(kind: str, lang: str) -> str:
    """A reason's sentence; its numbers are not in the event, so their places are blanked."""
    words = text(f"r-{kind}", lang)
    return kind if words.startswith("?") else re.sub(r"\s*\{\w*\}\s*", " … ", words).strip()


def _who(by: str, lang: str) -> str:
    if by.startswith("api:"):
        return text("by-api", lang, name=by.removeprefix("api:"))
    words = text(f"by-{by}", lang)
    return by if words.startswith("?") else words


def _plain(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k} {_plain(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(_plain(v) for v in value)
    return str(value)


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
