"""Clock objects: logic asks a clock for the time, never `datetime.now()`.

`SystemClock` on the appliance, `FastClock` for the demo (a trading day in minutes),
`FakeClock` in tests (moved by hand, including jumps). `now()` is always timezone-aware
UTC; local time comes from converting it to the configured zone.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol

_TIME_ERROR = 5  # adjtimex(2): the kernel's clock is not synchronised


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, aware, in UTC."""

    def monotonic(self) -> float:
        """Seconds on a clock that never jumps, for timeouts and intervals."""

    def synchronised(self) -> bool | None:
        """Whether the clock is known to be right (NTP or RTC); None if unknown."""


class SystemClock:
    """The real clock. `synchronised` asks the kernel (chrony and timesyncd both tell it)."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()

    def synchronised(self) -> bool | None:
        return kernel_clock_synchronised()


class FastClock:
    """Virtual time that starts at `start` and runs `speed` times faster than real time."""

    def __init__(self, start: datetime, speed: float) -> None:
        if start.tzinfo is None:
            raise ValueError("FastClock needs an aware start time")
        if speed <= 0:
            raise ValueError("FastClock speed must be positive")
        self._start = start.astimezone(UTC)
        self._speed = speed
        self._t0 = time.monotonic()

    @property
    def speed(self) -> float:
        return self._speed

    def now(self) -> datetime:
        return self._start + timedelta(seconds=(time.monotonic() - self._t0) * self._speed)

    def monotonic(self) -> float:
        return (time.monotonic() - self._t0) * self._speed

    def synchronised(self) -> bool | None:
        return True


class FakeClock:
    """A clock tests move by hand; `jump` changes wall time only, as an NTP step does."""

    def __init__(self, start: datetime, synchronised: bool | None = True) -> None:
        if start.tzinfo is None:
            raise ValueError("FakeClock needs an aware start time")
        self._now = start.astimezone(UTC)
        self._mono = 0.0
        self._synced = synchronised
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def monotonic(self) -> float:
        with self._lock:
            return self._mono

    def synchronised(self) -> bool | None:
        return self._synced

    def set_synchronised(self, value: bool | None) -> None:
        self._synced = value

    def advance(self, delta: timedelta | float) -> datetime:
        seconds = delta.total_seconds() if isinstance(delta, timedelta) else float(delta)
        if seconds < 0:
            raise ValueError("time only advances; use jump() for a clock step")
        with self._lock:
            self._now += timedelta(seconds=seconds)
            self._mono += seconds
            return self._now

    def jump(self, delta: timedelta) -> datetime:
        with self._lock:
            self._now += delta
            return self._now


class _Timex(ctypes.Structure):
    # struct timex (<sys/timex.h>): only `modes` is input. The padding is larger than the
    # struct on 64-bit and 32-bit ARM alike, so the kernel never writes past our buffer.
    _fields_ = [("modes", ctypes.c_uint), ("_pad", ctypes.c_byte * 252)]


def kernel_clock_synchronised() -> bool | None:
    """adjtimex(2) with no changes: TIME_ERROR means unsynchronised; None if not on Linux."""
    path = ctypes.util.find_library("c")
    if path is None:
        return None
    try:
        libc = ctypes.CDLL(path, use_errno=True)
        state = libc.adjtimex(ctypes.byref(_Timex()))
    except (OSError, AttributeError):
        return None
    if state < 0:
        return None
    return state != _TIME_ERROR
