"""A real Mosquitto for the fleet publisher's tests, on a loopback port the OS hands out,
and a second MQTT client that watches what the guard publishes (import `broker` as a fixture)."""

from __future__ import annotations

import json
import os
import pwd
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from pi_agent import config

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Broker:
    """`mosquitto -c FILE` with `listener PORT 127.0.0.1`; kill() and start() again keep
    the port. With users, a password file (hashed by mosquitto_passwd -U, so no password
    is on a command line) and an ACL file."""

    def __init__(self, tmp: Path, users: dict[str, str] | None = None, acl: str = "") -> None:
        if not os.path.exists(MOSQUITTO):
            pytest.fail("mosquitto is not installed (apt-get install mosquitto): the fleet's "
                        "tests need a real broker")  # fmt: skip
        self.tmp, self.port = tmp, free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        lines = [f"listener {self.port} 127.0.0.1", "persistence false",
                 f"user {pwd.getpwuid(os.getuid()).pw_name}",
                 f"log_dest file {tmp / 'mosquitto.log'}"]  # fmt: skip
        if users:
            passwd = tmp / "passwd"
            passwd.write_text("".join(f"{u}:{p}\n" for u, p in users.items()))
            passwd.chmod(0o600)
            subprocess.run(["mosquitto_passwd", "-U", str(passwd)], check=True, timeout=30)
            (tmp / "acl").write_text(acl)
            lines += ["allow_anonymous false", f"password_file {passwd}",
                      f"acl_file {tmp / 'acl'}"]  # fmt: skip
        else:
            lines.append("allow_anonymous true")
        self.conf = tmp / "mosquitto.conf"
        self.conf.write_text("\n".join(lines) + "\n")

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self) -> Broker:
        self.proc = subprocess.Popen([MOSQUITTO, "-c", str(self.conf)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # fmt: skip
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode() if self.proc.stderr else ""
                pytest.fail(f"mosquitto exited at start: {err}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                time.sleep(0.05)
        pytest.fail("mosquitto did not open its port within 10 s")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self.proc = None


@pytest.fixture(name="broker")
def broker_fixture(tmp_path: Path) -> Iterator[Broker]:
    b = Broker(tmp_path).start()
    yield b
    b.kill()


class Watcher:
    """A second client: keeps the last message per topic and every message in order."""

    def __init__(self, port: int, topics: list[str], *, username: str = "",
                 password: str = "") -> None:  # fmt: skip
        self.last: dict[str, bytes] = {}
        self.seen: list[tuple[str, bytes, bool]] = []
        self.changed = threading.Condition()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"watch-{id(self)}")
        if username:
            self.client.username_pw_set(username, password)
        subscribed = threading.Event()
        self.client.on_connect = lambda c, *_: c.subscribe([(t, 1) for t in topics])
        self.client.on_subscribe = lambda *_: subscribed.set()
        self.client.on_message = self._message
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        assert subscribed.wait(5), "the watcher could not subscribe"

    def _message(self, client: Any, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        with self.changed:
            self.last[msg.topic] = msg.payload
            self.seen.append((msg.topic, msg.payload, bool(msg.retain)))
            self.changed.notify_all()

    def wait(self, test: Callable[[], Any], timeout: float = 5.0) -> Any:
        """Wait until `test()` is truthy (called under the lock); its value, or fail."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while True:
                try:
                    value = test()
                except (KeyError, ValueError, TypeError, IndexError):
                    value = None
                if value:
                    return value
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"not seen within {timeout} s; last: {self.last!r}")
                self.changed.wait(left)

    def json(self, topic: str) -> Any:
        return json.loads(self.last[topic])

    def events(self, topic: str) -> list[dict[str, Any]]:
        return [json.loads(p) for t, p, _ in self.seen if t == topic]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def fleet_config(cfg: config.Config, broker: Broker, shop: str = "shop-1",
                 **extra: Any) -> config.Config:  # fmt: skip
    return config.replace(cfg, "fleet", enabled=True, broker=broker.url, shop_id=shop,
                          shop_name=f"Shop {shop}", **extra)  # fmt: skip
