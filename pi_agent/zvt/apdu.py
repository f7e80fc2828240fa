"""APDU: control field (CLASS INSTR, or CCRC APRC in answers), length, data (spec §2.1)."""

from __future__ import annotations

from dataclasses import dataclass

from .errors import ApduError


@dataclass(frozen=True, slots=True)
class Apdu:
    cls: int
    ins: int
    data: bytes = b""
    # Some terminals use the 3-byte length form for short data too; keep it for byte-exact echo.
    extended_length: bool = False

    @property
    def control(self) -> tuple[int, int]:
        return (self.cls, self.ins)

    def encode(self) -> bytes:
        size = len(self.data)
        if size > 0xFFFF:
            raise ApduError(f"APDU data of {size} bytes exceeds the 65535 the length field allows")
        if size > 0xFE or self.extended_length:
            header = bytes((self.cls, self.ins, 0xFF, size & 0xFF, size >> 8))
        else:
            header = bytes((self.cls, self.ins, size))
        return header + self.data

    @classmethod
    def decode(cls, raw: bytes) -> Apdu:
        """Parse exactly one APDU; the length field must match the bytes present."""
        if len(raw) < 3:
            raise ApduError(f"APDU of {len(raw)} bytes is shorter than its 3-byte header")
        if raw[2] == 0xFF:
            if len(raw) < 5:
                raise ApduError("APDU with extended length is missing its 2 length bytes")
            size, start, extended = raw[3] | raw[4] << 8, 5, True
        else:
            size, start, extended = raw[2], 3, False
        if len(raw) - start != size:
            raise ApduError(
                f"APDU {raw[0]:02X} {raw[1]:02X} declares {size} data bytes "
                f"but carries {len(raw) - start}"
            )
        return cls(raw[0], raw[1], bytes(raw[start:]), extended)

    def __str__(self) -> str:
        return f"{self.cls:02X} {self.ins:02X} [{len(self.data)}] {self.data.hex(' ')}".rstrip()
