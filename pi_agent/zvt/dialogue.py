"""The ECR side of a ZVT dialogue as a state machine, sans-I/O.

Theory of operation: the ECR is master while idle. `send(command)` hands the
terminal the master role; the terminal acknowledges (80 00, or refuses with
84 xx), then sends any number of progress messages (04 FF, 04 0F, 04 01,
06 D1, 06 D3), each answered by us with 80 00 00, and ends with a Completion
06 0F or an Abort 06 1E, which we answer too. The allowed steps are the table
`TRANSITIONS`; anything else ends the dialogue with a `DialogueError`.

The connection never reads, writes or sleeps: the caller feeds received bytes
to `receive_data`, writes `data_to_send()`, enforces the timers in `armed()`
and reports expiries with `expire(name)`.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from enum import Enum
from typing import TypeVar

from .apdu import Apdu
from .errors import DialogueError, MessageError, TimeoutExpired, ZvtError
from .messages import (
    Command,
    Completion,
    HostDateTime,
    IntermediateStatus,
    Message,
    NegativeAck,
    PositiveAck,
    PrintLine,
    PrintTextBlock,
    PtAbort,
    StatusInformation,
    decode_message,
)
from .timers import Armed, Timeouts
from .transport import Delivered, Rejected, SendFailed, Sent, Transport

M = TypeVar("M", bound=Message)


class State(Enum):
    IDLE = "idle"  # ECR is master, nothing running
    SENDING = "sending"  # command frame waiting for the transport ACK
    WAIT_ACCEPT = "wait-accept"  # T3: waiting for 80 00 / 84 xx
    PT_MASTER = "pt-master"  # T4: terminal is working and reporting
    DONE = "done"  # result known; ECR is master again


class Kind(Enum):
    ACCEPTED = "accepted"
    REFUSED = "refused"
    PROGRESS = "progress"
    COMPLETION = "completion"
    ABORT = "abort"


KIND_OF: dict[type[Message], Kind] = {
    PositiveAck: Kind.ACCEPTED,
    NegativeAck: Kind.REFUSED,
    IntermediateStatus: Kind.PROGRESS,
    StatusInformation: Kind.PROGRESS,
    HostDateTime: Kind.PROGRESS,
    PrintLine: Kind.PROGRESS,
    PrintTextBlock: Kind.PROGRESS,
    Completion: Kind.COMPLETION,
    PtAbort: Kind.ABORT,
}

# (state, kind) -> next state. Receiving is generous where terminals are known to
# differ: a progress message or a final answer without the 80 00 first still counts.
TRANSITIONS: dict[tuple[State, Kind], State] = {
    (State.WAIT_ACCEPT, Kind.ACCEPTED): State.PT_MASTER,
    (State.WAIT_ACCEPT, Kind.REFUSED): State.DONE,
    (State.WAIT_ACCEPT, Kind.PROGRESS): State.PT_MASTER,
    (State.WAIT_ACCEPT, Kind.COMPLETION): State.DONE,
    (State.WAIT_ACCEPT, Kind.ABORT): State.DONE,
    (State.PT_MASTER, Kind.PROGRESS): State.PT_MASTER,
    # A repeated 80 00 00: the terminal lost our ACK byte and sent it again (spec §1.4).
    (State.PT_MASTER, Kind.ACCEPTED): State.PT_MASTER,
    (State.PT_MASTER, Kind.COMPLETION): State.DONE,
    (State.PT_MASTER, Kind.ABORT): State.DONE,
}

# Stray APDUs are kept for inspection; a noisy line sends them without end, so only the
# newest are kept and the rest only counted.
IGNORED_KEPT = 32

# Messages from the terminal that we answer with 80 00 00 (spec §2.3).
ANSWERED = frozenset({Kind.PROGRESS, Kind.COMPLETION, Kind.ABORT})
ACK_APDU = PositiveAck().encode()
UNKNOWN_APDU = NegativeAck(0x83).encode()  # "function not possible / unknown"


@dataclass(slots=True)
class DialogueResult:
    command: Command
    accepted: bool = False
    messages: list[Message] = field(default_factory=list)
    final: Message | None = None  # Completion, PtAbort or NegativeAck
    error: ZvtError | None = None  # transmission, timeout or protocol failure
    undecodable: list[MessageError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        if self.error is not None:
            return False
        if self.command.ends_with_ack:
            return self.accepted
        return isinstance(self.final, Completion)

    @property
    def result_code(self) -> int | None:
        """The terminal's result code for a refusal or abort, else None."""
        if isinstance(self.final, (NegativeAck, PtAbort)):
            return self.final.code
        return None

    def of_type(self, kind: type[M]) -> list[M]:
        return [m for m in self.messages if isinstance(m, kind)]


@dataclass(frozen=True, slots=True)
class DialogueEnded:
    result: DialogueResult


Event = Message | DialogueEnded


