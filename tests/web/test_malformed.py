"""Hostile input gets a clear 4xx, never a redirect elsewhere nor a 500: the language
switch's `next`, out-of-range ids, odd digits, numbers of 5,000 digits, and restores
nested 5,000 deep or with a date-time for a date."""

from __future__ import annotations

import io

import pytest

from pi_agent import config

from .conftest import PASSWORD, Rig, bearer, flashes
from .test_routes import form_of

HUGE = "99999999999999999999999"


@pytest.mark.parametrize("back", ["/\t/evil.example", "/\\evil.example", "//evil.example",
                                  "https://evil.example/", "/\r\n/evil.example", "/ /evil",
                                  "/%09/evil.example", "javascript:alert(1)", ""])  # fmt: skip
def test_the_language_switch_never_leads_elsewhere(rig: Rig, back: str) -> None:
    rig.csrf()
    r = rig.post("/lang/en", {"next": back})
    assert r.status_code == 302 and r.headers["Location"] == "/"


def test_the_language_switch_goes_back_to_the_page(rig: Rig) -> None:
    rig.csrf()
    assert rig.post("/lang/zh-CN", {"next": "/history"}).headers["Location"] == "/history"


@pytest.mark.parametrize("url", [f"/access/tokens/{HUGE}/delete",
                                 f"/history/payouts/{HUGE}/received"])  # fmt: skip
def test_out_of_range_ids_are_not_found(rig: Rig, url: str) -> None:
    rig.login()
    assert rig.post(url).status_code == 404


@pytest.mark.parametrize("target", ["²", "١", HUGE, "-1"])
def test_a_push_target_that_does_not_exist_is_not_found(rig: Rig, target: str) -> None:
    rig.login()
    r = rig.post("/tests/push", {"target": target})
    assert r.status_code == 404


@pytest.mark.parametrize("push", ["²", "1" * 5000, HUGE])
def test_an_odd_push_test_id_on_the_tests_page_is_no_500(rig: Rig, push: str) -> None:
    rig.login()
    assert rig.client.get("/tests", query_string={"push": push}).status_code == 200


def test_a_number_field_of_5000_digits_is_a_field_error(rig: Rig) -> None:
    rig.login()
    before = rig.config_path.read_bytes()
    r = rig.post("/config", {**form_of(rig), "poll.interval_seconds": "1" * 5000})
    assert r.status_code == 400 and "is not a whole number" in r.get_data(True)
    assert rig.config_path.read_bytes() == before and rig.reloads == 0
    r = rig.post("/config", {**form_of(rig), "poll.interval_seconds": "１２０"})  # an IME's
    assert r.status_code == 303 and config.load(rig.config_path).poll.interval_seconds == 120


@pytest.mark.parametrize(
    ("toml", "said"),
    [
        ("x = " + "[" * 5000 + "]" * 5000 + "\n", "nested too deeply"),
        # A TOML date-time where a date belongs: once written, the file could not be read back.
        ("[calendar]\nextra_workdays = [1979-05-27T07:32:00]\n", "extra_workdays"),
    ],
    ids=["nested-5000-deep", "date-time-for-a-date"],
)
def test_a_hostile_restore_is_a_form_error(rig: Rig, toml: str, said: str) -> None:
    rig.login()
    before = rig.config_path.read_bytes()
    r = rig.post("/config/restore", {"file": (io.BytesIO(toml.encode()), "backup.toml"),
                                     "password": PASSWORD},
                 content_type="multipart/form-data")  # fmt: skip
    assert r.status_code == 303
    assert said in " ".join(flashes(rig.client.get("/config").get_data(True)))
    assert rig.config_path.read_bytes() == before and rig.reloads == 0


def test_json_nested_5000_deep_is_a_bad_request(rig: Rig) -> None:
    _, token = rig.auth.create_token("office", {"settle"})
    r = rig.app.test_client().post("/api/v1/settle", headers=bearer(token),
                                   data="[" * 5000 + "]" * 5000,
                                   content_type="application/json")  # fmt: skip
    assert r.status_code == 400 and rig.sim.terminal.settlements == 0
