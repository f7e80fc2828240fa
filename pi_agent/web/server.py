"""Serving the page with waitress from a thread of the guard's process, and stopping it."""

from __future__ import annotations

import contextlib
import errno
import logging
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import config
from .auth import AuthStore, SetupCode, auth_path
from .hosts import lan_address

log = logging.getLogger("settle-guard.web")
# waitress warns of every queued request under a burst; the log is the journal, keep it calm.
logging.getLogger("waitress.queue").setLevel(logging.ERROR)


def bind_problem(listen: str) -> tuple[str, dict[str, str]] | None:
    """Why the page could not listen on HOST:PORT (a text key and its values), or None.
    Asked before saving a new address, so that a typo never leaves a guard without its page."""
    host, _, port = listen.rpartition(":")
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as waitress binds
        try:
            probe.bind((host, int(port)))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return "listen-in-use", {"port": port}
            if exc.errno == errno.EADDRNOTAVAIL:
                return "listen-not-local", {"host": host}
            return "listen-refused", {"error": exc.strerror or str(exc)}
    return None


# Bounds that keep the page answering on a hostile LAN, where slow connections (slowloris:
# a request sent a byte at a time) would otherwise fill waitress's 100 places for as long
# as they last. A technician's browser comes nowhere near any of them.
REQUEST_SECONDS = 10.0  # a request (line, headers, body up to 256 KB) must arrive whole within this
IDLE_SECONDS = 30  # a keep-alive connection with nothing to do is closed after this
PER_CLIENT = 10  # connections per client address (a browser opens up to 6 to one host)
MAX_CONNECTIONS = 200  # from all clients: a descriptor each, well below the 1024 allowed
CLEANUP_SECONDS = 1  # how often the deadlines above are checked (waitress's default is 30)


def _guarded_server(app: Any, host: str, port: int, threads: int) -> Any:
    """waitress's TCP server with the bounds above: a deadline for each request to arrive,
    a cap per client address, and at the total cap a new connection pushes out the oldest
    one still sending its request, else the one idle longest (instead of waitress no
    longer accepting anyone)."""
    from waitress.adjustments import Adjustments
    from waitress.channel import HTTPChannel
    from waitress.server import TcpWSGIServer

    class Channel(HTTPChannel):  # type: ignore[misc]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.request_started: float | None = self.creation_time  # silence counts too

        def received(self, data: bytes) -> bool:
            if self.request_started is None:
                self.request_started = time.time()
            done = super().received(data)
            if self.request is None:  # whole: the next request gets its own deadline
                self.request_started = None
            return bool(done)

    def sending(channel: Any) -> bool:
        return channel.request_started is not None and not channel.requests

    def idle(channel: Any) -> bool:
        """A keep-alive connection between requests: nothing read, queued or to write."""
        return (channel.request_started is None and not channel.requests
                and not channel.total_outbufs_len)  # fmt: skip

    class Server(TcpWSGIServer):  # type: ignore[misc]
        channel_class = Channel

        def handle_accept(self) -> None:
            try:
                pair = self.accept()
                if pair is None:
                    return
                conn, addr = pair
                self.set_socket_options(conn)
            except OSError:  # the client left before we got to it
                return
            channels = list(self.active_channels.values())
            if sum(1 for ch in channels if ch.addr[0] == addr[0]) >= PER_CLIENT:
                conn.close()  # one address may not take the page from the others
                return
            if len(channels) >= MAX_CONNECTIONS:
                waiting = [ch for ch in channels if sending(ch)]
                # Idle keep-alive connections too: else 200 of them, each sending one small
                # request every 29 s, would keep every newcomer out (a browser just
                # reconnects when its idle connection is gone).
                resting = [ch for ch in channels if idle(ch)]
                if waiting:
                    min(waiting, key=lambda ch: ch.request_started).handle_close()
                elif resting:
                    min(resting, key=lambda ch: ch.last_activity).handle_close()
                else:
                    conn.close()  # every place is serving a whole request: come back later
                    return
            self.channel_class(self, conn, addr, self.adj, map=self._map)

        def maintenance(self, now: float) -> None:
            super().maintenance(now)  # IDLE_SECONDS for connections with nothing to do
            for channel in list(self.active_channels.values()):
                if sending(channel) and now - channel.request_started > REQUEST_SECONDS:
                    channel.will_close = True

    adj = Adjustments(
        host=host, port=port, threads=threads, ident="SettleGuard",
        clear_untrusted_proxy_headers=True, channel_timeout=IDLE_SECONDS,
        cleanup_interval=CLEANUP_SECONDS,
        connection_limit=MAX_CONNECTIONS + 10,  # ours acts first; waitress's would stop accepting
        asyncore_use_poll=True,  # select() cannot watch a descriptor above 1023
    )  # fmt: skip
    return Server(app, map={}, adj=adj)


class WebServer:
    """waitress on HOST:PORT in a daemon thread; `stop()` closes the socket and joins it."""

    def __init__(self, app: Any, listen: str, threads: int = 6) -> None:
        host, _, port = listen.rpartition(":")
        self._server = _guarded_server(app, host, int(port), threads)
        self.host, self.port = host, int(self._server.effective_port)
        self._thread = threading.Thread(target=self._run, name="web", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{lan_address(self.host)}:{self.port}/"

    def start(self) -> WebServer:
        self._thread.start()
        return self

    def _run(self) -> None:
        with contextlib.suppress(OSError, ValueError):  # the socket closed under it: stop()
            self._server.run()

    def stop(self) -> None:
        self._server.close()
        self._server.task_dispatcher.shutdown(timeout=5)
        self._thread.join(5)


@dataclass
class RunningPage:
    server: WebServer
    auth: AuthStore
    setup: SetupCode

    def stop(self) -> None:
        self.server.stop()
        self.auth.close()


def start_web(cfg: config.Config, config_path: str | Path, control: Any, *,
              setup: SetupCode | None = None) -> RunningPage | None:  # fmt: skip
    """The page for a running guard; None (and one log line) if it cannot listen, since
    the guard must keep guarding without its page. The setup code goes to the panel
    unless `setup` says otherwise (the demo prints it)."""
    from . import create_app

    auth = AuthStore(auth_path(cfg))
    host, _, port = cfg.web.listen.rpartition(":")
    control.address = (lan_address(host), port)
    setup = setup or SetupCode(control.show_setup_code)
    try:
        app = create_app(control, config_path, auth, setup=setup)
        server = WebServer(app, cfg.web.listen).start()
    except OSError as exc:
        log.error("web page not started: cannot listen on %s: %s", cfg.web.listen, exc.strerror)
        auth.close()
        return None
    log.info("web page on %s", server.url)
    return RunningPage(server, auth, setup)
