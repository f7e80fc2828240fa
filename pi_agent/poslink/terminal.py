"""The terminal (PT) side of POSLink, sans-I/O: reads requests, writes responses.

The base of a simulated terminal. Intact request frames are ACKed and decoded
(`RequestReceived`, or `RequestRefused` for one a real terminal answers with
100003 or 100004); frames with a wrong LRC are NAKed. `respond(response)` returns
the response frame; a NAK from the ECR makes us resend it (three sends in all),
its ACK or EOT ends the exchange.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import FieldError
from .events import Ack, Eot, Nak, Rejected
from .framing import (
    ACK_BYTE,
    NAK_BYTE,
    AckReceived,
    EotReceived,
    FrameReader,
    FrameReceived,
    FrameRejected,
    NakReceived,
    encode_frame,
)
from .messages import Request, Response, decode_request

MAX_SENDS = 3


@dataclass(frozen=True, slots=True)
class RequestReceived:
    request: Request


@dataclass(frozen=True, slots=True)
class RequestRefused:
    """An intact frame that is no request we can take; answer it with 100003."""

    body: bytes
    error: FieldError


TerminalEvent = RequestReceived | RequestRefused | Rejected | Ack | Nak | Eot


class TerminalSide:
    def __init__(self, ack_requests: bool = True) -> None:
        # Some terminals never ACK a request; a simulator can play one.
        self.ack_requests = ack_requests
        self.reader = FrameReader()
        self._out = bytearray()
        self._pending = b""  # the response frame until the ECR ACKs it
        self._sends = 0

    def respond(self, response: Response) -> bytes:
        frame = encode_frame(response.encode())
        self._pending, self._sends = frame, 1
        return frame

    def data_to_send(self) -> bytes:
        out = bytes(self._out)
        self._out.clear()
        return out

    def receive_data(self, data: bytes) -> list[TerminalEvent]:
        events: list[TerminalEvent] = []
        for ev in self.reader.feed(data):
            if isinstance(ev, FrameReceived):
                if self.ack_requests:
                    self._out += ACK_BYTE
                try:
                    events.append(RequestReceived(decode_request(ev.body)))
                except FieldError as exc:
                    events.append(RequestRefused(ev.body, exc))
            elif isinstance(ev, FrameRejected):
                self._out += NAK_BYTE
                events.append(Rejected(ev.error))
            elif isinstance(ev, AckReceived):
                if self._pending:
                    self._pending = b""
                    events.append(Ack())
            elif isinstance(ev, NakReceived):
                resend = bool(self._pending) and self._sends < MAX_SENDS
                if resend:
                    self._sends += 1
                    self._out += self._pending
                events.append(Nak(resent=resend))
            elif isinstance(ev, EotReceived):
                self._pending = b""
                events.append(Eot())
        return events
