"""Serial framing (FrameReader, encode_frame) and TCP APDU splitting (ApduReader)."""

from __future__ import annotations

import pytest

from pi_agent.zvt.crc import crc16_kermit
from pi_agent.zvt.errors import CrcError, FrameError
from pi_agent.zvt.framing import (
    ACK_BYTE,
    MAX_APDU,
    AckReceived,
    ApduReader,
    FrameReader,
    FrameReceived,
    FrameRejected,
    NakReceived,
    apdu_size,
    encode_frame,
    stuff,
)

ACCEPT = bytes.fromhex("80 00 00")
TID_COMPLETION = bytes.fromhex("06 0F 0A 19 00 29 29 00 10 06 49 09 78")  # one 10 in the data
CRC_HIGH_10 = bytes.fromhex("06 D1 02 01 55")  # CRC high byte is 10
CRC_BOTH_10 = bytes.fromhex("06 D1 02 EF C5")  # CRC is 1010


def feed_all(reader: FrameReader | ApduReader, *chunks: bytes) -> list:
    return [event for chunk in chunks for event in reader.feed(chunk)]


def only_event(data: bytes) -> object:
    events = FrameReader().feed(data)
    assert len(events) == 1, events
    return events[0]


# -- encoding and DLE stuffing


def test_every_dle_in_the_apdu_is_sent_twice() -> None:
    assert stuff(b"\x10\x01\x10\x10") == b"\x10\x10\x01\x10\x10\x10\x10"
    frame = encode_frame(TID_COMPLETION)
    body = frame[2:-4]
    assert body == TID_COMPLETION.replace(b"\x10", b"\x10\x10")
    assert frame[:2] == b"\x10\x02" and frame[-4:-2] == b"\x10\x03"


def test_stuffing_dles_are_not_in_the_crc() -> None:
    frame = encode_frame(TID_COMPLETION)
    crc = crc16_kermit(TID_COMPLETION + b"\x03")
    assert frame[-2:] == bytes((crc & 0xFF, crc >> 8))


def test_reader_undoubles_dles() -> None:
    assert only_event(encode_frame(TID_COMPLETION)) == FrameReceived(TID_COMPLETION)
    all_dle = b"\x10" * 40
    assert only_event(encode_frame(all_dle)) == FrameReceived(all_dle)


@pytest.mark.parametrize("apdu", [CRC_HIGH_10, CRC_BOTH_10, bytes.fromhex("05 01 00")])
def test_crc_bytes_equal_to_10_are_sent_once_and_read_raw(apdu: bytes) -> None:
    frame = encode_frame(apdu)
    crc = crc16_kermit(apdu + b"\x03")
    assert 0x10 in (crc & 0xFF, crc >> 8)
    assert frame == b"\x10\x02" + stuff(apdu) + b"\x10\x03" + bytes((crc & 0xFF, crc >> 8))
    assert only_event(frame) == FrameReceived(apdu)


def test_frame_after_a_crc_of_1010_is_read_too() -> None:
    events = FrameReader().feed(encode_frame(CRC_BOTH_10) + b"\x06" + encode_frame(ACCEPT))
    assert events == [FrameReceived(CRC_BOTH_10), AckReceived(), FrameReceived(ACCEPT)]


# -- ACK, NAK and noise outside frames


def test_ack_and_nak_are_single_raw_bytes_outside_frames() -> None:
    reader = FrameReader()
    assert reader.feed(b"\x06") == [AckReceived()]
    assert reader.feed(b"\x15") == [NakReceived()]
    assert not reader.in_frame


def test_ack_and_nak_between_frames_keep_their_order() -> None:
    events = FrameReader().feed(b"\x06" + encode_frame(ACCEPT) + b"\x15\x06")
    assert events == [AckReceived(), FrameReceived(ACCEPT), NakReceived(), AckReceived()]


def test_06_and_15_inside_a_frame_are_data() -> None:
    apdu = bytes.fromhex("06 50 04 06 15 06 15")
    assert only_event(encode_frame(apdu)) == FrameReceived(apdu)


def test_line_noise_is_counted_and_discarded() -> None:
    reader = FrameReader()
    events = reader.feed(b"\x00\xff\x41" + encode_frame(ACCEPT) + b"\x7f")
    assert events == [FrameReceived(ACCEPT)]
    assert reader.discarded == 4


