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
    assert cfg.warnings.auth_age_hours == 24


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
        ({"warnings": {"auth_age_hours": 4}}, "[warnings] auth_age_hours: 4 is outside 8-168"),
        (
            {"warnings": {"auth_age_hours": "24h"}},
            "[warnings] auth_age_hours: '24h' is not a whole number",
        ),
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


@pytest.mark.parametrize("days", [["1979-05-27T07:32:00Z"], ["1979-05-27T07:32:00Z", "1979-05-28"]])
def test_a_date_time_is_not_a_holiday(days: list[str]) -> None:
    """TOML has date-times besides dates; one in the list is a field error, never a date
    that cannot be written back (nor one that cannot be sorted beside the others)."""
    text = "[calendar]\nextra_holidays = [" + ", ".join(days) + "]\n"
    [error] = errors_of(tomllib.loads(text))
    assert error.startswith("[calendar] extra_holidays: "), error


@pytest.mark.parametrize(
    "port",
    [
        "spy:///dev/ttyUSB0?file=/tmp/x",
        "rfc2217://203.0.113.9:2217",
        "socket://203.0.113.9:20007?logging=debug",
        "socket://203.0.113.9",
        "loop://",
        "/etc/shadow",
        "/dev/../etc/shadow",
        "/tmp/not-a-device",
        "ttyUSB0",
        "socket://203.0.113.9:２０００７",  # full-width digits: pyserial cannot open them
        "socket://203.0.113.9:²",
        "socket://[::1]:1",
        "SOCKET://203.0.113.9:20007",
        "socket://%32%30%33.0.113.9:20007",
    ],
)
def test_the_terminal_port_is_a_device_or_a_tcp_address(port: str) -> None:
    [error] = errors_of({"terminal": {"port": port}})
    assert error.startswith("[terminal] port: "), error
    assert "invalid literal" not in error, error  # said for the person, not by int()


def test_allowed_terminal_ports(tmp_path: Path) -> None:
    for port in ("/dev/ttyUSB0", "/dev/serial/by-id/usb-FTDI-if00", "socket://192.168.1.20:20007",
                 "socket://terminal.local:20007"):  # fmt: skip
        assert from_dict({"terminal": {"port": port}}).terminal.port == port
    link = tmp_path / "term"
    link.symlink_to("/dev/null")  # a link to a character device under /dev/ (as the simulator's)
    assert from_dict({"terminal": {"port": str(link)}}).terminal.port == str(link)


@pytest.mark.parametrize("case", ["long", "parent-is-a-file"])
def test_check_refuses_a_store_path_that_run_cannot_use(tmp_path: Path, case: str) -> None:
    path = tmp_path / "config.toml"
    (tmp_path / "a-file").write_text("")
    store = {"long": "/var/lib/" + "x" * 250_000 + "/guard.db",
             "parent-is-a-file": str(tmp_path / "a-file" / "guard.db")}[case]  # fmt: skip
    path.write_text(config.dumps(config.Config()).replace(
        "/var/lib/settle-guard/guard.db", store))  # fmt: skip
    for command in (["config", "check"], ["run"]):
        done = subprocess.run([sys.executable, "-m", "pi_agent", *command, "--config", str(path)],
                              capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
        assert done.returncode == 7, (command, done.stderr[-500:])
        assert "[store] path: " in done.stderr and "Traceback" not in done.stderr, command
        assert len(done.stderr) < 2000  # the field is named, the 250 KB are not repeated


def interrupted_save(path: Path, killed_at: str) -> list[Path]:
    """Save in a child process that dies (as under `kill -9`) when it reaches `killed_at`
    (an `os` function), with umask 0; return what it left next to the config."""
    code = (
        "import os, sys\n"
        "from pi_agent import config\n"
        "os.umask(0)\n"
        f"setattr(os, {killed_at!r}, lambda *a, **k: os._exit(9))\n"
        "cfg = config.replace(config.Config(), 'terminal', password='246810')\n"
        "config.save(cfg, sys.argv[1])\n"
    )
    child = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True,
                           text=True, timeout=60, check=False)  # fmt: skip
    assert child.returncode == 9, child.stderr
    return [p for p in path.parent.iterdir() if p.name != path.name]


@pytest.mark.parametrize("killed_at", ["fdopen", "replace"])
def test_a_killed_save_leaves_only_a_private_temp_file_and_load_removes_it(
    tmp_path: Path, killed_at: str
) -> None:
    path = tmp_path / "config.toml"
    save(Config(), path)
    left = interrupted_save(path, killed_at)
    assert len(left) == 1 and left[0].name.startswith(".config.toml.")
    # Private from its creation on: even killed before anything else touched it.
    assert stat.S_IMODE(left[0].stat().st_mode) == 0o600
    if killed_at == "replace":
        assert "246810" in left[0].read_text()  # the reason it must not stay
    assert load(path) == Config()
    assert sorted(os.listdir(tmp_path)) == ["config.toml"]


def test_start_up_removes_every_interrupted_save_and_nothing_else(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    save(Config(), path)
    ours = [".config.toml.abcd1234", ".config.toml.x_9yz012", ".config.toml.00000000"]
    theirs = [".config.toml.swp", "config.toml.bak", ".config.toml.abcd12345",
              ".other.toml.abcd1234", "guard.db", ".config.toml.ABCD1234"]  # fmt: skip
    for name in ours + theirs:
        (tmp_path / name).write_text('password = "123456"\n')
    assert config.load_or_report(path) == Config()  # what `run` and the service call
    assert sorted(os.listdir(tmp_path)) == sorted(["config.toml", *theirs])


def test_start_up_leaves_the_temp_file_of_a_save_in_progress(tmp_path: Path) -> None:
    import fcntl

    path = tmp_path / "config.toml"
    save(Config(), path)
    busy = tmp_path / ".config.toml.inflight"
    busy.write_text("")
    dir_fd = os.open(tmp_path, os.O_RDONLY)
    try:
        fcntl.flock(dir_fd, fcntl.LOCK_EX)  # what a save holds from its temp file to the rename
        assert load(path) == Config()
        assert busy.exists()
    finally:
        os.close(dir_fd)
    load(path)
    assert not busy.exists()


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


def test_sign_in_at_opening_needs_a_protocol_that_can_sign_in() -> None:
    """Refused rather than ignored: a technician who ticks it expects a signed-in terminal
    every morning, and a setting that silently does nothing would be a false promise."""
    assert from_dict({"settle": {"sign_in_at_opening": True}}).settle.sign_in_at_opening
    assert errors_of(
        {"terminal": {"protocol": "poslink"}, "settle": {"sign_in_at_opening": True}}
    ) == ["[settle] sign_in_at_opening: poslink terminals have no sign-in command"]
    assert not from_dict({"terminal": {"protocol": "poslink"}}).settle.sign_in_at_opening


def test_payout_count_is_business_or_calendar() -> None:
    assert Config().calendar.payout_count == "business"
    assert from_dict({"calendar": {"payout_count": "calendar"}}).calendar.payout_count == "calendar"
    [error] = errors_of({"calendar": {"payout_count": "weekdays"}})
    assert error.startswith("[calendar] payout_count")
