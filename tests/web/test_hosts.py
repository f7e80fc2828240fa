"""The Host check: only the guard's own names and addresses (and configured extras) reach
the page, so a DNS-rebound name such as evil.example gets a plain 400, over real HTTP."""

from __future__ import annotations

import ipaddress
import shutil
import socket
import subprocess

import pytest

from pi_agent import config

from .conftest import PASSWORD, Rig, served


def get(base: str, host: str | None) -> tuple[int, str]:
    """A raw HTTP/1.1 request, so any Host line can be sent (or none at all)."""
    port = int(base.rsplit(":", 1)[1])
    line = "" if host is None else f"Host: {host}\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(f"GET /login HTTP/1.1\r\n{line}Connection: close\r\n\r\n".encode("latin-1"))
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    head, _, body = data.decode("utf-8", "replace").partition("\r\n\r\n")
    return int(head.split()[1]), body


def interface_addresses() -> list[str]:
    if not shutil.which("ip"):
        return []
    out = subprocess.run(["ip", "-o", "addr"], capture_output=True, text=True, check=False)
    found = []
    for line in out.stdout.splitlines():
        words = line.split()
        if len(words) > 3 and words[2] in ("inet", "inet6"):
            found.append(words[3].split("/")[0])
    return found


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8080", "", "a b", None,
                                  "127.0.0.1.evil.example", "settleguard.local.evil.example",
                                  "[::1", "localhost:80:80", "localhost@evil.example"])  # fmt: skip
def test_a_foreign_or_broken_host_gets_a_plain_400(rig: Rig, host: str | None) -> None:
    rig.auth.set_password(PASSWORD)
    with served(rig) as base:
        status, body = get(base, host)
    assert status == 400 and body.startswith("unknown host")


def test_the_guards_own_names_and_addresses_are_accepted(rig: Rig) -> None:
    rig.auth.set_password(PASSWORD)
    name = socket.gethostname()
    own = ["localhost", "LOCALHOST:8080", "127.0.0.1", "127.0.0.1:8080", "[::1]", "[::1]:80",
           name, f"{name}.local", "settleguard.local", "SettleGuard.local:8080"]  # fmt: skip
    for address in interface_addresses():
        ip = ipaddress.ip_address(address)
        own.append(f"[{address}]:8080" if ip.version == 6 else f"{address}:8080")
    with served(rig) as base:
        for host in own:
            assert get(base, host)[0] == 200, host


def test_configured_extra_names_are_accepted(rig: Rig) -> None:
    rig.auth.set_password(PASSWORD)
    rig.agent.cfg = config.replace(rig.agent.cfg, "web", allowed_hosts=("till.shop.lan",))
    with served(rig) as base:
        assert get(base, "till.shop.lan:8080")[0] == 200
        assert get(base, "other.shop.lan")[0] == 400


def test_allowed_hosts_are_checked_in_the_config() -> None:
    cfg = config.from_dict({"web": {"allowed_hosts": ["till.shop.lan", "192.168.1.50"]}})
    assert cfg.web.allowed_hosts == ("till.shop.lan", "192.168.1.50")
    for bad in (["a b"], ["evil.example:80"], "till.shop.lan", [""]):
        with pytest.raises(config.ConfigError, match="allowed_hosts"):
            config.from_dict({"web": {"allowed_hosts": bad}})
