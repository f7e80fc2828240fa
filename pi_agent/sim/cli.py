"""`settle-guard sim`: run the simulator on a pty, a serial device or TCP; control it on stdin."""

from __future__ import annotations

import argparse
import os
import queue
import signal
import sys
import threading
from pathlib import Path

from .. import cliargs
from .faults import FaultSpecError, parse_fault


def _fault(text: str) -> str:
    try:
        parse_fault(text)
    except FaultSpecError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def _sale(text: str) -> tuple[str, str]:
    amount, _, card = text.partition(":")
    return amount, card or "visa"


def add_arguments(p: argparse.ArgumentParser) -> None:
    where = p.add_mutually_exclusive_group()
    where.add_argument("--pty", action="store_true", help="run on a new pty (the default)")
    where.add_argument(
        "--device", metavar="DEV", help="run on a real serial port, e.g. /dev/ttyUSB0"
    )
    where.add_argument("--listen", metavar="tcp://HOST:PORT", help="ZVT over TCP (port 0: any)")
    p.add_argument(
        "--link", metavar="PATH", help="keep a symlink to the pty here (survives unplug)"
    )
    p.add_argument(
        "--fault",
        action="append",
        type=_fault,
        default=[],
        metavar="SPEC",
        help="inject a fault: nak:N crc:N drop:N silent:S busy:S host-down[:RC] unplug:S",
    )
    p.add_argument(
        "--password", type=cliargs.password, default="000000", help="terminal password (6 digits)"
    )
    p.add_argument(
        "--currency", type=cliargs.currency, default=978, help="currency, e.g. EUR or CNY"
    )
    p.add_argument(
        "--tid", type=cliargs.terminal_id, default="29001006", help="terminal id (8 digits)"
    )
    p.add_argument(
        "--baud", type=cliargs.baud, default=9600, help="line speed for --device and --pace"
    )
    p.add_argument("--pace", action="store_true", help="send and receive at the wire's speed")
    p.add_argument(
        "--delay", type=cliargs.non_negative, default=0.0, help="seconds before answering a command"
    )
    p.add_argument(
        "--random-sales",
        type=float,
        default=0.0,
        metavar="PER_MIN",
        help="sales arriving at random, per minute",
    )
    p.add_argument("--scenario", type=Path, help="file of '+SECONDS command' control lines")
    p.add_argument(
        "--sale",
        action="append",
        type=_sale,
        default=[],
        metavar="AMOUNT[:CARD]",
        help="a sale already in the batch at start",
    )
    p.add_argument(
        "--receipts",
        choices=("continuous", "per-batch", "none"),
        default="continuous",
        help="receipt numbers: 0001-9999 and wrap across batches (default), from 0001 in each"
        " batch, or none in the totals",
    )
    p.add_argument("--exit-on-eof", action="store_true", help="stop when stdin closes")


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


def _fail(message: str, code: int) -> int:
    print(f"settle-guard sim: {message}", file=sys.stderr)
    return code


def run(args: argparse.Namespace) -> int:
    sys.stdout.flush()
    out = DroppingLog(sys.stdout.fileno())
    try:
        return _serve(args, out)
    finally:
        out.close()


def _serve(args: argparse.Namespace, out: DroppingLog) -> int:
    from ..money import parse_amount
    from .server import SimServer, parse_scenario
    from .terminal import SimTerminal

    try:
        currency = args.currency
        scenario = parse_scenario(args.scenario.read_text()) if args.scenario else None
        terminal = SimTerminal(password=args.password, currency=currency, terminal_id=args.tid,
                               receipt_numbers=args.receipts)  # fmt: skip
        for amount, card in args.sale:
            terminal.add_sale(parse_amount(amount, currency), card)
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
            log=out,
        )
        for spec in args.fault:
            server.inject(spec)
    except OSError as exc:
        return _fail(f"cannot read {exc.filename}: {exc.strerror}", 2)
    except ValueError as exc:
        return _fail(str(exc), 2)

    try:
        server.start()
    except Exception as exc:  # one line, never a traceback
        where = args.device or args.listen or args.link or "pty"
        return _fail(f"cannot open {where}: {getattr(exc, 'strerror', None) or exc}", 3)

    done = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: done.set())
    out(f"port: {server.url}")

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
