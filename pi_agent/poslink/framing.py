"""POSLink framing: STX <body> ETX LRC, plus the bare control bytes ACK, NAK and EOT.

The body is the text between STX and ETX: fields separated by FS, items inside a
group by US. `encode_frame` wraps a body; `FrameReader` is an incremental parser
fed with whatever the port or socket delivered, in any chunking. It never blocks
and never raises: a frame with a wrong LRC becomes a `FrameRejected` event the
caller answers with NAK.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, auto

from .errors import FrameError, LrcError

STX, ETX, EOT, ENQ, ACK, NAK = 0x02, 0x03, 0x04, 0x05, 0x06, 0x15
FS, GS, RS, US = 0x1C, 0x1D, 0x1E, 0x1F
ACK_BYTE, NAK_BYTE, EOT_BYTE = bytes([ACK]), bytes([NAK]), bytes([EOT])
FS_CHAR, US_CHAR = chr(FS), chr(US)

# B03 receipt lines are the longest known body (64 lines under 32 bytes); a peer that
# never sends ETX must not grow our buffer without end.
MAX_BODY = 16 * 1024


def lrc(body: bytes) -> int:
    """XOR of every byte after STX up to and including ETX (the body plus ETX)."""
    value = ETX
    for byte in body:
        value ^= byte
    return value


def encode_frame(body: bytes) -> bytes:
    """Wire bytes for one body. The LRC may itself be 0x03; it is one raw byte, never escaped."""
    return b"\x02" + body + b"\x03" + bytes((lrc(body),))


@dataclass(frozen=True, slots=True)
class AckReceived:
    """A bare ACK (06) outside any frame."""


@dataclass(frozen=True, slots=True)
class NakReceived:
    """A bare NAK (15) outside any frame."""


@dataclass(frozen=True, slots=True)
class EotReceived:
    """A bare EOT (04) outside any frame: the peer ends or gives up the exchange."""


@dataclass(frozen=True, slots=True)
class FrameReceived:
    """A frame whose LRC matches; `body` is what lay between STX and ETX."""

    body: bytes


@dataclass(frozen=True, slots=True)
class FrameRejected:
    """A frame that must be answered with NAK."""

    error: FrameError


LinkEvent = AckReceived | NakReceived | EotReceived | FrameReceived | FrameRejected

_CONTROL = {ACK: AckReceived(), NAK: NakReceived(), EOT: EotReceived()}


class _State(Enum):
    IDLE = auto()
    BODY = auto()
    LRC = auto()


class FrameReader:
    """Incremental frame parser.

    Bytes outside a frame other than ACK, NAK, EOT and STX are line noise, counted in
    `discarded`. A partial frame cut off by a new STX (the sender started again) or
    dropped by `resync()` is counted in `dropped`. While `in_frame` is true the caller
    may run an inter-byte timer and call `abandon()` when it expires.
    """

    def __init__(self) -> None:
        self._state = _State.IDLE
        self._body = bytearray()
        self.discarded = 0
        self.dropped = 0

    @property
    def in_frame(self) -> bool:
        return self._state is not _State.IDLE

    def resync(self) -> None:
        """Forget a partial frame without answering it."""
        if self._state is not _State.IDLE:
            self.dropped += 1
        self._reset()

    def abandon(self) -> FrameRejected | None:
        """An inter-byte timer expired: a partial frame is to be NAKed."""
        if self._state is _State.IDLE:
            return None
        got = len(self._body)
        self._reset()
        return FrameRejected(FrameError(f"frame incomplete after {got} bytes"))

    def _reset(self) -> None:
        self._state = _State.IDLE
        self._body = bytearray()

    def feed(self, data: bytes) -> list[LinkEvent]:
        events: list[LinkEvent] = []
        pos, end = 0, len(data)
        while pos < end:
            state = self._state
            if state is _State.BODY:
                # Copy the run up to the next ETX or STX in one slice, not byte by byte.
                stop = _next_of(data, pos, end)
                if len(self._body) + stop - pos > MAX_BODY:
                    self._reset()
                    events.append(FrameRejected(FrameError(f"frame longer than {MAX_BODY} bytes")))
                    pos = stop
                    continue
                self._body += data[pos:stop]
                if stop == end:
                    break
                if data[stop] == ETX:
                    self._state = _State.LRC
                else:
                    # STX inside a body: the sender started afresh, keep the new frame.
                    self.dropped += 1
                    self._body = bytearray()
                pos = stop + 1
            elif state is _State.LRC:
                body = bytes(self._body)
                self._reset()
                expected = lrc(body)
                if data[pos] == expected:
                    events.append(FrameReceived(body))
                else:
                    events.append(
                        FrameRejected(
                            LrcError(f"LRC {data[pos]:02X} does not match {expected:02X}")
                        )
                    )
                pos += 1
            else:
                byte = data[pos]
                pos += 1
                if byte == STX:
                    self._state = _State.BODY
                elif byte in _CONTROL:
                    events.append(_CONTROL[byte])
                else:
                    self.discarded += 1
        return events


def _next_of(data: bytes, pos: int, end: int) -> int:
    """Index of the next ETX or STX at or after `pos`, or `end`."""
    etx = data.find(b"\x03", pos)
    stx = data.find(b"\x02", pos, etx if etx >= 0 else end)
    if stx >= 0:
        return stx
    return etx if etx >= 0 else end
