"""OLED screens as pure functions: an assessment in, a 128x64 one-bit image out.

Four lines of 16-px unifont (crisp for Latin and CJK alike): 16 Latin characters or 8
Chinese ones a line. URGENT and OVERDUE screens are inverted so they are seen across the
shop. Every screen reads in one glance:

* the day: the heading and the clock; the sales (count and amount, with the currency
  symbol); what happens next and when ("settles at 22:50", "settle by 23:00"); the time
  left ("in 2 h 14 min", "14 min left"). Before the trading day opens, after its batch is
  settled and on a closed day there is no countdown;
* after a settlement: when, how many and how much, verified or not;
* a problem: what is wrong and the ONE thing to check ("check its cable and power");
* settling: the batch and the terminal's progress;
* 'ask' mode's last call: when the guard settles and what a press cancels.

A text longer than its lines is wrapped and, when it needs more lines still, paged: a
`Screen` holds every page of each line, and `render(..., frame=N)` draws page N (the panel
turns the pages as time passes; the screens themselves never read a clock).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from itertools import product

from PIL import Image, ImageDraw, ImageFont

from ..guard.assessment import Assessment, Level, Reason, ReasonKind
from ..money import format_money, format_money_short
from .texts import (
    CHECKS,
    LEVEL_WORDS,
    PHRASES,
    PROBLEMS,
    SETTLE_KINDS,
    SETTLE_WORDS,
    SETTLING_WORDS,
    pick,
)

WIDTH, HEIGHT, LINE, ROWS = 128, 64, 16, 4
PAGE_SECONDS = 3.0  # how long the panel shows each page of a screen that has several
FONT_PATHS = (
    "/usr/share/fonts/opentype/unifont/unifont.otf",
    "/usr/share/fonts/truetype/unifont/unifont.ttf",
)
# Kinds with a screen of their own (or none): never shown as a problem.
NOT_PROBLEMS = frozenset({ReasonKind.OPEN_BATCH, ReasonKind.SETTLING, ReasonKind.SETTLED,
                          ReasonKind.SETTLE_PROMPT, ReasonKind.NOT_TRADING})  # fmt: skip


@cache
def font() -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    for path in FONT_PATHS:
        try:
            return ImageFont.truetype(path, 16)
        except OSError:
            continue
    return ImageFont.load_default()  # Latin only: install fonts-unifont for Chinese


def width(text: str) -> float:
    return font().getlength(text)


def fit(text: str, room: int = WIDTH) -> str:
    """The longest prefix of `text` (with an ellipsis if cut) that fits `room` pixels: the
    last resort; the screens wrap and page rather than cut."""
    if width(text) <= room:
        return text
    while text and width(text + "…") > room:
        text = text[:-1]
    return text + "…"


def wrap(text: str, room: int = WIDTH) -> list[str]:
    """`text` in lines of at most `room` pixels: broken at spaces (Latin), between any two
    characters (Chinese, or a word longer than a line), and at every "\\n"."""
    lines: list[str] = []
    for part in text.split("\n"):
        line = ""
        for ch in part:
            if width(line + ch) <= room:
                line += ch
                continue
            cut = line.rfind(" ")
            if ch != " " and cut > 0 and ch.isascii() and line[-1].isascii():
                lines.append(line[:cut])  # the word goes to the next line
                line = line[cut + 1 :] + ch
            else:
                lines.append(line.rstrip())
                line = ch.lstrip()
            while width(line) > room:  # a word longer than a line
                lines.append(line[:-1])
                line = line[-1]
        lines.append(line.rstrip())
    return lines


def spread(left: str, right: str, room: int = WIDTH) -> str | None:
    """`left` and `right` on one line, `right` against the right edge (spaces between them:
    unifont's cells are 8 px), or None when they do not fit with a space between."""
    gap = room - width(left) - width(right)
    space = width(" ")
    if gap < space:
        return None
    return left + " " * int(gap // space) + right


@dataclass(frozen=True, slots=True)
class Screen:
    """Four lines, each with its pages; line i on page n is rows[i][n % len(rows[i])]."""

    rows: tuple[tuple[str, ...], ...]
    invert: bool = False

    @property
    def pages(self) -> int:
        return math.lcm(*(len(r) for r in self.rows)) if self.rows else 1

    def lines(self, frame: int = 0) -> list[str]:
        return [row[frame % len(row)] for row in self.rows]

    def image(self, frame: int = 0) -> Image.Image:
        return draw_lines(self.lines(frame), self.invert)


def _layout(fixed: list[str], block: list[str], invert: bool = False) -> Screen:
    """The `fixed` lines, then `block` (wrapped lines) in the rows left, a page per chunk."""
    rows = [(line,) for line in fixed]
    room = ROWS - len(fixed)
    if room > 0:
        chunks = [block[i : i + room] for i in range(0, max(1, len(block)), room)]
        for i in range(room):
            rows.append(tuple(c[i] if i < len(c) else "" for c in chunks))
    return Screen(tuple(rows[:ROWS]), invert)


def _hhmm(at: datetime, local: datetime) -> str:
    return at.astimezone(local.tzinfo).strftime("%H:%M")


def duration(delta: timedelta, lang: str) -> str:
    """'2 h 14 min', '14 min' ('2小时14分', '14分钟'): whole minutes, rounded down."""
    minutes = max(0, int(delta.total_seconds() // 60))
    if minutes == 0:
        return pick(PHRASES["under_a_minute"], lang)
    if minutes < 60:
        return pick(PHRASES["minutes"], lang).format(minutes)
    return pick(PHRASES["hours"], lang).format(minutes // 60, minutes % 60)


def sales_line(count: int | None, total: int | None, currency: int, lang: str,
               new: bool = False) -> str:  # fmt: skip
    """'12 sales    €345.67': the count and the amount with its symbol on one line, the
    amount against the right edge ('new: 2 sales €57' for sales since a settlement). Where
    that is too long the amount drops its thousands separators (and the space after a
    symbol like CHF), then its cents (rounded), then shortens to k, M or B, then the words
    shorten to the count and a multiplication sign: it always fits one line."""
    if count is None or total is None:
        return ""
    if count == 0:
        return pick(PHRASES["no_sales"], lang)
    word = pick(PHRASES["sale" if count == 1 else "sales"], lang).format(count)
    short = pick(PHRASES["sales_short"], lang).format(count)
    labels = [word, short]
    if new:
        tag = pick(PHRASES["new"], lang)
        labels = [
            tag.format(word),
            tag.format(short),
            pick(PHRASES["new_short"], lang).format(short),
        ]
    amounts, shortened = [], []
    for whole in (False, True):
        for grouping in (True, False):
            amount = format_money(total, currency, grouping=grouping, whole=whole)
            amounts += [amount, amount.replace(" ", "")] if " " in amount else [amount]
    for digits in (3, 2):
        amount = format_money_short(total, currency, digits)
        shortened += [amount, amount.replace(" ", "")]
    for label, amount in [*product(labels, amounts), *product(labels, shortened)]:
        line = spread(label, amount)
        if line is not None:
            return line
    return fit(labels[-1] + " " + amounts[-1])  # past any real batch (ZVT: 9999 receipts)


def _heading(words: str, local: datetime) -> str:
    clock = local.strftime("%H:%M")
    return spread(fit(words, int(WIDTH - width(clock) - width(" "))), clock) or clock


def _head_words(a: Assessment, lang: str, settling: bool) -> str:
    if settling:
        return pick(SETTLING_WORDS, lang)
    headline = a.headline
    words = LEVEL_WORDS[a.level]
    coming = a.auto_settle_at is not None and a.at < a.auto_settle_at
    if (
        headline is not None
        and headline.kind in SETTLE_KINDS
        and not (headline.kind is ReasonKind.OPEN_BATCH and coming)
    ):  # "SETTLE NOW" unless the guard is about to settle it by itself
        words = SETTLE_WORDS.get(a.level, words)
    return pick(words, lang)


def _batch(a: Assessment, lang: str) -> str:
    return sales_line(a.batch_count, a.batch_total, a.currency, lang)


def screen(a: Assessment, local: datetime, lang: str, progress: str | None = None,
           prompt: str | None = None) -> Screen:  # fmt: skip
    """The screen for an assessment (`local`: its time on the shop's clock). `progress` is
    the terminal's word during a settlement; `prompt` "last-call" ('ask' mode, before it
    settles) or "settle-now" (the long press asks for a second press)."""
    invert = a.level in (Level.URGENT, Level.OVERDUE)
    headline = a.headline
    if prompt == "settle-now":
        return _layout([pick(PHRASES["ask"], lang), _batch(a, lang)],
                       wrap(pick(PHRASES["again"], lang)), invert)  # fmt: skip
    settling = bool(progress) or (headline is not None and headline.kind is ReasonKind.SETTLING)
    head = _heading(_head_words(a, lang, settling), local)
    if settling:
        doing = progress or pick(CHECKS[ReasonKind.SETTLING], lang)
        return _layout([head, _batch(a, lang)], wrap(doing), invert)
    if (headline is not None and headline.kind not in NOT_PROBLEMS
            and headline.level.value >= Level.WARN.value):  # fmt: skip
        return _problem(a, headline, head, lang, invert)
    if prompt == "last-call":
        when = a.auto_settle_at or _last_call(a)
        fixed = [head, pick(PHRASES["auto_settle"], lang).format(_hhmm(when, local))] if when \
            else [head]  # fmt: skip
        return _layout(fixed, wrap(pick(PHRASES["cancel"], lang)), invert)
    return _day(a, local, lang, head, invert)


def _last_call(a: Assessment) -> datetime | None:
    reason = next((r for r in a.reasons if r.kind is ReasonKind.SETTLE_PROMPT), None)
    when = reason.detail.get("last_call") if reason is not None else None
    return when if isinstance(when, datetime) else None


def _problem(a: Assessment, headline: Reason, head: str, lang: str, invert: bool) -> Screen:
    """What is wrong, the one thing to check; the sales below when there is room."""
    check = wrap(pick(CHECKS[headline.kind], lang))
    block = [*check, _batch(a, lang)] if len(check) == 1 else check
    return _layout([head, pick(PROBLEMS[headline.kind], lang)], block, invert)


def _day(a: Assessment, local: datetime, lang: str, head: str, invert: bool) -> Screen:
    """The trading day: sales, what happens next and when, the time left; or the day's
    settlement; before opening, after the settlement and on a closed day no countdown."""
    headline = a.headline
    closed = any(r.kind is ReasonKind.NOT_TRADING for r in a.reasons)
    rows: list[tuple[str, ...]] = [(head,)]
    if a.settled is not None:
        s = a.settled
        rows.append((pick(PHRASES["settled"], lang).format(_hhmm(s.at, local)),))
        if s.count is None or s.total is None:
            rows.append((pick(PHRASES["totals_unknown"], lang),))
        else:
            rows.append((sales_line(s.count, s.total, s.currency, lang),))
        verdict = pick(PHRASES["verified" if s.verified else "unverified"], lang)
        if a.batch_count:  # sales since: tomorrow's batch
            rows.append((verdict, sales_line(a.batch_count, a.batch_total, a.currency, lang,
                                             new=True)))  # fmt: skip
        else:
            rows.append((verdict,))
    else:
        rows.append((_batch(a, lang),))
        left = a.time_to_cutoff
        cutoff = _hhmm(a.cutoff, local)
        if closed:
            rows += [(pick(PHRASES["closed"], lang),), ("",)]
        elif a.opens_at is not None and a.at < a.opens_at:
            rows += [(pick(PHRASES["opens"], lang).format(_hhmm(a.opens_at, local)),), ("",)]
        elif left <= timedelta(0):
            rows += [(pick(PHRASES["past"], lang),), ("",)]
        elif not a.batch_count:
            rows += [(pick(PHRASES["cutoff"], lang).format(cutoff),), ("",)]
        elif a.auto_settle_at is not None and a.at < a.auto_settle_at:
            rows += [
                (pick(PHRASES["auto_settle"], lang).format(_hhmm(a.auto_settle_at, local)),),
                (pick(PHRASES["in"], lang).format(duration(a.auto_settle_at - a.at, lang)),),
            ]
        else:
            rows += [(pick(PHRASES["settle_by"], lang).format(cutoff),),
                     (pick(PHRASES["left"], lang).format(duration(left, lang)),)]  # fmt: skip
    notes = []
    if headline is not None and headline.level is Level.INFO and headline.kind not in NOT_PROBLEMS:
        notes.append(pick(PROBLEMS[headline.kind], lang))
    if a.data_age is not None and a.data_age > timedelta(minutes=5):
        notes.append(pick(PHRASES["age"], lang).format(int(a.data_age.total_seconds() // 60)))
    if notes:  # the last line takes turns with what the guard notes
        last = tuple(t for t in rows[3] if t)
        rows[3] = last + tuple(notes)
    return Screen(tuple(rows), invert)


def lines_for(a: Assessment, local: datetime, lang: str, progress: str | None = None,
              prompt: str | None = None, *, frame: int = 0) -> list[str]:  # fmt: skip
    return screen(a, local, lang, progress, prompt).lines(frame)


def render(a: Assessment, local: datetime, lang: str, progress: str | None = None,
           prompt: str | None = None, *, frame: int = 0) -> Image.Image:  # fmt: skip
    return screen(a, local, lang, progress, prompt).image(frame)


def draw_lines(lines: list[str], invert: bool = False) -> Image.Image:
    image = Image.new("1", (WIDTH, HEIGHT), 1 if invert else 0)
    pen = ImageDraw.Draw(image)
    for row, text in enumerate(lines[:ROWS]):
        pen.text((0, row * LINE), fit(text), font=font(), fill=0 if invert else 1)
    return image


def setup_screen(code: str, lang: str, host: str = "", port: str = "", *,
                 level: Level | None = None, local: datetime | None = None) -> Screen:  # fmt: skip
    """The web page's one-time setup code (typed on the first visit: proof of presence) and
    where the page is, under the guard's level and the clock so the cashier still sees
    them. The address is one line when it fits ("10.0.0.5:8080"), else the port is
    below it."""
    words = pick(LEVEL_WORDS[level] if level is not None else PHRASES["web"], lang)
    head = _heading(words, local) if local is not None else words
    rows = [head, pick(PHRASES["setup"], lang).format(code)]
    address = f"{host}:{port}" if host and port else host or ""
    if width(address) <= WIDTH:
        rows += [address, ""]
    else:
        rows += [host, pick(PHRASES["port"], lang).format(port)]
    return Screen(tuple((r,) for r in rows))


def test_pattern() -> Image.Image:
    """Checkerboard with a frame and a word: dead pixels and a shifted image show at once."""
    image = Image.new("1", (WIDTH, HEIGHT), 0)
    px = image.load()
    for y in range(HEIGHT):
        for x in range(WIDTH):
            px[x, y] = (x // 4 + y // 4) % 2
    pen = ImageDraw.Draw(image)
    pen.rectangle((0, 0, WIDTH - 1, HEIGHT - 1), outline=1)
    pen.rectangle((32, 24, 95, 40), fill=0)
    pen.text((44, 24), "TEST", font=font(), fill=1)
    return image


def to_text(image: Image.Image) -> str:
    """The image as Unicode half blocks: 128 columns by 32 rows, for a console mirror."""
    px = image.convert("1").load()
    rows = []
    for y in range(0, image.height, 2):
        row = []
        for x in range(image.width):
            top, bottom = px[x, y] != 0, px[x, y + 1] != 0
            row.append("█" if top and bottom else "▀" if top else "▄" if bottom else " ")
        rows.append("".join(row))
    return "\n".join(rows)
