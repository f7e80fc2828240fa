"""The simulated terminal's logic, without I/O: answers, batch, flags, faults, control."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from pi_agent.sim.faults import Faults, FaultSpecError, parse_fault
from pi_agent.sim.server import parse_scenario
from pi_agent.sim.terminal import SimTerminal
from pi_agent.zvt.messages import (
    CFG_ECR_PRINTS_ADMIN_RECEIPT,
    CFG_SEND_INTERMEDIATE_STATUS,
    Abort,
    Completion,
    Diagnosis,
    EndOfDay,
    HostDateTime,
    Initialisation,
    IntermediateStatus,
    LogOff,
    NegativeAck,
    PositiveAck,
    PrintLine,
    PtAbort,
    Registration,
    SetDateTime,
    StatusEnquiry,
    StatusInformation,
    TurnoverTotals,
)

NOON = datetime(2026, 11, 22, 12, 0, 0)


@pytest.fixture
def term() -> SimTerminal:
    return SimTerminal(clock=lambda: NOON)


def kinds(answer: list) -> list[str]:
    return [type(m).__name__ for m in answer]


def test_status_enquiry_with_and_without_software_version(term: SimTerminal) -> None:
    answer = term.handle(StatusEnquiry("000000"))
    assert kinds(answer) == ["PositiveAck", "Completion"]
    assert answer[1].status(True).software_version == term.software_version
    quiet = term.handle(StatusEnquiry("000000", service_byte=0x02))
    assert quiet[1].status(False).terminal_status == 0x00


def test_status_priority(term: SimTerminal) -> None:
    for flag in ("reconciliation-required", "printer-not-ready", "needs-initialisation"):
        term.set_flag(flag)
    assert term.status_code == 0x51
    term.set_flag("out-of-order")
    assert term.status_code == 0xDF
    term.set_flag("out-of-order", False)
    term.set_flag("needs-initialisation", False)
    assert term.status_code == 0xCC
    with pytest.raises(ValueError, match="unknown flag"):
        term.set_flag("memory-full")


def test_batch_capacity_means_memory_full_and_refused_sales() -> None:
    term = SimTerminal(capacity=2)
    term.add_sale(100)
    term.add_sale(100)
    assert term.status_code == 0xB1
    with pytest.raises(ValueError, match="batch full"):
        term.add_sale(100)


def test_turnover_totals_report_without_closing(term: SimTerminal) -> None:
    term.add_sale(1000, "girocard")
    term.add_sale(250, "visa")
    answer = term.handle(TurnoverTotals("000000"))
    assert kinds(answer) == ["PositiveAck", "StatusInformation", "Completion"]
    info = answer[1]
    assert isinstance(info, StatusInformation)
    assert info.amount == 1250
    assert info.totals.by_name()["girocard"].count == 1
    assert (info.totals.first_receipt, info.totals.last_receipt) == (1, 2)
    assert info.fields.get(0x0C) == "120000" and info.fields.get(0x0D) == "1122"
    assert len(term.batch) == 2


def test_end_of_day_empties_the_batch_and_keeps_the_settled_totals(term: SimTerminal) -> None:
    amounts = [(4550, "girocard"), (2000, "mastercard"), (1234, "visa")]
    for amount, card in amounts:
        term.add_sale(amount, card)
    term.set_flag("reconciliation-required")
    answer = term.handle(EndOfDay("000000"))
    assert kinds(answer) == ["PositiveAck", "StatusInformation", "Completion"]
    assert answer[1].amount == sum(a for a, _ in amounts)
    assert term.batch == []
    assert term.status_code == 0x00
    assert term.last_settlement["total"] == 7784
    assert term.last_settlement["count"] == 3
    assert term.add_sale(100) == 4  # receipt numbers continue


def test_registered_terminal_sends_progress_and_receipt_lines(term: SimTerminal) -> None:
    answer = term.handle(Registration("000000", 0x0C, 978))
    assert kinds(answer) == ["PositiveAck", "Completion"]
    assert answer[1].fields().get(0x29) == term.terminal_id
    assert term.config == CFG_SEND_INTERMEDIATE_STATUS | CFG_ECR_PRINTS_ADMIN_RECEIPT
    term.add_sale(500)
    answer = term.handle(EndOfDay("000000"))
    assert [m.code for m in answer if isinstance(m, IntermediateStatus)] == [0xD2, 0xD3]
    lines = [m for m in answer if isinstance(m, PrintLine)]
    assert lines[0].text == "END OF DAY" and lines[-1].attribute == 0xFF
    assert all(m.attribute == 0 for m in lines[:-1])
    assert term.handle(LogOff()) == [PositiveAck()] and term.config is None


def test_host_down_aborts_and_keeps_the_batch(term: SimTerminal) -> None:
    term.add_sale(500)
    answer = term.handle(EndOfDay("000000"), host_down=0x9B)
    assert answer[-1] == PtAbort(0x9B)
    assert len(term.batch) == 1
    assert term.handle(Diagnosis(), host_down=0xA3)[-1] == PtAbort(0xA3)
    assert term.handle(Initialisation("000000"), host_down=0x9B)[-1] == PtAbort(0x9B)


def test_diagnosis_initialisation_and_clock(term: SimTerminal) -> None:
    term.set_flag("needs-diagnosis")
    term.set_flag("date-time-incorrect")
    answer = term.handle(Diagnosis())
    host = next(m for m in answer if isinstance(m, HostDateTime))
    assert host.when() == NOON
    assert term.status_code == 0x00
    term.set_flag("needs-initialisation")
    assert isinstance(term.handle(Initialisation("000000"))[-1], Completion)
    assert term.status_code == 0x00
    term.handle(SetDateTime("000000", NOON + timedelta(hours=2)))
    assert term.now() == NOON + timedelta(hours=2)


def test_wrong_password_and_abort(term: SimTerminal) -> None:
    assert term.handle(EndOfDay("123456")) == [NegativeAck(0x83)]
    assert term.handle(Abort()) == [PositiveAck()]


def test_add_sale_validates(term: SimTerminal) -> None:
    with pytest.raises(ValueError, match="unknown card"):
        term.add_sale(100, "paypal")
    with pytest.raises(ValueError, match="out of range"):
        term.add_sale(0)


@pytest.mark.parametrize(
    ("spec", "kind", "attr", "value"),
    [
        ("nak:2", "nak", "count", 2),
        ("crc", "crc", "count", 1),
        ("silent:1.5", "silent", "seconds", 1.5),
        ("busy:4", "busy", "seconds", 4.0),
        ("host-down", "host-down", "code", 0x9B),
        ("host-down:a3", "host-down", "code", 0xA3),
        ("unplug:2", "unplug", "seconds", 2.0),
    ],
)
def test_fault_specs(spec: str, kind: str, attr: str, value: float) -> None:
    fault = parse_fault(spec)
    assert fault.kind == kind and getattr(fault, attr) == value


@pytest.mark.parametrize(
    ("spec", "needle"),
    [
        ("boom", "unknown kind"),
        ("nak:x", "whole number"),
        ("nak:0", "whole number"),
        ("silent:soon", "not a number"),
        ("silent:-1", "between 0 and 3600"),
        ("host-down:zz", "hex result code"),
        ("host-down:100", "01-FF"),
    ],
)
def test_bad_fault_specs_say_what_is_wrong(spec: str, needle: str) -> None:
    with pytest.raises(FaultSpecError, match=needle) as info:
        parse_fault(spec)
    assert repr(spec) in str(info.value)


def test_faults_are_counted_and_cleared() -> None:
    faults = Faults()
    faults.add(parse_fault("nak:2"))
    faults.add(parse_fault("host-down:77"))
    faults.add(parse_fault("silent:1"))
    assert faults.describe() == ["nak:2", "host-down:77", "silent:1"]
    assert faults.take("nak") and faults.take("nak") and not faults.take("nak")
    assert [f.kind for f in faults.take_pending()] == ["silent"]
    faults.clear()
    assert faults.describe() == [] and faults.host_down is None


def test_scenario_parsing() -> None:
    steps = parse_scenario("# shop opens\n+5 sale 12.50 visa\n+1 fault nak:1\n\n")
    assert steps == [(1.0, "fault nak:1"), (5.0, "sale 12.50 visa")]
    with pytest.raises(ValueError, match="line 1"):
        parse_scenario("5 sale 1.00")
    with pytest.raises(ValueError, match="line 2"):
        parse_scenario("+1 sale 1.00\n+x sale")
