"""`settle-guard selftest`: every part of the appliance once, one line per check.

For the technician at installation and after a repair: the three lights, the buzzer and
the OLED are driven so a person can see and hear them; the clock, the RTC and the
terminal's port are checked. Lines read `PASS light green: ...`, `WARN rtc: ...`,
`FAIL terminal port /dev/ttyUSB0: No such file or directory`. Warnings do not fail the
run; the exit code is that of the first failure (3 port, 4 no answer, 1 anything else).

The guard's service holds the pins and the port while it runs: stop it first.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .cli import (
    EXIT_FAILED,
    EXIT_NO_ANSWER,
    EXIT_OK,
    EXIT_PORT,
    EXIT_USAGE,
    CliError,
    _fail,
    _open,
    _resolve,
)

HELP = "test the lights, buzzer, OLED, clock, RTC and the terminal's port"
# A Pi without network or RTC boots at 1970 or at the last saved time; before this year the
# clock is certainly wrong (the software did not exist yet).
MIN_YEAR = 2025
MAX_YEAR = 2100
RTC_TOLERANCE_S = 5.0  # sysfs gives whole seconds; a running DS3231 stays within 1-2 s a week
RTC_SYSFS = Path("/sys/class/rtc/rtc0")
RTC_DEVICE = Path("/dev/rtc0")
SERVICE_HINT = "is the guard running? stop it first: systemctl stop settle-guard"


@dataclass(frozen=True)
class Result:
    verdict: str  # PASS, WARN or FAIL
    check: str
    detail: str = ""
    code: int = EXIT_FAILED  # the exit code when this check fails

    @property
    def line(self) -> str:
        return f"{self.verdict} {self.check}" + (f": {self.detail}" if self.detail else "")


def add_arguments(p: argparse.ArgumentParser, terminal_options: Callable[..., None]) -> None:
    terminal_options(p)
    p.add_argument("--poll", action="store_true", help="also ask the terminal for its status")
    p.add_argument(
        "--rtc",
        action="store_true",
        help="an RTC is fitted: a missing or wrong RTC fails (else it warns)",
    )
    p.add_argument(
        "--dwell",
        type=float,
        default=1.0,
        metavar="S",
        help="seconds each light and the test pattern stay on (default 1)",
    )


# -- the parts on the bench


def _hardware_error(exc: Exception) -> str:
    text = str(exc) or type(exc).__name__
    lowered = text.lower()
    if "in use" in lowered or "busy" in lowered:
        text += f" ({SERVICE_HINT})"
    return text


def check_lights(panel: Any, dwell: float, note: str = "") -> Iterator[Result]:
    """Each light on for `dwell` seconds; the pin is read back while it is on."""
    from gpiozero import LED

    for colour in ("green", "amber", "red"):
        pin = getattr(panel, f"light_{colour}")
        name = f"light {colour}"
        try:
            led = LED(pin)
        except Exception as exc:
            yield Result("FAIL", name, f"GPIO{pin}: {_hardware_error(exc)}")
            continue
        try:
            led.on()
            lit = led.is_lit
            time.sleep(dwell)
            led.off()
        finally:
            led.close()
        if lit:
            yield Result("PASS", name, f"GPIO{pin} high for {dwell:g} s{note}")
        else:
            yield Result("FAIL", name, f"GPIO{pin} did not go high")


def check_buzzer(panel: Any, note: str = "") -> Result:
    from .panel.devices import Alarm

    kind = "passive" if panel.passive_buzzer else "active"
    try:
        alarm = Alarm(panel.buzzer_pin, passive=panel.passive_buzzer)
    except Exception as exc:
        return Result("FAIL", "buzzer", f"GPIO{panel.buzzer_pin}: {_hardware_error(exc)}")
    try:
        alarm.test()
    finally:
        alarm.close()
    return Result("PASS", "buzzer", f"{kind}, GPIO{panel.buzzer_pin}, one beep{note}")


def check_oled(panel: Any, dwell: float, oled: Any = None) -> Result:
    """The test pattern on the OLED for `dwell` seconds (a checkerboard, a frame, TEST)."""
    from .panel.devices import Oled
    from .panel.screens import test_pattern

    where = f"{panel.display} at 0x{panel.oled_address:02X} on I2C bus {panel.i2c_bus}"
    try:
        oled = oled or Oled.create(panel.display, panel.i2c_bus, panel.oled_address)
        oled.show(test_pattern())
        time.sleep(dwell)
        oled.close()
    except Exception as exc:
        return Result("FAIL", "oled", f"{where}: {_hardware_error(exc)}")
    if panel.display == "emulator":
        return Result(
            "WARN",
            "oled",
            "[panel] display is 'emulator': the test pattern was drawn "
            "in memory only; set ssd1306, sh1106 or ssd1309 on the appliance",
        )
    return Result("PASS", "oled", f"test pattern on the {where}")


# -- time


def check_clock(now: datetime, synchronised: bool | None) -> Result:
    """The system clock: a plausible year, and synchronised (NTP, or the RTC at boot)."""
    shown = now.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    if not MIN_YEAR <= now.year < MAX_YEAR:
        return Result(
            "FAIL", "clock", f"{shown}: the year is implausible (no network time and no RTC?)"
        )
    if synchronised is None:
        return Result("WARN", "clock", f"{shown}: cannot tell whether it is synchronised")
    if not synchronised:
        return Result(
            "WARN",
            "clock",
            f"{shown}: not synchronised yet "
            "(no time server reached: check the network, or `chronyc sources`)",
        )
    return Result("PASS", "clock", f"synchronised, {shown}")


def read_rtc(rtc: Path) -> datetime:
    """The RTC's time from sysfs (kept in UTC, as the kernel's hctosys expects)."""
    epoch = rtc / "since_epoch"
    if epoch.exists():
        return datetime.fromtimestamp(int(epoch.read_text().strip()), UTC)
    day, clock = (rtc / "date").read_text().strip(), (rtc / "time").read_text().strip()
    return datetime.fromisoformat(f"{day}T{clock}").replace(tzinfo=UTC)


def check_rtc(now: datetime, synchronised: bool | None, required: bool,
              rtc: Path = RTC_SYSFS, device: Path = RTC_DEVICE) -> Result:  # fmt: skip
    """The RTC keeps the time over a power cut without network: present, readable, close."""
    missing = "FAIL" if required else "WARN"
    if not rtc.is_dir() or not device.exists():
        return Result(
            missing,
            "rtc",
            f"no RTC ({device} missing): without network the clock is "
            "wrong after a power cut; fit a DS3231 and install with --rtc",
        )
    name = (rtc / "name").read_text().strip() if (rtc / "name").exists() else rtc.name
    label = f"rtc {rtc.name} ({name})"
    try:
        rtc_time = read_rtc(rtc)
    except (OSError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        return Result(
            missing,
            label,
            f"cannot be read: {reason} (never set, or the battery "
            "is flat: set it with `hwclock --systohc` once the clock is synchronised)",
        )
    offset = (rtc_time - now).total_seconds()
    if abs(offset) <= RTC_TOLERANCE_S:
        return Result("PASS", label, f"{offset:+.0f} s from the system clock")
    side = "ahead of" if offset > 0 else "behind"
    detail = f"{abs(offset):.0f} s {side} the system clock"
    if not synchronised:
        return Result(
            "WARN", label, f"{detail}, which is not synchronised either: cannot tell which is right"
        )
    return Result(missing, label, f"{detail}: set it with `hwclock --systohc`")


# -- the terminal


def check_terminal(args: argparse.Namespace, poll: bool) -> Iterator[Result]:
    from .terminal import CommandRefused, NoAnswer, PortUnavailable, ProtocolFault

    port = args.port
    name = f"terminal port {port}"
    terminal = None
    try:
        terminal = _open(args)
    except CliError as exc:
        yield Result("FAIL", "terminal port", str(exc), EXIT_PORT)
        return
    except PortUnavailable as exc:
        reason = str(exc).removeprefix(f"cannot open port {port}: ")
        yield Result("FAIL", name, reason, EXIT_PORT)
        return
    try:
        yield Result("PASS", name, "opened")
        if not poll:
            return
        check = f"terminal status on {port}"
        try:
            status = terminal.status()
        except (NoAnswer, ProtocolFault) as exc:
            yield Result("FAIL", check, str(exc), EXIT_NO_ANSWER)
            return
        except CommandRefused as exc:
            yield Result("FAIL", check, str(exc), EXIT_FAILED)
            return
        text = f"{status.text} ({status.code_label})"
        if status.ready:
            yield Result("PASS", check, text)
        else:
            yield Result("WARN", check, f"answers but is not ready: {text}")
    finally:
        terminal.close()


# -- the command


def _config(args: argparse.Namespace) -> None:
    from . import config

    if args.config is None and config.DEFAULT_PATH.exists():
        args.config = str(config.DEFAULT_PATH)
    _resolve(args)
    if args.cfg is None:
        args.cfg = config.Config()
        args.port = args.port or args.cfg.terminal.port


def checks(args: argparse.Namespace) -> Iterator[Result]:
    from .clock import kernel_clock_synchronised
    from .panel import GPIO_CHIP, _choose_pin_factory

    panel = args.cfg.panel
    _choose_pin_factory(panel.button_pin)
    from gpiozero import Device
    from gpiozero.pins.mock import MockFactory

    note = ""
    if isinstance(Device.pin_factory, MockFactory):
        note = (" (mock pins: this system cannot drive its GPIO pins)" if GPIO_CHIP.exists()
                else " (mock pins: no GPIO here)")  # fmt: skip
    yield from check_lights(panel, args.dwell, note)
    yield check_buzzer(panel, note)
    yield check_oled(panel, args.dwell)
    now, synced = datetime.now(UTC), kernel_clock_synchronised()
    yield check_clock(now, synced)
    yield check_rtc(now, synced, args.rtc)
    yield from check_terminal(args, args.poll)


def run(args: argparse.Namespace) -> int:
    if not 0 <= args.dwell <= 60:
        return _fail(args, f"--dwell {args.dwell:g}: must be between 0 and 60 seconds", EXIT_USAGE)
    try:
        _config(args)
    except CliError as exc:
        return _fail(args, str(exc), exc.code)
    results = []
    for result in checks(args):
        results.append(result)
        if not args.json:
            print(result.line, flush=True)
    failed = [r for r in results if r.verdict == "FAIL"]
    code = failed[0].code if failed else EXIT_OK
    if args.json:
        rows = [{"check": r.check, "result": r.verdict, "detail": r.detail} for r in results]
        print(json.dumps({"checks": rows, "exit": code}, ensure_ascii=False, sort_keys=True))
    else:
        warned = sum(r.verdict == "WARN" for r in results)
        print(
            f"selftest: {len(results) - len(failed) - warned} passed, {warned} warned, "
            f"{len(failed)} failed",
            flush=True,
        )
    return code
