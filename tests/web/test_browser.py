"""A real headless Chromium (Debian's, driven by Playwright; never a downloaded browser)
walks the page as a technician would: first start with the code from the display, login,
the cutoff changed, a push test to a local receiver, settle now against the simulator.

With SETTLEGUARD_SCREENSHOTS=DIR it also saves each page at phone and desktop widths.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from pi_agent import config
from pi_agent.config import Target
from pi_agent.notify.deliver import Deliverer
from pi_agent.web.server import WebServer

from ..notify.receiver import Receiver
from .conftest import PASSWORD, PUSH_SECRET, TERMINAL_SECRET, Rig

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip
WIDTHS = {"phone": (390, 844), "desktop": (1280, 900)}


@pytest.fixture
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: sudo apt-get install chromium (the browser test "
                    "uses Debian's Chromium, never a downloaded one)")  # fmt: skip
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def test_a_technician_walks_the_page_in_chromium(tmp_path: Path, browser) -> None:
    receiver = Receiver()
    target = Target(receiver.url + f"?secret={PUSH_SECRET}", "info")
    rig = Rig(tmp_path, targets=(target,))
    deliverer = Deliverer(rig.cfg, rig.clock).start()
    rig.agent.on_queued = deliverer.wake
    server = WebServer(rig.app, "127.0.0.1:0").start()
    base = f"http://127.0.0.1:{server.port}"
    shots = os.environ.get("SETTLEGUARD_SCREENSHOTS")
    errors: list[str] = []
    try:
        rig.sim.terminal.add_sale(1250, "visa")
        rig.sim.terminal.add_sale(4590, "girocard")
        rig.control.poll_now()
        page = browser.new_page(viewport={"width": 390, "height": 844})
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("dialog", lambda d: d.accept())  # "Settle now?": yes

        # First start: every page leads to the setup form; the code is on the OLED.
        page.goto(base + "/")
        assert page.url.endswith("/setup")
        rig.control._call(lambda: None)
        code = rig.panel.setup_code
        assert code
        page.fill("input[name=code]", code)
        page.fill("input[name=password]", PASSWORD)
        page.fill("input[name=again]", PASSWORD)
        page.click("form.card button")
        assert "Password set" in page.inner_text("main")
        page.click("text=Later: go to the dashboard")  # the first run's questions can wait
        assert "45.90" not in page.inner_text("main") and "58.40" in page.inner_text("main")
        # The OLED mirror is a live image that the static script refreshes.
        src = page.get_attribute("#oled", "src")
        page.wait_for_function("() => { const i = document.getElementById('oled');"
                               " return i.src.includes('?t=') && i.complete"
                               " && i.naturalWidth === 256; }")  # fmt: skip
        assert src == "/oled.png"

        # Log out and in again.
        page.click("text=Log out")
        page.fill("input[name=password]", PASSWORD)
        page.click("form.card button")
        assert page.url == base + "/"

        # The cutoff changes on the configuration page.
        page.goto(base + "/config")
        page.fill("input[name='schedule.cutoff']", "23:30")
        page.fill("input[name=confirm_password]", PASSWORD)  # the cutoff is a gated field
        page.click("form >> text=Save and apply")
        assert "Saved and applied" in page.inner_text("main")
        assert config.load(rig.config_path).schedule.cutoff.strftime("%H:%M") == "23:30"
        # A wrong value: named, nothing saved.
        page.fill("input[name='schedule.cutoff']", "24:61")
        page.click("form >> text=Save and apply")
        assert "is not a time HH:MM" in page.inner_text("main")
        assert config.load(rig.config_path).schedule.cutoff.strftime("%H:%M") == "23:30"

        # A push test reaches the local receiver.
        page.goto(base + "/tests")
        page.click("text=Run")  # answered at once; page.js asks until the outcome is there
        page.wait_for_selector("#push-result.ok", timeout=20_000)
        assert "Target 1: delivered." in page.inner_text("main")
        assert receiver.titles() == ["SettleGuard test message"]

        # Settle now: confirm, password, and the result from the simulator.
        page.goto(base + "/actions")
        page.check("input[name=confirm]")
        page.fill("form[data-confirm] input[name=password]", PASSWORD)
        page.click("button.danger")
        assert "Settled" in page.inner_text("main")
        assert rig.sim.terminal.settlements == 1
        page.goto(base + "/history")
        assert "batch closed; totals match" in page.inner_text("main")

        # Chinese, and no secret anywhere the browser can see.
        page.click("text=中文")
        assert "配置" in page.inner_text("header")
        for path in ("/", "/config", "/tests", "/actions", "/history", "/access"):
            page.goto(base + path)
            html = page.content()
            assert TERMINAL_SECRET not in html and PUSH_SECRET not in html
        page.click("text=EN")
        if shots:
            rig.sim.terminal.add_sale(1999, "mastercard")  # an open batch again, to be seen
            rig.control.poll_now()
            screenshots(page, base, Path(shots))
        # No CSP violation, no script error, nothing missing (the one 400 is the bad cutoff).
        assert [e for e in errors if "status of 400" not in e] == []
    finally:
        server.stop()
        deliverer.stop()
        rig.close()
        receiver.close()


def test_a_first_run_in_chinese_finds_the_simulator_and_saves(tmp_path: Path, browser) -> None:
    """A browser in Chinese in Shanghai: the setup's defaults are its language, time zone and
    region; the simulator's port is probed through the guard; the answers are saved."""
    rig = Rig(tmp_path)
    server = WebServer(rig.app, "127.0.0.1:0").start()
    base = f"http://127.0.0.1:{server.port}"
    errors: list[str] = []
    try:
        context = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai",
                                      viewport={"width": 390, "height": 844})  # fmt: skip
        page = context.new_page()
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(base + "/")
        assert "首次启动" in page.inner_text("main")
        rig.control._call(lambda: None)
        page.fill("input[name=code]", rig.panel.setup_code)
        page.fill("input[name=password]", PASSWORD)
        page.fill("input[name=again]", PASSWORD)
        page.click("form.card button")
        assert page.url == base + "/welcome"
        assert "密码已设置" in page.inner_text("main")
        # Defaults from the browser: Accept-Language, and the time zone through page.js.
        assert page.input_value("select[name='panel.locale']") == "zh-CN"
        assert page.input_value("select[name='calendar.country']") == "CN"
        page.wait_for_function("() => document.querySelector(\"input[name='schedule.timezone']\")"
                               ".value === 'Asia/Shanghai'")  # fmt: skip
        page.select_option("select[name='terminal.port']", rig.sim.url)
        page.click("text=查找终端")
        found = page.inner_text("#probe")
        assert found.startswith("已找到终端：") and "终端号" in found, found
        assert page.input_value("input[name='schedule.timezone']") == "Asia/Shanghai"  # kept
        page.fill("input[name=confirm_password]", PASSWORD)
        page.click("text=保存并应用")
        assert "已保存并应用" in page.inner_text("main")
        cfg = config.load(rig.config_path)
        assert (cfg.panel.locale, cfg.schedule.timezone, cfg.calendar.country,
                cfg.terminal.currency) == ("zh-CN", "Asia/Shanghai", "CN", "CNY")  # fmt: skip
        assert cfg.terminal.port == rig.sim.url and rig.reloads == 1
        assert errors == []  # no CSP violation, no script error
        context.close()
    finally:
        server.stop()
        rig.close()


def screenshots(page, base: str, out: Path) -> None:
    """Each page at both widths in English; the configuration and the history in Chinese
    too (`-zh`)."""
    out.mkdir(parents=True, exist_ok=True)
    pages = (("/", "dashboard"), ("/config", "config"), ("/tests", "tests"),
             ("/actions", "actions"), ("/history", "history"))  # fmt: skip
    for switch, suffix, titles in (("EN", "", None), ("中文", "-zh", {"config", "history"})):
        language = page.locator(f".tools button:text-is('{switch}')")
        if language.is_enabled():
            language.click()
        for name, (width, height) in WIDTHS.items():
            page.set_viewport_size({"width": width, "height": height})
            for path, title in pages:
                if titles is not None and title not in titles:
                    continue
                page.goto(base + path)
                if title == "config":  # as on the appliance, not the test's pseudo-terminal
                    page.fill("input[name='terminal.port']", "/dev/ttyUSB0")
                page.wait_for_timeout(300)
                page.screenshot(path=str(out / f"{title}-{name}{suffix}.png"),
                                full_page=title != "config")  # fmt: skip
    page.click(".tools button:text-is('EN')")
