"""Start-up benchmark: from process start to the first successful poll and to the web page's
first answer (HTTP 200 or 302), unconfined and confined to 12 % of one core.

Runs `settle-guard run` as the service would (its own process, emulated OLED, mock pins,
the page on 127.0.0.1 at a port the OS gives) against the simulator on a pty in this
process. The confined runs put the service in a cgroup with a CPU quota of 12 ms per
100 ms, a rough proxy for a Pi Zero 2 W: cgroup v2 `cpu.max` = "12000 100000"; where the
v2 hierarchy has no cpu controller (a hybrid mount) the v1 cpu controller's
`cpu.cfs_quota_us` / `cpu.cfs_period_us` set the same CFS bandwidth limit. Without
either, only unconfined figures are printed. Targets on the proxy: first poll <= 2.0 s,
page <= 3.0 s.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench_agent import berlin_now, first_poll_at  # noqa: E402
from bench_web import free_port  # noqa: E402

from pi_agent import config  # noqa: E402
from pi_agent.sim import SimServer, SimTerminal  # noqa: E402

QUOTA_US, PERIOD_US = 12_000, 100_000
TIMEOUT = 60.0  # seconds for one start, confined
POLL_TARGET, PAGE_TARGET = 2.0, 3.0  # seconds, on the confined proxy


@dataclass
class Start:
    poll: float
    page: float


# -- confinement ---------------------------------------------------------------------


def _mounts() -> list[tuple[str, str, set[str]]]:
    """(mount point, type, options) of each cgroup file system."""
    found = []
    for line in Path("/proc/self/mounts").read_text().splitlines():
        _, point, kind, options, *_ = line.split()
        if kind in ("cgroup", "cgroup2"):
            found.append((point, kind, set(options.split(","))))
    return found


def _v2_child(root: Path, child: Path, made: list[Path]) -> None:
    """A child of the v2 root with cpu.max set; the root's subtree must offer cpu."""
    if "cpu" not in (root / "cgroup.controllers").read_text().split():
        raise OSError(f"no cpu controller in {root}/cgroup.controllers")
    if "cpu" not in (root / "cgroup.subtree_control").read_text().split():
        (root / "cgroup.subtree_control").write_text("+cpu")
    child.mkdir()
    made.append(child)
    (child / "cpu.max").write_text(f"{QUOTA_US} {PERIOD_US}")


def _v1_child(root: Path, child: Path, made: list[Path]) -> None:
    child.mkdir()
    made.append(child)
    (child / "cpu.cfs_period_us").write_text(str(PERIOD_US))
    (child / "cpu.cfs_quota_us").write_text(str(QUOTA_US))


@contextlib.contextmanager
def cpu_quota() -> Iterator[tuple[Path | None, str]]:
    """A cgroup limited to QUOTA_US per PERIOD_US: (its cgroup.procs, how) or (None, why not).
    The cgroup is removed on the way out (its processes must have ended by then)."""
    name = f"settle-guard-bench-{os.getpid()}"
    mounts = _mounts()
    v2 = [Path(p) for p, kind, _ in mounts if kind == "cgroup2"]
    v1 = [Path(p) for p, kind, opts in mounts if kind == "cgroup" and "cpu" in opts]
    made: list[Path] = []
    reasons = [] if v2 else ["no cgroup v2 file system mounted"]
    procs: Path | None = None
    how = ""
    attempts = [(root, "cgroup v2", _v2_child, "cpu.max") for root in v2]
    attempts += [(root, "cgroup v1 cpu", _v1_child, "cpu.cfs_quota_us") for root in v1]
    try:
        for root, kind, make, knob in attempts:
            try:
                make(root, root / name, made)
            except OSError as exc:
                reasons.append(f"{kind} at {root}: {exc.strerror or exc}")
                continue
            procs, how = root / name / "cgroup.procs", f"{kind} {root / name}/{knob}"
            how += f"; {'; '.join(reasons)}" if reasons else ""
            break
        yield (procs, how) if procs else (None, "; ".join(reasons) or "no cgroup cpu controller")
    finally:
        for path in reversed(made):
            for _ in range(50):  # an ended process leaves its cgroup a moment later
                try:
                    path.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.1)


# -- one start -----------------------------------------------------------------------


