"""Talking to the payment terminal: the serial link, the `Terminal` interface and its drivers."""

from .base import CommandRefused, NoAnswer, PortUnavailable, ProtocolFault, Terminal, TerminalError
from .link import LineSettings, Link, LinkState
from .models import (
    BatchTotals,
    CardTypeTotal,
    Condition,
    OperationResult,
    Outcome,
    Progress,
    SettlementResult,
    TerminalStatus,
)


def open_terminal(url: str, protocol: str = "zvt", **options: object) -> Terminal:
    """The driver for `protocol` on the port `url` (only ZVT so far)."""
    if protocol != "zvt":
        raise ValueError(f"unknown terminal protocol {protocol!r} (supported: zvt)")
    from .zvt import ZvtTerminal

    return ZvtTerminal(url, **options)  # type: ignore[arg-type]


__all__ = [
    "BatchTotals", "CardTypeTotal", "CommandRefused", "Condition", "LineSettings", "Link",
    "LinkState", "NoAnswer", "OperationResult", "Outcome", "PortUnavailable", "Progress",
    "ProtocolFault", "SettlementResult", "Terminal", "TerminalError", "TerminalStatus",
    "open_terminal",
]  # fmt: skip
