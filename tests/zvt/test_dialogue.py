"""The ECR dialogue state machine (`EcrConnection`) and `TimerBook`, driven by byte strings only."""

from __future__ import annotations

import pytest

from pi_agent.zvt.apdu import Apdu
from pi_agent.zvt.dialogue import DialogueEnded, EcrConnection, State
from pi_agent.zvt.errors import (
    DialogueError,
    MessageError,
    TimeoutExpired,
    TransmissionError,
)
from pi_agent.zvt.framing import encode_frame
from pi_agent.zvt.messages import (
    Abort,
    Command,
    Completion,
    EndOfDay,
    HostDateTime,
    IntermediateStatus,
    LogOff,
    Message,
    NegativeAck,
    PositiveAck,
    PrintLine,
    PtAbort,
    Registration,
    StatusEnquiry,
    StatusInformation,
    TurnoverTotals,
    decode_message,
)
from pi_agent.zvt.timers import Armed, Timeouts, TimerBook

ACK, NAK = b"\x06", b"\x15"
ANSWER_80_00_00 = bytes.fromhex("10 02 80 00 00 10 03 F5 1F")
ANSWER = ACK + ANSWER_80_00_00  # our ACK for the PT's frame, then our 80 00 00
REFUSE_84_83 = encode_frame(bytes.fromhex("84 83 00"))
TIMEOUTS = Timeouts(t1=0.2, t2=1.0, t3=2.0, t4=10.0)
X6_APDU = bytes.fromhex(
    "04 0F 52 27 00 04 00 00 00 00 77 84 0B 00 01 23 0C 18 30 00 0D 06 15 29 12 34 56 78"
    " 60 F0 F5 F3 00 01 00 06 03 00 00 00 00 45 50 00 00 00 00 00 00 00 02 00 00 00 00 20 00"
    " 00 00 00 00 00 00 00 01 00 00 00 00 12 34 00 00 00 00 00 00 00 00 00 00 00 00 00 00"
)


def pt_decoded(apdu: bytes) -> Message:
    return decode_message(Apdu.decode(apdu))


def pt(message: Message) -> bytes:
    """A frame as the terminal sends it."""
    return encode_frame(message.encode())


def timer(conn: EcrConnection) -> Armed | None:
    """The dialogue's own timer (T3 or T4), if armed."""
    own = [t for t in conn.armed() if t.name in ("T3", "T4")]
    assert len(own) <= 1
    return own[0] if own else None


def sent(command: Command | None = None, serial: bool = True) -> EcrConnection:
    """A connection whose command is on the line (not yet acknowledged)."""
    conn = EcrConnection(serial, TIMEOUTS)
    conn.send(command or StatusEnquiry("123456"))
    assert conn.data_to_send() != b""
    return conn


def accepted(command: Command | None = None) -> EcrConnection:
    """A connection whose command the terminal acknowledged and accepted with 80 00 00."""
    conn = sent(command)
    conn.receive_data(ACK + pt(PositiveAck()))
    assert conn.data_to_send() == ACK
    assert conn.state is State.PT_MASTER
    return conn


# -- the happy paths


def test_status_enquiry_walks_sending_wait_accept_pt_master_done() -> None:
    conn = EcrConnection(timeouts=TIMEOUTS)
    assert conn.state is State.IDLE and not conn.busy and timer(conn) is None
    conn.send(StatusEnquiry("123456"))
    assert conn.data_to_send() == bytes.fromhex("10 02 05 01 03 12 34 56 10 03 E0 43")
    assert conn.state is State.SENDING and timer(conn) is None
    conn.receive_data(ACK)
    assert conn.state is State.WAIT_ACCEPT and timer(conn).name == "T3"
    assert timer(conn).seconds == 2.0
    assert conn.receive_data(pt(PositiveAck())) == [PositiveAck()]
    assert conn.data_to_send() == ACK  # the acknowledgement itself is not answered
    assert conn.state is State.PT_MASTER and timer(conn).name == "T4"
    completion = Completion.for_status(0x00, "2.14.15")
    assert conn.receive_data(pt(completion)) == [completion, DialogueEnded(conn.result)]
    assert conn.data_to_send() == ANSWER
    assert conn.state is State.DONE and timer(conn) is None
    assert conn.busy  # until the terminal acknowledges our 80 00 00
    conn.receive_data(ACK)
    assert not conn.busy
    result = conn.result
    assert result.ok and result.accepted and result.final == completion
    assert result.error is None and result.result_code is None


