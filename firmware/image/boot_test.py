"""make image-test: boot the SettleGuard image in QEMU and walk it as a technician would.

The image that ships (the .img.xz, its sha256 checked) boots in `qemu-system-aarch64 -M
virt -cpu cortex-a53 -m 512` with its own kernel, initrd and cmdline.txt (the console moved
to the emulated UART). The terminal simulator runs here on a pty, attached to the guest as a
USB serial adapter (QEMU's FTDI `usb-serial`: /dev/ttyUSB0 inside, as with a real adapter);
the page is forwarded to a loopback port the OS picks. In order, each with its time:

  boot to the service's READY; the setup code (the guard logs it when it has no OLED, as
  here); the page answers; the code is taken and a password set; the first run's probe
  finds the terminal and its first poll shows the simulator's batch; a settlement from the
  page is verified; the power cut (QEMU killed) while the terminal closes a batch, then a
  reboot: one end-of-day for that batch, never two; across both boots the root partition
  did not change by one byte (read-only root) while the guard's state did and survived.

The times are an emulation's on this machine, not a Raspberry Pi's.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import secrets
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests

REPO = Path(__file__).resolve().parents[2]
SECTOR = 512
BOOT_TIMEOUT = 900.0  # seconds to READY under emulation (a Pi takes well under a minute)
READY = re.compile(r"Started settle-guard\.service|Started SettleGuard card terminal")
SETUP_CODE = re.compile(r"the web page's setup code is (\d[\d ]*\d)")
PASSWORD = secrets.token_urlsafe(12)  # made anew each run: no password is fixed anywhere


class Failed(Exception):
    pass


def say(text: str) -> None:
    print(f"image-test: {text}", flush=True)


@contextmanager
def step(name: str, times: list[tuple[str, float]]) -> Iterator[None]:
    start = time.monotonic()
    yield
    took = time.monotonic() - start
    times.append((name, took))
    say(f"{name:<58} {took:7.1f} s")


def wait_for(what: str, check: Callable[[], Any], timeout: float, every: float = 1.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise Failed(f"{what}: not within {timeout:.0f} s")
        time.sleep(every)


# -- the disk ------------------------------------------------------------------------------


def partitions(disk: Path) -> list[tuple[int, int]]:
    """(offset, size) in bytes of the MBR's primary partitions, in order."""
    with disk.open("rb") as f:
        mbr = f.read(SECTOR)
    if mbr[510:512] != b"\x55\xaa":
        raise Failed(f"{disk}: no MBR partition table")
    found = []
    for i in range(4):
        entry = mbr[446 + 16 * i : 446 + 16 * (i + 1)]
        kind, start, count = entry[4], *struct.unpack("<II", entry[8:16])
        if kind:
            found.append((start * SECTOR, count * SECTOR))
    return found


def digest(disk: Path, part: tuple[int, int]) -> str:
    h = hashlib.sha256()
    with disk.open("rb") as f:
        f.seek(part[0])
        left = part[1]
        while left:
            chunk = f.read(min(left, 1 << 20))
            h.update(chunk)
            left -= len(chunk)
    return h.hexdigest()


def boot_partition_names(disk: Path, boot: tuple[int, int]) -> set[str]:
    """The names in the FAT partition's top folder (mtools, no mount)."""
    found = subprocess.run(["mdir", "-b", "-i", f"{disk}@@{boot[0]}", "::/"], check=True,
                           capture_output=True, text=True).stdout.split()  # fmt: skip
    return {n.removeprefix("::/") for n in found}


def boot_files(disk: Path, boot: tuple[int, int], into: Path) -> tuple[Path, Path, str]:
    """The kernel, initrd and cmdline.txt from the FAT partition (mtools, no mount)."""
    image = f"{disk}@@{boot[0]}"
    names = boot_partition_names(disk, boot)
    wanted = {}
    for prefix in ("vmlinuz-", "initrd.img-"):
        found = sorted(n for n in names if n.startswith(prefix))
        if not found:
            raise Failed(f"no {prefix}* on the boot partition")
        wanted[prefix] = found[-1]
    for name in (*wanted.values(), "cmdline.txt"):
        subprocess.run(["mcopy", "-n", "-i", image, f"::/{name}", str(into / name)], check=True)
    cmdline = (into / "cmdline.txt").read_text().split()
    return into / wanted["vmlinuz-"], into / wanted["initrd.img-"], " ".join(cmdline)


