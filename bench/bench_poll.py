"""Poll benchmark: the guard's poll against each simulator, ZVT beside POSLink.

A poll is status + totals: ZVT's Status Enquiry + Send Turnover Totals over a pty;
POSLink's A00, then R00, R10 and R02 records 0 and last, over a pty, TCP and HTTP.
Each simulator runs in its own process, so the CPU figure is this process alone:
the driver side (caller plus link worker). Printed per poll: median and p95 wall
time, median CPU time and, on a pty, the bytes on the wire. The POSLink simulator
runs with its ACK delay at 0 (its default 50 ms per request imitates a terminal's
pause and is no cost of the driver).

Then, with each simulator pacing its pty at 9600 baud (ZVT 8N2, 11 bits a byte;
POSLink 8N1, 10 bits a byte), the ratio of the wall time to the wire time of the
bytes exchanged (requests, ACKs, responses). Targets: <= 2 ms CPU per poll; paced
round trip <= 1.15 x wire time (+ the ZVT simulator's processing delay, if set).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pi_agent.sim import poslink_server, server  # noqa: E402
from pi_agent.terminal.base import Terminal  # noqa: E402
from pi_agent.terminal.poslink import PosLinkTerminal  # noqa: E402
from pi_agent.terminal.zvt import ZvtTerminal  # noqa: E402

BAUD = 9600
SALES = (("45.50", "girocard", "02"), ("20.00", "mastercard", "01"), ("12.34", "visa", "01"))
Trace = Callable[[str, bytes], None]


@dataclass
class Figures:
    walls: list[float]
    cpus: list[float]
    wire_bytes: float  # per poll; 0 where not counted (TCP, HTTP)

    @property
    def wall(self) -> float:
        return statistics.median(self.walls)

    @property
    def p95(self) -> float:
        return sorted(self.walls)[max(0, int(len(self.walls) * 0.95) - 1)]

    @property
    def cpu(self) -> float:
        return statistics.median(self.cpus)


class Simulator:
    """A simulator in its own process: waits for its ready line, then drains its output
    so a full pipe never slows it."""

    def __init__(self, argv: list[str], ready: str, control: list[str] = ()) -> None:
        self.proc = subprocess.Popen([sys.executable, *argv], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, cwd=ROOT)  # fmt: skip
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.line = self.proc.stdout.readline()
        if not self.line.startswith(ready):
            self.proc.kill()
            raise SystemExit(f"simulator did not start: {self.line!r}")
        for command in control:  # each answered with one line before the first poll
            self.proc.stdin.write(command + "\n")
            self.proc.stdin.flush()
            self.proc.stdout.readline()
        threading.Thread(target=self.proc.stdout.read, daemon=True).start()

    def __enter__(self) -> Simulator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.proc.terminate()
        self.proc.wait(10)


def measure(connect: Callable[[Trace], Terminal], polls: int) -> Figures:
    counted = [0]

    def trace(direction: str, data: bytes) -> None:
        counted[0] += len(data)

    terminal = connect(trace)
    try:
        if not terminal.wait_connected(10):
            raise SystemExit(f"cannot connect to {getattr(terminal, 'url', 'the simulator')}")
        terminal.status()
        terminal.totals()  # warm up: imports, caches
        walls, cpus = [], []
        counted[0] = 0
        for _ in range(polls):
            w0, c0 = time.perf_counter(), time.process_time()
            terminal.status()
            terminal.totals()
            walls.append(time.perf_counter() - w0)
            cpus.append(time.process_time() - c0)
        return Figures(walls, cpus, counted[0] / polls)
    finally:
        terminal.close()


def zvt_sim(link: Path, *extra: str) -> tuple[Simulator, str]:
    sales = [f"--sale={amount}:{card}" for amount, card, _ in SALES]
    sim = Simulator(["-m", "pi_agent", "sim", "--pty", "--link", str(link), *extra, *sales],
                    "port: ")  # fmt: skip
    return sim, sim.line.removeprefix("port: ").strip()


def poslink_sim(link: Path, *extra: str) -> Simulator:
    sales = [f"sale {amount} {edc}" for amount, _, edc in SALES]
    return Simulator(["-m", "pi_agent.sim.poslink_server", "--link", str(link), "--ack-delay",
                      "0", *extra], "pty ", sales)  # fmt: skip


def zvt(url: str) -> Callable[[Trace], Terminal]:
    return lambda trace: ZvtTerminal(url, handshake=False, trace=trace)


def poslink(url: str) -> Callable[[Trace], Terminal]:
    return lambda trace: PosLinkTerminal(url, timeouts=(10.0, 120.0), trace=trace)


def unpaced_row(name: str, f: Figures) -> str:
    wire = f"{f.wire_bytes:6.0f}" if f.wire_bytes else "     -"
    return (f"  {name:<14} {f.wall * 1e3:8.2f} ms {f.p95 * 1e3:8.2f} ms {f.cpu * 1e3:8.2f} ms"
            f"   {wire}")  # fmt: skip


def paced_row(name: str, f: Figures, bits: int, processing: float) -> str:
    wire = f.wire_bytes * bits / BAUD
    ratio = (f.wall - processing) / wire
    return (f"  {name:<14} {f.wall * 1e3:8.1f} ms {f.p95 * 1e3:8.1f} ms {wire * 1e3:8.1f} ms"
            f" {f.wire_bytes:6.0f}   {ratio:6.3f} x   {f.cpu * 1e3:6.2f} ms")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--polls", type=int, default=200)
    parser.add_argument("--paced-polls", type=int, default=20)
    parser.add_argument(
        "--delay", type=float, default=0.0, help="ZVT simulator processing delay (s)"
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        fast = {}
        sim, url = zvt_sim(Path(tmp) / "zvt")
        with sim:
            fast["ZVT pty"] = measure(zvt(url), args.polls)
        with poslink_sim(Path(tmp) / "pax", "--tcp", "--http") as sim:
            _, pty, _, tcp, _, http = sim.line.split()
            fast["POSLink pty"] = measure(poslink(pty), args.polls)
            fast["POSLink TCP"] = measure(poslink(f"socket://127.0.0.1:{tcp}"), args.polls)
            fast["POSLink HTTP"] = measure(poslink(f"http://127.0.0.1:{http}"), args.polls)

        pace = ["--pace", "--baud", str(BAUD)]
        sim, url = zvt_sim(Path(tmp) / "zvt-paced", *pace, "--delay", str(args.delay))
        with sim:
            zvt_paced = measure(zvt(url), args.paced_polls)
        with poslink_sim(Path(tmp) / "pax-paced", *pace) as sim:
            poslink_paced = measure(poslink(sim.line.split()[1]), args.paced_polls)

    print(f"poll (status + totals), unpaced, {args.polls} polls; CPU = the driver's process;")
    print("POSLink simulator ACK delay 0")
    print("                 wall median       p95   CPU median   bytes")
    for name, figures in fast.items():
        print(unpaced_row(name, figures))
    print("  (target <= 2 ms CPU per poll)")
    print(f"paced at {BAUD} baud, {args.paced_polls} polls; ZVT delay {args.delay:g} s/command,"
          " POSLink ACK delay 0")  # fmt: skip
    print("                 wall median       p95    wire time   bytes    ratio          CPU")
    print(paced_row("ZVT 8N2", zvt_paced, server.BITS_PER_BYTE, 2 * args.delay))
    print(paced_row("POSLink 8N1", poslink_paced, poslink_server.BITS_PER_BYTE, 0.0))
    print("  (ratio = (wall - processing delay) / wire time; target <= 1.15)")


if __name__ == "__main__":
    main()
