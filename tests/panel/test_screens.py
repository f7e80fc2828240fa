"""OLED screens: golden images of every screen in both languages (pi_agent/panel/gallery.py),
no line past 128 px for representative and worst-case inputs, the words a cashier reads,
and the contact sheets in docs/ are what the screens draw.

Regenerate the golden PNGs after a deliberate change with SETTLEGUARD_REGEN_GOLDEN=1 (and
look at them before committing), and the sheets with python -m pi_agent.panel.contact_sheet.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from PIL import Image, ImageChops

from pi_agent import config
from pi_agent.guard.assessment import Assessment, Level, Reason, ReasonKind, SettledSummary
from pi_agent.guard.policy import Observations, SettledFacts, SettleHistory, assess
from pi_agent.money import CURRENCIES
from pi_agent.panel import contact_sheet, gallery
from pi_agent.panel.gallery import AUTO, CUTOFF, EXAMPLES, ZONE, at, day
from pi_agent.panel.screens import (
    HEIGHT,
    WIDTH,
    duration,
    fit,
    font,
    lines_for,
    render,
    sales_line,
    screen,
    setup_screen,
    to_text,
    wrap,
)
from pi_agent.panel.texts import CHECKS, PROBLEMS
from pi_agent.terminal.models import BatchTotals, CardTypeTotal
from pi_agent.zvt.codes import INTERMEDIATE_STATUS, RESULT_CODES, TERMINAL_STATUS

GOLDEN = Path(__file__).parent / "golden"
LANGS = ["en", "zh-CN"]
PAGES = {lang: gallery.pages(lang) for lang in LANGS}


def width(text: str) -> float:
    return font().getlength(text)


@pytest.mark.parametrize(("lang", "name"), [(lang, name) for lang in LANGS
                                             for name, _, _ in PAGES[lang]])  # fmt: skip
def test_golden_screens(name: str, lang: str) -> None:
    """Every page of every screen (a screen with several pages has a golden image of each)."""
    image = next(image for n, _, image in PAGES[lang] if n == name)
    assert image.size == (WIDTH, HEIGHT) and image.mode == "1"
    assert_golden(image, f"{name}_{lang}.png")


def test_every_golden_image_is_a_screen_of_the_gallery() -> None:
    expected = {f"{name}_{lang}.png" for lang in LANGS for name, _, _ in PAGES[lang]}
    assert {p.name for p in GOLDEN.glob("*.png")} == expected


def assert_golden(image: Image.Image, name: str) -> None:
    """The image equals golden/NAME (which SETTLEGUARD_REGEN_GOLDEN=1 writes instead)."""
    path = GOLDEN / name
    if os.environ.get("SETTLEGUARD_REGEN_GOLDEN") == "1":
        image.save(path)
    assert path.exists(), f"{path} is missing: run with SETTLEGUARD_REGEN_GOLDEN=1 and look at it"
    golden = Image.open(path).convert("L")
    assert ImageChops.difference(image.convert("L"), golden).getbbox() is None, f"{path} differs"


# -- no line overflows, in either language, whatever the inputs


def assert_fits(shown, what: object) -> None:
    for frame in range(shown.pages):
        for line in shown.lines(frame):
            assert width(line) <= WIDTH, (what, line, width(line))
            assert not line.endswith("…"), (what, line)  # wrapped or paged, never cut


# (count, total, currency): long amounts, wide symbols, wide zh counts. A batch holds at
# most 9999 sales (ZVT's receipt numbers wrap there; POSLink's at 5000).
WORST = [
    (1234, 123456789, 978), (1234, 123456789, 156), (1234, 123456789, 756),
    (9999, 99999999999, 392), (9999, -99999999999, 36), (1, 1, 978), (38, 178685, 826),
    (7, -5000, 840),
    (999, 999999, 985), (12, 34567, 999),
]  # fmt: skip
PROGRESS = sorted(
    {s.text(lang) for table in (INTERMEDIATE_STATUS, TERMINAL_STATUS, RESULT_CODES)
     for s in table.values() for lang in LANGS}
    | {"uploading 1234 stored offline payments", "正在上送 1234 笔离线交易",
       "x" * 70, "终端" * 30, "a-very-long-word-without-any-space-at-all and more"}
)  # fmt: skip


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("kind", [*ReasonKind, None])
def test_no_line_overflows_for_any_reason_level_or_amount(kind: ReasonKind | None,
                                                          lang: str) -> None:  # fmt: skip
    for level in Level:
        for count, total, currency in WORST:
            for now in (at(8, 33), at(14, 36), at(22, 51), at(23, 40)):
                for settled in (None, SettledSummary(at(22, 31), count, total, currency, False)):
                    a = day(now, level, *([kind] if kind else []), count=count, total=total,
                            currency=currency, settled=settled,
                            data_age=timedelta(minutes=123))  # fmt: skip
                    for prompt in (None, "last-call", "settle-now"):
                        assert_fits(screen(a, now, lang, None, prompt), (kind, level, a, prompt))


@pytest.mark.parametrize("lang", LANGS)
def test_every_progress_text_wraps_and_pages_within_the_lines(lang: str) -> None:
    a = day(at(22, 50), Level.INFO, ReasonKind.SETTLING, count=1234, total=123456789)
    for text in PROGRESS:
        shown = screen(a, at(22, 50), lang, text)
        assert_fits(shown, text)
        said = "".join("".join(shown.lines(n)[2:]) for n in range(shown.pages))
        assert said.replace(" ", "") == text.replace(" ", ""), text  # nothing lost


@pytest.mark.parametrize("lang", LANGS)
def test_the_sales_line_always_fits_with_the_symbol(lang: str) -> None:
    for currency in [*CURRENCIES, 999]:
        for count in (0, 1, 9, 38, 999, 1234, 9999):
            for total in (0, 5, 1250, 178685, 99999999, 123456789, 99999999999, -123456789):
                line = sales_line(count, total, currency, lang)
                assert width(line) <= WIDTH and not line.endswith("…"), line
                if count and total > -1000000:  # sales since a settlement
                    line = sales_line(count, total, currency, lang, new=True)
                    assert width(line) <= WIDTH and not line.endswith("…"), line


def test_the_sales_line_reads_as_sales_with_the_currency_symbol() -> None:
    assert sales_line(12, 34567, 978, "en") == "12 sales €345.67"
    assert sales_line(1, 1250, 978, "en") == "1 sale    €12.50"
    assert sales_line(38, 178685, 978, "en") == "38 sales  €1,787"  # no room for the cents
    assert sales_line(12, 34567, 156, "zh-CN") == "销售12笔 ¥345.67"
    assert sales_line(1234, 123456789, 978, "en") == "1234× €1,234,568"
    assert sales_line(3, 1250, 756, "en") == "3 sales CHF12.50"
    assert sales_line(38, 178685, 756, "en") == "38 sales CHF1787"
    assert sales_line(3, 1250, 826, "en") == "3 sales   £12.50"
    assert sales_line(3, 1250, 985, "en") == "3 sales 12.50 zł"
    assert sales_line(3, 1250, 999, "en").startswith("3 sales")  # an unknown code: its number
    assert sales_line(0, 0, 978, "en") == "no sales yet" and sales_line(None, None, 978, "en") == ""


@pytest.mark.parametrize("lang", LANGS)
def test_setup_screen_fits_the_longest_address(lang: str) -> None:
    for level in (None, *Level):
        shown = setup_screen("4711 0815", lang, "255.255.255.255", "65535", level=level,
                             local=at(14, 36))  # fmt: skip
        assert_fits(shown, level)


# -- what the cashier reads


def test_time_left_is_written_as_time_left() -> None:
    assert duration(timedelta(hours=2, minutes=14, seconds=59), "en") == "2 h 14 min"
    assert duration(timedelta(minutes=14), "en") == "14 min"
    assert duration(timedelta(hours=2, minutes=14), "zh-CN") == "2小时14分"
    assert duration(timedelta(minutes=14), "zh-CN") == "14分钟"
    assert duration(timedelta(seconds=40), "en") == "<1 min"


def test_the_day_says_what_happens_next_and_when() -> None:
    auto = lines_for(day(at(20, 36)), at(20, 36), "en")
    assert auto[1:] == ["38 sales  €1,787", "settles at 22:50", "in 2 h 14 min"]
    manual = lines_for(day(at(22, 46), auto=None), at(22, 46), "en")
    assert manual[2:] == ["settle by 23:00", "14 min left"]
    zh = lines_for(day(at(20, 36)), at(20, 36), "zh-CN")
    assert zh[2:] == ["22:50 自动结算", "2小时14分后"]
    zh = lines_for(day(at(20, 46), auto=None), at(20, 46), "zh-CN")
    assert zh[2:] == ["23:00 前结算", "还剩2小时14分"]


def test_a_passed_auto_settle_time_says_settle_by_the_cutoff() -> None:
    lines = lines_for(day(at(22, 52)), at(22, 52), "en")  # still open: retrying
    assert lines[2:] == ["settle by 23:00", "8 min left"]


def test_the_settlement_shows_when_how_many_how_much_and_verified() -> None:
    s = SettledSummary(at(22, 31), 38, 178685, 978, True)
    lines = lines_for(day(at(22, 40), count=0, total=0, settled=s), at(22, 40), "en")
    assert lines[1:] == ["settled 22:31", "38 sales  €1,787", "verified"]
    s = SettledSummary(at(22, 31), None, None, 978, False)
    lines = lines_for(day(at(22, 40), count=0, total=0, settled=s), at(22, 40), "zh-CN")
    assert lines[1:] == ["22:31 已结算", "金额未知", "未核对"]


def no_countdown(lines: list[str]) -> bool:
    text = " ".join(lines)
    return not any(w in text for w in (" left", "in ", "还剩", "后", "settle by", "前结算"))


def sold(count: int = 2, total: int = 5738) -> BatchTotals:
    return BatchTotals(978, total, (CardTypeTotal("visa", count, total),), 1, count, "29001006")


def test_no_countdown_after_the_settlement_and_until_the_next_day_opens() -> None:
    """The policy and the screen together: settled at 22:31 with sales after it; the
    evening past the cutoff and the next morning before opening count nothing down."""
    cfg = config.Config()
    facts = SettledFacts(3, at(22, 31), trading_day=gallery.DAY, count=38, total=178685,
                         currency=978, verified=True)  # fmt: skip
    tomorrow = gallery.DAY + timedelta(days=1)
    for now in (at(22, 40), at(23, 5), at(23, 59), at(8, 59, tomorrow)):
        today = gallery.DAY if now < CUTOFF else tomorrow
        history = SettleHistory(settled_day=gallery.DAY if now < CUTOFF else None)
        obs = Observations(totals=sold(), totals_at=now, history=history, last_settled=facts,
                           batch_day=today)  # fmt: skip
        a = assess(now, cfg, obs)
        assert a.settled is not None and a.settled.count == 38
        for lang in LANGS:
            shown = screen(a, now.astimezone(ZONE), lang)
            for frame in range(shown.pages):
                assert no_countdown(shown.lines(frame)), (now, shown.lines(frame))
            assert "22:31" in shown.lines()[1], shown.lines()
    morning = at(9, 5, tomorrow)
    a = assess(morning, cfg, Observations(totals=sold(), totals_at=morning, last_settled=facts,
                                          batch_day=tomorrow))  # fmt: skip
    assert a.settled is None
    assert lines_for(a, morning, "en")[2:] == ["settle by 23:00", "13 h 55 min left"]


def test_before_opening_the_screen_says_when_the_day_opens() -> None:
    lines = lines_for(day(at(8, 33), count=1, total=1250), at(8, 33), "en")
    assert lines[1:] == ["1 sale    €12.50", "opens 09:00", ""]
    assert lines_for(day(at(8, 33)), at(8, 33), "zh-CN")[2] == "09:00 开始营业"


CHECK_WORDS = {  # the one thing to check, as the cashier reads it
    ReasonKind.TERMINAL_DEAD: ("cable and power", "电源和线缆"),
    ReasonKind.TERMINAL_STALE: ("cable and power", "电源和线缆"),
    ReasonKind.PRINTER: ("paper", "打印纸"),
    ReasonKind.SIGN_IN_NEEDED: ("sign in", "签到"),
    ReasonKind.OUT_OF_ORDER: ("call the technician", "维修人员"),
    ReasonKind.BATCH_LOST: ("tell the owner", "店主"),
    ReasonKind.OVERDUE_BATCH: ("settle now", "立即结算"),
}


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("kind", list(CHECK_WORDS))
def test_every_problem_says_the_one_thing_to_check(kind: ReasonKind, lang: str) -> None:
    level = Level.OVERDUE if kind is ReasonKind.OVERDUE_BATCH else Level.FAULT
    lines = lines_for(day(at(15, 37), level, kind), at(15, 37), lang)
    said = " ".join(lines[2:]) if lang == "en" else "".join(lines[2:])
    assert CHECK_WORDS[kind][lang != "en"] in said, lines
    assert lines[1] == PROBLEMS[kind][lang != "en"]


def test_every_problem_has_words_and_a_check_in_both_languages() -> None:
    assert set(PROBLEMS) == set(CHECKS) == set(ReasonKind)
    for pair in (*PROBLEMS.values(), *CHECKS.values()):
        assert pair[0].isascii() and not pair[1].isascii(), pair
    for pair in PROBLEMS.values():  # one line
        assert width(pair[0]) <= WIDTH and width(pair[1]) <= WIDTH, pair
    for pair in CHECKS.values():  # at most the two lines below the problem
        assert len(wrap(pair[0])) <= 2 and len(wrap(pair[1])) <= 2, pair


def test_the_last_call_says_what_a_press_cancels_and_when() -> None:
    a = day(at(22, 35), Level.INFO, ReasonKind.SETTLE_PROMPT)
    assert lines_for(a, at(22, 35), "en", prompt="last-call")[1:] == [
        "settles at 22:50", "press to cancel", "today's settling"]  # fmt: skip
    assert lines_for(a, at(22, 35), "zh-CN", prompt="last-call")[1:] == [
        "22:50 自动结算", "按一下按键", "取消今日自动结算"]  # fmt: skip
    # the time comes from the prompt's own detail when the policy names no auto-settle time
    a = Assessment(at(22, 35), gallery.DAY, CUTOFF, Level.INFO,
                   (Reason(ReasonKind.SETTLE_PROMPT, Level.INFO, {"last_call": AUTO}),),
                   batch_count=3, batch_total=4500)  # fmt: skip
    assert lines_for(a, at(22, 35), "en", prompt="last-call")[1] == "settles at 22:50"


def test_the_setup_screen_shows_the_code_and_the_address_cleanly() -> None:
    shown = setup_screen("4711 0815", "en", "192.168.178.20", "8080", level=Level.WARN,
                          local=at(14, 36))  # fmt: skip
    assert shown.lines() == ["WARNING    14:36", "setup 4711 0815", "192.168.178.20", "port 8080"]
    shown = setup_screen("4711 0815", "zh-CN", "10.0.0.5", "8080")
    assert shown.lines() == ["网页设置", "设置码 4711 0815", "10.0.0.5:8080", ""]


def test_chinese_lines_use_chinese() -> None:
    lines = lines_for(day(at(22, 5), Level.WARN, ReasonKind.OPEN_BATCH, auto=None), at(22, 5),
                      "zh-CN")  # fmt: skip
    assert lines[0].startswith("请结算") and "销售" in lines[1] and "前结算" in lines[2]


def test_urgent_and_overdue_screens_are_inverted() -> None:
    lit = {name: sum(e.screen("en").image().convert("L").tobytes()) // 255
           for name, e in EXAMPLES.items()}  # fmt: skip
    assert lit["urgent"] > WIDTH * HEIGHT / 2 > lit["warn"]
    assert lit["overdue"] > WIDTH * HEIGHT / 2


def test_a_long_text_is_paged_and_the_frame_picks_the_page() -> None:
    shown = EXAMPLES["settling-long"].screen("en")
    assert shown.pages == 2
    assert shown.lines(0)[2:] == ["terminal starts", "automatic"]
    assert shown.lines(1)[2:] == ["end-of-day", ""] == shown.lines(3)[2:]
    assert shown.lines(0)[:2] == shown.lines(1)[:2]  # the heading and the batch stay
    a = EXAMPLES["settling-long"].assessment
    assert render(a, at(22, 50), "en", "terminal starts automatic end-of-day", frame=1).tobytes() \
        == shown.image(1).tobytes()  # fmt: skip


def test_wrap_breaks_at_spaces_between_chinese_characters_and_inside_long_words() -> None:
    assert wrap("check its cable and power") == ["check its cable", "and power"]
    assert wrap("请检查电源和线缆请检查电源") == ["请检查电源和线缆", "请检查电源"]
    assert wrap("x" * 20) == ["x" * 16, "x" * 4]
    assert wrap("press to cancel\ntoday's") == ["press to cancel", "today's"]
    assert wrap("") == [""]


def test_fit_truncates_with_an_ellipsis() -> None:
    assert fit("short") == "short"
    long = fit("a much longer text than one line can hold")
    assert long.endswith("…") and width(long) <= WIDTH


def test_console_mirror_is_32_rows_of_128() -> None:
    rows = to_text(EXAMPLES["warn"].screen("en").image()).split("\n")
    assert len(rows) == 32 and all(len(r) == 128 for r in rows)
    assert any(ch != " " for r in rows for ch in r)


# -- the contact sheets in docs/


def test_the_committed_contact_sheets_are_what_the_screens_draw() -> None:
    for path, image in contact_sheet.outputs().items():
        assert not contact_sheet.differs(path, image), (
            f"{path.name}: run python -m pi_agent.panel.contact_sheet and look at it"
        )
    done = subprocess.run([sys.executable, "-m", "pi_agent.panel.contact_sheet", "--check"],
                          capture_output=True, text=True, timeout=120, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr


def test_the_sheet_check_catches_a_stale_sheet(tmp_path: Path) -> None:
    assert contact_sheet.main(["--docs", str(tmp_path), "--check"]) == 1  # none there
    assert contact_sheet.main(["--docs", str(tmp_path)]) == 0
    assert contact_sheet.main(["--docs", str(tmp_path), "--check"]) == 0
    stale = Image.open(tmp_path / "screens-en.png").convert("L")
    stale.putpixel((40, 40), 255 - stale.getpixel((40, 40)))
    stale.save(tmp_path / "screens-en.png")
    assert contact_sheet.main(["--docs", str(tmp_path), "--check"]) == 1
