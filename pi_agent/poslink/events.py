"""Events both ends of a POSLink link hand out: the peer's control bytes and our NAKs."""

from __future__ import annotations

from dataclasses import dataclass

from .errors import PosLinkError


@dataclass(frozen=True, slots=True)
class Ack:
    """The peer acknowledged our frame."""


@dataclass(frozen=True, slots=True)
class Nak:
    """The peer refused our frame; `resent` tells whether we sent it again."""

    resent: bool


@dataclass(frozen=True, slots=True)
class Eot:
    """The peer ended the exchange."""


@dataclass(frozen=True, slots=True)
class Rejected:
    """A frame we answered with NAK (or EOT), or an intact frame that answers nothing."""

    error: PosLinkError
