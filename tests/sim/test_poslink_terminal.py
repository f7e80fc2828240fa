"""The POSLink simulator's terminal state without I/O: each command's answer, the batch
stores (normal and SAF) and the host-side conditions faults switch on."""

from __future__ import annotations

from datetime import datetime

from pi_agent.poslink.messages import (
    BatchClose,
    BatchCloseResponse,
    ForceClose,
    ForceCloseResponse,
    Initialize,
    InitializeResponse,
    LocalDetail,
    LocalDetailResponse,
    LocalTotal,
    LocalTotalResponse,
    OtherRequest,
    SafSummary,
    SafSummaryResponse,
    SafUpload,
    SafUploadResponse,
    decode_response,
)
from pi_agent.sim.poslink_terminal import PosLinkTerminal

NOW = datetime(2025, 1, 1, 12, 0, 0)


def make() -> PosLinkTerminal:
    t = PosLinkTerminal(clock=lambda: NOW, batch_number=7)
    t.add_transaction(1250)
    t.add_transaction(300, edc="02", card_type="02")
    t.add_transaction(5000, trans_type="03")  # an auth: not settled money
    return t


def roundtrip(t: PosLinkTerminal, request: object) -> object:
    """Through the wire format, as the ECR would read it."""
    return decode_response(t.handle(request).encode())  # type: ignore[arg-type]


def test_initialize_matches_the_worked_example() -> None:
    rsp = PosLinkTerminal().handle(Initialize())
    assert isinstance(rsp, InitializeResponse)
    body = b"0\x1cA01\x1c1.28\x1c000000\x1cOK\x1c53012345\x1cA920\x1c7.1"
    assert rsp.encode() == body


def test_local_totals_per_edc_group() -> None:
    rsp = roundtrip(make(), LocalTotal())
    assert isinstance(rsp, LocalTotalResponse) and rsp.ok
    assert rsp.group("credit")["sale"] == (1, 1250)
    assert rsp.group("credit")["auth"] == (1, 5000)
    assert rsp.group("debit")["sale"] == (1, 300)
    assert rsp.group("gift")["sale"] == (0, 0)
    only_mc = roundtrip(make(), LocalTotal(edc_type="00", card_type="02"))
    assert isinstance(only_mc, LocalTotalResponse)
    assert only_mc.group("credit")["sale"] == (0, 0) and only_mc.group("debit")["sale"] == (1, 300)
    assert make().handle(LocalTotal(edc_type="42")).code == "100005"


def test_detail_one_record_per_call_and_empty_batch() -> None:
    t = make()
    first = roundtrip(t, LocalDetail(record_number=0))
    assert isinstance(first, LocalDetailResponse) and first.ok
    assert first.total_records == 3 and first.record_number == 0
    assert first.amount.approved == 1250 and first.trace.trans_number == "1"
    assert first.trace.timestamp == "20250101120000" and first.host.batch_number == "7"
    debit = roundtrip(t, LocalDetail(edc_type="02"))
    assert isinstance(debit, LocalDetailResponse) and debit.total_records == 1
    assert debit.account.card_type == "02"
    assert t.handle(LocalDetail(record_number=3)).code == "100003"
    empty = PosLinkTerminal().handle(LocalDetail())
    assert (empty.code, empty.message, empty.command) == ("100003", "NO TRANS AVAILABLE", "R03")


def test_saf_summary_and_upload_move_records_to_the_normal_store() -> None:
    t = make()
    t.add_transaction(700, offline=True)
    t.add_transaction(900, card_type="03", offline=True)
    assert t.saf_records[0].trans_number == 5001 and t.saf_records[0].auth_code == ""
    summary = roundtrip(t, SafSummary())
    assert isinstance(summary, SafSummaryResponse)
    assert summary.counts[:3] == (1, 0, 1) and summary.amounts[:3] == (700, 0, 900)
    upload = roundtrip(t, SafUpload())
    assert isinstance(upload, SafUploadResponse) and upload.ok
    assert (upload.saf_total_count, upload.uploaded_count, upload.uploaded_amount) == (2, 2, 1600)
    assert not t.saf_records and [x.trans_number for x in t.normal[-2:]] == [4, 5]
    again = roundtrip(t, SafSummary())
    assert isinstance(again, SafSummaryResponse) and sum(c or 0 for c in again.counts) == 0


