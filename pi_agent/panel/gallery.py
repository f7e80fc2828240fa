"""Every screen the panel draws, as examples of one trading day in a Berlin shop.

One source for the golden images (tests/panel/golden/), the test that no line overflows,
and the contact sheets (docs/screens-en.png, docs/screens-zh.png). A screen with several
pages appears once per page.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from PIL import Image

from ..guard.assessment import Assessment, Level, Reason, ReasonKind, SettledSummary
from .screens import Screen, screen, setup_screen

ZONE = ZoneInfo("Europe/Berlin")
DAY = date(2026, 11, 20)  # a Friday
EUR, CNY = 978, 156


def at(hh: int, mm: int = 0, day: date = DAY) -> datetime:
    return datetime.combine(day, time(hh, mm), ZONE)


CUTOFF, OPENS, AUTO = at(23), at(9), at(22, 50)


def day(now: datetime, level: Level = Level.OK, *kinds: ReasonKind, count: int | None = 38,
        total: int | None = 178685, auto: datetime | None = AUTO, currency: int = EUR,
        **kw: object) -> Assessment:  # fmt: skip
    """An assessment at `now` on the trading day of DAY (or the next one after its cutoff),
    with a reason of each kind at `level`."""
    later = now >= CUTOFF
    one = timedelta(days=1) if later else timedelta(0)
    reasons = tuple(Reason(k, level) for k in kinds)
    return Assessment(now, DAY + one, CUTOFF + one, level, reasons, batch_count=count,
                      batch_total=total, currency=currency, opens_at=OPENS + one,
                      auto_settle_at=auto + one if auto else None, **kw)  # type: ignore[arg-type]  # fmt: skip


SETTLED = SettledSummary(at(22, 50), 38, 178685, EUR, True)


@dataclass(frozen=True, slots=True)
class Example:
    """One screen: what it shows and the words of the terminal's progress, if any."""

    what: str  # for a person: the contact sheet's caption
    assessment: Assessment | None
    progress: tuple[str, str] | None = None  # (en, zh), as the terminal sends them
    prompt: str | None = None
    setup: tuple[str, str, str] | None = None  # the setup code screen: code, host, port

    def screen(self, lang: str) -> Screen:
        a = self.assessment
        if self.setup is not None:
            local = a.at.astimezone(ZONE) if a is not None else None
            code, host, port = self.setup
            return setup_screen(code, lang, host, port, level=a.level if a else None, local=local)
        assert a is not None
        progress = None
        if self.progress is not None:
            progress = self.progress[1] if lang.lower().startswith("zh") else self.progress[0]
        return screen(a, a.at.astimezone(ZONE), lang, progress, self.prompt)


def _problem(now: datetime, level: Level, kind: ReasonKind, **kw: object) -> Assessment:
    return day(now, level, kind, **kw)  # type: ignore[arg-type]


W, U, F = Level.WARN, Level.URGENT, Level.FAULT
K = ReasonKind

