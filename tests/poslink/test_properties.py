"""Property tests (hypothesis).

1. Every message type round-trips: message -> body -> message, and inside a frame.
   Strategies are derived from each class's wire fields, so a new field is covered.
2. Framing gives the same events however the byte stream is split.
3. Fuzz: arbitrary and mutated bytes into the frame reader, the decoders, the ECR
   exchange and the terminal side raise nothing but `PosLinkError` and finish
   (hypothesis' deadline is on).
"""

from __future__ import annotations

import contextlib
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pi_agent.poslink.errors import PosLinkError
from pi_agent.poslink.exchange import EcrExchange
from pi_agent.poslink.fields import Codec, Group, Items, Number, Record
from pi_agent.poslink.framing import FrameReader, FrameReceived, encode_frame
from pi_agent.poslink.messages import (
    REQUESTS,
    RESPONSES,
    BatchClose,
    OtherRequest,
    OtherResponse,
    Request,
    Response,
    decode_request,
    decode_response,
)
from pi_agent.poslink.terminal import TerminalSide

FAST = settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
PER_KIND = settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])

text = st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF), max_size=12)
rest = st.lists(text, max_size=3).filter(lambda r: not r or r[-1] != "").map(tuple)
command = st.from_regex(r"[A-Z][0-9]{2}", fullmatch=True)


def value_of(codec: Codec) -> st.SearchStrategy[Any]:
    if isinstance(codec, Number):
        return st.none() | st.integers(0, 10**18 - 1)
    if isinstance(codec, Items):
        item = value_of(codec.item)
        # One item that encodes to nothing reads back as no items: the wire cannot tell.
        return (
            st.lists(item, max_size=4)
            .filter(lambda t: not (len(t) == 1 and codec.item.encode(t[0], "") == ""))
            .map(tuple)
        )
    if isinstance(codec, Group):
        return record_of(codec.record)
    return text


def record_of(cls: type[Record], **base: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    wire = {name: value_of(codec) for name, codec in cls.wire_fields()}
    return st.builds(cls, **base, **wire, rest=rest)


def request_of(cls: type[Request], **extra: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return record_of(cls, version=text, trailing_fs=st.booleans(), **extra)


def response_of(cls: type[Response], **extra: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    base = {
        "status": text,
        "version": text,
        "code": st.from_regex(r"[0-9]{6}", fullmatch=True),
        "message": text,
    }
    return record_of(cls, **base, **extra)


requests = st.one_of(
    *(request_of(cls) for cls in REQUESTS.values()),
    request_of(OtherRequest, other_command=command.filter(lambda c: c not in REQUESTS)),
)
responses = st.one_of(
    *(response_of(cls) for cls in RESPONSES.values()),
    response_of(OtherResponse, other_command=command.filter(lambda c: c not in RESPONSES)),
)


def only_frame(frame: bytes) -> bytes:
    events = FrameReader().feed(frame)
    assert len(events) == 1 and isinstance(events[0], FrameReceived), events
    return events[0].body


# -- 1. round trips, per message type


def test_every_message_type_has_a_strategy() -> None:
    assert len(REQUESTS) == 9 and len(RESPONSES) == 9


@PER_KIND
@given(st.sampled_from(sorted(REQUESTS)), st.data())
def test_each_request_type_round_trips(cmd: str, data: st.DataObject) -> None:
    request = data.draw(request_of(REQUESTS[cmd]))
    assert decode_request(only_frame(encode_frame(request.encode()))) == request


@PER_KIND
@given(st.sampled_from(sorted(RESPONSES)), st.data())
def test_each_response_type_round_trips(cmd: str, data: st.DataObject) -> None:
    response = data.draw(response_of(RESPONSES[cmd]))
    decoded = decode_response(only_frame(encode_frame(response.encode())))
    assert decoded == response and decoded.problems == ()


@FAST
@given(requests | responses)
def test_unknown_commands_round_trip_too(message: Request | Response) -> None:
    body = message.encode()
    decoded = decode_request(body) if isinstance(message, Request) else decode_response(body)
    assert decoded == message


# -- 2. framing under arbitrary chunking

units = st.one_of(
    (requests | responses).map(lambda m: encode_frame(m.encode())),
    st.sampled_from([b"\x06", b"\x15", b"\x04"]),
)


@FAST
@given(st.lists(units, max_size=6), st.data())
def test_framing_is_independent_of_chunking(pieces: list[bytes], data: st.DataObject) -> None:
    stream = b"".join(pieces)
    whole = FrameReader().feed(stream)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=12)))
    reader, chunked = FrameReader(), []
    for start, end in zip([0, *cuts], [*cuts, len(stream)], strict=True):
        chunked.extend(reader.feed(stream[start:end]))
    assert chunked == whole and len(whole) == len(pieces)


# -- 3. fuzz


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    frame = bytearray(encode_frame(draw(requests | responses).encode()))
    for _ in range(draw(st.integers(1, 4))):
        pos = draw(st.integers(0, len(frame)))
        op = draw(st.sampled_from(["flip", "insert", "delete", "cut"]))
        byte = draw(st.sampled_from([0x02, 0x03, 0x04, 0x06, 0x15, 0x1C, 0x1F, 0x3D, 0x2E, 0x2D]))
        if op == "flip" and pos < len(frame):
            frame[pos] ^= draw(st.integers(1, 255))
        elif op == "insert":
            frame[pos:pos] = bytes([byte])
        elif op == "delete" and pos < len(frame):
            del frame[pos]
        elif op == "cut":
            del frame[pos:]
    return bytes(frame)


garbage = st.binary(max_size=200) | mutated()


def decode_quietly(body: bytes) -> None:
    with contextlib.suppress(PosLinkError):
        decode_request(body)
    with contextlib.suppress(PosLinkError):
        decode_response(body)


@FAST
@given(garbage)
def test_decoders_raise_only_poslink_errors(data: bytes) -> None:
    for event in FrameReader().feed(data):
        if isinstance(event, FrameReceived):
            decode_quietly(event.body)
    body = data[1:-2] if len(data) > 2 else data
    decode_quietly(body)  # the LRC skipped: bodies a fixed-up frame would carry


@FAST
@given(st.lists(garbage | st.sampled_from([b"\x06", b"\x15", b"\x04", "expire"]), max_size=8))
def test_exchange_and_terminal_survive_anything(inputs: list[bytes | str]) -> None:
    ecr, pt = EcrExchange(), TerminalSide()
    ecr.send(BatchClose())
    for item in inputs:
        if item == "expire":
            ecr.expire("response")
            continue
        assert isinstance(item, bytes)
        ecr.receive_data(item)
        pt.receive_data(item)
        assert len(ecr.data_to_send()) < 1024 and len(pt.data_to_send()) < 1024
    assert ecr.result is not None and ecr.result.sends <= 3
