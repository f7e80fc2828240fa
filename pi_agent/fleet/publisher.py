"""The guard on an MQTT broker: state, availability, events, discovery and commands.

Three threads, each with one job, and none of them the guard's:

- the agent's loop calls `offer(snapshot)` after each tick; it appends to a short queue
  and returns (a broker that is down, slow or refuses us never holds up the guard);
- the publisher's thread turns snapshots into the retained state document (only when it
  changed, and at least once a minute as a heartbeat) and into events;
- paho's network thread (loop_start) connects, reconnects with backoff and keeps the last
  will: "offline" retained on the availability topic. After each connect it sends a
  retained "online", and the publisher's thread sends discovery and the current state.

paho never blocks a caller: a QoS 1 message published while the broker is away waits in
paho's queue (bounded) and goes out after the reconnect. The password goes to paho only,
never to a log line; `status` says connected or not, since when, and the last error.
"""

from __future__ import annotations

import contextlib
import json
import logging
import ssl
import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from ..agent import Agent
from ..clock import Clock
from ..config import Config
from ..snapshot import GuardSnapshot
from . import discovery
from .commands import Commands
from .document import events_between, state_document, steady
from .topics import OFFLINE, ONLINE, Topics, parse_broker

log = logging.getLogger(__name__)

HEARTBEAT = 60.0  # seconds: the state goes out at least this often, changed or not
INBOX = 64  # snapshots and events waiting for the publisher's thread (oldest dropped)
MAX_QUEUED = 200  # QoS 1 messages paho keeps while the broker is away
KEEPALIVE = 30  # seconds: the broker tells the last will within 1.5 x this of a silence
STOP_WAIT = 2.0  # seconds a stop waits for "offline" to reach the broker
UNREACHABLE = "cannot reach the broker (refused, unreachable, or TLS failed)"


@dataclass(frozen=True, slots=True)
class FleetStatus:
    """What the page shows: replaced whole, so any thread may read it."""

    broker: str
    connected: bool = False
    since: datetime | None = None  # connected since, or not connected since
    last_error: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"broker": self.broker, "connected": self.connected,
                "since": self.since.isoformat(timespec="seconds") if self.since else None,
                "last_error": self.last_error}  # fmt: skip


