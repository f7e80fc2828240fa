"""Commands from the broker (PREFIX/SHOP/command): acknowledge, and settle a named batch.

    {"action": "acknowledge"}                 as a short press of the panel's button
    {"action": "settle", "batch": "<key>"}    only with [fleet] allow_remote_settle; the
                                              key is batch.key from the state document

A command arrives on paho's network thread; only its size is looked at there. It is
handled on the agent's loop (agent.post), like the button's and the page's requests, and
a settle goes through agent.request_settle: the exactly-once journal, and a request for a
batch that is no longer the open one is dropped. Anything else is refused with an event
{"event": "command-refused", "why": ...} and a log line, never an exception.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from ..agent import Agent
from ..config import FleetConfig

log = logging.getLogger(__name__)

MAX_COMMAND = 4096  # bytes: a command is a few dozen


class Commands:
    def __init__(self, agent: Agent, fleet: FleetConfig,
                 tell: Callable[[dict[str, Any]], None]) -> None:  # fmt: skip
        self.agent, self.fleet, self.tell = agent, fleet, tell

    def receive(self, payload: bytes) -> None:
        """paho's thread: hand the command to the loop (an oversize one goes no further)."""
        if len(payload) > MAX_COMMAND:
            self._refuse("too-large", None, size=len(payload))
            return
        self.agent.post(lambda: self.handle(payload))

    def handle(self, payload: bytes) -> None:
        """The agent's loop: act on one command, or refuse it."""
        try:
            command = json.loads(payload)
        except (ValueError, UnicodeDecodeError):
            command = None
        if not isinstance(command, dict) or not isinstance(command.get("action"), str):
            self._refuse("malformed", None)
            return
        action = command["action"]
        if action == "acknowledge":
            self.agent.acknowledge(by="fleet")
            self._done(action)
        elif action == "settle":
            self._settle(command.get("batch"))
        else:
            self._refuse("unknown-action", action[:40])

    def _settle(self, batch: Any) -> None:
        open_batch = self.agent.state.batch_key
        if not self.fleet.allow_remote_settle:
            self._refuse("remote-settle-off", "settle")
        elif open_batch is None:
            self._refuse("no-open-batch", "settle")
        elif batch != open_batch:
            self._refuse("stale-batch", "settle", open=open_batch)
        else:
            log.info("settle requested over the fleet broker for batch %s", batch)
            self.agent.request_settle(batch)
            self._done("settle", batch=batch)

    def _done(self, action: str, **detail: Any) -> None:
        self.tell({"event": "command-accepted", "action": action, **detail})

    def _refuse(self, why: str, action: str | None, **detail: Any) -> None:
        log.warning("fleet command refused (%s%s)", why, f", {action}" if action else "")
        self.tell({"event": "command-refused", "why": why, "action": action, **detail})