def test_saf_upload_with_host_down_fails_into_the_failed_store() -> None:
    t = make()
    t.add_transaction(700, offline=True)
    t.host_down = True
    upload = t.handle(SafUpload())
    assert isinstance(upload, SafUploadResponse) and upload.code == "000100"
    assert upload.failed_count == 1 and t.saf_records[0].trans_number == 9001
    failed = t.handle(SafSummary(indicator="1"))
    assert isinstance(failed, SafSummaryResponse) and failed.counts[0] == 1
    fresh = t.handle(SafSummary(indicator="0"))
    assert isinstance(fresh, SafSummaryResponse) and fresh.counts[0] == 0


def test_batch_close_settles_and_advances_the_batch_number() -> None:
    t = make()
    t.add_transaction(100, offline=True)  # SAF is uploaded at batch close
    rsp = roundtrip(t, BatchClose(timestamp="20250101120000"))
    assert isinstance(rsp, BatchCloseResponse) and rsp.ok
    assert rsp.batch_number == "7" and rsp.tid == t.tid and rsp.mid == t.mid
    assert rsp.counts["credit"] == 2 and rsp.amounts["credit"] == 1350  # the auth left out
    assert rsp.counts["debit"] == 1 and rsp.amounts["debit"] == 300
    assert t.batch_number == 8 and not t.normal and not t.saf_records
    assert t.settled == [(7, 4, 6650)]
    empty = roundtrip(t, BatchClose())
    assert isinstance(empty, BatchCloseResponse) and empty.batch_number == "8"
    assert sum(c or 0 for c in empty.total_count) == 0


def test_batch_close_tolerates_bad_timestamps() -> None:
    for stamp in ("YYYYMMDDhhmmss", "20251301250000", "2025011", "", "250101 12:00"):
        t = make()
        rsp = t.handle(BatchClose(timestamp=stamp))
        assert isinstance(rsp, BatchCloseResponse) and rsp.ok, stamp
        assert rsp.timestamp == "20250101120000" and t.batch_number == 8


def test_host_down_and_out_of_balance() -> None:
    t = make()
    t.host_down = True
    rsp = t.handle(BatchClose())
    assert rsp.code == "000100" and t.batch_number == 7 and len(t.normal) == 3
    t.host_down, t.out_of_balance = False, True
    rsp = t.handle(BatchClose())
    assert rsp.code == "000300" and isinstance(rsp, BatchCloseResponse)
    assert rsp.host.resp_code == "000300" and t.batch_number == 8 and not t.normal


def test_db_full_says_please_settle_until_a_settlement() -> None:
    t = PosLinkTerminal(capacity=2)
    t.add_transaction(100)
    t.add_transaction(200)
    assert t.handle(LocalTotal()).code == "100025"
    try:
        t.add_transaction(300)
    except ValueError as exc:
        assert "100025" in str(exc)
    else:
        raise AssertionError("a full database took a sale")
    assert t.handle(BatchClose()).ok and t.handle(LocalTotal()).code == "000000"


def test_force_close_prints_lines_even_with_host_down() -> None:
    t = make()
    t.host_down = True
    rsp = roundtrip(t, ForceClose())
    assert isinstance(rsp, ForceCloseResponse) and rsp.ok
    assert rsp.line_count == len(rsp.lines) and "FORCE BATCH CLOSE" in rsp.lines
    assert all(len(line) < 32 for line in rsp.lines)
    assert rsp.batch_number == "7" and t.batch_number == 8


def test_clear_without_settle_loses_the_batch_and_keeps_its_number() -> None:
    t = make()
    assert t.clear_without_settle() == 3
    assert t.handle(LocalDetail()).message == "NO TRANS AVAILABLE"
    assert t.batch_number == 7 and t.settled == []


def test_unknown_and_unsupported_commands() -> None:
    t = PosLinkTerminal()
    assert t.handle(OtherRequest(other_command="Q42")).code == "100027"
    cancel = t.handle(OtherRequest(other_command="A14"))
    assert (cancel.code, cancel.command) == ("100004", "A15")
    assert t.handle(OtherRequest(other_command="Z99")).command == "Z99"  # no Z100
