"""The guard's judgement as one pure function: observations in, an `Assessment` out.

No I/O, no clock reads, no languages: `assess(now, config, observations)` is tested
exhaustively with plain data. Rules, in the order a shop meets them:

* an open batch nears the cutoff: WARN at the amber lead time, URGENT at the red one;
  a batch that crosses its cutoff unsettled is OVERDUE; an empty batch never nags;
* auto-settle (`at` a time, or `ask` the cashier and settle at last call unless
  cancelled) only when the terminal is ready and answering, no settlement runs, no
  earlier outcome is open and the batch is not settled; failures retry with backoff
  until the cutoff, then the batch is overdue;
* the terminal's own status: reconciliation required or memory full settles early,
  initialisation/diagnosis required signs in during opening hours, a wrong date/time
  may be corrected, printer and out-of-order are shown;
* a terminal that stops answering is stale after N failed polls and dead after the
  dead-time, sooner when the cutoff is near;
* clocks: an unsynchronised system clock, a terminal clock that drifted;
* a batch near the size limit settles early, and so does one whose terminal says its
  store is full;
* the oldest sale's age: past `auth_age_hours` the interchange costs more, whatever the
  cutoff says. WARN some hours before, URGENT near it, auto-settle early before it. Where
  the protocol tells no sale times (ZVT) the guard's own first sight of the batch is the
  estimate; a terminal time in the future or absurdly old is ignored, with a note;
* stored offline payments not yet sent near the cutoff warn; still unsent after the
  end-of-day they alarm;
* what happened and nothing will undo (a batch that vanished unsettled, a batch closed out
  of balance) alarms once, stays URGENT on show until acknowledged or for a day, then goes;
* with `[settle] sign_in_at_opening`, the terminal is signed in once per trading day in
  opening hours (from the opening on), unless a sign-in it asked for is under way;
* only what the terminal's protocol can do is ever asked of it (its capabilities in the
  protocol registry): no sign-in, diagnosis or clock setting where it has none.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from ..config import Config
from ..terminal.models import BatchTotals, Condition, TerminalStatus
from ..terminal.registry import Capability, capabilities
from .assessment import (
    Action,
    ActionKind,
    Assessment,
    Level,
    Notice,
    Reason,
    ReasonKind,
    SettledSummary,
)
from .tradingday import TradingCalendar, resolve_local

BACKOFF_CAP = timedelta(minutes=60)
# The oldest sale's age against [warnings] auth_age_hours: how long before the limit the
# guard warns, settles early (auto-settle modes) and calls it urgent.
AGE_WARN_LEAD = timedelta(hours=4)
AGE_SETTLE_LEAD = timedelta(hours=2)
AGE_URGENT_LEAD = timedelta(hours=1)
# A terminal's sale time this far ahead of our clock, or this far back, is not believed.
AGE_FUTURE_SLACK = timedelta(minutes=10)
AGE_ABSURD = timedelta(days=31)
NEWS_SHOWN = timedelta(hours=24)  # a lost batch or an out-of-balance close stays on show


@dataclass(frozen=True, slots=True)
class SettleHistory:
    """What the journal says about the open batch and the trading day."""

    attempts: int = 0  # end-of-days tried for the open batch
    last_state: str | None = None  # ok / failed / unknown / pending / not-sent
    last_at: datetime | None = None
    last_code: int | None = None
    settled_day: date | None = None  # the last trading day whose batch was settled


@dataclass(frozen=True, slots=True)
class LostBatch:
    """A batch with sales that vanished without any settlement (journal: batches.lost_at)."""

    key: str
    lost_at: datetime
    count: int
    total: int
    batch_number: int | None = None


@dataclass(frozen=True, slots=True)
class SettledFacts:
    """What the journal says about the newest settlement that closed a batch."""

    id: int
    at: datetime
    out_of_balance: bool = False
    offline_unsent: int | None = None  # offline payments still not sent after it
    offline_unsent_total: int | None = None
    trading_day: date | None = None  # the trading day it settled
    count: int | None = None  # the terminal's settled totals (None: unknown)
    total: int | None = None
    currency: int | None = None
    verified: bool | None = None


@dataclass(frozen=True, slots=True)
class OldestSale:
    """The open batch's oldest sale as an instant, and how it was known."""

    at: datetime | None  # aware; None: nothing to judge by
    estimated: bool = False  # the guard's first sight of the batch, not the terminal's time
    ignored: str | None = None  # "future" / "past": the terminal's time was not believed
    terminal_time: datetime | None = None  # the terminal's (naive, local) time, as sent