def put_on_boot_partition(disk: Path, boot: tuple[int, int], name: str, text: str) -> None:
    """What a PC does to the card's firmware partition (mtools, no mount)."""
    with tempfile.NamedTemporaryFile("w", suffix=".txt") as f:
        f.write(text)
        f.flush()
        subprocess.run(["mcopy", "-i", f"{disk}@@{boot[0]}", f.name, f"::/{name}"], check=True)


# -- the simulator and the machine ------------------------------------------------------------


class Lines:
    """A process's output lines, collected by a thread, kept and searchable."""

    def __init__(self, stream: Any, log: Path, label: str) -> None:
        self.lines: list[str] = []
        self._cond = threading.Condition()
        self._log = log.open("a", encoding="utf-8", errors="replace")
        self._label = label
        threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    def _read(self, stream: Any) -> None:
        for raw in stream:
            line = (
                raw.decode("utf-8", "replace").rstrip("\r\n")
                if isinstance(raw, bytes)
                else raw.rstrip("\n")
            )
            self._log.write(f"{self._label}: {line}\n")
            self._log.flush()
            with self._cond:
                self.lines.append(line)
                self._cond.notify_all()

    def count(self, pattern: re.Pattern[str]) -> int:
        with self._cond:
            return sum(1 for line in self.lines if pattern.search(line))

    def wait(self, pattern: re.Pattern[str], timeout: float, since: int = 0) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for line in self.lines[since:]:
                    m = pattern.search(line)
                    if m:
                        return m
                left = deadline - time.monotonic()
                if left <= 0:
                    raise Failed(f"no line matching {pattern.pattern!r} within {timeout:.0f} s")
                self._cond.wait(min(left, 1.0))

    def mark(self) -> int:
        with self._cond:
            return len(self.lines)


class Simulator:
    def __init__(self, work: Path, log: Path) -> None:
        self.link = work / "terminal"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "pi_agent", "sim", "--pty", "--link", str(self.link),
             "--sale", "12.50"],
            cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, bufsize=1,
        )  # fmt: skip
        self.out = Lines(self.proc.stdout, log, "sim")
        self.out.wait(re.compile(r"^port: "), 30)

    def control(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


class Machine:
    """One power-on of the emulated Pi: its UART console is kept as lines."""

    def __init__(self, disk: Path, boot: tuple[Path, Path, str], *, terminal: Path, port: int,
                 log: Path, label: str) -> None:  # fmt: skip
        kernel, initrd, cmdline = boot
        args = [
            "qemu-system-aarch64", "-M", "virt", "-cpu", "cortex-a53", "-m", "512", "-smp", "2",
            "-display", "none", "-monitor", "none", "-serial", "stdio", "-no-reboot",
            "-kernel", str(kernel), "-initrd", str(initrd), "-append", cmdline,
            "-drive", f"file={disk},format=raw,if=none,id=disk",
            "-device", "virtio-blk-pci,drive=disk",
            "-netdev", f"user,id=net,hostfwd=tcp:127.0.0.1:{port}-:8080",
            "-device", "virtio-net-pci,netdev=net,romfile=",  # no boot ROM: ipxe-qemu not needed
            "-device", "qemu-xhci,id=usb",
            "-chardev", f"serial,id=terminal,path={terminal.resolve()}",
            "-device", "usb-serial,bus=usb.0,chardev=terminal",
        ]  # fmt: skip
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT)  # fmt: skip
        self.console = Lines(self.proc.stdout, log, label)

    def power_cut(self) -> None:
        self.proc.kill()
        self.proc.wait(30)

    def alive(self) -> bool:
        return self.proc.poll() is None


# -- the page -----------------------------------------------------------------------------


