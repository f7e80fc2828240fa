"""Every worked byte example of the POSLink fact sheet (§2) decodes to the typed message
it describes and that message re-encodes byte-exact."""

from __future__ import annotations

from datetime import datetime

import pytest

from pi_agent.poslink.framing import FrameReader, FrameReceived, encode_frame
from pi_agent.poslink.messages import (
    BatchClose,
    Initialize,
    InitializeResponse,
    Request,
    Response,
    SafSummary,
    decode_request,
    decode_response,
)


def body_of(frame: bytes) -> bytes:
    reader = FrameReader()
    events = reader.feed(frame)
    assert events == [FrameReceived(events[0].body)] and isinstance(events[0], FrameReceived)
    assert not reader.in_frame and reader.discarded == 0
    return events[0].body


REQUESTS: list[tuple[str, Request]] = [
    ("02 41 30 30 1C 31 2E 33 35 1C 03 5B", Initialize(version="1.35", trailing_fs=True)),
    ("02 41 30 30 1C 31 2E 32 38 03 4B", Initialize(version="1.28")),
    (
        "02 42 30 30 1C 31 2E 32 38 1C 32 30 32 35 30 31 30 31 31 32 30 30 30 30 03 52",
        BatchClose(version="1.28", timestamp="20250101120000"),
    ),
    ("02 52 31 30 1C 31 2E 32 38 1C 32 03 77", SafSummary(version="1.28", indicator="2")),
]


@pytest.mark.parametrize(("frame_hex", "request_"), REQUESTS)
def test_request_example_is_byte_exact(frame_hex: str, request_: Request) -> None:
    frame = bytes.fromhex(frame_hex)
    assert decode_request(body_of(frame)) == request_
    assert encode_frame(request_.encode()) == frame


def test_batch_close_timestamp_reads_as_a_datetime() -> None:
    close = BatchClose.at(datetime(2025, 1, 1, 12, 0, 0))
    assert close.timestamp == "20250101120000"
    assert close.when == datetime(2025, 1, 1, 12, 0, 0)


A01 = (
    "02 30 1C 41 30 31 1C 31 2E 32 38 1C 30 30 30 30 30 30 1C 4F 4B 1C"
    " 35 33 30 31 32 33 34 35 1C 41 39 32 30 1C 37 2E 31 03 2B"
)


def test_initialize_response_example_is_byte_exact() -> None:
    expected: Response = InitializeResponse(
        version="1.28", serial_number="53012345", model="A920", os_version="7.1"
    )
    frame = bytes.fromhex(A01)
    response = decode_response(body_of(frame))
    assert response == expected and response.ok and not response.problems
    assert encode_frame(expected.encode()) == frame
