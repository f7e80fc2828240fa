"""A scripted day against the simulator: the agent's messages reach a real local receiver
through Apprise json://; `settle-guard notify` survives kill -9 mid-delivery."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

from pi_agent import config
from pi_agent.notify import payouts
from pi_agent.notify.deliver import apprise_send, deliver_due
from pi_agent.notify.outbox import Outbox
from tests.test_agent import Rig, berlin

from .receiver import Receiver


def notifying_rig(tmp_path: Path, receiver: Receiver, mode: str, lang: str = "en") -> Rig:
    rig = Rig(tmp_path, mode=mode)
    cfg = config.replace(rig.cfg, "notify", targets=[{"url": receiver.url, "min_level": "info",
                                                      "lang": lang}])  # fmt: skip
    rig.cfg = cfg
    rig.agent.cfg = cfg
    rig.agent.planner.cfg = cfg
    return rig


def deliver(rig: Rig) -> None:
    deliver_due(Outbox(rig.store), list(rig.cfg.notify.targets), rig.clock.now(), apprise_send)


def test_a_settled_day_sends_one_closing_report(tmp_path: Path, receiver: Receiver) -> None:
    rig = notifying_rig(tmp_path, receiver, "at")
    try:
        for hour, amount in ((10, 1250), (13, 4590), (18, 899)):
            rig.at(berlin(20, hour))
            rig.sim.terminal.add_sale(amount, "girocard")
            rig.step()
            deliver(rig)
        for hh, mm in ((22, 0), (22, 5), (22, 31), (22, 40), (23, 10)):
            rig.at(berlin(20, hh, mm))
            rig.step()
            deliver(rig)
        assert rig.sim.terminal.settlements == 1
        assert receiver.titles() == ["Settled: 3 payments, 67.39 EUR"]
        body = receiver.got[0]["message"]
        assert "settled at 22:3" in body and "Expected payout: Mon 23 Nov" in body
        [p] = payouts.payouts(rig.store)
        assert p.amount == 6739 and str(p.expected_on) == "2026-11-23"  # Fri T+1 -> Monday
        # Monday passes without the money: the owner is told what to check, once a day
        rig.at(berlin(24, 9))
        rig.step()
        deliver(rig)
        assert receiver.titles()[-1] == "Payout late: 67.39 EUR"
        assert "payouts --received" in receiver.got[-1]["message"]
    finally:
        rig.close()


def test_an_unsettled_day_raises_alarms_in_chinese(tmp_path: Path, receiver: Receiver) -> None:
    rig = notifying_rig(tmp_path, receiver, "off", lang="zh-CN")
    try:
        rig.sim.terminal.add_sale(1000)
        for hh, mm in ((12, 0), (22, 0), (22, 50), (22, 55), (23, 10), (23, 20)):
            rig.at(berlin(20, hh, mm))
            rig.step()
            deliver(rig)
        assert receiver.titles() == [
            "未结算：距截止 10 分钟",  # URGENT at T-15 (first tick after it: 22:50)
            "未结算！1 笔 10.00 EUR",  # the closing report, held for the cutoff, says so
            "批次未结算！",  # OVERDUE
        ]
        # the overdue alarm repeats every 30 minutes until the owner acknowledges it
        rig.at(berlin(20, 23, 45))
        rig.step()
        deliver(rig)
        assert receiver.titles().count("批次未结算！") == 2
        Outbox(rig.store).acknowledge("overdue-batch:", rig.clock.now())
        rig.at(berlin(21, 0, 30))
        rig.step()
        deliver(rig)
        assert receiver.titles().count("批次未结算！") == 2
    finally:
        rig.close()


def test_kill_9_during_delivery_loses_nothing(tmp_path: Path, receiver: Receiver) -> None:
    cfg = config.replace(config.Config(), "notify", targets=[{"url": receiver.url,
                                                              "min_level": "info"}])  # fmt: skip
    cfg = config.replace(cfg, "store", path=str(tmp_path / "guard.db"))
    path = tmp_path / "config.toml"
    config.save(cfg, path)
    receiver.status = 500  # the service is broken while the first try runs
    receiver.delay = 3.0
    cmd = [sys.executable, "-m", "pi_agent", "notify"]
    proc = subprocess.Popen([*cmd, "test", "--config", str(path)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)  # fmt: skip
    time.sleep(1.5)  # queued (committed) and mid-request
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=10)
    assert receiver.got == []
    receiver.status, receiver.delay = 200, 0.0
    done = subprocess.run([*cmd, "flush", "--config", str(path)], capture_output=True, text=True,
                          timeout=60, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert receiver.titles() == ["SettleGuard test message"]
    listed = subprocess.run([*cmd, "list", "--config", str(path)], capture_output=True,
                            text=True, timeout=60, check=False).stdout  # fmt: skip
    assert "delivered" in listed and "pending" not in listed
    assert receiver.url not in done.stdout + done.stderr + listed  # the URL is a secret


def test_a_d_plus_1_acquirer_pays_on_saturday(tmp_path: Path) -> None:
    """[calendar] payout_count = "calendar": Friday's batch is expected Saturday (D+1), not
    Monday (T+1); the expectation is what the late-payout alarm later checks."""
    rig = Rig(tmp_path, mode="at")
    try:
        cfg = config.replace(rig.cfg, "calendar", payout_count="calendar")
        rig.cfg = rig.agent.cfg = rig.agent.planner.cfg = cfg
        rig.at(berlin(20, 10))  # Friday 20 Nov 2026
        rig.sim.terminal.add_sale(1250, "girocard")
        rig.step()
        for hh, mm in ((22, 31), (22, 40)):
            rig.at(berlin(20, hh, mm))
            rig.step()
        [p] = payouts.payouts(rig.store)
        assert str(p.expected_on) == "2026-11-21"
    finally:
        rig.close()
