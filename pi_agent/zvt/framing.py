"""Serial framing of ZVT APDUs: DLE STX <stuffed APDU> DLE ETX CRC-lo CRC-hi, plus raw ACK/NAK.

`encode_frame` turns an APDU into wire bytes; `FrameReader` is an incremental
parser fed with whatever the port delivered. It never blocks and never raises:
a broken frame becomes a `FrameRejected` event the caller answers with NAK.
`ApduReader` does the same for ZVT over TCP, where APDUs travel bare and are
delimited only by their own length field.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, auto

from .crc import crc16_kermit
from .errors import CrcError, FrameError

DLE, STX, ETX = 0x10, 0x02, 0x03
ACK, NAK = 0x06, 0x15
ACK_BYTE, NAK_BYTE = bytes([ACK]), bytes([NAK])

# Largest possible APDU: control 2 + extended length 3 + 65535 data bytes.
MAX_APDU = 2 + 3 + 0xFFFF


def stuff(apdu: bytes) -> bytes:
    return apdu.replace(b"\x10", b"\x10\x10")


def encode_frame(apdu: bytes) -> bytes:
    """Wire bytes for one APDU; CRC over the unstuffed APDU plus ETX, low byte first."""
    crc = crc16_kermit(apdu + b"\x03")
    return b"\x10\x02" + stuff(apdu) + b"\x10\x03" + bytes((crc & 0xFF, crc >> 8))


@dataclass(frozen=True, slots=True)
class AckReceived:
    """A raw ACK byte (06) outside any frame."""


@dataclass(frozen=True, slots=True)
class NakReceived:
    """A raw NAK byte (15) outside any frame."""


@dataclass(frozen=True, slots=True)
class FrameReceived:
    """A well-formed frame with a matching CRC; `apdu` is unstuffed."""

    apdu: bytes


@dataclass(frozen=True, slots=True)
class FrameRejected:
    """A frame that must be answered with NAK."""

    error: FrameError


LinkEvent = AckReceived | NakReceived | FrameReceived | FrameRejected


class _State(Enum):
    IDLE = auto()
    START_DLE = auto()
    BODY = auto()
    BODY_DLE = auto()
    CRC_LOW = auto()
    CRC_HIGH = auto()


class FrameReader:
    """Incremental serial frame parser (the receiving half of the transport layer).

    Bytes outside a frame other than ACK, NAK and DLE are line noise and are
    counted in `discarded`. While `in_frame` is true the caller runs T1 between
    bytes and calls `abandon()` when it expires. A partial frame given up without
    a NAK (`resync()`, or a new DLE STX inside it) is counted in `dropped`.
    """

    def __init__(self) -> None:
        self._state = _State.IDLE
        self._body = bytearray()
        self._crc_low = 0
        self.discarded = 0
        self.dropped = 0

    @property
    def in_frame(self) -> bool:
        return self._state is not _State.IDLE

    def abandon(self) -> FrameRejected | None:
        """T1 expired: drop a partial frame (to be NAKed), or nothing if idle."""
        if self._state is _State.IDLE:
            return None
        if self._state is _State.START_DLE:
            self._reset()
            self.discarded += 1
            return None
        got = len(self._body)
        self._reset()
        return FrameRejected(FrameError(f"frame incomplete after {got} bytes (inter-byte timeout)"))

    def resync(self) -> None:
        """Forget a partial frame without answering it: its bytes belong to no dialogue."""
        if self._state is _State.START_DLE:
            self.discarded += 1
        elif self._state is not _State.IDLE:
            self.dropped += 1
        self._reset()

    def _reset(self) -> None:
        self._state = _State.IDLE
        self._body = bytearray()

    def _reject(self, message: str, error: type[FrameError] = FrameError) -> FrameRejected:
        self._reset()
        return FrameRejected(error(message))

    def feed(self, data: bytes) -> list[LinkEvent]:
        events: list[LinkEvent] = []
        pos, end = 0, len(data)
        while pos < end:
            if self._state is _State.BODY:
                # Fast path: copy the run up to the next DLE in one slice, not byte by byte.
                dle = data.find(b"\x10", pos)
                stop = end if dle < 0 else dle
                if len(self._body) + stop - pos > MAX_APDU:
                    events.append(
                        self._reject(f"frame longer than the {MAX_APDU} bytes an APDU can have")
                    )
                    pos = stop
                    continue
                self._body += data[pos:stop]
                pos = stop
                if pos == end:
                    break
            event = self._step(data[pos])
            pos += 1
            if event is not None:
                events.append(event)
        return events

    def _step(self, byte: int) -> LinkEvent | None:
        state = self._state
        if state is _State.IDLE:
            if byte == ACK:
                return AckReceived()
            if byte == NAK:
                return NakReceived()
            if byte == DLE:
                self._state = _State.START_DLE
            else:
                self.discarded += 1
            return None
        if state is _State.START_DLE:
            if byte == STX:
                self._state = _State.BODY
                self._body = bytearray()
                return None
            # Not a frame start after all: count the DLE as noise, re-read this byte.
            self.discarded += 1
            self._state = _State.IDLE
            return self._step(byte)
        if state is _State.BODY:
            if byte == DLE:
                self._state = _State.BODY_DLE
            elif len(self._body) >= MAX_APDU:
                return self._reject(f"frame longer than the {MAX_APDU} bytes an APDU can have")
            else:
                self._body.append(byte)
            return None
        if state is _State.BODY_DLE:
            if byte == DLE:
                self._body.append(DLE)
                self._state = _State.BODY
                return None
            if byte == ETX:
                self._state = _State.CRC_LOW
                return None
            if byte == STX:
                # Stuffing makes DLE STX impossible inside a frame, so the sender started
                # afresh or what we had was noise: keep the new frame, drop the old quietly.
                # (A NAK here would reach the sender mid-frame and cost it a repeat.)
                self.dropped += 1
                self._body = bytearray()
                self._state = _State.BODY
                return None
            return self._reject(f"DLE followed by {byte:02X} inside a frame (expected 10 or 03)")
        if state is _State.CRC_LOW:
            self._crc_low = byte
            self._state = _State.CRC_HIGH
            return None
        # CRC_HIGH
        received = self._crc_low | byte << 8
        apdu = bytes(self._body)
        self._reset()
        expected = crc16_kermit(apdu + b"\x03")
        if received != expected:
            return FrameRejected(
                CrcError(
                    f"CRC {received:04X} does not match {expected:04X} for {apdu[:3].hex(' ')}…"
                )
            )
        if len(apdu) < 3:
            return FrameRejected(FrameError(f"frame holds {len(apdu)} bytes, an APDU needs 3"))
        return FrameReceived(apdu)


def apdu_size(buf: bytes | bytearray) -> int | None:
    """Total size of the APDU at the start of `buf`, or None while the header is incomplete."""
    if len(buf) < 3:
        return None
    if buf[2] != 0xFF:
        return 3 + buf[2]
    if len(buf) < 5:
        return None
    return 5 + (buf[3] | buf[4] << 8)


class ApduReader:
    """Splits a TCP byte stream into bare APDUs by their length field (spec §1.6)."""

    def __init__(self) -> None:
        self._buf = bytearray()

    @property
    def in_frame(self) -> bool:
        return bool(self._buf)

    def feed(self, data: bytes) -> list[LinkEvent]:
        self._buf += data
        events: list[LinkEvent] = []
        while (size := apdu_size(self._buf)) is not None and len(self._buf) >= size:
            events.append(FrameReceived(bytes(self._buf[:size])))
            del self._buf[:size]
        return events

    def resync(self) -> None:
        """Keep a partial APDU: a TCP stream carries no line noise, and dropping part of an
        APDU would lose the length framing of everything after it."""

    def abandon(self) -> FrameRejected | None:
        if not self._buf:
            return None
        got = len(self._buf)
        self._buf.clear()
        return FrameRejected(FrameError(f"APDU incomplete after {got} bytes"))
