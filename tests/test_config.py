"""Configuration: defaults from the pin map, per-field errors, atomic 0600 saves, the CLI."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import tomllib
from datetime import time
from pathlib import Path

import pytest

from pi_agent import config
from pi_agent.config import Config, ConfigError, from_dict, load, save
from pi_agent.notify import holiday_data


def errors_of(data: dict) -> list[str]:
    with pytest.raises(ConfigError) as info:
        from_dict(data)
    return [str(e) for e in info.value.errors]


def test_defaults_round_trip_and_come_from_the_pin_map() -> None:
    cfg = Config()
    assert from_dict(tomllib.loads(config.dumps(cfg))) == cfg
    pins = config.pin_map()
    assert cfg.panel.button_pin == pins["button"]["pin"]
    assert cfg.panel.light_red == pins["light"]["red"]
    assert cfg.panel.oled_address == pins["i2c"]["oled_address"] == 0x3C
    assert cfg.schedule.cutoff == time(23, 0)
    assert (cfg.warnings.amber_minutes, cfg.warnings.red_minutes) == (60, 15)


def test_the_pin_map_has_no_pin_twice_and_nothing_on_i2c_or_uart() -> None:
    pins = config.pin_map()
    used = [pins["light"][c] for c in ("green", "amber", "red")]
    used += [pins["buzzer"]["pin"], pins["button"]["pin"]]
    bus = {pins["i2c"]["sda"], pins["i2c"]["scl"], pins["uart"]["tx"], pins["uart"]["rx"]}
    assert len(set(used)) == len(used)
    assert not set(used) & bus


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"settle": {"at": "25:00"}}, "[settle] at: '25:00' is not a time HH:MM"),
        (
            {"schedule": {"timezone": "Mars/Base"}},
            "[schedule] timezone: 'Mars/Base' is not a time zone",
        ),
        ({"schedule": {"trading_days": ["mon", "funday"]}}, "'funday' is not a weekday"),
        ({"terminal": {"password": "12"}}, "[terminal] password: must be 6 digits"),
        ({"terminal": {"currency": "XYZ"}}, "[terminal] currency: unknown currency"),
        ({"terminal": {"baudrate": 9601}}, "[terminal] baudrate: 9601 is not a supported speed"),
        (
            {"warnings": {"amber_minutes": "60"}},
            "[warnings] amber_minutes: '60' is not a whole number",
        ),
        ({"warnings": {"red_minutes": 0}}, "[warnings] red_minutes: 0 is outside 1-720"),
        ({"poll": {"every": 5}}, "[poll] every: unknown setting"),
        ({"extra": {}}, "[extra]: unknown section"),
        ({"panel": {"display": "lcd"}}, "[panel] display: 'lcd' is not one of"),
        ({"panel": {"locale": "fr"}}, "[panel] locale: 'fr' is not one of en, zh-CN"),
    ],
)
def test_each_bad_field_is_named(data: dict, expected: str) -> None:
    assert any(expected in e for e in errors_of(data)), errors_of(data)


def test_all_field_errors_are_reported_at_once() -> None:
    found = errors_of({"settle": {"at": "x", "last_call": "y"}, "poll": {"interval_seconds": 1}})
    assert len(found) == 3


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"warnings": {"amber_minutes": 10, "red_minutes": 20}}, "red_minutes: must be less than"),
        (
            {"settle": {"mode": "at", "at": "22:55", "last_call": "22:50"}},
            "last_call: must come after",
        ),
        ({"settle": {"mode": "ask", "at": "22:30", "last_call": "22:58"}}, "at least 5 minutes"),
        ({"settle": {"mode": "at", "at": "09:00"}}, "within the 12 hours before the cutoff"),
        ({"panel": {"button_pin": 17}}, "[panel] button_pin: GPIO17 is already light_red"),
        ({"panel": {"buzzer_pin": 14}}, "GPIO14 is taken by I2C or the UART"),
        ({"panel": {"quiet_start": "22:00"}}, "quiet hours need both"),
        ({"schedule": {"opening": "09:00", "closing": "09:00"}}, "closing: must differ"),
    ],
)
def test_cross_field_rules(data: dict, expected: str) -> None:
    assert any(expected in e for e in errors_of(data)), errors_of(data)


def test_a_2am_cutoff_orders_settle_times_across_midnight() -> None:
    early = {"mode": "at", "at": "01:00", "last_call": "01:40"}
    cfg = from_dict({"schedule": {"cutoff": "02:00"}, "settle": early})
    assert cfg.settle.at == time(1, 0)
    late = {"mode": "at", "at": "01:50", "last_call": "23:30"}
    assert "must come after" in " ".join(
        errors_of({"schedule": {"cutoff": "02:00"}, "settle": late})
    )


def test_save_is_atomic_private_and_never_writes_a_bad_config(tmp_path: Path) -> None:
    path = tmp_path / "state" / "config.toml"
    cfg = config.replace(Config(), "terminal", port="/dev/ttyUSB1", password="123456")
    save(cfg, path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load(path) == cfg
    assert os.listdir(path.parent) == ["config.toml"]  # no temp file left behind
    with pytest.raises(ConfigError):
        config.replace(cfg, "terminal", password="12")
    assert load(path).terminal.password == "123456"


def test_load_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load(tmp_path / "missing.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("[terminal\nport=")
    with pytest.raises(ConfigError, match=r"broken\.toml: file: not valid TOML"):
        load(broken)


def test_masked_dump_never_shows_the_password() -> None:
    cfg = config.replace(Config(), "terminal", password="987654")
    assert "987654" not in config.dumps(cfg, mask_secrets=True)
    assert "987654" in config.dumps(cfg)


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pi_agent", "config", *args],
                          capture_output=True, text=True, timeout=30, check=False)  # fmt: skip


def test_config_cli_init_check_show(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    assert run_cli("init", "--config", str(path)).returncode == 0
    assert run_cli("init", "--config", str(path)).returncode == 7  # never overwrites
    ok = run_cli("check", "--config", str(path))
    assert ok.returncode == 0 and "configuration OK" in ok.stdout
    shown = run_cli("show", "--config", str(path))
    assert 'password = "******"' in shown.stdout
    path.write_text(path.read_text().replace('cutoff = "23:00"', 'cutoff = "23:99"'))
    bad = run_cli("check", "--config", str(path))
    assert bad.returncode == 7
    assert bad.stderr.strip() == (
        f"settle-guard: {path}: [schedule] cutoff: '23:99' is not a time HH:MM (00:00-23:59)"
    )


@pytest.mark.parametrize(
    ("listen", "expected"),
    [
        ("0.0.0.0", "is not an address HOST:PORT"),
        ("0.0.0.0:0", "is not an address HOST:PORT"),
        ("0.0.0.0:65536", "is not an address HOST:PORT"),
        ("shop:8080", "is not an address HOST:PORT"),
        ("300.1.1.1:80", "is not an address HOST:PORT"),
        (8080, "is not an address HOST:PORT"),
    ],
)
def test_the_web_page_listens_on_a_valid_address(listen: object, expected: str) -> None:
    assert any(f"[web] listen: {listen!r} {expected}" in e for e in errors_of(
        {"web": {"listen": listen}}
    )), errors_of({"web": {"listen": listen}})  # fmt: skip


def test_the_web_section_defaults_to_the_lan_on_8080_and_round_trips(tmp_path: Path) -> None:
    cfg = Config()
    assert cfg.web.enabled and cfg.web.listen == "0.0.0.0:8080"
    changed = config.replace(cfg, "web", listen="127.0.0.1:9090", enabled=False)
    save(changed, tmp_path / "c.toml")
    assert load(tmp_path / "c.toml").web == changed.web
    assert "[web] enabled: 'yes' is not true or false" in errors_of({"web": {"enabled": "yes"}})


@pytest.mark.parametrize(
    ("calendar", "expected"),
    [
        ({"country": "XX"}, "[calendar] country: 'XX' is not known to the holidays package"),
        ({"country": "DE", "subdivision": "ZZ"}, "[calendar] subdivision: 'ZZ' is not a "
                                                 "subdivision of DE"),
        ({"country": "DE", "financial": "XQQQ"}, "[calendar] financial: 'XQQQ' is not a "
                                                 "financial calendar"),
    ],
)  # fmt: skip
def test_calendar_codes_are_checked_without_a_helper_process(
    calendar: dict, expected: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The guard's start must not wait seconds for the holidays package or a process."""

    def no_process(*_: object, **__: object) -> None:
        raise AssertionError("validating a config started a process")

    monkeypatch.setattr(subprocess, "run", no_process)
    monkeypatch.setattr(subprocess, "Popen", no_process)
    monkeypatch.setitem(sys.modules, "holidays", None)  # importing the package fails
    holiday_data.supported.cache_clear()
    [error] = errors_of({"calendar": calendar})
    assert error.startswith(expected), error
    assert from_dict({"calendar": {"country": "CN"}}).calendar.country == "CN"
    assert from_dict({"calendar": {"country": "de", "subdivision": "by",
                                   "financial": "xecb"}}).calendar.subdivision == "BY"  # fmt: skip


def test_config_check_names_a_bad_country_code(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    save(Config(), path)
    path.write_text(path.read_text().replace('country = "DE"', 'country = "QQ"'))
    bad = run_cli("check", "--config", str(path))
    assert bad.returncode == 7
    assert bad.stderr.strip() == (
        f"settle-guard: {path}: [calendar] country: 'QQ' is not known to the holidays package "
        "(e.g. CN, DE, US)"
    )