def oldest_sale(now: datetime, zone: ZoneInfo, totals: BatchTotals | None,
                opened_at: datetime | None) -> OldestSale:  # fmt: skip
    """The terminal's oldest authorisation (its local wall clock, read in the shop's zone:
    a time in the repeated autumn hour is its first occurrence, so the age is never
    understated; one in the spring gap is the jump), or else the estimate."""
    theirs = totals.oldest_authorised_at if totals is not None else None
    if theirs is not None:
        at = resolve_local(theirs.date(), theirs.time(), zone)
        if at > now + AGE_FUTURE_SLACK:
            return OldestSale(opened_at, opened_at is not None, "future", theirs)
        if now - at > AGE_ABSURD:
            return OldestSale(opened_at, opened_at is not None, "past", theirs)
        return OldestSale(at, terminal_time=theirs)
    return OldestSale(opened_at, opened_at is not None)


@dataclass(frozen=True, slots=True)
class Observations:
    status: TerminalStatus | None = None
    totals: BatchTotals | None = None
    totals_at: datetime | None = None
    batch_day: date | None = None  # trading day the open batch was first seen in
    failures: int = 0  # consecutive failed polls
    last_answer_at: datetime | None = None
    terminal_drift: timedelta | None = None  # terminal clock minus ours
    system_synced: bool | None = None
    settling: bool = False
    open_outcome: bool = False  # an end-of-day whose outcome is unknown
    history: SettleHistory = SettleHistory()
    settle_requested: bool = False  # the cashier (long press) or the owner asked to settle now
    settle_cancelled: bool = False  # 'ask' mode: the cashier cancelled today's auto-settle
    snoozed_until: datetime | None = None
    batch_opened_at: datetime | None = None  # when the guard first saw the open batch
    lost_batches: tuple[LostBatch, ...] = ()  # lost within NEWS_SHOWN
    last_settled: SettledFacts | None = None
    acknowledged: frozenset[str] = frozenset()  # notice keys the cashier acknowledged
    opened_today: bool = False  # today's opening sign-in was made (or tried)


def window_start(cal: TradingCalendar, day: date, at: time) -> datetime:
    """The instant of local time `at` inside trading day `day`: always before its cutoff."""
    cutoff = cal.cutoff_of(day)
    # The configured wall times decide the date, not the resolved ones: a cutoff moved by
    # a gap must not carry a settle time to another day.
    cutoff_on = cal.cutoff_date(day)
    on = cutoff_on if at < cal.cutoff else cutoff_on - timedelta(days=1)
    start = resolve_local(on, at, cal.zone)
    if start < cutoff:
        return start
    # `at` and the cutoff fall into the same spring-forward gap (or `at` into the gap the
    # cutoff ends): both resolve to its end, leaving no window to settle in. Open it as
    # long before the cutoff as configured, so the batch is settled before it is overdue.
    lead = datetime.combine(cutoff_on, cal.cutoff) - datetime.combine(on, at)
    return cutoff - lead


def local_hours_end(now: datetime, zone: ZoneInfo, start: time, end: time) -> datetime | None:
    """If instant `now` is in the daily local hours [start, end), which may wrap midnight,
    the instant they end; else None. Unlike comparing wall times, the hours stay one span
    when the clock goes back: each bound is its first occurrence (as every configured time
    is), so quiet hours are not left and re-entered, nor a closed shop reopened, in the
    repeated hour. A bound in a spring-forward gap is the first instant after it."""
    if start == end:
        return None
    today = now.astimezone(zone).date()
    for on in (today - timedelta(days=1), today):
        ends_on = on + timedelta(days=1) if end < start else on
        close = resolve_local(ends_on, end, zone)
        if resolve_local(on, start, zone) <= now < close:
            return close
    return None


