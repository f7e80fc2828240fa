"""Message codec: the tolerance the fact sheet asks for, strict requests, response codes."""

from __future__ import annotations

import pytest

from pi_agent.poslink.codes import Outcome, classify, describe
from pi_agent.poslink.errors import AmountError, FieldError
from pi_agent.poslink.messages import (
    AmountInfo,
    BatchClose,
    BatchCloseResponse,
    ForceCloseResponse,
    HostInfo,
    Initialize,
    InitializeResponse,
    LocalDetail,
    LocalDetailResponse,
    LocalTotalResponse,
    OtherRequest,
    OtherResponse,
    SafSummary,
    SafUploadResponse,
    TraceInfo,
    decode_request,
    decode_response,
)

FS, US = "\x1c", "\x1f"


def body(*fields: str) -> bytes:
    return FS.join(fields).encode("latin-1")


def test_requests_with_or_without_fs_after_the_version_and_trailing_empty_fields() -> None:
    assert decode_request(b"A00\x1c1.32") == Initialize(version="1.32")
    assert decode_request(b"A00\x1c1.35\x1c") == Initialize(version="1.35", trailing_fs=True)
    assert decode_request(b"R10\x1c1.28\x1c2\x1c\x1c\x1c") == SafSummary(
        indicator="2", trailing_fs=True
    )


@pytest.mark.parametrize("stamp", ["YYYYMMDDhhmmss", "2025011312000", "20251301120000", "2025"])
def test_a_malformed_batch_close_timestamp_is_kept_raw_and_reads_as_none(stamp: str) -> None:
    close = decode_request(body("B00", "1.35", stamp))
    assert isinstance(close, BatchClose) and close.timestamp == stamp and close.when is None


def test_request_numbers_are_strict() -> None:
    with pytest.raises(FieldError):
        decode_request(body("R02", "1.28", "00", "", "", "-1"))
    with pytest.raises(FieldError):
        LocalDetail(record_number=-1).encode()


@pytest.mark.parametrize("value", [-1, 1.5, "12"])
def test_an_amount_that_is_not_integer_cents_is_an_amount_error(value: object) -> None:
    with pytest.raises(AmountError):
        SafUploadResponse(saf_total_amount=value).encode()  # type: ignore[arg-type]


def test_a_response_amount_with_point_or_minus_is_tolerated_as_a_problem() -> None:
    amount = US.join(["12.50", "-3", "100"])
    response = decode_response(body("0", "R03", "1.28", "000000", "OK", "1", "0", "", "01",
                                    "01", "", amount))  # fmt: skip
    assert isinstance(response, LocalDetailResponse)
    assert response.amount == AmountInfo(approved=None, due=None, tip=100)
    assert len(response.problems) == 2 and "integer cents" in response.problems[0]


def test_fields_with_framing_characters_cannot_be_encoded() -> None:
    with pytest.raises(FieldError):
        InitializeResponse(serial_number="53\x0312").encode()
    with pytest.raises(FieldError):
        InitializeResponse(message="中文").encode()


def test_batch_close_response_reads_host_counts_amounts_and_batch_number() -> None:
    host = US.join(["000000", "OK", "", "REF1", "77", "0042"])
    frame = body("0", "B01", "1.35", "000000", "OK", host, "3=1=0=0=0=0=0",
                 "1500=200=0=0=0=0=0", "20250101020000", "TID1", "MID1", "", "")  # fmt: skip
    response = decode_response(frame)
    assert isinstance(response, BatchCloseResponse)
    assert response.batch_number == "0042"
    assert response.counts["credit"] == 3 and response.amounts["debit"] == 200
    assert response.when is not None and response.when.hour == 2
    assert (response.tid, response.mid, response.rest) == ("TID1", "MID1", ())


def test_missing_optional_groups_decode_to_empty_ones() -> None:
    response = decode_response(body("0", "B01", "1.28", "100006", "BATCH FAILED"))
    assert isinstance(response, BatchCloseResponse)
    assert response.host == HostInfo() and response.total_count == () and response.when is None
    assert response.outcome is Outcome.OTHER and not response.ok


def test_a_detail_record_with_a_bad_timestamp_reads_as_none() -> None:
    trace = US.join(["17", "ECR9", "2025-01-01 12:00", "INV"])
    response = decode_response(body("0", "R03", "1.28", "000000", "OK", "5", "0", "", "01",
                                    "01", "", "", "", trace))  # fmt: skip
    assert isinstance(response, LocalDetailResponse)
    assert response.trace == TraceInfo(
        trans_number="17", ecr_reference="ECR9", timestamp="2025-01-01 12:00", invoice="INV"
    )
    assert response.trace.when is None and response.total_records == 5


def test_local_totals_by_the_known_layout() -> None:
    totals = "&".join(["2=300=0=0=1=50=0=0=0=0", "1=100=0=0"])
    response = decode_response(body("0", "R01", "1.28", "000000", "OK", "00", totals))
    assert isinstance(response, LocalTotalResponse)
    assert response.group("credit")["sale"] == (2, 300)
    assert response.group("credit")["return"] == (1, 50)
    assert response.group("debit") == {"sale": (1, 100), "return": (0, 0)}
    assert response.group("check") == {}


def test_receipt_lines_of_a_force_close() -> None:
    lines = US.join(["BATCH 42", "", "TOTAL 15.00"])
    response = decode_response(body("0", "B03", "1.35", "000000", "OK", "", "3", lines))
    assert isinstance(response, ForceCloseResponse)
    assert response.lines == ("BATCH 42", "", "TOTAL 15.00") and response.line_count == 3


def test_unknown_commands_keep_their_fields() -> None:
    request = decode_request(body("A14", "1.28", "x"))
    assert request == OtherRequest(other_command="A14", rest=("x",))
    response = decode_response(body("0", "A03", "1.28", "000000", "OK", "v1", "v2"))
    assert response == OtherResponse(other_command="A03", rest=("v1", "v2"))


@pytest.mark.parametrize(
    "raw",
    [b"", b"0", b"0\x1cA01\x1c1.28", b"0\x1cA01\x1c1.28\x1c00000", b"0\x1cxyz\x1c1\x1c000000"],
)
def test_a_response_without_command_and_six_digit_code_is_a_field_error(raw: bytes) -> None:
    with pytest.raises(FieldError):
        decode_response(raw)


@pytest.mark.parametrize(
    ("code", "outcome"),
    [
        ("000000", Outcome.OK),
        ("000001", Outcome.OK),
        ("000100", Outcome.DECLINED),
        ("000300", Outcome.OUT_OF_BALANCE),
        ("100025", Outcome.DB_FULL),
        ("100004", Outcome.UNSUPPORTED),
        ("100027", Outcome.UNSUPPORTED),
        ("100010", Outcome.COMM_ERROR),
        ("199999", Outcome.OTHER),
        ("123456", Outcome.OTHER),
    ],
)
def test_response_codes_are_classified(code: str, outcome: Outcome) -> None:
    assert classify(code) is outcome


def test_response_codes_have_english_and_chinese_texts() -> None:
    assert describe("100025") == "please settle: database full"
    assert describe("100025", "zh-CN") == "请结算：数据库已满"
    assert describe("654321") == "response code 654321"
