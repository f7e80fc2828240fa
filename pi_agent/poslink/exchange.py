"""The ECR side of one POSLink request/response exchange as a state machine, sans-I/O.

Theory of operation: `send(request)` returns the frame to write. The terminal ACKs
it (or NAKs: we resend, three sends in all; or gives up with EOT), then sends its
response frame, which we ACK and the exchange is done. A response frame with a
wrong LRC is NAKed so the terminal resends it; the third bad one gets EOT instead
and the exchange fails. The allowed steps are the table `TRANSITIONS`; what it does
not list (bytes after the end, a stray ACK while idle) is ignored and counted.

Terminals in the field differ, so receiving is generous: the ACK may come as its
own read, in one chunk with the response, or never (the response alone counts).
Silence never triggers a resend: a repeated B00 could close a second batch. The
one timer, "response", runs from the send until the response; the caller enforces
it with its own clock and reports `expire("response")`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from .errors import ExchangeError, FieldError, PosLinkError, TimeoutExpired, TransmissionError
from .events import Ack, Eot, Nak, Rejected
from .framing import (
    ACK_BYTE,
    EOT_BYTE,
    NAK_BYTE,
    AckReceived,
    EotReceived,
    FrameReader,
    FrameReceived,
    FrameRejected,
    LinkEvent,
    NakReceived,
    encode_frame,
)
from .messages import Request, Response, decode_response

MAX_SENDS = 3  # our request: the first send and two resends after NAK
MAX_BAD_FRAMES = 3  # the terminal's response: two NAKs, then EOT


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Seconds. PAX SDKs wait 60 s by default; one GP SDK 30 s. A batch close can be slow."""

    response: float = 60.0


@dataclass(frozen=True, slots=True)
class Armed:
    """A timer the caller should run; a new `generation` means start it afresh."""

    name: str
    seconds: float
    generation: int


class State(Enum):
    IDLE = "idle"  # nothing sent yet
    WAIT_ACK = "wait-ack"  # request written; ACK, NAK, EOT or the response may come
    WAIT_RESPONSE = "wait-response"  # terminal has the request (ACK or a broken answer)
    DONE = "done"  # response acknowledged, or the exchange failed


class Kind(Enum):
    ACK = "ack"
    NAK = "nak"
    EOT = "eot"
    RESPONSE = "response"  # intact frame answering our request
    STRAY = "stray"  # intact response to another command (a late one from before)
    MALFORMED = "malformed"  # intact frame that is no response
    BAD_FRAME = "bad-frame"  # wrong LRC or overlong: to be NAKed


class Action(Enum):
    NONE = "none"
    RESEND = "resend"  # NAK from the terminal: send the request again, or give up
    NAK = "nak"  # bad frame: NAK it, or EOT on the third
    ACCEPT = "accept"  # ACK the response; done
    ACK = "ack"  # ACK an intact frame we do not use
    FAIL = "fail"  # terminal sent EOT
    REFUSE = "refuse"  # ACK the frame (it is intact) but fail: it answers nothing


# (state, kind) -> (next state, action). Pairs not listed are ignored and counted.
TRANSITIONS: dict[tuple[State, Kind], tuple[State, Action]] = {
    (State.WAIT_ACK, Kind.ACK): (State.WAIT_RESPONSE, Action.NONE),
    (State.WAIT_ACK, Kind.NAK): (State.WAIT_ACK, Action.RESEND),
    (State.WAIT_ACK, Kind.EOT): (State.DONE, Action.FAIL),
    (State.WAIT_ACK, Kind.RESPONSE): (State.DONE, Action.ACCEPT),  # no ACK at all
    (State.WAIT_ACK, Kind.STRAY): (State.WAIT_ACK, Action.ACK),
    (State.WAIT_ACK, Kind.MALFORMED): (State.DONE, Action.REFUSE),
    # A garbled answer means the terminal got the request: never resend it now.
    (State.WAIT_ACK, Kind.BAD_FRAME): (State.WAIT_RESPONSE, Action.NAK),
    (State.WAIT_RESPONSE, Kind.ACK): (State.WAIT_RESPONSE, Action.NONE),  # repeated ACK
    # A NAK after the ACK answers nothing we sent; resending could close a batch twice.
    (State.WAIT_RESPONSE, Kind.NAK): (State.WAIT_RESPONSE, Action.NONE),
    (State.WAIT_RESPONSE, Kind.EOT): (State.DONE, Action.FAIL),
    (State.WAIT_RESPONSE, Kind.RESPONSE): (State.DONE, Action.ACCEPT),
    (State.WAIT_RESPONSE, Kind.STRAY): (State.WAIT_RESPONSE, Action.ACK),
    (State.WAIT_RESPONSE, Kind.MALFORMED): (State.DONE, Action.REFUSE),
    (State.WAIT_RESPONSE, Kind.BAD_FRAME): (State.WAIT_RESPONSE, Action.NAK),
    # Our ACK got lost and the terminal repeats its response: ACK it again.
    (State.DONE, Kind.RESPONSE): (State.DONE, Action.ACK),
    (State.DONE, Kind.STRAY): (State.DONE, Action.ACK),
}


