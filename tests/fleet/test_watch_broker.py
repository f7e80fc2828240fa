"""`settle-guard fleet watch` against a real Mosquitto and simulated guards (their state
documents built from real GuardSnapshot values), through the command line."""

from __future__ import annotations

import json
import os
import pty
import queue
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest

from pi_agent.fleet.simulate import LocalBroker, Swarm, document, level_of, shop_id
from pi_agent.fleet.watch import PASSWORD_ENV
from pi_agent.guard.assessment import Level
from tests.fleet.conftest import start_broker

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}
ENV.pop(PASSWORD_ENV, None)
WATCH = [sys.executable, "-m", "pi_agent", "fleet", "watch"]
# Worst first as the README says: offline, fault and overdue; urgent; warn; info; ok.
RANK = {"fault": 0, "overdue": 0, "urgent": 1, "warn": 2, "info": 4, "ok": 5}


def watch(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*WATCH, *args], capture_output=True, text=True, env=env or ENV,
                          timeout=60, check=False)  # fmt: skip


def publish_raw(broker: LocalBroker, messages: list[tuple[str, bytes]]) -> None:
    """What a broken or foreign client might leave on the broker (retained)."""
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    client.connect(broker.host, broker.port)
    client.loop_start()
    try:
        for topic, payload in messages:
            client.publish(topic, payload, qos=1, retain=True).wait_for_publish(10)
    finally:
        client.disconnect()
        client.loop_stop()


@pytest.fixture
def swarm(mosquitto: LocalBroker) -> Iterator[Swarm]:
    s = Swarm(mosquitto.host, mosquitto.port)
    try:
        yield s
    finally:
        s.close()


def guard_process(broker: LocalBroker, n: int) -> subprocess.Popen[str]:
    """One simulated guard in its own process, to be killed like a guard losing power."""
    proc = subprocess.Popen([sys.executable, "-m", "pi_agent.fleet.simulate", "--broker",
                             broker.url, "--guards", "1", "--first", str(n)], env=ENV,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)  # fmt: skip
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready 1"
    return proc


def test_twenty_guards_listed_worst_first_with_a_dead_one_offline(
    mosquitto: LocalBroker, swarm: Swarm
) -> None:
    for n in range(19):
        swarm.add(shop_id(n), document(n))
    swarm.pump_until(swarm.all_acked)
    killed = guard_process(mosquitto, 19)
    killed.send_signal(signal.SIGKILL)  # no DISCONNECT: the broker sends its last will
    killed.wait(10)
    publish_raw(mosquitto, [
        ("settleguard/bad-json/state", b'{"schema": 1, "level": '),
        ("settleguard/bad-types/state", json.dumps({**document(30), "shop": "bad-types",
                                                    "level": 5}).encode()),
        ("settleguard/bad-big/state", b"[" + b"1," * 40_000 + b"1]"),
        ("settleguard//state", json.dumps(document(31)).encode()),
    ])  # fmt: skip

    done = watch("--broker", mosquitto.url, "--json", "--once", "3")

    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 1  # --once: one snapshot at the end
    table = json.loads(lines[0])
    shops = table["shops"]
    assert len(shops) == 20 and table["counts"]["shops"] == 20
    assert {s["shop"]: s["level"] for s in shops} == {
        shop_id(n): level_of(n).name.lower() for n in range(20)
    }
    assert {s["shop"]: s["name"] for s in shops}[shop_id(12)] == "Shop 12"
    offline = [s["shop"] for s in shops if s["online"] is False]
    assert offline == [shop_id(19)]
    assert all(s["online"] for s in shops if s["shop"] != shop_id(19))

    def rank(s: dict[str, Any]) -> tuple[int, str]:
        return (0 if s["online"] is False else RANK[s["level"]], s["shop"])

    assert shops == sorted(shops, key=rank)
    assert shops[0]["shop"] == shop_id(7) and shops[0]["level"] == "overdue"
    assert [s["shop"] for s in shops[:5]] == [shop_id(n) for n in (7, 8, 17, 18, 19)]
    assert shops[5]["level"] == "urgent" and shops[-1]["level"] == "ok"
    bad = {b["from"]: b["why"] for b in table["bad"]}
    assert set(bad) == {"bad-json", "bad-types", "bad-big", "settleguard//state"}
    assert "not JSON" in bad["bad-json"] and "level" in bad["bad-types"]
    assert "at most 65536" in bad["bad-big"] and "outside" in bad["settleguard//state"]
    assert table["bad_total"] == 4 and table["connection"] == "connected"

    text = watch("--broker", mosquitto.url, "--once", "2")
    assert text.returncode == 0, text.stderr
    assert "20 shops: 1 offline, 2 fault, 2 overdue, 2 urgent" in text.stdout
    assert "bad data from bad-json: state is not JSON (1 message)" in text.stdout


