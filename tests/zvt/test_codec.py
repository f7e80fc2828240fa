"""APDU lengths, BCD and LLVAR/LLLVAR, BMP fields, TLV containers, BMP 60 and message layouts."""

from __future__ import annotations

from datetime import datetime

import pytest

from pi_agent.zvt.apdu import Apdu
from pi_agent.zvt.bcd import bcd_decode, bcd_encode, varlen_decode, varlen_encode
from pi_agent.zvt.bmp import (
    BMP_SPECS,
    CARD_SLOTS,
    BmpFields,
    CardTotal,
    IndividualTotals,
    decode_bmps,
    encode_bmp,
)
from pi_agent.zvt.errors import ApduError, BmpError, MessageError, TlvError, ZvtError
from pi_agent.zvt.messages import (
    Completion,
    HostDateTime,
    IntermediateStatus,
    NegativeAck,
    PositiveAck,
    PrintLine,
    PrintTextBlock,
    PtAbort,
    Registration,
    SetDateTime,
    StatusEnquiry,
    decode_message,
)
from pi_agent.zvt.tlv import MAX_DEPTH, TlvContainer, TlvObject, decode_container, encode_length


def h(text: str) -> bytes:
    return bytes.fromhex(text)


EMPTY_SLOTS = (CardTotal(0, 0),) * 7

# -- APDU length field


@pytest.mark.parametrize(("size", "header"), [(0, "00"), (254, "FE")])
def test_data_up_to_254_bytes_has_a_one_byte_length(size: int, header: str) -> None:
    raw = Apdu(0x06, 0xD3, bytes(size)).encode()
    assert raw[:3] == h("06 D3" + header) and len(raw) == 3 + size


@pytest.mark.parametrize(
    ("size", "length"),
    [(255, "FF FF 00"), (256, "FF 00 01"), (300, "FF 2C 01"), (65535, "FF FF FF")],
)
def test_data_over_254_bytes_has_ff_and_a_little_endian_length(size: int, length: str) -> None:
    apdu = Apdu(0x06, 0xD3, bytes(size))
    raw = apdu.encode()
    assert raw[:5] == h("06 D3" + length)
    decoded = Apdu.decode(raw)
    assert decoded.data == apdu.data and decoded.extended_length
    assert decoded.encode() == raw


def test_data_over_65535_bytes_cannot_be_encoded() -> None:
    with pytest.raises(ApduError):
        Apdu(0x06, 0xD3, bytes(65536)).encode()


def test_extended_length_flag_keeps_the_long_form_for_short_data() -> None:
    raw = h("06 0F FF 02 00 19 00")
    apdu = Apdu.decode(raw)
    assert apdu == Apdu(0x06, 0x0F, h("19 00"), extended_length=True)
    assert apdu.encode() == raw
    assert Apdu(0x06, 0x0F, h("19 00")).encode() == h("06 0F 02 19 00")


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"\x06",
        b"\x06\x0f",
        b"\x06\x0f\x02\x00",  # one byte short
        b"\x06\x0f\x00\x00",  # one byte too many
        b"\x06\x0f\xff",  # extended length missing
        b"\x06\x0f\xff\x01",  # extended length half there
        b"\x06\x0f\xff\x01\x00",  # declares 1, carries 0
    ],
)
def test_apdu_whose_length_does_not_fit_its_data_is_an_apdu_error(raw: bytes) -> None:
    with pytest.raises(ApduError):
        Apdu.decode(raw)


def test_apdu_control_field_and_text_form() -> None:
    apdu = Apdu(0x06, 0x50, h("12 34 56"))
    assert apdu.control == (0x06, 0x50)
    assert str(apdu) == "06 50 [3] 12 34 56"


# -- BCD, LLVAR, LLLVAR


def test_bcd_round_trips_with_left_zero_padding() -> None:
    assert bcd_encode(1234, 6) == h("00 00 00 00 12 34")
    assert bcd_encode("0978", 2) == h("09 78")
    assert bcd_decode(h("00 00 00 00 12 34")) == "000000001234"


