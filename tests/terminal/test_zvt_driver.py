"""The ZVT driver against the simulator over a real pty: readings, settlement, every fault."""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path

import pytest

from pi_agent.sim import SimServer, SimTerminal
from pi_agent.terminal import (
    CommandRefused,
    Condition,
    LinkState,
    NoAnswer,
    Outcome,
    PortUnavailable,
    Progress,
)
from pi_agent.terminal.zvt import ZvtTerminal

from .conftest import FAST

SALES = [(4550, "girocard"), (2000, "mastercard"), (1234, "visa"), (800, "girocard")]


def add_sales(sim: SimServer) -> None:
    for amount, card in SALES:
        sim.terminal.add_sale(amount, card)


def wait_for(predicate, timeout: float = 5.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.02)
    return False


# -- readings


def test_status_of_a_ready_terminal(sim: SimServer, terminal: ZvtTerminal) -> None:
    status = terminal.status()
    assert status.ready
    assert status.code == 0x00
    assert status.software_version == sim.terminal.software_version
    assert status.text == "ready"
    assert status.text_zh


@pytest.mark.parametrize(
    ("flag", "code", "condition"),
    [
        ("needs-initialisation", 0x51, Condition.NEEDS_INITIALISATION),
        ("needs-diagnosis", 0xC2, Condition.NEEDS_DIAGNOSIS),
        ("date-time-incorrect", 0x62, Condition.DATE_TIME_INCORRECT),
        ("printer-not-ready", 0xCC, Condition.PRINTER_NOT_READY),
        ("out-of-order", 0xDF, Condition.OUT_OF_ORDER),
        ("reconciliation-required", 0xF0, Condition.NEEDS_END_OF_DAY),
    ],
)
def test_status_reports_what_the_terminal_needs(
    sim: SimServer, terminal: ZvtTerminal, flag: str, code: int, condition: Condition
) -> None:
    sim.terminal.set_flag(flag)
    status = terminal.status()
    assert (status.code, status.condition, status.ready) == (code, condition, False)


def test_totals_read_the_batch_without_closing_it(sim: SimServer, terminal: ZvtTerminal) -> None:
    add_sales(sim)
    totals = terminal.totals()
    assert totals.total == sum(a for a, _ in SALES)
    assert totals.count == len(SALES)
    per_card = {c.card: (c.count, c.amount) for c in totals.cards}
    assert per_card["girocard"] == (2, 5350)
    assert per_card["mastercard"] == (1, 2000)
    assert per_card["visa"] == (1, 1234)
    assert (totals.first_receipt, totals.last_receipt) == (1, 4)
    assert totals.currency == 978
    assert totals.terminal_id == sim.terminal.terminal_id
    assert len(sim.terminal.batch) == len(SALES)  # still open


def test_empty_batch_reads_as_empty(terminal: ZvtTerminal) -> None:
    assert terminal.totals().empty


# -- settlement


def test_end_of_day_settles_exactly_the_injected_transactions(
    sim: SimServer, terminal: ZvtTerminal
) -> None:
    add_sales(sim)
    before = terminal.totals()
    result = terminal.settle()
    assert result.outcome is Outcome.OK
    assert result.totals is not None
    assert result.totals.total == sum(a for a, _ in SALES) == before.total
    assert result.totals.cards == before.cards
    assert terminal.totals().empty
    # The receipt range moves on: the next sale starts after the settled batch.
    sim.terminal.add_sale(100, "visa")
    assert terminal.totals().first_receipt == before.last_receipt + 1


def test_registration_brings_progress_and_receipt_lines(sim: SimServer) -> None:
    # Config 0C: intermediate status and the ECR takes the admin receipt (to keep as evidence).
    driver = ZvtTerminal(sim.url, timeouts=FAST, registration_config=0x0C)
    try:
        assert driver.wait_connected(5)
        reg = driver.register()
        assert reg.ok and reg.terminal_id == sim.terminal.terminal_id
        assert sim.terminal.config == 0x0C
        add_sales(sim)
        seen: list[Progress] = []
        result = driver.settle(seen.append)
        assert result.outcome is Outcome.OK
        assert [p.code for p in seen] == [0xD2, 0xD3]
        assert seen[0].text == "dialling host"
        assert "END OF DAY" in result.receipt_lines
        assert any("TOTAL" in line and "85.84" in line for line in result.receipt_lines)
    finally:
        driver.close()


