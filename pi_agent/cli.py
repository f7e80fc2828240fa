"""`settle-guard` command line: talk to the terminal, run the simulator, run the demo.

Exit codes (stable, documented in the README):
  0  done
  1  the terminal answered but refused or failed (settlement failed, command refused)
  2  bad command-line arguments
  3  the port cannot be opened or disappeared
  4  the terminal did not answer (timeout, no acknowledgement) or broke the protocol
  5  settlement outcome unknown: check the batch before trying again
  6  settlement not confirmed
  7  the configuration file is missing or invalid
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any, cast

from . import __version__, cliargs

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_PORT, EXIT_NO_ANSWER, EXIT_UNKNOWN, EXIT_DECLINED = range(7)
EXIT_CONFIG = 7

EPILOG = """exit codes: 0 done, 1 terminal refused/failed, 2 bad arguments, 3 port unavailable,
4 terminal not answering, 5 settlement outcome unknown, 6 settlement not confirmed,
7 configuration invalid"""


class CliError(Exception):
    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


def _terminal_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--config",
        metavar="PATH",
        default=os.environ.get("SETTLE_GUARD_CONFIG"),
        help="take the terminal settings from this config file; settle then keeps "
        "its journal in the config's store (exactly once) (env SETTLE_GUARD_CONFIG)",
    )
    p.add_argument(
        "--protocol",
        metavar="NAME",
        default=os.environ.get("SETTLE_GUARD_PROTOCOL"),
        help="terminal protocol, e.g. zvt (env SETTLE_GUARD_PROTOCOL; default: the config's, "
        "else zvt)",
    )
    p.add_argument(
        "--port",
        metavar="URL",
        default=os.environ.get("SETTLE_GUARD_PORT"),
        help="terminal port: /dev/ttyUSB0, /dev/serial/by-id/..., socket://HOST:PORT "
        "(env SETTLE_GUARD_PORT)",
    )
    p.add_argument(
        "--password",
        type=cliargs.password,
        default=os.environ.get("SETTLE_GUARD_PASSWORD"),
        help="terminal password, 6 digits (env SETTLE_GUARD_PASSWORD; default 000000)",
    )
    p.add_argument("--baud", type=cliargs.baud, help="line speed (default 9600, 8N2)")
    p.add_argument(
        "--currency",
        type=cliargs.currency,
        help="currency the terminal is set up for, e.g. EUR or CNY (default EUR)",
    )
    p.add_argument(
        "--timeout",
        type=cliargs.seconds,
        default=5.0,
        help="seconds to wait for each acknowledgement (default 5)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object (stable keys)")
    p.add_argument("--lang", choices=("en", "zh"), default="en", help="language of status texts")


def _resolve(args: argparse.Namespace) -> None:
    """Fill terminal settings: command line first, then the config file, then defaults.
    `args.cfg` is the config file's (None without one: settle then keeps no journal);
    `args.session` the config the terminal is opened with, the command line's over it."""
    import dataclasses

    from . import config

    args.cfg = None
    base = config.Config()
    if args.config:
        try:
            args.cfg = base = config.load(args.config)
        except config.ConfigError as exc:
            raise CliError(str(exc), EXIT_CONFIG) from None
        args.port = args.port or base.terminal.port
    changes: dict[str, Any] = {}
    for name, value in (("protocol", args.protocol), ("password", args.password),
                        ("baudrate", args.baud), ("currency", args.currency)):  # fmt: skip
        if value is not None:
            changes[name] = str(value) if name == "currency" else value
    try:
        session = config.replace(base, "terminal", **changes) if changes else base
    except config.ConfigError as exc:
        raise CliError("; ".join(map(str, exc.errors)), EXIT_USAGE) from None
    # The port is checked when it is opened (a missing device is exit 3, not a usage error).
    terminal = dataclasses.replace(session.terminal, port=args.port or session.terminal.port)
    args.session = dataclasses.replace(session, terminal=terminal)


# What each terminal command needs the protocol to offer.
NEEDS = {"status": "status", "totals": "totals", "settle": "settle", "diag": "diagnosis",
         "init": "sign-in"}  # fmt: skip


