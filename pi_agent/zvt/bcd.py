"""Packed BCD and the F-nibble LLVAR/LLLVAR length prefixes used throughout ZVT."""

from __future__ import annotations

from .errors import BmpError


def bcd_decode(raw: bytes) -> str:
    """Digits of packed BCD; any nibble above 9 is an error."""
    digits = raw.hex()
    if not digits.isdigit():
        raise BmpError(f"invalid BCD bytes {raw.hex(' ')}")
    return digits


def bcd_encode(value: int | str, size: int) -> bytes:
    """`value` as `size` bytes of packed BCD, zero-padded on the left."""
    digits = str(value) if isinstance(value, int) else value
    if not (digits.isascii() and digits.isdigit()) or (isinstance(value, int) and value < 0):
        raise BmpError(f"{value!r} is not a non-negative decimal number")
    if len(digits) > size * 2:
        raise BmpError(f"{value!r} does not fit in {size} BCD bytes")
    return bytes.fromhex(digits.rjust(size * 2, "0"))


def varlen_decode(raw: bytes, pos: int, digits: int) -> tuple[int, int]:
    """Read an LLVAR (digits=2) or LLLVAR (digits=3) prefix at `pos`: (length, new pos)."""
    prefix = raw[pos : pos + digits]
    if len(prefix) < digits:
        raise BmpError(f"length prefix truncated at offset {pos}")
    length = 0
    for byte in prefix:
        if byte & 0xF0 != 0xF0 or byte & 0x0F > 9:
            raise BmpError(f"bad length prefix byte {byte:02X} at offset {pos} (expected F0-F9)")
        length = length * 10 + (byte & 0x0F)
    return length, pos + digits


def varlen_encode(length: int, digits: int) -> bytes:
    if not 0 <= length < 10**digits:
        raise BmpError(f"length {length} does not fit a {digits}-digit prefix")
    return bytes(0xF0 | int(d) for d in str(length).rjust(digits, "0"))