@pytest.mark.parametrize("raw", [b"\x1a", b"\xa0", b"\x12\xff", b"\xf1"])
def test_bcd_nibble_above_9_is_a_bmp_error(raw: bytes) -> None:
    with pytest.raises(BmpError):
        bcd_decode(raw)


@pytest.mark.parametrize(
    ("value", "size"), [(1234567, 3), ("1234567", 3), (-1, 3), ("12a4", 2), ("", 2), ("-1", 1)]
)
def test_bcd_encode_rejects_what_does_not_fit(value: int | str, size: int) -> None:
    with pytest.raises(BmpError):
        bcd_encode(value, size)


def test_llvar_and_lllvar_prefixes_are_f_nibbles_of_decimal_digits() -> None:
    assert varlen_encode(12, 2) == h("F1 F2")
    assert varlen_encode(0, 2) == h("F0 F0")
    assert varlen_encode(53, 3) == h("F0 F5 F3")
    assert varlen_encode(999, 3) == h("F9 F9 F9")
    assert varlen_decode(h("00 F1 F2"), 1, 2) == (12, 3)
    assert varlen_decode(h("F0 F5 F3"), 0, 3) == (53, 3)


@pytest.mark.parametrize(("length", "digits"), [(100, 2), (1000, 3), (-1, 2)])
def test_varlen_encode_rejects_lengths_that_do_not_fit(length: int, digits: int) -> None:
    with pytest.raises(BmpError):
        varlen_encode(length, digits)


@pytest.mark.parametrize(
    ("raw", "digits"),
    [
        (h("F1"), 2),  # truncated LLVAR
        (h("F0 F5"), 3),  # truncated LLLVAR
        (h("F1 02"), 2),  # high nibble not F
        (h("E1 F2"), 2),
        (h("F1 FA"), 2),  # low nibble above 9
        (h("F0 FF F1"), 3),
    ],
)
def test_bad_or_truncated_length_prefix_is_a_bmp_error(raw: bytes, digits: int) -> None:
    with pytest.raises(BmpError):
        varlen_decode(raw, 0, digits)


# -- BMP fields


def test_bmp_values_decode_to_typed_python_values() -> None:
    raw = h(
        "27 6A 04 00 00 00 00 12 34 0B 00 01 23 29 12 34 56 78 0C 18 30 00"
        " 3C F0 F0 F2 48 69 8B F0 F5 47 49 52 4F 00 2A 31 32 33 34 35 36 37 38 39 30 31 32 33 34 35"
        " 3B 01 02 03 04 05 06 07 08 49 09 78 22 F0 F7 12 34 EE EE 12 34 FF"
    )
    fields = decode_bmps(raw)
    assert fields.get(0x27) == 0x6A
    assert fields.get(0x04) == 1234
    assert fields.get(0x0B) == 123
    assert fields.get(0x29) == "12345678"
    assert fields.get(0x0C) == "183000"
    assert fields.get(0x3C) == b"Hi"
    assert fields.get(0x8B) == b"GIRO\x00"
    assert fields.get(0x2A) == "123456789012345"
    assert fields.get(0x3B) == h("01 02 03 04 05 06 07 08")
    assert fields.get(0x49) == 978
    assert fields.get(0x22) == h("12 34 EE EE 12 34 FF")
    assert fields.encode() == raw


def test_bmp_fields_lookup_keeps_order_and_returns_the_first_occurrence() -> None:
    fields = decode_bmps(h("27 01 27 02"))
    assert fields.get(0x27) == 1
    assert list(fields) == [(0x27, 1), (0x27, 2)]
    assert 0x27 in fields and 0x04 not in fields
    assert fields.get(0x04, "absent") == "absent"
    assert BmpFields.of([(0x27, 0), (0x04, None)]).items == ((0x27, 0),)


def test_decode_bmps_starts_at_the_given_offset() -> None:
    assert decode_bmps(h("FF FF 27 05"), 2).items == ((0x27, 5),)
    assert decode_bmps(b"").items == ()


