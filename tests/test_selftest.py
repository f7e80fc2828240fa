"""`settle-guard selftest`: the parts on the bench through mock pins and luma's dummy OLED,
the terminal through the simulator on a real pty, the clock and RTC judged from given facts."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from gpiozero import Device
from gpiozero.pins.mock import MockFactory, MockPWMPin

from pi_agent import cli, config, selftest
from pi_agent.panel import screens
from pi_agent.panel.devices import Oled

from .test_cli import SimProcess, one_clean_line, run

PANEL = config.Config().panel
NOW = datetime(2026, 3, 14, 12, 0, 0, tzinfo=UTC)


@pytest.fixture
def sim(tmp_path: Path) -> Iterator[SimProcess]:
    process = SimProcess(tmp_path)
    yield process
    process.close()


@pytest.fixture
def mock_pins() -> Iterator[MockFactory]:
    previous = Device.pin_factory
    Device.pin_factory = MockFactory(pin_class=MockPWMPin)
    yield Device.pin_factory
    Device.pin_factory.reset()
    Device.pin_factory = previous


def write_config(tmp_path: Path, port: str) -> Path:
    cfg = config.replace(config.Config(), "terminal", port=port)
    cfg = config.replace(cfg, "store", path=str(tmp_path / "guard.db"))
    path = tmp_path / "config.toml"
    config.save(cfg, path)
    return path


def lines(stdout: str) -> list[str]:
    return stdout.strip().splitlines()


def test_every_part_passes_against_the_simulator(sim: SimProcess, tmp_path: Path) -> None:
    cfg = write_config(tmp_path, sim.url)
    done = run("selftest", "--config", str(cfg), "--poll", "--dwell", "0.05")
    out = lines(done.stdout)
    assert done.returncode == 0, done.stdout + done.stderr
    assert [line.split(":")[0] for line in out[:4]] == [
        "PASS light green", "PASS light amber", "PASS light red", "PASS buzzer",
    ]  # fmt: skip
    assert "GPIO22" in out[0] and "GPIO27" in out[1] and "GPIO17" in out[2]
    assert out[4].startswith("WARN oled: [panel] display is 'emulator'")
    assert f"PASS terminal port {sim.url}: opened" in out
    assert f"PASS terminal status on {sim.url}: ready (00)" in out
    assert any(line.startswith(("PASS clock", "WARN clock")) for line in out)
    assert any(line.startswith(("PASS rtc", "WARN rtc")) for line in out)
    assert out[-1].startswith("selftest: ") and out[-1].endswith(" 0 failed")
    assert done.stderr == ""


def test_a_missing_port_fails_with_the_port_exit_code(tmp_path: Path) -> None:
    missing = tmp_path / "ttyUSB7"
    done = run("selftest", "--port", str(missing), "--dwell", "0", "--config",
               str(write_config(tmp_path, "/dev/ttyUSB0")))  # fmt: skip
    assert done.returncode == cli.EXIT_PORT, done.stdout + done.stderr
    assert f"FAIL terminal port {missing}: No such file or directory" in lines(done.stdout)
    assert "PASS light green" in done.stdout  # the other parts are still tested
    assert lines(done.stdout)[-1].endswith(" 1 failed")


def test_a_silent_terminal_fails_the_poll(tmp_path: Path) -> None:
    sim = SimProcess(tmp_path, "--fault", "silent:60")
    try:
        done = run("selftest", "--port", sim.url, "--poll", "--timeout", "0.3", "--dwell", "0",
                   "--config", str(write_config(tmp_path, sim.url)))  # fmt: skip
    finally:
        sim.close()
    assert done.returncode == cli.EXIT_NO_ANSWER, done.stdout + done.stderr
    assert f"PASS terminal port {sim.url}: opened" in done.stdout
    failed = [line for line in lines(done.stdout) if line.startswith("FAIL")]
    assert len(failed) == 1 and failed[0].startswith(f"FAIL terminal status on {sim.url}: ")


def test_json_lists_every_check(sim: SimProcess, tmp_path: Path) -> None:
    cfg = write_config(tmp_path, sim.url)
    done = run("selftest", "--config", str(cfg), "--dwell", "0", "--json")
    data = json.loads(done.stdout)
    assert done.returncode == 0 and data["exit"] == 0
    checks = {row["check"]: row["result"] for row in data["checks"]}
    assert checks["light red"] == "PASS" and checks[f"terminal port {sim.url}"] == "PASS"
    assert f"terminal status on {sim.url}" not in checks  # only with --poll


def test_an_invalid_config_is_one_line_and_exit_7(tmp_path: Path) -> None:
    bad = tmp_path / "config.toml"
    bad.write_text('[schedule]\ncutoff = "25:00"\n')
    os.chmod(bad, 0o600)
    done = run("selftest", "--config", str(bad))
    assert done.returncode == cli.EXIT_CONFIG
    assert "cutoff" in one_clean_line(done.stderr) and done.stdout == ""


def test_a_bad_dwell_is_refused() -> None:
    done = run("selftest", "--dwell", "120")
    assert done.returncode == cli.EXIT_USAGE
    assert "--dwell 120" in one_clean_line(done.stderr)


def test_the_pins_really_go_high_and_end_low(
    mock_pins: MockFactory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = write_config(tmp_path, "/dev/ttyUSB9-no-such-port")  # a device name, absent
    code = cli.main(["selftest", "--config", str(cfg), "--dwell", "0.02"])
    out = capsys.readouterr().out
    assert code == cli.EXIT_PORT, out
    for pin in (PANEL.light_green, PANEL.light_amber, PANEL.light_red, PANEL.buzzer_pin):
        states = [s.state for s in mock_pins.pin(pin).states]
        assert 1 in states, f"GPIO{pin} never went high: {states}"
        assert mock_pins.pin(pin).state == 0, f"GPIO{pin} left on"
    assert "(mock pins: no GPIO here)" in out


def test_a_pin_that_cannot_be_claimed_fails_that_light_only(mock_pins: MockFactory) -> None:
    from gpiozero import LED

    held = LED(PANEL.light_amber)  # as the running service would hold it
    try:
        results = list(selftest.check_lights(PANEL, 0))
    finally:
        held.close()
    assert [r.verdict for r in results] == ["PASS", "FAIL", "PASS"]
    assert results[1].line.startswith(f"FAIL light amber: GPIO{PANEL.light_amber}: ")
    assert "systemctl stop settle-guard" in results[1].line


def test_the_oled_shows_the_test_pattern() -> None:
    oled = Oled.create("emulator")
    result = selftest.check_oled(PANEL, 0, oled)
    assert oled.image.tobytes() == screens.test_pattern().tobytes()
    assert result.verdict == "WARN"  # the emulator is nothing a technician can see


def test_an_oled_that_is_not_there_fails() -> None:
    panel = config.replace(config.Config(), "panel", display="ssd1306", i2c_bus=9).panel
    result = selftest.check_oled(panel, 0)
    assert result.verdict == "FAIL"
    assert result.line.startswith("FAIL oled: ssd1306 at 0x3C on I2C bus 9: ")


@pytest.mark.parametrize(
    ("now", "synced", "verdict", "words"),
    [
        (NOW, True, "PASS", "synchronised, 2026-03-14 12:00:00 UTC"),
        (NOW, False, "WARN", "not synchronised yet"),
        (NOW, None, "WARN", "cannot tell"),
        (datetime(1970, 1, 1, tzinfo=UTC), True, "FAIL", "the year is implausible"),
        (datetime(2101, 1, 1, tzinfo=UTC), None, "FAIL", "the year is implausible"),
    ],
)
def test_clock(now: datetime, synced: bool | None, verdict: str, words: str) -> None:
    result = selftest.check_clock(now, synced)
    assert (result.verdict, result.check) == (verdict, "clock")
    assert words in result.detail


def fake_rtc(tmp_path: Path, when: datetime | None, *, epoch: bool = True) -> tuple[Path, Path]:
    rtc = tmp_path / "rtc0"
    rtc.mkdir()
    (rtc / "name").write_text("rtc-ds1307 1-0068\n")
    if when is not None:
        if epoch:
            (rtc / "since_epoch").write_text(f"{int(when.timestamp())}\n")
        (rtc / "date").write_text(when.strftime("%Y-%m-%d\n"))
        (rtc / "time").write_text(when.strftime("%H:%M:%S\n"))
    device = tmp_path / "dev-rtc0"
    device.touch()
    return rtc, device


@pytest.mark.parametrize("epoch", [True, False])
def test_rtc_close_to_the_system_clock_passes(tmp_path: Path, epoch: bool) -> None:
    rtc, dev = fake_rtc(tmp_path, NOW - timedelta(seconds=1), epoch=epoch)
    result = selftest.check_rtc(NOW, True, True, rtc, dev)
    assert result.line == "PASS rtc rtc0 (rtc-ds1307 1-0068): -1 s from the system clock"


def test_rtc_far_off_fails_when_required_and_warns_otherwise(tmp_path: Path) -> None:
    rtc, dev = fake_rtc(tmp_path, NOW - timedelta(hours=1))
    required = selftest.check_rtc(NOW, True, True, rtc, dev)
    assert required.verdict == "FAIL"
    assert "3600 s behind the system clock: set it with `hwclock --systohc`" in required.detail
    assert selftest.check_rtc(NOW, True, False, rtc, dev).verdict == "WARN"
    unsure = selftest.check_rtc(NOW, False, True, rtc, dev)
    assert unsure.verdict == "WARN" and "cannot tell which is right" in unsure.detail


def test_no_rtc_warns_unless_required(tmp_path: Path) -> None:
    absent, dev = tmp_path / "rtc0", tmp_path / "dev-rtc0"
    warn = selftest.check_rtc(NOW, True, False, absent, dev)
    assert warn.verdict == "WARN" and warn.detail.startswith(f"no RTC ({dev} missing)")
    assert selftest.check_rtc(NOW, True, True, absent, dev).verdict == "FAIL"


def test_an_unreadable_rtc_says_why(tmp_path: Path) -> None:
    rtc, dev = fake_rtc(tmp_path, None)
    result = selftest.check_rtc(NOW, True, True, rtc, dev)
    assert result.verdict == "FAIL"
    assert result.detail.startswith("cannot be read: No such file or directory")
