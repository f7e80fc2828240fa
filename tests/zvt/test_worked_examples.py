"""Every worked byte example of the ZVT fact sheet (§7, plus the CRC values of §1.3).

Each frame is read with `FrameReader`, decoded with `decode_message` to the typed
message the fact sheet describes, and the typed message re-encodes byte-exact
(`message.encode()` -> `encode_frame`).
"""

from __future__ import annotations

import binascii
from datetime import datetime

import pytest

from pi_agent.zvt.apdu import Apdu
from pi_agent.zvt.bmp import CardTotal, IndividualTotals
from pi_agent.zvt.crc import crc16_kermit
from pi_agent.zvt.dialogue import DialogueEnded, EcrConnection, State
from pi_agent.zvt.framing import AckReceived, ApduReader, FrameReader, FrameReceived, encode_frame
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


def apdu_of(frame: bytes) -> bytes:
    """The one APDU a frame carries (the reader must accept it whole, with nothing left over)."""
    reader = FrameReader()
    events = reader.feed(frame)
    assert len(events) == 1 and isinstance(events[0], FrameReceived), events
    assert not reader.in_frame and reader.discarded == 0
    return events[0].apdu


def message_of(frame: bytes) -> Message:
    return decode_message(Apdu.decode(apdu_of(frame)))


def assert_worked_example(frame_hex: str, expected: Message) -> None:
    frame = h(frame_hex)
    assert message_of(frame) == expected
    assert encode_frame(expected.encode()) == frame


# -- §1.3 CRC


def test_crc_is_kermit_with_check_value_2189() -> None:
    assert crc16_kermit(b"123456789") == 0x2189


def test_crc_is_not_xmodem_the_spec_name_is_a_pitfall() -> None:
    covered = h("05 01 03 12 34 56 03")
    assert crc16_kermit(covered) == 0x43E0
    assert binascii.crc_hqx(covered, 0) == 0xA905  # true XMODEM: the wrong value
    assert encode_frame(h("05 01 03 12 34 56"))[-2:] == h("E0 43")  # low byte first


# -- X1 Status Enquiry


X1_ENQUIRY = "10 02 05 01 03 12 34 56 10 03 E0 43"
X1_ACCEPTED = "10 02 80 00 00 10 03 F5 1F"
X1_COMPLETION = "10 02 06 0F 0B F0 F0 F7 32 2E 31 34 2E 31 35 00 10 03 B1 11"


def test_x1_status_enquiry_command() -> None:
    assert_worked_example(X1_ENQUIRY, StatusEnquiry("123456"))
    assert StatusEnquiry("123456").wants_software_version


def test_x1_terminal_accepts_with_80_00_00() -> None:
    assert_worked_example(X1_ACCEPTED, PositiveAck())


def test_x1_completion_carries_software_version_and_status_ready() -> None:
    completion = message_of(h(X1_COMPLETION))
    assert isinstance(completion, Completion)
    status = completion.status(with_software_version=True)
    assert status.software_version == "2.14.15"
    assert status.terminal_status == 0x00
    assert status.tlv is None
    assert completion == Completion.for_status(0x00, "2.14.15")
    assert encode_frame(completion.encode()) == h(X1_COMPLETION)


def test_x1_full_exchange_byte_for_byte_through_the_ecr_connection() -> None:
    conn = EcrConnection()
    conn.send(StatusEnquiry("123456"))
    assert conn.data_to_send() == h(X1_ENQUIRY)
    assert conn.receive_data(h("06")) == []
    [accepted] = conn.receive_data(h(X1_ACCEPTED))
    assert accepted == PositiveAck()
    assert conn.data_to_send() == h("06")
    completion, ended = conn.receive_data(h(X1_COMPLETION))
    assert isinstance(ended, DialogueEnded)
    assert completion.status().software_version == "2.14.15"
    assert conn.data_to_send() == h("06") + h(X1_ACCEPTED)
    assert conn.receive_data(h("06")) == []
    assert conn.state is State.DONE and not conn.busy
    assert conn.result.ok and conn.result.final == completion


def test_x1_ack_bytes_are_raw_not_framed() -> None:
    assert FrameReader().feed(h("06")) == [AckReceived()]


def test_x1_variant_with_service_byte_04_asks_for_tlv() -> None:
    assert_worked_example(
        "10 02 05 01 05 12 34 56 03 04 10 03 30 94", StatusEnquiry("123456", service_byte=0x04)
    )


def test_x1_variant_without_password_has_crc_low_byte_10_sent_once() -> None:
    frame = h("10 02 05 01 00 10 03 10 06")
    assert frame[-2] == 0x10  # CRC low byte is DLE, yet not doubled
    assert_worked_example("10 02 05 01 00 10 03 10 06", StatusEnquiry())


# -- X2 to X5


@pytest.mark.parametrize(
    ("frame", "password"),
    [
        ("10 02 06 50 03 12 34 56 10 03 C4 AF", "123456"),
        ("10 02 06 50 03 00 00 00 10 03 FB 37", "000000"),
    ],
)
def test_x2_end_of_day_with_both_passwords(frame: str, password: str) -> None:
    assert_worked_example(frame, EndOfDay(password))


def test_x3_turnover_totals_instr_byte_10_is_stuffed_and_not_in_crc() -> None:
    frame = "10 02 06 10 10 03 12 34 56 10 03 15 AD"
    assert_worked_example(frame, TurnoverTotals("123456"))
    assert apdu_of(h(frame)) == h("06 10 03 12 34 56")
    assert crc16_kermit(h("06 10 03 12 34 56 03")) == 0xAD15