def page_answers(port: int) -> bool:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        conn.request("GET", "/")
        return conn.getresponse().status in (200, 302)
    except OSError:
        return False
    finally:
        conn.close()


def one_start(sim: SimServer, tmp: Path, procs: Path | None, env: dict[str, str]) -> Start:
    """Start the service (moved into the cgroup by a shell before it execs Python) and
    wait for both the first poll and the page; times are from just before the spawn."""
    port = free_port()
    cfg = config.replace(config.Config(), "terminal", port=sim.url)
    cfg = config.replace(cfg, "store", path=str(tmp / "guard.db"))
    cfg = config.replace(cfg, "web", enabled=True, listen=f"127.0.0.1:{port}")
    path = tmp / "config.toml"
    config.save(cfg, path)
    command = [sys.executable, "-m", "pi_agent", "run", "--config", str(path),
               "--log-level", "warning"]  # fmt: skip
    if procs is not None:
        command = ["/bin/sh", "-c", 'echo $$ > "$0" && exec "$@"', str(procs), *command]
    log = (tmp / "service.log").open("wb")

    def failed(why: str) -> SystemExit:
        return SystemExit(f"{why}; the service said:\n" + (tmp / "service.log").read_text())

    start = time.monotonic()
    proc = subprocess.Popen(command, env=env, cwd=ROOT, stderr=log)
    polled = answered = None
    try:
        while (polled is None or answered is None) and time.monotonic() - start < TIMEOUT:
            if proc.poll() is not None:
                raise failed(f"the service ended with {proc.returncode} during start")
            if polled is None:
                polled = first_poll_at(Path(cfg.store.path))
            if answered is None and page_answers(port):
                answered = time.monotonic()
            time.sleep(0.01)
        if polled is None or answered is None:
            raise failed(f"no first poll and page answer within {TIMEOUT:g} s")
        return Start(polled - start, answered - start)
    finally:
        proc.terminate()
        proc.wait(20)
        log.close()


def service_env(pycache: str | None) -> dict[str, str]:
    """Mock pins; byte code in `pycache` (written by the warm-up run) as pip leaves it on an
    appliance, or with None every start compiles the package from source."""
    env = {**os.environ, "GPIOZERO_PIN_FACTORY": "mock"}
    if pycache is not None:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = pycache
    return env


def series(runs: int, procs: Path | None, byte_code: bool) -> list[Start]:
    found = []
    with tempfile.TemporaryDirectory() as pycache:
        env = service_env(pycache if byte_code else None)
        for n in range(runs + 1):
            with (
                tempfile.TemporaryDirectory() as tmpdir,
                SimServer(SimTerminal(clock=berlin_now), link=Path(tmpdir) / "t") as sim,
            ):
                sim.terminal.add_sale(1250)
                result = one_start(sim, Path(tmpdir), procs, env)
            if n:  # the first run is a warm-up: byte code and page cache, as on an appliance
                found.append(result)
    return found


def report(label: str, starts: list[Start], targets: bool) -> None:
    poll = statistics.median(s.poll for s in starts)
    page = statistics.median(s.page for s in starts)
    each = ", ".join(f"{s.poll:.2f}/{s.page:.2f}" for s in starts)
    print(f"{label}: first poll {poll:.2f} s, page answers {page:.2f} s "
          f"(median of {len(starts)}; each poll/page: {each})")  # fmt: skip
    if targets:
        print(f"  targets on this proxy: first poll <= {POLL_TARGET} s, "
              f"page <= {PAGE_TARGET} s")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5, help="measured starts per setting")
    parser.add_argument("--unconfined-only", action="store_true")
    parser.add_argument("--no-byte-code", dest="byte_code", action="store_false",
                        help="compile the package from source at every start, as a source "
                             "tree under PYTHONDONTWRITEBYTECODE=1 does")  # fmt: skip
    args = parser.parse_args()
    if not args.byte_code:
        print("every start compiles the package from source (--no-byte-code)")
    report("start, unconfined", series(args.runs, None, args.byte_code), targets=False)
    if args.unconfined_only:
        return
    with cpu_quota() as (procs, how):
        if procs is None:
            print(f"start confined to 12 % of one core: not measured ({how}); "
                  "unconfined figures only")  # fmt: skip
            return
        report(
            f"start confined to 12 % of one core ({how})",
            series(args.runs, procs, args.byte_code),
            True,
        )


if __name__ == "__main__":
    main()