def test_end_of_day_answers_every_terminal_message_with_exactly_ack_and_80_00_00() -> None:
    conn = accepted(EndOfDay("123456"))
    progress = [
        IntermediateStatus(0x0F),
        IntermediateStatus(0xD2, timeout_minutes=5),
        pt_decoded(X6_APDU),
        PrintLine(0x00, "    TAGESABSCHLUSS"),
        PrintLine(0x00, "girocard      3   45,50"),
        PrintLine(0xFF, "Summe EUR         77,84"),
    ]
    for message in progress:
        assert conn.receive_data(pt(message)) == [message]
        assert conn.data_to_send() == ANSWER
        assert conn.state is State.PT_MASTER
        conn.receive_data(ACK)
    events = conn.receive_data(pt(Completion()))
    assert events == [Completion(), DialogueEnded(conn.result)]
    assert conn.data_to_send() == ANSWER
    conn.receive_data(ACK)
    result = conn.result
    assert result.ok and not conn.busy
    assert result.messages == [*progress, Completion()]
    [info] = result.of_type(StatusInformation)
    assert info.amount == 7784
    assert len(result.of_type(PrintLine)) == 3


def test_terminal_moving_on_without_acking_our_answer_is_an_implicit_ack() -> None:
    conn = accepted(TurnoverTotals("123456"))
    conn.receive_data(pt(StatusInformation()))
    assert conn.data_to_send() == ANSWER
    conn.receive_data(pt(PrintLine(0, "x")))  # no ACK byte for our 80 00 00 first
    assert conn.data_to_send() == ANSWER
    conn.receive_data(pt(Completion()))
    assert conn.data_to_send() == ANSWER
    assert conn.result.ok and len(conn.result.messages) == 3


def test_host_date_time_and_progress_before_80_00_still_count() -> None:
    conn = sent(EndOfDay())
    conn.receive_data(ACK + pt(IntermediateStatus(0x17)))  # the 80 00 00 was skipped
    assert conn.state is State.PT_MASTER and conn.result.accepted
    assert conn.data_to_send() == ANSWER
    conn.receive_data(ACK + pt(HostDateTime()))
    assert conn.data_to_send() == ANSWER


def test_completion_without_a_prior_80_00_ends_the_dialogue_successfully() -> None:
    conn = sent(Registration("123456"))
    conn.receive_data(ACK + pt(Completion(bytes.fromhex("19 00"))))
    assert conn.data_to_send() == ANSWER
    assert conn.state is State.DONE and conn.result.ok


# -- refusals and aborts


def test_refusal_84_83_00_ends_the_dialogue_unanswered() -> None:
    conn = sent()
    events = conn.receive_data(ACK + encode_frame(bytes.fromhex("84 83 00")))
    assert events == [NegativeAck(0x83), DialogueEnded(conn.result)]
    assert conn.data_to_send() == ACK  # only the transport ACK, no 80 00 00
    result = conn.result
    assert not result.ok and not result.accepted
    assert result.result_code == 0x83 and result.final == NegativeAck(0x83)
    assert result.error is None
    assert not conn.busy


def test_terminal_abort_06_1e_01_77_is_answered_and_fails_with_code_77() -> None:
    conn = accepted(EndOfDay("123456"))
    events = conn.receive_data(bytes.fromhex("10 02 06 1E 01 77 10 03 F0 83"))
    assert events == [PtAbort(0x77), DialogueEnded(conn.result)]
    assert conn.data_to_send() == ANSWER
    result = conn.result
    assert not result.ok and result.result_code == 0x77
    assert result.final == PtAbort(0x77) and result.error is None


@pytest.mark.parametrize("command", [LogOff(), Abort()], ids=["log-off", "abort"])
def test_log_off_and_ecr_abort_end_with_the_acknowledgement(command: Command) -> None:
    conn = sent(command)
    events = conn.receive_data(ACK + pt(PositiveAck()))
    assert events == [PositiveAck(), DialogueEnded(conn.result)]
    assert conn.data_to_send() == ACK  # nothing to answer, no Completion expected
    assert conn.state is State.DONE and not conn.busy and timer(conn) is None
    assert conn.result.ok and conn.result.final is None


def test_refused_log_off_is_not_ok() -> None:
    conn = sent(LogOff())
    conn.receive_data(ACK + encode_frame(bytes.fromhex("84 6B 00")))
    assert not conn.result.ok and conn.result.result_code == 0x6B