class Page:
    def __init__(self, port: int) -> None:
        self.base = f"http://127.0.0.1:{port}"
        self.http = requests.Session()
        self.token = ""

    def get(self, path: str, **kw: Any) -> requests.Response:
        return self.http.get(self.base + path, timeout=60, **kw)

    def post(self, path: str, data: dict[str, Any], page: str) -> requests.Response:
        """A form as the browser sends it: with the CSRF token of the page it is on."""
        data = {"csrf": csrf(self.get(page).text), **data}
        return self.http.post(self.base + path, data=data, timeout=120)

    def answers(self) -> bool:
        try:
            return self.get("/", allow_redirects=False).status_code in (200, 302, 303)
        except requests.RequestException:
            return False

    def status(self) -> dict[str, Any]:
        r = self.http.get(self.base + "/api/v1/status", timeout=60,
                          headers={"Authorization": f"Bearer {self.token}"})  # fmt: skip
        if r.status_code != 200:
            raise Failed(f"/api/v1/status: {r.status_code} {r.text[:200]}")
        return r.json()


def csrf(html: str) -> str:
    m = re.search(r'name="csrf" value="([^"]+)"', html)
    if not m:
        raise Failed("a form without its CSRF token")
    return m.group(1)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- the walk -----------------------------------------------------------------------------


def prepare(image_xz: Path, work: Path) -> Path:
    line = Path(f"{image_xz}.sha256").read_text().split()
    h = hashlib.sha256()
    with image_xz.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    if not line or line[0] != h.hexdigest():
        raise Failed(f"{image_xz}: sha256 does not match {image_xz.name}.sha256")
    disk = work / "disk.img"
    with disk.open("wb") as out:
        xz = subprocess.Popen(["xz", "-dc", str(image_xz)], stdout=subprocess.PIPE)
        assert xz.stdout is not None
        for chunk in iter(lambda: xz.stdout.read(1 << 20), b""):
            if chunk.count(0) == len(chunk):
                out.seek(len(chunk), os.SEEK_CUR)  # sparse, like the card's empty space
            else:
                out.write(chunk)
        out.truncate()
        if xz.wait() != 0:
            raise Failed(f"{image_xz}: xz could not unpack it")
    return disk


