"""The one exception family of the ZVT core: decoding any bytes raises only these."""

from __future__ import annotations


class ZvtError(Exception):
    """Base of every error the ZVT core raises."""


class FrameError(ZvtError):
    """A serial frame is malformed (bad DLE sequence, truncated, garbage)."""


class CrcError(FrameError):
    """A serial frame arrived whole but its CRC does not match."""


class ApduError(ZvtError):
    """An APDU's control field or length does not fit its data."""


class BmpError(ZvtError):
    """A BMP-tagged field is unknown, truncated or holds an invalid value."""


class TlvError(ZvtError):
    """A TLV container (BMP 06) is malformed."""


class MessageError(ZvtError):
    """An APDU does not have the layout its message kind requires."""


class DialogueError(ZvtError):
    """The peer sent something the dialogue does not allow at this point."""


class TransmissionError(ZvtError):
    """A frame was not acknowledged after the spec's three sends."""


class TimeoutExpired(ZvtError):
    """A dialogue timer (T3 or T4) ran out before the terminal answered."""

    def __init__(self, timer: str, message: str) -> None:
        super().__init__(message)
        self.timer = timer
