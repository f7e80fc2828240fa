"""systemd notifications, and a watchdog that tells a busy guard from a stuck one.

The guard loop runs one job at a time, and an end-of-day may hold it for minutes: ZVT
lets a terminal take T4 = 180 s between messages while it talks to its host. Pinging
only from the loop's tick would get the guard killed mid-settlement (WatchdogSec=60).
So pings come from a thread of their own, and only while the loop has promised to be
back: each finished job promises the next within `stall` seconds, and a terminal
dialogue promises its protocol deadline every time it arms a timer or hears a byte. A
loop that breaks its promise (deadlocked, spinning, waiting on nothing) stops the pings
and systemd restarts the service.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable

DEFAULT_STALL = 30.0  # seconds a job may run without news before the loop counts as stuck


def sd_notify(message: str) -> bool:
    """Send a systemd notification if NOTIFY_SOCKET is set (no library needed)."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        try:
            sock.sendto(message.encode(), address)
        except OSError:
            return False
    return True


def watchdog_interval() -> float | None:
    """systemd's WatchdogSec for this process (WATCHDOG_USEC), in seconds; None if off."""
    usec = os.environ.get("WATCHDOG_USEC", "")
    pid = os.environ.get("WATCHDOG_PID")
    if not usec.isdigit() or int(usec) == 0 or (pid and pid != str(os.getpid())):
        return None
    return int(usec) / 1e6


class Heartbeat:
    """The loop's promise: "I will be back by `until`" (monotonic seconds)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._until = 0.0

    def beat(self, until: float) -> None:
        self._until = until  # a float store is atomic; the latest promise counts

    def promise(self, seconds: float) -> None:
        self.beat(self._clock() + seconds)

    def alive(self) -> bool:
        return self._clock() <= self._until


class Watchdog:
    """Pings WATCHDOG=1 at a third of systemd's interval while the heartbeat is alive."""

    def __init__(self, heartbeat: Heartbeat, interval: float,
                 notify: Callable[[str], bool] = sd_notify) -> None:  # fmt: skip
        self.heartbeat = heartbeat
        self.every = interval / 3
        self._notify = notify
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="watchdog", daemon=True)

    def start(self) -> Watchdog:
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            if self.heartbeat.alive():
                self._notify("WATCHDOG=1")

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
