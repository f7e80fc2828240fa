"""Every worked byte example of the ZVT fact sheet (§7) decodes and re-encodes byte-exact."""

from __future__ import annotations

from datetime import datetime

import pytest

from pi_agent.zvt.apdu import Apdu
from pi_agent.zvt.bmp import CardTotal, IndividualTotals
from pi_agent.zvt.crc import crc16_kermit
from pi_agent.zvt.framing import ApduReader, FrameReader, FrameReceived, encode_frame
from pi_agent.zvt.messages import (
    Abort,
    Completion,
    Diagnosis,
    EndOfDay,
    Initialisation,
    LogOff,
    Message,
    NegativeAck,
    PositiveAck,
    PtAbort,
    Registration,
    SetDateTime,
    StatusEnquiry,
    StatusInformation,
    TurnoverTotals,
    decode_message,
)


def h(text: str) -> bytes:
    return bytes.fromhex(text)


def frame_to_message(frame: bytes) -> Message:
    events = FrameReader().feed(frame)
    assert len(events) == 1 and isinstance(events[0], FrameReceived), events
    return decode_message(Apdu.decode(events[0].apdu))


def roundtrip(frame_hex: str, expected: Message) -> None:
    frame = h(frame_hex)
    assert frame_to_message(frame) == expected
    assert encode_frame(expected.encode()) == frame


def test_crc_check_value_and_the_xmodem_pitfall() -> None:
    assert crc16_kermit(b"123456789") == 0x2189
    assert crc16_kermit(h("05 01 03 12 34 56 03")) == 0x43E0
    import binascii

    assert binascii.crc_hqx(h("05 01 03 12 34 56 03"), 0) == 0xA905  # the wrong algorithm


def test_x1_status_enquiry_full_exchange() -> None:
    roundtrip("10 02 05 01 03 12 34 56 10 03 E0 43", StatusEnquiry("123456"))
    roundtrip("10 02 80 00 00 10 03 F5 1F", PositiveAck())
    completion = frame_to_message(h("10 02 06 0F 0B F0 F0 F7 32 2E 31 34 2E 31 35 00 10 03 B1 11"))
    assert isinstance(completion, Completion)
    status = completion.status(with_software_version=True)
    assert (status.software_version, status.terminal_status) == ("2.14.15", 0x00)
    assert Completion.for_status(0x00, "2.14.15") == completion
    assert encode_frame(completion.encode()) == h(
        "10 02 06 0F 0B F0 F0 F7 32 2E 31 34 2E 31 35 00 10 03 B1 11"
    )


def test_x1_variants_service_byte_and_no_password() -> None:
    roundtrip("10 02 05 01 05 12 34 56 03 04 10 03 30 94", StatusEnquiry("123456", 0x04))
    # The CRC's low byte is 10 and is sent once, never doubled.
    roundtrip("10 02 05 01 00 10 03 10 06", StatusEnquiry())


@pytest.mark.parametrize(
    ("frame", "password"),
    [
        ("10 02 06 50 03 12 34 56 10 03 C4 AF", "123456"),
        ("10 02 06 50 03 00 00 00 10 03 FB 37", "000000"),
    ],
)
def test_x2_end_of_day(frame: str, password: str) -> None:
    roundtrip(frame, EndOfDay(password))


def test_x3_turnover_totals_with_stuffed_instruction_byte() -> None:
    roundtrip("10 02 06 10 10 03 12 34 56 10 03 15 AD", TurnoverTotals("123456"))
    assert crc16_kermit(h("06 10 03 12 34 56 03")) == 0xAD15


def test_x4_registration() -> None:
    roundtrip(
        "10 02 06 00 08 12 34 56 08 09 78 03 00 10 03 80 C9",
        Registration("123456", 0x08, 978, service_byte=0x00),
    )


def test_x5_completion_after_registration_with_stuffed_tid() -> None:
    apdu = h("06 0F 0A 19 00 29 29 00 10 06 49 09 78")
    frame = h("10 02 06 0F 0A 19 00 29 29 00 10 10 06 49 09 78 10 03 EF 72")
    assert encode_frame(apdu) == frame
    message = frame_to_message(frame)
    assert isinstance(message, Completion)
    fields = message.fields()
    assert (fields.get(0x19), fields.get(0x29), fields.get(0x49)) == (0x00, "29001006", 978)
    assert message.encode() == apdu


