"""`settle-guard sim`: run a terminal simulator (ZVT or PAX POSLink) on a pty, a serial
device, TCP or (POSLink) HTTP; control it on stdin.

Each place it can be reached is printed as one line `port: WHERE` before anything else
(a pty or device path, `socket://HOST:PORT`, `http://HOST:PORT/`), so a script reads the
lines that start with "port: ". Options of the other protocol are refused, not ignored.
"""

from __future__ import annotations

import argparse
import os
import queue
import re
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .. import cliargs
from .faults import FaultSpecError
from .faults import parse_fault as parse_zvt_fault
from .poslink_server import ACK_MODES, LOCALHOST
from .poslink_server import parse_fault as parse_poslink_fault
from .server import _parse_listen

PROTOCOLS = ("zvt", "poslink")
# Options only one protocol takes (dest -> option); given with the other, they are refused.
ZVT_ONLY = {"password": "--password", "currency": "--currency", "receipts": "--receipts"}
POSLINK_ONLY = {"http": "--http", "offline": "--offline", "ack_mode": "--ack-mode",
                "ack_delay": "--ack-delay", "batch": "--batch"}  # fmt: skip
_POSLINK_TID = re.compile(r"[A-Za-z0-9]{1,16}")


def _sale(text: str) -> tuple[str, str]:
    amount, _, card = text.partition(":")
    return amount, card


