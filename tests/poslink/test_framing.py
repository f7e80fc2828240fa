"""Frame reader: control bytes, LRC, noise, restarts and the size limit."""

from __future__ import annotations

from pi_agent.poslink.errors import LrcError
from pi_agent.poslink.framing import (
    MAX_BODY,
    AckReceived,
    EotReceived,
    FrameReader,
    FrameReceived,
    FrameRejected,
    NakReceived,
    encode_frame,
    lrc,
)


def test_control_bytes_outside_a_frame_are_events_and_noise_is_counted() -> None:
    reader = FrameReader()
    assert reader.feed(b"\x06\x15\x04\x99") == [AckReceived(), NakReceived(), EotReceived()]
    assert reader.discarded == 1


def test_an_lrc_of_0x03_is_one_raw_byte_not_an_end() -> None:
    body = b"\x00"  # 0x00 ^ ETX = 0x03
    assert lrc(body) == 0x03
    frame = encode_frame(body)
    assert frame == b"\x02\x00\x03\x03"
    assert FrameReader().feed(frame + b"\x06") == [FrameReceived(body), AckReceived()]


def test_a_wrong_lrc_is_a_rejection_to_nak() -> None:
    frame = bytearray(encode_frame(b"A00\x1c1.28"))
    frame[-1] ^= 0xFF
    [event] = FrameReader().feed(bytes(frame))
    assert isinstance(event, FrameRejected) and isinstance(event.error, LrcError)


def test_a_new_stx_restarts_the_frame() -> None:
    reader = FrameReader()
    events = reader.feed(b"\x02A00\x1c1." + encode_frame(b"A16\x1c1.28"))
    assert events == [FrameReceived(b"A16\x1c1.28")] and reader.dropped == 1


def test_a_frame_without_end_is_rejected_at_the_size_limit() -> None:
    reader = FrameReader()
    events = reader.feed(b"\x02" + b"x" * (MAX_BODY + 1))
    assert len(events) == 1 and isinstance(events[0], FrameRejected)
    assert not reader.in_frame


def test_abandon_rejects_a_partial_frame() -> None:
    reader = FrameReader()
    reader.feed(b"\x02A0")
    assert isinstance(reader.abandon(), FrameRejected)
    assert reader.abandon() is None
