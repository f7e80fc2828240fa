"""Slow connections (slowloris) from one address and from many do not take the page
down: a normal visitor still gets the login page within seconds, and the slow ones are
closed once their request deadline passes. Loopback only, an OS-given port."""

from __future__ import annotations

import contextlib
import http.client
import resource
import socket
import time
from collections.abc import Iterator

import pytest

from pi_agent.web import server as web_server
from pi_agent.web.server import WebServer

from .conftest import PASSWORD, Rig

FROM_ONE = 500  # from 127.0.0.1: the per-client cap
OTHERS = [f"127.0.0.{n}" for n in range(2, 52)]  # 10 each: more than the total cap
EACH = 10


@contextlib.contextmanager
def descriptors(needed: int) -> Iterator[None]:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < needed:
        pytest.skip(f"needs {needed} open files, the hard limit is {hard}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, needed), hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def slow_client(source: str, port: int) -> socket.socket:
    """A connection that starts a request and never finishes it."""
    s = socket.socket()
    s.setblocking(False)
    s.bind((source, 0))
    s.connect_ex(("127.0.0.1", port))
    return s


def trickle(sockets: list[socket.socket], data: bytes) -> None:
    for s in sockets:
        with contextlib.suppress(OSError):
            s.send(data)


def closed_by_server(s: socket.socket) -> bool:
    try:
        return s.recv(4096) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


def visit(port: int, source: str) -> tuple[float, int, str]:
    started = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5, source_address=(source, 0))
    try:
        conn.request("GET", "/login")
        r = conn.getresponse()
        return time.monotonic() - started, r.status, r.read().decode()
    finally:
        conn.close()


def test_slow_connections_do_not_take_the_page_down(rig: Rig) -> None:
    rig.auth.set_password(PASSWORD)
    slow: list[socket.socket] = []
    with descriptors(4096):
        server = WebServer(rig.app, "127.0.0.1:0").start()
        try:
            for _ in range(FROM_ONE):
                slow.append(slow_client("127.0.0.1", server.port))
            for source in OTHERS:
                slow.extend(slow_client(source, server.port) for _ in range(EACH))
            time.sleep(1.0)  # connected; each starts its request and sends a byte now and then
            trickle(slow, b"GET /login HTTP/1.1\r\nHost: guard\r\n")
            time.sleep(1.0)
            trickle(slow, b"X")
            took, status, page = visit(server.port, "127.0.0.99")
            assert status == 200 and 'name="password"' in page
            assert took < 3.0, took
            print(f"\nlogin page in {took:.3f} s beside {len(slow)} slow connections")
            # Past the request deadline every slow connection is closed, trickle or not.
            deadline = time.monotonic() + web_server.REQUEST_SECONDS + 5
            while time.monotonic() < deadline:
                trickle(slow, b"X")
                if all(closed_by_server(s) for s in slow):
                    break
                time.sleep(0.5)
            open_ = sum(1 for s in slow if not closed_by_server(s))
            assert open_ == 0, f"{open_} slow connections still open"
            assert visit(server.port, "127.0.0.1")[1] == 200  # and the page goes on for all
        finally:
            for s in slow:
                s.close()
            server.stop()


def test_idle_keep_alive_connections_do_not_keep_a_visitor_out(rig: Rig) -> None:
    """200 connections that each sent one whole request and now wait (one small request
    every 29 s would keep them alive): a new visitor still gets the page."""
    rig.auth.set_password(PASSWORD)
    resting: list[http.client.HTTPConnection] = []
    per = web_server.PER_CLIENT
    with descriptors(1024):
        server = WebServer(rig.app, "127.0.0.1:0").start()
        try:
            for n in range(2, 2 + web_server.MAX_CONNECTIONS // per):
                for _ in range(per):
                    source = (f"127.0.0.{n}", 0)
                    conn = http.client.HTTPConnection(
                        "127.0.0.1", server.port, timeout=5, source_address=source
                    )
                    conn.request("GET", "/login")
                    conn.getresponse().read()  # keep-alive: the connection stays open
                    resting.append(conn)
            took, status, page = visit(server.port, "127.0.0.99")
            assert status == 200 and 'name="password"' in page
            assert took < 3.0, took
        finally:
            for conn in resting:
                conn.close()
            server.stop()
