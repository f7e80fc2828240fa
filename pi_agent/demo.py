"""`make demo`: the whole guard against the simulator, on embedded defaults, in about two minutes.

A fast clock runs a trading day (08:30 to past the 23:00 cutoff) in about two minutes.
Card payments arrive at random; warnings escalate as the cutoff nears; the light and
the buzzer change (mock pins); the guard settles at 22:50 and verifies the result; the
terminal goes silent for a while in the afternoon and the guard shows it and recovers.
The OLED is emulated: every frame is mirrored in this terminal and saved as PNG.
"""

from __future__ import annotations

import os
import random
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from . import config
from .agent import Agent
from .clock import FastClock
from .guard.assessment import Assessment
from .money import format_amount
from .store import Store
from .terminal import Use, open_terminal
from .terminal.registry import simulator

SPEED = 480.0  # 14.5 trading hours in about 110 s
START = (8, 30)
FAULT_AT = (15, 0)  # the terminal stops answering for a while
FAULT_REAL_SECONDS = 6.0
END = (23, 20)


def _demo_config(port: str, tmp: Path, protocol: str) -> config.Config:
    cfg = config.Config()
    cfg = config.replace(cfg, "terminal", protocol=protocol, port=port)
    cfg = config.replace(cfg, "settle", mode="at", at="22:50", last_call="22:55")
    cfg = config.replace(cfg, "poll", interval_seconds=120, near_cutoff_interval_seconds=60)
    cfg = config.replace(cfg, "warnings", dead_after_minutes=30)
    return config.replace(cfg, "store", path=str(tmp / "guard.db"))


def run_demo(out_dir: str = "demo-out", protocol: str | None = None) -> int:
    os.environ.setdefault("GPIOZERO_PIN_FACTORY", "mock")  # no pins off the Pi
    from .panel import Panel

    out = Path(out_dir)
    out.mkdir(exist_ok=True)
    for old in out.glob("frame-*.png"):
        old.unlink()
    with tempfile.TemporaryDirectory(prefix="settle-guard-demo-") as tmpdir:
        tmp = Path(tmpdir)
        zone = config.Config().zone
        today = datetime.now(zone).date()
        start = datetime(today.year, today.month, today.day, *START, tzinfo=zone)
        clock = FastClock(start, SPEED)
        shop_time = lambda: clock.now().astimezone(zone).replace(tzinfo=None)  # noqa: E731
        protocol = protocol or config.Config().terminal.protocol
        sim = simulator(protocol, clock=shop_time, link=tmp / "terminal")
        # Sales per real minute so that the day brings a few dozen payments; made here with
        # the simulators' common control line, so every protocol's demo sees the same day.
        sales = _Sales(sim, per_minute=20, seed=7)
        with sim:
            sim.control("sale 12.50")
            cfg = _demo_config(sim.url, tmp, protocol)
            terminal = open_terminal(cfg, use=Use.BENCH)
            store = Store(cfg.store.path)
            agent = Agent(cfg, clock, terminal, store, speed=SPEED)
            panel = Panel.from_config(
                cfg, on_ack=agent.acknowledge, on_settle=agent.request_settle, alarm_scale=1 / SPEED
            )
            mirror = _Mirror(panel, out, clock, zone)
            agent.panel = mirror
            page = _serve_page(cfg, tmp, agent, panel)
            print(f"SettleGuard demo ({protocol}): simulator on {sim.url}, clock x{SPEED:g} from "
                  f"{start:%H:%M}, cutoff 23:00, auto-settle 22:50; frames in {out}/")  # fmt: skip
            agent.start()
            faulted = recovered = False
            try:
                while True:
                    local = clock.now().astimezone(zone)
                    if not faulted and (local.hour, local.minute) >= FAULT_AT:
                        faulted = True
                        sim.inject(f"silent:{FAULT_REAL_SECONDS}")
                        minutes = FAULT_REAL_SECONDS * SPEED / 60
                        print(f"\n*** {local:%H:%M} the terminal stops answering "
                              f"(for {minutes:.0f} min of shop time)")  # fmt: skip
                    if faulted and not recovered and agent.state.failures == 0 and (
                        mirror.saw_fault
                    ):  # fmt: skip
                        recovered = True
                        print(f"\n*** {local:%H:%M} the terminal answers again")
                    if (local.hour, local.minute) >= END or local.date() > today:
                        break
                    sales.maybe()
                    time.sleep(0.05)
            finally:
                if page is not None:
                    page.stop()
                agent.stop()
                panel.close()
                terminal.close()
            settled = [s for s in store.settlements() if s.state == "ok"]
            print("\nsummary")
            for s in settled:
                total = s.totals_settled or {}
                print(f"  settled at {s.updated_at.astimezone(zone):%H:%M}: "
                      f"{total.get('count')} payments, {total.get('total')} {total.get('currency')}"
                      f", verified: {'yes' if s.verified else 'no'} ({s.note})")  # fmt: skip
            print(f"  terminal end-of-days: {sim.terminal.settlements}; sales: {sales.made}; "
                  f"frames saved: "
                  f"{mirror.saved} in {out}/")  # fmt: skip
            store.close()
    return 0 if settled else 1