# -- transmission errors


def test_three_naks_of_the_command_end_with_a_transmission_error() -> None:
    conn = sent()
    frame = encode_frame(StatusEnquiry("123456").encode())
    assert conn.receive_data(NAK) == []
    assert conn.data_to_send() == frame
    assert conn.receive_data(NAK) == []
    assert conn.data_to_send() == frame
    [ended] = conn.receive_data(NAK)
    assert ended == DialogueEnded(conn.result)
    assert isinstance(conn.result.error, TransmissionError)
    assert not conn.result.ok and not conn.busy and conn.state is State.DONE
    assert conn.data_to_send() == b""


def test_three_t2_expiries_end_with_a_transmission_error() -> None:
    conn = sent()
    assert conn.expire("T2") == [] and conn.expire("T2") == []
    [ended] = conn.expire("T2")
    assert isinstance(ended.result.error, TransmissionError)


def test_our_answer_never_acknowledged_ends_the_dialogue_with_a_transmission_error() -> None:
    conn = accepted(EndOfDay())
    conn.receive_data(pt(IntermediateStatus(0x17)))
    conn.receive_data(NAK + NAK)
    assert conn.data_to_send() == ANSWER + ANSWER_80_00_00 + ANSWER_80_00_00
    [ended] = conn.receive_data(NAK)
    assert isinstance(ended.result.error, TransmissionError)
    assert conn.state is State.DONE


def test_a_nak_for_our_answer_repeats_it_and_the_dialogue_goes_on() -> None:
    conn = accepted(EndOfDay())
    conn.receive_data(pt(IntermediateStatus(0x17)))
    conn.data_to_send()
    conn.receive_data(NAK)
    assert conn.data_to_send() == ANSWER_80_00_00
    conn.receive_data(ACK + pt(Completion()))
    assert conn.result.ok


def test_a_garbled_frame_from_the_terminal_is_naked_and_the_repeat_accepted() -> None:
    conn = accepted(EndOfDay())
    garbled = bytearray(pt(Completion()))
    garbled[-1] ^= 0x40
    assert conn.receive_data(bytes(garbled)) == []
    assert conn.data_to_send() == NAK
    assert conn.state is State.PT_MASTER
    conn.receive_data(pt(Completion()))
    assert conn.data_to_send() == ANSWER and conn.result.ok


# -- T3 and T4


def test_t3_expiry_ends_with_timeout_expired_naming_t3() -> None:
    conn = sent()
    conn.receive_data(ACK)
    assert timer(conn).name == "T3"
    assert conn.expire("T4") == []  # not armed: nothing happens
    [ended] = conn.expire("T3")
    error = ended.result.error
    assert isinstance(error, TimeoutExpired) and error.timer == "T3"
    assert "T3" in str(error)
    assert not conn.busy and timer(conn) is None


def test_t4_expiry_ends_with_timeout_expired_naming_t4() -> None:
    conn = accepted(EndOfDay())
    assert conn.expire("T3") == []
    [ended] = conn.expire("T4")
    error = ended.result.error
    assert isinstance(error, TimeoutExpired) and error.timer == "T4"
    assert "10 s" in str(error)
    assert not conn.result.ok


def test_timers_after_the_end_do_nothing() -> None:
    conn = sent(LogOff())
    conn.receive_data(ACK + pt(PositiveAck()))
    assert conn.expire("T3") == [] and conn.expire("T4") == []
    assert conn.result.error is None


def test_04_ff_with_t4_in_minutes_sets_t4_for_the_rest_of_the_dialogue() -> None:
    conn = accepted(EndOfDay())
    assert timer(conn).seconds == 10.0
    conn.receive_data(pt(IntermediateStatus(0x0F, timeout_minutes=3)))
    assert timer(conn) == Armed("T4", 180.0, timer(conn).generation)
    conn.receive_data(ACK + pt(PrintLine(0, "x")))
    assert timer(conn).seconds == 180.0
    conn.receive_data(ACK + pt(Completion()))
    conn.receive_data(ACK)
    fresh = accepted_again(conn, EndOfDay())
    assert timer(fresh).seconds == 10.0  # back to the default for the next command


def accepted_again(conn: EcrConnection, command: Command) -> EcrConnection:
    conn.send(command)
    conn.data_to_send()
    conn.receive_data(ACK + pt(PositiveAck()))
    conn.data_to_send()
    return conn


