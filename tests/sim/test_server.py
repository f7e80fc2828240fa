"""The simulator's I/O shell: control language, pacing, backends, and its command line."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pi_agent.sim import SimServer
from pi_agent.terminal.zvt import ZvtTerminal
from pi_agent.zvt.timers import Timeouts

FAST = Timeouts(t1=0.2, t2=0.3, t3=1.0, t4=3.0)


def test_control_language(tmp_path: Path) -> None:
    with SimServer(link=tmp_path / "t") as sim:
        assert sim.control("sale 12.50 girocard") == "sale: receipt 0001, girocard 12.50 EUR"
        assert sim.control("sale 3") == "sale: receipt 0002, visa 3.00 EUR"
        assert sim.control("fault nak:2") == "fault: nak injected"
        assert sim.control("flag printer-not-ready on") == "flag printer-not-ready on"
        state = json.loads(sim.control("state"))
        assert state["count"] == 2 and state["total"] == 1550
        assert state["status"] == "CC" and state["faults"] == ["nak:2"]
        assert sim.control("clear") == "faults cleared"
        assert json.loads(sim.control("state"))["faults"] == []
        assert "sale AMOUNT" in sim.control("help")
        for bad, needle in [
            ("sale 1.234", "at most 2 decimals"),
            ("sale 5 paypal", "unknown card"),
            ("fault boom", "unknown kind"),
            ("flag nope on", "unknown flag"),
            ("dance", "cannot understand"),
        ]:
            reply = sim.control(bad)
            assert reply.startswith("error: ") and needle in reply, reply


def test_random_sales_arrive_while_idle(tmp_path: Path) -> None:
    with SimServer(link=tmp_path / "t", random_sales_per_minute=1200, seed=7) as sim:
        time.sleep(0.6)
        assert len(sim.terminal.batch) >= 3


def test_scenario_plays_relative_to_start(tmp_path: Path) -> None:
    steps = [(0.0, "sale 1.00 visa"), (0.5, "sale 2.00 amex")]
    start = time.monotonic()  # before the simulator's own start, from which steps count
    with SimServer(link=tmp_path / "t", scenario=steps) as sim:
        first_seen = None
        while len(sim.terminal.batch) < 2 and time.monotonic() - start < 5:
            time.sleep(0.01)
            if len(sim.terminal.batch) == 1 and first_seen is None:  # the first sight, not the last
                first_seen = time.monotonic() - start
        assert [s.card for s in sim.terminal.batch] == ["visa", "amex"]
        assert first_seen is not None and first_seen < 0.5 <= time.monotonic() - start


def test_pacing_holds_the_answer_to_the_wire_speed(tmp_path: Path) -> None:
    # 1200 baud: 9.2 ms a byte; a status poll moves about 60 bytes, so >= 0.5 s.
    with SimServer(link=tmp_path / "t", pace=True, baudrate=1200, timeouts=FAST) as sim:
        driver = ZvtTerminal(sim.url, handshake=False, timeouts=Timeouts(t2=2, t3=3, t4=5))
        try:
            assert driver.wait_connected(5)
            start = time.monotonic()
            assert driver.status().ready
            assert time.monotonic() - start >= 0.45
        finally:
            driver.close()


def test_processing_delay(tmp_path: Path) -> None:
    with SimServer(link=tmp_path / "t", processing_delay=0.4, timeouts=FAST) as sim:
        driver = ZvtTerminal(sim.url, handshake=False, timeouts=FAST)
        try:
            assert driver.wait_connected(5)
            start = time.monotonic()
            driver.status()
            assert time.monotonic() - start >= 0.4
        finally:
            driver.close()


def test_stop_removes_the_link_and_releases_the_port(tmp_path: Path) -> None:
    sim = SimServer(link=tmp_path / "t").start()
    assert (tmp_path / "t").is_symlink()
    sim.stop()
    assert not (tmp_path / "t").exists()
    assert not sim._thread.is_alive()


def test_unplug_is_refused_on_a_real_device() -> None:
    sim = SimServer(device="loop://")
    with pytest.raises(ValueError, match="cannot be unplugged"):
        sim.inject("unplug:1")


def sim_cli(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pi_agent", "sim", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_cli_prints_the_port_and_obeys_control_lines(tmp_path: Path) -> None:
    done = sim_cli(
        "--pty",
        "--link",
        str(tmp_path / "t"),
        "--exit-on-eof",
        "--sale",
        "5.00:amex",
        stdin="sale 2.50 visa\nstate\n",
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == f"port: {tmp_path / 't'}"
    assert lines[1] == "sale: receipt 0002, visa 2.50 EUR"
    assert json.loads(lines[2])["total"] == 750


def test_cli_numbers_receipts_as_asked(tmp_path: Path) -> None:
    done = sim_cli("--pty", "--link", str(tmp_path / "t"), "--exit-on-eof",
                   "--receipts", "none", stdin="state\n")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[1])["receipt_numbers"] == "none"
    bad = sim_cli("--receipts", "sometimes")
    assert bad.returncode == 2 and "--receipts" in bad.stderr


def test_cli_listens_on_tcp(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "pi_agent.sim", "--listen", "tcp://127.0.0.1:0"]
    proc = subprocess.Popen(
        [*command, "--currency", "CNY"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        url = proc.stdout.readline().removeprefix("port: ").strip()
        assert url.startswith("socket://127.0.0.1:")
        driver = ZvtTerminal(url, currency=156, timeouts=FAST)
        try:
            assert driver.wait_connected(5), driver.link.last_error
            assert driver.status().ready
            assert driver.totals().currency == 156
        finally:
            driver.close()
    finally:
        proc.terminate()
        assert proc.wait(10) == 0


@pytest.mark.parametrize(
    ("args", "code", "needle"),
    [
        (["--fault", "boom"], 2, "unknown kind"),
        (["--password", "12"], 2, "6 digits"),
        (["--currency", "XYZ"], 2, "unknown currency"),
        (["--sale", "abc"], 2, "not a number"),
        (["--listen", "tcp://nowhere"], 2, "tcp://HOST:PORT"),
        (["--scenario", "/nonexistent/scenario.txt"], 2, "cannot read"),
        (["--device", "/dev/ttyNOPE9"], 3, "/dev/ttyNOPE9"),
    ],
)
def test_cli_errors_are_one_line(args: list[str], code: int, needle: str) -> None:
    done = sim_cli(*args)
    assert done.returncode == code, done.stderr
    assert needle in done.stderr
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_garbage_on_the_line_does_not_stop_the_simulator(tmp_path: Path) -> None:
    import os
    import random

    from pi_agent.zvt.framing import encode_frame

    rng = random.Random(3)
    with SimServer(link=tmp_path / "t", timeouts=FAST) as sim:
        fd = os.open(sim.url, os.O_RDWR | os.O_NOCTTY)
        try:
            for _ in range(50):
                os.write(fd, bytes(rng.randrange(256) for _ in range(rng.randrange(1, 60))))
            # Well-framed nonsense: unknown commands, broken BMPs, a truncated APDU.
            for apdu in (
                b"\x06\x77\x00",
                b"\x06\x50\x03\x12\x34",
                b"\x04\x0f\x02\x99\x00",
                b"\x06",
            ):
                os.write(fd, encode_frame(apdu))
            time.sleep(0.3)
        finally:
            os.close(fd)
        assert sim._thread.is_alive()
        driver = ZvtTerminal(sim.url, timeouts=FAST)
        try:
            assert driver.wait_connected(10), driver.link.last_error
            assert driver.status().ready
        finally:
            driver.close()


def test_a_log_pipe_nobody_reads_does_not_stop_the_simulator(tmp_path: Path) -> None:
    import fcntl
    import os
    import termios

    link = tmp_path / "t"
    read_end, write_end = os.pipe()
    proc = subprocess.Popen(
        [sys.executable, "-m", "pi_agent", "sim", "--link", str(link)],
        stdin=subprocess.PIPE,
        stdout=write_end,
        stderr=subprocess.PIPE,
    )
    os.close(write_end)
    driver = None
    try:
        end = time.monotonic() + 20
        while not link.exists() and time.monotonic() < end:
            time.sleep(0.02)
        driver = ZvtTerminal(str(link), timeouts=FAST)
        assert driver.wait_connected(10), driver.link.last_error
        capacity = fcntl.fcntl(read_end, 1032)  # F_GETPIPE_SZ (Linux)

        def waiting() -> int:
            return int.from_bytes(fcntl.ioctl(read_end, termios.FIONREAD, b"\0" * 4), "little")

        # Each reading logs a line of about 50 bytes: 3000 of them are 150 KB, more than
        # twice what the pipe holds. Every one must still be answered.
        for _ in range(3000):
            assert driver.totals().empty
        assert waiting() > capacity - 4096  # the pipe really is full (to within a page)
        assert driver.status().ready
    finally:
        if driver is not None:
            driver.close()
        proc.terminate()
        try:
            code: int | None = proc.wait(10)
        except subprocess.TimeoutExpired:  # stuck: kill it, fail below
            proc.kill()
            code = None
        os.close(read_end)
        _, err = proc.communicate(timeout=10)
    assert code == 0, err  # and it still stops when asked


def test_sim_output_never_waits_for_its_reader_and_says_what_it_dropped() -> None:
    import os
    import threading

    from pi_agent.sim.cli import DroppingLog

    read_end, write_end = os.pipe()
    out = DroppingLog(write_end)
    start = time.monotonic()
    for number in range(5000):  # about 250 KB, nobody reading
        out(f"line {number:04d} {'x' * 40}")
    assert time.monotonic() - start < 2.0  # no line waited for the pipe
    got = bytearray()

    def drain() -> None:
        while chunk := os.read(read_end, 65536):
            got.extend(chunk)

    reader = threading.Thread(target=drain)
    reader.start()
    end = time.monotonic() + 5
    while b"line 4999" not in got and len(got) < 64 * 1024 and time.monotonic() < end:
        time.sleep(0.01)
    time.sleep(0.1)  # let the writer empty its queue into the reader
    out("the end")
    out.close()
    os.close(write_end)
    reader.join(5)
    os.close(read_end)
    text = got.decode()
    lines = text.splitlines()
    assert lines[-1] == "the end"
    kept = [line for line in lines if line.startswith("line ")]
    assert 1000 <= len(kept) < 5000 - 1000  # what fits the backlog and the pipe, not all
    assert kept == sorted(kept)  # in order
    notes = [line for line in lines if "lines dropped: nobody read the output" in line]
    dropped = sum(int(note.split()[0].strip("(")) for note in notes)
    assert len(kept) + dropped == 5000  # every line either shown or counted


def test_a_real_device_opens_at_the_given_speed_8n2() -> None:
    import os
    import termios
    import tty

    master, slave = os.openpty()  # its slave side stands in for /dev/ttyUSB0
    try:
        tty.setraw(slave)
        with SimServer(device=os.ttyname(slave), baudrate=19200):
            attrs = termios.tcgetattr(slave)
            assert attrs[4] == attrs[5] == termios.B19200
            assert attrs[2] & termios.CSTOPB and not attrs[2] & termios.PARENB
    finally:
        os.close(master)
        os.close(slave)


def test_log_lines_wait_for_the_port_line() -> None:
    from pi_agent.sim.cli import HeldLog

    shown: list[str] = []
    log = HeldLog(shown.append)
    log("scenario: sale 1.00 -> ...")  # the server's thread, already running
    assert shown == []
    shown.append("port: /dev/pts/9")
    log.release()
    log("sale: receipt 0002")
    assert shown == ["port: /dev/pts/9", "scenario: sale 1.00 -> ...", "sale: receipt 0002"]


def test_cli_prints_the_port_before_a_scenario_at_zero(tmp_path: Path) -> None:
    scenario = tmp_path / "s.txt"
    scenario.write_text("+0 sale 1.00 visa\n")
    for _ in range(5):  # the race it guards against is a matter of milliseconds
        done = sim_cli("--link", str(tmp_path / "t"), "--scenario", str(scenario),
                       "--exit-on-eof", stdin="state\n")  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith(f"port: {tmp_path / 't'}\n"), done.stdout
