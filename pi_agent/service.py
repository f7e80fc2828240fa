"""`settle-guard run`: build the guard from its config and run it until SIGTERM."""

from __future__ import annotations

import logging
import signal
import sys
import threading
from datetime import UTC, datetime

from . import config
from .agent import Agent, PanelSink
from .clock import Clock, FastClock, SystemClock
from .notify.deliver import Deliverer
from .store import Store
from .terminal import LineSettings
from .terminal.zvt import ZvtTerminal

log = logging.getLogger("settle-guard")


def build_panel(cfg: config.Config, agent: Agent) -> PanelSink:
    """The OLED, light, buzzer and button, wired to post to the agent's loop."""
    from .panel import Panel

    return Panel.from_config(cfg, on_ack=agent.acknowledge, on_settle=agent.request_settle)


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
    term = cfg.terminal
    terminal = ZvtTerminal(
        term.port, password=term.password, currency=cfg.currency_code,
        line=LineSettings(baudrate=term.baudrate), register_on_connect=term.register,
    )  # fmt: skip
    store = Store(cfg.store.path)
    agent = Agent(cfg, clock, terminal, store, speed=fast or 1.0)
    panel = agent.panel = build_panel(cfg, agent)
    deliverer = Deliverer(cfg, clock, speed=fast or 1.0).start()
    agent.on_queued = deliverer.wake
    done = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: done.set())
    log.info("guarding %s (cutoff %s %s)", term.port, cfg.schedule.cutoff.strftime("%H:%M"),
             cfg.schedule.timezone)  # fmt: skip
    agent.start()
    try:
        done.wait()
    finally:
        log.info("stopping")
        agent.stop()
        deliverer.stop()
        panel.close()
        terminal.close()
        store.close()
    return 0