@pytest.mark.parametrize("tag", [0x00, 0x07, 0x99, 0xFE, 0xFF])
def test_unknown_bmp_tag_is_a_bmp_error(tag: int) -> None:
    assert tag not in BMP_SPECS
    with pytest.raises(BmpError, match=f"unknown BMP {tag:02X}"):
        decode_bmps(bytes((tag, 0x00)))
    with pytest.raises(BmpError):
        encode_bmp(tag, 0)


@pytest.mark.parametrize(
    "raw",
    [
        "27",  # byte, value missing
        "04 00 00 00 00 12",  # number, one byte short
        "29 12 34 56",  # digits, one byte short
        "3B 01 02 03 04 05 06 07",  # fixed, one byte short
        "2A 41 42",  # ascii, short
        "22 F0",  # LLVAR prefix truncated
        "22 F0 03 12 34",  # LLVAR bad prefix
        "22 F0 F3 12 34",  # LLVAR body short
        "3C F0 F0 F5 41",  # LLLVAR body short
        "60 F0 F5 F3 00 01",  # BMP 60 body short
        "60 F0 F0 F4 00 01 00 02",  # BMP 60 body complete but below 53 bytes
        "04 00 00 00 00 12 3A",  # amount with a non-BCD nibble
        "06 05 01 02",  # TLV container shorter than its length
        "06 81",  # TLV container length truncated
    ],
)
def test_truncated_or_invalid_bmp_value_is_a_zvt_error(raw: str) -> None:
    with pytest.raises(ZvtError) as info:
        decode_bmps(h(raw))
    assert isinstance(info.value, (BmpError, TlvError))


def test_truncated_bmp_names_the_tag_and_the_missing_bytes() -> None:
    with pytest.raises(BmpError, match="BMP 04 needs 6 bytes"):
        decode_bmps(h("04 00 00"))


@pytest.mark.parametrize(
    ("tag", "value"),
    [
        (0x29, "123"),  # TID needs 8 digits
        (0x29, 12345678),  # digits fields take str
        (0x04, 10**12),  # amount too large for 6 BCD bytes
        (0x04, -5),
        (0x27, 256),
        (0x3B, b"\x00" * 7),
        (0x2A, "too short"),
        (0x22, b"\x00" * 100),  # LLVAR holds 99 bytes at most
        (0x60, b"not totals"),
    ],
)
def test_encode_bmp_rejects_bad_values_with_a_bmp_error(tag: int, value: object) -> None:
    with pytest.raises(BmpError):
        encode_bmp(tag, value)


def test_bmp_06_carries_a_ber_length_not_lllvar() -> None:
    fields = BmpFields(((0x06, TlvContainer((TlvObject(0x1F16, b"\x05"),))),))
    assert fields.encode() == h("06 04 1F 16 01 05")
    assert decode_bmps(h("06 04 1F 16 01 05")) == fields
    long = TlvContainer((TlvObject(0x07, bytes(200)),))
    raw = encode_bmp(0x06, long)
    assert raw[:4] == h("06 81 CB 07")
    assert decode_bmps(raw).get(0x06) == long


# -- TLV


def test_tlv_constructed_tags_nest_and_multi_byte_tags_round_trip() -> None:
    line = TlvObject(0x07, b"Bitte warten")
    container = TlvContainer(
        (
            TlvObject(0x24, children=(line, TlvObject(0x07, b"2"))),
            TlvObject(0x1F16, b"\x01\x02"),
            TlvObject(0x26, children=(TlvObject(0x0A, h("06 D3")),)),
        )
    )
    raw = container.encode_body()
    assert raw == h(
        "24 11 07 0C 42 69 74 74 65 20 77 61 72 74 65 6E 07 01 32 1F 16 02 01 02 26 04 0A 02 06 D3"
    )
    decoded = decode_container(raw)
    assert decoded == container
    assert decoded.objects[0].constructed and not decoded.objects[1].constructed
    assert decoded.find(0x1F16).value == b"\x01\x02"
    assert decoded.find(0x0A).value == h("06 D3")
    assert decoded.find(0x99) is None
    assert decoded.texts() == ["Bitte warten", "2"]


