"""Talking to the payment terminal: the serial link, the `Terminal` interface, the protocol
registry and its one composition root, `open_terminal(cfg)`."""

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
from .registry import Capability, Use, open_terminal

__all__ = [
    "BatchTotals", "Capability", "CardTypeTotal", "CommandRefused", "Condition", "LineSettings",
    "Link", "LinkState", "NoAnswer", "OperationResult", "Outcome", "PortUnavailable", "Progress",
    "ProtocolFault", "SettlementResult", "Terminal", "TerminalError", "TerminalStatus",
    "Use", "open_terminal",
]  # fmt: skip
