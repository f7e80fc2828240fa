"""Clock objects: aware UTC time, a fast demo clock, a fake clock with jumps."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from pi_agent.clock import FakeClock, FastClock, SystemClock, kernel_clock_synchronised

START = datetime(2026, 11, 22, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def test_system_clock_is_aware_utc() -> None:
    now = SystemClock().now()
    assert now.tzinfo is UTC
    assert abs((now - datetime.now(UTC)).total_seconds()) < 1


def test_kernel_sync_state_is_a_bool_on_linux() -> None:
    assert kernel_clock_synchronised() in (True, False)


def test_fast_clock_runs_faster_than_real_time() -> None:
    clock = FastClock(START, speed=600)
    time.sleep(0.1)
    elapsed = clock.now() - START
    assert timedelta(seconds=50) <= elapsed <= timedelta(seconds=600)
    assert clock.now().tzinfo is UTC


def test_fake_clock_advances_and_jumps() -> None:
    clock = FakeClock(START)
    clock.advance(timedelta(minutes=5))
    assert clock.now() == START + timedelta(minutes=5)
    assert clock.monotonic() == 300
    clock.jump(timedelta(hours=-1))  # an NTP step back: wall time moves, monotonic does not
    assert clock.now() == START - timedelta(minutes=55)
    assert clock.monotonic() == 300
    with pytest.raises(ValueError, match="only advances"):
        clock.advance(-1)
    clock.set_synchronised(False)
    assert clock.synchronised() is False


@pytest.mark.parametrize(
    "make", [lambda: FakeClock(datetime(2026, 1, 1)), lambda: FastClock(datetime(2026, 1, 1), 2)]
)
def test_naive_start_times_are_refused(make) -> None:
    with pytest.raises(ValueError, match="aware"):
        make()
