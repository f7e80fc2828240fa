"""BER-TLV objects carried in BMP 06 (tags of 1-3 bytes, definite lengths up to 82 hi lo)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from .errors import TlvError

# Tags worth naming (spec PA00P015 ch. 9).
TAG_PERMITTED_COMMANDS = 0x26
TAG_TEXT_LINES = 0x24
TAG_PRINT_TEXTS = 0x25
TAG_TEXT_LINE = 0x07
TAG_RECEIPT_TYPE = 0x1F07
TAG_EXTENDED_ERROR_CODE = 0x1F16
TAG_EXTENDED_ERROR_TEXT = 0x1F17
TAG_DIAGNOSIS_TYPE = 0x1B
TAG_CHARSET = 0x14

MAX_DEPTH = 8


@dataclass(frozen=True, slots=True)
class TlvObject:
    """One TLV object; `children` is set for constructed tags (bit 6 of the first tag byte)."""

    tag: int
    value: bytes = b""
    children: tuple[TlvObject, ...] = ()

    @property
    def constructed(self) -> bool:
        return bool(_tag_bytes(self.tag)[0] & 0x20)

    def encode(self) -> bytes:
        body = b"".join(c.encode() for c in self.children) if self.constructed else self.value
        return _tag_bytes(self.tag) + encode_length(len(body)) + body

    def text(self) -> str:
        return self.value.decode("cp437", errors="replace")


@dataclass(frozen=True, slots=True)
class TlvContainer:
    """The content of BMP 06: a sequence of TLV objects (possibly empty, as in `06 00`)."""

    objects: tuple[TlvObject, ...] = ()

    def encode_body(self) -> bytes:
        return b"".join(o.encode() for o in self.objects)

    def walk(self) -> Iterator[TlvObject]:
        stack = list(reversed(self.objects))
        while stack:
            obj = stack.pop()
            yield obj
            stack.extend(reversed(obj.children))

    def find(self, tag: int) -> TlvObject | None:
        return next((o for o in self.walk() if o.tag == tag), None)

    def texts(self, tag: int = TAG_TEXT_LINE) -> list[str]:
        return [o.text() for o in self.walk() if o.tag == tag]


def _tag_bytes(tag: int) -> bytes:
    if not 0 <= tag <= 0xFFFFFF:
        raise TlvError(f"TLV tag {tag:X} out of range")
    return tag.to_bytes(max(1, (tag.bit_length() + 7) // 8), "big")


def encode_length(length: int) -> bytes:
    if length < 0x80:
        return bytes((length,))
    if length <= 0xFF:
        return bytes((0x81, length))
    if length <= 0xFFFF:
        return bytes((0x82, length >> 8, length & 0xFF))
    raise TlvError(f"TLV length {length} exceeds 65535")


def decode_length(raw: bytes, pos: int) -> tuple[int, int]:
    """BER definite length at `pos`: (length, new pos)."""
    if pos >= len(raw):
        raise TlvError(f"TLV length missing at offset {pos}")
    first = raw[pos]
    if first < 0x80:
        return first, pos + 1
    count = first & 0x7F
    if count not in (1, 2):
        raise TlvError(f"TLV length form {first:02X} at offset {pos} not supported (81 or 82)")
    if pos + 1 + count > len(raw):
        raise TlvError(f"TLV length truncated at offset {pos}")
    return int.from_bytes(raw[pos + 1 : pos + 1 + count], "big"), pos + 1 + count


def _decode_tag(raw: bytes, pos: int) -> tuple[int, int]:
    start = pos
    if raw[pos] & 0x1F != 0x1F:
        return raw[pos], pos + 1
    pos += 1
    while True:
        if pos >= len(raw):
            raise TlvError(f"TLV tag truncated at offset {start}")
        more = raw[pos] & 0x80
        pos += 1
        if not more:
            break
        if pos - start >= 3:
            raise TlvError(f"TLV tag longer than 3 bytes at offset {start}")
    return int.from_bytes(raw[start:pos], "big"), pos


def decode_objects(raw: bytes, depth: int = 0) -> tuple[TlvObject, ...]:
    if depth > MAX_DEPTH:
        raise TlvError(f"TLV nested deeper than {MAX_DEPTH} levels")
    objects = []
    pos = 0
    while pos < len(raw):
        tag, pos = _decode_tag(raw, pos)
        length, pos = decode_length(raw, pos)
        if pos + length > len(raw):
            raise TlvError(f"TLV tag {tag:X} claims {length} bytes, {len(raw) - pos} left")
        body = raw[pos : pos + length]
        pos += length
        if _tag_bytes(tag)[0] & 0x20:
            objects.append(TlvObject(tag, children=decode_objects(body, depth + 1)))
        else:
            objects.append(TlvObject(tag, value=body))
    return tuple(objects)


def decode_container(raw: bytes) -> TlvContainer:
    return TlvContainer(decode_objects(raw))
