"""Fault injection for the simulator: the failures a terminal line and its host really show.

Specs: `nak:N` (NAK the next N frames from the ECR), `crc:N` (corrupt the CRC of the next N
frames sent), `drop:N` (drop a byte from the next N frames sent), `silent:S` (answer nothing
for S seconds), `busy:S` (stream "please wait" for S seconds before the next answer),
`host-down[:RC]` (end-of-day, diagnosis and initialisation abort with result code RC, hex,
default 9B, until cleared), `unplug:S` (the port disappears and comes back after S seconds).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

DEFAULT_HOST_DOWN = 0x9B


class FaultSpecError(ValueError):
    """A fault spec that cannot be understood; the message names the spec and the problem."""


@dataclass(frozen=True, slots=True)
class Fault:
    kind: str
    count: int = 1
    seconds: float = 0.0
    code: int = DEFAULT_HOST_DOWN


_COUNTED = ("nak", "crc", "drop")
_TIMED = ("silent", "busy", "unplug")
KINDS = (*_COUNTED, *_TIMED, "host-down")


def parse_fault(spec: str) -> Fault:
    kind, _, arg = spec.strip().partition(":")
    kind = kind.lower()
    if kind not in KINDS:
        raise FaultSpecError(f"fault {spec!r}: unknown kind {kind!r} (one of {', '.join(KINDS)})")
    if kind in _COUNTED:
        if arg and (not arg.isdigit() or not 0 < int(arg) <= 100):
            raise FaultSpecError(f"fault {spec!r}: count must be a whole number 1-100")
        return Fault(kind, count=int(arg or 1))
    if kind in _TIMED:
        try:
            seconds = float(arg) if arg else 5.0
        except ValueError:
            raise FaultSpecError(f"fault {spec!r}: {arg!r} is not a number of seconds") from None
        if not 0 < seconds <= 3600:
            raise FaultSpecError(f"fault {spec!r}: seconds must be between 0 and 3600")
        return Fault(kind, seconds=seconds)
    try:
        code = int(arg, 16) if arg else DEFAULT_HOST_DOWN
    except ValueError:
        raise FaultSpecError(f"fault {spec!r}: {arg!r} is not a hex result code") from None
    if not 0 < code <= 0xFF:
        raise FaultSpecError(f"fault {spec!r}: result code must be 01-FF")
    return Fault(kind, code=code)


class Faults:
    """The active faults; the server consumes them, control threads add and clear them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.counts = dict.fromkeys(_COUNTED, 0)
        self.host_down: int | None = None
        self.pending: list[Fault] = []  # timed faults for the server loop to start

    def add(self, fault: Fault) -> None:
        with self._lock:
            if fault.kind in _COUNTED:
                self.counts[fault.kind] += fault.count
            elif fault.kind == "host-down":
                self.host_down = fault.code
            else:
                self.pending.append(fault)

    def clear(self) -> None:
        with self._lock:
            self.counts = dict.fromkeys(_COUNTED, 0)
            self.host_down = None
            self.pending.clear()

    def take(self, kind: str) -> bool:
        """Use up one occurrence of a counted fault; False if none is left."""
        with self._lock:
            if self.counts[kind] <= 0:
                return False
            self.counts[kind] -= 1
            return True

    def take_pending(self) -> list[Fault]:
        with self._lock:
            taken, self.pending = self.pending, []
            return taken

    def describe(self) -> list[str]:
        with self._lock:
            out = [f"{k}:{n}" for k, n in self.counts.items() if n]
            if self.host_down is not None:
                out.append(f"host-down:{self.host_down:02X}")
            return out + [f"{f.kind}:{f.seconds:g}" for f in self.pending]
