"""SettleGuard: a countertop guard that makes sure the card terminal's batch gets settled."""

__version__ = "0.1.0"