class _LazyParser(cliargs.Parser):
    """A subcommand's parser that gets its arguments only when that subcommand is parsed or
    its help shown, so a command imports just the modules it runs (a Pi Zero pays ~1 s
    at every start for the simulator and the notify commands otherwise)."""

    fill: Callable[[], None] | None = None

    def _filled(self) -> None:
        fill, self.fill = self.fill, None
        if fill is not None:
            fill()

    def parse_known_args(self, args: Any = None, namespace: Any = None) -> Any:
        self._filled()
        return super().parse_known_args(args, namespace)

    def format_help(self) -> str:
        self._filled()
        return super().format_help()


def _fill_sim(add: Callable[[str, str], argparse.ArgumentParser]) -> None:
    from .sim import cli as sim_cli

    sim_cli.add_arguments(add("sim", LAZY_HELP["sim"]))


def _fill_notify(add: Callable[[str, str], argparse.ArgumentParser]) -> None:
    from .notify import cli as notify_cli

    notify_cli.add_arguments(add)


def _fill_fleet(add: Callable[[str, str], argparse.ArgumentParser]) -> None:
    from .fleet import watch

    watch.add_arguments(add("fleet", watch.HELP))


def _fill_selftest(add: Callable[[str, str], argparse.ArgumentParser]) -> None:
    from . import selftest

    selftest.add_arguments(add("selftest", selftest.HELP), _terminal_options)


