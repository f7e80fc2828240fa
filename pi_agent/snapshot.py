"""What the guard knows after a tick, as one immutable value for every listener.

The agent builds a `GuardSnapshot` at the end of each tick (only when someone listens)
and hands the same value to each subscriber on its loop: the fleet publisher, and any
later listener, read state from here rather than reach into the agent. `to_json()` is
the document a chain's head office sees (the fleet's retained state), so its keys are
stable and carry no secret.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from .guard.assessment import Assessment, Level
from .guard.policy import Observations, oldest_sale
from .money import currency_alpha, format_minor
from .terminal.models import TerminalStatus

SCHEMA = 1  # bumped when a key changes meaning; new keys may appear without it


@dataclass(frozen=True, slots=True)
class LastSettlement:
    id: int
    state: str  # ok / failed / unknown / pending / not-sent
    at: datetime
    verified: bool | None
    total: int | None  # minor units, the terminal's own settled totals (None: unknown)
    count: int | None


@dataclass(frozen=True, slots=True)
class NextPayout:
    expected_on: date
    amount: int
    currency: int


@dataclass(frozen=True, slots=True)
class GuardSnapshot:
    at: datetime
    level: Level
    reasons: tuple[str, ...]
    alarms: tuple[str, ...]  # reasons at URGENT or worse: what a person must see to
    acknowledged: bool  # the buzzer is snoozed (a person has seen it)
    trading_day: date
    cutoff: datetime
    batch_key: str | None
    batch_count: int | None
    batch_total: int | None
    currency: int
    oldest_sale_at: datetime | None
    oldest_sale_estimated: bool
    terminal: TerminalStatus | None
    terminal_answering: bool
    data_at: datetime | None
    last_settlement: LastSettlement | None
    next_payout: NextPayout | None

    @property
    def minutes_to_cutoff(self) -> int:
        return int((self.cutoff - self.at).total_seconds() // 60)

    @property
    def problem(self) -> bool:
        return self.level.value >= Level.URGENT.value

    def to_json(self) -> dict[str, Any]:
        cur = currency_alpha(self.currency)
        last, payout = self.last_settlement, self.next_payout
        age = (self.at - self.oldest_sale_at) if self.oldest_sale_at else None
        return {
            "schema": SCHEMA,
            "at": self.at.isoformat(timespec="seconds"),
            "level": self.level.name.lower(),
            "problem": self.problem,
            "reasons": list(self.reasons),
            "alarms": list(self.alarms),
            "acknowledged": self.acknowledged,
            "trading_day": self.trading_day.isoformat(),
            "cutoff": self.cutoff.isoformat(timespec="seconds"),
            "minutes_to_cutoff": self.minutes_to_cutoff,
            "batch": {
                "key": self.batch_key,  # what a settle command names (None: no open batch)
                "count": self.batch_count,
                "total": _money(self.batch_total, self.currency),
                "total_minor": self.batch_total,
                "currency": cur,
                "oldest_sale_age_minutes": None if age is None else int(age.total_seconds() // 60),
                "oldest_sale_estimated": self.oldest_sale_estimated,
            },
            "terminal": {
                "answering": self.terminal_answering,
                **(self.terminal.to_json() if self.terminal else {"condition": None}),
            },
            "data_age_seconds": None
            if self.data_at is None
            else int((self.at - self.data_at).total_seconds()),
            "last_settlement": None
            if last is None
            else {
                "id": last.id,
                "state": last.state,
                "verified": last.verified,
                "at": last.at.isoformat(timespec="seconds"),
                "count": last.count,
                "total_minor": last.total,
                "total": _money(last.total, self.currency),
            },
            "next_payout": None
            if payout is None
            else {
                "expected_on": payout.expected_on.isoformat(),
                "amount_minor": payout.amount,
                "amount": format_minor(payout.amount, payout.currency),
                "currency": currency_alpha(payout.currency),
            },
        }


def _money(minor: int | None, currency: int) -> str | None:
    return None if minor is None else format_minor(minor, currency)


def build(a: Assessment, obs: Observations, *, zone: Any, batch_key: str | None,
          last: LastSettlement | None, payout: NextPayout | None) -> GuardSnapshot:  # fmt: skip
    """The snapshot of one tick: its assessment, what it was judged from, and the journal."""
    sale = oldest_sale(a.at, zone, obs.totals, obs.batch_opened_at)
    open_batch = obs.totals is not None and not obs.totals.empty
    return GuardSnapshot(
        at=a.at, level=a.level, reasons=tuple(r.kind.value for r in a.reasons),
        alarms=tuple(r.kind.value for r in a.reasons if r.level.value >= Level.URGENT.value),
        acknowledged=a.snoozed, trading_day=a.trading_day, cutoff=a.cutoff,
        batch_key=batch_key, batch_count=a.batch_count, batch_total=a.batch_total,
        currency=a.currency, oldest_sale_at=sale.at if open_batch else None,
        oldest_sale_estimated=sale.estimated, terminal=obs.status,
        terminal_answering=obs.failures == 0, data_at=obs.totals_at,
        last_settlement=last, next_payout=payout,
    )  # fmt: skip
