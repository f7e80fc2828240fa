"""The transport (ACK/NAK, three sends) and the ECR dialogue state machine, bytes only."""

from __future__ import annotations

import pytest

from pi_agent.zvt.dialogue import DialogueEnded, EcrConnection, State
from pi_agent.zvt.errors import DialogueError, TimeoutExpired, TransmissionError
from pi_agent.zvt.framing import encode_frame
from pi_agent.zvt.messages import (
    Completion,
    EndOfDay,
    IntermediateStatus,
    LogOff,
    Message,
    NegativeAck,
    PositiveAck,
    PrintLine,
    PtAbort,
    StatusEnquiry,
    StatusInformation,
    TurnoverTotals,
)
from pi_agent.zvt.timers import Timeouts, TimerBook
from pi_agent.zvt.transport import Delivered, SendFailed, Sent, Transport

ACK, NAK = b"\x06", b"\x15"
OUR_ANSWER = ACK + bytes.fromhex("10 02 80 00 00 10 03 F5 1F")  # ACK, then 80 00 00


def pt(message: Message) -> bytes:
    return encode_frame(message.encode())


def started(command=None) -> EcrConnection:
    conn = EcrConnection(timeouts=Timeouts(t1=0.2, t2=1, t3=2, t4=10))
    conn.send(command or StatusEnquiry("123456"))
    conn.data_to_send()
    return conn


# -- transport


def test_nak_repeats_the_frame_up_to_three_sends() -> None:
    transport = Transport()
    transport.send(b"\x80\x00\x00")
    first = transport.data_to_send()
    assert transport.receive_data(NAK) == []
    assert transport.data_to_send() == first
    assert transport.receive_data(NAK) == []
    assert transport.data_to_send() == first
    [failed] = transport.receive_data(NAK)
    assert isinstance(failed, SendFailed) and isinstance(failed.error, TransmissionError)
    assert transport.data_to_send() == b""
    assert transport.repeats == 2


def test_t2_expiry_repeats_like_a_nak() -> None:
    transport = Transport()
    transport.send(b"\x80\x00\x00")
    first = transport.data_to_send()
    [armed] = transport.armed()
    assert armed.name == "T2"
    transport.expire("T2")
    assert transport.data_to_send() == first
    assert transport.armed()[0].generation == armed.generation + 1
    assert transport.receive_data(ACK) == [Sent(b"\x80\x00\x00")]
    assert transport.armed() == ()


def test_good_frames_are_acked_bad_ones_naked() -> None:
    transport = Transport()
    good = encode_frame(b"\x80\x00\x00")
    bad = bytearray(good)
    bad[-1] ^= 1
    events = transport.receive_data(bytes(bad) + good)
    assert transport.data_to_send() == NAK + ACK
    assert events[-1] == Delivered(b"\x80\x00\x00")


def test_a_frame_while_awaiting_ack_counts_as_the_ack() -> None:
    transport = Transport()
    transport.send(b"\x80\x00\x00")
    transport.data_to_send()
    events = transport.receive_data(encode_frame(b"\x06\x0f\x00"))
    assert events == [Sent(b"\x80\x00\x00"), Delivered(b"\x06\x0f\x00")]
    assert not transport.awaiting_ack


def test_refused_frames_are_naked_even_when_well_formed() -> None:
    transport = Transport()
    transport.refuse_frames(1)
    frame = encode_frame(b"\x80\x00\x00")
    assert transport.receive_data(frame)[0].__class__.__name__ == "Rejected"
    assert transport.receive_data(frame) == [Delivered(b"\x80\x00\x00")]
    assert transport.data_to_send() == NAK + ACK


def test_tcp_sends_bare_apdus_and_never_acks() -> None:
    transport = Transport(serial=False)
    assert transport.send(b"\x05\x01\x00") == [Sent(b"\x05\x01\x00")]
    assert transport.data_to_send() == b"\x05\x01\x00"
    assert transport.receive_data(b"\x80\x00") == []
    assert transport.receive_data(b"\x00") == [Delivered(b"\x80\x00\x00")]
    assert transport.data_to_send() == b""


# -- dialogue


def test_status_enquiry_dialogue_x1() -> None:
    conn = EcrConnection()
    conn.send(StatusEnquiry("123456"))
    assert conn.data_to_send() == bytes.fromhex("10 02 05 01 03 12 34 56 10 03 E0 43")
    assert conn.state is State.SENDING
    conn.receive_data(ACK)
    assert conn.state is State.WAIT_ACCEPT and conn.armed()[-1].name == "T3"
    conn.receive_data(pt(PositiveAck()))
    assert conn.data_to_send() == ACK  # no answer to the acknowledgement itself
    assert conn.state is State.PT_MASTER and conn.armed()[-1].name == "T4"
    completion = Completion.for_status(0x00, "2.14.15")
    events = conn.receive_data(pt(completion))
    assert events == [completion, DialogueEnded(conn.result)]
    assert conn.data_to_send() == OUR_ANSWER
    assert conn.busy  # until the terminal acknowledges our answer
    conn.receive_data(ACK)
    assert not conn.busy and conn.result.ok


