"""What the page may ask of the guard, and the one implementation over the real Agent.

One owner per resource: the agent's loop thread alone touches the terminal, the store's
writes and the panel. Every request here is posted onto that loop with a Future and
waited for with a timeout; the page never calls the terminal itself. Reads of history
use their own read-only SQLite connection (WAL readers do not block the loop).
"""

from __future__ import annotations

import dataclasses
import io
import os
import sqlite3
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, TypeVar

from ..agent import Agent, acknowledgeable
from ..config import Config, ConfigError, replace
from ..terminal import TerminalError, Use, open_terminal

T = TypeVar("T")
OLED_TEST_SECONDS = 3.0
PROBE_TIMEOUT = 3.0  # seconds for a terminal that may not be there to answer
PUSH_TESTS_KEPT = 50  # recent push tests whose outcome the page may ask for


class Busy(Exception):
    """The guard's loop did not get to the request in time (settling, or restarting)."""


@dataclass(frozen=True)
class Outcome:
    """The answer to an action: ok or not, a text key for the page, details as data."""

    ok: bool
    key: str
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Snapshot:
    """The guard's state at one moment, as plain data for the dashboard and the API."""

    at: datetime
    level: str  # ok, info, warn, urgent, overdue, fault; "starting" before the first tick
    reasons: tuple[str, ...]
    trading_day: str | None
    cutoff: datetime | None
    batch_count: int | None
    batch_total: int | None  # minor units
    currency: int
    terminal: dict[str, Any] | None  # TerminalStatus.to_json()
    terminal_text_zh: str
    last_answer_at: datetime | None
    failures: int
    last_error: str
    settling: bool
    progress: str | None
    drift_seconds: float | None
    busy: bool = False  # the loop was busy: read without it (values may be a moment old)
    acknowledgeable: bool = False  # an alarm or the buzzer that an acknowledgement would quieten
    details: tuple[dict[str, Any], ...] = ()  # each reason's detail, plain values
    fleet: Any = None  # the broker connection's FleetStatus ([fleet] enabled), else None

    def to_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        for key in ("at", "cutoff", "last_answer_at"):
            data[key] = data[key].isoformat() if data[key] else None
        data["reasons"] = list(self.reasons)
        data["fleet"] = self.fleet.to_json() if self.fleet is not None else None
        data["data_age_seconds"] = self.data_age_seconds
        data["seconds_to_cutoff"] = (
            None if self.cutoff is None else int((self.cutoff - self.at).total_seconds())
        )
        return data

    @property
    def data_age_seconds(self) -> int | None:
        if self.last_answer_at is None:
            return None
        return int((self.at - self.last_answer_at).total_seconds())


class Control(Protocol):
    """The page's whole view of the guard (the tests may give it another implementation)."""

    @property
    def cfg(self) -> Config: ...
    @property
    def db_path(self) -> str: ...
    def snapshot(self) -> Snapshot: ...
    def oled_png(self) -> bytes: ...
    def poll_now(self) -> Outcome: ...
    def test_buzzer(self) -> Outcome: ...
    def test_light(self) -> Outcome: ...
    def test_oled(self) -> Outcome: ...
    def push_test(self, index: int) -> Outcome: ...
    def push_result(self, message_id: int) -> Outcome | None: ...
    def settle(self) -> Outcome: ...
    def force_close(self) -> Outcome: ...
    def acknowledge(self, by: str) -> Outcome: ...
    def sign_in(self, diagnosis: bool = False) -> Outcome: ...
    def set_clock(self) -> Outcome: ...
    def mark_received(self, payout_id: int) -> Outcome: ...
    def statement(self, raw: bytes, *, apply: bool, fee_max: float = 0.03) -> Outcome: ...
    def probe(self, protocol: str, port: str) -> Outcome: ...
    def show_setup_code(self, code: str | None) -> None: ...
    def reload(self) -> None: ...


def _found(status: Any) -> Outcome:
    return Outcome(True, "probe-ok", {"text": status.text, "text_zh": status.text_zh,
                                      "software_version": status.software_version or "?",
                                      "terminal_id": status.terminal_id or "?"})  # fmt: skip


def _plain(detail: dict[str, Any]) -> dict[str, Any]:
    """A reason's detail as JSON would have it: times and dates as ISO text."""
    return {k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in detail.items()}


def same_port(a: str, b: str) -> bool:
    """One port under two names? Device paths by where their links lead (a USB adapter's
    /dev/serial/by-id/... is /dev/ttyUSB0); URLs (socket://, http://) as written."""
    if "://" in a or "://" in b:
        return a == b
    return os.path.realpath(a) == os.path.realpath(b)


