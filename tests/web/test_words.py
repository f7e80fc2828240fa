"""The page in words: each configuration field with its label, one-line help and TOML name,
and the history's events as sentences, in English and in Chinese."""

from __future__ import annotations

import html as markup
import re

import pytest

from pi_agent.web import history

from .conftest import Rig


def page(rig: Rig, url: str, lang: str) -> str:
    assert rig.post(f"/lang/{lang}", {"next": "/"}).status_code == 302
    return markup.unescape(rig.client.get(url).get_data(True))


@pytest.mark.parametrize(
    ("lang", "words"),
    [
        ("en", ["Settlement cutoff", "The acquirer's deadline; before 06:00 it ends the previous",
                "Terminal password", "The ECR password set on the terminal", "Push targets"]),
        ("zh-CN", ["结算截止时间", "收银机密码", "终端密码", "推送目标", "额外工作日"]),
    ],
)  # fmt: skip
def test_the_form_shows_labels_help_and_toml_names(rig: Rig, lang: str, words) -> None:
    rig.login()
    html = page(rig, "/config", lang)
    for w in words:
        assert w in html, w
    # The TOML name stays visible in small print, under its label.
    assert re.search(r'<span class="name">[^<]+</span> <small class="toml">schedule\.cutoff'
                     r'</small><small class="help">[^<]+</small>', html)  # fmt: skip
    assert 'class="toml">terminal.password<' in html


def one_of_each(rig: Rig) -> None:
    """The store holding one event of every kind the guard records, and one it never heard of."""
    now = rig.clock.now()
    store = rig.store
    s = store.journal_intent(now.date(), "T1:0001", {"count": 2}, "at", now)
    store.finish(s.id, "ok", now, totals_settled={"total": "12,50", "currency": "EUR",
                                                   "total_minor": 1250, "count": 2})  # fmt: skip
    events = [
        ("settlement", "info", {"id": s.id, "state": "ok", "why": "at", "code": 0, "note": ""}),
        ("settlement", "urgent", {"id": 99, "state": "failed", "why": "at", "code": 100,
                                  "note": "host not reachable"}),
        ("settlement", "urgent", {"id": 98, "state": "unknown", "why": "at", "code": None,
                                  "note": ""}),
        ("settlement", "warn", {"error": "the terminal does not answer"}),
        ("level", "warn", {"reasons": ["open-batch"]}),
        ("notice", "urgent", {"kind": "batch-near-limit"}),
        ("acknowledge", "info", {"by": "panel", "notices": [], "alarms": ["a"],
                                 "repeats_stopped": 1, "snoozed_until": now.isoformat()}),
        ("acknowledged", "info", {"notice": "2026-11-20:open-batch", "by": "api:tablet"}),
        ("settle-cancelled", "info", {"day": "2026-11-20", "by": "page"}),
        ("settle-request-expired", "info", {"batch": "T1:0001", "open": None}),
        ("offline-sent", "info", {"settlement": s.id}),
        ("sign-in", "info", {"result": {"ok": True, "result_text": ""}, "by": "web"}),
        ("sign-in", "info", {"result": "TerminalTimeout('no answer')"}),
        ("diagnosis", "warn", {"error": "busy", "by": "web"}),
        ("clock", "info", {"result": "OperationResult(ok=True, result_code=0)"}),
        ("fan-speed", "info", {"rpm": 1200, "sensors": {"a": 1}}),
    ]  # fmt: skip
    for kind, level, payload in events:
        store.add_event(kind, level, payload, now)


SENTENCES = {
    "en": ["Settled: 12,50 EUR.", "Settlement failed: host not reachable.",
           "Settlement outcome unknown", "Settlement not completed: the terminal does not answer.",
           "Status now Warning: The batch is open and the cutoff is near.",
           "Message to the owner: The batch is nearly full ( … payments).",
           "Alarms acknowledged by the button at the counter.",
           "Message marked as read by API token tablet.",
           "Automatic settlement for 2026-11-20 cancelled by the web page.",
           "A settle request expired", "offline payments a settlement left unsent",
           "Signed in with the host.", "Sign-in failed: TerminalTimeout('no answer').",
           "Diagnosis failed: busy.", "The terminal's clock was set.",
           "Event \u201cfan-speed\u201d: rpm: 1200, sensors: a 1"],
    "zh-CN": ["已结算：12,50 EUR。", "结算失败：host not reachable。", "结算结果未知",
              "状态变为注意：批次未结算，截止时间将到。", "警报已由柜台按钮确认。",
              "消息已由API 令牌 tablet标记为已读。", "2026-11-20 的自动结算已由网页取消。",
              "一个结算请求已失效", "已向主机签到。", "诊断失败：busy。", "终端时钟已设置。",
              "事件\u201cfan-speed\u201d"],
}  # fmt: skip


@pytest.mark.parametrize("lang", ["en", "zh-CN"])
def test_history_events_read_as_sentences(rig: Rig, lang: str) -> None:
    rig.login()
    one_of_each(rig)
    html = page(rig, "/history", lang)
    events = html[html.index('href="/history/events.csv"') :]
    for sentence in SENTENCES[lang]:
        assert sentence in events, sentence
    assert "{" not in events and '"by"' not in events  # no JSON, no unfilled placeholder


def test_every_recorded_kind_has_its_own_sentence(rig: Rig) -> None:
    """Only the made-up kind falls back to the generic line."""
    one_of_each(rig)
    described = history.in_words(history.events(rig.control.db_path),
                                 history.settlements(rig.control.db_path), "en")  # fmt: skip
    generic = {e["kind"] for e in described if e["text"].startswith("Event \u201c")}
    assert generic == {"fan-speed"}
    assert len({e["kind"] for e in described}) == 12  # every kind of one_of_each is there