def test_every_progress_message_restarts_t4_with_a_new_deadline() -> None:
    conn = accepted(EndOfDay())
    book = TimerBook()
    now = 100.0
    book.update(conn.armed(), now)
    assert book.next_deadline() == 110.0
    generations = [timer(conn).generation]
    for message in (
        IntermediateStatus(0x17),
        StatusInformation(),
        HostDateTime(),
        PrintLine(0, "line"),
    ):
        now += 4.0
        conn.receive_data(pt(message))
        conn.receive_data(ACK)  # the terminal acknowledges our 80 00 00 at once
        book.update(conn.armed(), now)
        generations.append(timer(conn).generation)
        assert book.next_deadline() == now + 10.0
        assert book.expired(now + 9.9) == []
        assert book.expired(now + 10.0) == ["T4"]
    assert len(set(generations)) == len(generations)


def test_t4_deadline_is_not_moved_by_bytes_that_are_no_message() -> None:
    conn = accepted(EndOfDay())
    book = TimerBook()
    book.update(conn.armed(), 0.0)
    conn.receive_data(ACK + b"\x00\x41")  # stray ACK and noise
    book.update(conn.armed(), 5.0)
    assert book.next_deadline() == 10.0


# -- protocol errors


def test_undecodable_progress_is_answered_84_83_00_and_the_dialogue_goes_on() -> None:
    conn = accepted(TurnoverTotals("123456"))
    before = timer(conn).generation
    assert conn.receive_data(encode_frame(bytes.fromhex("04 0F 02 99 00"))) == []  # BMP 99
    assert conn.data_to_send() == ACK + REFUSE_84_83
    assert conn.state is State.PT_MASTER and timer(conn).generation != before
    [error] = conn.result.undecodable
    assert isinstance(error, MessageError) and "99" in str(error)
    conn.receive_data(ACK + encode_frame(bytes.fromhex("04 0F 02 27")))  # truncated BMP 27
    assert conn.data_to_send() == ACK + REFUSE_84_83
    conn.receive_data(ACK + encode_frame(bytes.fromhex("06 AA 00")))  # unknown message
    assert conn.data_to_send() == ACK + REFUSE_84_83
    conn.receive_data(ACK + pt(Completion()))
    assert conn.data_to_send() == ANSWER
    assert conn.result.ok and len(conn.result.undecodable) == 3
    assert conn.result.messages == [Completion()]


def test_undecodable_answer_to_the_command_ends_with_a_message_error() -> None:
    conn = sent()
    [ended] = conn.receive_data(ACK + encode_frame(bytes.fromhex("80 00 05 00")))  # bad length
    assert isinstance(ended.result.error, MessageError)
    assert conn.data_to_send() == ACK
    assert not conn.busy


@pytest.mark.parametrize(
    "message", [StatusEnquiry(), EndOfDay(), Registration()], ids=["05-01", "06-50", "06-00"]
)
def test_a_command_from_the_terminal_while_waiting_for_acceptance_is_a_dialogue_error(
    message: Command,
) -> None:
    conn = sent()
    conn.receive_data(ACK)
    events = conn.receive_data(pt(message))
    assert events == [message, DialogueEnded(conn.result)]
    assert isinstance(conn.result.error, DialogueError)
    assert "wait-accept" in str(conn.result.error)
    assert conn.data_to_send() == ACK  # the frame was well-formed: transport ACK only
    assert not conn.busy


def test_a_command_from_the_terminal_while_it_is_master_is_a_dialogue_error() -> None:
    conn = accepted(EndOfDay())
    events = conn.receive_data(pt(StatusEnquiry()))
    assert isinstance(events[-1], DialogueEnded)
    assert isinstance(conn.result.error, DialogueError)


def test_refusal_after_acceptance_is_a_dialogue_error() -> None:
    conn = accepted(EndOfDay())
    conn.receive_data(encode_frame(bytes.fromhex("84 83 00")))
    assert isinstance(conn.result.error, DialogueError)


def test_a_repeated_80_00_00_after_a_lost_ack_does_not_end_the_dialogue() -> None:
    conn = accepted(EndOfDay())
    conn.receive_data(pt(PositiveAck()))  # same frame again
    assert conn.result.error is None
    assert conn.state is State.PT_MASTER


def test_late_frames_after_the_end_are_acked_and_kept_aside() -> None:
    conn = sent()
    conn.receive_data(ACK)
    conn.expire("T3")
    assert conn.receive_data(pt(PositiveAck())) == []
    assert list(conn.ignored) == [PositiveAck().encode()] and conn.ignored_count == 1
    assert conn.data_to_send() == ACK
    assert isinstance(conn.result.error, TimeoutExpired)  # the result stays as it was