class EcrConnection:
    """One ECR-to-terminal link, dialogue after dialogue."""

    def __init__(self, serial: bool = True, timeouts: Timeouts | None = None) -> None:
        self.timeouts = timeouts or Timeouts()
        self.transport = Transport(serial, self.timeouts)
        self.state = State.IDLE
        self.result: DialogueResult | None = None
        # APDUs that arrived while no dialogue ran: the newest, and how many in all.
        self.ignored: deque[bytes] = deque(maxlen=IGNORED_KEPT)
        self.ignored_count = 0
        self._timer: Armed | None = None
        self._generation = 0
        self._t4 = self.timeouts.t4

    # -- caller API

    def send(self, command: Command) -> None:
        if self.busy:
            doing = (
                self.state.value
                if self.state not in (State.IDLE, State.DONE)
                else "our last answer awaits its ACK"
            )
            raise DialogueError(f"cannot send {command.name}: a dialogue is running ({doing})")
        apdu = command.encode()  # may raise MessageError before anything changes
        # Whatever came before our command belongs to no dialogue: a partial frame left by
        # line noise would otherwise swallow the terminal's ACK, and in 1 case of 256 the
        # ACK byte completes it with a matching CRC and it is taken for the answer.
        self.transport.resync()
        self.result = DialogueResult(command)
        self._t4 = self.timeouts.t4
        self._set(State.SENDING, None)
        self._on_transport(self.transport.send(apdu))

    def data_to_send(self) -> bytes:
        return self.transport.data_to_send()

    @property
    def busy(self) -> bool:
        """True until the result is known and our last frame is acknowledged."""
        return self.state not in (State.IDLE, State.DONE) or self.transport.awaiting_ack

    def armed(self) -> tuple[Armed, ...]:
        own = (self._timer,) if self._timer is not None else ()
        return self.transport.armed() + own

    def receive_data(self, data: bytes) -> list[Event]:
        return self._on_transport(self.transport.receive_data(data))

    def expire(self, name: str) -> list[Event]:
        if name in ("T1", "T2"):
            return self._on_transport(self.transport.expire(name))
        if self._timer is not None and self._timer.name == name:
            what = "acknowledgement" if name == "T3" else "completion"
            seconds = self._timer.seconds
            return self._fail(
                TimeoutExpired(name, f"no {what} from the terminal within {seconds:g} s ({name})")
            )
        return []

    # -- internals

    def _set(self, state: State, timer: str | None) -> None:
        self.state = state
        if timer is None:
            self._timer = None
        else:
            self._generation += 1
            seconds = self.timeouts.t3 if timer == "T3" else self._t4
            self._timer = Armed(timer, seconds, self._generation)

    def _fail(self, error: ZvtError) -> list[Event]:
        assert self.result is not None
        self.result.error = error
        self._set(State.DONE, None)
        return [DialogueEnded(self.result)]

    def _on_transport(self, events: list) -> list[Event]:
        out: list[Event] = []
        for ev in events:
            if isinstance(ev, Sent):
                if self.state is State.SENDING:
                    self._set(State.WAIT_ACCEPT, "T3")
            elif isinstance(ev, SendFailed):
                if self.state is not State.DONE:
                    out.extend(self._fail(ev.error))
            elif isinstance(ev, Delivered):
                out.extend(self._on_apdu(ev.apdu))
            elif isinstance(ev, Rejected):
                pass  # NAK already queued; the terminal repeats the frame
        return out

    def _on_apdu(self, raw: bytes) -> list[Event]:
        if self.state not in (State.WAIT_ACCEPT, State.PT_MASTER, State.SENDING):
            self.ignored.append(raw)  # e.g. a late message after a timeout
            self.ignored_count += 1
            return []
        assert self.result is not None
        try:
            message = decode_message(Apdu.decode(raw))
        except ZvtError as exc:
            error = exc if isinstance(exc, MessageError) else MessageError(str(exc))
            if self.state is State.PT_MASTER:
                # Spec: unknown content is answered 84 83 00 and the dialogue goes on.
                self.result.undecodable.append(error)
                self._answer(UNKNOWN_APDU)
                self._set(State.PT_MASTER, "T4")
                return []
            return self._fail(error)
        state = State.WAIT_ACCEPT if self.state is State.SENDING else self.state
        kind = KIND_OF.get(type(message))
        next_state = TRANSITIONS.get((state, kind)) if kind else None
        if next_state is None:
            return [
                message,
                *self._fail(DialogueError(f"unexpected {message.name} while {state.value}")),
            ]
        if kind is Kind.ACCEPTED:
            self.result.accepted = True
            if self.result.command.ends_with_ack:
                next_state = State.DONE
        elif kind is Kind.REFUSED:
            self.result.final = message
        else:
            self.result.accepted = True
            self.result.messages.append(message)
            self._answer(ACK_APDU)
            if kind in (Kind.COMPLETION, Kind.ABORT):
                self.result.final = message
            elif isinstance(message, IntermediateStatus) and message.timeout_minutes:
                self._t4 = message.timeout_minutes * 60.0
        if next_state is State.DONE:
            self._set(State.DONE, None)
            return [message, DialogueEnded(self.result)]
        self._set(next_state, "T4")  # every terminal message restarts T4
        return [message]

    def _answer(self, apdu: bytes) -> None:
        if self.transport.awaiting_ack:
            return  # previous answer still unacknowledged; the terminal has moved on
        self.transport.send(apdu)
