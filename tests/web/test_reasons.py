"""The dashboard says why, in the reader's language: a line for every reason, with what
its detail adds (an age estimated from the journal says so)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from pi_agent.guard.assessment import ReasonKind
from pi_agent.web.texts import TEXTS

from .conftest import Rig


@pytest.mark.parametrize("kind", list(ReasonKind))
def test_every_reason_has_words_in_both_languages(kind: ReasonKind) -> None:
    en, zh = TEXTS[f"r-{kind.value}"]
    assert en and zh and en != zh


def test_the_dashboard_says_why_and_that_an_age_is_estimated(rig: Rig) -> None:
    rig.login()
    rig.sim.terminal.add_sale(1250)
    rig.control.poll_now()  # 21:00: the guard first sees the batch
    rig.clock.advance(timedelta(hours=21))
    rig.control.poll_now()  # 18:00 the next day: the batch is 21 h old, by the journal
    snap = rig.control.snapshot()
    assert "auth-age" in snap.reasons and "overdue-batch" in snap.reasons
    assert snap.to_json()["details"][snap.reasons.index("auth-age")]["estimated"] is True
    page = rig.client.get("/").get_data(True)
    assert "The oldest sale is 21 h old" in page and "Estimated from when the guard" in page
    assert "The batch crossed its cutoff unsettled." in page
    rig.post("/lang/zh-CN", {"next": "/"})
    page = rig.client.get("/").get_data(True)
    assert "最早一笔交易已 21 小时" in page and "按设备首次看到该批次的时间估算" in page
