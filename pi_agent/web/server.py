"""Serving the page with waitress from a thread of the guard's process, and stopping it."""

from __future__ import annotations

import contextlib
import errno
import logging
import socket
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import config
from .auth import AuthStore, SetupCode, auth_path

log = logging.getLogger("settle-guard.web")
# waitress warns of every queued request under a burst; the log is the journal, keep it calm.
logging.getLogger("waitress.queue").setLevel(logging.ERROR)


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


class WebServer:
    """waitress on HOST:PORT in a daemon thread; `stop()` closes the socket and joins it."""

    def __init__(self, app: Any, listen: str, threads: int = 6) -> None:
        from waitress.server import create_server

        host, _, port = listen.rpartition(":")
        self._server = create_server(
            app,
            host=host,
            port=int(port),
            threads=threads,
            ident="SettleGuard",
            clear_untrusted_proxy_headers=True,
        )
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
