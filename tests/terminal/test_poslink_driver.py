"""The POSLink driver against the POSLink simulator over a real pty, TCP and HTTP."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from pi_agent.config import Config, ConfigError, from_dict
from pi_agent.sim.poslink_server import PosLinkServer
from pi_agent.sim.poslink_terminal import PosLinkTerminal as SimTerminal
from pi_agent.terminal import Capability, Use, open_terminal
from pi_agent.terminal.base import NoAnswer, PortUnavailable
from pi_agent.terminal.link import LinkState
from pi_agent.terminal.models import Condition, Outcome
from pi_agent.terminal.poslink import PosLinkTerminal
from pi_agent.terminal.registry import capabilities, code_label, result_text

from .test_zvt_driver import wait_for

FAST = (1.0, 3.0)  # seconds: reads, batch close


@pytest.fixture
def sim(tmp_path: Path) -> Iterator[PosLinkServer]:
    with PosLinkServer(SimTerminal(), link=tmp_path / "pax", tcp=True, http=True,
                       ack_delay=0.01) as server:  # fmt: skip
        yield server


def url_of(sim: PosLinkServer, carrier: str) -> str:
    return {
        "pty": sim.url,
        "tcp": f"socket://127.0.0.1:{sim.port}",
        "http": f"http://127.0.0.1:{sim.http_port}",
    }[carrier]


@pytest.fixture(params=["pty", "tcp", "http"])
def terminal(request: pytest.FixtureRequest, sim: PosLinkServer) -> Iterator[PosLinkTerminal]:
    driver = PosLinkTerminal(url_of(sim, request.param), timeouts=FAST, backoff=(0.05, 0.2))
    assert driver.wait_connected(5)
    yield driver
    driver.close()


def sales(sim: PosLinkServer) -> None:
    t = sim.terminal
    t.add_transaction(1250)  # credit sale
    t.add_transaction(300, edc="02", card_type="02")  # debit sale
    t.add_transaction(200, trans_type="02")  # a refund: paid back out of the batch
    t.add_transaction(5000, trans_type="03")  # a pre-authorisation: settles nothing


def test_status_names_the_terminal(terminal: PosLinkTerminal) -> None:
    status = terminal.status()
    assert status.ready and status.condition is Condition.READY
    assert status.terminal_id == "53012345"
    assert status.software_version == "A920 7.1"
    assert status.to_json()["code"] == "000000"


def test_totals_read_the_open_batch(sim: PosLinkServer, terminal: PosLinkTerminal) -> None:
    sales(sim)
    sim.terminal.add_transaction(700, offline=True)
    totals = terminal.totals()
    assert (totals.count, totals.total) == (3, 1250 + 300 - 200)
    assert {c.card: (c.count, c.amount) for c in totals.cards if c.count} == {
        "credit": (2, 1050), "debit": (1, 300),
    }  # fmt: skip
    # Transaction numbers 1..4 (the auth too), the batch number, the oldest record's time.
    assert (totals.first_receipt, totals.last_receipt, totals.batch_number) == (1, 4, 1)
    assert totals.terminal_id == "53012345"
    assert totals.oldest_authorised_at is not None
    assert abs(totals.oldest_authorised_at.timestamp() - time.time()) < 60
    assert (totals.offline_pending, totals.offline_pending_total) == (1, 700)
    assert sim.terminal.snapshot()["count"] == 4  # reading closes nothing


def test_an_empty_batch(terminal: PosLinkTerminal) -> None:
    totals = terminal.totals()
    assert totals.empty and totals.first_receipt is None and totals.offline_pending == 0


def test_settle_uploads_offline_payments_first(sim: PosLinkServer,
                                               terminal: PosLinkTerminal) -> None:  # fmt: skip
    sales(sim)
    sim.terminal.add_transaction(700, offline=True)
    seen: list[str] = []
    result = terminal.settle(lambda p: seen.append(p.text))
    assert result.outcome is Outcome.OK and not result.out_of_balance
    assert seen == ["uploading 1 stored offline payments", "closing the batch"]
    assert result.totals is not None
    assert (result.totals.count, result.totals.total) == (4, 1350 + 700)
    assert result.totals.batch_number == 1 and result.totals.terminal_id == "53012345"
    assert "offline payments uploaded: 1, failed: 0" in result.receipt_lines
    after = terminal.totals()
    assert after.empty and after.offline_pending == 0
    assert sim.terminal.settled == [(1, 5, 5000 + 1250 + 300 + 200 + 700)]


def test_host_decline_at_close_is_a_failure_with_its_code(
    sim: PosLinkServer, terminal: PosLinkTerminal
) -> None:
    sales(sim)
    sim.inject("host-down")
    result = terminal.settle()
    assert result.outcome is Outcome.FAILED
    assert result.result_code == 100 and result.to_json()["result_code"] == "000100"
    assert result.result_text == "declined by host"
    assert terminal.totals().count == 3  # nothing was closed


def test_out_of_balance_closes_the_batch_and_says_so(
    sim: PosLinkServer, terminal: PosLinkTerminal
) -> None:
    sales(sim)
    sim.inject("out-of-balance")
    result = terminal.settle()
    assert result.outcome is Outcome.OK and result.out_of_balance
    assert result.to_json()["result_code"] == "000300"
    assert terminal.totals().empty


def test_database_full_is_reported_not_refused(
    sim: PosLinkServer, terminal: PosLinkTerminal
) -> None:
    sales(sim)
    sim.inject("db-full")
    totals = terminal.totals()
    assert totals.storage_full and totals.count == 3
    assert terminal.status().condition is Condition.NEEDS_END_OF_DAY
    assert terminal.settle().outcome is Outcome.OK
    assert not terminal.totals().storage_full


def test_a_batch_cleared_without_settlement_keeps_its_number(
    sim: PosLinkServer, terminal: PosLinkTerminal
) -> None:
    sales(sim)
    before = terminal.totals()
    sim.inject("clear-without-settle")
    after = terminal.totals()
    assert after.empty and sim.terminal.batch_number == before.batch_number
    assert sim.terminal.settled == []


@pytest.mark.parametrize("carrier", ["pty", "tcp", "http"])
@pytest.mark.parametrize("fault", ["nak:2", "lrc:2", "drop:1"])
def test_line_faults_recover_within_the_exchange(
    sim: PosLinkServer, carrier: str, fault: str
) -> None:
    sales(sim)
    driver = PosLinkTerminal(url_of(sim, carrier), timeouts=FAST, backoff=(0.05, 0.2))
    try:
        assert driver.wait_connected(5)
        sim.inject(fault)
        assert driver.totals().count == 3
        result = driver.settle()
        assert result.outcome is Outcome.OK
        assert len(sim.terminal.settled) == 1  # a resend never closed a second batch
    finally:
        driver.close()


@pytest.mark.parametrize("ack_mode", ["same", "none"])
def test_terminals_that_ack_with_the_response_or_not_at_all(tmp_path: Path, ack_mode: str) -> None:
    with PosLinkServer(SimTerminal(), link=tmp_path / "pax", tcp=True, ack_mode=ack_mode) as sim:
        sales(sim)
        for carrier in ("pty", "tcp"):
            driver = PosLinkTerminal(url_of(sim, carrier), timeouts=FAST, backoff=(0.05, 0.2))
            try:
                assert driver.wait_connected(5)
                assert driver.totals().count == 3
            finally:
                driver.close()


def test_a_silent_terminal_is_no_answer_and_nothing_is_sent(
    sim: PosLinkServer, terminal: PosLinkTerminal
) -> None:
    sales(sim)
    terminal.totals()  # learns the terminal's id before it goes quiet
    sim.inject("silent:8")  # long past both timeouts, even on a loaded machine
    assert wait_for(lambda: sim.silent_left() > 0)  # the simulator's own thread starts it
    with pytest.raises(NoAnswer, match="did not answer"):
        terminal.status()
    # R10 goes unanswered before B00 leaves: nothing of the end-of-day was sent, and the
    # journal is told so (PortUnavailable is "not sent").
    with pytest.raises(PortUnavailable, match="end-of-day not sent"):
        terminal.settle()
    assert sim.terminal.settled == []


def test_close_answer_lost_is_unknown_never_resent(sim: PosLinkServer) -> None:
    sales(sim)
    # Reads are answered in time; the batch close is done but answered too late.
    driver = PosLinkTerminal(url_of(sim, "tcp"), timeouts=(3.0, 0.5))
    try:
        driver.totals()
        sim.processing_delay = 1.0
        result = driver.settle()
        assert result.outcome is Outcome.UNKNOWN
        assert "answer lost" in (result.error or "")
        assert wait_for(lambda: len(sim.terminal.settled) == 1)
        time.sleep(0.3)
        assert len(sim.terminal.settled) == 1  # never sent again
    finally:
        driver.close()


def test_unreachable_terminal_fails_before_anything_is_sent(tmp_path: Path) -> None:
    with PosLinkServer(SimTerminal(), tcp=True, http=True) as sim:
        tcp, http = f"socket://127.0.0.1:{sim.port}", f"http://127.0.0.1:{sim.http_port}"
    for url in (tcp, http):  # the simulator is gone: its ports refuse connections
        driver = PosLinkTerminal(url, timeouts=FAST)
        with pytest.raises(PortUnavailable, match="cannot connect"):
            driver.settle()
        assert not driver.connected


@pytest.mark.parametrize(
    ("answer", "why"),
    [(b"", "connection lost"), (b"HTTP/1.0 503 Busy\r\nContent-Length: 0\r\n\r\n", "HTTP 503"),
     (b"garbage\r\n\r\n", "connection lost")],
)  # fmt: skip
def test_an_http_peer_that_gives_no_answer_took_the_request(answer: bytes, why: str) -> None:
    # Connected, then dropped or answered with no frame: the request may have arrived, so
    # it is "did not take" (a close in flight would be UNKNOWN), never "cannot connect".
    with socket.create_server(("127.0.0.1", 0)) as server:

        def serve() -> None:
            conn, _ = server.accept()
            with conn:
                conn.recv(4096)
                conn.sendall(answer)

        worker = threading.Thread(target=serve, daemon=True)
        worker.start()
        driver = PosLinkTerminal(f"http://127.0.0.1:{server.getsockname()[1]}", timeouts=FAST)
        with pytest.raises(NoAnswer, match=f"did not take A00 Initialize: {why}"):
            driver.status()
        assert driver.connected
        worker.join(5)


def test_unplugged_pty_reconnects_and_a_close_in_flight_is_unknown(tmp_path: Path) -> None:
    with PosLinkServer(SimTerminal(), link=tmp_path / "pax", processing_delay=0.5) as sim:
        driver = PosLinkTerminal(sim.url, timeouts=FAST, backoff=(0.05, 0.2))
        try:
            assert driver.wait_connected(5)
            sales(sim)
            driver.totals()
            # The port goes away while the terminal works on the batch close.
            timer = threading.Timer(0.2, sim.inject, ("unplug:1",))
            result = driver.settle(lambda p: timer.start() if "closing" in p.text else None)
            timer.join()
            assert result.outcome is Outcome.UNKNOWN
            link = driver.link
            assert link is not None
            assert wait_for(lambda: link.reconnects >= 1 and link.state is LinkState.CONNECTED)
            assert driver.status().ready
        finally:
            driver.close()


def test_force_close_is_its_own_command(sim: PosLinkServer, terminal: PosLinkTerminal) -> None:
    sales(sim)
    sim.inject("host-down")  # a force close does not ask the host
    result = terminal.force_settle()
    assert result.outcome is Outcome.OK
    assert "FORCE BATCH CLOSE" in result.receipt_lines
    assert terminal.totals().empty


def test_commands_poslink_has_not_are_refused_without_a_byte(
    sim: PosLinkServer, terminal: PosLinkTerminal
) -> None:
    before = sim.requests
    for result in (terminal.diagnose(), terminal.initialise(), terminal.set_clock(time_now())):
        assert not result.ok and "not offered by POSLink" in result.result_text
    assert sim.requests == before
    assert terminal.abort().ok and terminal.reboot().ok


def time_now() -> datetime:
    return datetime.now()


def config(port: str, **terminal: object) -> Config:
    return from_dict({"terminal": {"protocol": "poslink", "port": port, **terminal}})


def test_the_registry_opens_poslink_from_the_config(sim: PosLinkServer) -> None:
    sales(sim)
    for url in (url_of(sim, "pty"), url_of(sim, "tcp"), url_of(sim, "http")):
        with open_terminal(config(url), use=Use.COMMAND, timeout=2.0) as driver:
            assert driver.totals().count == 3
    assert Capability.FORCE_SETTLE in capabilities("poslink")
    assert Capability.SET_CLOCK not in capabilities("poslink")
    assert result_text("poslink", 100025) == "please settle: database full"
    assert result_text("poslink", 100, "zh") == "主机拒绝"
    assert code_label("poslink", 300) == "000300" and code_label("zvt", 0x6A) == "6A"


@pytest.mark.parametrize(
    "port",
    ["http://pax.local:8080/path", "http://a:99999", "https://pax:443", "http://u@pax:80",
     "ftp://pax:21", "socket://pax"],
)  # fmt: skip
def test_only_the_ways_a_pax_terminal_is_reached_are_accepted(port: str) -> None:
    with pytest.raises(ConfigError, match=r"\[terminal\] port"):
        config(port)


def test_poslink_settings_are_checked_per_field() -> None:
    assert config("http://10.0.0.5:10009").terminal.port == "http://10.0.0.5:10009"
    assert config("socket://10.0.0.5:10009", version="1.35").terminal.version == "1.35"
    with pytest.raises(ConfigError) as caught:
        config("socket://10.0.0.5:10009", version="x", baudrate=1234, password="000000")
    text = str(caught.value)
    assert "[terminal] version" in text and "[terminal] baudrate" in text
    assert "[terminal] password: unknown setting for poslink" in text
    with pytest.raises(ConfigError, match=r"\[terminal\] port"):  # ZVT has no HTTP
        from_dict({"terminal": {"protocol": "zvt", "port": "http://10.0.0.5:10009"}})


def test_a_garbled_close_answer_over_http_is_unknown_and_never_asked_again(
    sim: PosLinkServer,
) -> None:
    sales(sim)
    driver = PosLinkTerminal(url_of(sim, "http"), timeouts=FAST)
    driver.totals()
    # The B00 answer arrives with a wrong LRC (the fault is armed as B00 is about to leave).
    result = driver.settle(lambda p: sim.inject("lrc:1") if "closing" in p.text else None)
    assert result.outcome is Outcome.UNKNOWN
    assert len(sim.terminal.settled) == 1  # it did close, once: the journal re-reads


def test_a_batch_number_that_is_not_ascii_digits_is_no_number() -> None:
    """HostInfo's batch number is free text: "²" passes str.isdigit() but int() refuses it;
    the driver must read it as "no number", never raise outside its error family."""
    from pi_agent.poslink.messages import BatchCloseResponse, HostInfo

    driver = PosLinkTerminal("socket://127.0.0.1:9", timeouts=FAST)  # nothing is sent
    for odd in ("²", "１２", "12a", ""):
        closed = BatchCloseResponse(host=HostInfo(batch_number=odd))
        assert driver._closed(closed).batch_number is None
    assert driver._closed(BatchCloseResponse(host=HostInfo(batch_number="0042"))).batch_number == 42