X6_APDU = h(
    "04 0F 52"
    " 27 00"
    " 04 00 00 00 00 77 84"
    " 0B 00 01 23"
    " 0C 18 30 00"
    " 0D 06 15"
    " 29 12 34 56 78"
    " 60 F0 F5 F3"
    " 00 01 00 06"
    " 03 00 00 00 00 45 50"
    " 00 00 00 00 00 00 00"
    " 02 00 00 00 00 20 00"
    " 00 00 00 00 00 00 00"
    " 01 00 00 00 00 12 34"
    " 00 00 00 00 00 00 00"
    " 00 00 00 00 00 00 00"
)


def test_x6_status_information_after_end_of_day() -> None:
    assert len(X6_APDU) == 85
    frame = encode_frame(X6_APDU)
    assert frame[:2] == h("10 02") and frame[-4:] == h("10 03 DC 5B")
    info = frame_to_message(frame)
    assert isinstance(info, StatusInformation)
    assert info.result_code == 0x00
    assert info.amount == 7784
    assert info.fields.get(0x0B) == 123
    assert info.fields.get(0x0C) == "183000"
    assert info.fields.get(0x0D) == "0615"
    assert info.terminal_id == "12345678"
    totals = info.totals
    assert totals is not None
    assert (totals.first_receipt, totals.last_receipt) == (1, 6)
    named = totals.by_name()
    assert named["girocard"] == CardTotal(3, 4550)
    assert named["mastercard"] == CardTotal(2, 2000)
    assert named["visa"] == CardTotal(1, 1234)
    assert sum(slot.amount for slot in totals.slots) == info.amount
    assert info.encode() == X6_APDU


def test_x6_real_capture_over_tcp() -> None:
    # Stored without its length byte in the source: 49 = 73 data bytes, which is exactly
    # 20 bytes of BMPs before BMP 60 plus its 53 (4 receipt bytes, girocard, 6 empty slots).
    head = h("04 0F 49 27 00 04 00 00 00 00 26 00 0C 10 59 37 0D 03 31 60 F0 F5 F3")
    apdu = head + h("00 68 00 71 04 00 00 00 00 26 00") + bytes(42)
    assert len(apdu) - 3 == 0x49
    events = ApduReader().feed(apdu)
    info = decode_message(Apdu.decode(events[0].apdu))
    assert isinstance(info, StatusInformation)
    assert info.amount == 2600
    assert info.fields.get(0x0C) == "105937" and info.fields.get(0x0D) == "0331"
    totals = info.totals
    assert totals is not None and (totals.first_receipt, totals.last_receipt) == (68, 71)
    assert totals.by_name()["girocard"] == CardTotal(4, 2600)
    assert all(slot == CardTotal(0, 0) for slot in totals.slots[1:])
    assert info.encode() == apdu


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        ("10 02 80 00 00 10 03 F5 1F", PositiveAck()),
        ("10 02 84 9C 00 10 03 C3 41", NegativeAck(0x9C)),
        ("10 02 06 70 00 10 03 D9 F9", Diagnosis()),
        ("10 02 06 93 03 12 34 56 10 03 CA A4", Initialisation("123456")),
        ("10 02 06 02 00 10 03 B9 CC", LogOff()),
        ("10 02 06 B0 00 10 03 43 F3", Abort()),
        ("10 02 06 1E 01 77 10 03 F0 83", PtAbort(0x77)),
        (
            "10 02 06 91 0B 12 34 56 AA 25 06 15 0C 18 30 00 10 03 5A 19",
            SetDateTime("123456", datetime(2025, 6, 15, 18, 30, 0)),
        ),
    ],
)
def test_x7_other_frames(frame: str, message: Message) -> None:
    roundtrip(frame, message)


def test_individual_totals_layout_is_53_bytes() -> None:
    slots = tuple(CardTotal(i, i * 100) for i in range(7))
    raw = IndividualTotals(12, 34, slots).encode()
    assert len(raw) == 53
    assert raw[:4] == h("00 12 00 34")
    assert IndividualTotals.decode(raw).slots == slots