class Lines:
    """A running watch's stdout, line by line, without blocking the test."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.proc, self.lines = proc, queue.Queue[str]()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)

    def until(self, check: Any, seconds: float = 20.0) -> dict[str, Any]:
        end = time.monotonic() + seconds
        while True:
            try:
                table = json.loads(self.lines.get(timeout=max(end - time.monotonic(), 0.01)))
            except queue.Empty:
                raise AssertionError("the watch never showed what was expected") from None
            if check(table):
                return table


def levels(table: dict[str, Any]) -> dict[str, str | None]:
    return {s["shop"]: s["level"] for s in table["shops"]}


def test_a_running_watch_prints_each_change_and_outlives_a_broker_restart(
    mosquitto: LocalBroker, swarm: Swarm
) -> None:
    for n in (0, 1, 2):
        swarm.add(shop_id(n), document(n))
    swarm.pump_until(swarm.all_acked)
    proc = subprocess.Popen([*WATCH, "--broker", mosquitto.url, "--json"], env=ENV,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        out = Lines(proc)
        out.until(lambda t: len(t["shops"]) == 3)
        swarm.publish(shop_id(1), document(1, level=Level.FAULT))
        swarm.pump_until(swarm.all_acked)
        table = out.until(lambda t: levels(t)[shop_id(1)] == "fault")
        assert table["shops"][0]["shop"] == shop_id(1) and table["shops"][0]["alarms"] == [
            "terminal-dead"
        ]
        swarm.publish(shop_id(2), b"")  # the shop is gone from the chain
        swarm.pump(0.2)
        out.until(lambda t: shop_id(2) not in levels(t))
        swarm.drop(shop_id(0))
        table = out.until(lambda t: t["shops"][0]["online"] is False)
        assert table["shops"][0]["shop"] == shop_id(0) and table["shops"][0]["since_exact"]

        mosquitto.stop()
        out.until(lambda t: t["connection"].startswith("connection lost"))
        mosquitto.start()
        out.until(lambda t: t["connection"] == "connected")
        again = Swarm(mosquitto.host, mosquitto.port)
        again.add(shop_id(5), document(5))
        again.pump_until(again.all_acked)
        table = out.until(lambda t: shop_id(5) in levels(t))
        assert levels(table)[shop_id(5)] == "urgent"
        assert levels(table)[shop_id(1)] == "fault"  # what it knew stays until told otherwise
        again.close()
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(10) == 0
        assert proc.stderr is not None and proc.stderr.read() == ""


def test_on_a_terminal_the_table_is_redrawn_in_place(mosquitto: LocalBroker, swarm: Swarm) -> None:
    for n in (3, 8):
        swarm.add(shop_id(n), document(n))
    swarm.pump_until(swarm.all_acked)
    leader, follower = pty.openpty()
    proc = subprocess.Popen([*WATCH, "--broker", mosquitto.url], stdin=follower,
                            stdout=follower, stderr=follower, close_fds=True,
                            env={**ENV, "COLUMNS": "100", "LINES": "30"})  # fmt: skip
    os.close(follower)
    seen = b""
    try:
        end = time.monotonic() + 20
        while b"shop-0003" not in seen and time.monotonic() < end:
            if select.select([leader], [], [], 0.2)[0]:
                seen += os.read(leader, 65536)
        time.sleep(1.5)  # a second frame: the clock in the title moves
        while select.select([leader], [], [], 0.2)[0]:
            seen += os.read(leader, 65536)
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(10) == 0
    while select.select([leader], [], [], 0.2)[0]:
        try:
            seen += os.read(leader, 65536)
        except OSError:
            break
    os.close(leader)
    text = seen.decode(errors="replace")
    assert text.startswith("\x1b[?25l\x1b[2J")  # cursor hidden, screen cleared once
    assert text.count("\x1b[H") >= 2  # then each frame from the top, in place
    assert "\x1b[1;31mFAULT" in text and "\x1b[33mWARN" in text
    last = text[text.rindex("\x1b[H") :]
    assert "2 shops: 1 fault, 1 warn" in last
    assert last.index("shop-0008") < last.index("shop-0003")  # worst first
    assert text.rstrip().endswith("\x1b[?25h")  # the cursor comes back


def test_an_unreachable_broker_is_one_line_and_exit_3(mosquitto: LocalBroker) -> None:
    mosquitto.stop()
    done = watch("--broker", mosquitto.url, "--once", "1")
    assert done.returncode == 3
    assert done.stderr == f"settle-guard: cannot reach the broker {mosquitto.url}: " \
                          "Connection refused\n"  # fmt: skip
    as_json = watch("--broker", mosquitto.url, "--once", "1", "--json")
    assert as_json.returncode == 3 and json.loads(as_json.stdout)["exit"] == 3


@pytest.mark.parametrize(
    ("args", "option"),
    [(["--once", "1"], "--broker"), (["--broker", "tcp://h"], "--broker"),
     (["--broker", "mqtt://h", "--once", "0"], "--once"),
     (["--broker", "mqtt://h", "--prefix", "a/#"], "--prefix"),
     (["--broker", "mqtt://h", "--password-file", "/nonexistent/pw"], "--password-file"),
     (["--broker", "mqtt://h", "--password", "x"], "--password"),
     (["--broker", "mqtt://h", "--ca-file", __file__], "--ca-file")],
)  # fmt: skip
def test_bad_arguments_are_exit_2_naming_the_option(args: list[str], option: str) -> None:
    done = watch(*args)
    assert done.returncode == 2, done.stderr
    assert option in done.stderr and "Traceback" not in done.stderr


def test_the_password_comes_from_a_file_or_the_environment(tmp_path: Path) -> None:
    broker = start_broker(tmp_path, users={"head-office": "s3cret pass"})
    try:
        secret, wrong = tmp_path / "pw", tmp_path / "wrong"
        secret.write_text("s3cret pass\n")
        wrong.write_text("guess\n")
        refused = watch("--broker", broker.url, "--once", "1")
        assert (
            refused.returncode == 3 and "refused the connection: Not authorized" in refused.stderr
        )
        refused = watch("--broker", broker.url, "--once", "1", "--username", "head-office",
                        "--password-file", str(wrong))  # fmt: skip
        assert refused.returncode == 3 and "Not authorized" in refused.stderr
        alone = watch("--broker", broker.url, "--once", "1", "--password-file", str(secret))
        assert alone.returncode == 2 and "--password-file needs --username" in alone.stderr
        by_file = watch("--broker", broker.url, "--once", "1", "--json", "--username",
                        "head-office", "--password-file", str(secret))  # fmt: skip
        assert by_file.returncode == 0, by_file.stderr
        assert json.loads(by_file.stdout)["connection"] == "connected"
        by_env = watch("--broker", broker.url, "--once", "1", "--username", "head-office",
                       env={**ENV, PASSWORD_ENV: "s3cret pass"})  # fmt: skip
        assert by_env.returncode == 0, by_env.stderr
    finally:
        broker.stop()
