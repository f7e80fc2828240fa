"""OLED screens as pure functions: an assessment in, a 128x64 one-bit image out.

Four lines of 16-px unifont (crisp for Latin and CJK alike). URGENT and OVERDUE
screens are inverted so they are seen across the shop.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import cache

from PIL import Image, ImageDraw, ImageFont

from ..guard.assessment import Assessment, Level, ReasonKind
from ..money import currency_alpha, format_minor
from .texts import (
    LEVEL_WORDS,
    PHRASES,
    REASONS,
    SETTLE_KINDS,
    SETTLE_WORDS,
    SETTLING_WORDS,
    pick,
)

WIDTH, HEIGHT, LINE = 128, 64, 16
FONT_PATHS = (
    "/usr/share/fonts/opentype/unifont/unifont.otf",
    "/usr/share/fonts/truetype/unifont/unifont.ttf",
)


@cache
def font() -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    for path in FONT_PATHS:
        try:
            return ImageFont.truetype(path, 16)
        except OSError:
            continue
    return ImageFont.load_default()  # Latin only: install fonts-unifont for Chinese


def fit(text: str, width: int = WIDTH) -> str:
    """The longest prefix of `text` (with an ellipsis if cut) that fits `width` pixels."""
    f = font()
    if f.getlength(text) <= width:
        return text
    while text and f.getlength(text + "…") > width:
        text = text[:-1]
    return text + "…"


def _clock(delta: timedelta) -> str:
    minutes = max(0, int(delta.total_seconds() // 60))
    return f"{minutes // 60}:{minutes % 60:02d}"


def lines_for(a: Assessment, local: datetime, lang: str, progress: str | None = None,
              prompt: str | None = None) -> list[str]:  # fmt: skip
    if prompt == "settle-now":
        return [pick(PHRASES["ask"], lang), pick(PHRASES["again"], lang), "", ""]
    headline = a.headline
    words = LEVEL_WORDS[a.level]
    if headline is not None and headline.kind in SETTLE_KINDS:
        words = SETTLE_WORDS.get(a.level, words)
    if progress or (headline is not None and headline.kind is ReasonKind.SETTLING):
        words = SETTLING_WORDS
    head = pick(words, lang)
    clock = local.strftime("%H:%M")
    f = font()
    room = WIDTH - f.getlength(clock) - 4
    first = fit(head, int(room))
    first += " " * max(
        1, int((WIDTH - f.getlength(first) - f.getlength(clock)) // f.getlength(" "))
    )
    left = a.time_to_cutoff
    second = pick(PHRASES["cutoff"], lang).format(_clock(left)) if left > timedelta(0) else (
        pick(PHRASES["past"], lang))  # fmt: skip
    if a.batch_count is None or a.batch_total is None:
        third = ""
    elif a.batch_count == 0:
        third = pick(PHRASES["empty"], lang)
    else:
        amount = f"{format_minor(a.batch_total, a.currency)}"
        third = pick(PHRASES["batch"], lang).format(a.batch_count, amount)
    if progress:
        fourth = progress
    elif prompt == "last-call":
        fourth = pick(PHRASES["cancel"], lang)
    elif headline is not None:
        fourth = pick(REASONS[headline.kind], lang)
    elif a.data_age is not None and a.data_age > timedelta(minutes=5):
        fourth = pick(PHRASES["age"], lang).format(int(a.data_age.total_seconds() // 60))
    else:
        fourth = currency_alpha(a.currency)
    return [fit(first + clock), fit(second), fit(third), fit(fourth)]


def render(a: Assessment, local: datetime, lang: str, progress: str | None = None,
           prompt: str | None = None) -> Image.Image:  # fmt: skip
    return draw_lines(lines_for(a, local, lang, progress, prompt),
                      invert=a.level in (Level.URGENT, Level.OVERDUE))  # fmt: skip


def draw_lines(lines: list[str], invert: bool = False) -> Image.Image:
    image = Image.new("1", (WIDTH, HEIGHT), 1 if invert else 0)
    pen = ImageDraw.Draw(image)
    for row, text in enumerate(lines[:4]):
        pen.text((0, row * LINE), text, font=font(), fill=0 if invert else 1)
    return image


def setup_code_screen(code: str, lang: str, host: str = "", port: str = "",
                      status: str = "") -> Image.Image:  # fmt: skip
    """The web page's one-time setup code (typed on the first visit: proof of presence),
    where the page is, and the guard's level so the cashier still sees it."""
    return draw_lines([fit(pick(PHRASES["setup"], lang)), f"  {code}", fit(host),
                       fit(f":{port} {status}" if port else status)])  # fmt: skip


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
