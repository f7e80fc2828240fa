"""The bank statement on the page: a preview first that changes nothing, then "apply"
marks the matched payouts received on the statement's dates (as `payouts --import`)."""

from __future__ import annotations

import io
import re
from datetime import date

from pi_agent.notify import payouts

from .conftest import Rig
from .conftest import settled_with_payout as expecting
from .test_actions import flash_after

STATEMENT = (
    "Buchungstag;Betrag;Verwendungszweck\n"
    "23.11.2026;9,85;KARTENUMSATZ TID 29001006\n"  # the 10.00 payout less a 0.15 fee
    "24.11.2026;-20,00;MIETE\n"
).encode("cp1252")


def upload(rig: Rig, raw: bytes) -> object:
    return rig.post("/history/statement", {"file": (io.BytesIO(raw), "statement.csv")},
                    content_type="multipart/form-data")  # fmt: skip


def test_a_statement_is_previewed_then_applied(rig: Rig) -> None:
    p = expecting(rig)
    rig.login()
    shown = upload(rig, STATEMENT)
    html = shown.get_data(True)
    assert shown.status_code == 200 and 'id="statement-preview"' in html
    assert "2026-11-23 (9.85" in html and "KARTENUMSATZ" in html
    assert payouts.payouts(rig.store)[0].received_on is None  # a preview changes nothing
    carried = re.search(r'name="statement" value="([^"]+)"', html)
    assert carried is not None
    said = flash_after(
        rig,
        rig.post("/history/statement", {"statement": carried.group(1), "apply": "yes"}),
        "/history",
    )
    assert said == ["1 payouts marked received."]
    assert payouts.payouts(rig.store)[0].received_on == date(2026, 11, 23)
    assert p.id == payouts.payouts(rig.store)[0].id


def test_a_statement_that_pays_nothing_says_so_and_a_bad_file_is_refused(rig: Rig) -> None:
    expecting(rig)
    rig.login()
    html = upload(rig, b"date,amount\n2026-11-23,500.00\n").get_data(True)
    assert "not in this statement" in html and 'name="apply"' not in html
    said = flash_after(rig, upload(rig, b"\x00\x01 not a statement"), "/history")
    assert said[0].startswith("The statement could not be read")
    said = flash_after(rig, rig.post("/history/statement", {}), "/history")
    assert said == ["Choose a statement file first."]
    assert payouts.payouts(rig.store)[0].received_on is None


def test_the_statement_needs_the_csrf_token(rig: Rig) -> None:
    expecting(rig)
    rig.login()
    r = rig.client.post("/history/statement", data={"statement": "eA==", "apply": "yes"})
    assert r.status_code == 400
