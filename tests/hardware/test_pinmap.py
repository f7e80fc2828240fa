"""The pin map is the one source: the default config reads it, no pin is used twice or
taken from I2C/the UART, and the committed wiring diagram is what it generates."""

from __future__ import annotations

import copy
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from pi_agent import config

HARDWARE = Path(__file__).resolve().parents[2] / "hardware"
spec = importlib.util.spec_from_file_location("wiring", HARDWARE / "wiring.py")
assert spec and spec.loader
wiring = importlib.util.module_from_spec(spec)
sys.modules["wiring"] = wiring  # its dataclasses look themselves up there
spec.loader.exec_module(wiring)

PINS = wiring.load()


def test_the_package_ships_the_same_file() -> None:
    assert config.pin_map() == PINS


def test_the_default_config_reads_the_pin_map() -> None:
    panel = config.Config().panel
    assert (panel.light_green, panel.light_amber, panel.light_red) == (
        PINS["light"]["green"], PINS["light"]["amber"], PINS["light"]["red"])  # fmt: skip
    assert panel.buzzer_pin == PINS["buzzer"]["pin"]
    assert panel.button_pin == PINS["button"]["pin"]
    assert (panel.i2c_bus, panel.oled_address) == (PINS["i2c"]["bus"], PINS["i2c"]["oled_address"])


def test_the_committed_pin_map_has_no_problem() -> None:
    assert wiring.check(PINS) == []
    used = wiring.used_pins(PINS)
    assert len(set(used.values())) == len(used)
    bus = {2, 3, 14, 15}
    assert not bus & {v for k, v in used.items() if not k.startswith(("I2C", "UART"))}


@pytest.mark.parametrize(
    ("section", "key", "gpio", "says"),
    [
        ("light", "green", 27, "light amber: GPIO27 is already used by light green"),
        ("buzzer", "pin", 2, "GPIO2 is already used by I2C SDA"),
        ("button", "pin", 14, "GPIO14 is already used by UART TX"),
        ("light", "red", 28, "GPIO28 is not a free GPIO"),
        ("light", "red", 0, "GPIO0 is not a free GPIO"),
        ("uart", "tx", 4, "UART TX: must be GPIO14"),
    ],
)
def test_a_bad_pin_map_is_caught(section: str, key: str, gpio: int, says: str) -> None:
    bad = copy.deepcopy(PINS)
    bad[section][key] = gpio
    assert any(says in p for p in wiring.check(bad)), wiring.check(bad)


def test_the_config_refuses_what_the_pin_map_would() -> None:
    with pytest.raises(config.ConfigError, match="GPIO3 is taken by I2C or the UART"):
        config.from_dict({"panel": {"button_pin": 3}})


def test_every_header_pin_is_mapped_once() -> None:
    pins = list(wiring.POWER) + list(wiring.GROUND) + list(wiring.GPIO_AT)
    assert sorted(pins) == list(range(1, 41))
    assert sorted(wiring.GPIO_AT.values()) == list(range(28))


def test_the_committed_diagram_is_what_the_pin_map_gives() -> None:
    for path, text in wiring.outputs(PINS).items():
        assert path.read_text(encoding="utf-8") == text, f"{path.name}: run hardware/wiring.py"
    done = subprocess.run([sys.executable, str(HARDWARE / "wiring.py"), "--check"],
                          capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr


def test_the_diagram_shows_every_part_down_to_the_db9() -> None:
    drawing = wiring.svg(PINS)
    for part in ("OLED + RTC", "MAX3232", "light", "buzzer", "button", "DB9 (DTE)"):
        assert f'font-weight="bold">{part}<' in drawing, part
    for db9 in ("pin 2 RxD", "pin 3 TxD", "pin 5 GND"):
        assert f">{db9}</text>" in drawing, db9


def test_a_moved_pin_moves_the_drawing() -> None:
    moved = copy.deepcopy(PINS)
    moved["button"]["pin"] = 24
    assert "| 18 | GPIO24 | button |" in wiring.markdown(moved)
    assert wiring.svg(moved) != (HARDWARE / "wiring.svg").read_text(encoding="utf-8")
