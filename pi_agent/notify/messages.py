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

TITLE_MAX = 40  # characters a lock screen shows of a title, in either language

# Per alarm kind, each (en, zh): the title; the body's first line, what to do (a lock
# screen shows little more); then what happened. The {fields} come from `alarm`.
# fmt: off
ALARMS: dict[ReasonKind, tuple[tuple[str, str], tuple[str, str], tuple[str, str]]] = {
    ReasonKind.OPEN_BATCH: (
        ("Not settled: {minutes} min to cutoff", "未结算：距截止 {minutes} 分钟"),
        ("Settle before {cutoff}.", "请在 {cutoff} 前结算。"),
        ("{count} payments, {amount} are still open.", "还有 {count} 笔、{amount} 未结算。"),
    ),
    ReasonKind.OVERDUE_BATCH: (
        ("Batch NOT settled", "批次未结算！"),
        ("Settle now: the payout will be late.", "请立即结算，到账会延迟。"),
        ("The {day} batch ({count} payments, {amount}) missed the {cutoff} cutoff.",
         "{day}的批次（{count} 笔，{amount}）已过 {cutoff} 截止时间。"),
    ),
    ReasonKind.SETTLE_FAILED: (
        ("Settlement failed", "结算失败"),
        ("Nothing to do yet: the guard retries until the cutoff.",
         "暂无需操作：截止前会自动重试。"),
        ("End-of-day failed: {result}.", "日结失败：{result}。"),
    ),
    ReasonKind.TERMINAL_DEAD: (
        ("Terminal offline", "终端离线"),
        ("Check the terminal's power and cable.", "请检查终端电源和连接线。"),
        ("It has not answered since {since}.", "终端自 {since} 起无响应。"),
    ),
    ReasonKind.SIGN_IN_NEEDED: (
        ("Terminal needs sign-in", "终端需要签到"),
        ("Sign the terminal in (initialisation).", "请为终端签到（初始化）。"),
        ("Until then it may decline cards.", "在此之前终端可能拒绝刷卡。"),
    ),
    ReasonKind.TERMINAL_CLOCK_WRONG: (
        ("Terminal clock is wrong", "终端时间错误"),
        ("Set the terminal's clock.", "请校正终端时间。"),
        ("The terminal's clock is {drift}.", "终端时钟{drift}。"),
    ),
    ReasonKind.SYSTEM_CLOCK_UNSYNCED: (
        ("Guard clock not synced", "守护设备时钟未同步"),
        ("Check the guard's network or clock module.", "请检查守护设备的网络或时钟模块。"),
        ("The guard's own clock is not synchronised; cutoff times may be wrong.",
         "设备时钟未同步，截止时间可能不准。"),
    ),
    ReasonKind.OUT_OF_ORDER: (
        ("Terminal out of order", "终端故障"),
        ("Check the terminal; call its service if it stays so.", "请检查终端，如持续请联系维修。"),
        ("The terminal reports it is out of order (code {code}).",
         "终端报告故障（代码 {code}）。"),
    ),
    ReasonKind.TERMINAL_DEMANDS_SETTLE: (
        ("Terminal demands settlement", "终端要求结算"),
        ("Settle now.", "请立即结算。"),
        ("The terminal must settle before it takes more payments ({count} open, {amount}).",
         "终端必须先结算才能继续收款（{count} 笔，{amount}）。"),
    ),
    ReasonKind.BATCH_NEAR_LIMIT: (
        ("Batch nearly full", "批次将满"),
        ("Settle early.", "请提前结算。"),
        ("{count} payments in the batch.", "批次已有 {count} 笔。"),
    ),
    ReasonKind.STORAGE_FULL: (
        ("Terminal storage full", "终端存储已满"),
        ("Settle now.", "请立即结算。"),
        ("The terminal's store is full: it must settle before it takes more payments "
         "({count} open, {amount}).",
         "终端存储已满，必须先结算才能继续收款（{count} 笔，{amount}）。"),
    ),
    ReasonKind.AUTH_AGE: (
        ("Oldest sale {hours} h old: settle", "最早一笔已 {hours} 小时：请结算"),
        ("Settle now.", "请立即结算。"),
        ("Payments settled more than {limit} h after the sale cost higher card fees. "
         "{count} payments, {amount} are open{estimate}.",
         "交易超过 {limit} 小时未结算，刷卡手续费会更高。还有 {count} 笔、{amount} 未结算"
         "{estimate}。"),
    ),
    ReasonKind.OFFLINE_PENDING: (
        ("{n} offline payments not yet sent", "{n} 笔离线交易尚未上送"),
        ("Keep the terminal online.", "请保持终端联网。"),
        ("{n} payments ({sum}) approved offline are still stored on the terminal: the "
         "end-of-day sends them to the bank.",
         "终端中仍存有 {n} 笔离线交易（{sum}）未上送，日结时会上送银行。"),
    ),
    ReasonKind.OFFLINE_UNSENT: (
        ("Offline payments NOT sent", "离线交易未送达银行！"),
        ("Check the terminal's connection and send them.", "请检查终端网络并重新上送。"),
        ("{n} offline payments ({sum}) not sent to the bank: the upload failed at the "
         "end-of-day. Until they are sent, they are not paid.",
         "{n} 笔离线交易（{sum}）未送达银行：日结时上送失败。上送之前，这些款项不会到账。"),
    ),
    ReasonKind.BATCH_LOST: (
        ("Batch lost: {n} payments, {sum}", "批次丢失：{n} 笔 {sum}"),
        ("Ask the acquirer about these sales.", "请联系收单机构核查这些交易。"),
        ("{batch} ({n} payments, {sum}) vanished from the terminal without a "
         "settlement and may never be paid. Check the terminal's settings (automatic "
         "clearing of its database).",
         "终端上的{batch}（{n} 笔，{sum}）未经结算就消失了，这些交易可能不会到账。"
         "请检查终端设置（自动清除数据库）。"),
    ),
    ReasonKind.OUT_OF_BALANCE: (
        ("Batch closed out of balance", "批次结算不平"),
        ("Reconcile with the acquirer.", "请与收单机构对账。"),
        ("The batch closed, but the terminal's totals and the host's differ.",
         "批次已结算但不平：终端与主机的金额不一致。"),
    ),
}
# Titles that can outgrow a lock screen (a huge count or amount): the shorter form.
SHORT_TITLES = {ReasonKind.BATCH_LOST: ("Batch lost: {sum}", "批次丢失：{sum}"),
                ReasonKind.OFFLINE_PENDING: ("Offline payments not yet sent", "离线交易尚未上送")}
