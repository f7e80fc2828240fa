"""Helpers for the agent's short-lived helper processes (push worker, holiday tables).

They exist to keep big libraries out of the long-running agent's memory. Each is this
package run with `python -m`, so it works from a source tree as well as from an install.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any


def module_command(module: str) -> tuple[list[str], dict[str, str]]:
    """The argv and environment that run `python -m module` with this package importable."""
    root = str(Path(__file__).resolve().parent.parent)
    path = os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH", "")) if p)
    return [sys.executable, "-m", module], dict(os.environ, PYTHONPATH=path)


def call_module(module: str, request: dict[str, Any], timeout: float) -> dict[str, Any]:
    """One JSON request on stdin, one JSON answer on stdout; OSError on any failure."""
    argv, env = module_command(module)
    try:
        done = subprocess.run(argv, input=json.dumps(request), capture_output=True, text=True,
                              env=env, timeout=timeout, check=False)  # fmt: skip
    except subprocess.TimeoutExpired:
        raise OSError(f"{module} gave no answer within {timeout:.0f} s") from None
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise OSError(f"{module} exited with code {done.returncode}: {last}")
    try:
        answer = json.loads(done.stdout)
    except ValueError:
        raise OSError(f"{module} answered something that is not JSON") from None
    if not isinstance(answer, dict):
        raise OSError(f"{module} answered something that is not a JSON object")
    return answer
