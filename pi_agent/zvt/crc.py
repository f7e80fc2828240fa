"""CRC-16/KERMIT, the checksum of ZVT serial frames (the spec's 'CRC-XModem' is misnamed)."""

from __future__ import annotations


def _table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        reg = byte
        for _ in range(8):
            reg = (reg >> 1) ^ 0x8408 if reg & 1 else reg >> 1
        table.append(reg)
    return tuple(table)


_TABLE = _table()


def crc16_kermit(data: bytes, reg: int = 0) -> int:
    """Reflected CCITT polynomial 0x8408, init 0, no final XOR; check('123456789') == 0x2189."""
    for byte in data:
        reg = (reg >> 8) ^ _TABLE[(reg ^ byte) & 0xFF]
    return reg
