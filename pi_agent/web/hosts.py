"""The guard's own names and addresses: which Host a request may name (its own names and
addresses, and the extras in `[web] allowed_hosts`), and the address a phone on the LAN
types to reach the page. A page reached under any other name came through DNS rebinding
(evil.example resolving to the guard) or a broken client: it gets a plain 400.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..config import WebConfig

FIXED = frozenset({"localhost", "127.0.0.1", "::1", "settleguard.local"})
# A name or an IPv4 address, or an IPv6 address in brackets, then an optional port.
HOST = re.compile(r"(?P<name>[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?\.?|\[(?P<ip6>[0-9a-f:.]+)\])"
                  r"(?::[0-9]{1,5})?")  # fmt: skip
ADDRESS_SECONDS = 30.0  # interfaces change (DHCP, a new Wi-Fi): look again after this


def lan_address(host: str) -> str:
    """The address a phone on the LAN would type: the listen address, or for 0.0.0.0 the
    address of the interface the default route uses (no packet is sent)."""
    if host != "0.0.0.0":
        return host
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("10.254.254.254", 9))
            return probe.getsockname()[0]
        except OSError:
            return "127.0.0.1"


def page_url(web: WebConfig) -> str | None:
    """The page's address for a link in a push (`http://ADDRESS:PORT/`), or None when no
    phone could open it: the page is off, or listens on (or can only name) the Pi itself.
    It names the page only: whoever follows it logs in."""
    host, _, port = web.listen.rpartition(":")
    address = lan_address(host)
    if not web.enabled or ipaddress.IPv4Address(address).is_loopback:
        return None
    return f"http://{address}:{port}/"


def host_name(header: str) -> str | None:
    """The name a Host header gives, lower case, without port or trailing dot; None if it
    is not a host at all (empty, spaces, user@host, two ports ...)."""
    m = HOST.fullmatch(header.strip().lower())
    if m is None:
        return None
    if m["ip6"] is not None:
        try:
            return str(ipaddress.IPv6Address(m["ip6"]))
        except ValueError:
            return None
    return m["name"].rstrip(".")


def _proc_addresses() -> set[str]:
    """This machine's interface addresses from /proc (Linux; none elsewhere)."""
    found: set[str] = set()
    try:
        last = ""
        for line in Path("/proc/net/fib_trie").read_text().splitlines():
            words = line.split()
            if len(words) == 2 and words[0] == "|--":
                last = words[1]
            elif "/32 host LOCAL" in line and last:
                found.add(last)
    except OSError:
        pass
    try:
        for line in Path("/proc/net/if_inet6").read_text().splitlines():
            found.add(str(ipaddress.IPv6Address(int(line.split()[0], 16))))
    except (OSError, ValueError, IndexError):
        pass
    return found


class OwnNames:
    """The guard's own names and addresses, the addresses looked up again now and then."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._addresses: frozenset[str] = frozenset()
        self._until = 0.0

    def names(self) -> frozenset[str]:
        with self._lock:
            if time.monotonic() >= self._until:
                hostname = socket.gethostname().lower()
                short = hostname.split(".")[0]
                mine = {hostname, short, f"{short}.local", f"{hostname}.local"}
                self._addresses = frozenset(FIXED | mine | _proc_addresses())
                self._until = time.monotonic() + ADDRESS_SECONDS
            return self._addresses

    def allows(self, header: str, extra: Iterable[str] = ()) -> bool:
        name = host_name(header)
        if name is None:
            return False
        return name in self.names() or name in {e.lower().rstrip(".") for e in extra}