GENERIC = (("SettleGuard: {what}", "SettleGuard：{what}"),
           ("Open the guard's page for details.", "请打开守护设备网页查看详情。"),
           ("{what}", "{what}"))
ESTIMATE = (" (the age is estimated from when the guard first saw the batch)",
            "（时间按守护设备首次看到该批次估算）")
# fmt: on
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
    title, action, what = ALARMS.get(kind, GENERIC)
    short = SHORT_TITLES.get(kind, GENERIC[0])
    body = f"{_pick(action, lang)}\n{_pick(what, lang)}".format(**facts)
    return Draft(key, "alarm", SEVERITY[reason.level if reason else a.level],
                 _fit(_pick(title, lang).format(**facts), _pick(short, lang).format(**facts)),
                 body)  # fmt: skip


def _fit(title: str, shorter: str) -> str:
    """`title` if a lock screen shows it whole, else `shorter` (cut if it is not)."""
    for text in (title, shorter):
        if len(text) <= TITLE_MAX:
            return text
    return shorter[: TITLE_MAX - 1] + "…"


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
        title = _fit(f"今日已结算 {r.count} 笔 {amount}" if zh
                     else f"Settled: {_payments(r.count)}, {amount}",
                     f"今日已结算 {amount}" if zh else f"Settled: {amount}")  # fmt: skip
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
        title = _fit(f"未结算！{r.count} 笔 {amount}" if zh
                     else f"NOT settled: {_payments(r.count)}, {amount}",
                     f"未结算！{amount}" if zh else f"NOT settled: {amount}")  # fmt: skip
        lines = ["请立即结算：批次仍未结算。" if zh else "Settle now: the batch is still open."]
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
    todo = []  # what to do comes first: a lock screen shows the first line
    if r.out_of_balance:
        todo.append("请与收单机构对账：结算不平。" if zh
                    else "Reconcile with the acquirer: out of balance.")  # fmt: skip
        lines.append("终端与主机的金额不一致。" if zh else
                     "Closed OUT OF BALANCE: the terminal's and the host's totals "
                     "differ.")  # fmt: skip
    if r.offline_unsent:
        todo.append("请检查终端网络：离线交易未上送。" if zh
                    else "Check the terminal's connection: offline payments unsent.")  # fmt: skip
        lines.append(f"{r.offline_unsent} 笔离线交易结算后仍未上送银行。" if zh else
                     f"{_payments(r.offline_unsent)} approved offline were still not sent to "
                     "the bank after the end-of-day.")  # fmt: skip
    lines = todo + lines
    return Draft(f"report:{r.day}", "report", r.level, title, "\n".join(lines))