EXAMPLES: dict[str, Example] = {
    # -- the day, as it goes
    "opening": Example("before opening: no countdown", day(at(8, 33), count=1, total=1250)),
    "no-sales": Example("open, no sales yet", day(at(9, 5), count=0, total=0)),
    "ok": Example("a sale or more: auto-settle time and time left", day(at(14, 36))),
    "ok-manual": Example("settle mode off: settle by the cutoff", day(at(14, 36), auto=None)),
    "warn": Example("cutoff within the amber lead", day(at(22, 5), W, K.OPEN_BATCH, auto=None)),
    "urgent": Example("cutoff within the red lead", day(at(22, 51), U, K.OPEN_BATCH, auto=None)),
    "urgent-auto": Example(
        "red lead, auto-settle coming: the level, not SETTLE NOW", day(at(22, 46), U, K.OPEN_BATCH)
    ),
    "last-call": Example(
        "'ask' mode: what a press cancels, and when",
        day(at(22, 35), Level.INFO, K.SETTLE_PROMPT),
        prompt="last-call",
    ),
    "ask": Example("the long press asks again", day(at(15, 2)), prompt="settle-now"),
    "settling": Example(
        "settling: the terminal's progress",
        day(at(22, 50), Level.INFO, K.SETTLING),
        progress=("connected to host", "已连接主机"),
    ),
    "settling-long": Example(
        "a long progress text is paged",
        day(at(22, 50), Level.INFO, K.SETTLING),
        progress=("terminal starts automatic end-of-day", "终端开始自动结算"),
    ),
    "settled": Example(
        "settled: when, how much, verified",
        day(at(22, 52), Level.OK, K.SETTLED, count=0, total=0, settled=SETTLED),
    ),
    "settled-unverified": Example(
        "settled, not verified",
        day(
            at(22, 52),
            Level.OK,
            K.SETTLED,
            count=0,
            total=0,
            settled=replace(SETTLED, verified=False),
        ),
    ),
    "evening": Example(
        "the settlement and new sales; no countdown",
        day(at(23, 40), count=2, total=5738, settled=SETTLED),
    ),
    "closed": Example("a closed day", day(at(11, 0), Level.OK, K.NOT_TRADING, count=0, total=0)),
    "old-data": Example(
        "the terminal's readings are old", day(at(14, 36), data_age=timedelta(minutes=12))
    ),
    "busy": Example("a note: the terminal is busy", day(at(14, 36), Level.INFO, K.TERMINAL_BUSY)),
    # -- problems: what is wrong and the one thing to check
    "offline": Example("terminal not answering", _problem(at(15, 37), F, K.TERMINAL_DEAD)),
    "silent": Example("terminal missed polls", _problem(at(15, 31), W, K.TERMINAL_STALE)),
    "out-of-order": Example("terminal out of order", _problem(at(15, 37), F, K.OUT_OF_ORDER)),
    "printer": Example("printer not ready", _problem(at(12, 10), W, K.PRINTER)),
    "sign-in": Example("sign-in needed", _problem(at(9, 12), U, K.SIGN_IN_NEEDED)),
    "terminal-clock": Example(
        "terminal clock wrong", _problem(at(9, 12), W, K.TERMINAL_CLOCK_WRONG)
    ),
    "system-clock": Example(
        "our clock not synced", _problem(at(9, 12), W, K.SYSTEM_CLOCK_UNSYNCED)
    ),
    "overdue": Example(
        "yesterday's batch still open",
        replace(_problem(at(8, 10), Level.OVERDUE, K.OVERDUE_BATCH), auto_settle_at=None),
    ),
    "settle-failed": Example("the end-of-day failed", _problem(at(22, 55), U, K.SETTLE_FAILED)),
    "settle-unknown": Example(
        "an end-of-day's answer was lost", _problem(at(22, 55), W, K.SETTLE_UNKNOWN)
    ),
    "terminal-demands": Example(
        "the terminal asks to settle", _problem(at(16, 0), U, K.TERMINAL_DEMANDS_SETTLE)
    ),
    "near-limit": Example(
        "batch near the size limit", _problem(at(16, 0), W, K.BATCH_NEAR_LIMIT, count=1372)
    ),
    "storage-full": Example("terminal store full", _problem(at(16, 0), U, K.STORAGE_FULL)),
    "auth-age": Example("oldest sale nears the fee limit", _problem(at(16, 0), W, K.AUTH_AGE)),
    "offline-pending": Example(
        "offline payments not yet sent", _problem(at(22, 20), W, K.OFFLINE_PENDING)
    ),
    "offline-unsent": Example(
        "offline payments not sent after settling",
        _problem(at(23, 5), U, K.OFFLINE_UNSENT, count=0, total=0),
    ),
    "batch-lost": Example(
        "a batch vanished unsettled", _problem(at(10, 0), U, K.BATCH_LOST, count=0, total=0)
    ),
    "out-of-balance": Example(
        "closed out of balance", _problem(at(23, 5), U, K.OUT_OF_BALANCE, count=0, total=0)
    ),
    # -- the web page's first-run setup code
    "setup": Example(
        "web setup code and address",
        day(at(14, 36), W, K.PRINTER),
        setup=("4711 0815", "192.168.178.20", "8080"),
    ),
    "setup-short": Example(
        "a short address fits one line", None, setup=("4711 0815", "10.0.0.5", "8080")
    ),
}


def pages(lang: str) -> list[tuple[str, str, Image.Image]]:
    """Every example's every page: (name, caption, image); a page's name ends -p1, -p2 ..."""
    out = []
    for name, example in EXAMPLES.items():
        shown = example.screen(lang)
        for n in range(shown.pages):
            label = f"{name}-p{n + 1}" if shown.pages > 1 else name
            caption = f"{example.what} ({n + 1}/{shown.pages})" if shown.pages > 1 else example.what
            out.append((label, caption, shown.image(n)))
    return out
