"""Property tests: every message kind round-trips; no byte stream raises anything but ZvtError."""

from __future__ import annotations

import contextlib
from datetime import datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from pi_agent.zvt.apdu import Apdu
from pi_agent.zvt.bmp import BmpFields, CardTotal, IndividualTotals, decode_bmps
from pi_agent.zvt.dialogue import EcrConnection
from pi_agent.zvt.errors import ZvtError
from pi_agent.zvt.framing import ApduReader, FrameReader, FrameReceived, encode_frame
from pi_agent.zvt.messages import (
    Abort,
    Completion,
    Diagnosis,
    EndOfDay,
    HostDateTime,
    Initialisation,
    IntermediateStatus,
    LogOff,
    Message,
    NegativeAck,
    PositiveAck,
    PrintLine,
    PrintTextBlock,
    PtAbort,
    Registration,
    SetDateTime,
    StatusEnquiry,
    StatusInformation,
    TurnoverTotals,
    decode_message,
)
from pi_agent.zvt.tlv import TlvContainer, TlvObject, decode_container

passwords = st.text("0123456789", min_size=6, max_size=6)
byte = st.integers(0, 255)
digits = lambda n: st.text("0123456789", min_size=n, max_size=n)  # noqa: E731

primitive_tags = st.one_of(
    st.integers(0x01, 0x1E).filter(lambda t: t & 0x20 == 0),
    st.sampled_from([0x1F07, 0x1F16, 0x1F17, 0x1F2B]),
)
primitive = st.builds(TlvObject, primitive_tags, st.binary(max_size=40))
tlv_objects = st.recursive(
    primitive,
    lambda children: st.builds(
        lambda tag, kids: TlvObject(tag, children=tuple(kids)),
        st.sampled_from([0x24, 0x25, 0x26]),
        st.lists(children, max_size=3),
    ),
    max_leaves=8,
)
containers = st.builds(lambda objs: TlvContainer(tuple(objs)), st.lists(tlv_objects, max_size=4))
totals = st.builds(
    IndividualTotals,
    st.integers(0, 9999),
    st.integers(0, 9999),
    st.tuples(*[st.builds(CardTotal, byte, st.integers(0, 10**12 - 1))] * 7),
)
info_fields = st.builds(
    lambda rc, amount, trace, tid, t, cur, tlv: BmpFields.of(
        (
            (0x27, rc),
            (0x04, amount),
            (0x0B, trace),
            (0x29, tid),
            (0x60, t),
            (0x49, cur),
            (0x06, tlv),
        )
    ),
    byte,
    st.integers(0, 10**12 - 1),
    st.integers(0, 999999),
    digits(8),
    st.none() | totals,
    st.none() | st.integers(1, 999),
    st.none() | containers,
)
when = st.datetimes(datetime(2000, 1, 1), datetime(2099, 12, 31, 23, 59, 59)).map(
    lambda d: d.replace(microsecond=0)
)
cp437_text = st.text(st.characters(codec="cp437", exclude_characters="\x00"), max_size=40)

messages: st.SearchStrategy[Message] = st.one_of(
    st.builds(Registration, passwords, byte, st.none()),
    st.builds(
        Registration, passwords, byte, st.integers(1, 999), st.none() | byte, st.none() | containers
    ),
    st.just(LogOff()),
    st.just(StatusEnquiry()),
    st.builds(StatusEnquiry, passwords, st.none() | byte, st.none() | containers),
    st.builds(TurnoverTotals, passwords, st.none() | containers),
    st.builds(EndOfDay, passwords, st.none() | containers),
    st.builds(Initialisation, passwords, st.none() | containers),
    st.builds(Diagnosis, st.none() | containers),
    st.builds(SetDateTime, passwords, when),
    st.just(Abort()),
    st.builds(PositiveAck, st.binary(max_size=10)),
    st.builds(NegativeAck, st.integers(1, 255), st.binary(max_size=4)),
    st.builds(IntermediateStatus, byte),
    st.builds(IntermediateStatus, byte, st.integers(0, 99), st.none() | containers),
    st.builds(StatusInformation, info_fields),
    st.builds(
        HostDateTime,
        when.map(lambda d: BmpFields(((0xAA, d.strftime("%y%m%d")), (0x0C, d.strftime("%H%M%S"))))),
    ),
    st.builds(PrintLine, byte, cp437_text),
    st.builds(PrintTextBlock, containers.map(lambda c: BmpFields(((0x06, c),)))),
    st.builds(Completion, st.binary(max_size=60)),
    st.builds(Completion.for_status, byte, st.none() | cp437_text, st.none() | containers),
    st.builds(PtAbort, byte, st.none() | containers),
)


