"""Poll benchmark: Status Enquiry + Send Turnover Totals against the simulator over a pty.

Prints, per poll: median and p95 wall time, median CPU time of this process (the
ECR side: caller plus link worker; the simulator runs in its own process), and
with the simulator pacing bytes at 9600 baud 8N2 the ratio of the wall time to
the wire time of the bytes exchanged. Targets: <= 2 ms CPU per poll; paced
round trip <= 1.15 x wire time + the simulator's processing delay.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pi_agent.terminal.zvt import ZvtTerminal  # noqa: E402

BITS_PER_BYTE = 11  # start + 8 data + 2 stop


def start_sim(link: Path, *extra: str) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "pi_agent", "sim", "--pty", "--link", str(link), *extra],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT,
    )  # fmt: skip
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.startswith("port: "):
        proc.kill()
        raise SystemExit(f"simulator did not start: {line!r}")
    return proc, line.removeprefix("port: ").strip()


def measure(url: str, polls: int) -> tuple[list[float], list[float], float]:
    counted = [0]

    def trace(direction: str, data: bytes) -> None:
        counted[0] += len(data)

    terminal = ZvtTerminal(url, handshake=False, trace=trace)
    try:
        if not terminal.wait_connected(10):
            raise SystemExit(f"cannot connect: {terminal.link.last_error}")
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
        return walls, cpus, counted[0] / polls
    finally:
        terminal.close()


def p95(values: list[float]) -> float:
    return sorted(values)[max(0, int(len(values) * 0.95) - 1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--polls", type=int, default=200)
    parser.add_argument("--paced-polls", type=int, default=20)
    parser.add_argument("--delay", type=float, default=0.0, help="simulator processing delay (s)")
    args = parser.parse_args()
    sales = [f"--sale={a}:{c}" for a, c in (("45.50", "girocard"), ("20.00", "mastercard"),
                                             ("12.34", "visa"))]  # fmt: skip

    with tempfile.TemporaryDirectory() as tmp:
        proc, url = start_sim(Path(tmp) / "fast", *sales)
        try:
            walls, cpus, wire_bytes = measure(url, args.polls)
        finally:
            proc.terminate()
            proc.wait(10)
        print(f"unpaced pty, {args.polls} polls (status + totals):")
        med = statistics.median(walls)
        print(f"  wall   median {med * 1e3:7.2f} ms   p95 {p95(walls) * 1e3:7.2f} ms")
        print(f"  CPU    median {statistics.median(cpus) * 1e3:7.2f} ms   (target <= 2 ms)")
        print(f"  bytes  {wire_bytes:.0f} per poll on the wire")

        proc, url = start_sim(Path(tmp) / "paced", "--pace", "--baud", "9600",
                              "--delay", str(args.delay), *sales)  # fmt: skip
        try:
            walls, cpus, wire_bytes = measure(url, args.paced_polls)
        finally:
            proc.terminate()
            proc.wait(10)
        wire = wire_bytes * BITS_PER_BYTE / 9600
        processing = 2 * args.delay  # two commands per poll
        median = statistics.median(walls)
        ratio = (median - processing) / wire
        print(f"paced at 9600 8N2, {args.paced_polls} polls, delay {args.delay:g} s/command:")
        print(f"  wall   median {median * 1e3:7.1f} ms   p95 {p95(walls) * 1e3:7.1f} ms")
        print(f"  wire   {wire * 1e3:7.1f} ms for {wire_bytes:.0f} bytes")
        print(f"  ratio  {ratio:.3f} x wire time (after the processing delay; target <= 1.15)")
        print(f"  CPU    median {statistics.median(cpus) * 1e3:7.2f} ms")


if __name__ == "__main__":
    main()
