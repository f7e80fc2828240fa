"""`settle-guard notify test`: every test is really sent, twice in a minute too."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pi_agent import config
from pi_agent.notify import cli as notify_cli
from pi_agent.notify.outbox import Draft, Outbox, target_id
from pi_agent.store import Store

from .receiver import Receiver


def test_a_second_test_in_the_same_minute_is_sent_too(
    tmp_path: Path, receiver: Receiver, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = config.replace(config.Config(), "notify", targets=[{"url": receiver.url}])
    store = Store(tmp_path / "guard.db")
    try:
        test = argparse.Namespace(action="test", target=None)
        for _ in range(2):  # the CLI's clock moves on by far less than a minute
            assert notify_cli._notify(test, cfg, store) == notify_cli.EXIT_OK
        assert [m["title"] for m in receiver.got] == ["SettleGuard test message"] * 2
        assert capsys.readouterr().out.count(": delivered") == 2
        # real alarms keep their once-only key: the same one again sends nothing
        outbox, now = Outbox(store), datetime(2026, 11, 20, 12, tzinfo=UTC)
        alarm = Draft("terminal-dead:2026-11-20", "alarm", "urgent", "Terminal offline", "x")
        assert outbox.put(alarm, target_id(receiver.url), now)
        assert not outbox.put(alarm, target_id(receiver.url), now)
    finally:
        store.close()
