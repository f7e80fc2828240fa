"""The panel's words in English and Chinese: short enough for a 128-px line of 16-px glyphs."""

from __future__ import annotations

from ..guard.assessment import Level, ReasonKind

LEVEL_WORDS = {
    Level.OK: ("OK", "正常"), Level.INFO: ("INFO", "提示"), Level.WARN: ("WARNING", "注意"),
    Level.URGENT: ("URGENT", "紧急"), Level.OVERDUE: ("OVERDUE", "逾期"),
    Level.FAULT: ("FAULT", "故障"),
}  # fmt: skip

# When the top reason is the batch itself the heading says what to do, not just how bad.
SETTLE_WORDS = {Level.WARN: ("SETTLE", "请结算"), Level.URGENT: ("SETTLE NOW", "立即结算")}
SETTLING_WORDS = ("SETTLING", "结算中")
SETTLE_KINDS = frozenset({
    ReasonKind.OPEN_BATCH, ReasonKind.TERMINAL_DEMANDS_SETTLE, ReasonKind.BATCH_NEAR_LIMIT,
    ReasonKind.SETTLE_FAILED, ReasonKind.STORAGE_FULL, ReasonKind.AUTH_AGE,
})  # fmt: skip

REASONS = {
    ReasonKind.OPEN_BATCH: ("settle by cutoff", "截止前请结算"),
    ReasonKind.OVERDUE_BATCH: ("batch unsettled", "批次未结算"),
    ReasonKind.SETTLING: ("settling...", "正在结算…"),
    ReasonKind.SETTLED: ("settled today", "今日已结算"),
    ReasonKind.SETTLE_PROMPT: ("auto-settle soon", "即将自动结算"),
    ReasonKind.SETTLE_FAILED: ("settle failed", "结算失败"),
    ReasonKind.SETTLE_UNKNOWN: ("checking result", "核对结算结果"),
    ReasonKind.TERMINAL_DEMANDS_SETTLE: ("terminal: settle", "终端要求结算"),
    ReasonKind.BATCH_NEAR_LIMIT: ("batch nearly full", "批次将满"),
    ReasonKind.STORAGE_FULL: ("terminal full", "终端存储已满"),
    ReasonKind.AUTH_AGE: ("old sales: fees", "交易将超时加费"),
    ReasonKind.AUTH_TIME_IGNORED: ("sale time odd", "交易时间异常"),
    ReasonKind.OFFLINE_PENDING: ("offline unsent", "离线交易未上送"),
    ReasonKind.OFFLINE_UNSENT: ("offline NOT sent", "离线未送达银行"),
    ReasonKind.BATCH_LOST: ("BATCH LOST", "批次丢失"),
    ReasonKind.OUT_OF_BALANCE: ("out of balance", "结算不平"),
    ReasonKind.SIGN_IN_NEEDED: ("sign-in needed", "需要签到"),
    ReasonKind.TERMINAL_CLOCK_WRONG: ("terminal clock", "终端时间错误"),
    ReasonKind.SYSTEM_CLOCK_UNSYNCED: ("clock not synced", "时钟未同步"),
    ReasonKind.PRINTER: ("printer: paper?", "打印机缺纸？"),
    ReasonKind.OUT_OF_ORDER: ("terminal broken", "终端故障"),
    ReasonKind.TERMINAL_BUSY: ("terminal busy", "终端忙"),
    ReasonKind.TERMINAL_STALE: ("terminal silent", "终端无响应"),
    ReasonKind.TERMINAL_DEAD: ("terminal offline", "终端离线"),
    ReasonKind.NOT_TRADING: ("closed today", "今日休息"),
}

PHRASES = {
    "cutoff": ("cutoff {}", "距截止 {}"),
    "past": ("past cutoff", "已过截止"),
    "batch": ("{} tx {}", "{}笔 {}"),
    "empty": ("batch empty", "批次为空"),
    "age": ("data {} min old", "数据 {} 分钟前"),
    "cancel": ("press: cancel", "按键取消"),
    "ask": ("Settle now?", "立即结算？"),
    "again": ("press again", "再按一次确认"),
    "setup": ("Web setup code", "网页设置码"),
}


def pick(pair: tuple[str, str], lang: str) -> str:
    return pair[1] if lang.lower().startswith("zh") else pair[0]
