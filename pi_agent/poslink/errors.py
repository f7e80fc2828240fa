"""The one exception family of the POSLink core: decoding any bytes raises only these."""

from __future__ import annotations


class PosLinkError(Exception):
    """Base of every error the POSLink core raises."""


class FrameError(PosLinkError):
    """A frame is malformed (overlong, cut off by a new STX, garbage)."""


class LrcError(FrameError):
    """A frame arrived whole but its LRC does not match: the receiver answers NAK."""


class FieldError(PosLinkError):
    """A message's fields do not have the layout or values its command requires."""


class AmountError(FieldError):
    """An amount is not integer cents ("." or "-" in it); PAX answers such a request 100003."""


class ExchangeError(PosLinkError):
    """The peer did something the request/response exchange does not allow at this point."""


class TransmissionError(ExchangeError):
    """A frame was refused three times (NAK), or the peer gave up (EOT)."""


class TimeoutExpired(ExchangeError):
    """An armed timer ran out before the exchange finished."""

    def __init__(self, timer: str, message: str) -> None:
        super().__init__(message)
        self.timer = timer
