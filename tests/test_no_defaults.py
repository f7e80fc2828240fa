"""Greps of the repository for what must not creep back: a default password anywhere
(the image, SSH, the page), and tests or benchmarks that listen on the LAN (0.0.0.0, the
default web.listen) or on the fixed port 8080 instead of a loopback port the OS gave."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve()


def tracked(*under: str) -> list[Path]:
    names = subprocess.run(["git", "ls-files", "-z", *under], cwd=ROOT, capture_output=True,
                           check=True).stdout.decode().split("\0")  # fmt: skip
    files = [ROOT / n for n in names if n and (ROOT / n).is_file()]
    return [f for f in files if f.resolve() != HERE]


def lines(files: list[Path], pattern: str) -> list[str]:
    found = []
    for f in files:
        try:
            text = f.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        for n, line in enumerate(text.splitlines(), 1):
            if re.search(pattern, line):
                found.append(f"{f.relative_to(ROOT)}:{n}: {line.strip()}")
    return found


def test_no_default_password_anywhere() -> None:
    assert lines(tracked(), r"\b(FIRST_USER_PASS|WPA_PASSWORD|ROOT_PASS\w*)=\S") == []
    assert lines(tracked(), r"(?i)change-?me|\w+:\w+['\"]?\s*\|\s*(sudo )?chpasswd") == []
    readme = (ROOT / "firmware/pi-gen/README.md").read_text()
    enabled = re.findall(r"^ENABLE_SSH=1", readme, re.M)
    assert not enabled or re.search(r"^PUBKEY_ONLY_SSH=1", readme, re.M)  # keys only
    assert "PUBKEY_SSH_FIRST_USER=" in readme  # the key-based example is shown


def test_tests_and_benchmarks_listen_on_loopback_ports_the_os_gave() -> None:
    code = [f for f in tracked("tests", "bench") if f.suffix == ".py"]
    parser_tests = ROOT / "tests/test_config.py"  # parses addresses, never binds them
    others = [f for f in code if f != parser_tests]
    assert lines(others, r"0\.0\.0\.0") == []
    assert lines(others, r"(bind|listen|WebServer|create_server)\b.*\b8080\b") == []
    # A config saved for a `run` process sets its own page address (or turns the page
    # off): the default is 0.0.0.0:8080, every interface on a fixed port.
    for f in code:
        text = f.read_text()
        if "config.save(" in text and re.search(r"""["']run["']""", text):
            assert re.search(r""""web",\s*(listen|enabled)=""", text), f.relative_to(ROOT)
