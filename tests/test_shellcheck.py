"""shellcheck finds nothing in any shell script of the repository (found by name or by
shebang among the tracked files, so a new script cannot be forgotten)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHELLS = {"sh", "bash", "dash"}


def is_shell(first_line: bytes) -> bool:
    """`#!/bin/sh`, `#!/bin/bash -eu`, `#!/usr/bin/env bash` are shell; python is not."""
    if not first_line.startswith(b"#!"):
        return False
    words = first_line[2:].decode(errors="replace").split()
    if words and words[0].endswith("/env"):
        words = [w for w in words[1:] if not w.startswith("-")]
    return bool(words) and words[0].rsplit("/", 1)[-1] in SHELLS


def shell_scripts() -> list[Path]:
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True,
                             check=True).stdout.decode().split("\0")  # fmt: skip
    found = []
    for name in filter(None, tracked):
        path = ROOT / name
        if not path.is_file():
            continue
        with path.open("rb") as f:
            first = f.readline(200)
        if name.endswith(".sh") or is_shell(first):
            found.append(path)
    return found


def shellcheck(paths: list[Path]) -> str:
    """shellcheck's findings, one per line; empty when there are none."""
    tool = shutil.which("shellcheck")
    if tool is None:  # a failure, not a skip: CI installs it (.ci/run)
        pytest.fail("shellcheck is missing: apt-get install shellcheck")
    done = subprocess.run([tool, "--format=gcc", *map(str, paths)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120, check=False)  # fmt: skip
    return (done.stdout + done.stderr).strip() or ("" if done.returncode == 0 else "exit")


@pytest.mark.parametrize(
    ("line", "shell"),
    [(b"#!/bin/sh\n", True), (b"#!/bin/bash -eu\n", True), (b"#!/usr/bin/env bash\n", True),
     (b"#!/usr/bin/env -S bash -e\n", True), (b"#!/usr/bin/env python3\n", False),
     (b"#!/bin/shx\n", False), (b"# bash\n", False)],
)  # fmt: skip
def test_shell_scripts_are_told_by_their_shebang(line: bytes, shell: bool) -> None:
    assert is_shell(line) == shell


def test_the_repository_has_the_scripts_it_should() -> None:
    names = {p.relative_to(ROOT).as_posix() for p in shell_scripts()}
    assert {".ci/run", "firmware/install.sh"} <= names, names


def test_shellcheck_is_clean_on_every_script() -> None:
    assert shellcheck(shell_scripts()) == ""


def test_shellcheck_would_report_a_finding(tmp_path: Path) -> None:
    script = tmp_path / "bad"
    script.write_text("#!/bin/sh\nrm -rf $1/cache\n")  # unquoted: SC2086
    assert "SC2086" in shellcheck([script])
