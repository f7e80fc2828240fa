"""Field codecs of POSLink bodies and `Record`, the base of every message and group.

A record's wire fields are its dataclass fields that carry a codec (`wire(...)`), in
declaration order. Encoding trims trailing empty fields; decoding pads missing ones
with what an empty field decodes to and keeps surplus fields in `rest`, so newer
firmware's extra fields and senders that drop trailing FS both round-trip.

Decoding is strict for requests (a bad number raises `FieldError`, an amount with
"." or "-" `AmountError`) and tolerant for responses (the value becomes None and a
line is added to `problems`): the ECR must still read a batch result whose tip
field is odd, while a terminal answers a malformed request with 100003.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import MISSING, dataclass, field, fields
from datetime import datetime
from typing import Any, Self

from .errors import AmountError, FieldError
from .framing import US_CHAR

TIMESTAMP_FORMAT = "%Y%m%d%H%M%S"
_TIMESTAMP = re.compile(r"[0-9]{14}")
_DIGITS = re.compile(r"[0-9]{1,18}")  # 18 digits: beyond any amount, inside int() limits


def _bad_char(text: str) -> str | None:
    for char in text:
        # Control characters are the framing's own (STX, ETX, FS, US...); beyond latin-1
        # there is no byte for it.
        if char < " " or char > "\xff":
            return char
    return None


def check_text(text: object, where: str) -> str:
    if not isinstance(text, str):
        raise FieldError(f"{where}: expected text, got {type(text).__name__}")
    bad = _bad_char(text)
    if bad is not None:
        raise FieldError(f"{where}: character {ord(bad):#04x} cannot travel in a field")
    return text


def parse_timestamp(text: str) -> datetime | None:
    """YYYYMMDDhhmmss, or None for anything else (GP SDKs send "YYYY…" literally, or 12-h)."""
    if not _TIMESTAMP.fullmatch(text):
        return None
    try:
        return datetime.strptime(text, TIMESTAMP_FORMAT)
    except ValueError:
        return None


def format_timestamp(when: datetime) -> str:
    return f"{when.year:04d}{when.month:02d}{when.day:02d}{when:%H%M%S}"


@dataclass(slots=True)
class Decoding:
    """How to treat a bad value while decoding: raise (requests) or note it (responses)."""

    strict: bool
    problems: list[str] = field(default_factory=list)

    def problem(self, error: FieldError) -> None:
        if self.strict:
            raise error
        self.problems.append(str(error))


class Codec:
    """Turns one field's value into its text and back."""

    def default(self) -> Any:
        return ""

    def encode(self, value: Any, where: str) -> str:
        return check_text(value, where)

    def decode(self, text: str, ctx: Decoding, where: str) -> Any:
        return text


TEXT = Codec()


class Number(Codec):
    """Unsigned decimal; None is the empty field. `amount` marks integer cents."""

    def __init__(self, amount: bool = False) -> None:
        self.error = AmountError if amount else FieldError
        self.what = "integer cents" if amount else "an unsigned number"

    def default(self) -> Any:
        return None

    def encode(self, value: Any, where: str) -> str:
        if value is None:
            return ""
        if type(value) is not int or value < 0 or value >= 10**18:
            raise self.error(f"{where}: {value!r} is not {self.what}")
        return str(value)

    def decode(self, text: str, ctx: Decoding, where: str) -> Any:
        if not text:
            return None
        if _DIGITS.fullmatch(text):
            return int(text)
        ctx.problem(self.error(f"{where}: {text[:40]!r} is not {self.what}"))
        return None


COUNT = Number()
AMOUNT = Number(amount=True)


class Items(Codec):
    """A field split into items by `separator` (US for lines and ext data, "=" and "&" for
    totals). The empty field is the empty tuple."""

    def __init__(self, separator: str, item: Codec) -> None:
        self.separator = separator
        self.item = item

    def default(self) -> Any:
        return ()

    def encode(self, value: Any, where: str) -> str:
        if not isinstance(value, tuple):
            raise FieldError(f"{where}: expected a tuple, got {type(value).__name__}")
        texts = [self.item.encode(item, where) for item in value]
        for text in texts:
            if self.separator in text:
                raise FieldError(f"{where}: item {text[:40]!r} holds the separator")
        return self.separator.join(texts)

    def decode(self, text: str, ctx: Decoding, where: str) -> Any:
        if not text:
            return ()
        return tuple(self.item.decode(part, ctx, where) for part in text.split(self.separator))


class Group(Codec):
    """A field holding a US-separated `Record` (HostInfo, Amount, Account, Trace)."""

    def __init__(self, record: type[Record]) -> None:
        self.record = record

    def default(self) -> Any:
        return self.record()

    def encode(self, value: Any, where: str) -> str:
        if not isinstance(value, self.record):
            raise FieldError(f"{where}: expected {self.record.__name__}")
        return US_CHAR.join(value.to_parts())

    def decode(self, text: str, ctx: Decoding, where: str) -> Any:
        return self.record.from_parts(text.split(US_CHAR) if text else [], ctx)


def wire(codec: Codec, default: Any = MISSING) -> Any:
    """Declare a dataclass field that travels on the wire, in declaration order."""
    if default is MISSING:
        return field(default_factory=codec.default, metadata={"codec": codec})
    return field(default=default, metadata={"codec": codec})


def trim(parts: list[str]) -> list[str]:
    end = len(parts)
    while end and not parts[end - 1]:
        end -= 1
    return parts[:end]


_LAYOUTS: dict[type, tuple[tuple[str, Codec], ...]] = {}


@dataclass(frozen=True, slots=True, kw_only=True)
class Record:
    """Base of messages and groups: wire fields in order, then surplus fields in `rest`."""

    rest: tuple[str, ...] = ()

    @classmethod
    def wire_fields(cls) -> tuple[tuple[str, Codec], ...]:
        known = _LAYOUTS.get(cls)
        if known is None:
            known = tuple(
                (f.name, f.metadata["codec"]) for f in fields(cls) if "codec" in f.metadata
            )
            _LAYOUTS[cls] = known
        return known

    def to_parts(self) -> list[str]:
        name = type(self).__name__
        parts = [codec.encode(getattr(self, f), f"{name}.{f}") for f, codec in self.wire_fields()]
        if not isinstance(self.rest, tuple):
            raise FieldError(f"{name}.rest: expected a tuple")
        parts.extend(check_text(extra, f"{name}.rest") for extra in self.rest)
        return trim(parts)

    @classmethod
    def from_parts(cls, parts: Sequence[str], ctx: Decoding, **base: Any) -> Self:
        layout = cls.wire_fields()
        values = {
            f: codec.decode(parts[i] if i < len(parts) else "", ctx, f"{cls.__name__}.{f}")
            for i, (f, codec) in enumerate(layout)
        }
        rest = tuple(trim(list(parts[len(layout) :])))
        return cls(**base, **values, rest=rest)


def key_values(items: tuple[str, ...]) -> dict[str, str]:
    """Ext data as a dict: KEY=VALUE items; empty items (newer apps lead with one) skipped."""
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if key and sep:
            out[key] = value
    return out
