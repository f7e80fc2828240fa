"""The terminal protocols the guard speaks, each described once by its own package.

A protocol package hands the guard one `Protocol`: how to open its driver from the config,
its own `[terminal]` settings with their checks, what its terminals can do
(`Capability`), its result-code texts and its simulator. `PROTOCOLS` below names where
each description lives, as a dotted path: registering imports nothing, so a command that
never talks to a terminal (`run --help`, the page's static files) loads no protocol. The
description is imported the first time the config, the policy or a driver asks for it.

Adding a protocol: write its package (codec, driver, `PROTOCOL`) and add its line here.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..config import Config
    from .base import Terminal

# name -> "module:attribute" of its `Protocol`. The one line a new protocol adds.
PROTOCOLS: dict[str, str] = {
    "zvt": "pi_agent.zvt.protocol:PROTOCOL",
    "poslink": "pi_agent.poslink.protocol:PROTOCOL",
}


class Capability(Enum):
    """What a protocol lets the guard do with a terminal, in the guard's own words."""

    STATUS = "status"
    TOTALS = "totals"  # read the open batch without closing it
    BATCH_DETAIL = "batch-detail"  # per-card-type (or per-payment) detail of the open batch
    SETTLE = "settle"  # end-of-day
    FORCE_SETTLE = "force-settle"  # close a batch the host will not reconcile
    UPLOAD_OFFLINE = "upload-offline"  # send stored offline payments to the host
    SIGN_IN = "sign-in"  # initialise with the host
    DIAGNOSIS = "diagnosis"
    SET_CLOCK = "set-clock"
    REBOOT = "reboot"


ALL_CAPABILITIES = frozenset(Capability)


class Use(Enum):
    """Who opens the terminal: drivers pick their timeouts and reconnection from it."""

    SERVICE = "service"  # the guard: connects, registers, reconnects for good
    COMMAND = "command"  # one command-line call: no handshake, one try to open the port
    BENCH = "bench"  # against the built-in simulator on this machine: short timeouts


@dataclass(frozen=True)
class Setting:
    """One protocol-specific `[terminal]` field: its default and its check.

    `parse` takes the TOML value and returns the value to keep, or raises ValueError with
    a message for the technician (it becomes `[terminal] NAME: MESSAGE`)."""

    name: str
    default: Any
    parse: Callable[[Any], Any]
    kind: str = "text"  # how the page shows it: text, int, bool, secret, choice
    choices: tuple[str, ...] = ()
    secret: bool = False  # masked in `config show` and never put into the page
    # The page's words for it, as config.py's field metadata: (English, Chinese) each;
    # the help is one line.
    label: tuple[str, str] = ("", "")
    help: tuple[str, str] = ("", "")


def baudrate(parse: Callable[[Any], Any], default: int = 9600) -> Setting:
    """The serial speed, a setting of every protocol on RS-232 (`parse`: its own rates)."""
    return Setting("baudrate", default, parse, kind="int", label=("Baud rate", "波特率"),
                   help=("Serial speed set on the terminal (usually 9600)",
                         "终端上设置的串口速率（通常为 9600）"))  # fmt: skip


@dataclass(frozen=True)
class Protocol:
    """Everything the guard needs to know about one protocol family.

    The callables are the package's own: `open(cfg, use=..., timeout=...)` returns a
    `Terminal`; `result_text(code, lang)` the text of a result code, lang "en" or "zh";
    `simulator(**options)` a simulator server (a context manager with a `url`)."""

    name: str
    title: str
    settings: tuple[Setting, ...]
    capabilities: frozenset[Capability]
    open: Callable[..., Terminal]
    result_text: Callable[[int, str], str]
    simulator: Callable[..., Any] | None = None
    # `check_port(value)` -> the port to keep, or ValueError: where this protocol's terminals
    # can be reached (None: a serial device or socket://HOST:PORT, config.port_url).
    check_port: Callable[[Any], str] | None = None
    format_code: Callable[[int], str] = field(default=lambda code: f"{code:02X}", repr=False)
    defaults: dict[str, Any] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "defaults", {s.name: s.default for s in self.settings})

    def setting(self, name: str) -> Setting | None:
        return next((s for s in self.settings if s.name == name), None)

    def can(self, capability: Capability) -> bool:
        return capability in self.capabilities


class UnknownProtocol(ValueError):
    pass


_loaded: dict[str, Protocol] = {}


def names() -> tuple[str, ...]:
    """The registered protocols, without importing any."""
    return tuple(PROTOCOLS)


def register(name: str, where: str | Protocol) -> None:
    """Add a protocol: a dotted "module:attribute" path (imported on first use) or the
    description itself (tests register fakes this way)."""
    PROTOCOLS[name] = where if isinstance(where, str) else f"<object {name}>"
    _loaded.pop(name, None)
    if isinstance(where, Protocol):
        _loaded[name] = where


def unregister(name: str) -> None:
    PROTOCOLS.pop(name, None)
    _loaded.pop(name, None)


def get(name: str) -> Protocol:
    """The description of protocol `name`, importing its package the first time."""
    found = _loaded.get(name)
    if found is not None:
        return found
    where = PROTOCOLS.get(name)
    if where is None:
        raise UnknownProtocol(
            f"unknown terminal protocol {name!r} (supported: {', '.join(PROTOCOLS)})"
        )
    module, _, attribute = where.partition(":")
    found = getattr(importlib.import_module(module), attribute)
    if not isinstance(found, Protocol) or found.name != name:
        raise TypeError(f"{where} is not the Protocol {name!r}")
    _loaded[name] = found
    return found


def capabilities(name: str) -> frozenset[Capability]:
    return get(name).capabilities


def result_text(protocol: str, code: int, lang: str = "en") -> str:
    """The text of a result code in the protocol's own table; lang "en" or "zh"."""
    return get(protocol).result_text(code, "zh" if lang.startswith("zh") else "en")


def code_label(protocol: str, code: int) -> str:
    """A result or status code as the protocol writes it (ZVT "6A", POSLink "000100")."""
    return get(protocol).format_code(code)


def open_terminal(cfg: Config, *, use: Use = Use.SERVICE, timeout: float | None = None) -> Terminal:
    """The composition root: the driver for the config's `[terminal]`, whatever its protocol.
    `timeout`: seconds to wait for each acknowledgement (the command line's --timeout)."""
    return get(cfg.terminal.protocol).open(cfg, use=use, timeout=timeout)


def simulator(protocol: str, **options: Any) -> Any:
    sim = get(protocol).simulator
    if sim is None:
        raise UnknownProtocol(f"protocol {protocol!r} has no simulator")
    return sim(**options)