def test_fact_sheet_permitted_commands_container_decodes() -> None:
    [fields] = [decode_bmps(h("06 06 26 04 0A 02 06 D3"))]
    tlv = fields.get(0x06)
    assert tlv.objects[0].tag == 0x26
    assert [o.value for o in tlv.objects[0].children] == [h("06 D3")]


def test_tlv_walk_is_depth_first_in_order() -> None:
    tree = TlvContainer(
        (
            TlvObject(0x24, children=(TlvObject(0x07, b"a"), TlvObject(0x07, b"b"))),
            TlvObject(0x07, b"c"),
        )
    )
    assert [o.value for o in tree.walk() if o.tag == 0x07] == [b"a", b"b", b"c"]


def test_three_byte_tags_are_read() -> None:
    raw = h("1F 81 01 01 AA")
    assert decode_container(raw).objects == (TlvObject(0x1F8101, b"\xaa"),)
    assert TlvObject(0x1F8101, b"\xaa").encode() == raw


@pytest.mark.parametrize(
    ("length", "encoded"),
    [
        (0, "00"),
        (127, "7F"),
        (128, "81 80"),
        (255, "81 FF"),
        (256, "82 01 00"),
        (65535, "82 FF FF"),
    ],
)
def test_tlv_lengths_use_81_and_82_big_endian(length: int, encoded: str) -> None:
    assert encode_length(length) == h(encoded)
    obj = TlvObject(0x1F17, bytes(length))
    raw = obj.encode()
    assert raw[2 : 2 + len(h(encoded))] == h(encoded)
    assert decode_container(raw).objects == (obj,)


def test_tlv_length_above_65535_cannot_be_encoded() -> None:
    with pytest.raises(TlvError):
        encode_length(65536)


@pytest.mark.parametrize(
    "raw",
    [
        "1F",  # multi-byte tag truncated
        "1F 81",  # continuation bit set, then nothing
        "1F 81 81 81 01 00",  # tag longer than 3 bytes
        "07",  # length missing
        "07 05 61 62",  # value shorter than its length
        "07 80",  # indefinite length
        "07 83 00 00 01 00",  # 3-byte length form
        "07 81",  # 81 without its byte
        "07 82 01",  # 82 with one byte
        "24 03 07 05 61",  # nested object overruns its parent
    ],
)
def test_broken_tlv_is_a_tlv_error(raw: str) -> None:
    with pytest.raises(TlvError):
        decode_container(h(raw))


def test_tlv_nesting_deeper_than_the_limit_is_a_tlv_error() -> None:
    def nested(depth: int) -> TlvObject:
        obj = TlvObject(0x07, b"x")
        for _ in range(depth):
            obj = TlvObject(0x24, children=(obj,))
        return obj

    ok = nested(MAX_DEPTH).encode()
    assert decode_container(ok).texts() == ["x"]
    with pytest.raises(TlvError, match="deeper"):
        decode_container(nested(MAX_DEPTH + 1).encode())


def test_empty_tlv_container_is_06_00() -> None:
    assert encode_bmp(0x06, TlvContainer()) == h("06 00")
    assert decode_bmps(h("06 00")).get(0x06) == TlvContainer()


# -- BMP 60 individual totals


def test_individual_totals_layout_is_53_bytes_in_slot_order() -> None:
    slots = tuple(CardTotal(i + 1, (i + 1) * 111) for i in range(7))
    raw = IndividualTotals(12, 34, slots).encode()
    assert len(raw) == 53
    assert raw[:4] == h("00 12 00 34")
    assert raw[4:11] == h("01 00 00 00 00 01 11")  # girocard: count binary, total BCD
    assert raw[46:53] == h("07 00 00 00 00 07 77")  # all other cards
    decoded = IndividualTotals.decode(raw)
    assert decoded.slots == slots
    assert list(decoded.by_name()) == list(CARD_SLOTS)
    assert decoded.by_name()["diners"] == CardTotal(6, 666)


def test_individual_totals_count_is_binary_up_to_255() -> None:
    raw = IndividualTotals(0, 0, (CardTotal(255, 1), *EMPTY_SLOTS[1:])).encode()
    assert raw[4] == 0xFF
    assert IndividualTotals.decode(raw).slots[0] == CardTotal(255, 1)
    with pytest.raises(BmpError):
        IndividualTotals(0, 0, (CardTotal(256, 0), *EMPTY_SLOTS[1:])).encode()


