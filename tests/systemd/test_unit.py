"""The service unit passes systemd's own checks: `verify` without a single warning line
(unknown keys only warn), `security --offline` at exposure <= 2.0; the sysusers and
tmpfiles snippets create the user, groups and state directory in a scratch root."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

SYSTEMD = Path(__file__).resolve().parents[2] / "systemd"
UNIT = SYSTEMD / "settle-guard.service"
EXEC = "/opt/settle-guard/venv/bin/settle-guard"
MAX_EXPOSURE = 2.0


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:  # a failure, not a skip: CI installs systemd (.ci/run)
        pytest.fail(f"{name} is missing: apt-get install systemd")
    return path


def verify(unit_text: str, tmp_path: Path) -> list[str]:
    """Every line `systemd-analyze verify` prints for the unit.

    verify also checks that ExecStart= is an executable, and the venv exists only on an
    installed guard, so the copy checked here points at a stand-in script; nothing else
    in the unit is changed."""
    stand_in = tmp_path / "settle-guard"
    stand_in.write_text("#!/bin/sh\n")
    stand_in.chmod(0o755)
    assert EXEC in unit_text
    unit = tmp_path / "settle-guard.service"
    unit.write_text(unit_text.replace(EXEC, str(stand_in)))
    done = subprocess.run([tool("systemd-analyze"), "verify", str(unit)], capture_output=True,
                          text=True, timeout=60, check=False)  # fmt: skip
    lines = (done.stdout + done.stderr).splitlines()
    return [line for line in lines if line.strip()] + ([] if done.returncode == 0 else ["exit"])


def exposure(unit: Path) -> float:
    done = subprocess.run(
        [tool("systemd-analyze"), "security", "--offline=true", "--no-pager", str(unit)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    found = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", done.stdout)
    assert found, done.stdout + done.stderr
    return float(found.group(1))


def test_verify_prints_nothing(tmp_path: Path) -> None:
    assert verify(UNIT.read_text(), tmp_path) == []


def test_verify_would_catch_a_misspelt_key(tmp_path: Path) -> None:
    typo = UNIT.read_text().replace("ProtectSystem=strict", "ProtectSytem=strict")
    lines = verify(typo, tmp_path)
    assert any("ProtectSytem" in line for line in lines), lines


def test_exposure_is_at_most_2(tmp_path: Path) -> None:
    assert exposure(UNIT) <= MAX_EXPOSURE


def test_the_exposure_check_can_fail(tmp_path: Path) -> None:
    bare = tmp_path / "bare.service"
    bare.write_text(f"[Service]\nType=notify\nExecStart={EXEC}\n")
    assert exposure(bare) > MAX_EXPOSURE


def test_the_unit_keeps_what_the_guard_needs() -> None:
    text = UNIT.read_text()
    for line in ("Type=notify", "User=settle-guard", "StateDirectory=settle-guard",
                 "SupplementaryGroups=dialout gpio i2c", "Restart=always", "DevicePolicy=closed",
                 "DeviceAllow=char-gpiochip rw", "DeviceAllow=char-i2c rw",
                 "DeviceAllow=char-ttyUSB rw", "DeviceAllow=char-ttyAMA rw",
                 "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6"):  # fmt: skip
        assert line in text.splitlines(), line
    watchdog = re.search(r"^WatchdogSec=(\d+)s$", text, re.M)
    assert watchdog and int(watchdog.group(1)) >= 3 * 5  # the agent pings every 5 s tick
    assert "--config /var/lib/settle-guard/config.toml" in text


def test_sysusers_and_tmpfiles_make_the_user_groups_and_state_dir(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    (root / "etc" / "passwd").write_text("root:x:0:0:root:/root:/bin/sh\n")
    (root / "etc" / "group").write_text("root:x:0:\ndialout:x:20:\n")
    for kind in ("sysusers", "tmpfiles"):
        (root / "usr/lib" / f"{kind}.d").mkdir(parents=True)
        shutil.copy(
            SYSTEMD / f"settle-guard.{kind}", root / "usr/lib" / f"{kind}.d/settle-guard.conf"
        )
    subprocess.run([tool("systemd-sysusers"), f"--root={root}"], check=True, capture_output=True)
    passwd = (root / "etc/passwd").read_text()
    groups = {line.split(":")[0]: line.split(":")[3]
              for line in (root / "etc/group").read_text().splitlines()}  # fmt: skip
    user = next(line.split(":") for line in passwd.splitlines() if line.startswith("settle-guard:"))
    assert user[5:] == ["/var/lib/settle-guard", "/usr/sbin/nologin"]
    for group in ("dialout", "gpio", "i2c"):
        assert "settle-guard" in groups[group].split(","), group
    subprocess.run([tool("systemd-tmpfiles"), f"--root={root}", "--create"], check=True,
                   capture_output=True)  # fmt: skip
    state = root / "var/lib/settle-guard"
    assert state.is_dir() and state.stat().st_mode & 0o777 == 0o700
    assert state.stat().st_uid == int(user[2])


def test_a_rejected_configuration_is_not_restarted_in_a_loop() -> None:
    from pi_agent.cli import EXIT_CONFIG

    prevent = re.search(r"^RestartPreventExitStatus=(.*)$", UNIT.read_text(), re.M)
    assert prevent is not None and str(EXIT_CONFIG) in prevent.group(1).split()