def _serve_page(cfg: config.Config, tmp: Path, agent: Agent, panel: object) -> Any:
    """The technician's page on 127.0.0.1:8080 for the demo's two minutes; the setup code
    is printed here rather than drawn over the mirrored OLED frames."""
    from .web.auth import SetupCode
    from .web.control import AgentControl
    from .web.server import start_web

    cfg = config.replace(cfg, "web", listen="127.0.0.1:8080")
    path = tmp / "config.toml"
    config.save(cfg, path)
    control = AgentControl(agent, panel, reload=lambda: print(
        "\n*** configuration saved (the demo keeps running on its own settings)"))  # fmt: skip
    setup = SetupCode()  # not shown on the OLED: printed below
    page = start_web(cfg, path, control, setup=setup)
    if page is None:
        print("*** web page not started: 127.0.0.1:8080 is taken")
    else:
        print(f"*** web page: http://127.0.0.1:8080/ (setup code {setup.code})")
    return page


class _Sales:
    """Card payments at random (a Poisson stream of `per_minute` per real minute)."""

    def __init__(self, sim: Any, per_minute: float, seed: int) -> None:
        self.sim = sim
        self.rate = per_minute / 60.0
        self.rng = random.Random(seed)
        self.made = 0
        self._last = time.monotonic()

    def maybe(self) -> None:
        now = time.monotonic()
        elapsed, self._last = now - self._last, now
        if self.rng.random() < self.rate * elapsed:
            cents = self.rng.randint(150, 8900)
            answer = self.sim.control(f"sale {cents // 100}.{cents % 100:02d}")
            self.made += not answer.startswith("error")


class _Mirror:
    """Passes frames to the real panel and mirrors them on the console and as PNGs."""

    def __init__(self, panel: object, out: Path, clock: FastClock, zone: object) -> None:
        self.panel = panel
        self.out = out
        self.clock = clock
        self.zone = zone
        self.saved = 0
        self.saw_fault = False
        self._last_key: tuple | None = None
        self._last_print = 0.0

    def show(self, assessment: Assessment, progress: str | None, prompt: str | None) -> None:
        from .panel.screens import to_text

        self.panel.show(assessment, progress, prompt)
        if assessment.level.name == "FAULT":
            self.saw_fault = True
        key = (assessment.level, progress, prompt, assessment.batch_count,
               tuple(r.kind for r in assessment.reasons))  # fmt: skip
        now = time.monotonic()
        if key == self._last_key and now - self._last_print < 8:
            return
        self._last_key, self._last_print = key, now
        image = self.panel.image
        self.saved += 1
        image.save(self.out / f"frame-{self.saved:03d}.png")
        local = self.clock.now().astimezone(self.zone)
        batch = ""
        if assessment.batch_count is not None and assessment.batch_total is not None:
            amount = format_amount(assessment.batch_total, assessment.currency)
            batch = f"  batch {assessment.batch_count} / {amount}"
        light, buzzer = self.panel.light_state(), self.panel.alarm_state()
        doing = f"  [{progress}]" if progress else ""
        print(f"\n{local:%H:%M}  level {assessment.level.name:<7} light {light:<17}"
              f" buzzer {buzzer:<8}{batch}{doing}")  # fmt: skip
        print(to_text(image))
