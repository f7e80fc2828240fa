"""APDU lengths, BCD and variable lengths, BMP and TLV codecs: values and errors."""

from __future__ import annotations

import pytest

from pi_agent.zvt.apdu import Apdu
from pi_agent.zvt.bcd import bcd_decode, bcd_encode, varlen_decode, varlen_encode
from pi_agent.zvt.bmp import BmpFields, CardTotal, IndividualTotals, decode_bmps, encode_bmp
from pi_agent.zvt.errors import ApduError, BmpError, MessageError, TlvError, ZvtError
from pi_agent.zvt.messages import Completion, IntermediateStatus, PrintTextBlock, decode_message
from pi_agent.zvt.tlv import TlvContainer, TlvObject, decode_container


def test_extended_length_is_little_endian() -> None:
    apdu = Apdu(0x06, 0xD3, bytes(300))
    raw = apdu.encode()
    assert raw[:5] == bytes((0x06, 0xD3, 0xFF, 300 & 0xFF, 300 >> 8))
    assert Apdu.decode(raw) == Apdu(0x06, 0xD3, bytes(300), extended_length=True)


def test_short_data_in_extended_form_round_trips() -> None:
    raw = bytes.fromhex("06 0F FF 01 00 00")
    assert Apdu.decode(raw).encode() == raw


@pytest.mark.parametrize(
    "raw", [b"\x06", b"\x06\x0f\x02\x00", b"\x06\x0f\xff\x01", b"\x06\x0f\x00\x00"]
)
def test_apdu_length_mismatch_is_an_apdu_error(raw: bytes) -> None:
    with pytest.raises(ApduError):
        Apdu.decode(raw)


def test_bcd() -> None:
    assert bcd_encode(1234, 6) == bytes.fromhex("00 00 00 00 12 34")
    assert bcd_decode(bytes.fromhex("12 34")) == "1234"
    with pytest.raises(BmpError):
        bcd_decode(b"\x1a")
    with pytest.raises(BmpError):
        bcd_encode(1234567, 3)
    with pytest.raises(BmpError):
        bcd_encode(-1, 3)


def test_llvar_and_lllvar_prefixes() -> None:
    assert varlen_encode(12, 2) == b"\xf1\xf2"
    assert varlen_encode(53, 3) == b"\xf0\xf5\xf3"
    assert varlen_decode(b"\xf0\xf5\xf3", 0, 3) == (53, 3)
    with pytest.raises(BmpError, match="F0-F9"):
        varlen_decode(b"\xf1\x02", 0, 2)
    with pytest.raises(BmpError):
        varlen_decode(b"\xf1", 0, 2)


def test_bmp_values_are_typed() -> None:
    fields = decode_bmps(
        bytes.fromhex("27 00 04 00 00 00 00 12 34 29 12 34 56 78 3C F0 F0 F2 48 69")
    )
    assert fields.get(0x27) == 0
    assert fields.get(0x04) == 1234
    assert fields.get(0x29) == "12345678"
    assert fields.get(0x3C) == b"Hi"
    assert 0x27 in fields and 0x99 not in fields


def test_unknown_or_truncated_bmps_raise_bmp_error() -> None:
    with pytest.raises(BmpError, match="unknown BMP 99"):
        decode_bmps(b"\x99\x00")
    with pytest.raises(BmpError, match="needs 6 bytes"):
        decode_bmps(b"\x04\x00\x00")
    with pytest.raises(BmpError):
        encode_bmp(0x29, "123")  # TID needs 8 digits


def test_tlv_nesting_multibyte_tags_and_long_lengths() -> None:
    text = TlvObject(0x07, b"x" * 200)
    container = TlvContainer((TlvObject(0x24, children=(text,)), TlvObject(0x1F16, b"\x01\x02")))
    raw = container.encode_body()
    assert raw[:4] == bytes.fromhex("24 81 CB 07")
    decoded = decode_container(raw)
    assert decoded == container
    assert decoded.find(0x1F16).value == b"\x01\x02"
    assert decoded.texts() == ["x" * 200]
    big = TlvObject(0x1F17, bytes(300)).encode()
    assert big[:5] == bytes.fromhex("1F 17 82 01 2C")


@pytest.mark.parametrize(
    "raw", [b"\x1f", b"\x07\x05ab", b"\x07\x83\x00\x00\x01", b"\x1f\x81\x81\x81\x01\x00"]
)
def test_broken_tlv_raises_tlv_error(raw: bytes) -> None:
    with pytest.raises(TlvError):
        decode_container(raw)


def test_bmp_06_in_fields() -> None:
    fields = BmpFields(((0x06, TlvContainer((TlvObject(0x1F16, b"\x05"),))),))
    raw = fields.encode()
    assert raw == bytes.fromhex("06 04 1F 16 01 05")
    assert decode_bmps(raw) == fields


def test_individual_totals_short_is_an_error_longer_keeps_extra() -> None:
    with pytest.raises(BmpError):
        IndividualTotals.decode(bytes(52))
    longer = IndividualTotals(1, 2, tuple(CardTotal(0, 0) for _ in range(7)), b"\xaa")
    assert IndividualTotals.decode(longer.encode()) == longer


def test_intermediate_status_with_timeout_and_text() -> None:
    tlv = TlvContainer((TlvObject(0x24, children=(TlvObject(0x07, b"Bitte warten"),)),))
    message = IntermediateStatus(0xFF, 3, tlv)
    assert decode_message(message.to_apdu()) == message
    assert message.texts() == ["Bitte warten"]


def test_print_text_block_lines() -> None:
    lines = tuple(TlvObject(0x07, t.encode()) for t in ("END OF DAY", "TOTAL 77.84"))
    tlv = TlvContainer((TlvObject(0x25, children=lines),))
    block = PrintTextBlock(BmpFields(((0x06, tlv),)))
    decoded = decode_message(block.to_apdu())
    assert isinstance(decoded, PrintTextBlock)
    assert decoded.lines() == ["END OF DAY", "TOTAL 77.84"]


def test_status_completion_without_version_and_broken() -> None:
    assert Completion(b"\x51").status(with_software_version=False).terminal_status == 0x51
    with pytest.raises(MessageError, match="status byte missing"):
        Completion(b"").status(with_software_version=False)
    with pytest.raises(MessageError):
        Completion(b"\xf0\xf0\xf9ab").status()


def test_unknown_message_is_a_message_error() -> None:
    with pytest.raises(MessageError, match="unknown message 06 77"):
        decode_message(Apdu(0x06, 0x77, b""))
    assert issubclass(MessageError, ZvtError)
