"""ZVT timers T1-T4 as data: the sans-I/O core arms them, the caller's clock enforces them.

The core says which timers run (`Armed`); each re-arm bumps `generation`, so the
caller starts a fresh deadline only when the generation changes. `TimerBook` is
that bookkeeping as a pure helper, fed with the caller's monotonic time.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Seconds. T1 is generous on receive (spec: < 200 ms between bytes) for USB adapters."""

    t1: float = 0.5  # inter-byte gap inside a frame before we drop it and NAK
    t2: float = 5.0  # frame sent -> ACK/NAK; on expiry repeat the frame
    t3: float = 5.0  # command acknowledged -> 80 00 / 84 xx
    t4: float = 180.0  # 80 00 -> Completion; restarted by every terminal message


@dataclass(frozen=True, slots=True)
class Armed:
    name: str  # "T1".."T4"
    seconds: float
    generation: int


class TimerBook:
    """Deadlines for the armed timers, in the caller's clock."""

    def __init__(self) -> None:
        self._deadlines: dict[str, tuple[int, float]] = {}

    def update(self, armed: tuple[Armed, ...], now: float) -> None:
        fresh: dict[str, tuple[int, float]] = {}
        for timer in armed:
            known = self._deadlines.get(timer.name)
            if known is not None and known[0] == timer.generation:
                fresh[timer.name] = known
            else:
                fresh[timer.name] = (timer.generation, now + timer.seconds)
        self._deadlines = fresh

    def next_deadline(self) -> float | None:
        return min((d for _, d in self._deadlines.values()), default=None)

    def expired(self, now: float) -> list[str]:
        return sorted(name for name, (_, d) in self._deadlines.items() if d <= now)
