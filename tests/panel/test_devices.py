"""Light, buzzer and button through gpiozero's mock pins; the OLED through luma's dummy."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from gpiozero import Device
from gpiozero.pins.mock import MockFactory, MockPWMPin

from pi_agent import config
from pi_agent.guard.assessment import Assessment, Level
from pi_agent.panel import Panel
from pi_agent.panel.devices import Alarm, Light, SettleConfirm

PINS = config.Config().panel


@pytest.fixture(autouse=True)
def mock_pins():
    previous = Device.pin_factory
    Device.pin_factory = MockFactory(pin_class=MockPWMPin)
    yield Device.pin_factory
    Device.pin_factory.reset()
    Device.pin_factory = previous


def pin(n: int):
    return Device.pin_factory.pin(n)


def toggles(n: int, seconds: float) -> int:
    seen, last, end = 0, pin(n).state, time.monotonic() + seconds
    while time.monotonic() < end:
        state = pin(n).state
        seen += state != last
        last = state
        time.sleep(0.005)
    return seen


def test_light_levels() -> None:
    light = Light(PINS.light_green, PINS.light_amber, PINS.light_red)
    light.show(Level.OK)
    assert (pin(PINS.light_green).state, pin(PINS.light_red).state) == (1, 0)
    light.show(Level.OVERDUE)
    assert (pin(PINS.light_green).state, pin(PINS.light_red).state) == (0, 1)
    light.show(Level.URGENT)
    assert toggles(PINS.light_red, 1.2) >= 3  # 0.25 s blink
    light.show(Level.WARN)
    assert toggles(PINS.light_amber, 2.5) >= 2 and pin(PINS.light_red).state == 0
    light.close()


def test_alarm_beeps_for_warn_and_respects_snooze_and_quiet_hours() -> None:
    alarm = Alarm(PINS.buzzer_pin, scale=0.01)  # pauses shortened for the test
    alarm.sound(Level.WARN, snoozed=False, quiet=False)
    assert toggles(PINS.buzzer_pin, 1.5) >= 2
    alarm.sound(Level.WARN, snoozed=True, quiet=False)
    assert alarm.state == "silent" and toggles(PINS.buzzer_pin, 0.5) == 0
    alarm.sound(Level.URGENT, snoozed=False, quiet=True)
    assert alarm.state == "silent"
    alarm.sound(Level.OVERDUE, snoozed=False, quiet=True)  # overdue sounds even at night
    assert alarm.state == "overdue" and toggles(PINS.buzzer_pin, 1.0) >= 2
    alarm.sound(Level.OK, snoozed=False, quiet=False)
    assert alarm.state == "silent" and pin(PINS.buzzer_pin).state == 0
    alarm.close()


def pitches(n: int, seconds: float) -> set[float]:
    seen, end = set(), time.monotonic() + seconds
    while time.monotonic() < end:
        if pin(n).state:
            seen.add(round(pin(n).frequency))
        time.sleep(0.005)
    return seen


def test_passive_buzzer_beeps_a_pitch_per_level() -> None:
    alarm = Alarm(PINS.buzzer_pin, scale=0.005, passive=True)
    alarm.sound(Level.WARN, snoozed=False, quiet=False)
    assert pitches(PINS.buzzer_pin, 1.0) == {880}
    assert toggles(PINS.buzzer_pin, 1.0) >= 2  # beeps, not a steady tone
    alarm.sound(Level.URGENT, snoozed=False, quiet=False)
    assert pitches(PINS.buzzer_pin, 0.6) == {1319}
    alarm.sound(Level.URGENT, snoozed=True, quiet=False)
    assert alarm.state == "silent" and toggles(PINS.buzzer_pin, 0.3) == 0
    assert pin(PINS.buzzer_pin).state == 0
    alarm.close()


def test_settle_confirm_window() -> None:
    c = SettleConfirm(window=10)
    assert c.short_press(0) == "ack"
    c.long_press(100)
    assert c.asking(105) and c.short_press(105) == "confirm"
    c.long_press(200)
    assert c.short_press(211) == "ack"


def test_panel_button_short_press_acks_and_hold_then_press_settles() -> None:
    cfg = config.Config()
    calls: list[str] = []
    panel = Panel.from_config(cfg, on_ack=lambda: calls.append("ack"),
                              on_settle=lambda: calls.append("settle"))  # fmt: skip
    panel.button.button.hold_time = 0.2
    now = datetime(2026, 11, 20, 12, tzinfo=UTC)
    panel.show(
        Assessment(now, now.date(), now, Level.OK, batch_count=1, batch_total=100), None, None
    )
    button = pin(cfg.panel.button_pin)
    button.drive_low()
    time.sleep(0.05)
    button.drive_high()
    time.sleep(0.05)
    assert calls == ["ack"]
    button.drive_low()
    time.sleep(0.4)  # held: the OLED asks "settle now?"
    button.drive_high()
    time.sleep(0.05)
    assert panel.button.confirm.asking(time.monotonic())
    assert "Settle now?" in str(panel.oled.image.tobytes()) or panel.oled.image.getbbox()
    button.drive_low()
    time.sleep(0.05)
    button.drive_high()
    time.sleep(0.05)
    assert calls == ["ack", "settle"]
    panel.close()


def test_the_panel_turns_the_pages_of_a_long_screen(monkeypatch: pytest.MonkeyPatch) -> None:
    """The screens are pure (a frame in, a page out); the panel turns the pages itself, also
    while a settlement keeps the agent from ticking, and stops when one page is enough."""
    import pi_agent.panel as panel_module

    monkeypatch.setattr(panel_module, "PAGE_SECONDS", 0.1)
    panel = Panel.from_config(config.Config(), on_ack=lambda: None, on_settle=lambda: None)
    now = datetime(2026, 11, 20, 21, 50, tzinfo=UTC)
    a = Assessment(now, now.date(), now, Level.OK, batch_count=3, batch_total=4500)
    panel.show(a, "terminal starts automatic end-of-day", None)  # two pages
    seen = set()
    end = time.monotonic() + 2
    while time.monotonic() < end and len(seen) < 2:
        seen.add(panel.image.tobytes())
        time.sleep(0.02)
    assert len(seen) == 2
    panel.show(a, None, None)  # one page: no more turning
    assert panel._turn is None
    panel.show(a, "terminal starts automatic end-of-day", None)
    panel.close()
    assert panel._turn is None or panel._turn.finished.is_set()
