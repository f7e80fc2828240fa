"""Transport layer, bytes only: ACK/NAK, three sends, T1/T2, implicit ACK, TCP without framing."""

from __future__ import annotations

import pytest

from pi_agent.zvt.errors import CrcError, FrameError, TransmissionError
from pi_agent.zvt.framing import encode_frame
from pi_agent.zvt.timers import Timeouts
from pi_agent.zvt.transport import MAX_SENDS, Delivered, Rejected, SendFailed, Sent, Transport

ACK, NAK = b"\x06", b"\x15"
ACCEPT = bytes.fromhex("80 00 00")
COMPLETION = bytes.fromhex("06 0F 00")


def sending(apdu: bytes = ACCEPT) -> tuple[Transport, bytes]:
    """A serial transport that has just sent `apdu`, and the frame it wrote."""
    transport = Transport(timeouts=Timeouts(t1=0.2, t2=1.5))
    assert transport.send(apdu) == []
    return transport, transport.data_to_send()


def armed_names(transport: Transport) -> list[str]:
    return [timer.name for timer in transport.armed()]


def test_send_writes_one_frame_and_arms_t2() -> None:
    transport, frame = sending()
    assert frame == encode_frame(ACCEPT)
    assert transport.awaiting_ack
    [t2] = transport.armed()
    assert (t2.name, t2.seconds) == ("T2", 1.5)


def test_ack_completes_the_send_and_disarms_t2() -> None:
    transport, _ = sending()
    assert transport.receive_data(ACK) == [Sent(ACCEPT)]
    assert not transport.awaiting_ack and transport.armed() == ()
    assert transport.data_to_send() == b""  # an ACK is never acknowledged


def test_nak_repeats_the_same_frame() -> None:
    transport, frame = sending()
    assert transport.receive_data(NAK) == []
    assert transport.data_to_send() == frame
    assert transport.repeats == 1 and transport.awaiting_ack
    assert transport.receive_data(ACK) == [Sent(ACCEPT)]


def test_third_nak_is_a_transmission_error_and_nothing_more_is_sent() -> None:
    transport, frame = sending()
    transport.receive_data(NAK)
    transport.receive_data(NAK)
    assert transport.data_to_send() == frame + frame
    [failed] = transport.receive_data(NAK)
    assert isinstance(failed, SendFailed) and isinstance(failed.error, TransmissionError)
    assert "3 sends" in str(failed.error)
    assert transport.data_to_send() == b""
    assert transport.repeats == MAX_SENDS - 1 == 2
    assert not transport.awaiting_ack and transport.armed() == ()


def test_t2_expiry_repeats_with_a_fresh_t2() -> None:
    transport, frame = sending()
    [first] = transport.armed()
    assert transport.expire("T2") == []
    assert transport.data_to_send() == frame
    [second] = transport.armed()
    assert second.generation != first.generation


def test_nak_and_t2_expiry_share_the_three_sends() -> None:
    transport, frame = sending()
    transport.receive_data(NAK)
    transport.expire("T2")
    [failed] = transport.expire("T2")
    assert isinstance(failed, SendFailed)
    assert "T2" in str(failed.error)
    assert transport.data_to_send() == frame + frame


def test_stray_ack_nak_and_t2_while_nothing_is_pending_are_harmless() -> None:
    transport = Transport()
    assert transport.receive_data(ACK + NAK) == []
    assert transport.expire("T2") == []
    assert transport.data_to_send() == b""
    assert transport.repeats == 0


def test_sending_a_second_frame_before_the_ack_is_refused() -> None:
    transport, _ = sending()
    with pytest.raises(TransmissionError):
        transport.send(COMPLETION)


def test_good_frame_is_acked_and_delivered() -> None:
    transport = Transport()
    assert transport.receive_data(encode_frame(COMPLETION)) == [Delivered(COMPLETION)]
    assert transport.data_to_send() == ACK


def test_bad_frame_is_naked_and_reported() -> None:
    transport = Transport()
    bad = bytearray(encode_frame(COMPLETION))
    bad[-1] ^= 0xFF
    [rejected] = transport.receive_data(bytes(bad))
    assert isinstance(rejected, Rejected) and isinstance(rejected.error, CrcError)
    assert transport.data_to_send() == NAK
    assert transport.nak_sent == 1
    assert transport.receive_data(encode_frame(COMPLETION)) == [Delivered(COMPLETION)]
    assert transport.data_to_send() == ACK


