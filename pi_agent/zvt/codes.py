"""ZVT code tables (result codes, terminal status, intermediate status) in English and zh-CN."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType


@dataclass(frozen=True, slots=True)
class CodeText:
    en: str
    zh: str

    def text(self, lang: str) -> str:
        return self.zh if lang.lower().startswith("zh") else self.en


def _table(rows: dict[int, tuple[str, str]]) -> Mapping[int, CodeText]:
    return MappingProxyType({code: CodeText(en, zh) for code, (en, zh) in rows.items()})


RESULT_CODES = _table({
    0x00: ("no error", "成功"),
    0x64: ("card not readable", "卡片无法读取"),
    0x65: ("card data not present", "无卡片数据"),
    0x66: ("processing error", "处理错误"),
    0x67: ("function not permitted for this card", "此卡不支持该功能"),
    0x68: ("credit card not allowed", "不接受信用卡"),
    0x69: ("unknown card", "未知卡片"),
    0x6A: ("turnover file full", "交易记录已满"),
    0x6B: ("function deactivated (terminal not registered)", "功能已停用（终端未注册）"),
    0x6C: ("aborted by timeout or abort key", "超时或按取消键中止"),
    0x6E: ("card in blocked list", "卡片在黑名单中"),
    0x6F: ("wrong currency", "币种错误"),
    0x71: ("credit not sufficient", "余额不足"),
    0x72: ("chip error", "芯片错误"),
    0x73: ("card data incorrect", "卡片数据错误"),
    0x77: ("end-of-day batch not possible", "无法结算批次"),
    0x78: ("card expired", "卡片已过期"),
    0x79: ("card not yet valid", "卡片尚未生效"),
    0x7A: ("card unknown", "卡片未知"),
    0x7D: ("communication error", "通讯错误"),
    0x83: ("function not possible", "无法执行该功能"),
    0x85: ("key missing", "缺少密钥"),
    0x89: ("PIN pad defective", "密码键盘故障"),
    0x9A: ("ZVT protocol error", "ZVT 协议错误"),
    0x9B: ("error from dial-up or communication fault", "拨号或通讯故障"),
    0x9C: ("please wait", "请稍候"),
    0xA0: ("receiver not ready", "接收方未就绪"),
    0xA1: ("remote station does not respond", "远端无响应"),
    0xA3: ("no connection", "无连接"),
    0xA4: ("submission of Geldkarte not possible", "无法提交 Geldkarte 交易"),
    0xB1: ("memory full", "存储已满"),
    0xB2: ("merchant journal full", "商户流水已满"),
    0xB4: ("already reversed", "已撤销"),
    0xB5: ("reversal not possible", "无法撤销"),
    0xB7: ("pre-authorisation incorrect", "预授权有误"),
    0xBF: ("voltage supply too low", "供电电压过低"),
    0xC0: ("card locking mechanism defective", "锁卡装置故障"),
    0xC1: ("merchant card locked", "商户卡已锁定"),
    0xC2: ("diagnosis required", "需要诊断"),
    0xC3: ("maximum amount exceeded", "超过最大金额"),
    0xC4: ("card profile invalid", "卡片配置无效"),
    0xC5: ("payment method not supported", "不支持该支付方式"),
    0xC6: ("currency not applicable", "币种不适用"),
    0xC8: ("amount too small", "金额过小"),
    0xC9: ("maximum transaction amount too small", "最大交易金额过小"),
    0xCB: ("function only allowed in EURO", "该功能仅限欧元"),
    0xCC: ("printer not ready", "打印机未就绪"),
    0xD2: ("connection set-up cancelled", "已取消建立连接"),
    0xDC: ("card inserted", "已插卡"),
    0xDD: ("error during card eject", "退卡出错"),
    0xDE: ("error during card insertion", "插卡出错"),
    0xE0: ("remote maintenance activated", "远程维护进行中"),
    0xE2: ("card reader does not answer", "读卡器无响应"),
    0xE3: ("shutter closed", "读卡口已关闭"),
    0xE4: ("terminal activation required", "需要激活终端"),
    0xE7: ("minimum one goods group not found", "未找到商品组"),
    0xE8: ("no goods-groups table loaded", "未加载商品组表"),
    0xE9: ("restriction code not permitted", "限制代码不允许"),
    0xEA: ("card code not permitted", "卡代码不允许"),
    0xEB: ("function not executable (PIN algorithm unknown)", "无法执行（密码算法未知）"),
    0xEC: ("PIN processing not possible", "无法处理密码"),
    0xED: ("PIN pad defective", "密码键盘故障"),
    0xF0: ("open end-of-day batch present", "存在未结算批次"),
    0xF1: ("ec-cash/Maestro offline error", "借记卡离线错误"),
    0xF5: ("OPT error", "OPT 错误"),
    0xF6: ("OPT data not available", "OPT 数据不可用"),
    0xFA: ("error transmitting offline transactions (clearing)", "上送离线交易出错（清算）"),
    0xFB: ("turnover data set defective", "交易数据损坏"),
    0xFC: ("necessary device not present or defective", "所需设备缺失或故障"),
    0xFD: ("baud rate not supported", "不支持该波特率"),
    0xFE: ("register unknown", "未知寄存器"),
    0xFF: ("system error", "系统错误"),
})  # fmt: skip

TERMINAL_STATUS = _table({
    0x00: ("ready", "就绪"),
    0x51: ("initialisation required", "需要签到（初始化）"),
    0x62: ("date/time incorrect", "日期时间不正确"),
    0x9C: ("please wait", "请稍候"),
    0xB1: ("memory full", "存储已满，请结算"),
    0xB2: ("merchant journal full", "商户流水已满"),
    0xBF: ("supply voltage too low", "供电电压过低"),
    0xC0: ("card lock defective", "锁卡装置故障"),
    0xC1: ("merchant card locked", "商户卡已锁定"),
    0xC2: ("diagnosis required", "需要诊断"),
    0xC4: ("card profile invalid", "卡片配置无效"),
    0xCC: ("printer not ready", "打印机未就绪"),
    0xDC: ("card inserted", "已插卡"),
    0xDF: ("out of order", "终端故障，暂停服务"),
    0xE0: ("remote maintenance active", "远程维护进行中"),
    0xE1: ("card not completely removed", "卡片未完全取出"),
    0xE2: ("card reader defective", "读卡器故障"),
    0xE3: ("shutter closed", "读卡口已关闭"),
    0xE4: ("terminal activation required", "需要激活终端"),
    0xF0: ("reconciliation (end-of-day) required", "需要结算"),
    0xF6: ("OPT data not available", "OPT 数据不可用"),
})  # fmt: skip

INTERMEDIATE_STATUS = _table({
    0x00: ("waiting for amount confirmation", "等待确认金额"),
    0x01: ("please watch PIN pad", "请看密码键盘"),
    0x02: ("please watch PIN pad", "请看密码键盘"),
    0x03: ("not accepted", "不受理"),
    0x04: ("waiting for host response", "等待主机响应"),
    0x05: ("sending auto-reversal", "正在自动冲正"),
    0x06: ("sending post-bookings", "正在补发交易"),
    0x07: ("card not admitted", "不受理此卡"),
    0x08: ("card unknown / undefined", "未知卡片"),
    0x09: ("expired card", "卡片已过期"),
    0x0A: ("insert card", "请插卡"),
    0x0B: ("please remove card", "请取卡"),
    0x0C: ("card not readable", "卡片无法读取"),
    0x0D: ("processing error", "处理错误"),
    0x0E: ("please wait", "请稍候"),
    0x0F: ("terminal starts automatic end-of-day", "终端开始自动结算"),
    0x10: ("invalid card", "无效卡片"),
    0x11: ("balance display", "余额显示"),
    0x12: ("system malfunction", "系统故障"),
    0x13: ("payment not possible", "无法支付"),
    0x14: ("credit not sufficient", "余额不足"),
    0x15: ("incorrect PIN", "密码错误"),
    0x16: ("limit not sufficient", "额度不足"),
    0x17: ("please wait", "请稍候"),
    0x18: ("PIN try limit exceeded", "密码错误次数超限"),
    0x19: ("card data incorrect", "卡片数据错误"),
    0x1A: ("service mode", "维护模式"),
    0x1B: ("approved, please fill up", "已批准，请加油"),
    0x1C: ("approved, please take goods", "已批准，请取货"),
    0x1D: ("declined", "已拒绝"),
    0x26: ("PIN entry required", "请输入密码"),
    0xC9: ("automatic diagnosis", "自动诊断中"),
    0xCA: ("automatic initialisation", "自动签到中"),
    0xD2: ("dialling host", "正在连接主机"),
    0xD3: ("connected to host", "已连接主机"),
    0xFF: ("see text", "见提示文字"),
})  # fmt: skip


def _fallback(kind_en: str, kind_zh: str, code: int, lang: str) -> str:
    hexcode = f"0x{code:02X}" if 0 <= code <= 0xFF else str(code)
    if lang.lower().startswith("zh"):
        return f"未知{kind_zh} {hexcode}"
    return f"unknown {kind_en} {hexcode}"


def result_text(code: int, lang: str = "en") -> str:
    entry = RESULT_CODES.get(code)
    if entry is not None:
        return entry.text(lang)
    if 0x01 <= code <= 0x63:  # authorisation system codes, passed through from the host
        zh = lang.lower().startswith("zh")
        return f"主机拒绝（代码 0x{code:02X}）" if zh else f"declined by host (code 0x{code:02X})"
    return _fallback("result code", "结果码", code, lang)


def terminal_status_text(code: int, lang: str = "en") -> str:
    entry = TERMINAL_STATUS.get(code)
    return entry.text(lang) if entry else _fallback("terminal status", "终端状态", code, lang)


def intermediate_text(code: int, lang: str = "en") -> str:
    entry = INTERMEDIATE_STATUS.get(code)
    return entry.text(lang) if entry else _fallback("intermediate status", "中间状态", code, lang)
