"""The protocol-neutral `Terminal` interface and its errors; ZVT is the first driver behind it."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from datetime import datetime

from .models import BatchTotals, OperationResult, Progress, SettlementResult, TerminalStatus

ProgressCallback = Callable[[Progress], None]


class TerminalError(Exception):
    """Base of the errors a `Terminal` raises; the message is one line fit for a person."""


class PortUnavailable(TerminalError):
    """The port cannot be opened, or it disappeared (unplugged)."""


class NoAnswer(TerminalError):
    """The port is open but the terminal did not answer in time (or never acknowledged)."""


class ProtocolFault(TerminalError):
    """The terminal answered with something the protocol does not allow here."""


class CommandRefused(TerminalError):
    """The terminal answered and refused or aborted the command."""

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


class Terminal(ABC):
    """A payment terminal the guard can read and settle, whatever its protocol."""

    @abstractmethod
    def status(self) -> TerminalStatus: ...

    @abstractmethod
    def totals(self) -> BatchTotals:
        """The open batch, read without closing it."""

    @abstractmethod
    def settle(self, progress: ProgressCallback | None = None) -> SettlementResult:
        """End-of-day: close the batch. Never raises once the command may have left:
        a lost answer is `Outcome.UNKNOWN`."""

    def watch(self, beat: Callable[[float], None]) -> None:
        """Call `beat(until)` while a dialogue runs, `until` being the monotonic time by which
        it will have news (its protocol deadline): a watchdog tells busy from stuck by it."""
        self._beat = beat

    def beat(self, until: float) -> None:
        """For drivers: a dialogue is alive and expects news by `until`."""
        beat = getattr(self, "_beat", None)
        if beat is not None:
            beat(until)

    def last_settlement(self) -> BatchTotals | None:
        """The totals of the terminal's last end-of-day, asked again after its answer was
        lost; None when the terminal cannot say (or its last receipt was not one)."""
        return None

    def force_settle(self, progress: ProgressCallback | None = None) -> SettlementResult:
        """Close the batch without the host (POSLink B02): only ever a person's explicit
        choice. Protocols without it refuse."""
        raise CommandRefused("this terminal's protocol has no force close")

    def reboot(self) -> OperationResult:
        raise CommandRefused("this terminal's protocol cannot reboot the terminal")

    @abstractmethod
    def register(self) -> OperationResult: ...

    @abstractmethod
    def diagnose(self, progress: ProgressCallback | None = None) -> OperationResult: ...

    @abstractmethod
    def initialise(self, progress: ProgressCallback | None = None) -> OperationResult: ...

    @abstractmethod
    def set_clock(self, when: datetime) -> OperationResult: ...

    @abstractmethod
    def abort(self) -> OperationResult: ...

    @property
    @abstractmethod
    def connected(self) -> bool: ...

    @abstractmethod
    def wait_connected(self, timeout: float) -> bool: ...

    @abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> Terminal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
