"""POSLink code tables: response codes in English and zh-CN with a neutral classification,
and the EDC, card and transaction type codes the requests and records carry."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum, StrEnum
from types import MappingProxyType


class Outcome(Enum):
    """What a response code means for the caller, independent of the terminal's wording."""

    OK = "ok"
    DECLINED = "declined"
    OUT_OF_BALANCE = "out-of-balance"
    DB_FULL = "db-full"
    UNSUPPORTED = "unsupported"
    COMM_ERROR = "comm-error"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class CodeText:
    en: str
    zh: str
    outcome: Outcome

    def text(self, lang: str) -> str:
        return self.zh if lang.lower().startswith("zh") else self.en


_O = Outcome
RESPONSE_CODES: Mapping[str, CodeText] = MappingProxyType({
    code: CodeText(en, zh, outcome)
    for code, (en, zh, outcome) in {
        "000000": ("OK", "成功", _O.OK),
        "000001": ("approved offline (stored for upload)", "离线批准（待上送）", _O.OK),
        "000002": ("partially approved", "部分批准", _O.OK),
        "000100": ("declined by host", "主机拒绝", _O.DECLINED),
        "000300": ("batch closed out of balance", "批次已结算但不平衡", _O.OUT_OF_BALANCE),
        "100001": ("timeout", "超时", _O.COMM_ERROR),
        "100002": ("aborted", "已中止", _O.OTHER),
        "100003": ("format or parameter error", "格式或参数错误", _O.OTHER),
        "100004": ("unsupported transaction or command", "不支持该交易或命令", _O.UNSUPPORTED),
        "100005": ("unsupported EDC type", "不支持该 EDC 类型", _O.UNSUPPORTED),
        "100006": ("batch failed", "批次结算失败", _O.OTHER),
        "100007": ("connect error", "连接错误", _O.COMM_ERROR),
        "100008": ("send error", "发送错误", _O.COMM_ERROR),
        "100009": ("receive error", "接收错误", _O.COMM_ERROR),
        "100010": ("communication error", "通讯错误", _O.COMM_ERROR),
        # One SDK counts a duplicate as accepted; a guard should look, not assume.
        "100011": ("duplicate transaction", "重复交易", _O.OTHER),
        "100012": ("get variable error", "读取参数错误", _O.OTHER),
        "100013": ("set variable error", "设置参数错误", _O.OTHER),
        "100023": ("not found, unknown or cannot void", "未找到、未知或无法撤销", _O.OTHER),
        "100024": ("no host application", "无主机应用", _O.OTHER),
        "100025": ("please settle: database full", "请结算：数据库已满", _O.DB_FULL),
        "100027": ("unsupported command", "不支持该命令", _O.UNSUPPORTED),
        "199999": ("terminal error", "终端错误", _O.OTHER),
    }.items()
})  # fmt: skip


def describe(code: str, lang: str = "en") -> str:
    known = RESPONSE_CODES.get(code)
    if known is None:
        return f"response code {code}" if lang == "en" else f"响应码 {code}"
    return known.text(lang)


def classify(code: str) -> Outcome:
    known = RESPONSE_CODES.get(code)
    return known.outcome if known else Outcome.OTHER


class Edc(StrEnum):
    """EDC type, two digits on the wire; the order is also the order of the totals groups."""

    ALL = "00"
    CREDIT = "01"
    DEBIT = "02"
    EBT = "03"
    GIFT = "04"
    LOYALTY = "05"
    CASH = "06"
    CHECK = "07"


# Groups of R01 TotalData and of B01's per-EDC counts and amounts, in wire order.
EDC_GROUPS: tuple[str, ...] = ("credit", "debit", "ebt", "gift", "loyalty", "cash", "check")

CARD_TYPES: Mapping[str, str] = MappingProxyType({
    "01": "Visa", "02": "MasterCard", "03": "Amex", "04": "Discover", "05": "Diners",
    "06": "enRoute", "07": "JCB", "08": "Revolution", "09": "Visa Fleet",
    "10": "MasterCard Fleet", "11": "Fleet One", "12": "Fleetwide", "13": "Fuelman",
    "14": "Gascard", "15": "Voyager", "16": "WEX", "99": "other",
})  # fmt: skip

TRANS_TYPES: Mapping[str, str] = MappingProxyType({
    "00": "menu", "01": "sale", "02": "return", "03": "auth", "04": "postauth",
    "05": "forced", "06": "adjust", "07": "withdrawal", "08": "activate", "09": "issue",
    "10": "add", "11": "cashout", "12": "deactivate", "13": "replace", "14": "merge",
    "15": "report lost", "16": "void", "17": "void sale", "18": "void return",
    "19": "void auth", "20": "void post", "21": "void forced", "22": "void withdraw",
    "23": "balance", "24": "verify", "25": "reactivate", "26": "forced issue",
    "27": "forced add", "28": "unload", "29": "renew", "30": "get convert detail",
    "31": "convert", "32": "tokenize", "99": "reversal",
})  # fmt: skip

# R01 TotalData: the (count, amount) pairs of each EDC group, in wire order. EBT grew to
# 10 values and check vanished in newer apps, so extra or missing values are tolerated.
TOTALS_LAYOUT: Mapping[str, tuple[str, ...]] = MappingProxyType({
    "credit": ("sale", "forced", "return", "auth", "postauth"),
    "debit": ("sale", "return"),
    "ebt": ("sale", "return", "withdrawal"),
    "gift": ("sale", "auth", "postauth", "activate", "issue", "add", "return", "forced",
             "cashout", "deactivate", "adjust"),
    "loyalty": ("redeem", "issue", "add", "return", "forced", "activate", "deactivate"),
    "cash": ("sale", "return"),
    "check": ("sale", "adjust"),
})  # fmt: skip

# Trans numbers of local records (R02/R03): which store a record lives in.
NORMAL_RECORDS = range(1, 5001)
SAF_STORED = range(5001, 9001)
SAF_FAILED = range(9001, 10000)
