"""What to tell the owner, decided on the agent's loop after each policy tick.

Alarms come from the assessment's notices (each already once per day and cause); the
closing report, the holiday notice, payout expectations and late payouts from the store
and the business-day calendar. Everything goes into the outbox; the delivery thread
sends it.
"""

from __future__ import annotations

import functools
from datetime import date, datetime, timedelta

from ..config import Config, calendar_spec
from ..guard.assessment import Assessment
from ..guard.policy import local_hours_end, window_start
from ..guard.tradingday import TradingCalendar
from ..money import format_amount
from ..store import Store
from . import holiday_data, messages, payouts
from .calendar import BusinessCalendar
from .outbox import LEVEL_ORDER, Draft, Outbox, Put, target_id

CALENDAR_HORIZON = 60  # days: China publishes next year's schedule late in the year


class Planner:
    def __init__(self, cfg: Config, store: Store) -> None:
        self.cfg = cfg
        self.store = store
        self.outbox = Outbox(store)
        self.trading = TradingCalendar(cfg.zone, cfg.schedule.cutoff)
        # Late payouts are read again only when what they depend on moved (the local day,
        # the payouts' revision, the push settings): a tick must not pay for 400 of them.
        self._late_for: tuple[object, ...] | None = None
        self._late_keys: frozenset[str] = frozenset()
        self._repeating: frozenset[str] | None = None  # the alarm keys last kept repeating

    @functools.cached_property
    def calendar(self) -> BusinessCalendar:
        """Built on first use, from holiday facts asked of a helper process: the holidays
        package would cost the agent some 14 MB for good."""
        return BusinessCalendar(calendar_spec(self.cfg), holiday_data.Remote())

    # -- the one entry point

    def after_tick(self, a: Assessment, ctx: messages.Context) -> int:
        """Queue what this assessment calls for; returns how many messages were queued."""
        queued = 0
        for notice in a.notices:
            queued += self._queue(
                lambda lang, n=notice: messages.alarm(a, n.kind, n.key, lang, ctx),
                a.at, severity=messages.SEVERITY[notice.level])  # fmt: skip
        queued += self._late_payouts(a)
        active = self.open_alarms(a)
        if active != self._repeating:  # alarms are queued only here: nothing else to stop
            self.outbox.settle_repeats(set(active))
            self._repeating = active
        if self._closing_due(a):
            queued += self._closing(a)
        return queued

    def open_alarms(self, a: Assessment) -> frozenset[str]:
        """The keys of the alarms open now: this assessment's notices and the late payouts
        (the ones an acknowledgement stops repeating)."""
        return frozenset(n.key for n in a.notices) | self._late_keys

    # -- helpers

    def _late_payouts(self, a: Assessment) -> int:
        """An alarm per late payout, all in one transaction, when the late set may have
        changed; otherwise not even read."""
        today = a.at.astimezone(self.cfg.zone).date()
        late_for = (today, payouts.revision(self.store), self.cfg.notify, self.cfg.panel.locale)
        if late_for == self._late_for:
            return 0
        late = payouts.late(self.store, today)
        puts: list[Put] = []
        for p in late:
            amount = format_amount(p.amount, p.currency)
            puts += self._puts(
                lambda lang, p=p, amount=amount: messages.payout_late(
                    p.id, p.trading_day, amount, p.expected_on, lang),
                a.at, "urgent")  # fmt: skip
        queued = self.outbox.put_many(puts, a.at)
        self._late_for, self._late_keys = late_for, frozenset(_late_key(p) for p in late)
        return queued

    def _queue(self, draft_for: object, now: datetime, severity: str) -> int:
        return self.outbox.put_many(self._puts(draft_for, now, severity), now)

    def _puts(self, draft_for: object, now: datetime, severity: str) -> list[Put]:
        """The draft for each target that wants this severity, in the target's language."""
        puts = []
        for t in self.cfg.notify.targets:
            if LEVEL_ORDER[severity] < LEVEL_ORDER[t.min_level]:
                continue
            d: Draft = draft_for(t.lang or self.cfg.panel.locale)  # type: ignore[operator]
            repeat = (
                self.cfg.notify.repeat_minutes if d.kind == "alarm" and d.level == "urgent" else 0
            )
            puts.append(Put(d, target_id(t.url), self._after_quiet(now, d), repeat))
        return puts

    def _after_quiet(self, now: datetime, d: Draft) -> datetime:
        """Below urgent, a message written in quiet hours waits until they end."""
        n = self.cfg.notify
        if d.level == "urgent" or n.quiet_start is None or n.quiet_end is None:
            return now
        # Instants, not wall times: the repeated hour of the autumn change stays quiet.
        end = local_hours_end(now, self.cfg.zone, n.quiet_start, n.quiet_end)
        return now if end is None else end

    def _closing_due(self, a: Assessment) -> bool:
        """From closing time on, once the day has ended one way or the other: the batch is
        settled or empty, or the cutoff is five minutes away (then it says "not settled")."""
        closing = window_start(self.trading, a.trading_day, self.cfg.schedule.closing)
        last_call = a.time_to_cutoff <= timedelta(minutes=5)
        if a.at < closing and not last_call:
            return False
        settled = any(s.state == "ok" for s in self.store.settlements(trading_day=a.trading_day))
        return settled or a.batch_count == 0 or last_call

    def _closing(self, a: Assessment) -> int:
        queued = 0
        if self.cfg.notify.report:
            report = day_report(self.store, self.calendar, self.cfg, a.trading_day,
                                currency=a.currency,
                                open_batch=(a.batch_count or 0, a.batch_total or 0))  # fmt: skip
            severity = report.level
            queued += self._queue(lambda lang: messages.report(report, lang, self.cfg.zone),
                                  a.at, severity)  # fmt: skip
        tomorrow = a.trading_day + timedelta(days=1)
        if not self.calendar.is_business_day(tomorrow):
            name = self.calendar.holiday_name(tomorrow)
            if name:  # an ordinary weekend needs no notice
                payout = payout_on(self.calendar, self.cfg, a.trading_day)
                queued += self._queue(lambda lang: messages.holiday(tomorrow, name, payout, lang),
                                      a.at, "info")  # fmt: skip
        missing = self.calendar.missing_data(a.trading_day, CALENDAR_HORIZON)
        if missing:
            queued += self._queue(lambda lang: messages.calendar_missing(missing, lang), a.at,
                                  "warn")  # fmt: skip
        return queued

    def expect_payouts(self, a: Assessment) -> None:
        """Every settled batch gets its expected payout date (once), push targets or not:
        the page and `settle-guard payouts` show them too. The latest few settlements are
        looked at, so a batch settled just before a restart or a day's end is not missed."""
        for sid in payouts.unrecorded(self.store, newest=10):
            s = self.store.settlement(sid)
            t = s.totals_settled
            if t is None:  # the terminal's settled totals are unknown: no amount to expect
                continue
            expected = payout_on(self.calendar, self.cfg, s.trading_day)
            payouts.expect(self.store, s.id, s.trading_day, amount=t.get("total_minor", 0),
                           currency=a.currency, count=t.get("count", 0),
                           expected_on=expected)  # fmt: skip