def test_default_registration_leaves_receipts_and_menus_on_the_terminal(
    sim: SimServer, terminal: ZvtTerminal
) -> None:
    terminal.register()
    assert sim.terminal.config == 0x08  # no ECR printing (02/04), no ECR control (10/20)
    add_sales(sim)
    assert terminal.settle().receipt_lines == ()


def test_host_down_fails_the_settlement_and_keeps_the_batch(
    sim: SimServer, terminal: ZvtTerminal
) -> None:
    add_sales(sim)
    sim.inject("host-down:A1")
    result = terminal.settle()
    assert result.outcome is Outcome.FAILED
    assert result.result_code == 0xA1
    assert "respond" in result.result_text
    assert terminal.totals().count == len(SALES)
    sim.clear_faults()
    assert terminal.settle().outcome is Outcome.OK


def test_lost_answer_is_unknown_not_failed(sim: SimServer, terminal: ZvtTerminal) -> None:
    add_sales(sim)
    sim.inject("silent:2")
    time.sleep(0.1)
    result = terminal.settle()
    assert result.outcome is Outcome.UNKNOWN
    assert "lost" in (result.error or "")
    time.sleep(2)
    assert terminal.totals().count == len(SALES)  # re-reading tells what happened


# -- maintenance


def test_diagnosis_sets_the_terminal_straight(sim: SimServer, terminal: ZvtTerminal) -> None:
    sim.terminal.set_flag("needs-diagnosis")
    seen: list[Progress] = []
    result = terminal.diagnose(seen.append)
    assert result.ok
    assert "host_time" in result.details
    assert [p.code for p in seen] == [0xC9]
    assert terminal.status().ready


def test_initialisation_clears_the_sign_in_need(sim: SimServer, terminal: ZvtTerminal) -> None:
    sim.terminal.set_flag("needs-initialisation")
    assert terminal.initialise().ok
    assert terminal.status().ready


def test_initialisation_with_host_down_reports_the_code(
    sim: SimServer, terminal: ZvtTerminal
) -> None:
    sim.inject("host-down")
    result = terminal.initialise()
    assert not result.ok and result.result_code == 0x9B


def test_set_clock(sim: SimServer, terminal: ZvtTerminal) -> None:
    sim.terminal.set_flag("date-time-incorrect")
    when = datetime(2026, 11, 22, 18, 30, 0)
    assert terminal.set_clock(when).ok
    assert abs((sim.terminal.now() - when).total_seconds()) < 5
    assert terminal.status().ready
    read = terminal.totals().terminal_time  # the totals carry the terminal's clock (BMP 0C/0D)
    assert read is not None and abs((read - when).total_seconds()) < 5


def test_wrong_password_is_refused(sim: SimServer) -> None:
    driver = ZvtTerminal(sim.url, password="123456", timeouts=FAST)
    try:
        assert driver.wait_connected(5) is False  # the handshake itself is refused
        assert "refused" in driver.link.last_error
    finally:
        driver.close()


def test_abort_while_idle_is_acknowledged(terminal: ZvtTerminal) -> None:
    assert terminal.abort().ok


# -- transport faults: the spec's three sends, then a clear error, then recovery


def test_two_naks_are_survived_by_repeating(sim: SimServer, terminal: ZvtTerminal) -> None:
    sim.inject("nak:2")
    assert terminal.status().ready
    assert terminal.line_counters()["repeats"] == 2


def test_three_naks_are_a_transmission_error_then_it_recovers(
    sim: SimServer, terminal: ZvtTerminal
) -> None:
    sim.inject("nak:3")
    with pytest.raises(NoAnswer, match="not acknowledged after 3 sends"):
        terminal.status()
    assert sim.naks_sent == 3
    assert terminal.status().ready


