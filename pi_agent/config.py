"""The guard's configuration: a typed TOML schema with defaults, per-field validation and
atomic saves (temp file, fsync, rename; mode 0600 because it holds the terminal password).
A save killed half-way leaves its temp file, a full copy with the secrets: loading the
config removes such leftovers.

Errors name the field and the problem (`[settle] at: "25:00" is not a time HH:MM`), all of
them at once, and nothing is saved while any remains.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import json
import logging
import os
import re
import stat
import sys
import tempfile
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time
from importlib import resources
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .money import currency_numeric

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DISPLAYS = ("ssd1306", "sh1106", "ssd1309", "emulator")
LOCALES = ("en", "zh-CN")
SETTLE_MODES = ("off", "at", "ask")
PAYOUT_COUNTS = ("business", "calendar")  # T+N bank business days, or D+N calendar days
DEFAULT_PATH = Path("/var/lib/settle-guard/config.toml")

log = logging.getLogger(__name__)


def _can_sign_in(protocol: str) -> bool:
    from .terminal.registry import Capability

    return bool(protocol_of(protocol).can(Capability.SIGN_IN))


def protocol_of(name: str) -> Any:
    """The registry's description of a terminal protocol (imported on first use: loading
    the config module must not load a protocol)."""
    from .terminal.registry import get

    return get(name)


def pin_map() -> dict[str, Any]:
    """hardware/pinmap.toml, shipped in the package: the one source of pin numbers."""
    with (resources.files("pi_agent") / "pinmap.toml").open("rb") as f:
        return tomllib.load(f)


_PINS = pin_map()


# The schema with each field's label and help: kept compact by hand.
# fmt: off
@dataclass(frozen=True)
class TerminalConfig:
    """The terminal's section: the fields every protocol has, and the protocol's own.

    The protocol's own fields (ZVT: password, baudrate, register) are declared and checked
    by its registry entry (terminal/registry.py) and stay flat in `[terminal]`, so files
    written before the registry load unchanged. `options` keeps only those that differ
    from the protocol's defaults (a file that spells a default out equals one that does
    not); read any of them as an attribute: `cfg.terminal.password`.

    Every field's metadata gives the page its label and one-line help, English and Chinese
    (the protocol's own fields have theirs in their `Setting`)."""

    port: str = field(default="/dev/ttyUSB0", metadata={
        "label": ("Terminal port", "终端端口"),
        "help": ("Serial adapter (/dev/serial/by-id/...) or socket://HOST:PORT",
                 "串口适配器（/dev/serial/by-id/...）或 socket://主机:端口")})
    protocol: str = field(default="zvt", metadata={
        "label": ("Terminal protocol", "终端协议"),
        "help": ("ZVT for German terminals, POSLink for PAX terminals",
                 "德国终端用 ZVT，PAX 终端用 POSLink")})
    currency: str = field(default="EUR", metadata={
        "label": ("Currency", "币种"),
        "help": ("The terminal's currency, ISO code such as EUR, CNY, USD",
                 "终端使用的币种，ISO 代码，如 EUR、CNY、USD")})
    options: tuple[tuple[str, Any], ...] = ()

    def __getattr__(self, name: str) -> Any:
        # Only reached for names that are not dataclass fields.
        if name.startswith("_"):
            raise AttributeError(name)
        for key, value in self.options:
            if key == name:
                return value
        protocol = protocol_of(self.protocol)
        if name in protocol.defaults:
            return protocol.defaults[name]
        raise AttributeError(f"protocol {self.protocol!r} has no [terminal] setting {name!r}")

    def settings(self) -> dict[str, Any]:
        """The protocol's own fields, every one (defaults filled in), in declared order."""
        return {**protocol_of(self.protocol).defaults, **dict(self.options)}


@dataclass(frozen=True)
class ScheduleConfig:
    timezone: str = field(default="Europe/Berlin", metadata={
        "label": ("Time zone", "时区"),
        "help": ("The shop's time zone, e.g. Europe/Berlin or Asia/Shanghai",
                 "店铺所在时区，如 Europe/Berlin 或 Asia/Shanghai")})
    trading_days: tuple[str, ...] = field(default=WEEKDAYS, metadata={
        "label": ("Trading days", "营业日"),
        "help": ("Days the shop is open; other days no warnings",
                 "店铺营业的日子；其他日子不提醒")})
    opening: time = field(default=time(9, 0), metadata={
        "label": ("Opening time", "开门时间"),
        "help": ("When the shop opens (HH:MM)", "店铺开门时间（HH:MM）")})
    closing: time = field(default=time(22, 0), metadata={
        "label": ("Closing time", "打烊时间"),
        "help": ("When the shop closes; the closing report goes out then",
                 "店铺打烊时间；届时发送日终报告")})
    # a cutoff before 06:00 ends the previous date's trading day
    cutoff: time = field(default=time(23, 0), metadata={
        "label": ("Settlement cutoff", "结算截止时间"),
        "help": ("The acquirer's deadline; before 06:00 it ends the previous day",
                 "收单机构的结算截止；早于 06:00 则算前一天")})


@dataclass(frozen=True)
class WarningsConfig:
    amber_minutes: int = field(default=60, metadata={
        "label": ("Amber warning (minutes)", "黄色提醒（分钟）"),
        "help": ("Light turns amber this many minutes before the cutoff",
                 "截止前多少分钟指示灯变黄")})
    red_minutes: int = field(default=15, metadata={
        "label": ("Red warning (minutes)", "红色警告（分钟）"),
        "help": ("Light turns red and the buzzer sounds this long before the cutoff",
                 "截止前多少分钟指示灯变红并蜂鸣")})
    # settle early when the batch gets this large
    batch_limit: int = field(default=1500, metadata={
        "label": ("Batch limit (payments)", "批次上限（笔）"),
        "help": ("Settle early when the batch holds this many payments",
                 "批次达到此笔数时提前结算")})
    stale_after_failures: int = field(default=3, metadata={
        "label": ("Failed polls before a warning", "读取失败几次后提醒"),
        "help": ("Warn after this many unanswered polls in a row", "连续多少次读取无应答后提醒")})
    dead_after_minutes: int = field(default=10, metadata={
        "label": ("Terminal silent (minutes)", "终端无响应（分钟）"),
        "help": ("Alarm when the terminal has not answered for this long",
                 "终端持续无应答多久后报警")})
    clock_drift_seconds: int = field(default=120, metadata={
        "label": ("Clock drift allowed (seconds)", "允许的时钟偏差（秒）"),
        "help": ("Warn when the terminal's clock is off by more than this",
                 "终端时钟偏差超过此值时提醒")})
    set_terminal_clock: bool = field(default=False, metadata={
        "label": ("Set the terminal's clock", "校准终端时钟"),
        "help": ("Correct the terminal's clock when it drifts", "终端时钟偏差时自动校准")})
    # A batch settled later than this after its oldest sale costs more interchange
    # ("downgrades"): warn before, and with auto-settle settle early, whatever the cutoff.
    auth_age_hours: int = field(default=24, metadata={
        "label": ("Oldest sale age (hours)", "最早交易时长（小时）"),
        "help": ("Settle before the oldest sale is this old: later costs higher card fees",
                 "在最早一笔交易超过此时长前结算，否则手续费更高")})


@dataclass(frozen=True)
class SettleConfig:
    # off | at (settle at `at`) | ask (cashier may cancel; settles at last call)
    mode: str = field(default="off", metadata={
        "label": ("Automatic settlement", "自动结算"),
        "help": ("off: never; at: settle at the time below; ask: cashier may cancel",
                 "off：不自动；at：按下方时间结算；ask：收银员可取消"),
        "choices": SETTLE_MODES})
    at: time = field(default=time(22, 30), metadata={
        "label": ("Settle at", "结算时间"),
        "help": ("When the guard settles by itself (HH:MM)", "设备自动结算的时间（HH:MM）")})
    last_call: time = field(default=time(22, 50), metadata={
        "label": ("Last call", "最后时限"),
        "help": ("In ask mode: settle at this time unless the cashier cancelled",
                 "ask 模式：除非收银员取消，到此时间结算")})
    retry_minutes: int = field(default=5, metadata={
        "label": ("Retry after (minutes)", "重试间隔（分钟）"),
        "help": ("Wait this long before trying a failed settlement again",
                 "结算失败后等待多久再试")})
    max_attempts: int = field(default=5, metadata={
        "label": ("Attempts at most", "最多尝试次数"),
        "help": ("Give up and alarm after this many failed settlements",
                 "结算失败达到此次数后停止并报警")})
    sign_in_at_opening: bool = field(default=False, metadata={
        "label": ("Sign in at opening", "开店时签到"),
        "help": ("Sign the terminal in with its host at opening on trading days (ZVT)",
                 "交易日开店时让终端向主机签到（ZVT）")})


@dataclass(frozen=True)
class PollConfig:
    interval_seconds: int = field(default=60, metadata={
        "label": ("Poll every (seconds)", "读取间隔（秒）"),
        "help": ("How often the guard reads the terminal", "设备读取终端的频率")})
    near_cutoff_interval_seconds: int = field(default=15, metadata={
        "label": ("Poll near the cutoff (seconds)", "临近截止读取间隔（秒）"),
        "help": ("Faster reading once the warnings have started", "进入提醒阶段后更频繁地读取")})


@dataclass(frozen=True)
class PanelConfig:
    display: str = field(default="emulator", metadata={
        "label": ("Display type", "显示屏型号"),
        "help": ("The OLED's controller; emulator: no display, the page shows it",
                 "OLED 控制芯片；emulator：无显示屏，仅在网页显示"),
        "choices": DISPLAYS})
    locale: str = field(default="en", metadata={
        "label": ("Language", "语言"),
        "help": ("Language of the display, the messages and this page's default",
                 "显示屏、推送消息和本页面默认使用的语言"),
        "choices": LOCALES})
    quiet_start: time | None = field(default=None, metadata={
        "label": ("Buzzer quiet from", "蜂鸣器静音开始"),
        "help": ("No buzzer from this time (empty: never quiet)",
                 "从此时起蜂鸣器静音（留空：不静音）")})
    quiet_end: time | None = field(default=None, metadata={
        "label": ("Buzzer quiet until", "蜂鸣器静音结束"),
        "help": ("The buzzer may sound again from this time", "从此时起蜂鸣器恢复")})
    passive_buzzer: bool = field(default=False, metadata={
        "label": ("Passive buzzer", "无源蜂鸣器"),
        "help": ("Tick if the buzzer needs a tone (passive) rather than on/off",
                 "蜂鸣器需要音频信号（无源）时勾选")})
    i2c_bus: int = field(default=_PINS["i2c"]["bus"], metadata={
        "label": ("I2C bus", "I2C 总线"),
        "help": ("The display's I2C bus number (1 on a Raspberry Pi)",
                 "显示屏的 I2C 总线号（树莓派为 1）")})
    oled_address: int = field(default=_PINS["i2c"]["oled_address"], metadata={
        "label": ("Display address", "显示屏地址"),
        "help": ("The display's I2C address as a number (0x3C is 60)",
                 "显示屏 I2C 地址（十进制，0x3C 即 60）")})
    light_green: int = field(default=_PINS["light"]["green"], metadata={
        "label": ("Green light pin", "绿灯引脚"),
        "help": ("GPIO number (BCM) of the green light", "绿灯的 GPIO 编号（BCM）")})
    light_amber: int = field(default=_PINS["light"]["amber"], metadata={
        "label": ("Amber light pin", "黄灯引脚"),
        "help": ("GPIO number (BCM) of the amber light", "黄灯的 GPIO 编号（BCM）")})
    light_red: int = field(default=_PINS["light"]["red"], metadata={
        "label": ("Red light pin", "红灯引脚"),
        "help": ("GPIO number (BCM) of the red light", "红灯的 GPIO 编号（BCM）")})
    buzzer_pin: int = field(default=_PINS["buzzer"]["pin"], metadata={
        "label": ("Buzzer pin", "蜂鸣器引脚"),
        "help": ("GPIO number (BCM) of the buzzer", "蜂鸣器的 GPIO 编号（BCM）")})
    button_pin: int = field(default=_PINS["button"]["pin"], metadata={
        "label": ("Button pin", "按钮引脚"),
        "help": ("GPIO number (BCM) of the cashier's button", "收银员按钮的 GPIO 编号（BCM）")})


LEVELS = ("info", "warn", "urgent")  # a push target's minimum severity


@dataclass(frozen=True)
class Target:
    """One push destination: an Apprise URL (it holds the token, so it is a secret)."""

    url: str
    min_level: str = "warn"
    lang: str = ""  # empty: the panel's locale


@dataclass(frozen=True)
class NotifyConfig:
    targets: tuple[Target, ...] = field(default=(), metadata={
        "secret": True,
        "label": ("Push targets", "推送目标"),
        "help": ("Where messages go: Apprise URLs such as ntfy://topic or wecombot://KEY",
                 "消息发往何处：Apprise 地址，如 ntfy://topic 或 wecombot://KEY")})
    # below urgent, messages wait until quiet_end
    quiet_start: time | None = field(default=None, metadata={
        "label": ("Quiet hours from", "免打扰开始"),
        "help": ("Only urgent messages from this time (empty: never quiet)",
                 "从此时起只发送紧急消息（留空：不启用）")})
    quiet_end: time | None = field(default=None, metadata={
        "label": ("Quiet hours until", "免打扰结束"),
        "help": ("Held messages go out at this time", "暂缓的消息在此时发出")})
    # an unacknowledged alarm comes again; 0: never
    repeat_minutes: int = field(default=30, metadata={
        "label": ("Repeat alarms (minutes)", "警报重复（分钟）"),
        "help": ("Send an unacknowledged alarm again after this long; 0: never",
                 "未确认的警报隔多久再发一次；0：不重复")})
    # the closing report at [schedule] closing
    report: bool = field(default=True, metadata={
        "label": ("Closing report", "日终报告"),
        "help": ("Send the day's totals at closing time", "打烊时发送当天的汇总")})


@dataclass(frozen=True)
class CalendarConfig:
    country: str = field(default="DE", metadata={
        "label": ("Country or region", "国家或地区"),
        "help": ("Whose public holidays delay payouts, e.g. CN, DE, US",
                 "按哪里的法定节假日推迟到账，如 CN、DE、US")})
    # e.g. BY; empty: national holidays only
    subdivision: str = field(default="", metadata={
        "label": ("State or province", "省份或州"),
        "help": ("For regional holidays, e.g. BY; empty: national holidays only",
                 "地区性节假日，如 BY；留空：仅全国节假日")})
    # e.g. XECB (TARGET): payouts also wait for the settlement system
    financial: str = field(default="", metadata={
        "label": ("Financial calendar", "金融日历"),
        "help": ("Payouts also wait for this market's holidays, e.g. XECB; may be empty",
                 "到账还需避开此市场的假日，如 XECB；可留空")})
    # the acquirer pays N days after the trading day, counted as payout_count says
    payout_days: int = field(default=1, metadata={
        "label": ("Payout after (days)", "到账天数"),
        "help": ("The acquirer pays this many days after the trading day (T+N or D+N)",
                 "收单机构在营业日后第几天付款（T+N 或 D+N）")})
    payout_count: str = field(default="business", metadata={
        "label": ("Payout days count", "到账天数计法"),
        "help": ("business: T+N bank business days; calendar: D+N calendar days",
                 "business：T+N 个银行工作日；calendar：D+N 个自然日"),
        "choices": PAYOUT_COUNTS})
    extra_holidays: tuple[date, ...] = field(default=(), metadata={
        "label": ("Extra holidays", "额外假日"),
        "help": ("Days the bank does not pay beyond the official list",
                 "官方列表以外银行不付款的日子")})
    extra_workdays: tuple[date, ...] = field(default=(), metadata={
        "label": ("Extra workdays", "额外工作日"),
        "help": ("Weekend days the bank works (e.g. China's make-up days)",
                 "银行上班的周末（如中国的调休日）")})


@dataclass(frozen=True)
class StoreConfig:
    path: str = field(default="/var/lib/settle-guard/guard.db", metadata={
        "label": ("Database file", "数据库文件"),
        "help": ("Where the guard keeps its history (an absolute path)",
                 "设备保存记录的位置（绝对路径）")})
    retention_days: int = field(default=400, metadata={
        "label": ("Keep history (days)", "记录保留（天）"),
        "help": ("Older readings and events are deleted", "更早的读数和事件将被删除")})


@dataclass(frozen=True)
class WebConfig:
    # the technician's page; Flask is imported only when it is on
    enabled: bool = field(default=True, metadata={
        "label": ("Web page on", "启用网页"),
        "help": ("Turning this off closes this page; only the config file remains",
                 "关闭后本页面不可用，只能编辑配置文件")})
    # on the shop LAN; "127.0.0.1:8080" keeps it on the Pi
    listen: str = field(default="0.0.0.0:8080", metadata={
        "label": ("Listen on", "监听地址"),
        "help": ("ADDRESS:PORT; 0.0.0.0 is the shop network, 127.0.0.1 the guard only",
                 "地址:端口；0.0.0.0 为店内网络，127.0.0.1 仅本机")})
    # Names the page answers to besides its own (hostname, hostname.local, settleguard.local,
    # its addresses, localhost): e.g. a name the shop's router gives it. No ports.
    allowed_hosts: tuple[str, ...] = field(default=(), metadata={
        "label": ("Other host names", "其他主机名"),
        "help": ("Extra names this page answers to, separated by spaces (no ports)",
                 "本页面额外接受的主机名，用空格分隔（不含端口）"),
        "kind": "words"})


@dataclass(frozen=True)
class FleetConfig:
    """MQTT for chains of shops: state, events and Home Assistant discovery to a broker."""

    enabled: bool = field(default=False, metadata={
        "label": ("Connect to the chain's broker", "连接连锁店服务器"),
        "help": ("Publish state and events over MQTT", "通过 MQTT 发布状态和事件")})
    # mqtt://HOST[:1883] or mqtts://HOST[:8883]
    broker: str = field(default="", metadata={
        "label": ("Broker", "服务器"),
        "help": ("mqtt://HOST[:1883] or mqtts://HOST[:8883]",
                 "mqtt://主机[:1883] 或 mqtts://主机[:8883]")})
    # mqtts: the broker's CA (empty: the system's)
    ca_file: str = field(default="", metadata={
        "label": ("CA certificate file", "CA 证书文件"),
        "help": ("mqtts: the broker's CA; empty: the system's",
                 "mqtts：服务器的 CA；留空：使用系统的")})
    username: str = field(default="", metadata={
        "label": ("User name", "用户名"),
        "help": ("The broker account (empty: none)", "服务器账号（留空：无）")})
    password: str = field(default="", metadata={
        "secret": True,
        "label": ("Password", "密码"),
        "help": ("The broker account's password", "服务器账号的密码")})
    # mqtts: a client certificate and its key, instead of a password
    client_cert: str = field(default="", metadata={
        "label": ("Client certificate file", "客户端证书文件"),
        "help": ("mqtts: a certificate instead of a password (optional)",
                 "mqtts：用证书代替密码（可选）")})
    client_key: str = field(default="", metadata={
        "label": ("Client key file", "客户端私钥文件"),
        "help": ("The client certificate's key", "客户端证书的私钥")})
    # topics: PREFIX/SHOP_ID/...
    prefix: str = field(default="settleguard", metadata={
        "label": ("Topic prefix", "主题前缀"),
        "help": ("Topics are PREFIX/SHOP_ID/...", "主题格式为 前缀/店铺编号/...")})
    # unique on the broker: letters, digits, - and _
    shop_id: str = field(default="", metadata={
        "label": ("Shop ID", "店铺编号"),
        "help": ("Unique on the broker: letters, digits, - and _",
                 "在服务器上唯一：字母、数字、- 和 _")})
    shop_name: str = field(default="", metadata={
        "label": ("Shop name", "店铺名称"),
        "help": ("As shown in Home Assistant and on the chain's dashboard",
                 "在 Home Assistant 和连锁店总览中显示的名称")})
    discovery: bool = field(default=True, metadata={
        "label": ("Home Assistant discovery", "Home Assistant 自动发现"),
        "help": ("Announce the guard's sensors to Home Assistant",
                 "向 Home Assistant 声明设备的传感器")})
    discovery_prefix: str = field(default="homeassistant", metadata={
        "label": ("Discovery prefix", "自动发现前缀"),
        "help": ("Home Assistant's discovery topic (usually homeassistant)",
                 "Home Assistant 的发现主题（通常为 homeassistant）")})
    # a "settle now" command on the broker moves money
    allow_remote_settle: bool = field(default=False, metadata={
        "label": ("Allow settling from the broker", "允许服务器发起结算"),
        "help": ("A \"settle now\" command on the broker moves money: allow only if trusted",
                 "服务器上的“立即结算”命令会动用资金：仅在可信时允许")})
# fmt: on


@dataclass(frozen=True)
class Config:
    terminal: TerminalConfig = TerminalConfig()
    schedule: ScheduleConfig = ScheduleConfig()
    warnings: WarningsConfig = WarningsConfig()
    settle: SettleConfig = SettleConfig()
    poll: PollConfig = PollConfig()
    panel: PanelConfig = PanelConfig()
    notify: NotifyConfig = NotifyConfig()
    calendar: CalendarConfig = CalendarConfig()
    store: StoreConfig = StoreConfig()
    web: WebConfig = WebConfig()
    fleet: FleetConfig = FleetConfig()

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.schedule.timezone)

    @property
    def currency_code(self) -> int:
        return currency_numeric(self.terminal.currency)


