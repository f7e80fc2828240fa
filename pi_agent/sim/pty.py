"""The serial line of both simulators: a pseudo-terminal standing in for a terminal's
serial port, or a real serial port (a null-modem cable to the guard).

The guard opens the pty's slave side as it would /dev/ttyUSB0; `link`, when given, is a
stable path (a symlink replaced atomically) that survives an unplug and replug.
"""

from __future__ import annotations

import contextlib
import os
import tty
from pathlib import Path
from typing import Any


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


def open_serial(device: str, baudrate: int, stopbits: int) -> Any:
    """A real serial port (or a pyserial URL): 8 data bits, no parity, `stopbits` (ZVT 2,
    POSLink 1), no flow control; reads never wait. Returns the pyserial object."""
    import serial  # only a real port needs pyserial loaded

    return serial.serial_for_url(
        device, baudrate=baudrate, bytesize=8, parity="N", stopbits=stopbits, timeout=0
    )