class Publisher:
    def __init__(self, cfg: Config, clock: Clock, *, reconnect: tuple[float, float] = (1, 30),
                 keepalive: int = KEEPALIVE) -> None:  # fmt: skip
        fleet = self.fleet = cfg.fleet
        self.cfg, self.clock, self.keepalive = cfg, clock, keepalive
        self.topics = Topics(fleet.prefix, fleet.shop_id, fleet.discovery_prefix)
        where = parse_broker(fleet.broker)  # config-validated, so it parses
        self.host, self.port, tls = where.host, where.port, where.tls
        self.status = FleetStatus(f"{self.host}:{self.port}")
        self.on_command: Any = None  # called with a command's payload on paho's thread
        self._inbox: deque[GuardSnapshot | dict[str, Any]] = deque(maxlen=INBOX)
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._connected = threading.Event()
        self._fresh = threading.Event()  # (re)connected: discovery and state again
        self._logged = ""  # the last cause told in the log (each once)
        self._worker: threading.Thread | None = None
        # The publisher's thread alone touches these:
        self._latest: dict[str, Any] | None = None
        self._sent: tuple[dict[str, Any], float] | None = None  # (steady part, when)
        self._settle_batch: object = ()  # the batch the settle button names ((): not sent)
        self._client = self._make_client(tls, reconnect)

    def _make_client(self, tls: bool, reconnect: tuple[float, float]) -> mqtt.Client:
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=self.fleet.shop_id)
        client.will_set(self.topics.availability, OFFLINE, qos=1, retain=True)
        if self.fleet.username:
            client.username_pw_set(self.fleet.username, self.fleet.password or None)
        if tls:
            client.tls_set(ca_certs=self.fleet.ca_file or None,
                           certfile=self.fleet.client_cert or None,
                           keyfile=self.fleet.client_key or None,
                           tls_version=ssl.PROTOCOL_TLS_CLIENT)  # fmt: skip
        client.reconnect_delay_set(*reconnect)  # type: ignore[arg-type]
        client.max_queued_messages_set(MAX_QUEUED)
        client.connect_timeout = 5.0
        client.on_connect = self._on_connect
        client.on_connect_fail = self._on_connect_fail
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        return client

    # -- lifecycle

    def start(self) -> Publisher:
        self._worker = threading.Thread(target=self._work, name="fleet publisher", daemon=True)
        self._worker.start()
        self._client.connect_async(self.host, self.port, keepalive=self.keepalive)
        self._client.loop_start()
        return self

    def stop(self) -> None:
        """Say "offline" (a clean disconnect does not fire the last will) and disconnect."""
        self._stopping.set()
        self._wake.set()
        if self._worker is not None:
            self._worker.join(STOP_WAIT)
        if self._connected.is_set():
            info = self._client.publish(self.topics.availability, OFFLINE, qos=1, retain=True)
            with contextlib.suppress(RuntimeError, ValueError):  # not queued: the will says it
                info.wait_for_publish(STOP_WAIT)
        self._client.disconnect()
        self._client.loop_stop()

    # -- from other threads

    def offer(self, snapshot: GuardSnapshot) -> None:
        """The agent's listener (its loop): hand over and return at once."""
        self._inbox.append(snapshot)
        self._wake.set()

    def event(self, event: dict[str, Any]) -> None:
        """Send an event (any thread): QoS 1, not retained, in order with the state's."""
        self._inbox.append(event)
        self._wake.set()

    # -- paho's thread

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any,
                    properties: Any) -> None:  # fmt: skip
        if reason.is_failure:
            self._trouble(f"the broker refused us: {reason}")
            return
        client.publish(self.topics.availability, ONLINE, qos=1, retain=True)
        client.subscribe(self.topics.command, qos=1)
        self._connected.set()
        self._fresh.set()
        self._wake.set()
        self.status = FleetStatus(self.status.broker, True, self.clock.now())
        if self._logged:
            log.info("fleet: connected to the broker %s again", self.status.broker)
        else:
            log.info("fleet: connected to the broker %s", self.status.broker)
        self._logged = ""

    def _on_connect_fail(self, client: mqtt.Client, userdata: Any) -> None:
        self._trouble(UNREACHABLE)

    def _on_disconnect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any,
                       properties: Any) -> None:  # fmt: skip
        was_up = self._connected.is_set()  # else a refused connect, already told
        self._connected.clear()
        if was_up and not self._stopping.is_set():
            self._trouble(f"connection lost: {reason}")

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        if message.topic == self.topics.command and self.on_command is not None:
            self.on_command(message.payload)

    def _trouble(self, cause: str) -> None:
        """Not connected: the status says why and since when; the log, once per cause."""
        self._connected.clear()
        was = self.status
        since = self.clock.now() if was.connected or was.since is None else was.since
        self.status = FleetStatus(was.broker, False, since, cause)
        self._say(cause)

    def _say(self, cause: str) -> None:
        if cause != self._logged:
            log.warning("fleet: broker %s: %s (the guard goes on)", self.status.broker, cause)
            self._logged = cause

    # -- the publisher's thread

    def _work(self) -> None:
        while True:
            self._wake.wait(1.0)
            self._wake.clear()
            stopping = self._stopping.is_set()
            try:
                self._drain()  # once more when stopping: an event just told still goes
            except Exception:  # the publisher outlives any one message
                log.exception("fleet: publishing failed")
            if stopping:
                return

    def _drain(self) -> None:
        if self._fresh.is_set():
            self._send_state()  # after a connect: everything, at once
        while self._inbox:
            item = self._inbox.popleft()
            if isinstance(item, GuardSnapshot):
                self._take(item)
            else:
                self._publish(self.topics.event, {"shop_id": self.fleet.shop_id,
                                                  "at": self._now(), **item})  # fmt: skip

    def _take(self, snap: GuardSnapshot) -> None:
        doc = state_document(snap, self.fleet.shop_id, self.fleet.shop_name)
        for event in events_between(self._latest, doc):
            self._publish(self.topics.event, event)
        self._latest = doc
        self._send_state()

    def _send_state(self) -> None:
        doc = self._latest
        if doc is None or not self._connected.is_set():
            return  # sent in full after the next connect
        force = self._fresh.is_set()
        if force:  # connected anew: the broker may have lost discovery and state
            self._fresh.clear()
            self._settle_batch = ()
        batch = doc["batch"].get("key")
        if self.fleet.discovery and batch != self._settle_batch:
            for topic, payload in discovery.messages(self.cfg, batch):
                if force or topic == self.topics.discovery(*discovery.SETTLE):
                    self._client.publish(topic, payload, qos=1, retain=True)
            self._settle_batch = batch
        part, now = steady(doc), time.monotonic()
        if force or self._sent is None or part != self._sent[0] or now - self._sent[1] >= HEARTBEAT:
            self._publish(self.topics.state, doc, retain=True)
            self._sent = (part, now)

    def _publish(self, topic: str, doc: dict[str, Any], *, retain: bool = False) -> None:
        payload = json.dumps(doc, separators=(",", ":"), ensure_ascii=False)
        info = self._client.publish(topic, payload, qos=1, retain=retain)
        if info.rc == mqtt.MQTT_ERR_QUEUE_SIZE:
            self._say(f"{MAX_QUEUED} messages wait for the broker: newer ones are dropped")

    def _now(self) -> str:
        return self.clock.now().isoformat(timespec="seconds")


def attach(agent: Agent, **options: Any) -> Publisher:
    """Publish `agent`'s state, take its commands; started. The caller stops it."""
    publisher = Publisher(agent.cfg, agent.clock, **options)
    publisher.on_command = Commands(agent, agent.cfg.fleet, publisher.event).receive
    agent.subscribe(publisher.offer)
    return publisher.start()
