"""A real guard for the page: the agent against the simulator on a pty, mock pins and an
emulated OLED, a fake clock; the Flask test client talks to the app over AgentControl."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from pi_agent import config
from pi_agent.agent import Agent
from pi_agent.clock import FakeClock
from pi_agent.notify import payouts
from pi_agent.sim import SimServer, SimTerminal
from pi_agent.sim.poslink_server import PosLinkServer
from pi_agent.sim.poslink_terminal import PosLinkTerminal
from pi_agent.store import Store
from pi_agent.terminal import Use, open_terminal
from pi_agent.terminal.zvt import ZvtTerminal
from pi_agent.web import create_app
from pi_agent.web.auth import AuthStore, SetupCode, Throttle
from pi_agent.web.control import AgentControl
from pi_agent.web.server import WebServer
from pi_agent.zvt.timers import Timeouts

BERLIN = ZoneInfo("Europe/Berlin")
FAST = Timeouts(t1=0.2, t2=0.3, t3=1.0, t4=3.0)
PASSWORD = "correct horse 42"
# Recognisable secrets: no page, API answer or log line may ever contain them.
TERMINAL_SECRET = "739164"
PUSH_SECRET = "TOPSECRETPUSHKEY9731"


class FakeTime:
    """A monotonic clock for the throttle that tests move by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Rig:
    def __init__(self, tmp_path: Path, targets: tuple[config.Target, ...] = (),
                 protocol: str = "zvt") -> None:  # fmt: skip
        os.environ.setdefault("GPIOZERO_PIN_FACTORY", "mock")
        from pi_agent.panel import Panel

        self.clock = FakeClock(datetime(2026, 11, 20, 21, 0, tzinfo=BERLIN))
        shop = lambda: self.clock.now().astimezone(BERLIN).replace(tzinfo=None)  # noqa: E731
        if protocol == "poslink":
            self.sim = PosLinkServer(PosLinkTerminal(clock=shop), link=tmp_path / "term",
                                     ack_delay=0.0).start()  # fmt: skip
            cfg = config.replace(config.Config(), "terminal", protocol="poslink",
                                 port=self.sim.url)  # fmt: skip
        else:
            sim = SimTerminal(clock=shop, password=TERMINAL_SECRET)
            self.sim = SimServer(sim, link=tmp_path / "term", timeouts=FAST).start()
            cfg = config.replace(config.Config(), "terminal", port=self.sim.url,
                                 password=TERMINAL_SECRET)  # fmt: skip
        cfg = config.replace(cfg, "store", path=str(tmp_path / "guard.db"))
        if targets:
            cfg = config.replace(cfg, "notify", targets=[
                {"url": t.url, "min_level": t.min_level, "lang": t.lang} for t in targets
            ])  # fmt: skip
        self.cfg = cfg
        self.config_path = tmp_path / "config.toml"
        config.save(cfg, self.config_path)
        self.terminal = (
            open_terminal(cfg, use=Use.BENCH) if protocol == "poslink"
            else ZvtTerminal(self.sim.url, password=TERMINAL_SECRET, timeouts=FAST,
                             backoff=(0.05, 0.2))
        )  # fmt: skip
        assert self.terminal.wait_connected(5)
        # The loop owns its connection, as in the service; the test thread writes and
        # reads through its own, so the two never share a transaction.
        self.agent = Agent(cfg, self.clock, self.terminal, Store(cfg.store.path))
        self.store = Store(cfg.store.path)
        self.panel = Panel.from_config(cfg, on_ack=self.agent.acknowledge,
                                       on_settle=self.agent.request_settle)  # fmt: skip
        self.agent.panel = self.panel
        self.reloads = 0
        self.control = AgentControl(self.agent, self.panel, reload=self._reload,
                                    address=("127.0.0.1", "8080"), push_timeout=20)  # fmt: skip
        self.time = FakeTime()
        self.auth = AuthStore(tmp_path / "web.db", clock=self.time)
        self.throttle = Throttle(clock=self.time)
        self.setup = SetupCode(self.control.show_setup_code)
        self.app = create_app(self.control, self.config_path, self.auth,
                              throttle=self.throttle, setup=self.setup)  # fmt: skip
        self.app.testing = True
        self.agent.start()
        self.client = self.app.test_client()

    def _reload(self) -> None:
        self.reloads += 1

    # -- helpers for the tests

    def csrf(self, client=None) -> str:
        client = client or self.client
        client.get("/login" if self.auth.has_password() else "/setup")
        with client.session_transaction() as s:
            return s["csrf"]

    def login(self, client=None):
        client = client or self.client
        if not self.auth.has_password():
            self.auth.set_password(PASSWORD)
        token = self.csrf(client)
        r = client.post("/login", data={"csrf": token, "password": PASSWORD})
        assert r.status_code == 302, r.get_data(as_text=True)
        return client

    def post(self, url: str, data: dict | None = None, client=None, **kw):
        client = client or self.client
        with client.session_transaction() as s:
            token = s.get("csrf", "")
        return client.post(url, data={"csrf": token, **(data or {})}, **kw)

    def close(self) -> None:
        self.agent.stop()
        self.panel.close()
        self.terminal.close()
        self.agent.store.close()
        self.store.close()
        self.auth.close()
        self.sim.stop()


@contextmanager
def served(rig: Rig, threads: int = 12) -> Iterator[str]:
    """The rig's app behind the real waitress server on a loopback port the OS picks."""
    server = WebServer(rig.app, "127.0.0.1:0", threads=threads).start()
    try:
        yield f"http://127.0.0.1:{server.port}"
    finally:
        server.stop()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def page_csrf(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)  # type: ignore[union-attr]


def flashes(html: str) -> list[str]:
    return re.findall(r'<p class="flash \w+">(.*?)</p>', html, re.S)


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    r = Rig(tmp_path)
    yield r
    r.close()


def settled_with_payout(rig: Rig) -> payouts.Payout:
    """A sale of 10.00 settled through the page, its payout expected Monday 23 Nov."""
    rig.sim.terminal.add_sale(1000)
    rig.control.poll_now()
    rig.control.settle()
    [s] = rig.store.settlements()
    rig.control._call(lambda: payouts.expect(rig.store, s.id, s.trading_day, amount=1000,
                                             currency=978, count=1,
                                             expected_on=date(2026, 11, 23)))  # fmt: skip
    [p] = payouts.payouts(rig.store)
    return p