def in_local_hours(now: datetime, zone: ZoneInfo, start: time, end: time) -> bool:
    return local_hours_end(now, zone, start, end) is not None


def assess(now: datetime, cfg: Config, obs: Observations) -> Assessment:
    cal = TradingCalendar(cfg.zone, cfg.schedule.cutoff)
    day = cal.trading_day(now)
    cutoff = cal.cutoff_of(day)
    left = cutoff - now
    weekday = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[day.weekday()]
    trading = weekday in cfg.schedule.trading_days
    red = timedelta(minutes=cfg.warnings.red_minutes)
    amber = timedelta(minutes=cfg.warnings.amber_minutes)
    totals = obs.totals
    open_batch = totals is not None and not totals.empty
    count = totals.count if totals else None
    reasons: list[Reason] = []
    notices: list[Notice] = []
    actions: list[Action] = [Action(ActionKind.POLL)]
    can = capabilities(cfg.terminal.protocol)
    sets_clock = cfg.warnings.set_terminal_clock and Capability.SET_CLOCK in can

    def reason(kind: ReasonKind, level: Level, notify: str | None = None, **detail: object) -> None:
        reasons.append(Reason(kind, level, detail))
        if notify is not None:
            notices.append(Notice(f"{kind.value}:{notify}", kind, level))

    # -- is the terminal answering?
    answering = obs.failures == 0
    if obs.failures:
        silent_for = now - obs.last_answer_at if obs.last_answer_at else None
        dead_after = timedelta(minutes=cfg.warnings.dead_after_minutes)
        if open_batch and left <= red:
            dead_after /= 2  # near the cutoff there is no time to wait
        if silent_for is None or silent_for >= dead_after:
            reason(ReasonKind.TERMINAL_DEAD, Level.FAULT, notify=day.isoformat(),
                   failures=obs.failures)  # fmt: skip
        elif obs.failures >= cfg.warnings.stale_after_failures or (open_batch and left <= red):
            level = Level.URGENT if open_batch and left <= red else Level.WARN
            reason(ReasonKind.TERMINAL_STALE, level, failures=obs.failures)

    # -- the batch and the cutoff
    overdue = open_batch and obs.batch_day is not None and obs.batch_day < day
    tomorrows = open_batch and obs.history.settled_day == day  # sales after today's settlement
    if overdue:
        reason(ReasonKind.OVERDUE_BATCH, Level.OVERDUE, notify=str(obs.batch_day),
               batch_day=obs.batch_day, count=count)  # fmt: skip
    elif open_batch and trading and not tomorrows and left <= red:
        reason(ReasonKind.OPEN_BATCH, Level.URGENT, notify=day.isoformat(),
               minutes_left=int(left.total_seconds() // 60), count=count)  # fmt: skip
    elif open_batch and trading and not tomorrows and left <= amber:
        reason(ReasonKind.OPEN_BATCH, Level.WARN, minutes_left=int(left.total_seconds() // 60),
               count=count)  # fmt: skip
    if not trading and not open_batch:
        reason(ReasonKind.NOT_TRADING, Level.OK)

    # -- settlement state
    history = obs.history
    if obs.settling:
        reason(ReasonKind.SETTLING, Level.INFO)
    if obs.open_outcome:
        reason(ReasonKind.SETTLE_UNKNOWN, Level.WARN)
        actions.append(Action(ActionKind.RESOLVE, ReasonKind.SETTLE_UNKNOWN))
    elif open_batch and history.last_state == "failed":
        level = Level.URGENT if left <= amber or overdue else Level.WARN
        reason(ReasonKind.SETTLE_FAILED, level, notify=f"{day}:{history.attempts}",
               code=history.last_code, attempts=history.attempts)  # fmt: skip
    if not open_batch and history.settled_day == day:
        reason(ReasonKind.SETTLED, Level.OK)

    # -- the terminal's own status
    status = obs.status
    demands_settle = False
    if status is not None and answering:
        cond = status.condition
        opening_hours = in_local_hours(now, cfg.zone, cfg.schedule.opening, cfg.schedule.closing)
        if cond is Condition.NEEDS_END_OF_DAY and open_batch:
            demands_settle = True
            reason(ReasonKind.TERMINAL_DEMANDS_SETTLE, Level.URGENT, notify=day.isoformat(),
                   code=status.code)  # fmt: skip
        elif cond in (Condition.NEEDS_INITIALISATION, Condition.NEEDS_DIAGNOSIS):
            reason(ReasonKind.SIGN_IN_NEEDED, Level.URGENT if opening_hours else Level.WARN,
                   notify=day.isoformat(), code=status.code)  # fmt: skip
            how = Capability.DIAGNOSIS if cond is Condition.NEEDS_DIAGNOSIS else Capability.SIGN_IN
            if opening_hours and not obs.settling and how in can:
                actions.append(Action(ActionKind.SIGN_IN, ReasonKind.SIGN_IN_NEEDED))
        elif cond is Condition.DATE_TIME_INCORRECT:
            reason(ReasonKind.TERMINAL_CLOCK_WRONG, Level.WARN, notify=day.isoformat())
            if sets_clock and obs.system_synced:
                actions.append(
                    Action(ActionKind.SET_TERMINAL_CLOCK, ReasonKind.TERMINAL_CLOCK_WRONG)
                )
        elif cond is Condition.PRINTER_NOT_READY:
            reason(ReasonKind.PRINTER, Level.WARN)
        elif cond is Condition.OUT_OF_ORDER:
            reason(ReasonKind.OUT_OF_ORDER, Level.FAULT, notify=day.isoformat(), code=status.code)
        elif cond is Condition.BUSY:
            reason(ReasonKind.TERMINAL_BUSY, Level.INFO, code=status.code)

    # -- the opening sign-in: once per trading day, in opening hours
    wanted = cfg.settle.sign_in_at_opening and Capability.SIGN_IN in can
    if wanted and trading and answering and not obs.opened_today and not obs.settling:
        shop_open = in_local_hours(now, cfg.zone, cfg.schedule.opening, cfg.schedule.closing)
        if shop_open and not any(x.kind is ActionKind.SIGN_IN for x in actions):
            actions.append(Action(ActionKind.SIGN_IN_AT_OPENING))

    # -- clocks
    if obs.system_synced is False:
        reason(ReasonKind.SYSTEM_CLOCK_UNSYNCED, Level.WARN, notify=day.isoformat())
    drift_limit = timedelta(seconds=cfg.warnings.clock_drift_seconds)
    if obs.terminal_drift is not None and abs(obs.terminal_drift) > drift_limit:
        reason(ReasonKind.TERMINAL_CLOCK_WRONG, Level.WARN, notify=day.isoformat(),
               drift_seconds=int(obs.terminal_drift.total_seconds()))  # fmt: skip
        if sets_clock and obs.system_synced:
            actions.append(Action(ActionKind.SET_TERMINAL_CLOCK, ReasonKind.TERMINAL_CLOCK_WRONG))

    # -- batch size
    limit = cfg.warnings.batch_limit
    near_limit = count is not None and count >= limit * 0.9
    if near_limit:
        reason(ReasonKind.BATCH_NEAR_LIMIT, Level.URGENT if count >= limit else Level.WARN,
               count=count, limit=limit)  # fmt: skip

    # -- the terminal's store is full
    storage_full = totals is not None and totals.storage_full
    if storage_full:
        reason(ReasonKind.STORAGE_FULL, Level.URGENT, notify=day.isoformat(), count=count)

    # -- the oldest sale's age
    age_settle = False
    settled_unseen = history.last_state == "ok"  # settled, the terminal still shows it
    if open_batch and not settled_unseen:
        sale = oldest_sale(now, cfg.zone, totals, obs.batch_opened_at)
        if sale.ignored is not None:
            reason(ReasonKind.AUTH_TIME_IGNORED, Level.INFO, why=sale.ignored,
                   terminal_time=sale.terminal_time)  # fmt: skip
        if sale.at is not None:
            age = now - sale.at
            to_limit = timedelta(hours=cfg.warnings.auth_age_hours) - age
            if to_limit <= AGE_WARN_LEAD:
                urgent = to_limit <= AGE_URGENT_LEAD
                reason(ReasonKind.AUTH_AGE, Level.URGENT if urgent else Level.WARN,
                       notify=f"{sale.at.astimezone(UTC):%Y%m%dT%H%MZ}" if urgent else None,
                       hours=int(age.total_seconds() // 3600),
                       limit_hours=cfg.warnings.auth_age_hours,
                       minutes_left=int(to_limit.total_seconds() // 60), oldest=sale.at,
                       estimated=sale.estimated)  # fmt: skip
                age_settle = to_limit <= AGE_SETTLE_LEAD

    # -- stored offline payments
    pending = totals.offline_pending if totals is not None else None
    last = obs.last_settled
    unsent = False
    if last is not None and last.offline_unsent:
        # Still unsent after the end-of-day: while the terminal says so, or, where it cannot
        # say, for a day.
        unsent = bool(pending) if pending is not None else now - last.at < NEWS_SHOWN
        if unsent:
            key = f"{last.id}"
            acked = f"{ReasonKind.OFFLINE_UNSENT.value}:{key}" in obs.acknowledged
            reason(ReasonKind.OFFLINE_UNSENT, Level.INFO if acked else Level.URGENT,
                   notify=None if acked else key, count=pending or last.offline_unsent,
                   total=(totals.offline_pending_total if pending and totals is not None
                          else last.offline_unsent_total))  # fmt: skip
    if pending and not unsent and (open_batch or trading) and not tomorrows and left <= amber:
        reason(ReasonKind.OFFLINE_PENDING, Level.WARN,
               notify=day.isoformat() if left <= red else None, count=pending,
               total=totals.offline_pending_total if totals is not None else None)  # fmt: skip

    # -- what happened and cannot be undone: tell once, show until acknowledged or a day
    for lost in obs.lost_batches:
        if not timedelta(0) <= now - lost.lost_at < NEWS_SHOWN:
            continue
        acked = f"{ReasonKind.BATCH_LOST.value}:{lost.key}" in obs.acknowledged
        reason(ReasonKind.BATCH_LOST, Level.INFO if acked else Level.URGENT,
               notify=None if acked else lost.key, count=lost.count, total=lost.total,
               batch_number=lost.batch_number, lost_at=lost.lost_at)  # fmt: skip
    if last is not None and last.out_of_balance and timedelta(0) <= now - last.at < NEWS_SHOWN:
        acked = f"{ReasonKind.OUT_OF_BALANCE.value}:{last.id}" in obs.acknowledged
        reason(ReasonKind.OUT_OF_BALANCE, Level.INFO if acked else Level.URGENT,
               notify=None if acked else str(last.id), settlement=last.id,
               settled_at=last.at)  # fmt: skip

    # -- settle now?
    settle_why = _settle_reason(
        now,
        cfg,
        cal,
        day,
        obs,
        overdue=overdue,
        demands=demands_settle,
        near_limit=near_limit,
        storage_full=storage_full,
        aging=age_settle,
    )
    ready = status is None or status.condition in (Condition.READY, Condition.NEEDS_END_OF_DAY)
    # A batch the journal has settled ok is never sent again, even while the terminal still
    # shows it (unverified): otherwise every tick past its cutoff would try once more.
    if (settle_why is not None and open_batch and answering and ready and not obs.settling
            and Capability.SETTLE in can
            and not obs.open_outcome and history.last_state != "ok"
            and _retry_due(now, cfg, history)):  # fmt: skip
        actions.append(Action(ActionKind.SETTLE, settle_why))
    if (cfg.settle.mode == "ask" and open_batch and not tomorrows and not obs.settle_cancelled
            and window_start(cal, day, cfg.settle.at) <= now < cutoff):  # fmt: skip
        reason(ReasonKind.SETTLE_PROMPT, Level.INFO,
               last_call=window_start(cal, day, cfg.settle.last_call))  # fmt: skip

    level = max((r.level for r in reasons), default=Level.OK, key=lambda lv: lv.value)
    opens_at, auto_at, settled = _next(now, cfg, cal, day, obs)
    quiet_start, quiet_end = cfg.panel.quiet_start, cfg.panel.quiet_end
    quiet = (quiet_start is not None and quiet_end is not None
             and in_local_hours(now, cfg.zone, quiet_start, quiet_end))  # fmt: skip
    return Assessment(
        at=now, trading_day=day, cutoff=cutoff, level=level, reasons=tuple(reasons),
        notices=tuple(notices), actions=tuple(actions), batch_count=count,
        batch_total=totals.total if totals else None,
        currency=totals.currency if totals else cfg.currency_code,
        data_age=now - obs.totals_at if obs.totals_at else None,
        snoozed=obs.snoozed_until is not None and now < obs.snoozed_until, quiet=quiet,
        opens_at=opens_at, auto_settle_at=auto_at, settled=settled,
    )  # fmt: skip


def _next(now: datetime, cfg: Config, cal: TradingCalendar, day: date, obs: Observations
          ) -> tuple[datetime | None, datetime | None, SettledSummary | None]:  # fmt: skip
    """What comes next, for the panel: when trading day `day` opens, when the guard will
    settle by itself, and the settlement to show (the day's own; before the day opens, the
    previous day's as well, so the evening after a settlement shows it, not a countdown)."""
    cutoff = cal.cutoff_of(day)
    opens: datetime | None = resolve_local(day, cfg.schedule.opening, cfg.zone)
    if not cutoff - timedelta(days=1) < opens < cutoff:
        opens = None  # an opening time the trading day does not contain
    mode = cfg.settle.mode
    auto = None
    if Capability.SETTLE in capabilities(cfg.terminal.protocol):
        if mode == "at":
            auto = window_start(cal, day, cfg.settle.at)
        elif mode == "ask" and not obs.settle_cancelled:
            auto = window_start(cal, day, cfg.settle.last_call)
    last = obs.last_settled
    settled = None
    before_opening = opens is not None and now < opens
    if last is not None and last.trading_day is not None and (
        last.trading_day == day or (before_opening and last.trading_day == day - timedelta(days=1))
    ):  # fmt: skip
        settled = SettledSummary(last.at, last.count, last.total,
                                 last.currency if last.currency is not None else cfg.currency_code,
                                 last.verified)  # fmt: skip
    return opens, auto, settled


def _settle_reason(
    now: datetime, cfg: Config, cal: TradingCalendar, day: date, obs: Observations, *,
    overdue: bool, demands: bool, near_limit: bool, storage_full: bool = False,
    aging: bool = False,
) -> ReasonKind | None:  # fmt: skip
    """Why the batch should be settled now, or None."""
    if obs.settle_requested:
        return ReasonKind.OPEN_BATCH  # a person asked: any mode
    mode = cfg.settle.mode
    if mode == "off":
        return None
    if overdue:
        return ReasonKind.OVERDUE_BATCH
    if demands:
        return ReasonKind.TERMINAL_DEMANDS_SETTLE
    if storage_full:
        return ReasonKind.STORAGE_FULL
    if near_limit:
        return ReasonKind.BATCH_NEAR_LIMIT
    if aging:  # the oldest sale nears the limit: whatever the cutoff and today's settlement
        return ReasonKind.AUTH_AGE
    if obs.history.settled_day == day:
        return None  # settled today: later sales belong to tomorrow's batch
    cutoff = cal.cutoff_of(day)
    if mode == "at" and window_start(cal, day, cfg.settle.at) <= now < cutoff:
        return ReasonKind.OPEN_BATCH
    last_call = window_start(cal, day, cfg.settle.last_call)
    if mode == "ask" and not obs.settle_cancelled and last_call <= now < cutoff:
        return ReasonKind.SETTLE_PROMPT
    return None


def _retry_due(now: datetime, cfg: Config, history: SettleHistory) -> bool:
    """Backoff after a failure: retry_minutes, doubling, capped; at most max_attempts."""
    if history.last_state != "failed" or history.last_at is None:
        return True
    if history.attempts >= cfg.settle.max_attempts:
        return False
    wait = timedelta(minutes=cfg.settle.retry_minutes) * 2 ** max(0, history.attempts - 1)
    return now >= history.last_at + min(wait, BACKOFF_CAP)
