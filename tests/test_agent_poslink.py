"""A trading day with the agent on PAX POSLink: the registry builds the driver from the
config, the simulator answers over a real pty or TCP, a fake clock drives the day."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from pi_agent import config
from pi_agent.agent import Agent
from pi_agent.clock import FakeClock
from pi_agent.guard.assessment import Level, ReasonKind
from pi_agent.poslink.messages import BatchClose
from pi_agent.sim.poslink_server import PosLinkServer
from pi_agent.sim.poslink_terminal import PosLinkTerminal
from pi_agent.store import Store
from pi_agent.terminal import Use, open_terminal

NEW_YORK = ZoneInfo("America/New_York")


def ny(day: int, hh: int, mm: int = 0) -> datetime:
    return datetime(2026, 11, day, hh, mm, tzinfo=NEW_YORK)


class PaxRig:
    def __init__(self, tmp_path: Path, carrier: str, mode: str = "at") -> None:
        shop_time = lambda: self.clock.now().astimezone(NEW_YORK).replace(tzinfo=None)  # noqa: E731
        self.sim = PosLinkServer(PosLinkTerminal(clock=shop_time), link=tmp_path / "pax",
                                 tcp=True, ack_delay=0.0).start()  # fmt: skip
        port = self.sim.url if carrier == "pty" else f"socket://127.0.0.1:{self.sim.port}"
        cfg = config.from_dict({
            "terminal": {"protocol": "poslink", "port": port, "currency": "USD"},
            "schedule": {"timezone": "America/New_York", "cutoff": "23:00"},
            "calendar": {"country": "US"},
            "settle": {"mode": mode, "at": "22:30", "last_call": "22:50"},
            "store": {"path": str(tmp_path / "guard.db")},
        })  # fmt: skip
        self.cfg = cfg
        self.terminal = open_terminal(cfg, use=Use.BENCH)
        assert self.terminal.wait_connected(5)
        self.store = Store(cfg.store.path)
        self.clock = FakeClock(ny(20, 9))
        self.agent = Agent(cfg, self.clock, self.terminal, self.store)

    def at(self, when: datetime) -> None:
        self.clock.advance(when - self.clock.now())

    def step(self):
        self.agent.poll()
        return self.agent.tick()

    def close(self) -> None:
        self.store.close()
        self.terminal.close()
        self.sim.stop()


@pytest.fixture(params=["pty", "tcp"])
def rig(request: pytest.FixtureRequest, tmp_path: Path):
    r = PaxRig(tmp_path, request.param)
    yield r
    r.close()


def kinds(a: object) -> set[ReasonKind]:
    return {r.kind for r in a.reasons}  # type: ignore[attr-defined]


def test_a_day_in_the_life_on_poslink(rig: PaxRig) -> None:
    assert rig.step().level is Level.OK
    for hour, amount in ((10, 1250), (13, 4590), (18, 899)):
        rig.at(ny(20, hour))
        rig.sim.terminal.add_transaction(amount)
        a = rig.step()
        assert a.level is Level.OK
    rig.sim.terminal.add_transaction(2000, offline=True)  # approved offline, waits in SAF
    rig.at(ny(20, 22, 5))
    a = rig.step()
    assert a.level is Level.WARN and ReasonKind.OPEN_BATCH in kinds(a)
    assert (a.batch_count, a.batch_total) == (3, 6739)
    rig.at(ny(20, 22, 30))
    rig.step()  # the window opens: SAF upload, batch close, verification
    assert rig.sim.terminal.settled == [(1, 4, 8739)]
    [record] = rig.store.settlements()
    assert record.state == "ok" and record.verified, record.note
    assert record.totals_settled["total_minor"] == 8739
    assert record.totals_settled["batch_number"] == 1
    assert ReasonKind.SETTLED in kinds(rig.agent.state.assessment)
    # A sale after the close belongs to the next batch: no second close tonight.
    rig.sim.terminal.add_transaction(500)
    rig.at(ny(20, 22, 55))
    assert rig.step().level is Level.OK
    assert len(rig.sim.terminal.settled) == 1


def test_a_host_decline_at_close_retries_then_settles(rig: PaxRig) -> None:
    rig.sim.terminal.add_transaction(1250)
    rig.at(ny(20, 22, 0))
    rig.step()
    rig.sim.inject("host-down")
    rig.at(ny(20, 22, 30))
    a = rig.step()
    [failed] = rig.store.settlements()
    assert failed.state == "failed" and failed.result_code == 100
    assert ReasonKind.SETTLE_FAILED in kinds(a)
    rig.sim.clear_faults()
    rig.at(ny(20, 22, 45))  # past the first retry's backoff
    rig.step()
    assert [s.state for s in rig.store.settlements()].count("ok") == 1
    assert len(rig.sim.terminal.settled) == 1


def test_the_page_and_policy_offer_only_what_poslink_can_do(rig: PaxRig) -> None:
    from pi_agent.terminal.registry import Capability, capabilities

    can = capabilities(rig.cfg.terminal.protocol)
    assert Capability.SET_CLOCK not in can and Capability.SIGN_IN not in can
    rig.at(ny(20, 10))
    a = rig.step()
    assert all(act.kind.value not in ("sign-in", "set-terminal-clock") for act in a.actions)


def test_a_sale_right_after_the_close_is_tomorrows_batch(rig: PaxRig) -> None:
    """A payment between the batch close and the guard's re-read opens the next batch: it is
    the next trading day's, not an overdue one of today (either protocol)."""
    rig.sim.terminal.add_transaction(1250)
    rig.at(ny(20, 22, 0))
    rig.step()
    close = rig.terminal.settle

    def close_then_sell(progress=None):
        result = close(progress)
        rig.sim.terminal.add_transaction(633)  # the next customer, before the re-read
        return result

    rig.terminal.settle = close_then_sell  # type: ignore[method-assign]
    rig.at(ny(20, 22, 30))
    rig.step()
    [record] = rig.store.settlements()
    assert record.state == "ok" and record.verified, record.note
    rig.at(ny(20, 23, 5))  # past the cutoff: the new batch is not overdue
    a = rig.step()
    assert a.level is Level.OK and ReasonKind.OVERDUE_BATCH not in kinds(a)
    assert a.batch_count == 1 and len(rig.sim.terminal.settled) == 1