@dataclass(frozen=True, slots=True)
class FieldError:
    field: str  # "[section] name"
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


class ConfigError(ValueError):
    """One or more fields are wrong; `errors` lists each with its place."""

    def __init__(self, errors: list[FieldError], source: str = "") -> None:
        self.errors = errors
        self.source = source
        where = f"{source}: " if source else ""
        super().__init__(where + "; ".join(str(e) for e in errors))


# -- parsing one value: each parser raises ValueError with a message for the person


def _time(value: Any) -> time:
    if isinstance(value, time):
        return value.replace(second=0, microsecond=0)
    if isinstance(value, str):
        hh, _, mm = value.partition(":")
        if hh.isdigit() and mm.isdigit() and len(mm) == 2 and int(hh) < 24 and int(mm) < 60:
            return time(int(hh), int(mm))
    raise ValueError(f"{value!r} is not a time HH:MM (00:00-23:59)")


def _int_between(low: int, high: int) -> Callable[[Any], int]:
    def parse(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{value!r} is not a whole number")
        if not low <= value <= high:
            raise ValueError(f"{value} is outside {low}-{high}")
        return value

    return parse


def _choice(options: tuple[str, ...]) -> Callable[[Any], str]:
    def parse(value: Any) -> str:
        if value not in options:
            raise ValueError(f"{value!r} is not one of {', '.join(options)}")
        return value

    return parse


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{value!r} is not true or false")
    return value


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("must be a non-empty text")
    return value.strip()


def _timezone(value: Any) -> str:
    try:
        ZoneInfo(_text(value))
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"{value!r} is not a time zone (e.g. Europe/Berlin, Asia/Shanghai)"
        ) from None
    return value.strip()