def test_individual_totals_need_seven_slots_and_53_bytes() -> None:
    with pytest.raises(BmpError):
        IndividualTotals(0, 0, EMPTY_SLOTS[:6]).encode()
    with pytest.raises(BmpError):
        IndividualTotals.decode(bytes(52))
    with pytest.raises(BmpError):
        IndividualTotals.decode(h("00 0A") + bytes(51))  # receipt number not BCD


def test_individual_totals_keep_bytes_past_53_for_byte_exact_echo() -> None:
    longer = IndividualTotals(1, 2, EMPTY_SLOTS, b"\xaa\xbb")
    raw = encode_bmp(0x60, longer)
    assert raw[:4] == h("60 F0 F5 F5")
    assert decode_bmps(raw).get(0x60) == longer


# -- message layouts and their errors


@pytest.mark.parametrize("password", ["12345", "1234567", "12345a", ""])
def test_password_must_be_six_digits(password: str) -> None:
    with pytest.raises(MessageError):
        Registration(password).encode()


@pytest.mark.parametrize("password", ["\uff11\uff12\uff13\uff14\uff15\uff16", "12345\u00b2"])
def test_password_with_non_ascii_digits_is_a_message_error(password: str) -> None:
    with pytest.raises(MessageError):
        Registration(password).encode()


def test_registration_without_currency_is_password_and_config_only() -> None:
    assert Registration("123456", 0xBA, None).encode() == h("06 00 04 12 34 56 BA")
    assert decode_message(Apdu.decode(h("06 00 04 12 34 56 BA"))) == Registration(
        "123456", 0xBA, None
    )
    with pytest.raises(MessageError):
        Registration("123456", 0x08, None, service_byte=0).encode()


@pytest.mark.parametrize(
    "data", ["", "12 34", "12 34 56", "12 34 56 08 09", "12 34 56 08 09 78 99"]
)
def test_registration_malformed_is_a_message_error(data: str) -> None:
    with pytest.raises(MessageError):
        decode_message(Apdu(0x06, 0x00, h(data)))


def test_status_enquiry_service_byte_needs_the_password() -> None:
    with pytest.raises(MessageError):
        StatusEnquiry(None, service_byte=0x02).encode()
    assert not StatusEnquiry("000000", service_byte=0x02).wants_software_version


def test_intermediate_status_tlv_needs_the_timeout_byte() -> None:
    tlv = TlvContainer((TlvObject(0x24, children=(TlvObject(0x07, b"Bitte warten"),)),))
    with pytest.raises(MessageError):
        IntermediateStatus(0xFF, None, tlv).encode()
    message = IntermediateStatus(0xFF, 3, tlv)
    assert message.encode()[:5] == h("04 FF 14 FF 03")
    assert decode_message(message.to_apdu()) == message
    assert message.texts() == ["Bitte warten"]


def test_intermediate_status_t4_minutes_are_bcd() -> None:
    assert decode_message(Apdu(0x04, 0xFF, h("0F 15"))) == IntermediateStatus(0x0F, 15)
    with pytest.raises(MessageError):
        decode_message(Apdu(0x04, 0xFF, h("0F 1A")))
    with pytest.raises(MessageError):
        decode_message(Apdu(0x04, 0xFF, b""))


def test_set_date_time_is_limited_to_the_terminals_century() -> None:
    with pytest.raises(MessageError):
        SetDateTime("123456", datetime(1999, 12, 31)).encode()
    with pytest.raises(MessageError):
        decode_message(Apdu(0x06, 0x91, h("12 34 56 AA 25 13 01 0C 18 30 00")))  # month 13


def test_host_date_time_reads_the_year_from_2000() -> None:
    message = decode_message(Apdu(0x04, 0x01, h("AA 69 01 02 0C 03 04 05")))
    assert isinstance(message, HostDateTime)
    assert message.when() == datetime(2069, 1, 2, 3, 4, 5)
    assert HostDateTime(BmpFields(((0xAA, "251301"),))).when() is None


