"""Typed ZVT messages (both directions) and their APDU encodings.

Each message class knows its control field and turns itself into an `Apdu`
and back. `decode_message` picks the class by control field; the body of the
Status Enquiry Completion depends on the request (was the software version
asked for?), so `Completion` keeps its raw data and parses it on request.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar

from .apdu import Apdu
from .bcd import bcd_decode, bcd_encode, varlen_decode, varlen_encode
from .bmp import BmpFields, IndividualTotals, decode_bmps
from .errors import MessageError, ZvtError
from .tlv import TAG_PRINT_TEXTS, TAG_TEXT_LINE, TlvContainer

# Registration config byte bits (spec §3.2).
CFG_ECR_PRINTS_PAYMENT_RECEIPT = 0x02
CFG_ECR_PRINTS_ADMIN_RECEIPT = 0x04
CFG_SEND_INTERMEDIATE_STATUS = 0x08
CFG_ECR_CONTROLS_PAYMENT = 0x10
CFG_ECR_CONTROLS_ADMIN = 0x20
CFG_ECR_PRINT_TYPE = 0x80

# Status Enquiry service byte bits (spec §3.4).
SVC_NO_SOFTWARE_VERSION = 0x02
SVC_WANT_TLV = 0x04
SVC_RESEND_STATUS_INFO = 0x01  # Repeat Receipt: send the last Status-Information again
SVC_DO_NOT_PRINT = 0x02  # Repeat Receipt: print nothing

EUR = 978


def _pw(password: str) -> bytes:
    if len(password) != 6 or not (password.isascii() and password.isdigit()):
        raise MessageError("terminal password must be 6 digits")
    return bcd_encode(password, 3)


def _read_pw(data: bytes, what: str) -> str:
    if len(data) < 3:
        raise MessageError(f"{what}: password needs 3 bytes, got {len(data)}")
    try:
        return bcd_decode(data[:3])
    except ZvtError as exc:
        raise MessageError(f"{what}: {exc}") from None


def _datetime(yymmdd: str, hhmmss: str) -> datetime:
    """BMP AA + 0C; terminals count 2-digit years from 2000 (strptime's %y would give 1969)."""
    if len(yymmdd) != 6 or len(hhmmss) != 6:
        raise ValueError("date and time need 6 digits each")
    year, month, day = 2000 + int(yymmdd[:2]), int(yymmdd[2:4]), int(yymmdd[4:])
    return datetime(year, month, day, int(hhmmss[:2]), int(hhmmss[2:4]), int(hhmmss[4:]))


def _fields(data: bytes, start: int, what: str) -> BmpFields:
    """BMP fields from `start` on; a codec error becomes a MessageError naming the message."""
    try:
        return decode_bmps(data, start)
    except ZvtError as exc:
        raise MessageError(f"{what}: {exc}") from None


def _tlv_tail(fields: BmpFields, what: str, allowed: frozenset[int]) -> TlvContainer | None:
    extra = [t for t, _ in fields if t not in allowed]
    if extra:
        raise MessageError(f"{what}: unexpected BMP {extra[0]:02X}")
    return fields.get(0x06)


class Message:
    """Base of all typed messages."""

    control: ClassVar[tuple[int, int]]
    name: ClassVar[str]

    def data(self) -> bytes:
        return b""

    def to_apdu(self) -> Apdu:
        return Apdu(self.control[0], self.control[1], self.data())

    def encode(self) -> bytes:
        return self.to_apdu().encode()

    @classmethod
    def from_apdu(cls, apdu: Apdu) -> Message:
        if apdu.data:
            raise MessageError(f"{cls.name} carries no data, got {len(apdu.data)} bytes")
        return cls()


# ---------------------------------------------------------------- ECR -> PT commands


class Command(Message):
    """A command the ECR sends; `ends_with_ack` commands get no Completion (spec §2.3)."""

    ends_with_ack: ClassVar[bool] = False


@dataclass(frozen=True, slots=True)
class Registration(Command):
    control = (0x06, 0x00)
    name = "Registration"
    password: str = "000000"
    config: int = CFG_SEND_INTERMEDIATE_STATUS
    currency: int | None = EUR
    service_byte: int | None = None
    tlv: TlvContainer | None = None

    def data(self) -> bytes:
        out = _pw(self.password) + bytes((self.config,))
        if self.currency is None:
            if self.service_byte is not None or self.tlv is not None:
                raise MessageError("Registration: service byte or TLV needs a currency code")
            return out
        out += bcd_encode(self.currency, 2)
        if self.service_byte is not None:
            out += bytes((0x03, self.service_byte))
        if self.tlv is not None:
            out += BmpFields(((0x06, self.tlv),)).encode()
        return out

    @classmethod
    def from_apdu(cls, apdu: Apdu) -> Registration:
        d = apdu.data
        pw = _read_pw(d, cls.name)
        if len(d) < 4:
            raise MessageError("Registration: config byte missing")
        if len(d) == 4:
            return cls(pw, d[3], None)
        if len(d) < 6:
            raise MessageError("Registration: currency code truncated")
        try:
            currency = int(bcd_decode(d[4:6]))
        except ZvtError as exc:
            raise MessageError(f"Registration: currency: {exc}") from None
        fields = _fields(d, 6, cls.name)
        tlv = _tlv_tail(fields, cls.name, frozenset({0x03, 0x06}))
        return cls(pw, d[3], currency, fields.get(0x03), tlv)


@dataclass(frozen=True, slots=True)
class LogOff(Command):
    control = (0x06, 0x02)
    name = "Log-Off"
    ends_with_ack = True


@dataclass(frozen=True, slots=True)
class StatusEnquiry(Command):
    control = (0x05, 0x01)
    name = "Status Enquiry"
    password: str | None = None
    service_byte: int | None = None
    tlv: TlvContainer | None = None

    @property
    def wants_software_version(self) -> bool:
        return not (self.service_byte or 0) & SVC_NO_SOFTWARE_VERSION

    def data(self) -> bytes:
        if self.password is None:
            if self.service_byte is not None or self.tlv is not None:
                raise MessageError("Status Enquiry: service byte or TLV needs the password")
            return b""
        return (
            _pw(self.password)
            + BmpFields.of(((0x03, self.service_byte), (0x06, self.tlv))).encode()
        )

    @classmethod
    def from_apdu(cls, apdu: Apdu) -> StatusEnquiry:
        if not apdu.data:
            return cls()
        pw = _read_pw(apdu.data, cls.name)
        fields = _fields(apdu.data, 3, cls.name)
        tlv = _tlv_tail(fields, cls.name, frozenset({0x03, 0x06}))
        return cls(pw, fields.get(0x03), tlv)


@dataclass(frozen=True, slots=True)
class _PasswordCommand(Command):
    password: str = "000000"
    tlv: TlvContainer | None = None

    def data(self) -> bytes:
        return _pw(self.password) + BmpFields.of(((0x06, self.tlv),)).encode()

    @classmethod
    def from_apdu(cls, apdu: Apdu) -> _PasswordCommand:
        pw = _read_pw(apdu.data, cls.name)
        fields = _fields(apdu.data, 3, cls.name)
        return cls(pw, _tlv_tail(fields, cls.name, frozenset({0x06})))


@dataclass(frozen=True, slots=True)
class TurnoverTotals(_PasswordCommand):
    """Send Turnover Totals: reports the unsettled batch, closes nothing."""

    control = (0x06, 0x10)
    name = "Send Turnover Totals"


@dataclass(frozen=True, slots=True)
class EndOfDay(_PasswordCommand):
    """End-of-Day: sends the batch to the host and closes it."""

    control = (0x06, 0x50)
    name = "End-of-Day"


@dataclass(frozen=True, slots=True)
class RepeatReceipt(Command):
    """Repeat Receipt: the last payment's or End-of-Day's receipt again; with service byte
    bit 01 the PT resends that Status-Information (how an ECR learns the settled totals
    after an End-of-Day whose answer was lost), with 02 it prints nothing."""

    control = (0x06, 0x20)
    name = "Repeat Receipt"
    password: str = "000000"
    service_byte: int | None = SVC_RESEND_STATUS_INFO | SVC_DO_NOT_PRINT

    def data(self) -> bytes:
        return _pw(self.password) + BmpFields.of(((0x03, self.service_byte),)).encode()

    @classmethod
    def from_apdu(cls, apdu: Apdu) -> RepeatReceipt:
        pw = _read_pw(apdu.data, cls.name)
        fields = _fields(apdu.data, 3, cls.name)
        _tlv_tail(fields, cls.name, frozenset({0x03}))
        return cls(pw, fields.get(0x03))


@dataclass(frozen=True, slots=True)
class Initialisation(_PasswordCommand):
    control = (0x06, 0x93)
    name = "Initialisation"


@dataclass(frozen=True, slots=True)
class Diagnosis(Command):
    control = (0x06, 0x70)
    name = "Diagnosis"
    tlv: TlvContainer | None = None

    def data(self) -> bytes:
        return BmpFields.of(((0x06, self.tlv),)).encode()

    @classmethod
    def from_apdu(cls, apdu: Apdu) -> Diagnosis:
        fields = _fields(apdu.data, 0, cls.name)
        return cls(_tlv_tail(fields, cls.name, frozenset({0x06})))


@dataclass(frozen=True, slots=True)
class SetDateTime(Command):
    """Set Date and Time in PT: `<pw> AA YYMMDD 0C HHMMSS`."""

    control = (0x06, 0x91)
    name = "Set Date and Time"
    password: str = "000000"
    when: datetime = datetime(2000, 1, 1)

    def data(self) -> bytes:
        if not 2000 <= self.when.year <= 2099:
            raise MessageError("Set Date and Time: the terminal's clock counts years 2000-2099")
        date, time = self.when.strftime("%y%m%d"), self.when.strftime("%H%M%S")
        fields = BmpFields(((0xAA, date), (0x0C, time)))
        return _pw(self.password) + fields.encode()

    @classmethod
    def from_apdu(cls, apdu: Apdu) -> SetDateTime:
        pw = _read_pw(apdu.data, cls.name)
        try:
            fields = decode_bmps(apdu.data, 3)
            when = _datetime(fields.get(0xAA, ""), fields.get(0x0C, ""))
        except (ZvtError, ValueError) as exc:
            raise MessageError(f"Set Date and Time: {exc}") from None
        return cls(pw, when)


@dataclass(frozen=True, slots=True)
class Abort(Command):
    """ECR Abort 06 B0: allowed only while the ECR is master; ends with the acknowledgement."""

    control = (0x06, 0xB0)
    name = "Abort"
    ends_with_ack = True


# ---------------------------------------------------------------- acknowledgements


@dataclass(frozen=True, slots=True)
class PositiveAck(Message):
    """80 00 (or 84 00): accepted / received. May carry data."""

    control = (0x80, 0x00)
    name = "Acknowledgement"
    payload: bytes = b""
    ccrc: int = 0x80

    def to_apdu(self) -> Apdu:
        return Apdu(self.ccrc, 0x00, self.payload)

    @classmethod
    def from_apdu(cls, apdu: Apdu) -> PositiveAck:
        return cls(apdu.data, apdu.cls)


@dataclass(frozen=True, slots=True)
class NegativeAck(Message):
    """84 xx: refused, `code` is a result code (e.g. 83 function not possible)."""

    control = (0x84, 0x83)
    name = "Negative acknowledgement"
    code: int = 0x83
    payload: bytes = b""

    def to_apdu(self) -> Apdu:
        return Apdu(0x84, self.code, self.payload)

    @classmethod
    def from_apdu(cls, apdu: Apdu) -> NegativeAck:
        return cls(apdu.ins, apdu.data)


# ---------------------------------------------------------------- PT -> ECR during a dialogue


@dataclass(frozen=True, slots=True)
class IntermediateStatus(Message):
    """04 FF: progress shown to the cashier; may carry a new T4 in minutes and a TLV."""

    control = (0x04, 0xFF)
    name = "Intermediate Status"
    code: int = 0x17
    timeout_minutes: int | None = None
    tlv: TlvContainer | None = None

    def data(self) -> bytes:
        out = bytes((self.code,))
        if self.timeout_minutes is not None:
            out += bcd_encode(self.timeout_minutes, 1)
        elif self.tlv is not None:
            raise MessageError("Intermediate Status: a TLV needs the timeout byte before it")
        return out + BmpFields.of(((0x06, self.tlv),)).encode()

    @classmethod
    def from_apdu(cls, apdu: Apdu) -> IntermediateStatus:
        d = apdu.data
        if not d:
            raise MessageError("Intermediate Status: status byte missing")
        if len(d) == 1:
            return cls(d[0])
        try:
            minutes = int(bcd_decode(d[1:2]))
            fields = decode_bmps(d, 2)
        except ZvtError as exc:
            raise MessageError(f"Intermediate Status: {exc}") from None
        return cls(d[0], minutes, _tlv_tail(fields, cls.name, frozenset({0x06})))

    def texts(self) -> list[str]:
        return self.tlv.texts() if self.tlv else []


@dataclass(frozen=True, slots=True)
class _FieldsMessage(Message):
    fields: BmpFields = field(default_factory=BmpFields)

    def data(self) -> bytes:
        return self.fields.encode()

    @classmethod
    def from_apdu(cls, apdu: Apdu) -> _FieldsMessage:
        return cls(_fields(apdu.data, 0, cls.name))


@dataclass(frozen=True, slots=True)
class StatusInformation(_FieldsMessage):
    """04 0F: transaction or batch data; after End-of-Day / Turnover Totals it holds the totals."""

    control = (0x04, 0x0F)
    name = "Status-Information"

    @property
    def result_code(self) -> int | None:
        return self.fields.get(0x27)

    @property
    def amount(self) -> int | None:
        return self.fields.get(0x04)

    @property
    def totals(self) -> IndividualTotals | None:
        return self.fields.get(0x60)

    @property
    def terminal_id(self) -> str | None:
        return self.fields.get(0x29)

    @property
    def currency(self) -> int | None:
        return self.fields.get(0x49)


@dataclass(frozen=True, slots=True)
class HostDateTime(_FieldsMessage):
    """04 01 after a Diagnosis: the host's date and time (BMP AA + 0C)."""

    control = (0x04, 0x01)
    name = "Host date/time"

    def when(self) -> datetime | None:
        try:
            return _datetime(self.fields.get(0xAA, ""), self.fields.get(0x0C, ""))
        except ValueError:
            return None


@dataclass(frozen=True, slots=True)
class PrintLine(Message):
    """06 D1: one receipt line for the ECR to print; attribute FF = last line."""

    control = (0x06, 0xD1)
    name = "Print Line"
    attribute: int = 0
    text: str = ""

    def data(self) -> bytes:
        return bytes((self.attribute,)) + self.text.encode("cp437")

    @classmethod
    def from_apdu(cls, apdu: Apdu) -> PrintLine:
        if not apdu.data:
            raise MessageError("Print Line: attribute byte missing")
        return cls(apdu.data[0], apdu.data[1:].decode("cp437"))


@dataclass(frozen=True, slots=True)
class PrintTextBlock(_FieldsMessage):
    """06 D3: a whole receipt as TLV (tag 25 holding 07 lines)."""

    control = (0x06, 0xD3)
    name = "Print Text Block"

    def lines(self) -> list[str]:
        tlv = self.fields.get(0x06)
        if tlv is None:
            return []
        block = tlv.find(TAG_PRINT_TEXTS)
        source = TlvContainer(block.children) if block else tlv
        return source.texts(TAG_TEXT_LINE)


@dataclass(frozen=True, slots=True)
class StatusCompletion:
    """The parsed Completion of a Status Enquiry."""

    terminal_status: int
    software_version: str | None = None
    tlv: TlvContainer | None = None


@dataclass(frozen=True, slots=True)
class Completion(Message):
    """06 0F: the dialogue succeeded. Its data depend on the command, so they stay raw."""

    control = (0x06, 0x0F)
    name = "Completion"
    payload: bytes = b""

    def data(self) -> bytes:
        return self.payload

    @classmethod
    def from_apdu(cls, apdu: Apdu) -> Completion:
        return cls(apdu.data)

    @classmethod
    def for_status(
        cls,
        terminal_status: int,
        software_version: str | None = None,
        tlv: TlvContainer | None = None,
    ) -> Completion:
        out = b""
        if software_version is not None:
            raw = software_version.encode("cp437")
            out += varlen_encode(len(raw), 3) + raw
        out += bytes((terminal_status,))
        return cls(out + BmpFields.of(((0x06, tlv),)).encode())

    def fields(self) -> BmpFields:
        return _fields(self.payload, 0, self.name)

    def status(self, with_software_version: bool = True) -> StatusCompletion:
        """Parse as the Completion of a Status Enquiry (spec §3.4)."""
        d, pos, version = self.payload, 0, None
        try:
            if with_software_version:
                length, pos = varlen_decode(d, 0, 3)
                if pos + length > len(d):
                    raise MessageError("Status Completion: software version truncated")
                version = d[pos : pos + length].decode("cp437").rstrip("\x00 ")
                pos += length
            if pos >= len(d):
                raise MessageError("Status Completion: terminal status byte missing")
            fields = decode_bmps(d, pos + 1)
        except MessageError:
            raise
        except ZvtError as exc:
            raise MessageError(f"Status Completion: {exc}") from None
        return StatusCompletion(
            d[pos], version, _tlv_tail(fields, "Status Completion", frozenset({0x06}))
        )


@dataclass(frozen=True, slots=True)
class PtAbort(Message):
    """06 1E: the terminal ends the dialogue unsuccessfully with a result code."""

    control = (0x06, 0x1E)
    name = "Abort"
    code: int = 0xFF
    tlv: TlvContainer | None = None

    def data(self) -> bytes:
        return bytes((self.code,)) + BmpFields.of(((0x06, self.tlv),)).encode()

    @classmethod
    def from_apdu(cls, apdu: Apdu) -> PtAbort:
        if not apdu.data:
            return cls(0xFF)  # some terminals omit it; FF = system error
        try:
            fields = decode_bmps(apdu.data, 1)
        except ZvtError:
            return cls(apdu.data[0])  # the result code is what matters; vendor tails vary
        return cls(apdu.data[0], fields.get(0x06))


_CLASSES: tuple[type[Message], ...] = (
    Registration, LogOff, StatusEnquiry, TurnoverTotals, EndOfDay, RepeatReceipt,
    Initialisation, Diagnosis, SetDateTime, Abort, IntermediateStatus, StatusInformation,
    HostDateTime, PrintLine, PrintTextBlock, Completion, PtAbort,
)  # fmt: skip
BY_CONTROL: dict[tuple[int, int], type[Message]] = {c.control: c for c in _CLASSES}


def decode_message(apdu: Apdu) -> Message:
    """The typed message for an APDU; raises MessageError for unknown or malformed ones."""
    if apdu.cls == 0x80 or (apdu.cls == 0x84 and apdu.ins == 0x00):
        return PositiveAck.from_apdu(apdu)
    if apdu.cls == 0x84:
        return NegativeAck.from_apdu(apdu)
    kind = BY_CONTROL.get(apdu.control)
    if kind is None:
        raise MessageError(f"unknown message {apdu.cls:02X} {apdu.ins:02X}")
    return kind.from_apdu(apdu)
