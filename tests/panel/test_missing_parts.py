"""A guard whose OLED or pins are not there still guards: it says so once, and a page
with no password still gets its setup code somewhere (the journal, for root only)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from gpiozero import Device
from gpiozero.pins.mock import MockFactory, MockPWMPin

import pi_agent.panel as panel_module
from pi_agent import config
from pi_agent.panel import Panel
from pi_agent.panel.devices import Oled

NO_BUS = 9  # /dev/i2c-9: no such bus where these tests run (checked below)


@pytest.fixture(autouse=True)
def pins():
    if Path(f"/dev/i2c-{NO_BUS}").exists():
        pytest.fail(f"/dev/i2c-{NO_BUS} exists here: choose another NO_BUS")
    previous = Device.pin_factory
    Device.pin_factory = MockFactory(pin_class=MockPWMPin)
    yield
    Device.pin_factory.reset()
    Device.pin_factory = previous


def without_oled() -> config.Config:
    cfg = config.Config()
    return config.replace(cfg, "panel", display="ssd1306", i2c_bus=NO_BUS)


def test_an_oled_that_is_not_there_is_an_error_for_the_selftest_and_a_stand_in_for_the_guard(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with pytest.raises(Exception):  # noqa: B017 - luma's own DeviceNotFoundError
        Oled.create("ssd1306", NO_BUS)
    with caplog.at_level(logging.ERROR, "settle-guard.panel"):
        oled = Oled.create("ssd1306", NO_BUS, fallback=True)
    assert f"I2C bus {NO_BUS}" in oled.missing
    assert "guarding without it" in caplog.text


def test_without_an_oled_the_setup_code_goes_to_the_log_and_with_one_never(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING):
        panel = Panel.from_config(without_oled(), on_ack=lambda: None, on_settle=lambda: None)
        panel.show_setup("482913", "192.168.1.20", "8080")
        panel.show_setup(None)  # the password is set: nothing more to say
        panel.close()
    assert caplog.text.count("setup code is 482913") == 1
    caplog.clear()
    with caplog.at_level(logging.DEBUG):
        panel = Panel.from_config(config.Config(), on_ack=lambda: None, on_settle=lambda: None)
        panel.show_setup("482913", "192.168.1.20", "8080")
        panel.close()
    assert "482913" not in caplog.text


class Unplugged:
    def __init__(self) -> None:
        self.fail = True
        self.shown = 0

    def display(self, image: object) -> None:
        if self.fail:
            raise OSError(121, "Remote I/O error")
        self.shown += 1


def test_an_oled_unplugged_mid_run_is_said_once_and_its_return_too(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from PIL import Image

    device = Unplugged()
    oled = Oled(device)
    frame = Image.new("1", (128, 64))
    with caplog.at_level(logging.INFO, "settle-guard.panel"):
        for _ in range(5):
            oled.show(frame)
        device.fail = False
        oled.show(frame)
        oled.show(frame)
    assert caplog.text.count("did not take the picture") == 1
    assert caplog.text.count("OLED shows again") == 1
    assert device.shown == 2


def test_pins_that_cannot_be_driven_become_mock_pins_said_once(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Debian's own kernel on a Pi: a GPIO chip, but no /dev/gpiomem for gpiozero."""
    chip = tmp_path / "gpiochip0"
    chip.touch()
    monkeypatch.setattr(panel_module, "GPIO_CHIP", chip)
    monkeypatch.delenv("GPIOZERO_PIN_FACTORY", raising=False)

    def no_factory() -> None:
        raise RuntimeError("unable to open /dev/gpiomem or /dev/mem")

    monkeypatch.setattr(Device, "_default_pin_factory", staticmethod(no_factory))
    Device.pin_factory = None
    with caplog.at_level(logging.ERROR, "settle-guard.panel"):
        panel = Panel.from_config(config.Config(), on_ack=lambda: None, on_settle=lambda: None)
    assert isinstance(Device.pin_factory, MockFactory)
    assert caplog.text.count("cannot be driven here") == 1
    assert "/dev/gpiomem" in caplog.text
    panel.close()