def test_a_lone_dle_not_followed_by_stx_is_noise() -> None:
    reader = FrameReader()
    assert reader.feed(b"\x10\x41\x10\x10" + encode_frame(ACCEPT)) == [FrameReceived(ACCEPT)]
    assert reader.discarded == 4  # 10 41, then 10 10 before the frame's own 10 02


def test_dle_then_ack_outside_a_frame_still_yields_the_ack() -> None:
    reader = FrameReader()
    assert reader.feed(b"\x10\x06") == [AckReceived()]
    assert reader.discarded == 1


# -- rejected frames


@pytest.mark.parametrize("bad", [0x00, 0x06, 0x41, 0xFF])
def test_dle_followed_by_anything_but_10_02_or_03_inside_a_frame_is_rejected(bad: int) -> None:
    events = FrameReader().feed(b"\x10\x02\x80\x00\x10" + bytes((bad,)))
    assert len(events) == 1 and isinstance(events[0], FrameRejected)
    assert type(events[0].error) is FrameError
    assert f"{bad:02X}" in str(events[0].error)


def test_dle_stx_inside_a_frame_starts_a_new_frame_without_a_rejection() -> None:
    # A stale frame start (noise) right before the real answer costs no NAK and no repeat.
    reader = FrameReader()
    assert reader.feed(b"\x10\x02\x06\x1e\x01" + encode_frame(ACCEPT)) == [FrameReceived(ACCEPT)]
    assert reader.dropped == 1


def test_resync_forgets_a_partial_frame_without_a_rejection() -> None:
    frame = encode_frame(TID_COMPLETION)
    for cut in range(2, len(frame)):  # up to one CRC byte short, as stale noise can leave it
        reader = FrameReader()
        assert reader.feed(frame[:cut]) == []
        reader.resync()
        assert not reader.in_frame and reader.dropped == 1
        assert reader.feed(ACK_BYTE) == [AckReceived()]  # the next ACK is an ACK again
    lone = FrameReader()
    lone.feed(b"\x10")
    lone.resync()
    assert (lone.discarded, lone.dropped, lone.in_frame) == (1, 0, False)


def test_reader_resynchronises_after_a_bad_dle_sequence() -> None:
    events = FrameReader().feed(b"\x10\x02\x80\x00\x10\x41" + encode_frame(ACCEPT))
    assert isinstance(events[0], FrameRejected)
    assert events[1:] == [FrameReceived(ACCEPT)]


@pytest.mark.parametrize("position", [-1, -2])
@pytest.mark.parametrize("bit", range(8))
def test_any_flipped_crc_bit_is_a_crc_error(position: int, bit: int) -> None:
    frame = bytearray(encode_frame(ACCEPT))
    frame[position] ^= 1 << bit
    event = only_event(bytes(frame))
    assert isinstance(event, FrameRejected) and isinstance(event.error, CrcError)


def test_a_changed_data_byte_is_a_crc_error() -> None:
    frame = bytearray(encode_frame(bytes.fromhex("06 50 03 12 34 56")))
    frame[5] = 0x35
    event = only_event(bytes(frame))
    assert isinstance(event, FrameRejected) and isinstance(event.error, CrcError)


def test_a_frame_shorter_than_an_apdu_header_is_rejected_despite_a_good_crc() -> None:
    for apdu in (b"", b"\x80", b"\x80\x00"):
        event = only_event(encode_frame(apdu))
        assert isinstance(event, FrameRejected) and not isinstance(event.error, CrcError)


def test_the_largest_apdu_passes_one_byte_more_is_rejected() -> None:
    largest = b"\x06\xd3\xff\xff\xff" + bytes(0xFFFF)
    assert len(largest) == MAX_APDU
    assert only_event(encode_frame(largest)) == FrameReceived(largest)
    reader = FrameReader()
    events = reader.feed(encode_frame(largest + b"\x00"))
    assert len(events) == 1 and isinstance(events[0], FrameRejected)
    assert not reader.in_frame


# -- split reads


FRAMES = [ACCEPT, TID_COMPLETION, CRC_BOTH_10, bytes.fromhex("06 10 03 12 34 56"), b"\x10" * 12]


@pytest.mark.parametrize("apdu", FRAMES)
def test_a_frame_split_at_any_byte_boundary_reads_the_same(apdu: bytes) -> None:
    frame = encode_frame(apdu)
    for cut in range(len(frame) + 1):
        assert feed_all(FrameReader(), frame[:cut], frame[cut:]) == [FrameReceived(apdu)], cut