def test_x4_registration_with_config_08_eur_and_service_byte_00() -> None:
    assert_worked_example(
        "10 02 06 00 08 12 34 56 08 09 78 03 00 10 03 80 C9",
        Registration("123456", config=0x08, currency=978, service_byte=0x00),
    )


def test_x5_completion_after_registration_with_doubled_10_in_the_tid() -> None:
    apdu = h("06 0F 0A 19 00 29 29 00 10 06 49 09 78")
    frame = h("10 02 06 0F 0A 19 00 29 29 00 10 10 06 49 09 78 10 03 EF 72")
    assert apdu_of(frame) == apdu
    message = message_of(frame)
    assert isinstance(message, Completion)
    fields = message.fields()
    assert fields.get(0x19) == 0x00
    assert fields.get(0x29) == "29001006"
    assert fields.get(0x49) == 978
    assert [tag for tag, _ in fields] == [0x19, 0x29, 0x49]
    assert message.encode() == apdu
    assert encode_frame(message.encode()) == frame
    assert crc16_kermit(apdu + b"\x03") == 0x72EF


# -- X6 Status-Information after End-of-Day

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


def test_x6_apdu_is_85_bytes_and_its_frame_ends_10_03_dc_5b() -> None:
    assert len(X6_APDU) == 85 and X6_APDU[2] == 82 == len(X6_APDU) - 3
    assert 0x10 not in X6_APDU
    frame = encode_frame(X6_APDU)
    assert frame == h("10 02") + X6_APDU + h("10 03 DC 5B")


def test_x6_decodes_to_the_totals_of_the_batch() -> None:
    info = message_of(h("10 02") + X6_APDU + h("10 03 DC 5B"))
    assert isinstance(info, StatusInformation)
    assert info.result_code == 0x00
    assert info.amount == 7784
    assert info.fields.get(0x0B) == 123
    assert info.fields.get(0x0C) == "183000"
    assert info.fields.get(0x0D) == "0615"
    assert info.terminal_id == "12345678"
    assert info.currency is None
    assert info.totals == IndividualTotals(
        first_receipt=1,
        last_receipt=6,
        slots=(
            CardTotal(3, 4550),
            CardTotal(0, 0),
            CardTotal(2, 2000),
            CardTotal(0, 0),
            CardTotal(1, 1234),
            CardTotal(0, 0),
            CardTotal(0, 0),
        ),
    )
    named = info.totals.by_name()
    assert (named["girocard"], named["mastercard"], named["visa"]) == (
        CardTotal(3, 4550),
        CardTotal(2, 2000),
        CardTotal(1, 1234),
    )
    assert info.encode() == X6_APDU


# The real capture (bezahl-online/zvt), stored there without its length byte 49.
CAPTURE_HEAD = h("04 0F 49 27 00 04 00 00 00 00 26 00 0C 10 59 37 0D 03 31 60 F0 F5 F3")
CAPTURE_TOTALS = h("00 68 00 71 04 00 00 00 00 26 00") + bytes(42)


def test_real_capture_length_49_is_right_with_the_42_trailing_zeros() -> None:
    # 0x49 = 73 = 20 bytes of BMPs up to BMP 60's prefix + the 53 bytes BMP 60 declares.
    assert len(CAPTURE_HEAD) - 3 == 20
    assert len(CAPTURE_TOTALS) == 53
    assert len(CAPTURE_HEAD + CAPTURE_TOTALS) - 3 == 0x49


def test_real_capture_without_the_zeros_is_an_incomplete_apdu() -> None:
    reader = ApduReader()
    assert reader.feed(CAPTURE_HEAD + CAPTURE_TOTALS[:11]) == []
    assert reader.in_frame


def test_real_capture_decodes_as_a_bare_tcp_apdu() -> None:
    apdu = CAPTURE_HEAD + CAPTURE_TOTALS
    reader = ApduReader()
    assert reader.feed(apdu) == [FrameReceived(apdu)]
    assert not reader.in_frame
    info = decode_message(Apdu.decode(apdu))
    assert isinstance(info, StatusInformation)
    assert info.result_code == 0x00
    assert info.amount == 2600
    assert info.fields.get(0x0C) == "105937"
    assert info.fields.get(0x0D) == "0331"
    totals = info.totals
    assert (totals.first_receipt, totals.last_receipt) == (68, 71)
    assert totals.by_name()["girocard"] == CardTotal(4, 2600)
    assert totals.slots[1:] == (CardTotal(0, 0),) * 6
    assert totals.extra == b""
    assert info.encode() == apdu


# -- X7


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
    ids=["ack", "84-9C", "diagnosis", "init", "logoff", "ecr-abort", "pt-abort", "set-time"],
)
def test_x7_frame_decodes_and_re_encodes(frame: str, message: Message) -> None:
    assert_worked_example(frame, message)


def test_x7_84_9c_is_a_refusal_with_code_please_wait() -> None:
    message = message_of(h("10 02 84 9C 00 10 03 C3 41"))
    assert isinstance(message, NegativeAck) and message.code == 0x9C


def test_x7_pt_abort_carries_result_code_77() -> None:
    message = message_of(h("10 02 06 1E 01 77 10 03 F0 83"))
    assert isinstance(message, PtAbort) and message.code == 0x77 and message.tlv is None


def test_x7_log_off_and_abort_end_with_the_acknowledgement() -> None:
    assert LogOff.ends_with_ack and Abort.ends_with_ack
    assert not StatusEnquiry.ends_with_ack
