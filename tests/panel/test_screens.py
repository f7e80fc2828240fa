"""OLED screens: every reason in both languages fits 128x64; golden images for the main screens.

Regenerate the golden PNGs after a deliberate change with SETTLEGUARD_REGEN_GOLDEN=1 (and
look at them before committing).
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from PIL import Image, ImageChops

from pi_agent.guard.assessment import Assessment, Level, Reason, ReasonKind
from pi_agent.panel.screens import HEIGHT, WIDTH, fit, font, lines_for, render, to_text
from pi_agent.zvt.codes import INTERMEDIATE_STATUS

GOLDEN = Path(__file__).parent / "golden"
NOW = datetime(2026, 11, 20, 21, 5, tzinfo=UTC)  # 22:05 in Berlin
LOCAL = NOW.astimezone(ZoneInfo("Europe/Berlin"))


def assessment(
    level: Level, kind: ReasonKind | None, count: int | None = 12, total: int | None = 34567,
    cutoff_in: timedelta = timedelta(minutes=55),
) -> Assessment:  # fmt: skip
    reasons = (Reason(kind, level),) if kind else ()
    return Assessment(NOW, NOW.date(), NOW + cutoff_in, level, reasons, batch_count=count,
                      batch_total=total)  # fmt: skip


SCREENS = {
    "ok": (assessment(Level.OK, None, cutoff_in=timedelta(hours=9)), None, None),
    "warn": (assessment(Level.WARN, ReasonKind.OPEN_BATCH), None, None),
    "urgent": (assessment(Level.URGENT, ReasonKind.OPEN_BATCH, cutoff_in=timedelta(minutes=9)),
               None, None),
    "overdue": (assessment(Level.OVERDUE, ReasonKind.OVERDUE_BATCH,
                           cutoff_in=-timedelta(minutes=5)), None, None),
    "settling": (assessment(Level.WARN, ReasonKind.SETTLING), INTERMEDIATE_STATUS[0xD2], None),
    "settled": (assessment(Level.OK, ReasonKind.SETTLED, count=0, total=0), None, None),
    "offline": (assessment(Level.FAULT, ReasonKind.TERMINAL_DEAD), None, None),
    "sign-in": (assessment(Level.URGENT, ReasonKind.SIGN_IN_NEEDED), None, None),
    "last-call": (assessment(Level.INFO, ReasonKind.SETTLE_PROMPT), None, "last-call"),
    "ask": (assessment(Level.OK, None), None, "settle-now"),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(SCREENS))
@pytest.mark.parametrize("lang", ["en", "zh-CN"])
def test_golden_screens(name: str, lang: str) -> None:
    a, status, prompt = SCREENS[name]
    progress = status.text(lang) if status is not None else None
    image = render(a, LOCAL, lang, progress, prompt)
    assert image.size == (WIDTH, HEIGHT) and image.mode == "1"
    assert_golden(image, f"{name}_{lang}.png")


def assert_golden(image: Image.Image, name: str) -> None:
    """The image equals golden/NAME (which SETTLEGUARD_REGEN_GOLDEN=1 writes instead)."""
    path = GOLDEN / name
    if os.environ.get("SETTLEGUARD_REGEN_GOLDEN") == "1":
        image.save(path)
    assert path.exists(), f"{path} is missing: run with SETTLEGUARD_REGEN_GOLDEN=1 and look at it"
    golden = Image.open(path).convert("L")
    assert ImageChops.difference(image.convert("L"), golden).getbbox() is None, f"{path} differs"


@pytest.mark.parametrize("kind", list(ReasonKind))
@pytest.mark.parametrize("lang", ["en", "zh-CN"])
@pytest.mark.parametrize("level", list(Level))
def test_every_reason_fits_in_both_languages(kind: ReasonKind, lang: str, level: Level) -> None:
    a = assessment(level, kind, count=1234, total=123456789)
    for text in lines_for(a, LOCAL, lang):
        assert font().getlength(text) <= WIDTH, text
    render(a, LOCAL, lang)


def test_chinese_lines_use_chinese() -> None:
    lines = lines_for(SCREENS["warn"][0], LOCAL, "zh-CN")
    assert lines[0].startswith("请结算") and "笔" in lines[2] and "截止" in lines[1]


def test_urgent_and_overdue_screens_are_inverted() -> None:
    lit = {name: sum(render(a, LOCAL, "en", None, q).convert("L").tobytes()) // 255
           for name, (a, _, q) in SCREENS.items()}  # fmt: skip
    assert lit["urgent"] > WIDTH * HEIGHT / 2 > lit["warn"]
    assert lit["overdue"] > WIDTH * HEIGHT / 2


def test_fit_truncates_with_an_ellipsis() -> None:
    assert fit("short") == "short"
    long = fit("a much longer text than one line can hold")
    assert long.endswith("…") and font().getlength(long) <= WIDTH


def test_console_mirror_is_32_rows_of_128() -> None:
    rows = to_text(render(*SCREENS["warn"][:1], LOCAL, "en")).split("\n")
    assert len(rows) == 32 and all(len(r) == 128 for r in rows)
    assert any(ch != " " for r in rows for ch in r)


@pytest.mark.parametrize("lang", ["en", "zh-CN"])
def test_golden_setup_code_screen(lang: str) -> None:
    """The web page's one-time setup code, where the page is, and the level still shown."""
    from pi_agent.panel.screens import setup_code_screen

    status = "注意" if lang == "zh-CN" else "WARNING"
    image = setup_code_screen("4711 0815", lang, "192.168.178.20", "8080", status)
    assert_golden(image, f"setup_{lang}.png")