@dataclass(slots=True)
class ExchangeResult:
    request: Request
    response: Response | None = None
    error: PosLinkError | None = None
    acked: bool = False  # the terminal ACKed our request (many never do)
    sends: int = 0
    late: list[Response] = field(default_factory=list)  # answers after a failure

    @property
    def completed(self) -> bool:
        """A response arrived; whether the terminal approved is `response.ok`."""
        return self.response is not None and self.error is None


@dataclass(frozen=True, slots=True)
class ResponseReceived:
    response: Response
    late: bool = False  # after the exchange had ended (failed, or our ACK was lost)


@dataclass(frozen=True, slots=True)
class Ended:
    result: ExchangeResult


Event = Ack | Nak | Eot | ResponseReceived | Rejected | Ended


class EcrExchange:
    """The ECR end of a POSLink link, one request/response exchange at a time."""

    def __init__(self, timeouts: Timeouts | None = None) -> None:
        self.timeouts = timeouts or Timeouts()
        self.reader = FrameReader()
        self.state = State.IDLE
        self.result: ExchangeResult | None = None
        self.ignored = 0  # events the table does not list for the state they came in
        self._frame = b""
        self._bad_frames = 0
        self._generation = 0
        self._out = bytearray()

    # -- caller API

    def send(self, request: Request) -> bytes:
        """Start an exchange; returns the frame to write."""
        if self.state in (State.WAIT_ACK, State.WAIT_RESPONSE):
            raise ExchangeError(f"cannot send {request.command}: an exchange is {self.state.value}")
        frame = encode_frame(request.encode())  # may raise FieldError before anything changes
        self.reader.resync()  # a partial frame from before belongs to no exchange
        self.result = ExchangeResult(request, sends=1)
        self._frame = frame
        self._bad_frames = 0
        self._generation += 1
        self.state = State.WAIT_ACK
        return frame

    def data_to_send(self) -> bytes:
        """ACK, NAK, EOT or a resent request queued by `receive_data`."""
        out = bytes(self._out)
        self._out.clear()
        return out

    def armed(self) -> tuple[Armed, ...]:
        if self.state in (State.WAIT_ACK, State.WAIT_RESPONSE):
            return (Armed("response", self.timeouts.response, self._generation),)
        return ()

    def expire(self, name: str) -> list[Event]:
        if name != "response" or not self.armed():
            return []
        seconds = self.timeouts.response
        return self._fail(TimeoutExpired(name, f"no response within {seconds:g} s"))

    def receive_data(self, data: bytes) -> list[Event]:
        events: list[Event] = []
        for link_event in self.reader.feed(data):
            events.extend(self._on_link_event(link_event))
        return events

    # -- internals

    def _on_link_event(self, ev: LinkEvent) -> list[Event]:
        response: Response | None = None
        error: PosLinkError | None = None
        if isinstance(ev, AckReceived):
            kind = Kind.ACK
        elif isinstance(ev, NakReceived):
            kind = Kind.NAK
        elif isinstance(ev, EotReceived):
            kind = Kind.EOT
        elif isinstance(ev, FrameRejected):
            kind, error = Kind.BAD_FRAME, ev.error
        else:
            kind, response, error = self._classify(ev)
        step = TRANSITIONS.get((self.state, kind))
        if step is None:
            self.ignored += 1
            return []
        next_state, action = step
        assert self.result is not None  # every listed state follows a send
        self.state = next_state
        if action is Action.NONE:
            if kind is Kind.ACK:
                self.result.acked = True
                return [Ack()]
            return [Nak(resent=False)] if kind is Kind.NAK else []
        if action is Action.RESEND:
            if self.result.sends >= MAX_SENDS:
                error = TransmissionError(f"request refused {MAX_SENDS} times (NAK)")
                return [Nak(resent=False), *self._fail(error)]
            self.result.sends += 1
            self._generation += 1
            self._out += self._frame
            return [Nak(resent=True)]
        if action is Action.NAK:
            assert error is not None
            self._bad_frames += 1
            self._generation += 1  # the terminal resends; give it the full time again
            if self._bad_frames >= MAX_BAD_FRAMES:
                self._out += EOT_BYTE
                lost = TransmissionError(f"response garbled {MAX_BAD_FRAMES} times: {error}")
                return [Rejected(error), *self._fail(lost)]
            self._out += NAK_BYTE
            return [Rejected(error)]
        if action is Action.FAIL:
            return [Eot(), *self._fail(TransmissionError("terminal ended the exchange (EOT)"))]
        self._out += ACK_BYTE  # ACCEPT, ACK and REFUSE: the frame arrived intact
        if action is Action.REFUSE:
            assert error is not None
            return [Rejected(error), *self._fail(error)]
        if response is None:
            return []
        if action is Action.ACCEPT:
            self.result.response = response
            return [ResponseReceived(response), Ended(self.result)]
        if self.state is State.DONE and self.result.response != response:
            self.result.late.append(response)
            return [ResponseReceived(response, late=True)]
        return []

    def _classify(self, ev: FrameReceived) -> tuple[Kind, Response | None, PosLinkError | None]:
        try:
            response = decode_response(ev.body)
        except FieldError as exc:
            return Kind.MALFORMED, None, exc
        expected = self.result.request.response_command if self.result else ""
        return (Kind.RESPONSE if response.command == expected else Kind.STRAY), response, None

    def _fail(self, error: PosLinkError) -> list[Event]:
        assert self.result is not None
        self.state = State.DONE
        self.result.error = error
        return [Ended(self.result)]
