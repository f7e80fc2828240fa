"""POSLink requests (ECR -> terminal) and responses (terminal -> ECR) as immutable typed
classes, each able to encode itself to a frame body and to be decoded from one.

Request body:  cmd FS version [FS field ...] [FS]
Response body: status FS rspCmd FS version FS respCode(6) FS respMsg [FS field ...]

`decode_request` is the terminal's view (strict: a bad number is a `FieldError` the
terminal answers with 100003); `decode_response` is the ECR's (tolerant: odd values
become None and are listed in `problems`). Unknown commands decode to
`OtherRequest` / `OtherResponse` with their fields kept as text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from .codes import EDC_GROUPS, TOTALS_LAYOUT, Outcome, classify, describe
from .errors import FieldError
from .fields import (
    AMOUNT,
    COUNT,
    TEXT,
    Decoding,
    Group,
    Items,
    Record,
    check_text,
    format_timestamp,
    key_values,
    parse_timestamp,
    wire,
)
from .framing import FS_CHAR, US_CHAR

DEFAULT_VERSION = "1.28"
_COMMAND = re.compile(r"[A-Z][0-9]{2}")
_CODE = re.compile(r"[0-9]{6}")

LINES = Items(US_CHAR, TEXT)
PER_EDC_COUNTS = Items("=", COUNT)
PER_EDC_AMOUNTS = Items("=", AMOUNT)
TOTALS = Items("&", Items("=", AMOUNT))  # counts and amounts alternate; both are digits


def _check_command(command: str, where: str) -> str:
    if not _COMMAND.fullmatch(command):
        raise FieldError(f"{where}: {command[:10]!r} is not a command (letter and two digits)")
    return command


def response_command(command: str) -> str:
    """rspCmd = request + 1: A00 -> A01, B00 -> B01."""
    return f"{command[0]}{int(command[1:]) + 1:02d}"


def _text(data: bytes) -> str:
    return data.decode("latin-1")  # every byte is a character: decoding never fails


def _per_edc(values: tuple[int | None, ...]) -> dict[str, int | None]:
    return dict(zip(EDC_GROUPS, values, strict=False))


# -- groups (US-separated items inside one field)


@dataclass(frozen=True, slots=True, kw_only=True)
class HostInfo(Record):
    resp_code: str = wire(TEXT)
    resp_message: str = wire(TEXT)
    auth_code: str = wire(TEXT)
    host_reference: str = wire(TEXT)
    trace_number: str = wire(TEXT)
    batch_number: str = wire(TEXT)


@dataclass(frozen=True, slots=True, kw_only=True)
class AmountInfo(Record):
    approved: int | None = wire(AMOUNT)
    due: int | None = wire(AMOUNT)
    tip: int | None = wire(AMOUNT)
    cashback: int | None = wire(AMOUNT)
    merchant_fee: int | None = wire(AMOUNT)
    tax: int | None = wire(AMOUNT)
    balance1: int | None = wire(AMOUNT)
    balance2: int | None = wire(AMOUNT)


@dataclass(frozen=True, slots=True, kw_only=True)
class AccountInfo(Record):
    account: str = wire(TEXT)
    entry_mode: str = wire(TEXT)
    expiry: str = wire(TEXT)
    ebt_type: str = wire(TEXT)
    voucher: str = wire(TEXT)
    new_account: str = wire(TEXT)
    card_type: str = wire(TEXT)
    holder: str = wire(TEXT)
    cvd_code: str = wire(TEXT)
    cvd_message: str = wire(TEXT)
    card_present: str = wire(TEXT)  # "0" means present


@dataclass(frozen=True, slots=True, kw_only=True)
class TraceInfo(Record):
    trans_number: str = wire(TEXT)
    ecr_reference: str = wire(TEXT)
    timestamp: str = wire(TEXT)
    invoice: str = wire(TEXT)

    @property
    def when(self) -> datetime | None:
        return parse_timestamp(self.timestamp)


HOST_GROUP = Group(HostInfo)
AMOUNT_GROUP = Group(AmountInfo)
ACCOUNT_GROUP = Group(AccountInfo)
TRACE_GROUP = Group(TraceInfo)


# -- requests


@dataclass(frozen=True, slots=True, kw_only=True)
class Request(Record):
    COMMAND: ClassVar[str] = ""

    version: str = DEFAULT_VERSION
    trailing_fs: bool = False  # GP SDKs end with FS even without fields; others do not

    @property
    def command(self) -> str:
        return self.COMMAND

    @property
    def response_command(self) -> str:
        return response_command(self.command)

    def encode(self) -> bytes:
        """The frame body: cmd FS version [FS fields] [FS]."""
        parts = [
            _check_command(self.command, "command"),
            check_text(self.version, "version"),
            *self.to_parts(),
        ]
        body = FS_CHAR.join(parts) + (FS_CHAR if self.trailing_fs else "")
        return body.encode("latin-1")


@dataclass(frozen=True, slots=True, kw_only=True)
class Initialize(Request):
    COMMAND = "A00"


@dataclass(frozen=True, slots=True, kw_only=True)
class Reset(Request):
    """Back to the idle screen."""

    COMMAND = "A16"


@dataclass(frozen=True, slots=True, kw_only=True)
class Reboot(Request):
    COMMAND = "A26"


@dataclass(frozen=True, slots=True, kw_only=True)
class LocalTotal(Request):
    COMMAND = "R00"
    edc_type: str = wire(TEXT, "00")
    card_type: str = wire(TEXT)


@dataclass(frozen=True, slots=True, kw_only=True)
class LocalDetail(Request):
    """One stored record per call; record 0 is the first."""

    COMMAND = "R02"
    edc_type: str = wire(TEXT, "00")
    trans_type: str = wire(TEXT)
    card_type: str = wire(TEXT)
    record_number: int | None = wire(COUNT)
    trans_number: str = wire(TEXT)
    auth_code: str = wire(TEXT)
    ecr_reference: str = wire(TEXT)
    ext_data: tuple[str, ...] = wire(LINES)


@dataclass(frozen=True, slots=True, kw_only=True)
class SafSummary(Request):
    COMMAND = "R10"
    indicator: str = wire(TEXT, "2")  # 0 new, 1 failed, 2 all


@dataclass(frozen=True, slots=True, kw_only=True)
class _Timestamped(Request):
    timestamp: str = wire(TEXT)  # YYYYMMDDhhmmss or empty; kept raw, see `when`

    @classmethod
    def at(cls, when: datetime, **kwargs: Any) -> Any:
        return cls(timestamp=format_timestamp(when), **kwargs)

    @property
    def when(self) -> datetime | None:
        return parse_timestamp(self.timestamp)


@dataclass(frozen=True, slots=True, kw_only=True)
class BatchClose(_Timestamped):
    COMMAND = "B00"


@dataclass(frozen=True, slots=True, kw_only=True)
class ForceClose(_Timestamped):
    COMMAND = "B02"


@dataclass(frozen=True, slots=True, kw_only=True)
class SafUpload(Request):
    COMMAND = "B08"
    indicator: str = wire(TEXT, "2")


@dataclass(frozen=True, slots=True, kw_only=True)
class OtherRequest(Request):
    """A command this core has no class for; its fields stay text in `rest`."""

    other_command: str = "A14"

    @property
    def command(self) -> str:
        return self.other_command


# -- responses


@dataclass(frozen=True, slots=True, kw_only=True)
class Response(Record):
    COMMAND: ClassVar[str] = ""

    code: str = "000000"
    message: str = "OK"
    version: str = DEFAULT_VERSION
    status: str = "0"  # "0": single packet
    problems: tuple[str, ...] = field(default=(), compare=False)  # tolerated odd values

    @property
    def command(self) -> str:
        return self.COMMAND

    @property
    def outcome(self) -> Outcome:
        return classify(self.code)

    @property
    def ok(self) -> bool:
        return self.outcome is Outcome.OK

    def describe(self, lang: str = "en") -> str:
        return describe(self.code, lang)

    def encode(self) -> bytes:
        if not _CODE.fullmatch(self.code):
            raise FieldError(f"respCode: {self.code[:10]!r} is not six digits")
        parts = [
            check_text(self.status, "status"),
            _check_command(self.command, "rspCmd"),
            check_text(self.version, "version"),
            self.code,
            check_text(self.message, "respMsg"),
            *self.to_parts(),
        ]
        return FS_CHAR.join(parts).encode("latin-1")


@dataclass(frozen=True, slots=True, kw_only=True)
class InitializeResponse(Response):
    COMMAND = "A01"
    serial_number: str = wire(TEXT)
    model: str = wire(TEXT)
    os_version: str = wire(TEXT)  # newer firmware continues with MAC, app name...: see rest


@dataclass(frozen=True, slots=True, kw_only=True)
class ResetResponse(Response):
    COMMAND = "A17"


@dataclass(frozen=True, slots=True, kw_only=True)
class RebootResponse(Response):
    COMMAND = "A27"


@dataclass(frozen=True, slots=True, kw_only=True)
class LocalTotalResponse(Response):
    """Local totals: per EDC group ("&"), count and amount of each kind alternating ("=")."""

    COMMAND = "R01"
    edc_type: str = wire(TEXT)
    totals: tuple[tuple[int | None, ...], ...] = wire(TOTALS)

    def group(self, edc: str) -> dict[str, tuple[int | None, int | None]]:
        """{kind: (count, amount)} of one EDC group ("credit", "debit", ...) by the known
        layout; values beyond it are left out, missing ones are absent."""
        index = EDC_GROUPS.index(edc)
        values = self.totals[index] if index < len(self.totals) else ()
        kinds = TOTALS_LAYOUT[edc]
        return {
            kind: (values[2 * i], values[2 * i + 1])
            for i, kind in enumerate(kinds)
            if 2 * i + 1 < len(values)
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class LocalDetailResponse(Response):
    COMMAND = "R03"
    total_records: int | None = wire(COUNT)
    record_number: int | None = wire(COUNT)
    host: HostInfo = wire(HOST_GROUP)  # noqa: RUF009 (a field with a factory)
    edc_type: str = wire(TEXT)
    trans_type: str = wire(TEXT)
    orig_trans_type: str = wire(TEXT)
    amount: AmountInfo = wire(AMOUNT_GROUP)  # noqa: RUF009 (a field with a factory)
    account: AccountInfo = wire(ACCOUNT_GROUP)  # noqa: RUF009 (a field with a factory)
    trace: TraceInfo = wire(TRACE_GROUP)  # noqa: RUF009 (a field with a factory)
    cashier: tuple[str, ...] = wire(LINES)
    commercial: tuple[str, ...] = wire(LINES)
    check: tuple[str, ...] = wire(LINES)
    ext_data: tuple[str, ...] = wire(LINES)

    @property
    def ext(self) -> dict[str, str]:
        return key_values(self.ext_data)


@dataclass(frozen=True, slots=True, kw_only=True)
class SafSummaryResponse(Response):
    """Counts and amounts per card type (Visa, MC, Amex, ...); "=" inside is unverified."""

    COMMAND = "R11"
    counts: tuple[int | None, ...] = wire(PER_EDC_COUNTS)
    amounts: tuple[int | None, ...] = wire(PER_EDC_AMOUNTS)


@dataclass(frozen=True, slots=True, kw_only=True)
class _Closed(Response):
    @property
    def when(self) -> datetime | None:
        return parse_timestamp(getattr(self, "timestamp", ""))

    @property
    def batch_number(self) -> str:
        host = getattr(self, "host", None)
        return host.batch_number if isinstance(host, HostInfo) else ""


@dataclass(frozen=True, slots=True, kw_only=True)
class BatchCloseResponse(_Closed):
    """Counts and amounts per EDC group, credit=debit=ebt=gift=loyalty=cash=check."""

    COMMAND = "B01"
    host: HostInfo = wire(HOST_GROUP)  # noqa: RUF009 (a field with a factory)
    total_count: tuple[int | None, ...] = wire(PER_EDC_COUNTS)
    total_amount: tuple[int | None, ...] = wire(PER_EDC_AMOUNTS)
    timestamp: str = wire(TEXT)
    tid: str = wire(TEXT)
    mid: str = wire(TEXT)

    @property
    def counts(self) -> dict[str, int | None]:
        return _per_edc(self.total_count)

    @property
    def amounts(self) -> dict[str, int | None]:
        return _per_edc(self.total_amount)


@dataclass(frozen=True, slots=True, kw_only=True)
class ForceCloseResponse(_Closed):
    COMMAND = "B03"
    host: HostInfo = wire(HOST_GROUP)  # noqa: RUF009 (a field with a factory)
    line_count: int | None = wire(COUNT)
    lines: tuple[str, ...] = wire(LINES)  # receipt lines
    timestamp: str = wire(TEXT)
    tid: str = wire(TEXT)
    mid: str = wire(TEXT)


@dataclass(frozen=True, slots=True, kw_only=True)
class SafUploadResponse(_Closed):
    COMMAND = "B09"
    saf_total_count: int | None = wire(COUNT)
    saf_total_amount: int | None = wire(AMOUNT)
    timestamp: str = wire(TEXT)
    uploaded_count: int | None = wire(COUNT)
    uploaded_amount: int | None = wire(AMOUNT)
    failed_count: int | None = wire(COUNT)
    failed_total: int | None = wire(AMOUNT)
    tor: str = wire(TEXT)


@dataclass(frozen=True, slots=True, kw_only=True)
class OtherResponse(Response):
    """A response this core has no class for; its data fields stay text in `rest`."""

    other_command: str = "A15"

    @property
    def command(self) -> str:
        return self.other_command


REQUESTS: dict[str, type[Request]] = {
    cls.COMMAND: cls
    for cls in (Initialize, Reset, Reboot, LocalTotal, LocalDetail, SafSummary,
                BatchClose, ForceClose, SafUpload)
}  # fmt: skip
RESPONSES: dict[str, type[Response]] = {
    cls.COMMAND: cls
    for cls in (InitializeResponse, ResetResponse, RebootResponse, LocalTotalResponse,
                LocalDetailResponse, SafSummaryResponse, BatchCloseResponse,
                ForceCloseResponse, SafUploadResponse)
}  # fmt: skip


def decode_request(body: bytes) -> Request:
    """A request as the terminal reads it. Accepts FS after the version or not and
    trailing empty fields; raises `FieldError` for anything it cannot take."""
    parts = _text(body).split(FS_CHAR)
    command = _check_command(parts[0], "command")
    version = parts[1] if len(parts) > 1 else ""
    trailing_fs = len(parts) > 2 and parts[-1] == ""
    ctx = Decoding(strict=True)
    cls = REQUESTS.get(command)
    if cls is None:
        return OtherRequest.from_parts(
            parts[2:], ctx, other_command=command, version=version, trailing_fs=trailing_fs
        )
    return cls.from_parts(parts[2:], ctx, version=version, trailing_fs=trailing_fs)


def decode_response(body: bytes) -> Response:
    """A response as the ECR reads it. Odd data values are tolerated (see `problems`);
    only a body without a command and a six-digit code raises `FieldError`."""
    parts = _text(body).split(FS_CHAR)
    if len(parts) < 4:
        raise FieldError(f"response has {len(parts)} fields, needs status, rspCmd, version, code")
    status, command, version, code = parts[:4]
    _check_command(command, "rspCmd")
    if not _CODE.fullmatch(code):
        raise FieldError(f"respCode {code[:10]!r} is not six digits")
    message = parts[4] if len(parts) > 4 else ""
    ctx = Decoding(strict=False)
    base: dict[str, Any] = {"status": status, "version": version, "code": code, "message": message}
    cls = RESPONSES.get(command)
    if cls is None:
        response: Response = OtherResponse.from_parts(parts[5:], ctx, other_command=command, **base)
    else:
        response = cls.from_parts(parts[5:], ctx, **base)
    if ctx.problems:
        return _with_problems(response, tuple(ctx.problems))
    return response


def _with_problems(response: Response, problems: tuple[str, ...]) -> Response:
    object.__setattr__(response, "problems", problems)  # frozen; set once, right after decoding
    return response


def is_response(body: bytes) -> bool:
    """Responses open with a status field, requests with a three-character command."""
    head = body.split(b"\x1c", 1)[0]
    return not _COMMAND.fullmatch(_text(head))