def test_t1_runs_only_inside_a_frame_and_restarts_with_every_chunk() -> None:
    transport = Transport(timeouts=Timeouts(t1=0.2))
    frame = encode_frame(COMPLETION)
    assert transport.armed() == ()
    transport.receive_data(frame[:3])
    [t1] = transport.armed()
    assert (t1.name, t1.seconds) == ("T1", 0.2)
    transport.receive_data(frame[3:5])
    [later] = transport.armed()
    assert later.generation != t1.generation
    transport.receive_data(frame[5:])
    assert transport.armed() == ()


def test_t1_expiry_mid_frame_naks_the_partial_frame() -> None:
    transport = Transport()
    transport.receive_data(encode_frame(COMPLETION)[:4])
    [rejected] = transport.expire("T1")
    assert isinstance(rejected, Rejected) and isinstance(rejected.error, FrameError)
    assert transport.data_to_send() == NAK
    assert transport.armed() == ()
    assert transport.expire("T1") == []  # nothing left to drop


def test_a_frame_while_awaiting_ack_is_the_implicit_ack() -> None:
    transport, _ = sending()
    events = transport.receive_data(encode_frame(COMPLETION))
    assert events == [Sent(ACCEPT), Delivered(COMPLETION)]
    assert not transport.awaiting_ack
    assert transport.data_to_send() == ACK
    assert transport.receive_data(ACK) == []  # the late real ACK changes nothing


def test_a_broken_frame_while_awaiting_ack_is_not_an_ack() -> None:
    transport, _ = sending()
    bad = bytearray(encode_frame(COMPLETION))
    bad[-2] ^= 1
    [rejected] = transport.receive_data(bytes(bad))
    assert isinstance(rejected, Rejected)
    assert transport.awaiting_ack


def test_refused_frames_are_naked_even_when_well_formed() -> None:
    transport = Transport()
    transport.refuse_frames(2)
    frame = encode_frame(COMPLETION)
    assert [type(e) for e in transport.receive_data(frame + frame)] == [Rejected, Rejected]
    assert transport.receive_data(frame) == [Delivered(COMPLETION)]
    assert transport.data_to_send() == NAK + NAK + ACK


# -- TCP


def test_tcp_sends_bare_apdus_at_once_without_t2() -> None:
    transport = Transport(serial=False)
    assert transport.send(ACCEPT) == [Sent(ACCEPT)]
    assert transport.send(COMPLETION) == [Sent(COMPLETION)]  # no ACK to wait for
    assert transport.data_to_send() == ACCEPT + COMPLETION
    assert transport.armed() == () and not transport.awaiting_ack


def test_tcp_receives_by_length_and_never_writes_ack_bytes() -> None:
    transport = Transport(serial=False)
    assert transport.receive_data(b"\x06\x0f") == []
    assert transport.receive_data(b"\x02\x15\x06" + ACCEPT) == [
        Delivered(b"\x06\x0f\x02\x15\x06"),
        Delivered(ACCEPT),
    ]
    assert transport.data_to_send() == b""


def test_tcp_treats_06_and_15_as_data_not_ack_or_nak() -> None:
    transport = Transport(serial=False)
    transport.send(ACCEPT)
    transport.data_to_send()
    assert transport.receive_data(NAK) == []
    assert transport.data_to_send() == b""  # no repeat on TCP
    assert transport.repeats == 0


def test_tcp_partial_apdu_dropped_on_t1_writes_no_nak() -> None:
    transport = Transport(serial=False)
    transport.receive_data(b"\x06\x0f")
    transport.expire("T1")
    assert transport.data_to_send() == b""


def test_resync_drops_a_partial_serial_frame_quietly() -> None:
    transport = Transport()
    transport.receive_data(encode_frame(COMPLETION)[:-1])  # one CRC byte short
    transport.resync()
    assert transport.armed() == ()
    assert transport.send(ACCEPT) == []
    transport.data_to_send()
    assert transport.receive_data(ACK) == [Sent(ACCEPT)]  # not the stale frame's last byte
    assert transport.data_to_send() == b""  # dropped without a NAK


def test_resync_keeps_a_partial_tcp_apdu() -> None:
    transport = Transport(serial=False)
    transport.receive_data(COMPLETION[:2])
    transport.resync()
    assert transport.receive_data(COMPLETION[2:]) == [Delivered(COMPLETION)]
