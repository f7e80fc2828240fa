"""A pseudo-terminal standing in for a terminal's serial port, for both simulators.

The guard opens the slave side as it would /dev/ttyUSB0; `link`, when given, is a stable
path (a symlink replaced atomically) that survives an unplug and replug.
"""

from __future__ import annotations

import contextlib
import os
import tty
from pathlib import Path


def open_pty(link: Path | None) -> tuple[int, int, str]:
    """(master fd, slave fd, slave path) of a new raw pty, non-blocking on our side."""
    master, slave = os.openpty()
    tty.setraw(slave)  # no echo, no line editing: bytes pass as they are
    os.set_blocking(master, False)
    path = os.ttyname(slave)
    if link:
        tmp = link.with_name(link.name + ".new")
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        tmp.symlink_to(path)
        tmp.replace(link)
    return master, slave, path


def close_pty(master: int | None, slave: int | None, link: Path | None) -> None:
    """Unplug: the link goes first, so the guard sees the port vanish, then both ends."""
    if link is not None and master is not None:
        with contextlib.suppress(FileNotFoundError):
            link.unlink()
    for fd in (master, slave):
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)