def payout_on(calendar: BusinessCalendar, cfg: Config, day: date) -> date:
    """The day trading day `day`'s batch is paid: [calendar] payout_days counted as
    payout_count says (T+N business days or D+N calendar days)."""
    return calendar.payout_date(day, cfg.calendar.payout_days, cfg.calendar.payout_count)


def _late_key(p: payouts.Payout) -> str:
    return f"payout-late:{p.id}"


def day_report(store: Store, calendar: BusinessCalendar, cfg: Config, day: date, *,
               currency: int, open_batch: tuple[int, int]) -> messages.DayReport:  # fmt: skip
    """How trading day `day` ended: its successful settlement if there is one, else the
    open batch (count, total in minor units) as last read."""
    ok = [s for s in store.settlements(trading_day=day) if s.state == "ok"]
    if not ok:
        count, total = open_batch
        return messages.DayReport(day, None, count, total, currency, (), None)
    s = ok[0]
    payout_day = payout_on(calendar, cfg, day)
    t = s.totals_settled
    if t is None:  # settled, but the totals were lost with the answer: say so, print none
        return messages.DayReport(day, s.updated_at, 0, 0, currency, (), payout_day,
                                  unverified=True, totals_known=False,
                                  out_of_balance=s.out_of_balance,
                                  offline_unsent=s.offline_unsent or 0)  # fmt: skip
    cards = tuple((c["card"], c["count"], c["amount_minor"]) for c in t.get("cards", []))
    # The batch's own count: a per-card count saturates at 255, the batch's does not.
    count = t.get("count", sum(c[1] for c in cards))
    return messages.DayReport(day, s.updated_at, count, t.get("total_minor", 0), currency,
                              cards, payout_day, unverified=s.verified is False,
                              out_of_balance=s.out_of_balance,
                              offline_unsent=s.offline_unsent or 0)  # fmt: skip