def _listen(text: str) -> str:
    try:
        _parse_listen(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def _http(text: str) -> tuple[str, int]:
    rest = text.removeprefix("http://").rstrip("/")
    host, _, port = rest.rpartition(":")
    if not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not HOST:PORT")
    return host.strip("[]"), int(port)


def _batch(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 999999:
        raise argparse.ArgumentTypeError(f"{text!r} is not a batch number 1-999999")
    return int(text)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.set_defaults(sim_parser=p)  # run() reports cross-option problems through it
    p.add_argument(
        "--protocol",
        choices=PROTOCOLS,
        default="zvt",
        help="the terminal to simulate: zvt (the default) or poslink (PAX)",
    )
    both = p.add_argument_group("both protocols")
    where = both.add_mutually_exclusive_group()
    where.add_argument(
        "--pty",
        action="store_true",
        help="run on a new pty (the default; poslink: unless only --listen or --http is given)",
    )
    where.add_argument(
        "--device",
        metavar="DEV",
        help="run on a real serial port, e.g. /dev/ttyUSB0 (zvt 8N2, poslink 8N1)",
    )
    both.add_argument(
        "--listen",
        type=_listen,
        metavar="tcp://HOST:PORT",
        help="listen on TCP, bound to HOST only (port 0: any). zvt: instead of the serial"
        " line; poslink: as well as --pty/--device when one is given",
    )
    both.add_argument(
        "--link", metavar="PATH", help="keep a symlink to the pty here (survives unplug)"
    )
    both.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="SPEC",
        help="inject a fault (repeatable). zvt: nak:N crc:N drop:N silent:S busy:S"
        " host-down[:RC] unplug:S; poslink: nak:N lrc:N drop:N silent:S unplug:S host-down"
        " saf[:N] out-of-balance db-full clear-without-settle",
    )
    both.add_argument(
        "--tid",
        help="terminal id (zvt: 8 digits, default 29001006; poslink: 1-16 letters and digits,"
        " default TID00001)",
    )
    both.add_argument(
        "--baud",
        type=cliargs.baud,
        help="line speed for --device and --pace (default 9600)",
    )
    both.add_argument(
        "--delay", type=cliargs.non_negative, default=0.0, help="seconds before answering a command"
    )
    both.add_argument(
        "--random-sales",
        type=float,
        default=0.0,
        metavar="PER_MIN",
        help="sales arriving at random, per minute",
    )
    both.add_argument("--scenario", type=Path, help="file of '+SECONDS command' control lines")
    both.add_argument(
        "--sale",
        action="append",
        type=_sale,
        default=[],
        metavar="AMOUNT[:CARD]",
        help="a sale already in the batch at start (card, default visa: zvt girocard, visa,"
        " mastercard, amex...; poslink visa, mastercard, amex, discover... or a card type"
        " code such as 02)",
    )
    both.add_argument("--exit-on-eof", action="store_true", help="stop when stdin closes")

    zvt = p.add_argument_group("ZVT only (--protocol zvt)")
    zvt.add_argument(
        "--password", type=cliargs.password, help="terminal password (6 digits, default 000000)"
    )
    zvt.add_argument(
        "--currency", type=cliargs.currency, help="currency, e.g. EUR (the default) or CNY"
    )
    zvt.add_argument(
        "--pace", action="store_true", help="send and receive at the wire's speed (--baud)"
    )
    zvt.add_argument(
        "--receipts",
        choices=("continuous", "per-batch", "none"),
        help="receipt numbers: 0001-9999 and wrap across batches (continuous, the default),"
        " from 0001 in each batch, or none in the totals",
    )

    pax = p.add_argument_group("POSLink only (--protocol poslink)")
    pax.add_argument(
        "--http",
        type=_http,
        metavar="HOST:PORT",
        help="answer HTTP GET /?<base64 frame> too, bound to HOST only (port 0: any)",
    )
    pax.add_argument(
        "--offline",
        action="append",
        type=_sale,
        default=[],
        metavar="AMOUNT[:CARD]",
        help="an offline approval waiting in SAF at start",
    )
    pax.add_argument(
        "--ack-mode",
        choices=ACK_MODES,
        help="separate: ACK, then the response --ack-delay later (the default); same: ACK and"
        " response in one write; none: no ACK",
    )
    pax.add_argument(
        "--ack-delay",
        type=cliargs.non_negative,
        help="seconds from the ACK to the response with --ack-mode separate (default 0.05)",
    )
    pax.add_argument(
        "--batch", type=_batch, metavar="N", help="the open batch's number at start (default 1)"
    )


def check(args: argparse.Namespace) -> str | None:
    """What is wrong with the options taken together, as argparse says it; None if nothing.
    Fills in each protocol's defaults for the options both take."""
    zvt = args.protocol == "zvt"
    other, name = (POSLINK_ONLY, "poslink") if zvt else (ZVT_ONLY, "zvt")
    for dest, option in other.items():
        if getattr(args, dest) not in (None, False, []):
            return f"argument {option}: only for --protocol {name}, not {args.protocol}"
    return _check_zvt(args) if zvt else _check_poslink(args)


def _check_zvt(args: argparse.Namespace) -> str | None:
    if args.listen and (args.pty or args.device):
        other = "--pty" if args.pty else "--device"
        return f"argument --listen: not allowed with argument {other}"
    for spec in args.fault:
        try:
            parse_zvt_fault(spec)
        except FaultSpecError as exc:
            return f"argument --fault: {exc}"
    try:
        args.tid = cliargs.terminal_id(args.tid) if args.tid is not None else "29001006"
    except argparse.ArgumentTypeError as exc:
        return f"argument --tid: {exc}"
    args.password = args.password or "000000"
    args.currency = args.currency or 978
    args.receipts = args.receipts or "continuous"
    args.baud = args.baud or 9600
    return None


def _check_poslink(args: argparse.Namespace) -> str | None:
    from ..money import parse_amount

    if args.link and args.device:
        return "argument --link: not allowed with argument --device"
    if args.baud is not None and not (args.device or args.pace):
        return "argument --baud: poslink takes it with --device or --pace only"
    if args.ack_delay is not None and args.ack_mode not in (None, "separate"):
        return f"argument --ack-delay: not with --ack-mode {args.ack_mode}"
    args.serial_pty = bool(args.pty or args.link or not (args.device or args.listen or args.http))
    if args.pace and not args.serial_pty:
        return "argument --pace: paces the pty only (a device has its own UART)"
    for spec in args.fault:
        try:
            fault = parse_poslink_fault(spec)
        except FaultSpecError as exc:
            return f"argument --fault: {exc}"
        if fault.kind == "unplug" and not args.serial_pty:
            return f"argument --fault: {spec}: only a pty can be unplugged"
    if args.tid is not None and not _POSLINK_TID.fullmatch(args.tid):
        return f"argument --tid: {args.tid!r} is not 1-16 letters and digits"
    args.tid = args.tid or "TID00001"
    args.payments = []  # (cents, card type code, offline)
    for option, given in (("--sale", args.sale), ("--offline", args.offline)):
        for amount, card in given:
            try:
                cents = parse_amount(amount, 840)
            except ValueError as exc:
                return f"argument {option}: {exc}"
            code = _poslink_card(card or "visa")
            if code is None:
                names = ", ".join(_poslink_cards())
                return f"argument {option}: unknown card {card!r} ({names}, or a code as 02)"
            args.payments.append((cents, code, option == "--offline"))
    args.baud = args.baud or 9600
    args.ack_mode = args.ack_mode or "separate"
    args.ack_delay = 0.05 if args.ack_delay is None else args.ack_delay
    args.batch = args.batch or 1
    return None


def _poslink_cards() -> dict[str, str]:
    """Card names a --sale may use -> POSLink card type code."""
    from ..poslink.codes import CARD_TYPES

    return {name.lower().replace(" ", ""): code for code, name in CARD_TYPES.items()}


def _poslink_card(card: str) -> str | None:
    from ..poslink.codes import CARD_TYPES

    if card in CARD_TYPES:
        return card
    return _poslink_cards().get(card.lower())


class DroppingLog:
    """Writes output lines from its own thread and never makes the caller wait.

    The simulator must keep answering the ECR whatever happens to its stdout: a pipe
    nobody reads (a harness that only wanted the port line, `sim | less` left paused)
    fills after 64 KiB, and a plain print() from the port thread would then block it
    and the simulated terminal would fall silent. So lines go to a bounded queue;
    when it is full they are dropped and counted, and the count is written where
    the gap is once the reader catches up. Writing uses os.write on the descriptor,
    not sys.stdout, so a writer blocked at exit holds no lock the interpreter needs
    to shut down.
    """

    def __init__(self, fd: int, backlog: int = 1000) -> None:
        self._fd = fd
        self._lines: queue.Queue[str | None] = queue.Queue(backlog)
        self._lock = threading.Lock()
        self._dropped = 0
        self._thread = threading.Thread(target=self._run, name="sim output", daemon=True)
        self._thread.start()

    def __call__(self, line: str) -> None:
        with self._lock:  # callers: the port thread and the control thread
            if self._dropped:  # say so where the gap is
                line = f"({self._dropped} lines dropped: nobody read the output)\n{line}"
            try:
                self._lines.put_nowait(line)
            except queue.Full:
                self._dropped += 1
            else:
                self._dropped = 0

    def close(self, timeout: float = 2.0) -> None:
        """Write what is queued, waiting at most `timeout` for a reader."""
        try:
            self._lines.put(None, timeout=timeout)
        except queue.Full:
            return
        self._thread.join(timeout)

    def _run(self) -> None:
        while (line := self._lines.get()) is not None:
            data = memoryview(f"{line}\n".encode())
            try:
                while data:
                    data = data[os.write(self._fd, data) :]
            except OSError:  # the reader went away: nothing more can be shown
                return


class HeldLog:
    """The server's log lines, held back until `release()` and then passed on in order.

    The port lines must be the first output (scripts read them), but the server logs from
    its own thread as soon as it starts: a scenario's `+0` step would race them.
    """

    def __init__(self, out: Callable[[str], None]) -> None:
        self._out = out
        self._lock = threading.Lock()
        self._held: list[str] | None = []

    def __call__(self, line: str) -> None:
        with self._lock:
            if self._held is not None:
                self._held.append(line)
                return
        self._out(line)

    def release(self) -> None:
        with self._lock:  # a line logged meanwhile waits here, so the order holds
            held, self._held = self._held or [], None
            for line in held:
                self._out(line)


def _fail(message: str, code: int) -> int:
    print(f"settle-guard sim: {message}", file=sys.stderr)
    return code


def run(args: argparse.Namespace) -> int:
    problem = check(args)
    if problem:
        parser = getattr(args, "sim_parser", None)
        if parser is not None:
            parser.error(problem)  # exits 2 with argparse's one line
        return _fail(problem, cliargs.EXIT_USAGE)
    sys.stdout.flush()
    out = DroppingLog(sys.stdout.fileno())
    try:
        if args.protocol == "poslink":
            return _serve_poslink(args, out)
        return _serve(args, out)
    finally:
        out.close()


def _serve(args: argparse.Namespace, out: DroppingLog) -> int:
    from ..money import parse_amount
    from .server import SimServer, parse_scenario
    from .terminal import SimTerminal

    log = HeldLog(out)
    try:
        currency = args.currency
        scenario = parse_scenario(args.scenario.read_text()) if args.scenario else None
        terminal = SimTerminal(password=args.password, currency=currency, terminal_id=args.tid,
                               receipt_numbers=args.receipts)  # fmt: skip
        for amount, card in args.sale:
            terminal.add_sale(parse_amount(amount, currency), card or "visa")
        server = SimServer(
            terminal,
            link=args.link,
            device=args.device,
            listen=args.listen,
            baudrate=args.baud,
            pace=args.pace,
            processing_delay=args.delay,
            random_sales_per_minute=args.random_sales,
            scenario=scenario,
            log=log,
        )
        for spec in args.fault:
            server.inject(spec)
    except OSError as exc:
        return _fail(f"cannot read {exc.filename}: {exc.strerror}", 2)
    except ValueError as exc:
        return _fail(str(exc), 2)

    done = _stop_on_signals()
    try:
        server.start()
    except Exception as exc:  # one line, never a traceback
        where = args.device or args.listen or args.link or "pty"
        return _fail(f"cannot open {where}: {getattr(exc, 'strerror', None) or exc}", 3)
    out(f"port: {server.url}")
    log.release()
    return _control(server, args, out, done)


def _serve_poslink(args: argparse.Namespace, out: DroppingLog) -> int:
    from .poslink_server import PosLinkServer
    from .poslink_terminal import PosLinkTerminal
    from .server import parse_scenario

    try:
        scenario = parse_scenario(args.scenario.read_text()) if args.scenario else None
    except OSError as exc:
        return _fail(f"cannot read {exc.filename}: {exc.strerror}", 2)
    except ValueError as exc:
        return _fail(str(exc), 2)
    terminal = PosLinkTerminal(tid=args.tid, batch_number=args.batch)
    log = HeldLog(out)
    for cents, card, offline in args.payments:
        terminal.add_transaction(cents, card_type=card, offline=offline)
    server = PosLinkServer(
        terminal,
        link=args.link,
        pty=args.serial_pty,
        device=args.device,
        baudrate=args.baud,
        pace=args.pace,
        tcp=args.listen is not None,
        tcp_address=_parse_listen(args.listen) if args.listen else LOCALHOST,
        http=args.http is not None,
        http_address=args.http or LOCALHOST,
        ack_mode=args.ack_mode,
        ack_delay=args.ack_delay,
        processing_delay=args.delay,
        random_sales_per_minute=args.random_sales,
        scenario=scenario,
        log=log,
    )
    for spec in args.fault:  # before the ports open: the first request already meets them
        server.inject(spec)
    done = _stop_on_signals()
    try:
        server.start()  # closes what it opened if one port fails
    except Exception as exc:  # one line, never a traceback
        wanted = [args.device or (args.link or "pty" if args.serial_pty else None),
                  args.listen, args.http and "http://{}:{}".format(*args.http)]  # fmt: skip
        where = ", ".join(w for w in wanted if w)
        return _fail(f"cannot open {where}: {getattr(exc, 'strerror', None) or exc}", 3)
    for url in server.endpoints:
        out(f"port: {url}")
    log.release()
    return _control(server, args, out, done)


def _stop_on_signals() -> threading.Event:
    """Ctrl-C and SIGTERM set the event; set up before the ports open, so a signal then
    still closes them (and removes the pty's link) instead of killing the process."""
    done = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: done.set())
    return done


def _control(server: Any, args: argparse.Namespace, out: DroppingLog, done: threading.Event) -> int:
    """Control lines from stdin until a signal (or EOF with --exit-on-eof); then stop."""

    def read_stdin() -> None:
        for line in sys.stdin:
            reply = server.control(line)
            if reply:
                out(reply)
        if args.exit_on_eof:
            done.set()

    threading.Thread(target=read_stdin, name="sim control", daemon=True).start()
    try:
        done.wait()
    finally:
        server.stop()
    return 0
