"""shellcheck finds nothing in any shell script of the repository (found by name or by
shebang among the tracked files, so a new script cannot be forgotten)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHELLS = (b"/bash", b"/sh", b" bash", b" sh")


def shell_scripts() -> list[Path]:
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True,
                             check=True).stdout.decode().split("\0")  # fmt: skip
    found = []
    for name in filter(None, tracked):
        path = ROOT / name
        if not path.is_file():
            continue
        with path.open("rb") as f:
            first = f.readline(100)
        shebang = first.startswith(b"#!") and first.rstrip().endswith(SHELLS)
        if name.endswith(".sh") or shebang:
            found.append(path)
    return found


def test_the_repository_has_the_scripts_it_should() -> None:
    names = {p.relative_to(ROOT).as_posix() for p in shell_scripts()}
    assert {".ci/run", "firmware/install.sh"} <= names, names


def test_shellcheck_is_clean_on_every_script() -> None:
    tool = shutil.which("shellcheck")
    if tool is None:  # a failure, not a skip: CI installs it (.ci/run)
        pytest.fail("shellcheck is missing: apt-get install shellcheck")
    done = subprocess.run([tool, "--format=gcc", *map(str, shell_scripts())], cwd=ROOT,
                          capture_output=True, text=True, timeout=120, check=False)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