def holiday(day: date, name: str, payout_on: date | None, lang: str) -> Draft:
    """The day before a non-business day: payouts move."""
    if _zh(lang):
        title = "明天是法定假日，银行不营业"  # the library names holidays in English
        body = f"{_day(day, lang)}非工作日。" + (
            f"今天结算的款项预计{_day(payout_on, lang)}到账。" if payout_on else ""
        )
    else:
        title = _fit(f"Tomorrow: {name}, banks closed", "Tomorrow: bank holiday, banks closed")
        body = f"{_day(day, lang)} is not a business day." + (
            f" Today's batch should be paid on {_day(payout_on, lang)}." if payout_on else ""
        )
    return Draft(f"holiday:{day}", "notice", "info", title, body)


def payout_late(pid: int, day: date, amount: str, expected: date, lang: str) -> Draft:
    if _zh(lang):
        title = _fit(f"款项未到账：{amount}", "款项未到账")
        body = (
            "请核对银行流水并联系收单机构。\n"
            f"{_day(day, lang)}的结算款 {amount} 应于{_day(expected, lang)}到账；"
            f"收到后执行 settle-guard payouts --received {pid}。"
        )
    else:
        title = _fit(f"Payout late: {amount}", "Payout late")
        body = (
            "Check the bank statement and ask the acquirer.\n"
            f"The {_day(day, lang)} batch ({amount}) was due in the bank on "
            f"{_day(expected, lang)}; when it arrives: settle-guard payouts --received {pid}."
        )
    return Draft(f"payout-late:{pid}", "alarm", "urgent", title, body)


def calendar_missing(years: list[int], lang: str) -> Draft:
    ys = ", ".join(map(str, years))
    if _zh(lang):
        return Draft(f"calendar-missing:{ys}", "alarm", "warn",
                     _fit(f"缺少 {ys} 年节假日数据", "缺少节假日数据"),
                     "请在设置中补充节假日。\n"
                     f"节假日库还没有 {ys} 年的安排（含调休），到账日期可能不准。"
                     "配置项：[calendar] extra_holidays / extra_workdays。")  # fmt: skip
    return Draft(f"calendar-missing:{ys}", "alarm", "warn",
                 _fit(f"Holiday data missing for {ys}", "Holiday data missing"),
                 "Add the missing holidays in the settings.\n"
                 f"The holiday calendar does not know {ys} yet, so payout dates may be "
                 "wrong: [calendar] extra_holidays / extra_workdays.")  # fmt: skip


def push_test(lang: str, at: datetime, zone: object, nonce: int | None = None) -> Draft:
    """A test message. Each test must really be sent: `nonce` (e.g. a nanosecond count)
    makes its key its own, where a key per minute took a second test for one sent already."""
    when = at.astimezone(zone).strftime("%Y-%m-%d %H:%M")  # type: ignore[arg-type]
    key = f"test:{when}" if nonce is None else f"test:{when}:{nonce}"
    if _zh(lang):
        return Draft(key, "test", "info", "SettleGuard 测试消息", f"推送正常（{when}）。")
    return Draft(key, "test", "info", "SettleGuard test message", f"Push works ({when}).")
