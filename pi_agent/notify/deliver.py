"""Delivery: the outbox's messages to their targets through Apprise.

Apprise loads hundreds of modules (some 18 MB) on first use, so it is imported only
when the first message is actually sent, never at start-up. Sends run on their own
thread with their own SQLite connection: a slow push service never holds up the
guard's loop. Logs name a target by its scheme and id, never by its URL (the token).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta

from ..clock import Clock
from ..config import Config, Target
from ..store import Store
from .outbox import Message, Outbox, target_id

log = logging.getLogger("settle-guard.notify")

# send(target, message) -> None, or raises DeliveryError
Send = Callable[[Target, Message], None]


class DeliveryError(Exception):
    def __init__(self, message: str, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


def describe(target: Target) -> str:
    return f"{target.url.partition('://')[0]}:{target_id(target.url)}"


def apprise_send(target: Target, m: Message) -> None:
    import apprise  # heavy: only here, only when something is sent

    kinds = {"info": apprise.NotifyType.INFO, "warn": apprise.NotifyType.WARNING,
             "urgent": apprise.NotifyType.FAILURE}  # fmt: skip
    service = apprise.Apprise()
    if not service.add(target.url):
        raise DeliveryError(f"{describe(target)} is not a valid Apprise URL", permanent=True)
    if not service.notify(title=m.title, body=m.body, notify_type=kinds.get(m.level)):
        raise DeliveryError(f"{describe(target)} did not accept the message")


def deliver_due(outbox: Outbox, targets: list[Target], now: datetime, send: Send) -> int:
    """Send what is due now, oldest first per target; returns how many were delivered."""
    by_id = {target_id(t.url): t for t in targets}
    delivered = 0
    for tid, target in by_id.items():
        while (m := outbox.next_for(tid, now)) is not None:
            try:
                send(target, m)
            except DeliveryError as exc:
                outbox.failed(m, now, str(exc), permanent=exc.permanent)
                log.warning("push to %s failed (attempt %d): %s", describe(target),
                            m.attempts + 1, exc)  # fmt: skip
                break
            except Exception as exc:  # a library or network error: retry later
                outbox.failed(m, now, f"{type(exc).__name__}: {exc}")
                log.warning("push to %s failed: %s", describe(target), type(exc).__name__)
                break
            outbox.sent(m, now)
            delivered += 1
    for m in outbox.pending():
        if m.target not in by_id:  # the target was removed from the config
            outbox.failed(m, now, "target no longer configured", permanent=True)
    return delivered


class Deliverer:
    """The delivery thread: wakes when told (new message) or when the next one is due."""

    def __init__(self, cfg: Config, clock: Clock, send: Send = apprise_send,
                 idle: float = 30.0, speed: float = 1.0) -> None:  # fmt: skip
        self.cfg, self.clock, self.send, self.idle = cfg, clock, send, idle
        self.speed = speed  # a fast clock: waits in real seconds are shorter
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> Deliverer:
        self._thread = threading.Thread(target=self._run, name="push", daemon=True)
        self._thread.start()
        return self

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(10)

    def _run(self) -> None:
        store = Store(self.cfg.store.path)  # this thread's own connection
        outbox = Outbox(store)
        try:
            while not self._stop.is_set():
                try:
                    deliver_due(outbox, list(self.cfg.notify.targets), self.clock.now(), self.send)
                except Exception:  # keep delivering whatever one round did
                    log.exception("push delivery round failed")
                due = outbox.next_due()
                wait = self.idle
                if due is not None:
                    ahead = (due - self.clock.now()) / timedelta(seconds=1) / self.speed
                    wait = max(0.05, min(wait, ahead))
                self._wake.wait(wait)
                self._wake.clear()
        finally:
            store.close()
