"""POSLink as the guard sees it: its `[terminal]` settings, capabilities, texts, driver,
simulator. Named by the protocol registry (terminal/registry.py); the driver and the
simulator are imported only when asked for."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from ..config import port_url
from ..terminal.registry import Capability, Protocol, Setting, Use, baudrate
from .codes import describe

if TYPE_CHECKING:
    from ..config import Config
    from ..terminal.base import Terminal

BAUD_RATES = (9600, 19200, 38400, 57600, 115200)
_VERSION = re.compile(r"[0-9]{1,2}\.[0-9]{1,3}")
_HTTP = re.compile(r"http://([A-Za-z0-9.-]{1,253}):([0-9]{1,5})/?")


def _baud(value: Any) -> int:
    if value not in BAUD_RATES or isinstance(value, bool):
        raise ValueError(f"{value!r} is not a speed PAX terminals offer (9600 usually)")
    return value


def _version(value: Any) -> str:
    if not isinstance(value, str) or not _VERSION.fullmatch(value):
        raise ValueError(f"{str(value)[:20]!r} is not a POSLink version like 1.28")
    return value


def check_port(value: Any) -> str:
    """A serial device, socket://HOST:PORT (PAX: 10009) or http://HOST:PORT: nothing else,
    no path, query or user (the guard never follows a redirect either)."""
    if isinstance(value, str) and value.startswith("http://"):
        match = _HTTP.fullmatch(value)
        if not match or not 1 <= int(match[2]) <= 65535:
            shown = repr(value if len(value) <= 80 else value[:77] + "...")
            raise ValueError(f"{shown} is not http://HOST:PORT (no path, no options)")
        return value.rstrip("/")
    try:
        return port_url(value)
    except ValueError as exc:
        raise ValueError(f"{exc}, nor http://HOST:PORT") from None


def result_text(code: int, lang: str) -> str:
    return describe(f"{code:06d}", lang)


def open_poslink(cfg: Config, *, use: Use = Use.SERVICE, timeout: float | None = None) -> Terminal:
    from ..terminal.base import PortUnavailable
    from ..terminal.link import LineSettings
    from ..terminal.poslink import PosLinkTerminal

    term = cfg.terminal
    options: dict[str, Any] = {
        "currency": cfg.currency_code,
        "version": term.version,
        "line": LineSettings(baudrate=term.baudrate, bytesize=8, parity="N", stopbits=1),
    }
    if use is Use.COMMAND:  # one call: no handshake, one try to open the port
        options.update(handshake=False, backoff=(60.0, 60.0))
    elif use is Use.BENCH:  # the simulator answers at once
        options.update(timeouts=(2.0, 20.0), backoff=(0.1, 0.5))
    if timeout is not None:
        options["timeouts"] = (timeout, max(timeout, 120.0))
    terminal = PosLinkTerminal(term.port, **options)
    link = terminal.link
    if (
        use is Use.COMMAND
        and link is not None
        and (not link.wait_settled(10.0) or not terminal.connected)
    ):
        error = link.last_error or f"cannot open port {term.port}"
        terminal.close()
        raise PortUnavailable(error)
    return terminal


def simulator(*, clock: Any = None, **options: Any) -> Any:
    """A simulated PAX terminal on a pty (or `tcp=True` / `http=True`, see PosLinkServer)."""
    from ..sim.poslink_server import PosLinkServer
    from ..sim.poslink_terminal import PosLinkTerminal

    terminal = PosLinkTerminal(clock=clock) if clock else PosLinkTerminal()
    options.setdefault("pty", True)
    return PosLinkServer(terminal, **options)


PROTOCOL = Protocol(
    name="poslink",
    title="PAX POSLink (BroadPOS terminals, US and others)",
    settings=(
        baudrate(_baud),
        Setting(
            "version",
            "1.28",
            _version,
            label=("POSLink version", "POSLink 版本"),
            help=(
                "The POSLink protocol version the terminal speaks, e.g. 1.28",
                "终端使用的 POSLink 协议版本，如 1.28",
            ),
        ),
    ),
    capabilities=frozenset(
        {
            Capability.STATUS,
            Capability.TOTALS,
            Capability.BATCH_DETAIL,
            Capability.SETTLE,
            Capability.FORCE_SETTLE,
            Capability.UPLOAD_OFFLINE,
            Capability.REBOOT,
        }
    ),
    open=open_poslink,
    result_text=result_text,
    simulator=simulator,
    check_port=check_port,
    format_code=lambda code: f"{code:06d}",
)
