"""The panel's words in English and Chinese, the one text source of the OLED.

A line holds 128 px: 16 Latin characters or 8 Chinese ones of 16-px unifont. Words that
can be longer (what to check, the terminal's progress) are wrapped by the screens, and
paged when they need more lines than the screen has; "\n" forces a break.
"""

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

# What is wrong, in one line (line 2 of a problem screen, or a note on the day's screen).
PROBLEMS = {
    ReasonKind.OPEN_BATCH: ("batch open", "批次未结算"),
    ReasonKind.OVERDUE_BATCH: ("cutoff missed", "已过截止时间"),
    ReasonKind.SETTLING: ("settling", "正在结算"),
    ReasonKind.SETTLED: ("settled today", "今日已结算"),
    ReasonKind.SETTLE_PROMPT: ("auto-settle soon", "即将自动结算"),
    ReasonKind.SETTLE_FAILED: ("settle failed", "结算失败"),
    ReasonKind.SETTLE_UNKNOWN: ("checking result", "正在核对结果"),
    ReasonKind.TERMINAL_DEMANDS_SETTLE: ("terminal: settle", "终端要求结算"),
    ReasonKind.BATCH_NEAR_LIMIT: ("batch near limit", "批次将满"),
    ReasonKind.STORAGE_FULL: ("terminal full", "终端存储已满"),
    ReasonKind.AUTH_AGE: ("fees rise soon", "交易将超时加费"),
    ReasonKind.AUTH_TIME_IGNORED: ("sale time odd", "交易时间异常"),
    ReasonKind.OFFLINE_PENDING: ("offline not sent", "离线交易未上送"),
    ReasonKind.OFFLINE_UNSENT: ("offline NOT sent", "离线交易未送达"),
    ReasonKind.BATCH_LOST: ("BATCH LOST", "批次丢失"),
    ReasonKind.OUT_OF_BALANCE: ("out of balance", "结算不平"),
    ReasonKind.SIGN_IN_NEEDED: ("sign-in needed", "需要签到"),
    ReasonKind.TERMINAL_CLOCK_WRONG: ("terminal clock", "终端时间错误"),
    ReasonKind.SYSTEM_CLOCK_UNSYNCED: ("clock not synced", "时钟未同步"),
    ReasonKind.PRINTER: ("printer problem", "打印机未就绪"),
    ReasonKind.OUT_OF_ORDER: ("out of order", "终端故障"),
    ReasonKind.TERMINAL_BUSY: ("terminal busy", "终端忙"),
    ReasonKind.TERMINAL_STALE: ("terminal silent", "终端无响应"),
    ReasonKind.TERMINAL_DEAD: ("terminal offline", "终端离线"),
    ReasonKind.NOT_TRADING: ("closed today", "今日休息"),
}

# The ONE thing to check or do, under the problem (wrapped to the lines left).
CHECKS = {
    ReasonKind.OPEN_BATCH: ("settle now", "请立即结算"),
    ReasonKind.OVERDUE_BATCH: ("settle now", "请立即结算"),
    ReasonKind.SETTLING: ("please wait", "请稍候"),
    ReasonKind.SETTLED: ("nothing to do", "无需操作"),
    ReasonKind.SETTLE_PROMPT: ("press to cancel", "按键取消"),
    ReasonKind.SETTLE_FAILED: ("settle on the terminal", "请在终端上结算"),
    ReasonKind.SETTLE_UNKNOWN: ("don't settle yet", "请稍候，勿再结算"),
    ReasonKind.TERMINAL_DEMANDS_SETTLE: ("settle now", "请立即结算"),
    ReasonKind.BATCH_NEAR_LIMIT: ("settle now", "请立即结算"),
    ReasonKind.STORAGE_FULL: ("settle now", "请立即结算"),
    ReasonKind.AUTH_AGE: ("settle now", "请立即结算"),
    ReasonKind.AUTH_TIME_IGNORED: ("check the terminal's clock", "请检查终端时间"),
    ReasonKind.OFFLINE_PENDING: ("settle to send", "结算时将上送"),
    ReasonKind.OFFLINE_UNSENT: ("tell the owner", "请告知店主"),
    ReasonKind.BATCH_LOST: ("tell the owner", "请告知店主"),
    ReasonKind.OUT_OF_BALANCE: ("tell the owner", "请告知店主"),
    ReasonKind.SIGN_IN_NEEDED: ("sign in on the terminal", "请在终端上签到"),
    ReasonKind.TERMINAL_CLOCK_WRONG: ("set the terminal's clock", "请校准终端时间"),
    ReasonKind.SYSTEM_CLOCK_UNSYNCED: ("check internet", "请检查网络连接"),
    ReasonKind.PRINTER: ("check the paper", "请检查打印纸"),
    ReasonKind.OUT_OF_ORDER: ("call the technician", "请联系维修人员"),
    ReasonKind.TERMINAL_BUSY: ("finish the sale", "请完成当前交易"),
    ReasonKind.TERMINAL_STALE: ("check its cable and power", "请检查电源和线缆"),
    ReasonKind.TERMINAL_DEAD: ("check its cable and power", "请检查电源和线缆"),
    ReasonKind.NOT_TRADING: ("nothing to do", "无需操作"),
}

PHRASES = {
    # the batch: count and amount on one line (the amount carries its currency symbol)
    "sales": ("{} sales", "销售{}笔"),
    "sale": ("{} sale", "销售{}笔"),
    "sales_short": ("{}×", "{}笔"),
    "no_sales": ("no sales yet", "暂无销售"),
    "new": ("new: {}", "新: {}"),  # sales since the settlement
    "new_short": ("+{}", "+{}"),
    # what happens next, and when
    "settle_by": ("settle by {}", "{} 前结算"),
    "auto_settle": ("settles at {}", "{} 自动结算"),
    "cutoff": ("cutoff {}", "截止 {}"),
    "opens": ("opens {}", "{} 开始营业"),
    "closed": ("closed today", "今日休息"),
    "past": ("past cutoff", "已过截止"),
    # time left: "2 h 14 min", "14 min"
    "left": ("{} left", "还剩{}"),
    "in": ("in {}", "{}后"),
    "hours": ("{} h {} min", "{}小时{}分"),
    "minutes": ("{} min", "{}分钟"),
    "under_a_minute": ("<1 min", "不到1分钟"),
    # after a settlement
    "settled": ("settled {}", "{} 已结算"),
    "verified": ("verified", "已核对"),
    "unverified": ("not verified", "未核对"),
    "totals_unknown": ("totals unknown", "金额未知"),
    # the terminal's readings are old
    "age": ("data {} min old", "数据{}分钟前"),
    # 'ask' mode's last call: what a press cancels
    "cancel": ("press to cancel\ntoday's settling", "按一下按键\n取消今日自动结算"),
    # the long press asks again before settling
    "ask": ("Settle now?", "立即结算？"),
    "again": ("press again to\nconfirm", "再按一次确认"),
    # the web page's one-time setup code and where the page is
    "setup": ("setup {}", "设置码 {}"),
    "port": ("port {}", "端口 {}"),
    "web": ("WEB SETUP", "网页设置"),
}


def pick(pair: tuple[str, str], lang: str) -> str:
    return pair[1] if lang.lower().startswith("zh") else pair[0]
