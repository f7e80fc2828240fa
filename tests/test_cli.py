"""The `settle-guard` command end to end: subprocesses against the simulator on a real pty."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

CLI = [sys.executable, "-m", "pi_agent"]


class SimProcess:
    """`settle-guard sim` in a subprocess, controlled through its stdin."""

    def __init__(self, tmp_path: Path, *extra: str) -> None:
        self.link = tmp_path / "terminal"
        self.proc = subprocess.Popen(
            [*CLI, "sim", "--pty", "--link", str(self.link), *extra],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        first = self.proc.stdout.readline()
        assert first.startswith("port: "), first + self.proc.stderr.read()
        self.url = first.removeprefix("port: ").strip()

    def control(self, line: str) -> str:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        return self.proc.stdout.readline().strip()

    def state(self) -> dict:
        while True:
            reply = self.control("state")
            if reply.startswith("{"):
                return json.loads(reply)

    def close(self) -> None:
        self.proc.terminate()
        self.proc.communicate(timeout=10)


@pytest.fixture
def sim(tmp_path: Path) -> Iterator[SimProcess]:
    process = SimProcess(tmp_path)
    yield process
    process.close()


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args], capture_output=True, text=True, timeout=60, input=stdin, check=False
    )


def one_clean_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    return lines[0]


def test_status_reads_a_ready_terminal(sim: SimProcess) -> None:
    done = run("status", "--port", sim.url)
    assert done.returncode == 0, done.stderr
    assert f"Terminal on {sim.url}: " in done.stdout
    assert "(00)" in done.stdout


def test_status_json_has_stable_keys(sim: SimProcess) -> None:
    done = run("status", "--port", sim.url, "--json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["ready"] is True
    assert data["code"] == "00"
    assert data["condition"] == "ready"
    assert set(data) >= {"port", "text", "software_version", "terminal_id"}


def test_status_in_chinese(sim: SimProcess) -> None:
    done = run("status", "--port", sim.url, "--lang", "zh")
    assert done.returncode == 0, done.stderr
    assert any("\u4e00" <= ch <= "\u9fff" for ch in done.stdout)


def test_totals_then_settle_empties_the_batch(sim: SimProcess) -> None:
    sim.control("sale 12.50 visa")
    sim.control("sale 7.30 girocard")
    state = sim.state()
    assert state["count"] == 2
    assert state["total"] == 1980

    totals = run("totals", "--port", sim.url)
    assert totals.returncode == 0, totals.stderr
    assert "2 transactions, 19.80 EUR" in totals.stdout
    assert "visa" in totals.stdout and "girocard" in totals.stdout

    settled = run("settle", "--port", sim.url, "--yes", "--json")
    assert settled.returncode == 0, settled.stderr
    result = json.loads(settled.stdout)
    assert result["outcome"] == "ok"
    assert result["totals"]["total"] == "19.80"
    assert result["totals"]["count"] == 2

    after = run("totals", "--port", sim.url, "--json")
    assert json.loads(after.stdout)["count"] == 0
    assert sim.state()["last_settlement"]["total"] == 1980


def test_settle_without_yes_needs_a_person(sim: SimProcess) -> None:
    sim.control("sale 5.00 visa")
    done = run("settle", "--port", sim.url)
    assert done.returncode == 6
    assert "confirmation" in one_clean_line(done.stderr)
    assert json.loads(run("totals", "--port", sim.url, "--json").stdout)["count"] == 1


def test_settle_failure_shows_the_terminal_result_code(tmp_path: Path) -> None:
    sim = SimProcess(tmp_path, "--fault", "host-down:9B")
    try:
        sim.control("sale 5.00 visa")
        done = run("settle", "--port", sim.url, "--yes")
        assert done.returncode == 1, done.stdout + done.stderr
        assert "Settlement failed" in done.stdout
        assert "(9B)" in done.stdout
    finally:
        sim.close()


def test_diagnosis_and_registration(sim: SimProcess) -> None:
    diag = run("diag", "--port", sim.url)
    assert diag.returncode == 0, diag.stderr
    assert "Diagnosis on" in diag.stdout and "ok" in diag.stdout
    reg = run("register", "--port", sim.url, "--json")
    assert reg.returncode == 0, reg.stderr
    assert json.loads(reg.stdout)["terminal_id"]


def test_missing_port_is_one_line_exit_3(tmp_path: Path) -> None:
    missing = tmp_path / "ttyUSB7"
    done = run("status", "--port", str(missing))
    assert done.returncode == 3
    line = one_clean_line(done.stderr)
    assert str(missing) in line and "No such file" in line


def test_json_errors_are_json_too(tmp_path: Path) -> None:
    done = run("totals", "--port", str(tmp_path / "nope"), "--json")
    assert done.returncode == 3
    assert json.loads(done.stdout)["exit"] == 3


def test_silent_terminal_is_exit_4(tmp_path: Path) -> None:
    sim = SimProcess(tmp_path, "--fault", "silent:60")
    try:
        done = run("status", "--port", sim.url, "--timeout", "0.3")
        assert done.returncode == 4
        line = one_clean_line(done.stderr)
        assert sim.url in line and "acknowledge" in line
    finally:
        sim.close()


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["status"], "no port given"),
        (["status", "--port", "x", "--password", "12"], "6 digits"),
        (["status", "--port", "x", "--timeout", "-1"], "between 0 and 600"),
        (["status", "--port", "x", "--baud", "1234"], "not a supported speed"),
        (["totals", "--port", "x", "--currency", "XYZ"], "unknown currency"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_bad_arguments_are_exit_2_without_traceback(args: list[str], needle: str) -> None:
    done = run(*args)
    assert done.returncode == 2
    assert needle in done.stderr
    assert "Traceback" not in done.stderr


HEAVY = ("pi_agent.sim", "pi_agent.notify.cli", "flask", "apprise", "holidays")


@pytest.mark.parametrize("argv", [[], ["run", "--help"], ["run"], ["status", "--port", "x"]])
def test_parsing_a_command_imports_only_what_it_runs(argv: list[str]) -> None:
    """The service starts on a Pi Zero: each module loaded before the first poll costs it."""
    script = f"""
import contextlib, io, sys
from pi_agent import cli
parser = cli.build_parser()
if {argv!r}:
    with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()):
        parser.parse_args({argv!r})
print(sorted(m for m in sys.modules if m.startswith({HEAVY!r})))
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=60, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_each_command_lists_the_help_line_its_module_gives() -> None:
    from pi_agent import cli

    parser = cli.build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    listed = {a.dest: a.help for a in commands._choices_actions}
    for name in cli.LAZY_HELP:
        sub = commands.choices[name]
        sub.format_help()  # loads the module that defines the command's arguments
        assert sub.description == listed[name], name
    assert "--dwell" in commands.choices["selftest"].format_help()
    assert "--fault" in commands.choices["sim"].format_help()
    assert "--date" in commands.choices["report"].format_help()


@pytest.mark.parametrize(
    ("argv", "needle"),
    [(["sim", "--help"], "--random-sales"), (["payouts", "--help"], "--fee-max"),
     (["selftest", "--help"], "--dwell")],
)  # fmt: skip
def test_lazily_filled_commands_still_show_their_options(argv: list[str], needle: str) -> None:
    done = run(*argv)
    assert done.returncode == 0, done.stderr
    assert needle in done.stdout
