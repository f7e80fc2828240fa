"""What the policy concludes, as data: a level, typed reasons, notices to send, actions to take.

The panel, the web page and the messages each render these in their own words and
language; nothing here knows pixels, pins or languages.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import Enum


class Level(Enum):
    """Ordered from calm to alarming; `max()` of levels is the most alarming."""

    OK = 0
    INFO = 1
    WARN = 2
    URGENT = 3
    OVERDUE = 4
    FAULT = 5

    def __lt__(self, other: Level) -> bool:
        return self.value < other.value


class ReasonKind(Enum):
    OPEN_BATCH = "open-batch"  # a batch is open and the cutoff is near
    OVERDUE_BATCH = "overdue-batch"  # a batch crossed its cutoff unsettled
    SETTLING = "settling"  # end-of-day running
    SETTLED = "settled"  # today's batch is settled
    SETTLE_PROMPT = "settle-prompt"  # 'ask' mode: settling at last call unless cancelled
    SETTLE_FAILED = "settle-failed"  # the terminal refused or aborted end-of-day
    SETTLE_UNKNOWN = "settle-unknown"  # an end-of-day answer was lost; being resolved
    TERMINAL_DEMANDS_SETTLE = "terminal-demands-settle"  # status F0/B1, or result 6A
    BATCH_NEAR_LIMIT = "batch-near-limit"
    STORAGE_FULL = "storage-full"  # the terminal's transaction store is full: settle now
    AUTH_AGE = "auth-age"  # the oldest sale nears the age past which interchange costs more
    AUTH_TIME_IGNORED = "auth-time-ignored"  # the terminal's oldest-sale time is implausible
    OFFLINE_PENDING = "offline-pending"  # stored offline payments not yet sent, cutoff near
    OFFLINE_UNSENT = "offline-unsent"  # still not sent after the end-of-day (upload failed)
    BATCH_LOST = "batch-lost"  # a batch with sales vanished without any settlement
    OUT_OF_BALANCE = "out-of-balance"  # closed, but terminal and host totals differ
    SIGN_IN_NEEDED = "sign-in-needed"  # initialisation or diagnosis required
    TERMINAL_CLOCK_WRONG = "terminal-clock-wrong"
    SYSTEM_CLOCK_UNSYNCED = "system-clock-unsynced"
    PRINTER = "printer"
    OUT_OF_ORDER = "out-of-order"
    TERMINAL_BUSY = "terminal-busy"
    TERMINAL_STALE = "terminal-stale"  # several polls failed
    TERMINAL_DEAD = "terminal-dead"  # no answer for the dead-time
    NOT_TRADING = "not-trading"  # closed day: nothing to do


@dataclass(frozen=True, slots=True)
class Reason:
    kind: ReasonKind
    level: Level
    detail: dict[str, object] = field(default_factory=dict)


class ActionKind(Enum):
    POLL = "poll"
    SETTLE = "settle"
    RESOLVE = "resolve"  # re-read the terminal to learn a lost end-of-day's outcome
    SIGN_IN = "sign-in"  # initialisation (51) or diagnosis (C2)
    SIGN_IN_AT_OPENING = "sign-in-at-opening"  # [settle] sign_in_at_opening: once a trading day
    SET_TERMINAL_CLOCK = "set-terminal-clock"


@dataclass(frozen=True, slots=True)
class Action:
    kind: ActionKind
    why: ReasonKind | None = None


@dataclass(frozen=True, slots=True)
class Notice:
    """A message the owner should get; `key` makes it once-only (per trading day and kind)."""

    key: str
    kind: ReasonKind
    level: Level


@dataclass(frozen=True, slots=True)
class SettledSummary:
    """The settlement that closed the trading day's batch, as the panel tells it."""

    at: datetime
    count: int | None  # the terminal's settled totals (None: unknown)
    total: int | None
    currency: int
    verified: bool | None  # batch gone and totals equal those read before


@dataclass(frozen=True, slots=True)
class Assessment:
    at: datetime
    trading_day: date
    cutoff: datetime
    level: Level
    reasons: tuple[Reason, ...] = ()
    notices: tuple[Notice, ...] = ()
    actions: tuple[Action, ...] = ()
    batch_count: int | None = None
    batch_total: int | None = None
    currency: int = 978
    data_age: timedelta | None = None
    snoozed: bool = False  # the cashier acknowledged: the buzzer waits, the light does not
    quiet: bool = False  # quiet hours: only OVERDUE and FAULT may sound
    # What comes next, for the panel: when the trading day opens (None: no opening before
    # its cutoff), when the guard will settle by itself (None: it will not, e.g. mode off
    # or cancelled), and the settlement that closed the day's batch (shown until the next
    # trading day opens).
    opens_at: datetime | None = None
    auto_settle_at: datetime | None = None
    settled: SettledSummary | None = None

    @property
    def time_to_cutoff(self) -> timedelta:
        return self.cutoff - self.at

    @property
    def headline(self) -> Reason | None:
        """The reason that decided the level (the first of the most alarming)."""
        return max(self.reasons, key=lambda r: r.level.value, default=None)

    def wants(self, kind: ActionKind) -> bool:
        return any(a.kind is kind for a in self.actions)