def walk(image_xz: Path, work: Path) -> list[tuple[str, float]]:
    times: list[tuple[str, float]] = []
    log = work / "console.log"
    with step("unpack the image, sha256 checked", times):
        disk = prepare(image_xz, work)
        parts = partitions(disk)
        if len(parts) != 3:
            raise Failed(f"expected 3 partitions (firmware, root, state), found {len(parts)}")
        kernel, initrd, cmdline = boot_files(disk, parts[0], work)
    if "root=LABEL=RASPIROOT" not in cmdline.split():
        raise Failed(f"cmdline.txt does not name the root by label: {cmdline}")
    # the image's own command line, its console on the emulated UART, the journal shown there
    words = [w for w in cmdline.split() if not w.startswith("console=")]
    append = " ".join([*words, "console=ttyAMA0", "systemd.journald.forward_to_console=1"])
    boot = (kernel, initrd, append)
    root_before, state_before = digest(disk, parts[1]), digest(disk, parts[2])
    sim = Simulator(work, log)
    port = free_port()
    page = Page(port)
    machine = None

    def start(label: str) -> Machine:
        return Machine(disk, boot, terminal=sim.link, port=port, log=log, label=label)

    try:
        machine = start("boot 1")
        with step("boot to the service's READY", times):
            machine.console.wait(READY, BOOT_TIMEOUT)
        with step("the setup code (no OLED here: the guard logs it)", times):
            code = machine.console.wait(SETUP_CODE, 120).group(1).replace(" ", "")
        with step("the page answers", times):
            wait_for("the page", page.answers, 300)
        with step("setup code taken, password set", times):
            r = page.post("/setup", {"code": code, "password": PASSWORD, "again": PASSWORD},
                          "/setup")  # fmt: skip
            if not r.url.endswith("/welcome"):
                raise Failed(f"the setup code was not taken: {r.status_code} {r.url}")
        with step("first run finds the terminal on the USB adapter", times):
            port_path = find_terminal(page)
        with step("the GPIO library loads (lgpio; QEMU is no Pi, so no pins)", times):
            lgpio = machine.console.wait(re.compile(r"Falling back from lgpio: (.*)"), 120)
            if "No module named" in lgpio.group(1):
                raise Failed(f"lgpio is not in the image: {lgpio.group(1)}")
        with step("first poll shows the simulator's batch", times):
            r = page.post("/access/tokens", {"name": "image test", "scope": ["read"],
                                             "password": PASSWORD}, "/access")  # fmt: skip
            m = re.search(r'<pre class="token">([^<]+)</pre>', r.text)
            if not m:
                raise Failed("no API token made")
            page.token = m.group(1).strip()
            wait_for("the batch of 12.50", lambda: batch_is(page, 1, 1250), 300, 2)
            say(f"  terminal on {port_path}: {page.status()['terminal']}")
        eod = re.compile(r"End-of-Day: settled")
        with step("a settlement from the page, verified", times):
            settle(page)
            sim.out.wait(re.compile(r"End-of-Day: settled 1 receipts, 12\.50"), 300)
            wait_for("the settlement verified", lambda: settled(page, 1250), 300, 2)
        with step("power cut while the terminal closes the next batch", times):
            sim.control("sale 7.30")
            wait_for("the batch of 7.30", lambda: batch_is(page, 1, 730), 300, 2)
            mark = sim.out.mark()
            settle(page)
            sim.out.wait(re.compile(r"End-of-Day: settled 1 receipts, 7\.30"), 300, since=mark)
            machine.power_cut()  # the terminal has closed the batch; the guard may not know
        machine = start("boot 2")
        with step("reboot to READY", times):
            machine.console.wait(READY, BOOT_TIMEOUT)
            wait_for("the page", page.answers, 300)
        with step("after the power cut: settled once, never twice", times):
            wait_for("the 7.30 settlement known", lambda: settled(page, 730, any_state=True),
                     600, 2)  # fmt: skip
            time.sleep(30)  # a few more polls: a second end-of-day would come now
            if (n := sim.out.count(eod)) != 2:
                raise Failed(f"{n} end-of-days for 2 batches")
            if (n := len(settlements_of(page, 730))) != 1:
                raise Failed(f"the journal has {n} settlements of the 7.30 batch")
            r = page.post("/login", {"password": PASSWORD}, "/login")
            if "/login" in r.url:
                raise Failed("the password set before the reboot does not log in")
        machine.power_cut()
        with step("read-only root: the root partition unchanged", times):
            if digest(disk, parts[1]) != root_before:
                raise Failed("the root partition changed: the read-only root let a write through")
            if digest(disk, parts[2]) == state_before:
                raise Failed("the state partition did not change: where did the guard write?")
        with step("the card's reset file: the page asks for a new setup code", times):
            reset_from_the_card(disk, parts[0], start, page)
    finally:
        if machine is not None and machine.alive():
            machine.power_cut()
        sim.stop()
    return times


def reset_from_the_card(
    disk: Path, firmware: tuple[int, int], start: Callable[[str], Machine], page: Page
) -> None:
    """A forgotten password, no button: settleguard-reset.txt put on the firmware partition
    by a PC clears the page's logins at the next boot, once; the guard's state stays."""
    put_on_boot_partition(disk, firmware, "settleguard-reset.txt", "reset\r\n")
    machine = start("boot 3")
    try:
        machine.console.wait(READY, BOOT_TIMEOUT)
        code = machine.console.wait(SETUP_CODE, 120).group(1).replace(" ", "")
        wait_for("the page", page.answers, 300)
        r = page.post("/login", {"password": PASSWORD}, "/login")
        if "/login" not in r.url and "/setup" not in r.url:
            raise Failed(f"the old password still logs in after the card's reset: {r.url}")
        try:
            page.status()
        except Failed:
            pass  # refused: the token went with the logins
        else:
            raise Failed("the API token made before still reads after the card's reset")
        again = secrets.token_urlsafe(12)
        r = page.post("/setup", {"code": code, "password": again, "again": again}, "/setup")
        if r.url.endswith("/setup"):
            raise Failed(f"the new setup code was not taken: {r.status_code} {r.url}")
        if not re.search(r"7[.,]30", page.get("/history").text):
            raise Failed("the guard's journal did not survive the card's reset")
    finally:
        machine.power_cut()
    if "settleguard-reset.txt" in {n.lower() for n in boot_partition_names(disk, firmware)}:
        raise Failed("the reset file stayed on the card: every boot would clear the logins")