def _currency(value: Any) -> str:
    currency_numeric(value if isinstance(value, str) else str(value))  # raises with a message
    return str(value).upper()


def _weekdays(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise ValueError('must be a list such as ["mon", "tue", "wed", "thu", "fri"]')
    days = tuple(str(v).lower()[:3] for v in value)
    bad = [v for v, d in zip(value, days, strict=True) if d not in WEEKDAYS]
    if bad:
        raise ValueError(f"{bad[0]!r} is not a weekday (mon ... sun)")
    return tuple(d for d in WEEKDAYS if d in days)


def _optional_time(value: Any) -> time | None:
    return None if value in (None, "") else _time(value)


def _protocol(value: Any) -> str:
    from .terminal.registry import names

    if value not in names():
        raise ValueError(f"{value!r} is not one of {', '.join(names())}")
    return value


def _targets(value: Any) -> tuple[Target, ...]:
    if not isinstance(value, list):
        raise ValueError('must be a list of {url = "...", min_level = "warn"} tables')
    targets = []
    for n, given in enumerate(value, 1):
        item = {"url": given} if isinstance(given, str) else given
        if not isinstance(item, dict) or not isinstance(item.get("url"), str):
            raise ValueError(f"target {n} needs a url (an Apprise URL such as ntfy://topic)")
        unknown = set(item) - {"url", "min_level", "lang"}
        if unknown:
            raise ValueError(f"target {n}: unknown key {sorted(unknown)[0]!r}")
        url = item["url"].strip()
        if "://" not in url:
            raise ValueError(f"target {n}: the url needs a scheme, e.g. wecombot://KEY")
        level = item.get("min_level", "warn")
        if level not in LEVELS:
            raise ValueError(f"target {n}: min_level {level!r} is not one of {', '.join(LEVELS)}")
        lang = item.get("lang", "")
        if lang not in ("", *LOCALES):
            raise ValueError(f"target {n}: lang {lang!r} is not one of {', '.join(LOCALES)}")
        targets.append(Target(url, level, lang))
    return tuple(targets)


def _dates(value: Any) -> tuple[date, ...]:
    if not isinstance(value, list):
        raise ValueError('must be a list of dates such as ["2027-02-06"]')
    days = []
    for item in value:
        # A TOML date-time is a datetime, which is a date too: refused, or it could not be
        # sorted beside the dates nor written back as one.
        if isinstance(item, datetime):
            raise ValueError(f"{item.isoformat()!r} is not a date YYYY-MM-DD (no time)")
        try:
            days.append(item if isinstance(item, date) else date.fromisoformat(str(item)))
        except ValueError:
            raise ValueError(f"{item!r} is not a date YYYY-MM-DD") from None
    return tuple(sorted(set(days)))


def _listen(value: Any) -> str:
    """HOST:PORT with an IPv4 address (0.0.0.0: every interface) and a port 1-65535."""
    import ipaddress

    host, sep, port = str(value).strip().rpartition(":")
    try:
        ipaddress.IPv4Address(host)
        ok = bool(sep) and port.isdigit() and 1 <= int(port) <= 65535
    except ValueError:
        ok = False
    if not isinstance(value, str) or not ok:
        raise ValueError(f"{value!r} is not an address HOST:PORT such as 0.0.0.0:8080")
    return value.strip()


def port_url(value: Any, *, link: bool = False) -> str:
    """The terminal's port: a device under /dev/ or socket://HOST:PORT. pyserial opens far
    more (spy:// writes files, rfc2217:// connects out, any path is opened), and the port
    receives the terminal password: only what a terminal can be is let through. A path
    outside /dev/ passes only as a link to a character device there (the simulator's pty).
    `link`: the check before opening, which also lets pyserial's in-memory loop:// through
    (the link's tests) and a path that is gone (an unplugged device: the open then fails)."""
    url = _text(value)
    shown = repr(url if len(url) <= 80 else url[:77] + "...")
    if link and url == "loop://":
        return url
    if url.startswith("socket://"):
        host, sep, port = url.removeprefix("socket://").rpartition(":")
        # ASCII digits: isdigit() also passes "²" (int() then raises) and full-width
        # digits, which int() reads but pyserial never opens.
        if not (sep and re.fullmatch(r"[A-Za-z0-9.-]{1,253}", host)
                and re.fullmatch(r"[0-9]{1,5}", port) and 1 <= int(port) <= 65535):  # fmt: skip
            raise ValueError(f"{shown} is not socket://HOST:PORT (no path, no options)")
        return url
    if "://" in url or not url.startswith("/"):
        raise ValueError(f"{shown} is not a device /dev/... or socket://HOST:PORT")
    if ".." in url.split("/") or any(ord(c) < 32 for c in url):
        raise ValueError(f"{shown} is not a plain device path")
    try:
        st = os.stat(url)
    except OSError:  # not there now (an unplugged adapter): opening it creates nothing
        ok = link or url.startswith("/dev/")
    else:
        ok = stat.S_ISCHR(st.st_mode) and os.path.realpath(url).startswith("/dev/")
    if not ok:
        raise ValueError(f"{shown} is not a serial device under /dev/")
    return url


NAME_MAX, PATH_MAX = 255, 4095  # Linux's limits on one name and on a whole path, in bytes


def _store_path(value: Any) -> str:
    """The database file: what SQLite and the page's read-only URI (`file:PATH?mode=ro`)
    can open; whether this machine can write there is `environment_errors`'s question."""
    path = _text(value)
    size = len(path.encode("utf-8", "surrogateescape"))
    if size > PATH_MAX:
        raise ValueError(f"is {size} bytes long; a path has at most {PATH_MAX}")
    if not path.startswith("/") or path.endswith("/"):
        raise ValueError("must be the absolute path of a file, e.g. /var/lib/settle-guard/guard.db")
    bad = next((c for c in path if c in "?#%\\" or ord(c) < 32 or ord(c) == 127), None)
    if bad is not None:
        raise ValueError(f"may not contain {bad!r}")
    parts = path.split("/")
    if ".." in parts:
        raise ValueError("may not contain '..'")
    if any(len(p.encode("utf-8", "surrogateescape")) > NAME_MAX for p in parts):
        raise ValueError(f"has a name longer than {NAME_MAX} bytes")
    return path


_BROKER = re.compile(r"(mqtts?)://([A-Za-z0-9.-]{1,253})(?::([0-9]{1,5}))?/?")
_LEVEL = re.compile(r"[A-Za-z0-9_-]{1,64}")


def _maybe_text(value: Any) -> str:
    """A text that may be empty (an optional field the file spells out as "")."""
    if not isinstance(value, str):
        raise ValueError("must be a text")
    return value.strip()


def _broker(value: Any) -> str:
    """mqtt://HOST[:PORT] or mqtts://HOST[:PORT]: no user, path or options (the password
    has its own field, so it never sits in a URL that logs and pages show)."""
    url = _maybe_text(value)
    match = _BROKER.fullmatch(url)
    if url and (not match or (match[3] and not 1 <= int(match[3]) <= 65535)):
        shown = repr(url if len(url) <= 80 else url[:77] + "...")
        raise ValueError(f"{shown} is not mqtt://HOST[:PORT] or mqtts://HOST[:PORT]")
    return url.rstrip("/")


def _topic_level(value: Any) -> str:
    text = _text(value)
    if not _LEVEL.fullmatch(text):
        raise ValueError(f"{text[:70]!r} is not 1-64 letters, digits, - or _ (one topic level)")
    return text


def _shop_id(value: Any) -> str:
    return _topic_level(value) if _maybe_text(value) else ""


def _mqtt_text(value: Any) -> str:
    text = _maybe_text(value)
    if len(text) > 200 or any(ord(c) < 32 for c in text):
        raise ValueError("must be at most 200 characters, without control characters")
    return text


def _optional_file(value: Any) -> str:
    text = _maybe_text(value)
    if text and not (text.startswith("/") and os.path.isfile(text)):
        raise ValueError(f"{text[:80]!r} is not a readable file (an absolute path)")
    return text


def _hosts(value: Any) -> tuple[str, ...]:
    """Host names or IP addresses, without a port (a port is never part of the check)."""
    import ipaddress

    if not isinstance(value, list | tuple):
        raise ValueError('must be a list of names such as ["till.shop.lan"]')
    names = tuple(str(item).strip().lower() for item in value)
    for name in names:
        try:
            ok = bool(re.fullmatch(r"[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?", name)) or bool(
                ipaddress.IPv6Address(name)
            )
        except ValueError:
            ok = False
        if not ok:
            raise ValueError(f"{name!r} is not a host name or address (without a port)")
    return names


def _code(value: Any) -> str:
    if not isinstance(value, str) or not (value == "" or value.replace("-", "").isalnum()):
        raise ValueError(f"{value!r} is not a code such as DE, BY or XECB")
    return value.strip().upper()


_PIN = _int_between(2, 27)
PARSERS: dict[str, dict[str, Callable[[Any], Any]]] = {
    # Plus the protocol's own fields, from its registry entry (see _terminal).
    "terminal": {"port": port_url, "protocol": _protocol, "currency": _currency},
    "schedule": {"timezone": _timezone, "trading_days": _weekdays, "opening": _time,
                 "closing": _time, "cutoff": _time},
    "warnings": {"amber_minutes": _int_between(1, 720), "red_minutes": _int_between(1, 720),
                 "batch_limit": _int_between(10, 100_000),
                 "stale_after_failures": _int_between(1, 100),
                 "dead_after_minutes": _int_between(1, 1440),
                 "clock_drift_seconds": _int_between(5, 86_400),
                 "set_terminal_clock": _bool, "auth_age_hours": _int_between(8, 168)},
    "settle": {"mode": _choice(SETTLE_MODES), "at": _time, "last_call": _time,
               "retry_minutes": _int_between(1, 240), "max_attempts": _int_between(1, 50),
               "sign_in_at_opening": _bool},
    "poll": {"interval_seconds": _int_between(5, 3600),
             "near_cutoff_interval_seconds": _int_between(5, 3600)},
    "panel": {"display": _choice(DISPLAYS), "locale": _choice(LOCALES),
              "quiet_start": _optional_time, "quiet_end": _optional_time,
              "passive_buzzer": _bool, "i2c_bus": _int_between(0, 10),
              "oled_address": _int_between(0x03, 0x77), "light_green": _PIN, "light_amber": _PIN,
              "light_red": _PIN, "buzzer_pin": _PIN, "button_pin": _PIN},
    "notify": {"targets": _targets, "quiet_start": _optional_time, "quiet_end": _optional_time,
               "repeat_minutes": _int_between(0, 1440), "report": _bool},
    "calendar": {"country": _code, "subdivision": _code, "financial": _code,
                 "payout_days": _int_between(0, 10), "payout_count": _choice(PAYOUT_COUNTS),
                 "extra_holidays": _dates,
                 "extra_workdays": _dates},
    "store": {"path": _store_path, "retention_days": _int_between(30, 3650)},
    "web": {"enabled": _bool, "listen": _listen, "allowed_hosts": _hosts},
    "fleet": {"enabled": _bool, "broker": _broker, "ca_file": _optional_file,
              "username": _mqtt_text, "password": _mqtt_text, "client_cert": _optional_file,
              "client_key": _optional_file, "prefix": _topic_level, "shop_id": _shop_id,
              "shop_name": _mqtt_text, "discovery": _bool, "discovery_prefix": _topic_level,
              "allow_remote_settle": _bool},
}  # fmt: skip
_SECTION_CLASSES = {
    "terminal": TerminalConfig, "schedule": ScheduleConfig, "warnings": WarningsConfig,
    "settle": SettleConfig, "poll": PollConfig, "panel": PanelConfig, "notify": NotifyConfig,
    "calendar": CalendarConfig, "store": StoreConfig, "web": WebConfig, "fleet": FleetConfig,
}  # fmt: skip


def _before_cutoff(t: time, cutoff: time) -> int:
    """Minutes from `t` to the cutoff, going forward around the clock (1..1440)."""
    minutes = (cutoff.hour * 60 + cutoff.minute) - (t.hour * 60 + t.minute)
    return minutes % 1440 or 1440


def _cross_checks(cfg: Config) -> list[FieldError]:
    errors = []
    fleet = cfg.fleet
    if fleet.enabled and not (fleet.broker and fleet.shop_id):
        missing = "broker" if not fleet.broker else "shop_id"
        errors.append(FieldError(f"[fleet] {missing}", "is needed when the fleet is enabled"))
    if bool(fleet.client_cert) != bool(fleet.client_key):
        errors.append(FieldError("[fleet] client_key", "a client certificate needs its key"))
    if (fleet.ca_file or fleet.client_cert) and not fleet.broker.startswith("mqtts://"):
        errors.append(FieldError("[fleet] broker", "certificates need mqtts://"))
    if cfg.warnings.red_minutes >= cfg.warnings.amber_minutes:
        errors.append(FieldError("[warnings] red_minutes", "must be less than amber_minutes"))
    cutoff = cfg.schedule.cutoff
    if cfg.settle.mode != "off":
        at, last = (
            _before_cutoff(cfg.settle.at, cutoff),
            _before_cutoff(cfg.settle.last_call, cutoff),
        )
        if at > 720:
            errors.append(
                FieldError("[settle] at", "must be within the 12 hours before the cutoff")
            )
        if at <= last:
            errors.append(FieldError("[settle] last_call", "must come after [settle] at"))
        if last < 5:
            errors.append(
                FieldError("[settle] last_call", "must be at least 5 minutes before the cutoff")
            )
    if cfg.schedule.opening == cfg.schedule.closing:
        errors.append(FieldError("[schedule] closing", "must differ from opening"))
    if cfg.settle.sign_in_at_opening and not _can_sign_in(cfg.terminal.protocol):
        # Refused, not ignored: the technician expects a signed-in terminal every morning.
        cannot = f"{cfg.terminal.protocol} terminals have no sign-in command"
        errors.append(FieldError("[settle] sign_in_at_opening", cannot))
    pins = {n: getattr(cfg.panel, n) for n in ("light_green", "light_amber", "light_red",
                                                "buzzer_pin", "button_pin")}  # fmt: skip
    reserved = {_PINS["i2c"]["sda"], _PINS["i2c"]["scl"], _PINS["uart"]["tx"], _PINS["uart"]["rx"]}
    seen: dict[int, str] = {}
    for name, pin in pins.items():
        if pin in reserved:
            errors.append(FieldError(f"[panel] {name}", f"GPIO{pin} is taken by I2C or the UART"))
        elif pin in seen:
            errors.append(FieldError(f"[panel] {name}", f"GPIO{pin} is already {seen[pin]}"))
        seen.setdefault(pin, name)
    if (cfg.panel.quiet_start is None) != (cfg.panel.quiet_end is None):
        errors.append(FieldError("[panel] quiet_end", "quiet hours need both start and end"))
    if (cfg.notify.quiet_start is None) != (cfg.notify.quiet_end is None):
        errors.append(FieldError("[notify] quiet_end", "quiet hours need both start and end"))
    errors.extend(_calendar_checks(cfg.calendar))
    return errors


def _calendar_checks(c: CalendarConfig) -> list[FieldError]:
    """Codes checked against the holidays package's lists as shipped with this package:
    loading the package (or asking a helper process) would hold up the guard's start by
    seconds on a Pi Zero."""
    from .notify.holiday_data import supported

    known = supported()
    countries = known["countries"]
    if c.country not in countries:
        return [FieldError("[calendar] country", f"{c.country!r} is not known to the holidays "
                           "package (e.g. CN, DE, US)")]  # fmt: skip
    if c.subdivision and c.subdivision not in countries[c.country]:
        return [FieldError("[calendar] subdivision",
                           f"{c.subdivision!r} is not a subdivision of {c.country}")]  # fmt: skip
    if c.financial and c.financial not in known["financial"]:
        why = f"{c.financial!r} is not a financial calendar (e.g. XECB, XNYS)"
        return [FieldError("[calendar] financial", why)]
    return []


def calendar_spec(cfg: Config) -> Any:
    """The business-day calendar the config describes (for payout dates)."""
    from .notify.calendar import CalendarSpec

    c = cfg.calendar
    return CalendarSpec(country=c.country, subdivision=c.subdivision or None,
                        financial=c.financial or None, extra_holidays=c.extra_holidays,
                        extra_workdays=c.extra_workdays)  # fmt: skip


def from_dict(data: dict[str, Any], source: str = "") -> Config:
    """Build a Config from parsed TOML; every problem is collected before raising."""
    errors: list[FieldError] = []
    sections: dict[str, Any] = {}
    for name in data:
        if name not in PARSERS:
            errors.append(FieldError(f"[{name}]", f"unknown section (known: {', '.join(PARSERS)})"))
    for section, parsers in PARSERS.items():
        given = data.get(section, {})
        if not isinstance(given, dict):
            errors.append(FieldError(f"[{section}]", "must be a table"))
            continue
        values: dict[str, Any] = {}
        rest: dict[str, Any] = {}
        for key, raw in given.items():
            if key not in parsers:
                rest[key] = raw
                continue
            parse = parsers[key]
            if section == "terminal" and key == "port":
                parse = _port_check(given.get("protocol", "zvt"))
            try:
                values[key] = parse(raw)
            except ValueError as exc:
                errors.append(FieldError(f"[{section}] {key}", str(exc)))
        if section == "terminal" and "protocol" in given and "protocol" not in values:
            rest = {}  # fields of a protocol we do not know: its error says it all
        elif section == "terminal":
            values["options"] = _terminal(values.get("protocol", "zvt"), rest, errors)
            rest = {}
        errors.extend(FieldError(f"[{section}] {key}", "unknown setting") for key in rest)
        sections[section] = _SECTION_CLASSES[section](**values)
    if errors:
        raise ConfigError(errors, source)
    cfg = Config(**sections)
    errors = _cross_checks(cfg)
    if errors:
        raise ConfigError(errors, source)
    return cfg


def _port_check(protocol: Any) -> Callable[[Any], str]:
    """The port check of `protocol` (its own, if it reaches terminals otherwise too)."""
    from .terminal.registry import names

    if isinstance(protocol, str) and protocol in names():
        return protocol_of(protocol).check_port or port_url
    return port_url


def _terminal(
    protocol: str, given: dict[str, Any], errors: list[FieldError]
) -> tuple[tuple[str, Any], ...]:
    """The protocol's own `[terminal]` fields, checked by its registry entry; only the
    values that differ from its defaults are kept (see TerminalConfig)."""
    described = protocol_of(protocol)
    options = []
    for key, raw in given.items():
        setting = described.setting(key)
        if setting is None:
            errors.append(FieldError(f"[terminal] {key}", f"unknown setting for {protocol}"))
            continue
        try:
            value = setting.parse(raw)
        except ValueError as exc:
            errors.append(FieldError(f"[terminal] {key}", str(exc)))
            continue
        if value != setting.default:
            options.append((key, value))
    order = [s.name for s in described.settings]
    return tuple(sorted(options, key=lambda kv: order.index(kv[0])))


def _writable_file(path: Path) -> str | None:
    """Why the guard could not create or write `path` (missing folders it makes itself)."""
    try:
        if path.exists() or path.is_symlink():
            if not path.is_file():
                return f"{path} exists and is not a file"
            return None if os.access(path, os.R_OK | os.W_OK) else f"{path} is not writable"
        folder = path.parent
        while not folder.exists():
            folder = folder.parent
        if not folder.is_dir():
            return f"{folder} is not a folder"
        if not os.access(folder, os.W_OK | os.X_OK):
            return f"the folder {folder} is not writable"
    except OSError as exc:
        return f"cannot be checked: {exc.strerror}"
    return None


def environment_errors(cfg: Config) -> list[FieldError]:
    """What the file alone cannot tell but `run` needs: a database file it can write.
    `run`, `config check` and the page all refuse on these, naming the field."""
    problem = _writable_file(Path(cfg.store.path))
    return [FieldError("[store] path", problem)] if problem else []


def load(path: str | Path) -> Config:
    path = Path(path)
    remove_interrupted_saves(path)  # first: they hold secrets even if this file is broken
    try:
        with path.open("rb") as f:
            data = tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError([FieldError("file", "not found")], str(path)) from None
    except PermissionError:
        raise ConfigError(
            [FieldError("file", "not readable (permission denied)")], str(path)
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([FieldError("file", f"not valid TOML: {exc}")], str(path)) from None
    return from_dict(data, str(path))


def load_or_report(path: str | Path) -> Config | None:
    """For a command: the config, usable on this machine, or None after one stderr line
    per problem (`settle-guard: PATH: [section] field: what is wrong`)."""
    try:
        cfg = load(path)
        errors = environment_errors(cfg)
        if errors:
            raise ConfigError(errors, str(path))
        return cfg
    except ConfigError as exc:
        for error in exc.errors:
            print(f"settle-guard: {path}: {error}", file=sys.stderr)
        return None


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, time):
        return json.dumps(value.strftime("%H:%M"))
    if isinstance(value, date):
        return json.dumps(value.isoformat())
    if isinstance(value, tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if dataclasses.is_dataclass(value):  # a target: an inline table
        pairs = (f"{f.name} = {_toml_value(getattr(value, f.name))}"
                 for f in dataclasses.fields(value))  # fmt: skip
        return "{" + ", ".join(pairs) + "}"
    return json.dumps(value, ensure_ascii=False)  # a JSON string is a valid TOML basic string


def mask_url(url: str) -> str:
    """Enough of a push URL to recognise it (its scheme), none of its token."""
    scheme, _, _ = url.partition("://")
    return f"{scheme}://******"


def _masked(target: Target) -> str:
    return _toml_value(dataclasses.replace(target, url=mask_url(target.url)))


def section_fields(cfg: Config, section: str) -> list[tuple[str, Any, bool]]:
    """(name, value, secret) of each field of `section` as the file spells it: the
    terminal's `options` become the protocol's own fields, flat beside port and protocol."""
    part = getattr(cfg, section)
    out = []
    for f in dataclasses.fields(part):
        if section == "terminal" and f.name == "options":
            described = protocol_of(part.protocol)
            out.extend((s.name, value, s.secret) for s, value in
                       zip(described.settings, part.settings().values(), strict=True))  # fmt: skip
        else:
            out.append((f.name, getattr(part, f.name), bool(f.metadata.get("secret"))))
    return out


def dumps(cfg: Config, *, mask_secrets: bool = False) -> str:
    lines = ["# SettleGuard configuration (written by settle-guard; edit with care)"]
    for section in PARSERS:
        lines.append(f"\n[{section}]")
        for name, value, secret in section_fields(cfg, section):
            if value is None:
                continue
            if mask_secrets and secret and isinstance(value, tuple):
                lines.append(f"{name} = [{', '.join(_masked(v) for v in value)}]")
            elif mask_secrets and secret:
                lines.append(f'{name} = "******"')
            else:
                lines.append(f"{name} = {_toml_value(value)}")
    return "\n".join(lines) + "\n"


def _temp_names(path: Path) -> re.Pattern[str]:
    """The names save() gives its temp files: mkstemp's 8 characters after our prefix."""
    return re.compile(re.escape(f".{path.name}.") + r"[a-z0-9_]{8}")


def save(cfg: Config, path: str | Path) -> None:
    """Atomic: a reader (or a power cut) sees the old file or the new one, never half."""
    path = Path(path)
    text = dumps(cfg)
    from_dict(tomllib.loads(text), str(path))  # never write what we could not read back
    path.parent.mkdir(parents=True, exist_ok=True)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        # Held until the rename: remove_interrupted_saves must not take our temp file.
        fcntl.flock(dir_fd, fcntl.LOCK_EX)
        # mkstemp creates the file 0600 (O_EXCL, whatever the umask): private before the
        # first byte of the password is written.
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        os.fsync(dir_fd)  # make the rename itself durable
    finally:
        os.close(dir_fd)


def remove_interrupted_saves(path: str | Path) -> int:
    """Delete the temp files of saves that were killed before their rename (each a full
    copy of the config with its secrets), next to `path` and named as save() names them.
    Skipped while a save runs (its temp file is not left over); never raises."""
    path = Path(path)
    ours = _temp_names(path)
    removed = 0
    try:
        dir_fd = os.open(path.parent, os.O_RDONLY)
    except OSError:
        return 0  # no directory, no leftovers; load() reports a missing file
    try:
        fcntl.flock(dir_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        for name in os.listdir(dir_fd):
            if ours.fullmatch(name):
                try:
                    os.unlink(name, dir_fd=dir_fd)
                    removed += 1
                except FileNotFoundError:
                    pass
                except OSError as exc:
                    log.warning("cannot remove %s: %s", path.parent / name, exc.strerror)
    except BlockingIOError:
        pass  # a save holds the lock: its temp file is in use
    except OSError as exc:
        log.warning("cannot look for interrupted saves in %s: %s", path.parent, exc.strerror)
    finally:
        os.close(dir_fd)
    if removed:
        log.info("removed %d temp file(s) left by interrupted saves of %s", removed, path)
    return removed


def replace(cfg: Config, section: str, **changes: Any) -> Config:
    """A copy with some fields of one section changed, validated like a loaded file."""
    data = tomllib.loads(dumps(cfg))
    if (
        section == "terminal"
        and changes.get("protocol", cfg.terminal.protocol) != cfg.terminal.protocol
    ):
        keep_only_fields_of(data["terminal"], str(changes["protocol"]))
    data.setdefault(section, {}).update(changes)
    return from_dict(data)


def keep_only_fields_of(terminal: dict[str, Any], protocol: str) -> None:
    """Switching protocols: drop the old one's own fields the new one does not have
    (a ZVT password means nothing to another protocol). Unknown protocols keep all:
    from_dict then names the protocol as the problem."""
    from .terminal.registry import names

    if protocol not in names():
        return
    known = set(PARSERS["terminal"]) | set(protocol_of(protocol).defaults)
    for key in [k for k in terminal if k not in known]:
        del terminal[key]