def test_print_line_is_attribute_and_cp437_text() -> None:
    line = PrintLine(0xFF, "Bel\u00e9g Nr. 12 \u2592")
    raw = line.encode()
    assert raw[:4] == h("06 D1 0F FF")
    assert raw[4:] == "Bel\u00e9g Nr. 12 \u2592".encode("cp437")
    assert decode_message(Apdu.decode(raw)) == line
    with pytest.raises(MessageError):
        decode_message(Apdu(0x06, 0xD1, b""))


def test_print_text_block_lines_come_from_tag_25() -> None:
    lines = tuple(TlvObject(0x07, t.encode()) for t in ("END OF DAY", "TOTAL 77.84"))
    block = PrintTextBlock(BmpFields(((0x06, TlvContainer((TlvObject(0x25, children=lines),))),)))
    decoded = decode_message(block.to_apdu())
    assert isinstance(decoded, PrintTextBlock)
    assert decoded.lines() == ["END OF DAY", "TOTAL 77.84"]
    assert PrintTextBlock().lines() == []


def test_status_completion_with_and_without_software_version() -> None:
    assert Completion(b"\x51").status(with_software_version=False).terminal_status == 0x51
    tlv = TlvContainer((TlvObject(0x1F16, b"\x01"),))
    parsed = Completion.for_status(0xDC, "1.0", tlv).status()
    assert (parsed.terminal_status, parsed.software_version, parsed.tlv) == (0xDC, "1.0", tlv)


@pytest.mark.parametrize(
    ("payload", "with_version"),
    [
        ("", False),
        ("", True),
        ("F0 F0 F3 31 2E 30", True),  # version, then no status byte
        ("F0 F0 F9 31", True),  # version truncated
        ("F0 F0", True),  # prefix truncated
        ("00 27 00", False),  # BMP other than 06 after the status
        ("00 06 05 01", False),  # TLV truncated
    ],
)
def test_malformed_status_completion_is_a_message_error(payload: str, with_version: bool) -> None:
    with pytest.raises(MessageError):
        Completion(h(payload)).status(with_software_version=with_version)


def test_pt_abort_keeps_its_code_even_with_a_vendor_tail() -> None:
    assert decode_message(Apdu(0x06, 0x1E, b"")) == PtAbort(0xFF)
    assert decode_message(Apdu(0x06, 0x1E, h("6C E0 01"))).code == 0x6C
    tlv = TlvContainer((TlvObject(0x1F16, b"\x01"),))
    assert decode_message(PtAbort(0xFF, tlv).to_apdu()) == PtAbort(0xFF, tlv)


def test_acknowledgements_80_00_and_84_00_are_positive_84_xx_negative() -> None:
    assert decode_message(Apdu.decode(h("80 00 00"))) == PositiveAck()
    assert decode_message(Apdu.decode(h("84 00 00"))) == PositiveAck(ccrc=0x84)
    assert PositiveAck(ccrc=0x84).encode() == h("84 00 00")
    assert decode_message(Apdu.decode(h("80 00 02 AB CD"))) == PositiveAck(h("AB CD"))
    refusal = decode_message(Apdu.decode(h("84 83 00")))
    assert refusal == NegativeAck(0x83) and refusal.encode() == h("84 83 00")
    wrong_currency = decode_message(Apdu.decode(h("84 1E 03 6F 09 78")))
    assert wrong_currency == NegativeAck(0x1E, h("6F 09 78"))


@pytest.mark.parametrize("control", [(0x06, 0x77), (0x06, 0x01), (0x05, 0x02), (0x00, 0x00)])
def test_unknown_control_field_is_a_message_error(control: tuple[int, int]) -> None:
    with pytest.raises(MessageError, match="unknown message"):
        decode_message(Apdu(*control))


@pytest.mark.parametrize("control", [(0x06, 0x02), (0x06, 0xB0)])
def test_data_on_a_data_less_command_is_a_message_error(control: tuple[int, int]) -> None:
    with pytest.raises(MessageError):
        decode_message(Apdu(*control, b"\x00"))
