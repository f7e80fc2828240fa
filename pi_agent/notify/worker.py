"""The push worker: a short-lived process that loads Apprise so the agent never does.

Apprise costs some 29 MB and ~700 modules once loaded, more than the whole guard, and
only a few messages a day need it. The agent's delivery thread starts this process when
something is due, talks to it over pipes and lets it exit when idle, so the agent's
resident memory stays where it was before the first push.

Protocol, one JSON object per line. Request on stdin:
    {"url": ..., "title": ..., "body": ..., "level": "info"|"warn"|"urgent"}
Answer on stdout:
    {"ok": true} or {"ok": false, "error": "...", "permanent": false}
The URL travels on the pipe, never on the command line (`ps` would show it). End of
stdin ends the worker.
"""

from __future__ import annotations

import json
import sys
from typing import IO, Any

from .push import DeliveryError, redact, send


def answer(request: Any) -> dict[str, Any]:
    if not isinstance(request, dict) or not all(
        isinstance(request.get(k), str) for k in ("url", "title", "body", "level")
    ):
        return {"ok": False, "error": "bad request to the push worker", "permanent": True}
    try:
        send(request["url"], request["title"], request["body"], request["level"])
    except DeliveryError as exc:
        return {"ok": False, "error": str(exc), "permanent": exc.permanent}
    except Exception as exc:  # a library or network error: the outbox retries it
        why = redact(f"{type(exc).__name__}: {exc}", request["url"])[:300]
        return {"ok": False, "error": why, "permanent": False}
    return {"ok": True}


def serve(stdin: IO[str], stdout: IO[str]) -> None:
    for line in stdin:
        try:
            request = json.loads(line)
        except ValueError:
            request = None
        stdout.write(json.dumps(answer(request)) + "\n")
        stdout.flush()


if __name__ == "__main__":
    serve(sys.stdin, sys.stdout)
