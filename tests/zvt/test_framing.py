"""Serial framing and TCP APDU splitting: stuffing, CRC, ACK/NAK bytes, noise, T1."""

from __future__ import annotations

import pytest

from pi_agent.zvt.errors import CrcError, FrameError
from pi_agent.zvt.framing import (
    AckReceived,
    ApduReader,
    FrameReader,
    FrameReceived,
    FrameRejected,
    NakReceived,
    apdu_size,
    encode_frame,
)

STUFFED_APDU = bytes.fromhex("06 0F 0A 19 00 29 29 00 10 06 49 09 78")


def test_dle_in_the_apdu_is_doubled_and_undoubled() -> None:
    frame = encode_frame(STUFFED_APDU)
    assert b"\x10\x10\x06" in frame
    assert FrameReader().feed(frame) == [FrameReceived(STUFFED_APDU)]


def test_crc_bytes_equal_to_dle_are_not_doubled() -> None:
    frame = encode_frame(bytes.fromhex("05 01 00"))
    assert frame == bytes.fromhex("10 02 05 01 00 10 03 10 06")
    assert FrameReader().feed(frame) == [FrameReceived(bytes.fromhex("05 01 00"))]


def test_ack_and_nak_outside_frames() -> None:
    reader = FrameReader()
    assert reader.feed(b"\x06\x15") == [AckReceived(), NakReceived()]


def test_a_06_inside_a_frame_is_data_not_ack() -> None:
    apdu = bytes.fromhex("06 50 03 06 06 06")
    assert FrameReader().feed(encode_frame(apdu)) == [FrameReceived(apdu)]


def test_noise_between_frames_is_counted_and_skipped() -> None:
    reader = FrameReader()
    events = reader.feed(b"\x00\xff\x10\x41" + encode_frame(b"\x80\x00\x00"))
    assert events == [FrameReceived(b"\x80\x00\x00")]
    assert reader.discarded == 4


def test_bad_dle_sequence_is_rejected_and_reader_resyncs() -> None:
    reader = FrameReader()
    events = reader.feed(b"\x10\x02\x80\x00\x10\x41" + encode_frame(b"\x80\x00\x00"))
    assert isinstance(events[0], FrameRejected)
    assert "10 or 03" in str(events[0].error)
    assert events[1:] == [FrameReceived(b"\x80\x00\x00")]


def test_wrong_crc_is_a_crc_error() -> None:
    frame = bytearray(encode_frame(b"\x80\x00\x00"))
    frame[-1] ^= 0x01
    [event] = FrameReader().feed(bytes(frame))
    assert isinstance(event, FrameRejected) and isinstance(event.error, CrcError)


def test_frame_shorter_than_an_apdu_header_is_rejected() -> None:
    [event] = FrameReader().feed(encode_frame(b"\x80\x00"))
    assert isinstance(event, FrameRejected)


@pytest.mark.parametrize("apdu", [STUFFED_APDU, bytes.fromhex("06 10 03 12 34 56"), b"\x10" * 40])
def test_every_split_point_gives_the_same_frame(apdu: bytes) -> None:
    frame = encode_frame(apdu)
    for cut in range(len(frame) + 1):
        reader = FrameReader()
        assert reader.feed(frame[:cut]) + reader.feed(frame[cut:]) == [FrameReceived(apdu)]
    reader = FrameReader()
    assert [e for b in frame for e in reader.feed(bytes([b]))] == [FrameReceived(apdu)]


def test_t1_abandons_a_partial_frame_for_a_nak() -> None:
    reader = FrameReader()
    assert reader.feed(encode_frame(b"\x80\x00\x00")[:5]) == []
    assert reader.in_frame
    rejected = reader.abandon()
    assert isinstance(rejected, FrameRejected) and isinstance(rejected.error, FrameError)
    assert not reader.in_frame
    assert reader.abandon() is None


def test_apdu_reader_splits_a_tcp_stream_by_length() -> None:
    long_apdu = b"\x04\x0f\xff" + (300).to_bytes(2, "little") + bytes(300)
    stream = b"\x80\x00\x00" + long_apdu + b"\x06\x0f\x00"
    reader = ApduReader()
    events = []
    for i in range(0, len(stream), 7):
        events += reader.feed(stream[i : i + 7])
    assert [e.apdu for e in events] == [b"\x80\x00\x00", long_apdu, b"\x06\x0f\x00"]
    assert not reader.in_frame


def test_apdu_size_needs_the_whole_header() -> None:
    assert apdu_size(b"\x06\x0f") is None
    assert apdu_size(b"\x06\x0f\xff\x01") is None
    assert apdu_size(b"\x06\x0f\xff\x01\x01") == 5 + 257
    assert apdu_size(b"\x06\x0f\x02") == 5
