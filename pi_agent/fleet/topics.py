"""The topic layout every guard and watcher shares (one place, so both always agree).

    PREFIX/SHOP/state         retained JSON: the guard's snapshot (see pi_agent/snapshot.py)
    PREFIX/SHOP/availability  retained "online" / "offline" (birth message, last will)
    PREFIX/SHOP/event         QoS 1, not retained: settled, settlement failed, alarm raised/cleared
    PREFIX/SHOP/command       QoS 1 to the guard: acknowledge, settle (with the batch it is for)
    DISCOVERY/COMPONENT/settleguard_SHOP/OBJECT/config   Home Assistant discovery, retained

A shop's guard needs only PREFIX/SHOP/# (and its discovery topics) on the broker: an ACL
that gives each guard its own subtree keeps one shop from speaking for another, and a
bridge that forwards PREFIX/# joins shops to a head office's broker unchanged.
"""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass

ONLINE, OFFLINE = "online", "offline"


@dataclass(frozen=True, slots=True)
class Broker:
    tls: bool
    host: str
    port: int

    @property
    def url(self) -> str:
        return f"{'mqtts' if self.tls else 'mqtt'}://{self.host}:{self.port}"


def parse_broker(text: str) -> Broker:
    """mqtt://HOST[:PORT] (1883) or mqtts://HOST[:PORT] (8883); no user, password or path.
    Raises ValueError. (The guard's `[fleet] broker` is checked more narrowly by config.)"""
    try:
        url = urllib.parse.urlsplit(text)
        port = url.port
    except ValueError:
        url, port = None, None
    if (url is None or url.scheme not in ("mqtt", "mqtts") or not url.hostname or url.username
            or url.path not in ("", "/") or url.query or url.fragment):  # fmt: skip
        raise ValueError(f"{text[:80]!r} is not mqtt://HOST[:PORT] or mqtts://HOST[:PORT]")
    tls = url.scheme == "mqtts"
    return Broker(tls, url.hostname, port or (8883 if tls else 1883))


@dataclass(frozen=True, slots=True)
class Topics:
    prefix: str
    shop: str
    discovery_prefix: str = "homeassistant"

    @property
    def base(self) -> str:
        return f"{self.prefix}/{self.shop}"

    @property
    def state(self) -> str:
        return f"{self.base}/state"

    @property
    def availability(self) -> str:
        return f"{self.base}/availability"

    @property
    def event(self) -> str:
        return f"{self.base}/event"

    @property
    def command(self) -> str:
        return f"{self.base}/command"

    @property
    def node(self) -> str:
        """The guard's node id in discovery topics (and its device's identifier)."""
        return f"settleguard_{self.shop}"

    def discovery(self, component: str, object_id: str) -> str:
        return f"{self.discovery_prefix}/{component}/{self.node}/{object_id}/config"


def every_state(prefix: str) -> str:
    """A watcher's subscription: every guard's state."""
    return f"{prefix}/+/state"


def every_availability(prefix: str) -> str:
    return f"{prefix}/+/availability"


def shop_of(prefix: str, topic: str) -> str | None:
    """The shop id in PREFIX/SHOP/..., or None for a topic outside the layout."""
    parts = topic.split("/")
    if len(parts) == 3 and parts[0] == prefix and parts[1]:
        return parts[1]
    return None
