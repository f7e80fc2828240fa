"""A serial line's pace for the simulators: bytes take their wire time, as through a UART.

A pty moves any number of bytes at once; a 9600 baud line moves one byte every
bits/baud seconds. `Wire` holds what was read until its last byte would have
arrived, and lets out what is to be written only as fast as the line sends it.
It keeps no clock of its own: the caller passes `now` and sleeps until `next_due()`.
With `byte_time` 0 nothing waits (unpaced).
"""

from __future__ import annotations

from collections import deque

EPSILON = 1e-9  # a wake-up at exactly the due time must not round down to zero bytes


class Wire:
    def __init__(self, byte_time: float = 0.0) -> None:
        self.byte_time = byte_time
        self._rx: deque[tuple[float, bytes]] = deque()
        self._rx_free = 0.0  # when the line in is free again
        self._tx = bytearray()
        self._tx_free = 0.0  # when the next byte out may start

    @classmethod
    def at(cls, baudrate: int, bits_per_byte: int, pace: bool) -> Wire:
        return cls(bits_per_byte / baudrate if pace else 0.0)

    def arrived(self, data: bytes, now: float) -> None:
        """Bytes the peer wrote, read at `now`: received once their wire time has passed."""
        due = max(now, self._rx_free) + len(data) * self.byte_time
        self._rx_free = due
        self._rx.append((due, data))

    def received(self, now: float) -> list[bytes]:
        """What has arrived by `now`, in order."""
        out = []
        while self._rx and now >= self._rx[0][0]:
            out.append(self._rx.popleft()[1])
        return out

    def send(self, data: bytes, now: float) -> None:
        if not self._tx:
            self._tx_free = max(self._tx_free, now)  # an idle line starts sending now
        self._tx += data

    @property
    def sending(self) -> bool:
        return bool(self._tx)

    def take(self, now: float) -> bytes:
        """The bytes whose wire time has passed by `now`: write them to the port."""
        if not self.byte_time:
            data = bytes(self._tx)
            self._tx.clear()
            return data
        count = int((now - self._tx_free) / self.byte_time + EPSILON)
        if count < 1:
            return b""
        chunk = bytes(self._tx[:count])
        del self._tx[:count]
        self._tx_free += len(chunk) * self.byte_time
        return chunk

    def next_due(self) -> float | None:
        """When something is next received or sent; None when the line is idle."""
        times = []
        if self._rx:
            times.append(self._rx[0][0])
        if self._tx:
            times.append(self._tx_free + self.byte_time)
        return min(times, default=None)

    def clear(self) -> None:
        """Unplugged or reset: bytes on the line are lost."""
        self._rx.clear()
        self._tx.clear()
