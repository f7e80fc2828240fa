"""firmware/constraints.txt pins exactly what the appliance installs: every package that
SettleGuard needs on a 64-bit Pi (Python 3.11), and nothing else; and the tests here run
the very versions that ship."""

from __future__ import annotations

import re
from importlib import metadata
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

CONSTRAINTS = Path(__file__).resolve().parents[1] / "firmware" / "constraints.txt"
# A Raspberry Pi's 64-bit Debian or Raspberry Pi OS, bookworm
PI = {**default_environment(), "platform_machine": "aarch64", "sys_platform": "linux",
      "platform_system": "Linux", "python_version": "3.11", "python_full_version": "3.11.2",
      "implementation_name": "cpython", "platform_python_implementation": "CPython"}  # fmt: skip


def pins() -> dict[str, str]:
    found = {}
    for raw in CONSTRAINTS.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if line:
            m = re.fullmatch(r"([A-Za-z0-9._-]+)==([^\s;]+)", line)
            assert m, f"constraints.txt: {line!r} is not NAME==VERSION"
            found[canonicalize_name(m.group(1))] = m.group(2)
    return found


def needed(name: str = "settle-guard", extras: frozenset[str] = frozenset()) -> set[str]:
    """The installed requirement closure of `name` as pip resolves it on a Pi."""
    seen: set[str] = set()
    todo = [(name, extras)]
    while todo:
        current, wanted = todo.pop()
        for text in metadata.requires(current) or []:
            req = Requirement(text)
            env_sets = [{**PI, "extra": e} for e in wanted] or [{**PI, "extra": ""}]
            if req.marker is not None and not any(req.marker.evaluate(e) for e in env_sets):
                continue
            dep = canonicalize_name(req.name)
            if dep not in seen:
                seen.add(dep)
                todo.append((dep, frozenset(req.extras)))
    return seen


def test_every_package_the_appliance_needs_is_pinned_and_nothing_else() -> None:
    pinned, closure = set(pins()), needed()
    assert closure - pinned == set(), "needed but not pinned"
    assert pinned - closure == set(), "pinned but not needed"


def test_the_tests_run_the_versions_that_ship() -> None:
    installed = {name: metadata.version(name) for name in pins()}
    assert installed == pins()