@settings(max_examples=400)
@given(messages)
def test_every_message_round_trips_through_apdu_and_frame(message: Message) -> None:
    raw = message.encode()
    assert decode_message(Apdu.decode(raw)) == message
    [event] = FrameReader().feed(encode_frame(raw))
    assert isinstance(event, FrameReceived) and event.apdu == raw
    [bare] = ApduReader().feed(raw)
    assert bare.apdu == raw


@given(byte, st.none() | cp437_text, st.none() | containers)
def test_status_completion_parses_back(status: int, version: str | None, tlv) -> None:
    parsed = Completion.for_status(status, version, tlv).status(version is not None)
    assert parsed.terminal_status == status
    assert parsed.software_version == (version.rstrip("\x00 ") if version is not None else None)
    assert parsed.tlv == tlv


def _only_zvt_errors(call, *args) -> None:
    with contextlib.suppress(ZvtError):  # anything else fails the test
        call(*args)


@settings(max_examples=500)
@given(st.binary(max_size=300))
def test_random_bytes_raise_only_zvt_errors(data: bytes) -> None:
    FrameReader().feed(data)
    ApduReader().feed(data)
    _only_zvt_errors(Apdu.decode, data)
    _only_zvt_errors(lambda d: decode_message(Apdu.decode(d)), data)
    _only_zvt_errors(decode_bmps, data)
    _only_zvt_errors(decode_container, data)
    _only_zvt_errors(lambda d: Completion(d).status(True), data)
    _only_zvt_errors(lambda d: Completion(d).status(False), data)
    if len(data) >= 2:
        _only_zvt_errors(lambda d: decode_message(Apdu(d[0], d[1], d[2:])), data)


@settings(max_examples=400)
@given(messages, st.data())
def test_mutated_frames_never_raise_and_never_hang(message: Message, data: st.DataObject) -> None:
    frame = bytearray(encode_frame(message.encode()))
    for _ in range(data.draw(st.integers(1, 4))):
        kind = data.draw(st.sampled_from(["flip", "drop", "insert"]))
        pos = data.draw(st.integers(0, max(0, len(frame) - 1)))
        if kind == "flip" and frame:
            frame[pos] ^= data.draw(st.integers(1, 255))
        elif kind == "drop" and frame:
            del frame[pos]
        else:
            frame.insert(pos, data.draw(byte))
    reader = FrameReader()
    for event in reader.feed(bytes(frame)):
        if isinstance(event, FrameReceived):  # a mutation can still leave a valid frame
            _only_zvt_errors(lambda raw: decode_message(Apdu.decode(raw)), event.apdu)
    reader.abandon()
    assert not reader.in_frame


@settings(max_examples=300)
@given(
    st.sampled_from([StatusEnquiry("000000"), EndOfDay("000000"), LogOff()]),
    st.lists(st.one_of(st.binary(max_size=40), messages.map(lambda m: encode_frame(m.encode()))),
             max_size=8),
    st.lists(st.sampled_from(["T1", "T2", "T3", "T4"]), max_size=4),
)  # fmt: skip
def test_the_ecr_connection_survives_any_bytes_and_expiries(command, chunks, expiries) -> None:
    # The driver's loop must never see an exception, whatever the line delivers.
    conn = EcrConnection()
    conn.send(command)
    for chunk in chunks:
        conn.receive_data(chunk)
        conn.data_to_send()
    for name in expiries:
        conn.expire(name)
        conn.data_to_send()
    for _ in range(3):
        conn.expire("T2")
    conn.expire("T3")
    conn.expire("T4")
    assert not conn.busy
    assert conn.result is not None
    assert conn.result.ok or conn.result.error is not None or conn.result.final is not None
