"""Simulated guards on an MQTT broker, for load tests of a chain's broker and `fleet watch`.

    python -m pi_agent.fleet.simulate --broker mqtt://127.0.0.1:1883 --guards 500

Each simulated guard is its own MQTT connection, as a real one is: a last will of
"offline" on PREFIX/SHOP/availability, then its birth ("online") and its state document
(retained, QoS 1) as the guard's publisher sends them. The documents are built from real
`GuardSnapshot` values, so they have the shape a head office sees; shop N's level follows
`level_of(N)`, so a reader knows what to expect. One `Swarm` drives any number of these
connections from one thread (one selector, paho's external loop), so a thousand guards
need a few processes, not a thousand threads. The command prints "ready N" once the broker
has acknowledged every state, then keeps the connections until stdin closes or it is
killed; killed, the broker publishes each guard's last will.

`LocalBroker` starts a throwaway Mosquitto on a free loopback port, for tests and benches.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import pwd
import selectors
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from ..guard.assessment import Level
from ..snapshot import GuardSnapshot, LastSettlement, NextPayout
from ..terminal.models import Condition, TerminalStatus
from .topics import OFFLINE, ONLINE, Topics

ZONE = ZoneInfo("Europe/Berlin")
# One shop in ten of each kind of trouble, the rest calm: shop N has LEVELS_BY_N[N % 10].
LEVELS_BY_N = (Level.OK, Level.OK, Level.INFO, Level.WARN, Level.OK, Level.URGENT,
               Level.OK, Level.OVERDUE, Level.FAULT, Level.OK)  # fmt: skip
_REASONS = {Level.OK: (), Level.INFO: ("open-batch",), Level.WARN: ("open-batch",),
            Level.URGENT: ("open-batch", "auth-age"), Level.OVERDUE: ("overdue-batch",),
            Level.FAULT: ("terminal-dead",)}  # fmt: skip
_MINUTES = {Level.OK: 300, Level.INFO: 120, Level.WARN: 45, Level.URGENT: 10,
            Level.OVERDUE: -35, Level.FAULT: 90}  # fmt: skip


def shop_id(n: int) -> str:
    return f"shop-{n:04d}"


def level_of(n: int) -> Level:
    return LEVELS_BY_N[n % len(LEVELS_BY_N)]


def snapshot(n: int, at: datetime | None = None, level: Level | None = None) -> GuardSnapshot:
    """Shop N's snapshot at `at` (default now): an open batch, yesterday's settlement."""
    at = at or datetime.now(ZONE).replace(microsecond=0)
    level = level or level_of(n)
    reasons = _REASONS[level]
    cutoff = at + timedelta(minutes=_MINUTES[level])
    count = 0 if level is Level.OK else 3 + n % 40
    dead = level is Level.FAULT
    status = TerminalStatus(0xFF if dead else 0, Condition.ATTENTION if dead else Condition.READY,
                            "no answer" if dead else "ready")  # fmt: skip
    settled = at - timedelta(hours=20)
    return GuardSnapshot(
        at=at, level=level, reasons=reasons,
        alarms=tuple(r for r in reasons if level.value >= Level.URGENT.value),
        acknowledged=False, trading_day=at.date(), cutoff=cutoff,
        batch_key=f"sim-{n}-{at:%Y%m%d}", batch_count=count, batch_total=count * 1250 + n,
        currency=978, oldest_sale_at=at - timedelta(minutes=30 + n % 200) if count else None,
        oldest_sale_estimated=False, terminal=status, terminal_answering=not dead,
        data_at=at - timedelta(seconds=15), last_settlement=LastSettlement(
            id=n, state="failed" if n % 17 == 16 else "ok", at=settled,
            verified=n % 17 != 16, total=80_000 + n, count=20),
        next_payout=NextPayout(date.fromordinal(settled.date().toordinal() + 1), 80_000 + n, 978),
    )  # fmt: skip


def document(n: int, at: datetime | None = None, level: Level | None = None) -> dict[str, Any]:
    """Shop N's retained state as its guard's publisher sends it: the snapshot, and who."""
    return {**snapshot(n, at, level).to_json(), "shop": shop_id(n), "shop_name": f"Shop {n}"}


class Swarm:
    """Many guards' connections, driven by one thread (`pump`). Not thread-safe: the thread
    that adds guards is the one that pumps."""

    def __init__(self, host: str, port: int, *, prefix: str = "settleguard",
                 keepalive: int = 60) -> None:  # fmt: skip
        self.host, self.port, self.prefix, self.keepalive = host, port, prefix, keepalive
        self.clients: dict[str, Any] = {}
        self.acked: set[str] = set()  # shops whose last state the broker acknowledged
        self._pending: dict[tuple[str, int], str] = {}
        self._selector = selectors.DefaultSelector()
        self._misc = 0.0

    def add(self, shop: str, state: dict[str, Any] | bytes) -> None:
        """Connect one guard: last will, then birth and state once the broker accepts it."""
        import paho.mqtt.client as mqtt

        topics = Topics(self.prefix, shop)
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"sim-{shop}")
        client.will_set(topics.availability, OFFLINE, qos=1, retain=True)
        payload = state if isinstance(state, bytes) else _json(state)

        def connected(c: Any, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
            if not reason.is_failure:
                c.publish(topics.availability, ONLINE, qos=1, retain=True)
                self.publish(shop, payload)

        def published(c: Any, userdata: Any, mid: int, reason: Any, props: Any) -> None:
            done = self._pending.pop((shop, mid), None)
            if done is not None:
                self.acked.add(done)

        client.on_connect, client.on_publish = connected, published
        client.connect(self.host, self.port, keepalive=self.keepalive)
        self.clients[shop] = client
        self._selector.register(client.socket(), selectors.EVENT_READ, client)

    def publish(self, shop: str, state: dict[str, Any] | bytes) -> None:
        """A new retained state for a connected guard (b"" removes the shop)."""
        payload = state if isinstance(state, bytes) else _json(state)
        self.acked.discard(shop)
        info = self.clients[shop].publish(Topics(self.prefix, shop).state, payload, qos=1,
                                          retain=True)  # fmt: skip
        self._pending[(shop, info.mid)] = shop

    def pump(self, seconds: float = 0.05) -> None:
        """Move bytes for every connection for about `seconds`."""
        end = time.monotonic() + seconds
        while True:
            for client in self.clients.values():
                if client.want_write():
                    client.loop_write()
            for key, _ in self._selector.select(max(end - time.monotonic(), 0)):
                key.data.loop_read()
            now = time.monotonic()
            if now - self._misc >= 1.0:  # keepalive pings
                self._misc = now
                for client in self.clients.values():
                    client.loop_misc()
            if now >= end:
                return

    def pump_until(self, done: Callable[[], bool], seconds: float = 30.0) -> None:
        end = time.monotonic() + seconds
        while not done():
            if time.monotonic() > end:
                raise TimeoutError(f"simulated guards not done within {seconds:g} s")
            self.pump(0.05)

    def all_acked(self) -> bool:
        return len(self.acked) == len(self.clients)

    def drop(self, shop: str) -> None:
        """Cut a guard's connection without a goodbye (power cut, cable pulled): the broker
        then publishes its last will."""
        client = self.clients.pop(shop)
        sock = client.socket()
        self._selector.unregister(sock)
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        sock.close()
        self.acked.discard(shop)

    def close(self) -> None:
        """Every guard says goodbye as a stopping guard does: "offline", then disconnect."""
        for shop, client in list(self.clients.items()):
            client.publish(Topics(self.prefix, shop).availability, OFFLINE, qos=1, retain=True)
            client.disconnect()
        self.pump(0.2)
        self.clients.clear()
        self._selector.close()


def _json(doc: dict[str, Any]) -> bytes:
    import json

    return json.dumps(doc, ensure_ascii=False).encode()


class LocalBroker:
    """A throwaway Mosquitto on a free loopback port (127.0.0.1 only, anonymous), started by
    tests and benches; `stop()` and `start()` again keep the port, so clients can reconnect."""

    host = "127.0.0.1"

    def __init__(self, workdir: Path | str, *, users: dict[str, str] | None = None) -> None:
        """`users`: names and passwords the broker asks for (default: anyone may connect)."""
        exe = shutil.which("mosquitto") or next(
            (p for p in ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto") if os.path.exists(p)),
            None,
        )
        if exe is None:
            raise FileNotFoundError(
                "mosquitto is not installed (Debian: apt-get install mosquitto)"
            )
        self.exe, self.workdir = exe, Path(workdir)
        with socket.socket() as s:
            s.bind((self.host, 0))
            self.port = s.getsockname()[1]
        # Started as root, Mosquitto becomes the user `user` names: stay whoever started it,
        # so it reads the files in a folder only its starter may read.
        lines = [f"listener {self.port} {self.host}", f"user {pwd.getpwuid(os.geteuid()).pw_name}",
                 "persistence false", "log_dest stderr", "log_type error", "log_type warning",
                 f"allow_anonymous {'false' if users else 'true'}"]  # fmt: skip
        if users:
            passwords = self.workdir / "mosquitto.passwd"
            passwords.write_text("")
            tool = Path(exe).with_name("mosquitto_passwd")
            tool = tool if tool.exists() else Path(shutil.which("mosquitto_passwd") or tool)
            for name, password in users.items():
                subprocess.run([str(tool), "-b", str(passwords), name, password], check=True,
                               capture_output=True)  # fmt: skip
            lines.append(f"password_file {passwords}")
        self.conf = self.workdir / "mosquitto.conf"
        self.conf.write_text("\n".join(lines) + "\n")
        self.log = self.workdir / "mosquitto.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self, seconds: float = 10.0) -> LocalBroker:
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen([self.exe, "-c", str(self.conf)],
                                            stdout=log, stderr=log)  # fmt: skip
        end = time.monotonic() + seconds
        while True:
            try:
                socket.create_connection((self.host, self.port), timeout=1).close()
                return self
            except OSError:
                if self.process.poll() is not None or time.monotonic() > end:
                    self.stop()
                    tail = self.log.read_text(errors="replace")[-500:]
                    raise RuntimeError(
                        f"mosquitto did not start on port {self.port}: {tail}"
                    ) from None
                time.sleep(0.02)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None


def main(argv: list[str] | None = None) -> int:
    from .watch import broker

    p = argparse.ArgumentParser(prog="python -m pi_agent.fleet.simulate", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    p.add_argument("--broker", type=broker, required=True, help="mqtt://HOST[:PORT]")
    p.add_argument("--prefix", default="settleguard")
    p.add_argument("--guards", type=int, default=10, help="how many guards (default 10)")
    p.add_argument("--first", type=int, default=0, help="the first shop's number (default 0)")
    args = p.parse_args(argv)
    if args.broker.tls:
        p.error("--broker: the simulator speaks mqtt:// only")
    swarm = Swarm(args.broker.host, args.broker.port, prefix=args.prefix)
    for n in range(args.first, args.first + args.guards):
        swarm.add(shop_id(n), document(n))
    swarm.pump_until(swarm.all_acked, seconds=120)
    print(f"ready {len(swarm.clients)}", flush=True)
    stdin_closed = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.read(), stdin_closed.set()), daemon=True).start()
    while not stdin_closed.is_set():
        swarm.pump(0.5)
    swarm.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
