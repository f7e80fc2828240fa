"""The fleet over mqtts: a real Mosquitto with a certificate from a CA made for the test;
the guard trusts that CA (ca_file) and logs in with a password, or with a client
certificate; a broker whose certificate it cannot verify is never sent the state."""

from __future__ import annotations

import json
import ssl
import subprocess
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from pi_agent import config
from pi_agent.fleet import publisher as fleet
from pi_agent.fleet.topics import Topics
from tests.fleet.mosquitto import MOSQUITTO, Broker
from tests.test_agent import Rig

TOPICS = Topics("settleguard", "shop-1")


def openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=60)


def make_ca(folder: Path, name: str) -> tuple[Path, Path]:
    key, cert = folder / f"{name}.key", folder / f"{name}.crt"
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out",
            str(cert), "-days", "2", "-subj", f"/CN={name}")  # fmt: skip
    return key, cert


def issue(folder: Path, ca: tuple[Path, Path], name: str, san: str = "") -> tuple[Path, Path]:
    key, csr, cert = folder / f"{name}.key", folder / f"{name}.csr", folder / f"{name}.crt"
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(csr),
            "-subj", f"/CN={name}")  # fmt: skip
    extra = []
    if san:
        ext = folder / f"{name}.ext"
        ext.write_text(f"subjectAltName={san}\n")
        extra = ["-extfile", str(ext)]
    openssl("x509", "-req", "-in", str(csr), "-CA", str(ca[1]), "-CAkey", str(ca[0]),
            "-CAcreateserial", "-out", str(cert), "-days", "2", *extra)  # fmt: skip
    key.chmod(0o600)
    return key, cert


class TlsBroker(Broker):
    """Mosquitto with a TLS listener only; `client_certs`: it requires one from our CA."""

    def __init__(self, tmp: Path, ca: tuple[Path, Path], *, client_certs: bool,
                 users: dict[str, str] | None = None) -> None:  # fmt: skip
        super().__init__(tmp, users=users, acl="topic readwrite #\n" if users else "")
        key, cert = issue(tmp, ca, "broker", "IP:127.0.0.1,DNS:localhost")
        lines = self.conf.read_text().splitlines()
        lines += [f"cafile {ca[1]}", f"certfile {cert}", f"keyfile {key}"]
        if client_certs:
            lines += ["require_certificate true", "use_identity_as_username true"]
        self.conf.write_text("\n".join(lines) + "\n")

    @property
    def url(self) -> str:
        return f"mqtts://127.0.0.1:{self.port}"


def watch_state(port: int, ca: Path, cert: tuple[Path, Path],
                wait: float = 10.0) -> dict[str, bytes]:  # fmt: skip
    """What a head office client (its own certificate) sees on the state topics: until the
    state arrives, or `wait` seconds."""
    got: dict[str, bytes] = {}
    arrived = threading.Event()
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="head-office")
    client.tls_set(ca_certs=str(ca), certfile=str(cert[1]), keyfile=str(cert[0]),
                   tls_version=ssl.PROTOCOL_TLS_CLIENT)  # fmt: skip

    def message(c: object, u: object, msg: mqtt.MQTTMessage) -> None:
        got[msg.topic] = msg.payload
        if msg.topic == TOPICS.state:
            arrived.set()

    client.on_connect = lambda c, *_: c.subscribe("settleguard/#", 1)
    client.on_message = message
    client.connect("127.0.0.1", port)
    client.loop_start()
    try:
        arrived.wait(wait)
    finally:
        client.disconnect()
        client.loop_stop()
    return got


@pytest.fixture
def pki(tmp_path: Path) -> dict[str, object]:
    folder = tmp_path / "pki"
    folder.mkdir()
    ca = make_ca(folder, "shop-ca")
    return {"folder": folder, "ca": ca, "guard": issue(folder, ca, "shop-1"),
            "office": issue(folder, ca, "head-office")}  # fmt: skip


def fleet_cfg(rig: Rig, broker: Broker, **extra: object) -> config.Config:
    return config.replace(rig.cfg, "fleet", enabled=True, broker=broker.url, shop_id="shop-1",
                          shop_name="Shop 1", **extra)  # fmt: skip


def test_mqtts_with_a_client_certificate(tmp_path: Path, pki: dict) -> None:
    assert MOSQUITTO
    broker = TlsBroker(tmp_path, pki["ca"], client_certs=True).start()
    rig = Rig(tmp_path, mode="off")
    key, cert = pki["guard"]
    rig.agent.cfg = fleet_cfg(rig, broker, ca_file=str(pki["ca"][1]), client_cert=str(cert),
                              client_key=str(key))  # fmt: skip
    pub = fleet.attach(rig.agent, reconnect=(0.1, 0.5))
    try:
        rig.sim.terminal.add_sale(1250, "girocard")
        rig.step()
        seen = watch_state(broker.port, pki["ca"][1], pki["office"])
        assert seen.get(TOPICS.availability) == b"online"
        assert json.loads(seen[TOPICS.state])["batch"]["total_minor"] == 1250
        assert pub.status.connected
    finally:
        pub.stop()
        rig.close()
        broker.kill()


def test_mqtts_with_a_password_over_a_verified_connection(tmp_path: Path, pki: dict) -> None:
    broker = TlsBroker(tmp_path, pki["ca"], client_certs=False,
                       users={"shop-1": "a long shop secret"}).start()  # fmt: skip
    rig = Rig(tmp_path, mode="off")
    rig.agent.cfg = fleet_cfg(rig, broker, ca_file=str(pki["ca"][1]), username="shop-1",
                              password="a long shop secret")  # fmt: skip
    pub = fleet.attach(rig.agent, reconnect=(0.1, 0.5))
    try:
        rig.step()
        deadline = time.monotonic() + 10
        while not pub.status.connected and time.monotonic() < deadline:
            time.sleep(0.05)
        assert pub.status.connected, pub.status
    finally:
        pub.stop()
        rig.close()
        broker.kill()


def test_a_broker_the_guard_cannot_verify_gets_nothing(tmp_path: Path, pki: dict) -> None:
    stranger = make_ca(pki["folder"], "stranger-ca")  # the broker's CA is not the one we trust
    broker = TlsBroker(tmp_path, stranger, client_certs=False).start()
    rig = Rig(tmp_path, mode="off")
    rig.agent.cfg = fleet_cfg(rig, broker, ca_file=str(pki["ca"][1]))
    pub = fleet.attach(rig.agent, reconnect=(0.1, 0.5))
    try:
        rig.sim.terminal.add_sale(1250, "girocard")
        started = time.monotonic()
        rig.step()
        assert time.monotonic() - started < 2  # the guard does not wait for the broker
        time.sleep(1.5)
        assert not pub.status.connected
        assert "TLS" in pub.status.last_error, pub.status
        # A client that does trust this broker sees no state: nothing left the guard.
        seen = watch_state(broker.port, stranger[1], issue(pki["folder"], stranger, "o2"), 2.0)
        assert TOPICS.state not in seen and TOPICS.availability not in seen
    finally:
        pub.stop()
        rig.close()
        broker.kill()
