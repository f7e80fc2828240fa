"""The agent: the one loop that owns the guard's state.

APScheduler jobs (poll, policy tick, daily housekeeping) and the panel's button only
post work to the loop's queue; the loop thread alone reads the terminal, writes the
store, runs the policy and acts on it. Under systemd (NOTIFY_SOCKET set) it reports
READY once the first poll has been tried, and a watchdog thread pings while the loop
keeps its promises (see watchdog.py): a long end-of-day is busy, not stuck.

A request to settle (the button, the page, the API) names the batch it was made for and
expires with it: once that batch is settled or gone, the request is dropped, so a sale
arriving later never triggers an end-of-day nobody asked for.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Protocol

from .clock import Clock
from .config import Config
from .guard.assessment import ActionKind, Assessment, Level, ReasonKind
from .guard.policy import (
    NEWS_SHOWN,
    LostBatch,
    Observations,
    SettledFacts,
    SettleHistory,
    assess,
)
from .guard.settle import OutcomeStillOpen, SettlementExecutor
from .guard.tradingday import TradingCalendar, resolve_local
from .money import currency_numeric
from .notify import payouts
from .notify.messages import Context
from .notify.planner import Planner
from .quietlog import OncePerCause, quiet_libraries
from .snapshot import GuardSnapshot, LastSettlement, NextPayout
from .snapshot import build as build_snapshot
from .store import BatchRecord, Settlement, Store
from .terminal import (
    BatchTotals,
    Condition,
    OperationResult,
    Progress,
    Terminal,
    TerminalError,
    TerminalStatus,
)
from .terminal.registry import Capability, capabilities
from .watchdog import DEFAULT_STALL, Heartbeat, Watchdog, sd_notify, watchdog_interval

log = logging.getLogger(__name__)

SNOOZE = timedelta(minutes=10)
MAINTENANCE_EVERY = timedelta(minutes=30)  # sign-in / clock setting, at most this often
FIRST_CONNECT_WAIT = 3.0  # seconds the first poll waits for the port to open
# Alarms about what happened (not a state that clears by itself): a short press acknowledges
# them, and they are shown quietly from then on. An acknowledgement counts this long.
NEWS_KINDS = frozenset({ReasonKind.BATCH_LOST, ReasonKind.OUT_OF_BALANCE,
                        ReasonKind.OFFLINE_UNSENT})  # fmt: skip
ACK_KEPT = timedelta(days=7)


class PanelSink(Protocol):
    """What the agent needs from the panel (OLED, light, buzzer)."""

    def show(self, assessment: Assessment, progress: str | None, prompt: str | None) -> None: ...


class NullPanel:
    def show(self, assessment: Assessment, progress: str | None, prompt: str | None) -> None:
        pass


# request_settle's default: the batch the agent last published, as the caller saw it
CURRENT_BATCH = object()


@dataclass
class GuardState:
    """Everything the loop knows between ticks."""

    status: TerminalStatus | None = None
    totals: BatchTotals | None = None
    batch_key: str | None = None  # the guard's name for the open batch (None: empty)
    totals_at: datetime | None = None
    failures: int = 0
    terminal_drift: timedelta | None = None  # terminal clock minus ours, at the last poll
    last_poll_at: datetime | None = None  # the last poll attempt, answered or not
    last_answer_at: datetime | None = None
    last_error: str = ""
    settling: bool = False
    progress: str | None = None
    settle_requested: str | None = None  # the batch a person asked to settle
    settle_cancelled_day: date | None = None
    snoozed_until: datetime | None = None
    last_maintenance: dict[str, datetime] = field(default_factory=dict)
    assessment: Assessment | None = None


def opening_key(day: date) -> str:
    """The store's mark of trading day `day`'s opening sign-in."""
    return f"sign-in-at-opening:{day}"


def acknowledgeable(a: Assessment | None) -> bool:
    """Whether an acknowledgement would quieten something now: above OK, not snoozed, with an
    alarm to tell or a level that sounds the buzzer (WARN and up)."""
    if a is None or a.level is Level.OK or a.snoozed:
        return False
    return bool(a.notices) or a.level.value >= Level.WARN.value


def _lost(b: BatchRecord) -> LostBatch:
    ref = b.ref or {}
    return LostBatch(b.key, b.lost_at or b.closed_at or b.opened_at, int(ref.get("count") or 0),
                     int(ref.get("total") or 0), ref.get("batch_number"))  # fmt: skip


def _settled(ok: Settlement, store: Store) -> SettledFacts:
    unsent = ok.offline_unsent
    if unsent and store.event_seen(f"offline-sent:{ok.id}"):
        unsent = 0  # all sent since; offline payments now are new ones
    settled = ok.totals_settled or {}
    try:
        currency = currency_numeric(settled["currency"]) if settled.get("currency") else None
    except ValueError:
        currency = None
    return SettledFacts(ok.id, ok.updated_at, ok.out_of_balance, unsent, ok.offline_unsent_total,
                        trading_day=ok.trading_day, count=settled.get("count"),
                        total=settled.get("total_minor"), currency=currency,
                        verified=ok.verified)  # fmt: skip


class Agent:
    def __init__(self, cfg: Config, clock: Clock, terminal: Terminal, store: Store,
                 panel: PanelSink | None = None, *, speed: float = 1.0) -> None:  # fmt: skip
        self.cfg = cfg
        self.clock = clock
        self.terminal = terminal
        self.store = store
        self.panel = panel or NullPanel()
        self.speed = speed
        self.calendar = TradingCalendar(cfg.zone, cfg.schedule.cutoff)
        self.executor = SettlementExecutor(terminal, store, clock, self.calendar)
        self.state = GuardState()
        self._listeners: list[Callable[[GuardSnapshot], None]] = []
        self._publish_failure = ""
        self._queue: queue.Queue[Callable[[], None] | None] = queue.Queue()
        self._scheduler = None
        self._thread: threading.Thread | None = None
        self._ready_sent = False
        self.stopped = threading.Event()
        self.planner = Planner(cfg, store)  # what to tell the owner: into the outbox
        self.on_queued: Callable[[], None] = lambda: None  # wakes the delivery thread
        self._tell_failure = ""
        self.heartbeat = Heartbeat()
        self.stall = DEFAULT_STALL
        self._watchdog: Watchdog | None = None
        self._said = OncePerCause()  # repeated failures: one line per cause
        terminal.watch(self.heartbeat.beat)

    # -- requests from other threads (button, web page, scheduler): queued for the loop

    def post(self, work: Callable[[], None]) -> None:
        self._queue.put(work)

    def acknowledge(self, by: str = "panel") -> None:
        """The one acknowledgement, whoever gives it ("panel": a short press, "page",
        "api:<token name>"): snooze the buzzer; during the 'ask' prompt it also cancels
        today's; an alarm about what happened (a lost batch, out of balance, offline payments
        unsent) is shown quietly from then on, across restarts; and the owner's pushes of
        the alarms open now stop repeating."""
        self.post(lambda: self._acknowledge(by))

    def request_settle(self, batch: str | object | None = CURRENT_BATCH) -> None:
        """Confirmed long press (or the owner): settle `batch` now, whatever the mode. By
        default the batch is the one on show when the request was made, not when it runs."""
        key = self.state.batch_key if batch is CURRENT_BATCH else batch
        self.post(lambda: self._request_settle(key))  # type: ignore[arg-type]

    def _acknowledge(self, by: str = "panel") -> None:
        now = self.clock.now()
        self.state.snoozed_until = now + SNOOZE
        a = self.state.assessment
        if a is not None and any(r.kind.value == "settle-prompt" for r in a.reasons):
            self.state.settle_cancelled_day = a.trading_day
            self.store.add_event("settle-cancelled", "info",
                                 {"day": str(a.trading_day), "by": by}, now)  # fmt: skip
        news = [n.key for n in (a.notices if a is not None else ()) if n.kind in NEWS_KINDS]
        for key in news:  # the mark the policy reads (`Observations.acknowledged`)
            self.store.add_event("acknowledged", "info", {"notice": key, "by": by}, now,
                                 key=f"ack:{key}")  # fmt: skip
        alarms = sorted(self.planner.open_alarms(a)) if a is not None else []
        stopped = self.planner.outbox.acknowledge_keys(alarms, now)
        log.info("alarms acknowledged by %r", by)
        self.store.add_event("acknowledge", "info",
                             {"by": by, "snoozed_until": self.state.snoozed_until.isoformat(),
                              "notices": news, "alarms": alarms, "repeats_stopped": stopped},
                             now)  # fmt: skip
        self.tick()

    def _request_settle(self, key: str | None) -> None:
        if key is None or key != self.state.batch_key:
            log.info("settle request for batch %s dropped: the open batch is %s", key,
                     self.state.batch_key)  # fmt: skip
            self.store.add_event("settle-request-expired", "info",
                                 {"batch": key, "open": self.state.batch_key},
                                 self.clock.now())  # fmt: skip
            return
        self.state.settle_requested = key
        self.tick()

    # -- the work

    def poll(self) -> None:
        """Read status and totals; a failure counts towards 'stale' and 'dead'."""
        now = self.state.last_poll_at = self.clock.now()
        try:
            status = self.terminal.status()
            asked = self.clock.now()
            totals = self.terminal.totals()
            answered = self.clock.now()
        except TerminalError as exc:
            self.state.failures += 1
            self.state.last_error = str(exc)
            self.store.add_reading("failure", {"error": str(exc)}, now)
            if self._said.new("poll", str(exc)):
                log.warning("poll failed: %s (said once until the cause changes)", exc)
        else:
            if self._said.ended("poll"):
                log.info("the terminal answers again after %d failed poll(s)", self.state.failures)
            self.state.status, self.state.totals = status, totals
            self.state.totals_at = self.state.last_answer_at = now
            self.state.failures = 0
            self.state.terminal_drift = self._drift(totals, asked + (answered - asked) / 2)
            self.store.add_reading("status", status.to_json(), now)
            self.store.add_reading("totals", totals.to_json(), now)
            self._batch_seen(self.executor.identify(totals))
            if totals.offline_pending == 0:
                self._offline_sent(now)
        if not self._ready_sent:
            self._ready_sent = True
            sd_notify("READY=1")

    def _offline_sent(self, now: datetime) -> None:
        """The terminal holds no offline payments: those the last end-of-day left unsent went
        since. Kept in the store, so new offline payments later are not taken for them."""
        ok = self.store.last_ok_settlement()
        if ok is not None and ok.offline_unsent:
            self.store.add_event("offline-sent", "info", {"settlement": ok.id}, now,
                                 key=f"offline-sent:{ok.id}")  # fmt: skip

    def _drift(self, totals: BatchTotals, at: datetime) -> timedelta | None:
        """The terminal's clock minus ours, judged at the middle of the totals exchange."""
        if totals.terminal_time is None:
            return None
        theirs = resolve_local(totals.terminal_time.date(), totals.terminal_time.time(),
                               self.cfg.zone)  # fmt: skip
        return theirs - at

    def _batch_seen(self, key: str | None) -> None:
        """The open batch is `key` now; a settle request made for another one expires."""
        st = self.state
        st.batch_key = key
        if st.settle_requested is not None and st.settle_requested != key:
            log.info("settle request for batch %s expired: the batch is gone", st.settle_requested)
            st.settle_requested = None

    def observations(self, now: datetime) -> Observations:
        st = self.state
        key = st.batch_key if st.totals is not None and not st.totals.empty else None
        history = SettleHistory()
        if key is not None:
            tries = self.store.settlements(batch_key=key)
            if tries:
                last = tries[0]
                history = SettleHistory(len(tries), last.state, last.updated_at, last.result_code)
        day = self.calendar.trading_day(now)
        if any(s.state == "ok" for s in self.store.settlements(trading_day=day)):
            history = SettleHistory(history.attempts, history.last_state, history.last_at,
                                    history.last_code, settled_day=day)  # fmt: skip
        record = self.store.batch(key) if key is not None else None
        ok = self.store.last_ok_settlement()
        return Observations(
            status=st.status, totals=st.totals, totals_at=st.totals_at,
            batch_day=record.trading_day if record else None,
            batch_opened_at=record.opened_at if record else None,
            lost_batches=tuple(_lost(b) for b in self.store.lost_batches(now - NEWS_SHOWN)),
            last_settled=_settled(ok, self.store) if ok else None,
            acknowledged=frozenset(self.store.acknowledged(now - ACK_KEPT)),
            failures=st.failures, last_answer_at=st.last_answer_at,
            system_synced=self.clock.synchronised(), settling=st.settling,
            open_outcome=bool(self.store.open_settlements()), history=history,
            terminal_drift=st.terminal_drift,
            settle_requested=key is not None and st.settle_requested == key,
            settle_cancelled=st.settle_cancelled_day == day, snoozed_until=st.snoozed_until,
            opened_today=self.cfg.settle.sign_in_at_opening
            and self.store.event_seen(opening_key(day)),
        )  # fmt: skip

    def tick(self) -> Assessment:
        now = self.clock.now()
        obs = self.observations(now)
        a = assess(now, self.cfg, obs)
        previous = self.state.assessment
        self.state.assessment = a
        self._level_seen(previous, a)
        for notice in a.notices:
            if self.store.add_event("notice", notice.level.name.lower(),
                                    {"kind": notice.kind.value}, now, key=notice.key):  # fmt: skip
                log.warning("alarm: %s (%s)", notice.kind.value, notice.level.name.lower())
        self._show(a)
        self._act(a)
        final = self.state.assessment or a
        self._tell(final, obs)
        if self._listeners:  # after a settlement the guard judged afresh: so do they
            self._publish(final, obs if final is a else self.observations(final.at))
        return final

    def _level_seen(self, previous: Assessment | None, a: Assessment) -> None:
        """A change of level: an event in the store and one line in the log."""
        if previous is not None and previous.level is a.level:
            return
        reasons = [r.kind.value for r in a.reasons]
        self.store.add_event("level", a.level.name.lower(), {"reasons": reasons}, a.at)
        why = f": {', '.join(reasons)}" if reasons else ""
        loud = a.level.value >= Level.WARN.value
        log.log(logging.WARNING if loud else logging.INFO, "level %s%s", a.level.name.lower(), why)

    def subscribe(self, listener: Callable[[GuardSnapshot], None]) -> None:
        """Call `listener(snapshot)` on the loop after every tick. It must return at once
        (hand the value to its own thread): the loop waits for nobody."""
        self._listeners.append(listener)

    def snapshot(self) -> GuardSnapshot:
        """What the guard knows now (built on the loop's thread)."""
        a = self.state.assessment or self.tick()
        return self._snapshot(a, self.observations(a.at))

    def _snapshot(self, a: Assessment, obs: Observations) -> GuardSnapshot:
        rows = self.store.settlements(limit=1)
        last = None
        if rows:
            r = rows[0]
            settled = r.totals_settled or {}
            last = LastSettlement(r.id, r.state, r.updated_at, r.verified,
                                  settled.get("total_minor"), settled.get("count"))  # fmt: skip
        today = a.at.astimezone(self.cfg.zone).date()
        waiting = [p for p in payouts.payouts(self.store, limit=10)
                   if p.received_on is None and p.expected_on >= today]  # fmt: skip
        soonest = min(waiting, key=lambda p: p.expected_on, default=None)
        payout = NextPayout(soonest.expected_on, soonest.amount, soonest.currency) if soonest \
            else None  # fmt: skip
        return build_snapshot(a, obs, zone=self.cfg.zone, batch_key=self.state.batch_key,
                              last=last, payout=payout)  # fmt: skip

    def _publish(self, a: Assessment, obs: Observations) -> None:
        if not self._listeners:
            return  # nobody listens: no snapshot, no store reads
        failure = ""
        try:
            snap = self._snapshot(a, obs)
        except Exception as exc:  # the snapshot must never stop the guard
            snap, failure = None, repr(exc)
            if failure != self._publish_failure:
                log.exception("building the snapshot failed")
        for listener in self._listeners if snap is not None else ():
            try:
                listener(snap)
            except Exception as exc:  # nor a listener: the others still get it
                failure = repr(exc)
                if failure != self._publish_failure:  # once per cause, not every tick
                    log.exception("a snapshot listener failed")
        self._publish_failure = failure

    def _tell(self, a: Assessment, obs: Observations) -> None:
        try:
            self.planner.expect_payouts(a)
            ctx = Context(self.cfg.zone, self.state.last_answer_at, obs.batch_day,
                          self.cfg.terminal.protocol)  # fmt: skip
            if self.cfg.notify.targets and self.planner.after_tick(a, ctx):
                self.on_queued()
        except Exception as exc:  # telling the owner must never stop the guard
            if repr(exc) != self._tell_failure:  # once per cause, not every tick
                log.exception("planning notifications failed")
            self._tell_failure = repr(exc)
        else:
            self._tell_failure = ""

    def _show(self, a: Assessment) -> None:
        prompt = "last-call" if any(r.kind.value == "settle-prompt" for r in a.reasons) else None
        try:
            self.panel.show(a, self.state.progress, prompt)
        except Exception:  # a broken panel must never stop the guard
            log.exception("panel update failed")

    def _poll_due(self, a: Assessment) -> bool:
        """Inside the amber lead with a batch that may be open, or while the terminal fails to
        answer, read it every `near_cutoff_interval_seconds` rather than at the slow pace."""
        st = self.state
        lead = timedelta(minutes=self.cfg.warnings.amber_minutes)
        near = timedelta(0) < a.time_to_cutoff <= lead and a.batch_count != 0
        if not (near or st.failures) or st.settling:
            return False
        every = timedelta(seconds=self.cfg.poll.near_cutoff_interval_seconds)
        return st.last_poll_at is None or a.at - st.last_poll_at >= every

    def _act(self, a: Assessment) -> None:
        if self._poll_due(a):
            self.poll()
        if a.wants(ActionKind.RESOLVE):
            try:
                self.executor.resolve_open()
            except TerminalError as exc:
                if self._said.new("resolve", str(exc)):
                    log.info("unknown settlement outcome still open: %s", exc)
            else:
                self._said.ended("resolve")
        settle = next((x for x in a.actions if x.kind is ActionKind.SETTLE), None)
        if settle is not None:
            self._settle(settle.why.value if settle.why else "policy")
        elif a.wants(ActionKind.SIGN_IN):
            self._maintain("sign-in", self._sign_in)
        elif a.wants(ActionKind.SIGN_IN_AT_OPENING):
            self._sign_in_at_opening(a.trading_day)
        if a.wants(ActionKind.SET_TERMINAL_CLOCK):
            self._maintain("clock", self.set_terminal_clock)

    def force_close(self) -> None:
        """Close the open batch on the terminal without the host (POSLink B02): a person's
        explicit choice on the page, never the policy's. Journaled like any end-of-day."""
        if Capability.FORCE_SETTLE not in capabilities(self.cfg.terminal.protocol):
            raise TerminalError(f"{self.cfg.terminal.protocol} terminals have no force close")
        self.poll()  # the batch open now
        self._settle("force", force=True)

    def _settle(self, why: str, *, force: bool = False) -> None:
        st = self.state
        st.settling, st.settle_requested = True, None

        def progress(p: Progress) -> None:
            st.progress = p.text_zh if self.cfg.panel.locale == "zh-CN" else p.text
            if st.assessment is not None:
                self._show(st.assessment)

        now = self.clock.now()
        try:
            record = self.executor.settle(why, progress, force=force)
        except (OutcomeStillOpen, TerminalError) as exc:
            self.store.add_event("settlement", "warn", {"error": str(exc)}, now)
            log.warning("settlement (%s) not done: %s", why, exc)
            record = None
        finally:
            st.settling, st.progress = False, None
        if record is not None:
            log.log(logging.INFO if record.state == "ok" else logging.WARNING,
                    "settlement %s (%s): %s%s", record.id, why, record.state,
                    f", code {record.result_code}" if record.result_code else "")  # fmt: skip
            self.store.add_event("settlement", "info" if record.state == "ok" else "urgent",
                                 {"id": record.id, "state": record.state, "why": why,
                                  "code": record.result_code, "note": record.note},
                                 self.clock.now())  # fmt: skip
        self.poll()
        a = assess(self.clock.now(), self.cfg, self.observations(self.clock.now()))
        self._level_seen(self.state.assessment, a)
        self.state.assessment = a
        self._show(a)

    @property
    def needs_diagnosis(self) -> bool:
        """The terminal asked for a diagnosis rather than a plain sign-in."""
        status = self.state.status
        return status is not None and status.condition is Condition.NEEDS_DIAGNOSIS

    def _sign_in(self) -> object:
        return self.terminal.diagnose() if self.needs_diagnosis else self.terminal.initialise()

    def _sign_in_at_opening(self, day: date) -> None:
        """[settle] sign_in_at_opening: once per trading day, made or tried (the store keeps
        it across restarts). A terminal that still asks for a sign-in after it is the
        reactive path's (SIGN_IN, every half hour at most)."""
        now = self.clock.now()
        try:
            result: object = self.terminal.initialise()
        except TerminalError as exc:
            result = str(exc)
        self.store.add_event("sign-in-at-opening", "info", {"result": repr(result)}, now,
                             key=opening_key(day))  # fmt: skip
        log.info("sign-in at opening: %s", result)
        self.poll()

    def set_terminal_clock(self) -> OperationResult:
        """Set the terminal's clock to the shop's local time (it keeps no time zone)."""
        return self.terminal.set_clock(
            self.clock.now().astimezone(self.cfg.zone).replace(tzinfo=None)
        )

    def _maintain(self, name: str, call: Callable[[], object]) -> None:
        now = self.clock.now()
        last = self.state.last_maintenance.get(name)
        if last is not None and now - last < MAINTENANCE_EVERY:
            return
        self.state.last_maintenance[name] = now
        try:
            result = call()
        except TerminalError as exc:
            result = str(exc)
        self.store.add_event(name, "info", {"result": repr(result)}, now)
        if self._said.new(name, repr(result)):  # one line per outcome, not every half hour
            log.info("terminal %s: %s", name, result)
        self.poll()

    def housekeeping(self) -> None:
        removed = self.store.prune(self.clock.now(), self.cfg.store.retention_days)
        if removed:
            log.info("pruned %d old rows", removed)

    # -- lifecycle

    def start(self) -> Agent:
        # The loop starts first: the first poll runs while APScheduler is still importing
        # (a third of a second on a Pi Zero).
        self._thread = threading.Thread(target=self._loop, name="guard loop", daemon=True)
        self.post(self._first_poll)
        self.post(self.tick)
        # The daily job's first run is a day away: a Pi restarted every night would never
        # prune without this one, after the first poll so a big prune never delays it.
        self.post(self.housekeeping)
        self.heartbeat.promise(self.stall)
        interval = watchdog_interval()
        if interval is not None:
            self._watchdog = Watchdog(self.heartbeat, interval).start()
        self._thread.start()

        from apscheduler.schedulers.background import BackgroundScheduler

        quiet_libraries()  # not "job executed successfully" every 5 s

        scale = 1.0 / self.speed
        sched = BackgroundScheduler(job_defaults={"coalesce": True, "max_instances": 1,
                                                  "misfire_grace_time": 30})  # fmt: skip
        poll_every = max(0.2, self.cfg.poll.interval_seconds * scale)
        sched.add_job(lambda: self.post(self.poll), "interval", seconds=poll_every, id="poll")
        sched.add_job(lambda: self.post(self.tick), "interval", seconds=max(0.2, 5 * scale),
                      id="tick")  # fmt: skip
        sched.add_job(lambda: self.post(self.housekeeping), "interval", hours=24, id="housekeeping")
        self._scheduler = sched
        sched.start()
        return self

    def _first_poll(self) -> None:
        """The port is still opening at start (its own thread): give it a moment rather
        than count a failure that only says we asked too soon."""
        self.terminal.wait_connected(FIRST_CONNECT_WAIT)
        self.poll()

    def _loop(self) -> None:
        while True:
            work = self._queue.get()
            if work is None:
                break
            self.heartbeat.promise(self.stall)
            try:
                work()
            except Exception:  # the guard outlives any single failure; the log says why
                log.exception("guard loop work failed")
            # Done: the next job (a tick comes every 5 s) must start within `stall`.
            self.heartbeat.promise(self.stall)
        self.stopped.set()

    def stop(self) -> None:
        # No STOPPING=1 here: a guard rebuilt with a new config stops its agent while the
        # process goes on; the service tells systemd (run_service).
        if self._watchdog is not None:
            self._watchdog.stop()
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=False)
        self._queue.put(None)
        if self._thread is not None:
            self._thread.join(timeout=30)

    @property
    def level(self) -> Level | None:
        return self.state.assessment.level if self.state.assessment else None
