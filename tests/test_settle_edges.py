"""A terminal that keeps showing a batch it said it settled (agent and simulator over a pty)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pi_agent.sim import terminal as simterm
from pi_agent.zvt.messages import EndOfDay
from tests.test_agent import Rig, berlin


@pytest.fixture
def sticky_end_of_day(monkeypatch: pytest.MonkeyPatch) -> None:
    """The terminal answers End-of-Day with success but keeps reporting the batch."""
    real = simterm._HANDLERS[EndOfDay]

    def sticky(sim: simterm.SimTerminal, cmd: EndOfDay, host_down: int | None) -> list:
        kept, receipt = list(sim.batch), sim.next_receipt
        out = real(sim, cmd, host_down)
        sim.batch[:], sim.next_receipt = kept, receipt
        return out

    monkeypatch.setitem(simterm._HANDLERS, EndOfDay, sticky)


def test_a_batch_settled_but_still_reported_is_not_settled_again_every_tick(
    tmp_path: Path, sticky_end_of_day: None
) -> None:
    rig = Rig(tmp_path)
    try:
        rig.sim.terminal.add_sale(1250)
        rig.at(berlin(20, 22, 31))
        rig.step()  # the window is open: settled, unverified (still reported)
        [record] = rig.store.settlements()
        assert record.state == "ok" and not record.verified
        rig.at(berlin(20, 23, 5))  # past the cutoff, the same batch still on show
        for minute in range(6, 10):
            rig.at(berlin(20, 23, minute))
            rig.step()
        assert rig.sim.terminal.settlements == 1
        events = [e for e in rig.store.events(1000) if e["kind"] == "settlement"]
        assert len(events) == 1, events  # one settlement, not one more per tick
    finally:
        rig.close()
