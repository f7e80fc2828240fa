"""The page's words in English and Chinese (zh-CN). Keys are what views and templates use;
a missing key shows itself (`?key`) rather than failing the page."""

from __future__ import annotations

LANGS = ("en", "zh-CN")

TEXTS: dict[str, tuple[str, str]] = {
    # navigation and common words
    "app": ("SettleGuard", "结算守护"),
    "nav-dashboard": ("Dashboard", "概览"), "nav-config": ("Configuration", "配置"),
    "nav-tests": ("Tests", "测试"), "nav-actions": ("Actions", "操作"),
    "nav-history": ("History", "记录"), "nav-security": ("Access", "访问"),
    "logout": ("Log out", "退出"), "save": ("Save and apply", "保存并应用"),
    "password": ("Password", "密码"), "password-again": ("Password again", "再次输入密码"),
    "your-password": ("Your password (to confirm)", "您的密码（确认）"),
    "yes": ("yes", "是"), "no": ("no", "否"), "none": ("none", "无"),
    "run": ("Run", "执行"), "download": ("Download", "下载"),
    # first run and login
    "setup-title": ("First start: set the password", "首次启动：设置密码"),
    "setup-help": ("Type the setup code shown on the guard's display (proof that you are at "
                   "the counter), then choose the admin password (at least 8 characters).",
                   "请输入设备显示屏上的设置码（证明您在现场），然后设置管理员密码（至少 8 位）。"),
    "setup-code": ("Setup code from the display", "显示屏上的设置码"),
    "setup-wrong": ("That is not the code on the display.", "设置码不正确。"),
    "setup-done": ("Password set. You are logged in.", "密码已设置，您已登录。"),
    "login-title": ("Log in", "登录"), "login": ("Log in", "登录"),
    "login-wrong": ("Wrong password.", "密码错误。"),
    "throttled": ("Too many failed attempts: wait {} s and try again.",
                  "失败次数过多：请等待 {} 秒后重试。"),
    "password-short": ("The password needs at least 8 characters.", "密码至少需要 8 个字符。"),
    "password-mismatch": ("The two passwords differ.", "两次输入的密码不一致。"),
    "password-needed": ("Your password is needed for this.", "此操作需要输入您的密码。"),
    "logged-out": ("Logged out.", "已退出。"),
    "csrf": ("The form expired or came from elsewhere: reload the page and try again.",
             "表单已过期或来源不明：请刷新页面后重试。"),
    "error": ("Error", "错误"), "not-found": ("Not found.", "未找到。"),
    "busy": ("The guard is busy (settling or restarting): try again in a moment.",
             "设备正忙（结算或重启中）：请稍后重试。"),
    # dashboard
    "level": ("Level", "状态"), "batch": ("Open batch", "当前批次"),
    "cutoff": ("Cutoff", "截止"), "cutoff-in": ("in {}", "还有 {}"),
    "cutoff-past": ("passed", "已过"), "trading-day": ("Trading day", "营业日"),
    "terminal": ("Terminal", "终端"), "data-age": ("Data age", "数据时间"),
    "seconds-ago": ("{} s ago", "{} 秒前"), "failures": ("failed polls", "连续读取失败"),
    "display": ("Display (live)", "显示屏（实时）"),
    "last-settlements": ("Last settlements", "最近结算"),
    "turnover": ("Settled turnover, last 30 days", "近 30 天结算金额"),
    "payments": ("{} payments", "{} 笔"), "payment": ("{} payment", "{} 笔"),
    "settling-now": ("Settling…", "正在结算…"),
    "busy-note": ("(the guard is busy; values may be a moment old)", "（设备正忙，数据可能稍旧）"),
    "lv-ok": ("OK", "正常"), "lv-info": ("Info", "提示"), "lv-warn": ("Warning", "注意"),
    "lv-urgent": ("Urgent", "紧急"), "lv-overdue": ("Overdue", "逾期"),
    "lv-fault": ("Fault", "故障"), "lv-starting": ("Starting", "启动中"),
    "drift": ("Terminal clock", "终端时钟"), "drift-s": ("{:+.0f} s", "{:+.0f} 秒"),
    # configuration
    "config-title": ("Configuration", "配置"),
    "config-saved": ("Saved and applied: the guard restarts with it.",
                     "已保存并应用：设备将以新配置重新运行。"),
    "config-errors": ("Nothing was saved: please correct the fields marked below.",
                      "未保存：请修改下面标出的字段。"),
    "secret-keep": ("leave empty to keep", "留空则保持不变"),
    "gated-password": ("Changing the terminal, settlement, cutoff, time zone, trading days, "
                       "batch limit, notifications, storage or web page needs your password.",
                       "修改终端、结算、截止时间、时区、营业日、批次上限、通知、存储或网页设置"
                       "需要输入您的密码。"),
    "listen-in-use": ("Port {port} is in use by another program: choose another.",
                      "端口 {port} 已被其他程序占用：请换一个。"),
    "listen-not-local": ("{host} is not an address of this guard.", "{host} 不是本设备的地址。"),
    "listen-refused": ("The page cannot listen there: {error}", "网页无法在此监听：{error}"),
    "g-terminal": ("Terminal", "终端"), "g-schedule": ("Schedule and cutoff", "营业时间与截止"),
    "g-policy": ("Policy", "策略"), "g-panel": ("Panel", "面板"),
    "g-notify": ("Notifications", "通知"), "g-calendar": ("Calendar and overrides", "日历与调整"),
    "g-locale": ("Language", "语言"), "g-system": ("Storage and web page", "存储与网页"),
    "targets": ("Push targets", "推送目标"), "target-new": ("New target URL", "新推送地址"),
    "delete": ("delete", "删除"), "dates-help": ("dates YYYY-MM-DD, separated by spaces",
                                                "日期 YYYY-MM-DD，用空格分隔"),
    "backup": ("Backup and restore", "备份与恢复"),
    "backup-plain": ("Download the configuration (secrets masked)", "下载配置（隐藏密钥）"),
    "backup-secrets": ("Download with secrets", "下载（含密钥）"),
    "restore": ("Restore from a file", "从文件恢复"), "restore-file": ("Backup file", "备份文件"),
    "restore-bad": ("The file is not a configuration: {}", "文件不是有效配置：{}"),
    "restore-secret-missing": ("The backup has no secret for push target {} and that target "
                               "is new here.", "备份中缺少推送目标 {} 的密钥，且本机没有该目标。"),
    # tests and actions
    "tests-title": ("Tests", "测试"),
    "t-poll": ("Poll the terminal now", "立即读取终端"),
    "t-buzzer": ("Sound the buzzer", "蜂鸣器测试"), "t-light": ("Cycle the light", "指示灯测试"),
    "t-oled": ("Display test pattern", "显示屏测试图案"), "t-push": ("Push test", "推送测试"),
    "no-targets": ("No push targets configured.", "未配置推送目标。"),
    "poll-ok": ("The terminal answered: {status}", "终端已应答：{status}"),
    "poll-failed": ("The terminal did not answer: {error}", "终端无应答：{error}"),
    "buzzer-ok": ("The buzzer sounded.", "蜂鸣器已响。"),
    "light-ok": ("The light cycled green, amber, red.", "指示灯已依次亮绿、黄、红。"),
    "oled-ok": ("The display shows the test pattern for a few seconds.",
                "显示屏将显示测试图案几秒钟。"),
    "no-panel": ("No panel in this guard.", "此设备没有面板。"),
    "push-ok": ("Target {target}: delivered.", "目标 {target}：已送达。"),
    "push-failed": ("Target {target}: not delivered: {error}", "目标 {target}：未送达：{error}"),
    "push-sending": ("Sending the test message…", "正在发送测试消息…"),
    "push-waiting": ("Target {target}: still waiting (it stays queued).",
                     "目标 {target}：仍在等待（保留在队列中）。"),
    "no-such-target": ("No such push target.", "没有这个推送目标。"),
    "actions-title": ("Actions", "操作"),
    "a-settle": ("Settle now", "立即结算"),
    "a-settle-help": ("Closes the open batch on the terminal (end-of-day), through the journal: "
                      "never twice.", "在终端上关闭当前批次（日结），经日志保证不会重复。"),
    "a-settle-confirm": ("Yes, settle the open batch now", "是的，立即结算当前批次"),
    "a-force": ("Force close the batch", "强制结算批次"),
    "a-force-help": ("Only when the host will not take the batch and your acquirer says so: "
                     "the terminal closes it without the host, so its payments are not "
                     "sent for payment by this close and must be reconciled with the acquirer.",
                     "仅在主机无法接收批次且收单机构要求时使用：终端不经主机关闭批次，"
                     "这些交易不会因此被请款，须与收单机构对账。"),
    "a-force-confirm": ("Yes, close the batch without the host", "是的，不经主机关闭批次"),
    "confirm-needed": ("Tick the box to confirm.", "请勾选确认。"),
    "a-sign-in": ("Sign in (initialisation)", "签到（初始化）"),
    "a-diagnosis": ("Diagnosis", "诊断"), "a-clock": ("Set the terminal's clock", "设置终端时钟"),
    "settle-ok": ("Settled: {note}", "已结算：{note}"),
    "settle-failed": ("Settlement failed: {result_text}", "结算失败：{result_text}"),
    "settle-unknown": ("Settlement outcome unknown: the guard checks the batch before any retry.",
                       "结算结果未知：设备会在重试前核对批次。"),
    "settle-not-sent": ("Settlement not sent: {note}", "未发送结算：{note}"),
    "settle-pending": ("Settlement running.", "结算进行中。"),
    "settle-empty": ("Nothing to settle: the batch is empty.", "无需结算：批次为空。"),
    "settle-not-now": ("Not settled now (terminal not ready, not answering, or an earlier "
                       "outcome is still open).",
                       "现在未结算（终端未就绪、无应答或上次结果未明）。"),
    "sign-in-ok": ("Signed in.", "签到成功。"), "sign-in-failed": ("Sign-in failed: {error}",
                                                               "签到失败：{error}"),
    "diagnosis-ok": ("Diagnosis done.", "诊断完成。"),
    "diagnosis-failed": ("Diagnosis failed: {error}", "诊断失败：{error}"),
    "clock-ok": ("The terminal's clock is set.", "终端时钟已设置。"),
    "clock-failed": ("Setting the clock failed: {error}", "设置时钟失败：{error}"),
    # history
    "history-title": ("History", "记录"), "events": ("Events", "事件"),
    "settlements": ("Settlements", "结算"), "payouts": ("Payouts", "到账"),
    "csv": ("CSV", "CSV"), "when": ("When", "时间"), "kind": ("Kind", "类型"),
    "state": ("State", "状态"), "amount": ("Amount", "金额"), "count": ("Count", "笔数"),
    "expected": ("Expected", "预计到账"), "received": ("Received", "已到账"),
    "mark-received": ("Mark received", "标记已到账"), "receipt": ("Receipt", "凭条"),
    "received-ok": ("Marked received.", "已标记到账。"),
    "no-such-payout": ("No such payout.", "没有这笔到账。"),
    "details": ("Details", "详情"),
    # access: password and API tokens
    "security-title": ("Access", "访问"), "change-password": ("Change password", "修改密码"),
    "new-password": ("New password", "新密码"), "current-password": ("Current password",
                                                                    "当前密码"),
    "password-changed": ("Password changed; other sessions are logged out.",
                         "密码已修改，其他会话已退出。"),
    "tokens": ("API tokens", "API 令牌"), "token-name": ("Device name", "设备名称"),
    "token-create": ("Create token", "创建令牌"),
    "token-once": ("Copy this token now; it is not shown again:",
                   "请立即复制此令牌，之后不再显示："),
    "token-deleted": ("Token deleted.", "令牌已删除。"), "name-needed": ("Give it a name.",
                                                                    "请填写名称。"),
    "created": ("Created", "创建时间"), "last-used": ("Last used", "最近使用"),
    "scopes": ("May", "权限"), "scope-read": ("read status and history", "读取状态和记录"),
    "scope-acknowledge": ("acknowledge (snooze the buzzer)", "确认（暂停蜂鸣器）"),
    "scope-settle": ("settle now", "立即结算"),
    "scope-needed": ("Choose what the token may do.", "请选择令牌的权限。"),
    "revoke-help": ("Revoke these API tokens too (anyone who knew the old password may have "
                    "made them):", "同时撤销以下 API 令牌（知道旧密码的人可能创建过它们）："),
    "tokens-revoked": ("{} API token(s) revoked.", "已撤销 {} 个 API 令牌。"),
    "sessions": ("Sessions", "会话"),
    "sessions-help": ("A session ends after 30 minutes without use, after 12 hours in any case, "
                      "at logout and when the password changes.",
                      "会话在 30 分钟未使用后、最长 12 小时后、退出时以及修改密码时结束。"),
    "logout-all": ("Log out everywhere", "退出所有会话"),
    "logged-out-all": ("Every session has ended.", "所有会话均已结束。"),
    "ack-ok": ("Acknowledged.", "已确认。"),
    "unknown-host": ("unknown host: open the page by the guard's own name or address",
                     "未知主机名：请使用设备自己的名称或地址打开页面"),
    "restore-deep": ("it is nested too deeply", "嵌套层级过深"),
}  # fmt: skip


def text(key: str, lang: str, **values: object) -> str:
    pair = TEXTS.get(key)
    if pair is None:
        return f"?{key}"
    words = pair[1] if lang == "zh-CN" else pair[0]
    try:
        return words.format(**values) if values else words
    except (KeyError, IndexError):
        return words
