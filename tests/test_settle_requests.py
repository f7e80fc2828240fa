"""A request to settle names the batch it was made for and expires with it."""

from __future__ import annotations

from pathlib import Path

import pytest

from pi_agent.zvt.messages import EndOfDay
from tests.test_agent import Rig, berlin


@pytest.fixture
def rig(tmp_path: Path):
    r = Rig(tmp_path, mode="off")  # nothing settles unless asked
    yield r
    r.close()


def run_queued(rig: Rig) -> None:
    """What the loop thread would do: run everything posted, in order."""
    q = rig.agent._queue
    while not q.empty():
        q.get()()


def test_two_requests_at_once_settle_once_and_a_later_sale_stays_open(rig: Rig) -> None:
    rig.sim.terminal.add_sale(1000)
    rig.step()
    rig.agent.request_settle()  # the page's settle now...
    rig.agent.request_settle()  # ...and the API's, made for the same batch
    run_queued(rig)
    assert rig.sim.terminal.settlements == 1
    assert rig.agent.state.settle_requested is None
    rig.sim.terminal.add_sale(250)  # a sale after: a new batch nobody asked to settle
    rig.at(berlin(20, 9, 5))
    rig.step()
    rig.at(berlin(20, 9, 10))
    rig.step()
    assert rig.sim.terminal.settlements == 1
    assert rig.sim.terminal.batch
    expired = [e for e in rig.store.events() if e["kind"] == "settle-request-expired"]
    assert len(expired) == 1 and expired[0]["payload"]["open"] is None


def test_a_request_for_a_batch_that_is_gone_is_dropped(rig: Rig) -> None:
    rig.sim.terminal.add_sale(1000)
    rig.step()
    made_for = rig.agent.state.batch_key
    rig.sim.terminal.handle(EndOfDay())
    rig.sim.terminal.add_sale(400)  # settled at the terminal itself, and a new sale
    rig.step()
    assert rig.agent.state.batch_key not in (None, made_for)
    rig.agent.request_settle(made_for)
    run_queued(rig)
    assert rig.sim.terminal.settlements == 1  # only the one run at the terminal


def test_a_request_pending_when_its_batch_goes_expires(rig: Rig) -> None:
    """The request was accepted, but the terminal was not ready; then the batch went."""
    rig.sim.terminal.add_sale(1000)
    rig.step()
    rig.sim.terminal.set_flag("out-of-order")  # not ready: the settle waits
    rig.step()
    rig.agent.request_settle()
    run_queued(rig)
    assert rig.agent.state.settle_requested is not None
    rig.sim.terminal.handle(EndOfDay())
    rig.sim.terminal.set_flag("out-of-order", False)
    rig.step()
    assert rig.agent.state.settle_requested is None
    rig.sim.terminal.add_sale(300)
    rig.step()
    assert rig.sim.terminal.settlements == 1