# -- line noise between dialogues

# PT Abort 45 one CRC byte short; CRC(06 1E 01 45 03) = 06E2, so an ACK byte would complete it.
STALE_ABORT = bytes.fromhex("10 02 06 1E 01 45 10 03 E2")


def polled() -> EcrConnection:
    """A connection after one whole status poll: idle between polls, as the guard leaves it."""
    conn = sent()
    conn.receive_data(ACK + pt(PositiveAck()) + pt(Completion.for_status(0x00, "1.0")))
    conn.receive_data(ACK)  # for our 80 00 00
    assert conn.result.ok and not conn.busy
    conn.data_to_send()
    return conn


def settles(conn: EcrConnection, *, before_answer: bytes = b"") -> None:
    """Run an End-of-Day on `conn` and check the terminal's own answer is the one taken."""
    conn.send(EndOfDay())
    conn.data_to_send()
    assert conn.receive_data(ACK) == []
    assert conn.state is State.WAIT_ACCEPT
    assert conn.receive_data(before_answer + pt(PositiveAck())) == [PositiveAck()]
    assert conn.data_to_send() == ACK
    events = conn.receive_data(before_answer + pt(Completion()))
    assert events == [Completion(), DialogueEnded(conn.result)]
    assert conn.data_to_send() == ANSWER  # no NAK: nothing had to be repeated
    conn.receive_data(ACK)
    assert conn.result.ok and conn.result.final == Completion() and not conn.busy


def test_a_stale_partial_frame_from_idle_noise_does_not_answer_the_next_command() -> None:
    conn = polled()
    assert conn.receive_data(STALE_ABORT) == []
    assert conn.data_to_send() == b""
    settles(conn)
    assert conn.transport.nak_sent == 0


@pytest.mark.parametrize("cut", range(2, len(STALE_ABORT) + 1))
def test_any_stale_frame_prefix_is_forgotten_when_a_command_starts(cut: int) -> None:
    conn = polled()
    conn.receive_data(STALE_ABORT[:cut])
    settles(conn)


def test_a_complete_frame_arriving_idle_is_acked_and_kept_aside() -> None:
    conn = polled()
    stray = PtAbort(0x45)
    assert conn.receive_data(pt(stray)) == []
    assert conn.data_to_send() == ACK  # a late frame still gets its ACK, nothing more
    assert list(conn.ignored) == [stray.encode()]
    settles(conn)


def test_a_lone_dle_before_the_command_is_noise() -> None:
    conn = polled()
    conn.receive_data(b"\x10")
    settles(conn)


@pytest.mark.parametrize(
    "garbage",
    [b"\x00\xff\x41", b"\x10\x02", b"\x10\x02\x06\x1e\x01\x45", b"\x10\x41\x10"],
    ids=["bytes", "frame-start", "partial-frame", "lone-dles"],
)
def test_garbage_right_before_the_answer_costs_no_repeat(garbage: bytes) -> None:
    conn = polled()
    settles(conn, before_answer=garbage)


def test_a_partial_frame_that_stalls_while_idle_is_naked_on_t1() -> None:
    conn = polled()
    conn.receive_data(STALE_ABORT)
    [t1] = conn.armed()
    assert t1.name == "T1"
    assert conn.expire("T1") == []
    assert conn.data_to_send() == NAK
    assert conn.armed() == ()
    settles(conn)


def test_stray_frames_are_counted_but_only_the_last_few_kept() -> None:
    conn = polled()
    strays = [PtAbort(code).encode() for code in range(1, 201)]
    conn.receive_data(b"".join(encode_frame(apdu) for apdu in strays))
    assert conn.ignored_count == 200
    assert list(conn.ignored) == strays[-len(conn.ignored) :]
    assert 0 < len(conn.ignored) <= 64
    settles(conn)


# -- sending


@pytest.mark.parametrize("stage", ["sending", "wait-accept", "pt-master"])
def test_sending_while_a_dialogue_runs_is_a_dialogue_error(stage: str) -> None:
    conn = sent(EndOfDay())
    if stage != "sending":
        conn.receive_data(ACK)
    if stage == "pt-master":
        conn.receive_data(pt(PositiveAck()))
    state, result = conn.state, conn.result
    with pytest.raises(DialogueError, match=stage):
        conn.send(StatusEnquiry())
    assert conn.state is state and conn.result is result