def test_a_batch_cleared_without_settlement_raises_the_lost_alarm(rig: PaxRig) -> None:
    """BroadPOS "auto clear database": the batch vanishes under the same batch number. The
    empty reading carries no number, so the next sale (still batch 1) tells it was lost."""
    rig.sim.terminal.add_transaction(1250)
    rig.sim.terminal.add_transaction(4590)
    rig.at(ny(20, 12))
    rig.step()
    rig.sim.inject("clear-without-settle")
    rig.at(ny(20, 12, 5))
    rig.step()  # empty now: settled by the terminal, or discarded? Not known yet
    rig.sim.terminal.add_transaction(899)
    rig.at(ny(20, 12, 10))
    a = rig.step()
    lost = [r for r in a.reasons if r.kind is ReasonKind.BATCH_LOST]
    assert lost and lost[0].level is Level.URGENT, a.reasons
    assert rig.sim.terminal.settled == []


def test_the_terminals_own_close_is_not_a_lost_batch(rig: PaxRig) -> None:
    rig.sim.terminal.add_transaction(1250)
    rig.at(ny(20, 12))
    rig.step()
    rig.sim.terminal.handle(BatchClose(timestamp=""))  # its own auto-batch: number 1 -> 2
    rig.at(ny(20, 12, 5))
    rig.step()
    rig.sim.terminal.add_transaction(899)
    rig.at(ny(20, 12, 10))
    a = rig.step()
    assert ReasonKind.BATCH_LOST not in kinds(a)


def test_offline_payments_and_a_full_store_on_a_real_poslink_terminal(rig: PaxRig) -> None:
    rig.sim.terminal.add_transaction(1250)
    rig.sim.terminal.add_transaction(700, offline=True)
    rig.at(ny(20, 22, 20))  # inside the amber lead, before the settle window
    a = rig.step()
    assert ReasonKind.OFFLINE_PENDING in kinds(a)
    rig.sim.inject("db-full")
    rig.at(ny(20, 22, 21))
    a = rig.step()  # "please settle, database full": settled early
    assert len(rig.sim.terminal.settled) == 1
    [record] = rig.store.settlements()
    assert record.state == "ok" and record.verified, record.note


def test_out_of_balance_on_a_real_poslink_terminal(rig: PaxRig) -> None:
    rig.sim.terminal.add_transaction(1250)
    rig.sim.inject("out-of-balance")
    rig.at(ny(20, 22, 30))
    a = rig.step()
    [record] = rig.store.settlements()
    assert record.state == "ok" and "OUT OF BALANCE" in (record.note or "")
    assert ReasonKind.OUT_OF_BALANCE in kinds(rig.agent.state.assessment)
    rig.sim.terminal.add_transaction(500)
    rig.at(ny(20, 22, 45))
    rig.step()
    assert len(rig.sim.terminal.settled) == 1  # never retried
    assert a is not None


def test_the_closing_report_reaches_the_owner_from_a_poslink_day(tmp_path: Path) -> None:
    from pi_agent.notify.deliver import apprise_send, deliver_due
    from pi_agent.notify.outbox import Outbox

    from .notify.receiver import Receiver

    receiver = Receiver()
    rig = PaxRig(tmp_path, "tcp")
    try:
        cfg = config.replace(rig.cfg, "notify", targets=[{"url": receiver.url,
                                                          "min_level": "info"}])  # fmt: skip
        rig.cfg = rig.agent.cfg = rig.agent.planner.cfg = cfg
        for hour, amount in ((10, 1250), (13, 4590), (18, 899)):
            rig.at(ny(20, hour))
            rig.sim.terminal.add_transaction(amount)
            rig.step()
        rig.sim.terminal.add_transaction(2000, offline=True)
        for hh, mm in ((22, 0), (22, 31), (22, 40), (23, 10)):
            rig.at(ny(20, hh, mm))
            rig.step()
            deliver_due(Outbox(rig.store), list(cfg.notify.targets), rig.clock.now(),
                        apprise_send)  # fmt: skip
        assert "Settled: 4 payments, 87.39 USD" in receiver.titles(), receiver.titles()
        report = next(m["message"] for m in receiver.got if m["title"].startswith("Settled"))
        assert "Expected payout" in report
    finally:
        rig.close()
        receiver.server.shutdown()
