"""The protocol registry: each protocol's fields, capabilities and texts, and what the guard
offers for a protocol that lacks a capability (a fake one, registered here)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from pi_agent import config
from pi_agent.guard.assessment import ActionKind
from pi_agent.guard.policy import assess
from pi_agent.terminal import registry
from pi_agent.terminal.models import Condition, TerminalStatus
from pi_agent.terminal.registry import Capability, Protocol, Setting

from ..guard.test_policy import at, obs

NO_CLOCK = registry.ALL_CAPABILITIES - {Capability.SET_CLOCK, Capability.DIAGNOSIS}


def _no_terminal(cfg: config.Config, **_: object) -> object:
    raise AssertionError("the fake protocol opens no terminal")


def _station(value: object) -> str:
    if not isinstance(value, str) or not value.isdigit():
        raise ValueError("must be a station number")
    return value


FAKE = Protocol(
    name="fake",
    title="a protocol without a clock",
    settings=(Setting("station", "1", _station),),
    capabilities=NO_CLOCK,
    open=_no_terminal,
    result_text=lambda code, lang: f"{lang}:{code}",
)


@pytest.fixture
def fake() -> Iterator[Protocol]:
    registry.register("fake", FAKE)
    try:
        yield FAKE
    finally:
        registry.unregister("fake")


def fake_config(base: config.Config | None = None) -> config.Config:
    return config.replace(base or config.Config(), "terminal", protocol="fake")


def test_zvt_is_registered_with_its_fields_capabilities_and_texts() -> None:
    zvt = registry.get("zvt")
    assert [s.name for s in zvt.settings] == ["password", "baudrate", "register"]
    assert Capability.SET_CLOCK in zvt.capabilities
    assert Capability.REBOOT not in zvt.capabilities
    assert registry.result_text("zvt", 0x77, "en") == "end-of-day batch not possible"
    assert registry.result_text("zvt", 0x77, "zh-CN") == "无法结算批次"


def test_a_config_written_before_the_registry_loads_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[terminal]\nport = "/dev/ttyUSB0"\nprotocol = "zvt"\npassword = "123456"\n'
                    'baudrate = 19200\ncurrency = "CNY"\nregister = false\n')  # fmt: skip
    term = config.load(path).terminal
    assert (term.password, term.baudrate, term.register, term.currency) == (
        "123456", 19200, False, "CNY")  # fmt: skip
    assert config.load(path) == config.from_dict(config.tomllib.loads(config.dumps(
        config.load(path))))  # fmt: skip


def test_protocol_fields_are_checked_by_the_protocol_with_per_field_messages() -> None:
    with pytest.raises(config.ConfigError) as err:
        config.from_dict({"terminal": {"password": "12", "baudrate": 1234, "station": "9"}})
    messages = {e.field: e.message for e in err.value.errors}
    assert messages["[terminal] password"] == "must be 6 digits, as set in the terminal"
    assert "not a supported speed" in messages["[terminal] baudrate"]
    assert messages["[terminal] station"] == "unknown setting for zvt"
    with pytest.raises(config.ConfigError, match=r"\[terminal\] protocol: 'pax' is not one of"):
        config.from_dict({"terminal": {"protocol": "pax", "password": "12"}})


def test_switching_protocol_drops_the_old_protocols_fields(fake: Protocol) -> None:
    cfg = fake_config(config.replace(config.Config(), "terminal", password="123456"))
    assert cfg.terminal.protocol == "fake" and cfg.terminal.station == "1"
    assert "password" not in [name for name, _, _ in config.section_fields(cfg, "terminal")]
    with pytest.raises(AttributeError):
        _ = cfg.terminal.password


def test_policy_never_sets_the_clock_of_a_terminal_that_cannot(fake: Protocol) -> None:
    drift = obs(terminal_drift=timedelta(minutes=5))
    wrong = obs(status=TerminalStatus(0x62, Condition.DATE_TIME_INCORRECT, "x"))
    zvt = config.replace(config.Config(), "warnings", set_terminal_clock=True)
    for seen in (drift, wrong):
        assert assess(at(12), zvt, seen).wants(ActionKind.SET_TERMINAL_CLOCK)
        assert not assess(at(12), fake_config(zvt), seen).wants(ActionKind.SET_TERMINAL_CLOCK)


def test_policy_signs_in_only_the_way_the_protocol_can(fake: Protocol) -> None:
    needs_init = obs(status=TerminalStatus(0x51, Condition.NEEDS_INITIALISATION, "x"))
    needs_diag = obs(status=TerminalStatus(0xC2, Condition.NEEDS_DIAGNOSIS, "x"))
    assert assess(at(10), fake_config(), needs_init).wants(ActionKind.SIGN_IN)
    assert not assess(at(10), fake_config(), needs_diag).wants(ActionKind.SIGN_IN)
    assert assess(at(10), config.Config(), needs_diag).wants(ActionKind.SIGN_IN)


def test_registering_imports_no_protocol_and_run_help_loads_none() -> None:
    script = """
import contextlib, io, sys
from pi_agent import cli
from pi_agent.terminal import registry
registry.register("later", "pi_agent.nowhere:PROTOCOL")
with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()):
    cli.main(["run", "--help"])
protocols = ("pi_agent.zvt", "pi_agent.terminal.zvt", "pi_agent.poslink", "pi_agent.sim")
print(sorted(m for m in sys.modules if m.startswith(protocols)))
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=60, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