def read_only(path: str) -> sqlite3.Connection:
    """A reader of the guard's database that cannot write (and never blocks the loop)."""
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5, check_same_thread=False)
    db.row_factory = sqlite3.Row
    return db


class AgentControl:
    """Control over a running Agent (and its Panel) in this process."""

    def __init__(
        self,
        agent: Agent,
        panel: Any = None,
        *,
        reload: Callable[[], None] = lambda: None,
        address: tuple[str, str] = ("", ""),
        timeout: float = 20.0,
        settle_timeout: float = 300.0,
        push_timeout: float = 60.0,  # a push test undecided by then is "still waiting"
        fleet: Any = None,  # the fleet publisher, for its status
    ) -> None:
        self.agent, self.panel, self.fleet = agent, panel, fleet
        self._reload = reload
        self.address = address  # the page's host and port, for the setup screen
        self.timeout, self.settle_timeout, self.push_timeout = timeout, settle_timeout, push_timeout
        self._setup_code: str | None = None
        self._lock = threading.Lock()  # the page's threads share the push tests below
        self._push_tests: dict[int, tuple[int, float]] = {}  # message id: (target no, start)

    def attach(self, agent: Agent, panel: Any = None, fleet: Any = None) -> None:
        """After a reload: the rebuilt guard (the setup code goes to its panel too)."""
        self.agent, self.panel, self.fleet = agent, panel, fleet
        if self._setup_code is not None:
            self.show_setup_code(self._setup_code)

    @property
    def cfg(self) -> Config:
        return self.agent.cfg

    @property
    def db_path(self) -> str:
        return self.agent.store.path

    # -- running work on the loop

    def _call(self, work: Callable[[], T], timeout: float | None = None) -> T:
        future: Future[T] = Future()

        def run() -> None:
            if not future.set_running_or_notify_cancel():
                return  # the page stopped waiting: do nothing late
            try:
                future.set_result(work())
            except BaseException as exc:  # handed to the waiting request
                future.set_exception(exc)

        self.agent.post(run)
        try:
            return future.result(timeout or self.timeout)
        except FutureTimeout:
            future.cancel()
            raise Busy("the guard is busy; try again in a moment") from None

    def snapshot(self) -> Snapshot:
        try:
            return self._call(self._snapshot, 2.0)
        except Busy:
            # Settling holds the loop for up to a minute: read the last values directly
            # (each is an immutable object replaced whole, so the read is consistent enough).
            return dataclasses.replace(self._snapshot(), busy=True)

    def _snapshot(self) -> Snapshot:
        agent, st = self.agent, self.agent.state
        a = st.assessment
        status = st.status
        return Snapshot(
            at=agent.clock.now(),
            level=a.level.name.lower() if a else "starting",
            reasons=tuple(r.kind.value for r in a.reasons) if a else (),
            details=tuple(_plain(r.detail) for r in a.reasons) if a else (),
            trading_day=a.trading_day.isoformat() if a else None,
            cutoff=a.cutoff if a else None,
            batch_count=a.batch_count if a else None,
            batch_total=a.batch_total if a else None,
            currency=agent.cfg.currency_code,
            terminal=status.to_json() if status else None,
            terminal_text_zh=status.text_zh if status else "",
            last_answer_at=st.last_answer_at,
            failures=st.failures,
            last_error=st.last_error,
            settling=st.settling,
            progress=st.progress,
            drift_seconds=st.terminal_drift.total_seconds() if st.terminal_drift else None,
            acknowledgeable=acknowledgeable(a),
            fleet=self.fleet.status if self.fleet is not None else None,  # replaced whole
        )

    def oled_png(self) -> bytes:
        # Panel.image is replaced whole on each frame, never changed in place: safe to read.
        image = getattr(self.panel, "image", None)
        if image is None:
            from PIL import Image

            image = Image.new("1", (128, 64))
        out = io.BytesIO()
        image.convert("L").resize((256, 128), 0).save(out, "PNG")  # 0: nearest, crisp pixels
        return out.getvalue()

    # -- tests of each part

    def poll_now(self) -> Outcome:
        def work() -> Outcome:
            self.agent.poll()
            self.agent.tick()
            st = self.agent.state
            if st.failures:
                return Outcome(False, "poll-failed", {"error": st.last_error})
            return Outcome(True, "poll-ok", {"status": st.status.text if st.status else ""})

        return self._call(work)

    def _panel_test(self, name: str, test: Callable[[Any], None]) -> Outcome:
        if self.panel is None:
            return Outcome(False, "no-panel")

        def work() -> Outcome:
            test(self.panel)
            self.panel.redraw()
            return Outcome(True, f"{name}-ok")

        return self._call(work)

    def test_buzzer(self) -> Outcome:
        return self._panel_test("buzzer", lambda p: p.alarm.test())

    def test_light(self) -> Outcome:
        return self._panel_test("light", lambda p: p.light.cycle(0.4))

    def test_oled(self) -> Outcome:
        if self.panel is None:
            return Outcome(False, "no-panel")
        self._call(self.panel.test_pattern)
        panel = self.panel  # the pattern stays a few seconds, then the loop redraws
        threading.Timer(OLED_TEST_SECONDS, lambda: self.agent.post(panel.redraw)).start()
        return Outcome(True, "oled-ok")

    def push_test(self, index: int) -> Outcome:
        """Queue a test message for target `index` and answer at once ("push-queued" with
        the message's id): a dead target would hold the request for a minute; the page
        asks `push_result` for the outcome instead."""
        from ..notify import messages
        from ..notify.outbox import Outbox, target_id

        targets = self.cfg.notify.targets
        if not 0 <= index < len(targets):
            return Outcome(False, "no-such-target")
        target = targets[index]
        tid = target_id(target.url)

        def queue() -> int:
            now = self.agent.clock.now()
            draft = messages.push_test(target.lang or self.cfg.panel.locale, now, self.cfg.zone)
            key = f"{draft.key}:{time.time_ns()}"  # each press is a message of its own
            Outbox(self.agent.store).put(dataclasses.replace(draft, key=key), tid, now)
            self.agent.on_queued()  # wakes the delivery thread
            row = self.agent.store.db.execute(
                "SELECT id FROM outbox WHERE key = ? AND target = ?", (key, tid)
            ).fetchone()
            return int(row["id"])

        message_id = self._call(queue)
        with self._lock:
            while len(self._push_tests) >= PUSH_TESTS_KEPT:
                del self._push_tests[next(iter(self._push_tests))]
            self._push_tests[message_id] = (index + 1, time.monotonic())
        return Outcome(True, "push-queued", {"target": index + 1, "id": message_id})

    def push_result(self, message_id: int) -> Outcome | None:
        """A push test's outcome, or None while it is still on its way (one look, no wait)."""
        with self._lock:
            number, started = self._push_tests.get(message_id, (0, 0.0))
        if not number:
            return Outcome(False, "no-such-target")
        db = read_only(self.db_path)
        try:
            row = db.execute(
                "SELECT state, attempts, last_error FROM outbox WHERE id = ? AND kind = 'test'",
                (message_id,),
            ).fetchone()
        finally:
            db.close()
        if row is not None and row["state"] == "delivered":
            return Outcome(True, "push-ok", {"target": number})
        if row is not None and row["attempts"]:
            error = row["last_error"] or ""
            return Outcome(False, "push-failed", {"target": number, "error": error})
        if time.monotonic() - started > self.push_timeout:
            return Outcome(False, "push-waiting", {"target": number})
        return None

    def acknowledge(self, by: str) -> Outcome:
        """The panel's acknowledgement, given by `by` ("page", "api:<token name>"); returns
        once the loop has done it."""
        self.agent.acknowledge(by)
        self._call(lambda: None)  # the loop runs posts in order: the acknowledgement is done
        return Outcome(True, "ack-ok")

    # -- actions on the terminal

    def settle(self) -> Outcome:
        """Settle now, through the policy and the exactly-once journal, like the button."""

        def newest() -> int:
            self.agent.poll()  # the batch open now, not at the last scheduled poll
            rows = self.agent.store.settlements(limit=1)
            return rows[0].id if rows else 0

        before = self._call(newest)
        # Made for the batch just read; runs on the loop before the report below (FIFO).
        self.agent.request_settle()
        return self._call(lambda: self._settled_since(before), self.settle_timeout)

    def force_close(self) -> Outcome:
        """Close the batch without the host (B02), journaled; only where the protocol can."""

        def work() -> Outcome:
            rows = self.agent.store.settlements(limit=1)
            before = rows[0].id if rows else 0
            try:
                self.agent.force_close()
            except TerminalError as exc:
                return Outcome(False, "settle-failed", {"result_text": str(exc)})
            return self._settled_since(before)

        return self._call(work, self.settle_timeout)

    def _settled_since(self, before: int) -> Outcome:
        """The settlement journaled after row `before`, or why there is none (on the loop)."""
        st = self.agent.state
        rows = self.agent.store.settlements(limit=1)
        if not rows or rows[0].id == before:
            st.settle_requested = None  # not now: never settle later by surprise
            reasons = [r.kind.value for r in st.assessment.reasons] if st.assessment else []
            empty = st.totals is not None and st.totals.empty
            return Outcome(
                False,
                "settle-empty" if empty else "settle-not-now",
                {"reasons": reasons, "error": st.last_error},
            )
        r = rows[0]
        return Outcome(
            r.state == "ok",
            f"settle-{r.state}",
            {
                "id": r.id,
                "state": r.state,
                "result_text": r.result_text or "",
                "note": r.note or "",
                "receipt_lines": r.receipt_lines,
            },
        )

    def _terminal_op(self, name: str, op: Callable[[], Any]) -> Outcome:
        def work() -> Outcome:
            now = self.agent.clock.now()
            try:
                result = op()
            except TerminalError as exc:
                self.agent.store.add_event(name, "warn", {"error": str(exc), "by": "web"}, now)
                return Outcome(False, f"{name}-failed", {"error": str(exc)})
            self.agent.store.add_event(
                name,
                "info" if result.ok else "warn",
                {"result": result.to_json(), "by": "web"},
                now,
            )
            self.agent.poll()
            self.agent.tick()
            return Outcome(
                result.ok,
                f"{name}-{'ok' if result.ok else 'failed'}",
                {"error": "" if result.ok else result.result_text},
            )

        return self._call(work, self.settle_timeout)

    def sign_in(self, diagnosis: bool = False) -> Outcome:
        terminal = self.agent.terminal
        diagnosis = diagnosis or self.agent.needs_diagnosis
        return self._terminal_op(
            "diagnosis" if diagnosis else "sign-in",
            terminal.diagnose if diagnosis else terminal.initialise,
        )

    def set_clock(self) -> Outcome:
        return self._terminal_op("clock", self.agent.set_terminal_clock)

    def mark_received(self, payout_id: int) -> Outcome:
        from ..notify import payouts

        def work() -> Outcome:
            today = self.agent.clock.now().astimezone(self.cfg.zone).date()
            p = payouts.mark_received(self.agent.store, payout_id, today)
            return Outcome(p is not None, "received-ok" if p else "no-such-payout")

        return self._call(work)

    def statement(self, raw: bytes, *, apply: bool, fee_max: float = 0.03) -> Outcome:
        """A bank statement against the open payouts (as `payouts --import` does): which
        credit pays which payout. `apply` marks them received on the credit's date."""
        from ..money import decimals
        from ..notify import payouts, statement

        try:  # parsing needs nothing of the loop: not on it
            credits, skipped = statement.read(raw, places=decimals(self.cfg.currency_code))
        except statement.StatementError as exc:
            return Outcome(False, "statement-bad", {"error": str(exc)})

        def work() -> Outcome:
            store = self.agent.store
            waiting = [p for p in payouts.payouts(store, limit=500) if p.received_on is None]
            found = statement.match(waiting, credits, fee_max=fee_max)
            if apply:
                for p, c in found:
                    payouts.mark_received(store, p.id, c.booked)
            paid = {p.id for p, _ in found}
            return Outcome(True, "statement-applied" if apply else "statement-preview", {
                "credits": len(credits), "skipped": skipped[:20],
                "matched": [(p, c) for p, c in found],
                "unmatched": [p for p in waiting if p.id not in paid],
            })  # fmt: skip

        return self._call(work)

    def probe(self, protocol: str, port: str) -> Outcome:
        """Is a terminal there? A status poll on the loop: through the guard's own link when
        it is the configured one, else through a link opened for this one question (the
        loop owns every terminal link, this one too)."""

        def work() -> Outcome:
            cfg = self.agent.cfg
            own = same_port(port, cfg.terminal.port)  # by-id/... and ttyUSB0 are one device
            if own and protocol == cfg.terminal.protocol:
                self.agent.poll()
                self.agent.tick()
                st = self.agent.state
                if st.failures or st.status is None:
                    return Outcome(False, "probe-failed", {"error": st.last_error})
                return _found(st.status)
            if own:  # the guard's own link holds it: never a second
                return Outcome(False, "probe-own-port", {"protocol": cfg.terminal.protocol})
            try:
                trial = replace(cfg, "terminal", protocol=protocol, port=port)
            except ConfigError as exc:
                return Outcome(False, "probe-failed", {"error": "; ".join(e.message for e in
                                                                          exc.errors)})  # fmt: skip
            try:
                terminal = open_terminal(trial, use=Use.COMMAND, timeout=PROBE_TIMEOUT)
            except TerminalError as exc:  # the port does not open
                return Outcome(False, "probe-failed", {"error": str(exc)})
            try:
                return _found(terminal.status())
            except TerminalError as exc:
                return Outcome(False, "probe-failed", {"error": str(exc)})
            finally:
                terminal.close()

        return self._call(work)

    # -- the page's own needs

    def show_setup_code(self, code: str | None) -> None:
        self._setup_code = code
        panel = self.panel
        if panel is not None and hasattr(panel, "show_setup"):
            self.agent.post(lambda: panel.show_setup(code, *self.address))

    def reload(self) -> None:
        self._reload()
