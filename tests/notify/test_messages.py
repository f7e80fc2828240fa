"""Message snapshots in both languages: every alarm kind, the reports, the notices.

After a deliberate change regenerate with SETTLEGUARD_REGEN_SNAPSHOTS=1 and read the diff."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from pi_agent.guard.assessment import Assessment, Level, Reason, ReasonKind
from pi_agent.notify import messages

SNAPSHOT = Path(__file__).parent / "messages.snapshot.txt"
ZONE = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 9, 30, 14, 50, tzinfo=UTC)  # 22:50 in Shanghai
DETAILS = {ReasonKind.SETTLE_FAILED: {"code": 0x9B}, ReasonKind.OUT_OF_ORDER: {"code": 0x83},
           ReasonKind.TERMINAL_CLOCK_WRONG: {"drift_seconds": -425},
           ReasonKind.AUTH_AGE: {"hours": 23, "limit_hours": 24, "estimated": True},
           ReasonKind.OFFLINE_PENDING: {"count": 3, "total": 4200},
           ReasonKind.OFFLINE_UNSENT: {"count": 2, "total": 2500},
           ReasonKind.BATCH_LOST: {"count": 4, "total": 6100, "batch_number": 12}}  # fmt: skip


def render_all() -> str:
    out = []
    ctx = messages.Context(ZONE, last_answer_at=NOW - timedelta(minutes=25))
    for lang in ("en", "zh-CN"):
        for kind in messages.ALARMS:
            reason = Reason(kind, Level.URGENT, DETAILS.get(kind, {}))
            a = Assessment(NOW, NOW.date(), NOW + timedelta(minutes=10), Level.URGENT, (reason,),
                           batch_count=42, batch_total=123456, currency=156)  # fmt: skip
            out.append(messages.alarm(a, kind, f"{kind.value}:x", lang, ctx))
        cards = (("UnionPay", 30, 100000), ("Visa", 12, 23456))
        day = date(2026, 9, 30)
        settled = messages.DayReport(day, NOW, 42, 123456, 156, cards, date(2026, 10, 8))
        out.append(messages.report(settled, lang, ZONE))
        lost = messages.DayReport(day, NOW, 0, 0, 156, (), date(2026, 10, 8), unverified=True,
                                  totals_known=False)  # fmt: skip
        out.append(messages.report(lost, lang, ZONE))
        balance = messages.DayReport(day, NOW, 42, 123456, 156, cards, date(2026, 10, 8),
                                     out_of_balance=True, offline_unsent=2)  # fmt: skip
        out.append(messages.report(balance, lang, ZONE))
        unsettled = messages.DayReport(day, None, 42, 123456, 156, (), None)
        out.append(messages.report(unsettled, lang, ZONE))
        out.append(messages.holiday(date(2026, 10, 1), "National Day", date(2026, 10, 8), lang))
        out.append(messages.payout_late(7, date(2026, 9, 30), "1234.56 CNY", date(2026, 10, 8),
                                        lang))  # fmt: skip
        out.append(messages.calendar_missing([2027], lang))
    return "\n\n".join(f"[{d.key}] {d.kind}/{d.level}\n{d.title}\n{d.body}" for d in out) + "\n"


def test_messages_match_the_snapshot() -> None:
    text = render_all()
    if os.environ.get("SETTLEGUARD_REGEN_SNAPSHOTS") == "1":
        SNAPSHOT.write_text(text, encoding="utf-8")
    assert SNAPSHOT.exists(), "no snapshot: run with SETTLEGUARD_REGEN_SNAPSHOTS=1 and read it"
    assert text == SNAPSHOT.read_text(encoding="utf-8")


def test_titles_fit_a_lock_screen() -> None:
    for block in render_all().split("\n\n"):
        title = block.splitlines()[1]
        assert len(title) <= 40, title


def everything_at_its_longest() -> list[messages.Draft]:
    """Every message the planner (and `notify test`) can send, with the longest facts a shop
    may have: a big batch, a big amount, a long holiday name, several years missing."""
    ctx = messages.Context(ZONE, last_answer_at=NOW - timedelta(minutes=25))
    huge = {"count": 9999, "total": 9_999_999_999, "batch_number": 999999, "hours": 999,
            "limit_hours": 999, "estimated": True, "code": 0xFF,
            "drift_seconds": -86399}  # fmt: skip
    out = []
    for lang in ("en", "zh-CN"):
        for kind in ReasonKind:  # kinds without a text of their own get the generic one
            reason = Reason(kind, Level.FAULT, huge)
            a = Assessment(NOW, NOW.date(), NOW + timedelta(hours=23), Level.FAULT, (reason,),
                           batch_count=9999, batch_total=9_999_999_999, currency=978)  # fmt: skip
            out.append(messages.alarm(a, kind, kind.value, lang, ctx))
        cards = (("UnionPay", 9999, 9_999_999_999),)
        for settled_at in (NOW, None):
            for flags in ({}, {"out_of_balance": True, "offline_unsent": 9999},
                          {"unverified": True, "totals_known": False}):  # fmt: skip
                r = messages.DayReport(date(2026, 9, 30), settled_at, 9999, 9_999_999_999, 978,
                                       cards, date(2026, 10, 8), **flags)  # fmt: skip
                out.append(messages.report(r, lang, ZONE))
        name = "Day of Prayer and Repentance; TARGET closing day"
        out.append(messages.holiday(date(2026, 11, 18), name, date(2026, 11, 20), lang))
        out.append(messages.payout_late(999999, date(2026, 9, 30), "99999999.99 EUR",
                                        date(2026, 10, 8), lang))  # fmt: skip
        out.append(messages.calendar_missing([2027, 2028, 2029], lang))
        out.append(messages.push_test(lang, NOW, ZONE))
    return out


def test_every_title_fits_a_lock_screen_at_its_longest() -> None:
    drafts = everything_at_its_longest()
    assert len(drafts) > 2 * len(ReasonKind)
    for d in drafts:
        assert len(d.title) <= messages.TITLE_MAX, d.title
        assert d.title and not d.title.endswith("…"), d.title  # a shorter form, not a cut


def test_the_first_line_says_what_to_do() -> None:
    """A lock screen shows the title and about one line: for anything the owner must act
    on, that line is the action, short enough to be read whole."""
    for d in everything_at_its_longest():
        first = d.body.splitlines()[0] if d.body else ""
        if d.kind == "alarm" or d.level != "info":
            zh = any("\u4e00" <= c <= "\u9fff" for c in first)
            assert 0 < len(first) <= (32 if zh else 64), (d.key, first)
