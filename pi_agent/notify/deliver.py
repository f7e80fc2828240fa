"""Delivery: the outbox's messages to their targets through Apprise.

The outbox's bookkeeping (what is due, sent, failed, retried when) stays here, on the
delivery thread with its own SQLite connection, so a slow push service never holds up
the guard's loop. The send itself runs in a push worker process (`worker.py`) started
when something is due and ended when idle: Apprise costs more memory than the whole
guard, and only a few messages a day need it. Short-lived commands (`notify test`)
send in-process instead. Logs name a target by its scheme and id, never by its URL.

An alarm for a service that can open a link (ntfy, Bark) carries the page's address, where
the owner acknowledges it; the address comes from `[web] listen` (see web/hosts.py).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import select
import subprocess
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from ..clock import Clock
from ..config import Config, Target
from ..quietlog import OncePerCause
from ..store import Store
from ..subproc import module_command
from ..web.hosts import page_url
from . import push
from .outbox import Message, Outbox, target_id
from .push import DeliveryError

log = logging.getLogger("settle-guard.notify")

# send(target, message) -> None, or raises DeliveryError
Send = Callable[[Target, Message], None]

__all__ = ["Deliverer", "DeliveryError", "PushWorker", "apprise_send", "deliver_due"]


def describe(target: Target) -> str:
    return f"{target.url.partition('://')[0]}:{target_id(target.url)}"


def apprise_send(target: Target, m: Message) -> None:
    """Send in this process (loads Apprise here): for short-lived commands and tests."""
    try:
        push.send(push.with_link(target.url, m.link), m.title, m.body, m.level)
    except DeliveryError as exc:
        raise DeliveryError(f"{describe(target)}: {exc}", exc.permanent) from None


class PushWorker:
    """Sends through a worker process; callable as a `Send`.

    The worker starts on the first send and is ended by `tidy()` once it has been idle
    for `linger` seconds, so a burst of messages shares one start-up. A worker that
    dies or stops answering within `timeout` is killed; the message stays in the
    outbox and is retried (it may have been shown: delivery is at least once).
    """

    def __init__(self, linger: float = 120.0, timeout: float = 90.0) -> None:
        self.linger, self.timeout = linger, timeout
        self._proc: subprocess.Popen[bytes] | None = None
        self._last_used = 0.0
        self._buffer = b""
        self.started = 0  # worker processes started so far (for tests and the bench)

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def _start(self) -> subprocess.Popen[bytes]:
        argv, env = module_command("pi_agent.notify.worker")
        self._buffer = b""
        self.started += 1
        return subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)

    def __call__(self, target: Target, m: Message) -> None:
        if self._proc is None or self._proc.poll() is not None:
            self._proc = self._start()
        url = push.with_link(target.url, m.link)
        request = {"url": url, "title": m.title, "body": m.body, "level": m.level}
        try:
            assert self._proc.stdin is not None
            self._proc.stdin.write(json.dumps(request).encode() + b"\n")
            self._proc.stdin.flush()
            line = self._read_line(self._proc, time.monotonic() + self.timeout)
        except (OSError, TimeoutError) as exc:
            self.close(kill=True)
            raise DeliveryError(f"{describe(target)}: push worker: {exc}") from None
        finally:
            self._last_used = time.monotonic()
        try:
            reply = json.loads(line)
        except ValueError:
            self.close(kill=True)
            raise DeliveryError(f"{describe(target)}: push worker gave no answer") from None
        if not reply.get("ok"):
            why = str(reply.get("error", "failed"))
            raise DeliveryError(f"{describe(target)}: {why}", bool(reply.get("permanent")))

    def _read_line(self, proc: subprocess.Popen[bytes], deadline: float) -> bytes:
        assert proc.stdout is not None
        fd = proc.stdout.fileno()
        while b"\n" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no answer within {self.timeout:.0f} s")
            ready, _, _ = select.select([fd], [], [], left)
            if ready:
                chunk = os.read(fd, 65536)
                if not chunk:
                    raise OSError(f"exited with code {proc.wait()}")
                self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line

    def tidy(self) -> float | None:
        """End an idle worker; the seconds until it should be looked at again, or None."""
        if self._proc is None:
            return None
        idle = time.monotonic() - self._last_used
        if idle >= self.linger:
            self.close()
            return None
        return self.linger - idle

    def close(self, kill: bool = False) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        try:
            if kill:
                proc.kill()
            if proc.stdin is not None:
                proc.stdin.close()  # end of input: the worker exits by itself
            proc.wait(5)
        except (OSError, subprocess.TimeoutExpired):
            proc.kill()
            proc.wait()
        finally:
            if proc.stdout is not None:
                proc.stdout.close()


def deliver_due(outbox: Outbox, targets: list[Target], now: datetime, send: Send,
                link: str | None = None, *, said: OncePerCause | None = None) -> int:  # fmt: skip
    """Send what is due now, oldest first per target; returns how many were delivered.
    `link`: the page's address, handed with each alarm (not with reports or notices).
    `said`: the failures logged already (one line per target and cause, not per retry)."""
    said = said or OncePerCause()
    by_id = {target_id(t.url): t for t in targets}
    delivered = 0
    for tid, target in by_id.items():
        while (m := outbox.next_for(tid, now)) is not None:
            if link and m.kind == "alarm":
                m = dataclasses.replace(m, link=link)
            try:
                send(target, m)
            except DeliveryError as exc:
                outbox.failed(m, now, str(exc), permanent=exc.permanent)
                if said.new(tid, str(exc)):
                    log.warning("push to %s failed (attempt %d): %s", describe(target),
                                m.attempts + 1, exc)  # fmt: skip
                break
            except Exception as exc:  # a library or network error: retry later
                outbox.failed(m, now, f"{type(exc).__name__}: {exc}")
                if said.new(tid, type(exc).__name__):
                    log.warning("push to %s failed: %s", describe(target), type(exc).__name__)
                break
            outbox.sent(m, now)
            if said.ended(tid):
                log.info("push to %s delivered again", describe(target))
            delivered += 1
    for m in outbox.pending():
        if m.target not in by_id:  # the target was removed from the config
            outbox.failed(m, now, "target no longer configured", permanent=True)
    return delivered


class Deliverer:
    """The delivery thread: wakes when told (new message) or when the next one is due."""

    def __init__(self, cfg: Config, clock: Clock, send: Send | None = None,
                 idle: float = 30.0, speed: float = 1.0) -> None:  # fmt: skip
        self.worker = PushWorker() if send is None else None
        self.cfg, self.clock, self.idle = cfg, clock, idle
        self.send: Send = send or self.worker  # type: ignore[assignment]
        self.speed = speed  # a fast clock: waits in real seconds are shorter
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._said = OncePerCause()

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
                    deliver_due(outbox, list(self.cfg.notify.targets), self.clock.now(), self.send,
                                page_url(self.cfg.web), said=self._said)  # fmt: skip
                    self._said.ended("round")
                except Exception as exc:  # keep delivering whatever one round did
                    if self._said.new("round", repr(exc)):
                        log.exception("push delivery round failed")
                due = outbox.next_due()
                wait = self.idle
                if due is not None:
                    ahead = (due - self.clock.now()) / timedelta(seconds=1) / self.speed
                    wait = max(0.05, min(wait, ahead))
                if self.worker is not None and (left := self.worker.tidy()) is not None:
                    wait = min(wait, left + 0.05)
                self._wake.wait(wait)
                self._wake.clear()
        finally:
            if self.worker is not None:
                self.worker.close()
            store.close()
