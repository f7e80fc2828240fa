"""The log on an uneventful day: a few dozen lines, not one per tick.

The guard is built as `settle-guard run` builds it (service.Guard, its scheduler, the push
thread) against the simulator, on a fast clock: a whole trading day passes in half a
minute, with the scheduler's jobs firing as often as the clock allows. Every line logged
at the service's level (info) is counted.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from pi_agent import config, service
from pi_agent.clock import FastClock
from pi_agent.service import Guard
from pi_agent.sim import SimServer, SimTerminal

BERLIN = ZoneInfo("Europe/Berlin")
SPEED = 2880.0  # a day in 30 s; the 5 s tick then comes every ~10 virtual minutes
MAX_LINES_A_DAY = 40


class Day:
    def __init__(self, tmp_path: Path, start: datetime) -> None:
        self.clock = FastClock(start, SPEED)
        shop_time = lambda: self.clock.now().astimezone(BERLIN).replace(tzinfo=None)  # noqa: E731
        self.sim = SimServer(SimTerminal(clock=shop_time), link=tmp_path / "term").start()
        cfg = config.replace(config.Config(), "terminal", port=self.sim.url)
        cfg = config.replace(cfg, "store", path=str(tmp_path / "guard.db"))
        cfg = config.replace(cfg, "web", enabled=False)
        cfg = config.replace(cfg, "settle", mode="at", at="22:30", last_call="22:50")
        self.guard = Guard.build(cfg, self.clock, SPEED)
        self.guard.agent.start()

    def until(self, local: datetime, limit: float = 120.0) -> None:
        """Let the guard run until the shop's clock shows `local` (a bound in real seconds
        only so that a hung guard fails instead of waiting for ever)."""
        deadline = time.monotonic() + limit
        while self.clock.now() < local:
            assert time.monotonic() < deadline, "the guard's clock did not get there"
            time.sleep(0.05)

    def close(self) -> None:
        self.guard.stop()
        self.sim.stop()


@pytest.fixture
def log(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    caplog.set_level(logging.INFO)  # the service's level (`--log-level info`)
    yield caplog


def said(records: list[logging.LogRecord], text: str) -> list[str]:
    return [r.getMessage() for r in records if text in r.getMessage()]


def test_an_uneventful_day_fits_on_a_screen(tmp_path: Path, log: pytest.LogCaptureFixture) -> None:
    day = Day(tmp_path, datetime(2026, 11, 18, 6, 0, tzinfo=BERLIN))  # a Wednesday
    try:
        for hour, amount in ((10, 1250), (13, 4590), (18, 899)):
            day.until(datetime(2026, 11, 18, hour, 0, tzinfo=BERLIN))
            day.sim.terminal.add_sale(amount, "girocard")
        day.until(datetime(2026, 11, 19, 6, 0, tzinfo=BERLIN))
    finally:
        day.close()
    lines = log.records
    text = [f"{r.levelname} {r.name}: {r.getMessage()}" for r in lines]
    assert len(lines) <= MAX_LINES_A_DAY, "\n".join(text)
    assert not [r for r in lines if r.name.startswith("apscheduler")], "\n".join(text)
    assert len(said(lines, "settlement 1 (")) == 1, "\n".join(text)  # the day's settlement
    assert said(lines, "level warn: open-batch") and said(lines, "level ok: settled")


def test_a_terminal_gone_is_said_once(tmp_path: Path, log: pytest.LogCaptureFixture) -> None:
    day = Day(tmp_path, datetime(2026, 11, 18, 10, 0, tzinfo=BERLIN))
    try:
        day.sim.terminal.add_sale(1250, "girocard")
        day.until(datetime(2026, 11, 18, 10, 30, tzinfo=BERLIN))
        day.sim.stop()  # unplugged: every poll from now on fails
        day.until(datetime(2026, 11, 18, 16, 0, tzinfo=BERLIN))
    finally:
        day.close()
    lines = log.records
    text = "\n".join(f"{r.levelname} {r.name}: {r.getMessage()}" for r in lines)
    polls_failed = said(lines, "poll failed")
    assert 1 <= len(polls_failed) <= 2, text  # once per cause (lost, then not connected)
    assert said(lines, "alarm: terminal-dead"), text
    assert said(lines, "level fault: terminal-dead"), text
    assert len(lines) <= MAX_LINES_A_DAY, text


def test_the_journal_format_stays(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """journald adds its own time and unit; technicians grep for `LEVEL logger: text`."""
    seen: dict[str, object] = {}
    monkeypatch.setattr(logging, "basicConfig", lambda **kw: seen.update(kw))
    (tmp_path / "bad.toml").write_text("[poll]\ninterval_seconds = 1\n")
    assert service.run_service(str(tmp_path / "bad.toml")) == 7
    assert seen["format"] == "%(asctime)s %(levelname)s %(name)s: %(message)s"
    assert seen["level"] == logging.INFO
