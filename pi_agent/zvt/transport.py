"""Transport layer, sans-I/O: serial frames with ACK/NAK and three sends, or bare APDUs over TCP.

Used by both ends: the ECR dialogue (`dialogue.py`) and the simulated terminal.
Feed received bytes to `receive_data`, write out `data_to_send()`, and call
`expire(name)` when an armed timer runs out.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import FrameError, TransmissionError
from .framing import (
    ACK_BYTE,
    NAK_BYTE,
    AckReceived,
    ApduReader,
    FrameReader,
    FrameReceived,
    FrameRejected,
    NakReceived,
    encode_frame,
)
from .timers import Armed, Timeouts

MAX_SENDS = 3  # the first send and two repeats (spec §1.4)


@dataclass(frozen=True, slots=True)
class Delivered:
    """An APDU arrived intact (and, on serial, was acknowledged)."""

    apdu: bytes


@dataclass(frozen=True, slots=True)
class Sent:
    """Our APDU reached the peer (ACK on serial; handed to the socket on TCP)."""

    apdu: bytes


@dataclass(frozen=True, slots=True)
class SendFailed:
    error: TransmissionError


@dataclass(frozen=True, slots=True)
class Rejected:
    """A broken frame from the peer, answered with NAK."""

    error: FrameError


TransportEvent = Delivered | Sent | SendFailed | Rejected


class Transport:
    """One end of a ZVT link. `serial=False` is ZVT over TCP: no framing, CRC or ACK."""

    def __init__(self, serial: bool = True, timeouts: Timeouts | None = None) -> None:
        self.serial = serial
        self.timeouts = timeouts or Timeouts()
        self._reader: FrameReader | ApduReader = FrameReader() if serial else ApduReader()
        self._out = bytearray()
        self._pending: bytes | None = None  # APDU awaiting ACK
        self._sends = 0
        self._t1_gen = 0
        self._t2_gen = 0
        self.nak_sent = 0
        self.repeats = 0
        self._refuse = 0  # well-formed frames still to NAK (line-noise emulation)

    @property
    def awaiting_ack(self) -> bool:
        return self._pending is not None

    def send(self, apdu: bytes) -> list[TransportEvent]:
        """Queue an APDU. On serial only one may be unacknowledged at a time."""
        if not self.serial:
            self._out += apdu
            return [Sent(apdu)]
        if self._pending is not None:
            raise TransmissionError("a frame is still waiting for its ACK")
        self._pending, self._sends = apdu, 0
        self._transmit()
        return []

    def _transmit(self) -> None:
        assert self._pending is not None
        self._out += encode_frame(self._pending)
        self._sends += 1
        self._t2_gen += 1

    def refuse_frames(self, count: int) -> None:
        """NAK `count` more well-formed frames as if they were garbled (fault injection)."""
        self._refuse += count

    def resync(self) -> None:
        """Drop a partial frame before a new dialogue (see `EcrConnection.send`)."""
        self._reader.resync()

    def data_to_send(self) -> bytes:
        out = bytes(self._out)
        self._out.clear()
        return out

    def armed(self) -> tuple[Armed, ...]:
        timers = []
        if self.serial and self._reader.in_frame:
            # Only serial frames have an inter-byte limit; a TCP stream arrives in pieces,
            # and dropping a partial APDU there would lose the stream's framing.
            timers.append(Armed("T1", self.timeouts.t1, self._t1_gen))
        if self._pending is not None:
            timers.append(Armed("T2", self.timeouts.t2, self._t2_gen))
        return tuple(timers)

    def receive_data(self, data: bytes) -> list[TransportEvent]:
        if data:
            self._t1_gen += 1  # any byte restarts the inter-byte timer
        events: list[TransportEvent] = []
        for link_event in self._reader.feed(data):
            events.extend(self._on_link_event(link_event))
        return events

    def _on_link_event(self, ev: object) -> list[TransportEvent]:
        if isinstance(ev, FrameReceived) and self._refuse > 0:
            self._refuse -= 1
            ev = FrameRejected(FrameError("frame refused (injected fault)"))
        if isinstance(ev, FrameReceived):
            out: list[TransportEvent] = []
            if self.serial:
                self._out += ACK_BYTE
                if self._pending is not None:
                    # The peer moved on, so it got our frame; only its ACK was lost.
                    out.append(Sent(self._pending))
                    self._pending = None
            out.append(Delivered(ev.apdu))
            return out
        if isinstance(ev, FrameRejected):
            if self.serial:  # TCP has no ACK/NAK (spec §1.6)
                self._out += NAK_BYTE
                self.nak_sent += 1
            return [Rejected(ev.error)]
        if isinstance(ev, AckReceived):
            if self._pending is None:
                return []  # a stray ACK (e.g. a late one after a repeat): harmless
            apdu, self._pending = self._pending, None
            return [Sent(apdu)]
        if isinstance(ev, NakReceived):
            return self._repeat_or_fail("NAK")
        return []

    def _repeat_or_fail(self, why: str) -> list[TransportEvent]:
        if self._pending is None:
            return []
        if self._sends < MAX_SENDS:
            self.repeats += 1
            self._transmit()
            return []
        apdu, self._pending = self._pending, None
        error = TransmissionError(
            f"frame {apdu[:2].hex(' ')} not acknowledged after {MAX_SENDS} sends (last: {why})"
        )
        return [SendFailed(error)]

    def expire(self, name: str) -> list[TransportEvent]:
        if name == "T1":
            rejected = self._reader.abandon()
            return self._on_link_event(rejected) if rejected else []
        if name == "T2":
            return self._repeat_or_fail("no answer within T2")
        return []