@pytest.mark.parametrize("fault", ["crc:1", "drop:1", "crc:2"])
def test_garbled_frames_from_the_terminal_are_naked_and_repeated(
    sim: SimServer, terminal: ZvtTerminal, fault: str
) -> None:
    add_sales(sim)
    sim.inject(fault)
    assert terminal.totals().count == len(SALES)
    assert terminal.line_counters()["naks_sent"] >= 1
    assert sim.faults.describe() == []


def test_silent_terminal_times_out_then_answers_again(
    sim: SimServer, terminal: ZvtTerminal
) -> None:
    sim.inject("silent:1.5")
    time.sleep(0.05)
    with pytest.raises(NoAnswer, match="did not acknowledge"):
        terminal.status()
    time.sleep(1.0)
    assert terminal.status().ready
    assert terminal.connected


def test_busy_terminal_streams_please_wait_and_completes(
    sim: SimServer, terminal: ZvtTerminal
) -> None:
    add_sales(sim)
    sim.inject("busy:4")  # longer than T4 (3 s): each 04 FF restarts it
    seen: list[Progress] = []
    result = terminal.settle(seen.append)
    assert result.outcome is Outcome.OK
    assert sum(1 for p in seen if p.code == 0x17) >= 7
    assert seen[0].text == "please wait"


def test_unplugged_port_reconnects_without_restart(sim: SimServer, terminal: ZvtTerminal) -> None:
    states: list[LinkState] = []
    terminal.link._on_state = lambda state, error: states.append(state)
    sim.inject("unplug:1")
    assert wait_for(lambda: terminal.link.state is LinkState.DISCONNECTED)
    with pytest.raises(PortUnavailable):
        terminal.status()
    assert terminal.wait_connected(10)
    assert terminal.status().ready
    assert terminal.link.reconnects >= 1
    assert states[-1] is LinkState.CONNECTED
    assert sim.unplugs == 1


def test_unplug_during_settlement_is_unknown(tmp_path: Path) -> None:
    server = SimServer(SimTerminal(), link=tmp_path / "t", timeouts=FAST, processing_delay=0.5)
    with server as sim:
        driver = ZvtTerminal(sim.url, timeouts=FAST, backoff=(0.05, 0.2))
        try:
            assert driver.wait_connected(5)
            add_sales(sim)
            # The port goes away while the terminal is still working on the end-of-day.
            timer = __import__("threading").Timer(0.2, sim.inject, ("unplug:1",))
            timer.start()
            result = driver.settle()
            timer.join()
            assert result.outcome is Outcome.UNKNOWN
            assert "lost the port" in (result.error or "")
        finally:
            driver.close()


def test_a_second_program_cannot_open_the_port(sim: SimServer, terminal: ZvtTerminal) -> None:
    second = ZvtTerminal(sim.url, timeouts=FAST, handshake=False)
    try:
        assert second.link.wait_settled(5)
        assert not second.connected
        assert "in use by another program" in second.link.last_error
        assert terminal.status().ready  # the owner is undisturbed
    finally:
        second.close()


def test_refused_command_is_reported(sim: SimServer) -> None:
    wrong = ZvtTerminal(sim.url, password="999999", timeouts=FAST, handshake=False)
    try:
        assert wrong.wait_connected(5)
        with pytest.raises(CommandRefused, match="function not possible"):
            wrong.totals()
    finally:
        wrong.close()


# -- ZVT over TCP


def test_over_tcp_status_totals_and_settlement() -> None:
    with SimServer(SimTerminal(), listen="tcp://127.0.0.1:0", timeouts=FAST) as sim:
        assert sim.url.startswith("socket://127.0.0.1:")
        driver = ZvtTerminal(sim.url, timeouts=FAST)
        try:
            assert driver.wait_connected(5), driver.link.last_error
            assert driver.status().ready
            add_sales(sim)
            assert driver.totals().count == len(SALES)
            result = driver.settle()
            assert result.outcome is Outcome.OK
            assert result.totals is not None and result.totals.total == 8584
            assert driver.totals().empty
            assert driver.line_counters() == {"naks_sent": 0, "repeats": 0}
        finally:
            driver.close()
