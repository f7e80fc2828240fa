"""ZVT as the guard sees it: its `[terminal]` settings, capabilities, texts, driver, simulator.

Named by the protocol registry (terminal/registry.py); the driver and the simulator are
imported only when asked for, so loading a config does not load them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..terminal.registry import Capability, Protocol, Setting, Use, baudrate
from .codes import result_text

if TYPE_CHECKING:
    from ..config import Config
    from ..terminal.base import Terminal

BAUD_RATES = (1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200)


def _password(value: Any) -> str:
    if not isinstance(value, str) or len(value) != 6 or not (value.isascii() and value.isdigit()):
        raise ValueError("must be 6 digits, as set in the terminal")
    return value


def _baud(value: Any) -> int:
    if value not in BAUD_RATES or isinstance(value, bool):
        raise ValueError(f"{value!r} is not a supported speed (9600 or 115200 usually)")
    return value


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{value!r} is not true or false")
    return value


def open_zvt(cfg: Config, *, use: Use = Use.SERVICE, timeout: float | None = None) -> Terminal:
    from ..terminal.base import PortUnavailable
    from ..terminal.link import LineSettings
    from ..terminal.zvt import ZvtTerminal
    from .timers import Timeouts

    term = cfg.terminal
    options: dict[str, Any] = {
        "password": term.password,
        "currency": cfg.currency_code,
        "line": LineSettings(baudrate=term.baudrate),
        "register_on_connect": term.register,
    }
    if use is Use.COMMAND:  # one call: no status handshake, no registration, one open
        options.update(handshake=False, register_on_connect=False, backoff=(60.0, 60.0))
    elif use is Use.BENCH:  # the simulator answers at once: fail and reconnect fast
        options.update(timeouts=Timeouts(t2=0.5, t3=1.0, t4=10.0), backoff=(0.1, 0.5))
    if timeout is not None:
        options["timeouts"] = Timeouts(t2=timeout, t3=timeout)
    terminal = ZvtTerminal(term.port, **options)
    if use is Use.COMMAND and (not terminal.link.wait_settled(10.0) or not terminal.connected):
        error = terminal.link.last_error or f"cannot open port {term.port}"
        terminal.close()
        raise PortUnavailable(error)
    return terminal


def simulator(*, clock: Any = None, **options: Any) -> Any:
    """A simulated ZVT terminal served on a pty (or `serial=`/`tcp=`, see SimServer)."""
    from ..sim import SimServer, SimTerminal

    return SimServer(SimTerminal(clock=clock) if clock else SimTerminal(), **options)


PROTOCOL = Protocol(
    name="zvt",
    title="ZVT (ECR interface, DE/EU terminals)",
    settings=(
        Setting(
            "password",
            "000000",
            _password,
            kind="secret",
            secret=True,
            label=("Terminal password", "终端密码"),
            help=(
                "The ECR password set on the terminal (6 digits, often 000000)",
                "终端上设置的收银机密码（6 位数字，通常为 000000）",
            ),
        ),
        baudrate(_baud),
        # Register at connect: progress messages come to us, receipts stay on the terminal.
        Setting(
            "register",
            True,
            _bool,
            kind="bool",
            label=("Register with the terminal", "向终端注册"),
            help=(
                "Receive progress messages; receipts stay on the terminal",
                "接收进度消息；凭条仍由终端打印",
            ),
        ),
    ),
    capabilities=frozenset(
        {
            Capability.STATUS,
            Capability.TOTALS,
            Capability.BATCH_DETAIL,
            Capability.SETTLE,
            Capability.SIGN_IN,
            Capability.DIAGNOSIS,
            Capability.SET_CLOCK,
        }
    ),
    open=open_zvt,
    result_text=result_text,
    simulator=simulator,
)
