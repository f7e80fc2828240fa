"""`settle-guard run`: build the guard from its config and run it until SIGTERM."""

from __future__ import annotations

import logging
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from . import config
from .agent import Agent, PanelSink
from .clock import Clock, FastClock, SystemClock
from .notify.deliver import Deliverer
from .store import Store
from .terminal import Terminal, open_terminal
from .watchdog import sd_notify

log = logging.getLogger("settle-guard")
BOOT_RESET_SECONDS = 5.0  # hold the button this long at start to reset the web password
FIRST_POLL_WAIT = 2.0  # seconds; a terminal that does not answer must not keep the page away


def build_panel(cfg: config.Config, agent: Agent) -> PanelSink:
    """The OLED, light, buzzer and button, wired to post to the agent's loop."""
    from .panel import Panel

    return Panel.from_config(cfg, on_ack=agent.acknowledge, on_settle=agent.request_settle)


@dataclass
class Guard:
    """One build of the guard from a config; a changed config rebuilds it whole."""

    cfg: config.Config
    terminal: Terminal
    store: Store
    agent: Agent
    deliverer: Deliverer
    panel: Any = None  # see attach_panel
    fleet: Any = None  # the fleet publisher ([fleet] enabled), see attach_fleet

    @classmethod
    def build(cls, cfg: config.Config, clock: Clock, fast: float | None) -> Guard:
        terminal = open_terminal(cfg)
        store = Store(cfg.store.path)
        agent = Agent(cfg, clock, terminal, store, speed=fast or 1.0)
        deliverer = Deliverer(cfg, clock, speed=fast or 1.0).start()
        agent.on_queued = deliverer.wake
        return cls(cfg, terminal, store, agent, deliverer)

    def attach_panel(self) -> Any:
        """The OLED, light, buzzer and button, once the first poll and the page are under
        way: loading luma, PIL and gpiozero takes about half a second on a Pi Zero."""
        self.panel = self.agent.panel = build_panel(self.cfg, self.agent)
        self.agent.post(self.agent.tick)  # show the state now, not at the next tick
        return self.panel

    def attach_fleet(self) -> Any:
        """The MQTT publisher, if [fleet] is enabled, once the first poll is done: paho is
        imported only then, and a broker far away never delays the guard's start."""
        if self.cfg.fleet.enabled and self.fleet is None:
            try:
                from .fleet.publisher import attach

                self.fleet = attach(self.agent)
            except Exception as exc:  # e.g. a CA file that is no certificate: guard anyway
                log.error("fleet not started: %s", exc)
                return None
            self.agent.post(self.agent.tick)  # publish the state now, not at the next tick
        return self.fleet

    def stop(self) -> None:
        self.agent.stop()
        if self.fleet is not None:  # says "offline" itself: a clean disconnect has no will
            self.fleet.stop()
        self.deliverer.stop()
        if self.panel is not None:
            self.panel.close()
        self.terminal.close()
        self.store.close()


def first_poll_done(agent: Agent, seconds: float = FIRST_POLL_WAIT) -> bool:
    """Wait (at most `seconds`) until the loop has made its first poll: on a Pi Zero,
    importing beside it holds the poll up far longer than it holds up the import."""
    done = threading.Event()
    agent.post(done.set)  # the loop works in order: start() posted the poll first
    return done.wait(seconds)


def held_at_boot(button: Any, seconds: float = BOOT_RESET_SECONDS, step: float = 0.05) -> bool:
    """True if the panel's button is pressed now and stays pressed for `seconds`."""
    deadline = time.monotonic() + seconds
    while button.is_pressed:
        if time.monotonic() >= deadline:
            return True
        time.sleep(step)
    return False


def reset_web_access(cfg: config.Config) -> int:
    """Forget the web page's password and API tokens (the page then asks for a new setup
    code from the display); returns how many tokens went."""
    from .web.auth import AuthStore, auth_path

    auth = AuthStore(auth_path(cfg))
    try:
        return auth.reset()
    finally:
        auth.close()


def run_service(path: str | None, *, fast: float | None = None, log_level: str = "info") -> int:
    logging.basicConfig(
        level=getattr(logging, log_level.upper()),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    path = path or str(config.DEFAULT_PATH)
    cfg = config.load_or_report(path)
    if cfg is None:
        return 7  # the command line's "configuration invalid"
    clock: Clock = FastClock(datetime.now(UTC), fast) if fast else SystemClock()
    wake, stopping, reloading = threading.Event(), threading.Event(), threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: (stopping.set(), wake.set()))
    guard = Guard.build(cfg, clock, fast)
    web = _Web(path, lambda: (reloading.set(), wake.set()))
    booting = True
    try:
        while True:
            log.info("guarding %s (cutoff %s %s)", cfg.terminal.port,
                     cfg.schedule.cutoff.strftime("%H:%M"), cfg.schedule.timezone)  # fmt: skip
            guard.agent.start()
            first_poll_done(guard.agent)  # loading Flask beside it would slow it down
            guard.attach_fleet()
            web.follow(guard)
            panel = guard.attach_panel()
            web.follow(guard)  # the page's setup code and panel tests go to the new panel
            if booting and held_at_boot(panel.button.button):  # physical access
                panel.button.confirm.asked_at = None  # the hold was not a "settle now?"
                log.warning("button held at start: web password and %d API token(s) cleared",
                            reset_web_access(cfg))  # fmt: skip
            booting = False
            wake.wait()
            wake.clear()
            if stopping.is_set():
                break
            reloading.clear()
            cfg = config.load_or_report(path) or cfg
            log.info("configuration changed: restarting the guard with it")
            sd_notify("RELOADING=1")  # the new guard's first poll says READY=1 again
            guard.stop()
            guard = Guard.build(cfg, clock, fast)
    finally:
        log.info("stopping")
        sd_notify("STOPPING=1")
        guard.stop()
        web.stop()
    return 0


class _Web:
    """The page, if enabled: started with the first guard, handed each rebuilt one, and
    restarted only when its own [web] settings change. Flask is imported only here."""

    def __init__(self, path: str, reload: Callable[[], None]) -> None:
        self.path, self.reload = path, reload
        self.settings: config.WebConfig | None = None
        self.control: Any = None
        self.running: Any = None

    def follow(self, guard: Guard) -> None:
        if guard.cfg.web != self.settings:
            self.stop()
            self.settings = guard.cfg.web
            if guard.cfg.web.enabled:
                from .web.control import AgentControl
                from .web.server import start_web

                self.control = AgentControl(guard.agent, guard.panel, reload=self.reload,
                                            fleet=guard.fleet)  # fmt: skip
                self.running = start_web(guard.cfg, self.path, self.control)
                return
        if self.control is not None:
            self.control.attach(guard.agent, guard.panel, guard.fleet)

    def stop(self) -> None:
        if self.running is not None:
            self.running.stop()
        self.running = self.control = None