def find_terminal(page: Page) -> str:
    html = page.get("/welcome").text
    ports = re.findall(r"<option(?: selected)?>(/dev/[^<]+)</option>", html)
    by_id = [p for p in ports if p.startswith("/dev/serial/by-id/")]
    if not by_id:
        raise Failed(f"the first run lists no USB serial adapter: {ports}")
    values = {"panel.locale": "en", "schedule.timezone": "Europe/Berlin",
              "calendar.country": "DE", "terminal.protocol": "zvt",
              "terminal.port": by_id[0]}  # fmt: skip
    r = page.post("/welcome", {**values, "action": "probe"}, "/welcome")
    if "Terminal found" not in r.text:
        found = re.findall(r'class="flash[^"]*">([^<]+)<', r.text)
        raise Failed(f"the probe did not find the terminal on {by_id[0]}: {found}")
    r = page.post("/welcome", {**values, "action": "save", "confirm_password": PASSWORD},
                  "/welcome")  # fmt: skip
    if r.url.endswith("/welcome"):
        raise Failed(f"the first run's answers were not saved: {r.status_code}")
    return by_id[0]


def batch_is(page: Page, count: int, minor: int) -> bool:
    try:
        status = page.status()
    except (requests.RequestException, Failed):
        return False
    return (status["batch_count"], status["batch_total"]) == (count, minor)


def settlements_of(page: Page, minor: int) -> list[dict[str, Any]]:
    """The journal's successful settlements of a batch of `minor` units."""
    r = page.http.get(page.base + "/api/v1/history/settlements", timeout=60,
                      headers={"Authorization": f"Bearer {page.token}"})  # fmt: skip
    if r.status_code != 200:
        return []
    amount = re.compile(rf"total_minor\W+{minor}\b")
    return [row for row in r.json()["settlements"]
            if row.get("state") == "ok" and amount.search(json.dumps(row))]  # fmt: skip


def settled(page: Page, minor: int, any_state: bool = False) -> bool:
    try:
        rows = settlements_of(page, minor)
    except requests.RequestException:
        return False
    return any(any_state or row.get("verified") for row in rows)


def settle(page: Page) -> None:
    r = page.post("/actions/settle", {"confirm": "yes", "password": PASSWORD}, "/actions")
    if r.status_code != 200:
        raise Failed(f"settle on the page: {r.status_code}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    version = re.search(r'version="([^"]+)"', (REPO / "setup.py").read_text())
    default = (
        REPO
        / "build"
        / "image"
        / f"settleguard-{version.group(1) if version else '?'}-arm64.img.xz"
    )
    parser.add_argument("image", nargs="?", type=Path, default=default, help=f"default {default}")
    parser.add_argument("--keep", action="store_true", help="keep the work folder and its logs")
    args = parser.parse_args()
    if not args.image.exists():
        print(f"image-test: no {args.image}: make image first", file=sys.stderr)
        return 2
    for tool in ("qemu-system-aarch64", "mdir", "mcopy", "xz"):
        if shutil.which(tool) is None:
            print(f"image-test: {tool} is missing: apt-get install qemu-system-arm mtools xz-utils",
                  file=sys.stderr)  # fmt: skip
            return 2
    work = Path(tempfile.mkdtemp(prefix="settleguard-image-test."))
    start = time.monotonic()
    try:
        times = walk(args.image, work)
    except Failed as exc:
        say(f"FAILED: {exc}")
        tail = (work / "console.log").read_text(errors="replace").splitlines()[-60:]
        print("\n".join(tail), file=sys.stderr)
        args.keep = True
        return 1
    finally:
        if args.keep:
            say(f"work folder kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    say(f"passed in {time.monotonic() - start:.0f} s ({len(times)} steps; an emulation's times, "
        "not a Raspberry Pi's)")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