@pytest.mark.parametrize("apdu", FRAMES)
def test_a_frame_fed_byte_by_byte_reads_the_same(apdu: bytes) -> None:
    frame = encode_frame(apdu)
    assert feed_all(FrameReader(), *(bytes((b,)) for b in frame)) == [FrameReceived(apdu)]


def test_a_stream_of_frames_and_acks_split_at_every_pair_of_cuts_reads_the_same() -> None:
    stream = b"\x06" + encode_frame(TID_COMPLETION) + b"\x15" + encode_frame(CRC_BOTH_10)
    expected = FrameReader().feed(stream)
    assert expected == [
        AckReceived(),
        FrameReceived(TID_COMPLETION),
        NakReceived(),
        FrameReceived(CRC_BOTH_10),
    ]
    for a in range(len(stream) + 1):
        for b in range(a, len(stream) + 1):
            assert feed_all(FrameReader(), stream[:a], stream[a:b], stream[b:]) == expected


# -- T1: abandoning a partial frame


def test_t1_abandon_mid_frame_gives_a_rejection_at_every_cut() -> None:
    frame = encode_frame(TID_COMPLETION)
    for cut in range(2, len(frame)):  # from "10 02" to one CRC byte short
        reader = FrameReader()
        assert reader.feed(frame[:cut]) == []
        assert reader.in_frame
        rejected = reader.abandon()
        assert isinstance(rejected, FrameRejected) and isinstance(rejected.error, FrameError)
        assert not reader.in_frame
        assert reader.feed(frame) == [FrameReceived(TID_COMPLETION)]


def test_t1_after_a_lone_dle_is_noise_not_a_rejection() -> None:
    reader = FrameReader()
    reader.feed(b"\x10")
    assert reader.in_frame
    assert reader.abandon() is None
    assert reader.discarded == 1 and not reader.in_frame


def test_t1_while_idle_does_nothing() -> None:
    reader = FrameReader()
    assert reader.abandon() is None
    assert reader.discarded == 0


# -- TCP: ApduReader


def test_apdu_size_reads_short_and_extended_headers() -> None:
    assert apdu_size(b"") is None
    assert apdu_size(b"\x06\x0f") is None
    assert apdu_size(b"\x06\x0f\x02") == 5
    assert apdu_size(b"\x06\x0f\xfe") == 3 + 254
    assert apdu_size(b"\x06\x0f\xff\x01") is None
    assert apdu_size(b"\x06\x0f\xff\x01\x01") == 5 + 257  # little-endian 0x0101


def test_apdu_reader_with_extended_length_split_at_every_boundary() -> None:
    long_apdu = b"\x04\x0f\xff\x2c\x01" + bytes(range(256)) + bytes(44)  # 300 = 0x012C
    stream = ACCEPT + long_apdu + b"\x06\x0f\x00"
    for cut in range(len(stream) + 1):
        reader = ApduReader()
        events = feed_all(reader, stream[:cut], stream[cut:])
        assert [e.apdu for e in events] == [ACCEPT, long_apdu, b"\x06\x0f\x00"], cut
        assert not reader.in_frame


def test_apdu_reader_waits_for_both_extended_length_bytes() -> None:
    apdu = b"\x06\xd3\xff\x00\x01" + bytes(256)
    reader = ApduReader()
    for piece in (apdu[:3], apdu[3:4], apdu[4:5], apdu[5:-1]):
        assert reader.feed(piece) == []
        assert reader.in_frame
    assert reader.feed(apdu[-1:]) == [FrameReceived(apdu)]


def test_apdu_reader_does_not_interpret_ack_bytes_or_dles() -> None:
    apdu = b"\x06\x0f\x03\x10\x06\x15"
    assert ApduReader().feed(apdu) == [FrameReceived(apdu)]


def test_apdu_reader_abandon_drops_a_partial_apdu() -> None:
    reader = ApduReader()
    assert reader.abandon() is None
    reader.feed(b"\x06\x0f\x05\x01")
    rejected = reader.abandon()
    assert isinstance(rejected, FrameRejected) and not reader.in_frame
    assert reader.feed(ACCEPT) == [FrameReceived(ACCEPT)]