def test_end_of_day_answers_every_message_with_80_00_00() -> None:
    conn = started(EndOfDay("000000"))
    conn.receive_data(ACK + pt(PositiveAck()))
    conn.data_to_send()
    for message in (IntermediateStatus(0xD2), StatusInformation(), PrintLine(0, "END OF DAY"),
                    PrintLine(0xFF, "OK")):  # fmt: skip
        assert conn.receive_data(pt(message)) == [message]
        assert conn.data_to_send() == OUR_ANSWER
        conn.receive_data(ACK)
    conn.receive_data(pt(Completion()))
    assert conn.data_to_send() == OUR_ANSWER
    assert conn.result.ok
    assert len(conn.result.messages) == 5


def test_refusal_ends_the_dialogue_with_its_code() -> None:
    conn = started()
    events = conn.receive_data(ACK + pt(NegativeAck(0x83)))
    assert isinstance(events[-1], DialogueEnded)
    assert not conn.result.ok and conn.result.result_code == 0x83
    assert conn.data_to_send() == ACK


def test_terminal_abort_is_answered_and_ends_unsuccessfully() -> None:
    conn = started(EndOfDay())
    conn.receive_data(ACK + pt(PositiveAck()) + pt(PtAbort(0x77)))
    assert conn.data_to_send().endswith(OUR_ANSWER)
    assert conn.result.result_code == 0x77 and not conn.result.ok


@pytest.mark.parametrize(("timer", "setup"), [("T3", b"\x06"), ("T4", b"\x06" + pt(PositiveAck()))])
def test_t3_and_t4_expiry(timer: str, setup: bytes) -> None:
    conn = started()
    conn.receive_data(setup)
    assert conn.armed()[-1].name == timer
    [ended] = conn.expire(timer)
    assert isinstance(ended, DialogueEnded)
    assert isinstance(conn.result.error, TimeoutExpired) and conn.result.error.timer == timer


def test_three_naks_end_the_dialogue_with_a_transmission_error() -> None:
    conn = started()
    conn.receive_data(NAK)
    conn.receive_data(NAK)
    events = conn.receive_data(NAK)
    assert isinstance(events[-1], DialogueEnded)
    assert isinstance(conn.result.error, TransmissionError)
    assert not conn.busy


def test_progress_restarts_t4_and_may_set_its_length() -> None:
    conn = started(EndOfDay())
    conn.receive_data(ACK + pt(PositiveAck()))
    conn.data_to_send()
    book = TimerBook()
    book.update(conn.armed(), now=100.0)
    assert book.next_deadline() == 110.0
    conn.receive_data(pt(IntermediateStatus(0x17, timeout_minutes=2)))
    book.update(conn.armed(), now=105.0)
    assert conn.armed()[-1].seconds == 120.0
    assert book.next_deadline() == pytest.approx(105.0 + 1)  # T2 for our answer first
    conn.receive_data(ACK)
    book.update(conn.armed(), now=105.5)
    assert book.next_deadline() == 225.0
    assert book.expired(225.0) == ["T4"]


def test_undecodable_progress_is_answered_84_83_and_the_dialogue_goes_on() -> None:
    conn = started(TurnoverTotals())
    conn.receive_data(ACK + pt(PositiveAck()))
    conn.data_to_send()
    conn.receive_data(encode_frame(bytes.fromhex("04 0F 02 99 00")))  # unknown BMP 99
    assert conn.data_to_send() == ACK + encode_frame(bytes.fromhex("84 83 00"))
    conn.receive_data(ACK + pt(Completion()))
    assert conn.result.ok and len(conn.result.undecodable) == 1


def test_unexpected_message_ends_with_a_dialogue_error() -> None:
    conn = started()
    conn.receive_data(ACK + pt(StatusEnquiry()))  # a command from the terminal?
    assert isinstance(conn.result.error, DialogueError)
    assert not conn.busy


def test_log_off_ends_with_the_acknowledgement() -> None:
    conn = started(LogOff())
    events = conn.receive_data(ACK + pt(PositiveAck()))
    assert isinstance(events[-1], DialogueEnded) and conn.result.ok


def test_sending_while_busy_is_refused_and_late_frames_are_ignored() -> None:
    conn = started()
    with pytest.raises(DialogueError):
        conn.send(StatusEnquiry())
    conn.expire("T2")
    conn.expire("T2")
    conn.expire("T2")
    assert not conn.busy
    conn.data_to_send()
    conn.receive_data(pt(PositiveAck()))
    assert conn.ignored == [PositiveAck().encode()]
    assert conn.data_to_send() == ACK  # still acknowledged at the transport level


def test_tcp_dialogue_has_no_acks() -> None:
    conn = EcrConnection(serial=False)
    conn.send(StatusEnquiry())
    assert conn.data_to_send() == bytes.fromhex("05 01 00")
    conn.receive_data(PositiveAck().encode() + Completion.for_status(0).encode())
    assert conn.data_to_send() == bytes.fromhex("80 00 00")
    assert conn.result.ok and not conn.busy


def test_timer_book_keeps_deadlines_until_the_generation_changes() -> None:
    from pi_agent.zvt.timers import Armed

    book = TimerBook()
    book.update((Armed("T3", 5, 1),), now=0)
    book.update((Armed("T3", 5, 1),), now=3)
    assert book.next_deadline() == 5
    book.update((Armed("T3", 5, 2),), now=3)
    assert book.next_deadline() == 8
    assert book.expired(7.9) == [] and book.expired(8) == ["T3"]
    book.update((), now=9)
    assert book.next_deadline() is None
