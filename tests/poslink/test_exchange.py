"""ECR exchange as a specification: ACK quirks, NAK and resend, bad LRC, EOT, timer, and
a full round trip against the terminal side."""

from __future__ import annotations

import pytest

from pi_agent.poslink.errors import ExchangeError, TimeoutExpired, TransmissionError
from pi_agent.poslink.events import Ack, Eot, Nak, Rejected
from pi_agent.poslink.exchange import EcrExchange, Ended, ResponseReceived, State
from pi_agent.poslink.framing import encode_frame
from pi_agent.poslink.messages import (
    BatchClose,
    BatchCloseResponse,
    HostInfo,
    Initialize,
    InitializeResponse,
)
from pi_agent.poslink.terminal import RequestReceived, RequestRefused, TerminalSide

ACK, NAK, EOT = b"\x06", b"\x15", b"\x04"
A01 = InitializeResponse(serial_number="53012345", model="A920", os_version="7.1")
A01_FRAME = encode_frame(A01.encode())


def garbled(frame: bytes) -> bytes:
    return frame[:-1] + bytes([frame[-1] ^ 0x55])


def started() -> EcrExchange:
    exchange = EcrExchange()
    exchange.send(Initialize())
    return exchange


def test_ack_as_its_own_read_then_the_response() -> None:
    exchange = started()
    assert exchange.receive_data(ACK) == [Ack()]
    assert exchange.state is State.WAIT_RESPONSE
    events = exchange.receive_data(A01_FRAME)
    assert events[0] == ResponseReceived(A01) and isinstance(events[1], Ended)
    assert exchange.data_to_send() == ACK
    assert exchange.result is not None and exchange.result.completed and exchange.result.acked


def test_ack_and_response_in_one_chunk() -> None:
    exchange = started()
    events = exchange.receive_data(ACK + A01_FRAME)
    assert events[:2] == [Ack(), ResponseReceived(A01)]
    assert exchange.state is State.DONE and exchange.data_to_send() == ACK


def test_no_ack_at_all() -> None:
    exchange = started()
    assert exchange.receive_data(A01_FRAME)[0] == ResponseReceived(A01)
    assert exchange.result is not None and exchange.result.completed
    assert not exchange.result.acked


def test_response_byte_by_byte() -> None:
    exchange = started()
    events = [e for byte in ACK + A01_FRAME for e in exchange.receive_data(bytes([byte]))]
    assert ResponseReceived(A01) in events and exchange.state is State.DONE


def test_nak_resends_the_request_up_to_three_sends_then_fails() -> None:
    exchange = EcrExchange()
    frame = exchange.send(BatchClose())
    assert exchange.receive_data(NAK) == [Nak(resent=True)]
    assert exchange.data_to_send() == frame
    assert exchange.receive_data(NAK) == [Nak(resent=True)]
    assert exchange.data_to_send() == frame
    events = exchange.receive_data(NAK)
    assert events[0] == Nak(resent=False) and isinstance(events[1], Ended)
    assert exchange.data_to_send() == b""
    assert exchange.result is not None and exchange.result.sends == 3
    assert isinstance(exchange.result.error, TransmissionError)


def test_a_bad_lrc_is_naked_and_the_third_gets_eot() -> None:
    exchange = started()
    exchange.receive_data(ACK)
    for _ in range(2):
        [event] = exchange.receive_data(garbled(A01_FRAME))
        assert isinstance(event, Rejected) and exchange.data_to_send() == NAK
    events = exchange.receive_data(garbled(A01_FRAME))
    assert isinstance(events[-1], Ended) and exchange.data_to_send() == EOT
    assert isinstance(events[-1].result.error, TransmissionError)


def test_a_bad_lrc_then_a_good_resend_completes() -> None:
    exchange = started()
    exchange.receive_data(garbled(A01_FRAME))
    assert exchange.data_to_send() == NAK
    assert exchange.receive_data(A01_FRAME)[0] == ResponseReceived(A01)
    assert exchange.data_to_send() == ACK


def test_a_nak_after_the_ack_never_resends_a_batch_close() -> None:
    exchange = EcrExchange()
    exchange.send(BatchClose())
    exchange.receive_data(ACK)
    assert exchange.receive_data(NAK) == [Nak(resent=False)]
    assert exchange.data_to_send() == b"" and exchange.state is State.WAIT_RESPONSE


def test_eot_ends_the_exchange() -> None:
    exchange = started()
    events = exchange.receive_data(EOT)
    assert events[0] == Eot() and exchange.state is State.DONE


def test_the_response_timer_is_armed_until_done_and_its_expiry_fails() -> None:
    exchange = started()
    [armed] = exchange.armed()
    assert armed.name == "response" and armed.seconds == 60.0
    exchange.receive_data(garbled(A01_FRAME))
    assert exchange.armed()[0].generation > armed.generation  # the resend gets the full time
    [ended] = exchange.expire("response")
    assert isinstance(ended, Ended) and isinstance(ended.result.error, TimeoutExpired)
    assert exchange.armed() == () and exchange.expire("response") == []


def test_a_late_response_after_a_timeout_is_acked_and_kept() -> None:
    exchange = started()
    exchange.expire("response")
    assert exchange.receive_data(A01_FRAME) == [ResponseReceived(A01, late=True)]
    assert exchange.data_to_send() == ACK
    assert exchange.result is not None and exchange.result.late == [A01]


def test_a_response_to_another_command_is_acked_and_skipped() -> None:
    exchange = started()
    stray = encode_frame(BatchCloseResponse().encode())
    assert exchange.receive_data(stray) == []
    assert exchange.data_to_send() == ACK and exchange.state is State.WAIT_ACK


def test_an_intact_frame_that_is_no_response_fails_the_exchange() -> None:
    exchange = started()
    events = exchange.receive_data(encode_frame(b"0\x1cA01\x1c1.28\x1cOK"))
    assert isinstance(events[0], Rejected) and exchange.state is State.DONE


def test_a_second_send_while_running_is_refused() -> None:
    exchange = started()
    with pytest.raises(ExchangeError):
        exchange.send(Initialize())


def test_ecr_and_terminal_side_talk_to_each_other() -> None:
    ecr, pt = EcrExchange(), TerminalSide()
    close = BatchClose(timestamp="20250101120000")
    [received] = pt.receive_data(ecr.send(close))
    assert received == RequestReceived(close)
    answer = BatchCloseResponse(host=HostInfo(batch_number="42"), total_count=(1, 0))
    events = ecr.receive_data(pt.data_to_send() + pt.respond(answer))
    assert ResponseReceived(answer) in events
    assert pt.receive_data(ecr.data_to_send()) == [Ack()]
    assert ecr.result is not None and ecr.result.response is not None
    assert ecr.result.response.batch_number == "42"  # type: ignore[attr-defined]


def test_terminal_side_refuses_a_malformed_request_and_resends_on_nak() -> None:
    pt = TerminalSide()
    [refused] = pt.receive_data(encode_frame(b"R02\x1c1.28\x1c00\x1c\x1c\x1c1.5"))
    assert isinstance(refused, RequestRefused) and pt.data_to_send() == ACK
    frame = pt.respond(A01)
    assert pt.receive_data(NAK) == [Nak(resent=True)] and pt.data_to_send() == frame
