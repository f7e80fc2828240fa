"""A real local HTTP receiver for Apprise's json:// target: it records what arrives, and
can be down (connection refused), failing (HTTP 500) or slow."""

from __future__ import annotations

import http.server
import json
import threading
import time
from typing import Any


class Receiver:
    def __init__(self) -> None:
        self.got: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []  # each accepted message's HTTP headers
        self.status = 200
        self.delay = 0.0
        self.arrived = threading.Event()  # set on each message that is accepted
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                time.sleep(outer.delay)
                if outer.status == 200:
                    outer.got.append(json.loads(body))
                    outer.headers.append(dict(self.headers.items()))
                    outer.arrived.set()
                self.send_response(outer.status)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.url = f"json://127.0.0.1:{self.port}/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def titles(self) -> list[str]:
        return [m["title"] for m in self.got]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