# Commands whose arguments live in their own modules, with the help line the command list
# shows before those modules load (a test checks it against each module's own).
LAZY_HELP = {
    "sim": "run the built-in terminal simulator",
    "notify": "push messages: send a test, deliver what waits, acknowledge",
    "report": "print (or --send) the closing report of a day",
    "payouts": "expected payouts; mark one received",
    "selftest": "test the lights, buzzer, OLED, clock, RTC and the terminal's port",
    "fleet": "watch every shop's guard on the chain's MQTT broker",
}
_FILLS = {"sim": _fill_sim, "notify": _fill_notify, "report": _fill_notify,
          "payouts": _fill_notify, "selftest": _fill_selftest, "fleet": _fill_fleet}  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    parser = cliargs.Parser(
        prog="settle-guard",
        description="SettleGuard: make sure the card terminal's batch gets settled.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(
        dest="command", metavar="COMMAND", required=True, parser_class=_LazyParser
    )
    made: dict[str, _LazyParser] = {}

    def add(name: str, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(
            name,
            help=help_text,
            description=help_text,
            epilog=EPILOG,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        made[name] = cast(_LazyParser, p)
        return p

    def lazy(name: str) -> None:
        add(name, LAZY_HELP[name])

        def fill() -> None:
            def described(name: str, help_text: str) -> argparse.ArgumentParser:
                made[name].fill = None  # one module may fill several commands
                made[name].description = help_text
                return made[name]

            _FILLS[name](described)

        made[name].fill = fill

    _terminal_options(add("status", "show the terminal's status"))
    _terminal_options(add("totals", "show the open batch (count and amount per card type)"))
    settle = add("settle", "settle the open batch now (end-of-day)")
    _terminal_options(settle)
    settle.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    settle.add_argument("--force", action="store_true",
                        help="close the batch on the terminal without the host (POSLink "
                             "B02), only when the acquirer says so; always asks, even "
                             "with --yes")  # fmt: skip
    _terminal_options(
        add("diag", "run the terminal's diagnosis (checks the host line, sets its clock)")
    )
    _terminal_options(add("init", "initialise (sign in) the terminal with its host"))
    _terminal_options(add("register", "register with the terminal (receipts stay on the terminal)"))

    run = add("run", "run the guard (the appliance's service)")
    run.add_argument("--config", metavar="PATH", default=os.environ.get("SETTLE_GUARD_CONFIG"),
                     help="config file (env SETTLE_GUARD_CONFIG; default "
                          "/var/lib/settle-guard/config.toml)")  # fmt: skip
    run.add_argument("--fast", type=cliargs.non_negative, metavar="SPEED",
                     help="clock SPEED times faster (bench and demo only)")  # fmt: skip
    run.add_argument("--log-level", choices=("debug", "info", "warning"), default="info")

    config = add("config", "check, show or create the configuration file")
    config.add_argument("action", choices=("check", "show", "init"))
    config.add_argument("--config", metavar="PATH", default=os.environ.get("SETTLE_GUARD_CONFIG"),
                        help="config file (env SETTLE_GUARD_CONFIG; default "
                             "/var/lib/settle-guard/config.toml)")  # fmt: skip

    for name in LAZY_HELP:
        lazy(name)
    passwd = add("passwd", "set the web page's admin password, or --reset it and its API tokens")
    passwd.add_argument("--config", metavar="PATH", default=os.environ.get("SETTLE_GUARD_CONFIG"),
                        help="config file (env SETTLE_GUARD_CONFIG)")  # fmt: skip
    passwd.add_argument("--reset", action="store_true",
                        help="forget the password and API tokens: the display shows a new "
                             "setup code for the next visitor")  # fmt: skip
    demo = add("demo", "a trading day in two minutes: the guard against the built-in simulator")
    demo.add_argument("--out", default="demo-out", help="folder for the OLED frames (PNG)")
    demo.add_argument("--protocol", default=None, metavar="NAME",
                      help="the terminal protocol to simulate (default: the built-in "
                      "configuration's, zvt)")  # fmt: skip
    return parser


# -- output


def _emit(args: argparse.Namespace, data: dict[str, Any], human: Callable[[], None]) -> None:
    if args.json:
        print(json.dumps(data, ensure_ascii=False, sort_keys=True))
    else:
        human()


def _batch_lines(totals: Any) -> list[str]:
    from .money import format_amount

    lines = []
    for card in totals.cards:
        if card.count or card.amount:
            amount = format_amount(card.amount, totals.currency)
            lines.append(f"  {card.card:<11} {card.count:>4}  {amount:>16}")
    return lines


def _batch_summary(totals: Any) -> str:
    from .money import format_amount

    receipts = ""
    if totals.first_receipt and totals.last_receipt:
        receipts = f" (receipts {totals.first_receipt:04d}-{totals.last_receipt:04d})"
    noun = "transaction" if totals.count == 1 else "transactions"
    return f"{totals.count} {noun}, {format_amount(totals.total, totals.currency)}{receipts}"


# -- commands


def _open(args: argparse.Namespace) -> Any:
    from .terminal import Capability, Use, open_terminal
    from .terminal.registry import capabilities

    if not args.port:
        raise CliError("no port given: use --port URL or set SETTLE_GUARD_PORT", EXIT_USAGE)
    protocol = args.session.terminal.protocol
    need = "force-settle" if getattr(args, "force", False) else NEEDS.get(args.command)
    if need is not None and Capability(need) not in capabilities(protocol):
        raise CliError(f"{protocol} terminals cannot do this ({need})", EXIT_USAGE)
    return open_terminal(args.session, use=Use.COMMAND, timeout=args.timeout)


def cmd_status(args: argparse.Namespace, terminal: Any) -> int:
    status = terminal.status()
    text = status.text_zh if args.lang == "zh" else status.text

    def human() -> None:
        print(f"Terminal on {args.port}: {text} ({status.code_label})")
        extra = []
        if status.software_version:
            extra.append(f"software {status.software_version}")
        if status.terminal_id:
            extra.append(f"terminal id {status.terminal_id}")
        if extra:
            print("  " + ", ".join(extra))

    _emit(args, {"port": args.port, **status.to_json(), "text": text}, human)
    return EXIT_OK


def cmd_totals(args: argparse.Namespace, terminal: Any) -> int:
    totals = terminal.totals()

    def human() -> None:
        print(f"Open batch on {args.port}: {_batch_summary(totals)}")
        for line in _batch_lines(totals):
            print(line)

    _emit(args, {"port": args.port, **totals.to_json()}, human)
    return EXIT_OK


def _confirm(question: str) -> bool:
    if not sys.stdin.isatty():
        raise CliError(
            "settle needs confirmation: run it at a terminal or pass --yes", EXIT_DECLINED
        )
    try:
        answer = input(f"{question} [y/N] ")
    except EOFError:
        return False
    return answer.strip().lower() in ("y", "yes", "j", "ja", "是")


def cmd_settle(args: argparse.Namespace, terminal: Any) -> int:
    from .terminal import Outcome

    if args.force:  # never without a person at the keyboard
        totals = terminal.totals()
        if not _confirm(f"FORCE close the open batch on {args.port} WITHOUT the host: "
                        f"{_batch_summary(totals)}? Its payments must then be reconciled "
                        "with the acquirer"):  # fmt: skip
            raise CliError("force close not confirmed: nothing sent", EXIT_DECLINED)
    elif not args.yes:
        totals = terminal.totals()
        if not _confirm(f"Settle the open batch on {args.port}: {_batch_summary(totals)}?"):
            raise CliError("settlement not confirmed: nothing sent", EXIT_DECLINED)

    def progress(p: Any) -> None:
        if not args.json:
            print(f"  ... {p.text_zh if args.lang == 'zh' else p.text}", flush=True)

    if args.cfg is not None:
        return _settle_journaled(args, terminal, progress)
    result = (terminal.force_settle if args.force else terminal.settle)(progress)

    def human() -> None:
        if result.outcome is Outcome.OK:
            settled = _batch_summary(result.totals) if result.totals else "no totals reported"
            print(f"Settled on {args.port}: {settled}")
            for line in _batch_lines(result.totals) if result.totals else []:
                print(line)
            if result.receipt_lines:
                print("  receipt:")
                for line in result.receipt_lines:
                    print(f"    {line}")
        elif result.outcome is Outcome.FAILED:
            print(f"Settlement failed on {args.port}: {result.result_text} ({result.code_label})")
        else:
            print(
                f"Settlement outcome unknown on {args.port}: {result.error}. "
                "Check the batch (settle-guard totals) before trying again."
            )

    _emit(args, {"port": args.port, **result.to_json()}, human)
    return {Outcome.OK: EXIT_OK, Outcome.FAILED: EXIT_FAILED, Outcome.UNKNOWN: EXIT_UNKNOWN}[
        result.outcome
    ]


def _settle_journaled(args: argparse.Namespace, terminal: Any, progress: Any) -> int:
    """Settle through the journal: a crash or a lost answer never leads to a second end-of-day."""
    from .clock import SystemClock
    from .guard.settle import SettlementExecutor
    from .guard.tradingday import TradingCalendar
    from .store import Store
    from .terminal.registry import code_label

    cfg = args.cfg
    store = Store(cfg.store.path)
    try:
        calendar = TradingCalendar(cfg.zone, cfg.schedule.cutoff)
        record = SettlementExecutor(terminal, store, SystemClock(), calendar).settle(
            "force" if args.force else "command line", progress, force=args.force
        )
    finally:
        store.close()
    if record is None:
        _emit(
            args,
            {"port": args.port, "outcome": "nothing"},
            lambda: print(f"Nothing to settle on {args.port}: the batch is empty"),
        )
        return EXIT_OK
    data = {
        "port": args.port,
        "outcome": record.state,
        "settlement": record.id,
        "attempt": record.attempt,
        "result_code": None
        if record.result_code is None
        else code_label(args.session.terminal.protocol, record.result_code),
        "result_text": record.result_text,
        "verified": record.verified,
        "note": record.note,
        "totals": record.totals_settled,
        "receipt_lines": record.receipt_lines,
    }

    def human() -> None:
        print(f"Settlement {record.id} (attempt {record.attempt}) on {args.port}: {record.state}")
        if record.note:
            print(f"  {record.note}")
        if record.result_text and record.state != "ok":
            print(f"  {record.result_text}")

    _emit(args, data, human)
    if record.state == "ok":
        return EXIT_OK
    return EXIT_FAILED if record.state in ("failed", "not-sent") else EXIT_UNKNOWN


def _operation(name: str, call: Callable[[Any], Any]) -> Callable[[argparse.Namespace, Any], int]:
    def run(args: argparse.Namespace, terminal: Any) -> int:
        result = call(terminal)

        def human() -> None:
            state = "ok" if result.ok else f"failed: {result.result_text}"
            print(f"{name} on {args.port}: {state}")
            if result.terminal_id:
                print(f"  terminal id {result.terminal_id}")
            if "host_time" in result.details:
                print(f"  host time {result.details['host_time']}")

        _emit(args, {"port": args.port, **result.to_json()}, human)
        return EXIT_OK if result.ok else EXIT_FAILED

    return run


COMMANDS: dict[str, Callable[[argparse.Namespace, Any], int]] = {
    "status": cmd_status,
    "totals": cmd_totals,
    "settle": cmd_settle,
    "diag": _operation("Diagnosis", lambda t: t.diagnose()),
    "init": _operation("Initialisation", lambda t: t.initialise()),
    "register": _operation("Registration", lambda t: t.register()),
}


def cmd_config(args: argparse.Namespace) -> int:
    from . import config

    path = args.config or str(config.DEFAULT_PATH)
    if args.action == "init":
        if os.path.exists(path):
            return _fail(args, f"{path} exists already: not overwritten", EXIT_CONFIG)
        try:
            config.save(config.Config(), path)
        except OSError as exc:
            return _fail(args, f"cannot write {path}: {exc.strerror}", EXIT_CONFIG)
        print(f"wrote the default configuration to {path} (mode 0600); set the terminal port "
              "and password, then run: settle-guard config check")  # fmt: skip
        return EXIT_OK
    cfg = config.load_or_report(path)
    if cfg is None:
        return EXIT_CONFIG
    if args.action == "show":
        print(config.dumps(cfg, mask_secrets=True), end="")
    else:
        print(f"{path}: configuration OK")
    return EXIT_OK


def cmd_passwd(args: argparse.Namespace) -> int:
    """The web password from a shell: typed twice at a terminal, or two lines on stdin."""
    from . import config
    from .web.auth import MIN_PASSWORD, AuthStore, auth_path, password_problem

    cfg = config.load_or_report(args.config or str(config.DEFAULT_PATH))
    if cfg is None:
        return EXIT_CONFIG
    auth = AuthStore(auth_path(cfg))
    try:
        if args.reset:
            gone = auth.reset()
            print(f"web password and {gone} API token(s) cleared; the display shows a setup "
                  "code for the next visitor")  # fmt: skip
            return EXIT_OK
        if sys.stdin.isatty():
            import getpass

            first, again = getpass.getpass("new web password: "), getpass.getpass("again: ")
        else:
            first, again = sys.stdin.readline().rstrip("\n"), sys.stdin.readline().rstrip("\n")
        problem = password_problem(first, again)
        if problem:
            why = {"password-short": f"needs at least {MIN_PASSWORD} characters",
                   "password-mismatch": "the two entries differ"}[problem]  # fmt: skip
            return _fail(args, f"password not set: {why}", EXIT_USAGE)
        auth.set_password(first)
        print("web password set; every open session is logged out")
        return EXIT_OK
    finally:
        auth.close()


def _fail(args: argparse.Namespace, message: str, code: int) -> int:
    print(f"settle-guard: {message}", file=sys.stderr)
    if getattr(args, "json", False):
        print(json.dumps({"error": message, "exit": code}, ensure_ascii=False, sort_keys=True))
    return code


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "sim":
        from .sim import cli as sim_cli

        return sim_cli.run(args)
    if args.command == "config":
        return cmd_config(args)
    if args.command in ("notify", "report", "payouts"):
        from .notify import cli as notify_cli

        return notify_cli.run(args)
    if args.command == "run":
        from .service import run_service

        return run_service(args.config, fast=args.fast, log_level=args.log_level)
    if args.command == "passwd":
        return cmd_passwd(args)
    if args.command == "selftest":
        from . import selftest

        return selftest.run(args)
    if args.command == "fleet":
        from .fleet import watch

        return watch.run(args)
    if args.command == "demo":
        from .demo import run_demo
        from .terminal.registry import names

        if args.protocol is not None and args.protocol not in names():
            return _fail(args, f"--protocol: unknown protocol {args.protocol!r} (supported: "
                               f"{', '.join(names())})", EXIT_USAGE)  # fmt: skip
        return run_demo(out_dir=args.out, protocol=args.protocol)

    from .guard.settle import OutcomeStillOpen
    from .terminal import CommandRefused, NoAnswer, PortUnavailable, ProtocolFault

    terminal = None
    try:
        _resolve(args)
        terminal = _open(args)
        return COMMANDS[args.command](args, terminal)
    except CliError as exc:
        return _fail(args, str(exc), exc.code)
    except PortUnavailable as exc:
        return _fail(args, str(exc), EXIT_PORT)
    except (NoAnswer, ProtocolFault) as exc:
        return _fail(args, str(exc), EXIT_NO_ANSWER)
    except CommandRefused as exc:
        return _fail(args, str(exc), EXIT_FAILED)
    except OutcomeStillOpen as exc:
        return _fail(args, str(exc), EXIT_UNKNOWN)
    except KeyboardInterrupt:
        return _fail(args, "interrupted", 130)
    finally:
        if terminal is not None:
            terminal.close()


if __name__ == "__main__":
    sys.exit(main())