def test_sending_while_our_last_answer_awaits_its_ack_is_a_dialogue_error() -> None:
    conn = accepted(EndOfDay())
    conn.receive_data(pt(Completion()))
    assert conn.state is State.DONE and conn.busy
    result = conn.result
    with pytest.raises(DialogueError):
        conn.send(StatusEnquiry())
    assert conn.state is State.DONE and conn.result is result


def test_a_malformed_command_is_refused_before_anything_changes() -> None:
    conn = EcrConnection()
    with pytest.raises(MessageError):
        conn.send(EndOfDay("12"))
    assert conn.state is State.IDLE and conn.result is None
    assert conn.data_to_send() == b""


def test_dialogues_follow_one_another_with_fresh_results() -> None:
    conn = sent(LogOff())
    conn.receive_data(ACK + pt(PositiveAck()))
    assert conn.data_to_send() == ACK
    first = conn.result
    conn.send(StatusEnquiry())
    assert conn.data_to_send() == bytes.fromhex("10 02 05 01 00 10 03 10 06")
    assert conn.result is not first and conn.result.messages == []
    assert conn.state is State.SENDING


# -- TCP


def test_tcp_dialogue_sends_bare_apdus_and_no_ack_bytes() -> None:
    conn = EcrConnection(serial=False, timeouts=TIMEOUTS)
    conn.send(EndOfDay("123456"))
    assert conn.data_to_send() == bytes.fromhex("06 50 03 12 34 56")
    assert conn.state is State.WAIT_ACCEPT  # handed to the socket = sent
    assert [t.name for t in conn.armed()] == ["T3"]
    conn.receive_data(PositiveAck().encode())
    assert conn.data_to_send() == b""
    assert [t.name for t in conn.armed()] == ["T4"]
    stream = IntermediateStatus(0x17).encode() + X6_APDU + Completion().encode()
    conn.receive_data(stream[:7])
    conn.receive_data(stream[7:])
    assert conn.data_to_send() == bytes.fromhex("80 00 00") * 3
    assert conn.result.ok and not conn.busy
    assert conn.result.of_type(StatusInformation)[0].amount == 7784


def test_tcp_refusal_and_undecodable_progress_are_bare_too() -> None:
    conn = EcrConnection(serial=False, timeouts=TIMEOUTS)
    conn.send(EndOfDay())
    conn.data_to_send()
    conn.receive_data(PositiveAck().encode() + bytes.fromhex("04 0F 02 99 00"))
    assert conn.data_to_send() == bytes.fromhex("84 83 00")
    conn.receive_data(PtAbort(0x77).encode())
    assert conn.data_to_send() == bytes.fromhex("80 00 00")
    assert conn.result.result_code == 0x77


# -- TimerBook


def test_timer_book_keeps_a_deadline_while_the_generation_is_unchanged() -> None:
    book = TimerBook()
    assert book.next_deadline() is None and book.expired(1e9) == []
    book.update((Armed("T3", 5, 1),), now=0)
    book.update((Armed("T3", 5, 1),), now=3)
    assert book.next_deadline() == 5
    book.update((Armed("T3", 5, 2),), now=3)
    assert book.next_deadline() == 8
    assert book.expired(7.9) == [] and book.expired(8) == ["T3"]


def test_timer_book_tracks_several_timers_and_forgets_disarmed_ones() -> None:
    book = TimerBook()
    book.update((Armed("T2", 1, 1), Armed("T4", 10, 1)), now=0)
    assert book.next_deadline() == 1
    assert book.expired(20) == ["T2", "T4"]
    book.update((Armed("T4", 10, 1),), now=0.5)
    assert book.next_deadline() == 10
    book.update((Armed("T4", 10, 1), Armed("T2", 1, 1)), now=2)
    assert book.next_deadline() == 3  # T2 re-armed after being dropped: a fresh deadline
    book.update((), now=9)
    assert book.next_deadline() is None and book.expired(100) == []


def test_timer_book_drives_a_connection_to_t3_expiry() -> None:
    conn = sent()
    conn.receive_data(ACK)
    book = TimerBook()
    book.update(conn.armed(), now=50.0)
    assert book.expired(51.9) == []
    [name] = book.expired(52.0)
    [ended] = conn.expire(name)
    assert ended.result.error.timer == "T3"
    book.update(conn.armed(), now=52.0)
    assert book.next_deadline() is None
