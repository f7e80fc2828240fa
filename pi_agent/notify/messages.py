"""What the owner reads, in English and Chinese: short titles for a lock screen, a few
plain lines of body. Pure functions from facts to `Draft`s; snapshot-tested."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from ..guard.assessment import Assessment, Level, ReasonKind
from ..money import format_amount
from ..terminal.registry import code_label, result_text
from .outbox import Draft

SEVERITY = {Level.OK: "info", Level.INFO: "info", Level.WARN: "warn", Level.URGENT: "urgent",
            Level.OVERDUE: "urgent", Level.FAULT: "urgent"}  # fmt: skip
WEEKDAYS_ZH = "一二三四五六日"

# (title, first body line) per alarm kind, each (en, zh); the {fields} come from `alarm`.
# fmt: off
ALARMS: dict[ReasonKind, tuple[tuple[str, str], tuple[str, str]]] = {
    ReasonKind.OPEN_BATCH: (
        ("Not settled: {minutes} min to cutoff", "未结算：距截止 {minutes} 分钟"),
        ("{count} payments, {amount} are still open. Settle before {cutoff}.",
         "还有 {count} 笔、{amount} 未结算，请在 {cutoff} 前结算。"),
    ),
    ReasonKind.OVERDUE_BATCH: (
        ("Batch NOT settled", "批次未结算！"),
        ("The {day} batch ({count} payments, {amount}) missed the {cutoff} cutoff. Settle now; "
         "the payout will be late.",
         "{day}的批次（{count} 笔，{amount}）已过 {cutoff} 截止时间。请立即结算，到账会延迟。"),
    ),
    ReasonKind.SETTLE_FAILED: (
        ("Settlement failed", "结算失败"),
        ("End-of-day failed: {result}. The guard retries until the cutoff.",
         "日结失败：{result}。截止前会自动重试。"),
    ),
    ReasonKind.TERMINAL_DEAD: (
        ("Terminal offline", "终端离线"),
        ("The terminal has not answered since {since}. Check its power and cable.",
         "终端自 {since} 起无响应，请检查电源和连接线。"),
    ),
    ReasonKind.SIGN_IN_NEEDED: (
        ("Terminal needs sign-in", "终端需要签到"),
        ("The terminal asks for initialisation; until then it may decline cards.",
         "终端需要签到（初始化），在此之前可能拒绝刷卡。"),
    ),
    ReasonKind.TERMINAL_CLOCK_WRONG: (
        ("Terminal clock is wrong", "终端时间错误"),
        ("The terminal's clock is {drift}.", "终端时钟{drift}。"),
    ),
    ReasonKind.SYSTEM_CLOCK_UNSYNCED: (
        ("Guard clock not synced", "守护设备时钟未同步"),
        ("The guard's own clock is not synchronised; cutoff times may be wrong.",
         "设备时钟未同步，截止时间可能不准。"),
    ),
    ReasonKind.OUT_OF_ORDER: (
        ("Terminal out of order", "终端故障"),
        ("The terminal reports it is out of order (code {code}).",
         "终端报告故障（代码 {code}）。"),
    ),
    ReasonKind.TERMINAL_DEMANDS_SETTLE: (
        ("Terminal demands settlement", "终端要求结算"),
        ("The terminal must settle before it takes more payments ({count} open, {amount}).",
         "终端必须先结算才能继续收款（{count} 笔，{amount}）。"),
    ),
    ReasonKind.BATCH_NEAR_LIMIT: (
        ("Batch nearly full", "批次将满"),
        ("{count} payments in the batch; settle early.", "批次已有 {count} 笔，请提前结算。"),
    ),
    ReasonKind.STORAGE_FULL: (
        ("Terminal storage full", "终端存储已满"),
        ("The terminal's store is full: it must settle before it takes more payments "
         "({count} open, {amount}).",
         "终端存储已满，必须先结算才能继续收款（{count} 笔，{amount}）。"),
    ),
    ReasonKind.AUTH_AGE: (
        ("Oldest sale {hours} h old: settle", "最早一笔已 {hours} 小时：请结算"),
        ("Payments settled more than {limit} h after the sale cost higher card fees. "
         "{count} payments, {amount} are open{estimate}. Settle now.",
         "交易超过 {limit} 小时未结算，刷卡手续费会更高。还有 {count} 笔、{amount} 未结算"
         "{estimate}。请立即结算。"),
    ),
    ReasonKind.OFFLINE_PENDING: (
        ("{n} offline payments not yet sent", "{n} 笔离线交易尚未上送"),
        ("{n} payments ({sum}) approved offline are still stored on the terminal. Keep it "
         "online: the end-of-day sends them to the bank.",
         "终端中仍存有 {n} 笔离线交易（{sum}）未上送。请保持终端联网，日结时会上送银行。"),
    ),
    ReasonKind.OFFLINE_UNSENT: (
        ("Offline payments NOT sent", "离线交易未送达银行！"),
        ("{n} offline payments ({sum}) not sent to the bank: the upload failed at the "
         "end-of-day. Check the terminal's connection and send them, or they are not paid.",
         "{n} 笔离线交易（{sum}）未送达银行：日结时上送失败。请检查终端网络并重新上送，"
         "否则这些款项不会到账。"),
    ),
    ReasonKind.BATCH_LOST: (
        ("Batch lost: {n} payments, {sum}", "批次丢失：{n} 笔 {sum}"),
        ("{batch} ({n} payments, {sum}) vanished from the terminal without a "
         "settlement. Those sales may never be paid: ask the acquirer, and check the "
         "terminal's settings (automatic clearing of its database).",
         "终端上的{batch}（{n} 笔，{sum}）未经结算就消失了，这些交易可能不会到账。"
         "请联系收单机构，并检查终端设置（自动清除数据库）。"),
    ),
    ReasonKind.OUT_OF_BALANCE: (
        ("Batch closed out of balance", "批次结算不平"),
        ("Batch closed out of balance: the terminal's totals and the host's differ. "
         "Reconcile with the acquirer.",
         "批次已结算但不平：终端与主机的金额不一致。请与收单机构对账。"),
    ),
}
# fmt: on
GENERIC = (("SettleGuard: {what}", "SettleGuard：{what}"), ("{what}", "{what}"))
ESTIMATE = (" (the age is estimated from when the guard first saw the batch)",
            "（时间按守护设备首次看到该批次估算）")  # fmt: skip
BATCH_NUMBER = ("Batch no. {}", "批次 {}")
A_BATCH = ("A batch", "一个批次")


def _amount(minor: object, currency: int) -> str:
    return format_amount(minor, currency) if isinstance(minor, int) else "?"


def _zh(lang: str) -> bool:
    return lang.lower().startswith("zh")


def _pick(pair: tuple[str, str], lang: str) -> str:
    return pair[1] if _zh(lang) else pair[0]


def _day(d: date, lang: str) -> str:
    if _zh(lang):
        return f"{d.month}月{d.day}日（周{WEEKDAYS_ZH[d.weekday()]}）"
    return d.strftime("%a %d %b")


def _drift(seconds: int, lang: str) -> str:
    minutes, secs = divmod(abs(seconds), 60)
    ahead = seconds > 0
    if _zh(lang):
        return f"{'快' if ahead else '慢'} {minutes} 分 {secs} 秒"
    return f"{minutes} min {secs} s {'fast' if ahead else 'slow'}"


@dataclass(frozen=True)
class Context:
    """Facts the assessment does not carry."""

    zone: object  # ZoneInfo of the shop
    last_answer_at: datetime | None = None
    batch_day: date | None = None
    protocol: str = "zvt"  # whose result codes the reasons carry (config's [terminal] protocol)


def alarm(a: Assessment, kind: ReasonKind, key: str, lang: str, ctx: Context) -> Draft:
    reason = next((r for r in a.reasons if r.kind is kind), None)
    detail = dict(reason.detail) if reason else {}
    local = a.cutoff.astimezone(ctx.zone)  # type: ignore[arg-type]
    last = ctx.last_answer_at
    since = last.astimezone(ctx.zone).strftime("%H:%M") if last else "?"  # type: ignore[arg-type]
    code = detail.get("code")
    facts = {
        "minutes": max(0, int(a.time_to_cutoff.total_seconds() // 60)),
        "count": a.batch_count if a.batch_count is not None else "?",
        "amount": format_amount(a.batch_total, a.currency) if a.batch_total is not None else "?",
        "cutoff": local.strftime("%H:%M"),
        "day": _day(ctx.batch_day or a.trading_day, lang),
        "since": since,
        "result": result_text(ctx.protocol, code, lang) if isinstance(code, int) else "?",
        "drift": _drift(int(detail.get("drift_seconds", 0)), lang),  # type: ignore[call-overload]
        "code": code_label(ctx.protocol, code) if isinstance(code, int) else "?",
        "what": kind.value,
        # the reason's own payments (offline, lost), not the open batch's
        "n": detail.get("count", "?"),
        "sum": _amount(detail.get("total"), a.currency),
        "hours": detail.get("hours", "?"),
        "limit": detail.get("limit_hours", "?"),
        "estimate": _pick(ESTIMATE, lang) if detail.get("estimated") else "",
        "batch": (
            _pick(BATCH_NUMBER, lang).format(detail["batch_number"])
            if detail.get("batch_number") is not None
            else _pick(A_BATCH, lang)
        ),
    }
    title, body = ALARMS.get(kind, GENERIC)
    return Draft(key, "alarm", SEVERITY[reason.level if reason else a.level],
                 _pick(title, lang).format(**facts), _pick(body, lang).format(**facts))  # fmt: skip


def _payments(n: int) -> str:
    return f"{n} payment" if n == 1 else f"{n} payments"


@dataclass(frozen=True)
class DayReport:
    """What the closing report says about one trading day."""

    day: date
    settled_at: datetime | None  # None: not settled
    count: int
    total: int
    currency: int
    cards: tuple[tuple[str, int, int], ...]  # (card, count, amount)
    payout_on: date | None
    unverified: bool = False  # settled, but the totals did not check out afterwards
    totals_known: bool = True  # False: settled, but the terminal's answer with them was lost
    out_of_balance: bool = False  # closed, but the terminal's and the host's totals differ
    offline_unsent: int = 0  # offline payments the terminal still held after the close

    @property
    def level(self) -> str:
        if self.settled_at is None:
            return "urgent" if self.count else "info"
        return "warn" if self.out_of_balance or self.offline_unsent else "info"


def report(r: DayReport, lang: str, zone: object) -> Draft:
    zh = _zh(lang)
    amount = format_amount(r.total, r.currency)
    if r.settled_at is not None:
        at = r.settled_at.astimezone(zone).strftime("%H:%M")  # type: ignore[arg-type]
        title = (f"今日已结算 {r.count} 笔 {amount}" if zh
                 else f"Settled: {_payments(r.count)}, {amount}")  # fmt: skip
        lines = [
            f"{_day(r.day, lang)}{at} 结算。" if zh else f"{_day(r.day, lang)}: settled at {at}."
        ]
        if not r.totals_known:  # a figure we cannot stand behind is not printed at all
            title = "今日已结算（金额未知）" if zh else "Settled (totals unknown)"
            lines.append(
                "终端的结算应答丢失：金额以终端的结算单为准。"
                if zh
                else "The terminal's answer was lost: its end-of-day receipt has the totals."
            )
    elif r.count:
        title = (
            f"未结算！{r.count} 笔 {amount}"
            if zh
            else f"NOT settled: {_payments(r.count)}, {amount}"
        )
        lines = ["批次仍未结算。" if zh else "The batch is still open."]
    else:
        title = "今日无交易" if zh else "No card payments today"
        lines = []
    for card, count, amt in r.cards:
        lines.append(f"{card}: {count} 笔 {format_amount(amt, r.currency)}" if zh
                     else f"{card}: {count} x {format_amount(amt, r.currency)}")  # fmt: skip
    if r.payout_on is not None and r.count:
        lines.append(f"预计到账：{_day(r.payout_on, lang)}" if zh
                     else f"Expected payout: {_day(r.payout_on, lang)}")  # fmt: skip
    if r.unverified:
        lines.append("结算结果未通过核对" if zh else "The settlement did not verify.")
    if r.out_of_balance:
        lines.append("批次结算不平：终端与主机金额不一致，请与收单机构对账。" if zh else
                     "Closed OUT OF BALANCE: the terminal's and the host's totals differ. "
                     "Reconcile with the acquirer.")  # fmt: skip
    if r.offline_unsent:
        lines.append(f"{r.offline_unsent} 笔离线交易结算后仍未上送银行。" if zh else
                     f"{_payments(r.offline_unsent)} approved offline were still not sent to "
                     "the bank after the end-of-day.")  # fmt: skip
    return Draft(f"report:{r.day}", "report", r.level, title, "\n".join(lines))


def holiday(day: date, name: str, payout_on: date | None, lang: str) -> Draft:
    """The day before a non-business day: payouts move."""
    if _zh(lang):
        title = "明天是法定假日，银行不营业"  # the library names holidays in English
        body = f"{_day(day, lang)}非工作日。" + (
            f"今天结算的款项预计{_day(payout_on, lang)}到账。" if payout_on else ""
        )
    else:
        title = f"Tomorrow: {name}, banks closed"
        body = f"{_day(day, lang)} is not a business day." + (
            f" Today's batch should be paid on {_day(payout_on, lang)}." if payout_on else ""
        )
    return Draft(f"holiday:{day}", "notice", "info", title, body)


def payout_late(pid: int, day: date, amount: str, expected: date, lang: str) -> Draft:
    if _zh(lang):
        title = f"款项未到账：{amount}"
        body = (
            f"{_day(day, lang)}的结算款 {amount} 应于{_day(expected, lang)}到账。"
            f"请核对银行流水并联系收单机构；收到后执行 settle-guard payouts --received {pid}。"
        )
    else:
        title = f"Payout late: {amount}"
        body = (
            f"The {_day(day, lang)} batch ({amount}) was due in the bank on "
            f"{_day(expected, lang)}. Check the bank statement and ask the acquirer; "
            f"when it arrives: settle-guard payouts --received {pid}."
        )
    return Draft(f"payout-late:{pid}", "alarm", "urgent", title, body)


def calendar_missing(years: list[int], lang: str) -> Draft:
    ys = ", ".join(map(str, years))
    if _zh(lang):
        return Draft(f"calendar-missing:{ys}", "alarm", "warn", f"缺少 {ys} 年节假日数据",
                     f"节假日库还没有 {ys} 年的安排（含调休），到账日期可能不准。"
                     "请在配置 [calendar] extra_holidays / extra_workdays 中补充。")  # fmt: skip
    return Draft(f"calendar-missing:{ys}", "alarm", "warn", f"Holiday data missing for {ys}",
                 f"The holiday calendar does not know {ys} yet, so payout dates may be wrong. "
                 "Add them in [calendar] extra_holidays / extra_workdays.")  # fmt: skip


def push_test(lang: str, at: datetime, zone: object) -> Draft:
    when = at.astimezone(zone).strftime("%Y-%m-%d %H:%M")  # type: ignore[arg-type]
    if _zh(lang):
        return Draft(
            f"test:{when}", "test", "info", "SettleGuard 测试消息", f"推送正常（{when}）。"
        )
    return Draft(f"test:{when}", "test", "info", "SettleGuard test message",
                 f"Push works ({when}).")  # fmt: skip
