"""BMP fields: one tag byte followed by a value whose length rule depends on the tag (spec ch. 4).

Values are decoded to typed Python values and re-encode byte-exact:

| kind    | Python value                | examples                     |
|---------|-----------------------------|------------------------------|
| byte    | int 0-255                   | 27 result code, 19, 8A       |
| fixed   | bytes of the tag's size     | 3B AID, BA, EB               |
| ascii   | str of the tag's size       | 2A VU number                 |
| number  | int (BCD, fixed size)       | 04 amount, 0B trace, 49      |
| digits  | str of digits (BCD)         | 29 TID, 0C time, AA date     |
| llvar / lllvar | bytes                | 22 PAN, 3C text, 8B name     |
| totals  | IndividualTotals (BMP 60)   |                              |
| tlv     | TlvContainer (BMP 06)       |                              |
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

from .bcd import bcd_decode, bcd_encode, varlen_decode, varlen_encode
from .errors import BmpError, ZvtError
from .tlv import TlvContainer, decode_container, decode_length, encode_length

Kind = Literal["byte", "fixed", "ascii", "number", "digits", "llvar", "lllvar", "totals", "tlv"]


@dataclass(frozen=True, slots=True)
class BmpSpec:
    name: str
    kind: Kind
    size: int = 0


def _specs() -> dict[int, BmpSpec]:
    table = {
        0x01: BmpSpec("timeout", "byte"),
        0x02: BmpSpec("max_status_infos", "byte"),
        0x03: BmpSpec("service_byte", "byte"),
        0x04: BmpSpec("amount", "number", 6),
        0x05: BmpSpec("pump_number", "byte"),
        0x06: BmpSpec("tlv", "tlv"),
        0x0B: BmpSpec("trace", "number", 3),
        0x0C: BmpSpec("time", "digits", 3),
        0x0D: BmpSpec("date_mmdd", "digits", 2),
        0x0E: BmpSpec("expiry_yymm", "digits", 2),
        0x17: BmpSpec("card_sequence", "digits", 2),
        0x19: BmpSpec("status_byte", "byte"),
        0x22: BmpSpec("pan", "llvar"),
        0x23: BmpSpec("track2", "llvar"),
        0x24: BmpSpec("track3", "lllvar"),
        0x27: BmpSpec("result_code", "byte"),
        0x29: BmpSpec("terminal_id", "digits", 4),
        0x2A: BmpSpec("vu_number", "ascii", 15),
        0x2D: BmpSpec("track1", "llvar"),
        0x2E: BmpSpec("sync_chip_data", "lllvar"),
        0x37: BmpSpec("original_trace", "number", 3),
        0x3A: BmpSpec("cvv", "digits", 2),
        0x3B: BmpSpec("aid", "fixed", 8),
        0x3C: BmpSpec("additional_text", "lllvar"),
        0x3D: BmpSpec("password", "digits", 3),
        0x49: BmpSpec("currency", "number", 2),
        0x60: BmpSpec("individual_totals", "totals"),
        0x87: BmpSpec("receipt", "number", 2),
        0x88: BmpSpec("turnover_record", "number", 3),
        0x8A: BmpSpec("card_type", "byte"),
        0x8B: BmpSpec("card_name", "llvar"),
        0x8C: BmpSpec("operator_card_type", "byte"),
        0x92: BmpSpec("offline_chip_data", "lllvar"),
        0x9A: BmpSpec("geldkarte", "lllvar"),
        0xA0: BmpSpec("host_result_code", "byte"),
        0xA7: BmpSpec("chip_ef_id", "llvar"),
        0xAA: BmpSpec("date", "digits", 3),
        0xAF: BmpSpec("ef_info", "lllvar"),
        0xBA: BmpSpec("aid_parameter", "fixed", 5),
        0xD0: BmpSpec("algorithm_key", "byte"),
        0xD1: BmpSpec("card_offset", "llvar"),
        0xD2: BmpSpec("direction", "byte"),
        0xD3: BmpSpec("key_position", "byte"),
        0xE0: BmpSpec("input_min", "byte"),
        0xE9: BmpSpec("input_max", "byte"),
        0xEA: BmpSpec("input_echo", "byte"),
        0xEB: BmpSpec("mac", "fixed", 8),
        0xF0: BmpSpec("display_duration", "byte"),
        0xF9: BmpSpec("beeps", "byte"),
        0xFA: BmpSpec("status", "byte"),
        0xFB: BmpSpec("ok_required", "byte"),
        0xFC: BmpSpec("dialog_control", "byte"),
    }
    for i in range(8):  # display text lines: text2 E1-E8, text1 F1-F8
        table[0xE1 + i] = BmpSpec(f"text2_line{i + 1}", "llvar")
        table[0xF1 + i] = BmpSpec(f"text1_line{i + 1}", "llvar")
    return table


BMP_SPECS: dict[int, BmpSpec] = _specs()

# BMP 60 slot order (spec §5); which products land where is terminal-specific.
CARD_SLOTS = ("girocard", "jcb", "mastercard", "amex", "visa", "diners", "other")
_TOTALS_SIZE = 4 + 7 * len(CARD_SLOTS)  # 53


@dataclass(frozen=True, slots=True)
class CardTotal:
    count: int
    amount: int  # minor units


@dataclass(frozen=True, slots=True)
class IndividualTotals:
    """BMP 60: receipt range and count/amount per card slot."""

    first_receipt: int
    last_receipt: int
    slots: tuple[CardTotal, ...]
    extra: bytes = b""  # bytes past the 53 the spec defines, kept for byte-exact echo

    def by_name(self) -> dict[str, CardTotal]:
        return dict(zip(CARD_SLOTS, self.slots, strict=True))

    def encode(self) -> bytes:
        if len(self.slots) != len(CARD_SLOTS):
            raise BmpError(f"BMP 60 needs {len(CARD_SLOTS)} card slots, got {len(self.slots)}")
        out = bytearray(bcd_encode(self.first_receipt, 2) + bcd_encode(self.last_receipt, 2))
        for slot in self.slots:
            if not 0 <= slot.count <= 255:
                raise BmpError(f"BMP 60 count {slot.count} outside 0-255")
            out.append(slot.count)
            out += bcd_encode(slot.amount, 6)
        return bytes(out) + self.extra

    @classmethod
    def decode(cls, raw: bytes) -> IndividualTotals:
        if len(raw) < _TOTALS_SIZE:
            raise BmpError(f"BMP 60 holds {len(raw)} bytes, needs {_TOTALS_SIZE}")
        slots = []
        for i in range(len(CARD_SLOTS)):
            off = 4 + 7 * i
            slots.append(CardTotal(raw[off], int(bcd_decode(raw[off + 1 : off + 7]))))
        return cls(
            int(bcd_decode(raw[0:2])),
            int(bcd_decode(raw[2:4])),
            tuple(slots),
            bytes(raw[_TOTALS_SIZE:]),
        )


@dataclass(frozen=True, slots=True)
class BmpFields:
    """Ordered BMP fields as received; lookup by tag returns the first occurrence."""

    items: tuple[tuple[int, Any], ...] = ()

    def get(self, tag: int, default: Any = None) -> Any:
        return next((v for t, v in self.items if t == tag), default)

    def __contains__(self, tag: object) -> bool:
        return any(t == tag for t, _ in self.items)

    def __iter__(self) -> Iterator[tuple[int, Any]]:
        return iter(self.items)

    def encode(self) -> bytes:
        return b"".join(encode_bmp(tag, value) for tag, value in self.items)

    @classmethod
    def of(cls, items: Iterable[tuple[int, Any]]) -> BmpFields:
        return cls(tuple((t, v) for t, v in items if v is not None))


def encode_bmp(tag: int, value: Any) -> bytes:
    spec = BMP_SPECS.get(tag)
    if spec is None:
        raise BmpError(f"unknown BMP {tag:02X}")
    try:
        body = _encode_value(spec, value)
    except (TypeError, ValueError, AttributeError) as exc:
        raise BmpError(f"BMP {tag:02X} ({spec.name}): bad value {value!r}: {exc}") from None
    return bytes((tag,)) + body


def _encode_value(spec: BmpSpec, value: Any) -> bytes:
    kind = spec.kind
    if kind == "byte":
        return bytes((value,))
    if kind == "fixed":
        if len(value) != spec.size:
            raise ValueError(f"needs exactly {spec.size} bytes")
        return bytes(value)
    if kind == "ascii":
        raw = value.encode("cp437")
        if len(raw) != spec.size:
            raise ValueError(f"needs exactly {spec.size} characters")
        return raw
    if kind in ("number", "digits"):
        if kind == "digits" and len(value) != spec.size * 2:
            raise ValueError(f"needs exactly {spec.size * 2} digits")
        return bcd_encode(value, spec.size)
    if kind in ("llvar", "lllvar"):
        return varlen_encode(len(value), 2 if kind == "llvar" else 3) + bytes(value)
    if kind == "totals":
        body = value.encode()
        return varlen_encode(len(body), 3) + body
    body = value.encode_body()  # tlv
    return encode_length(len(body)) + body


def decode_bmps(raw: bytes, start: int = 0) -> BmpFields:
    """Decode BMP fields from `start` to the end of `raw`. Raises only ZvtError subclasses."""
    items: list[tuple[int, Any]] = []
    pos = start
    while pos < len(raw):
        tag = raw[pos]
        spec = BMP_SPECS.get(tag)
        if spec is None:
            raise BmpError(f"unknown BMP {tag:02X} at offset {pos}")
        value, pos = _decode_value(tag, spec, raw, pos + 1)
        items.append((tag, value))
    return BmpFields(tuple(items))


def _take(tag: int, raw: bytes, pos: int, size: int) -> tuple[bytes, int]:
    if pos + size > len(raw):
        raise BmpError(f"BMP {tag:02X} needs {size} bytes at offset {pos}, {len(raw) - pos} left")
    return raw[pos : pos + size], pos + size


def _decode_value(tag: int, spec: BmpSpec, raw: bytes, pos: int) -> tuple[Any, int]:
    kind = spec.kind
    if kind == "byte":
        body, pos = _take(tag, raw, pos, 1)
        return body[0], pos
    if kind in ("fixed", "ascii", "number", "digits"):
        body, pos = _take(tag, raw, pos, spec.size)
        if kind == "fixed":
            return bytes(body), pos
        if kind == "ascii":
            return body.decode("cp437"), pos
        digits = bcd_decode(body)
        return (int(digits) if kind == "number" else digits), pos
    if kind == "tlv":
        try:
            length, pos = decode_length(raw, pos)
        except ZvtError as exc:
            raise BmpError(f"BMP 06: {exc}") from None
        body, pos = _take(tag, raw, pos, length)
        return decode_container(body), pos
    length, pos = varlen_decode(raw, pos, 2 if kind == "llvar" else 3)
    body, pos = _take(tag, raw, pos, length)
    if kind == "totals":
        return IndividualTotals.decode(body), pos
    return bytes(body), pos


def tlv_of(fields: BmpFields) -> TlvContainer | None:
    return fields.get(0x06)
