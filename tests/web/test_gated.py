"""The configuration's dangerous fields: one declared table of what needs the password
typed again (every config field is classified, so a new one cannot slip through), and
what only this machine can tell (a writable database folder, a free page address)
refused on the form before anything is saved."""

from __future__ import annotations

import dataclasses
import html as htmllib
import re
import socket
from pathlib import Path

import pytest

from pi_agent import config
from pi_agent.web import forms

from ..test_service import loopback_port
from .conftest import PASSWORD, Rig, flashes
from .test_routes import form_of

# What must never change without the password, whatever the tables say.
DANGEROUS = {"terminal.*", "notify.*", "web.*", "store.*", "warnings.batch_limit",
             "warnings.auth_age_hours", "settle.mode", "settle.at", "settle.last_call",
             "settle.retry_minutes", "settle.max_attempts",  # not sign_in_at_opening: no money
             "schedule.cutoff", "schedule.timezone", "schedule.trading_days"}  # fmt: skip


def every_field() -> list[tuple[str, str]]:
    return [(section.name, f.name) for section in dataclasses.fields(config.Config)
            for f in dataclasses.fields(section.type if isinstance(section.type, type)
                                        else getattr(config.Config(), section.name))]  # fmt: skip


def test_every_config_field_is_either_gated_or_named_as_not() -> None:
    fields = every_field()
    assert len(fields) > 40
    for section, name in fields:
        gated = forms.listed(forms.GATED, section, name)
        free = forms.listed(forms.NOT_GATED, section, name)
        assert gated != free, f"{section}.{name}: in {'both tables' if gated else 'neither table'}"
        if {f"{section}.*", f"{section}.{name}"} & DANGEROUS:
            assert gated, f"{section}.{name} moves money, messages or data: it must be gated"
    known = set(fields)
    for table in (forms.GATED, forms.NOT_GATED):
        for section, names in table.items():
            assert all((section, n) in known for n in names or ()), (section, names)


GATED_CHANGES = [
    {"settle.mode": "at", "settle.at": "22:30"},
    {"settle.last_call": "22:55"},
    {"schedule.cutoff": "21:05"},
    {"schedule.timezone": "Asia/Shanghai"},
    {"warnings.batch_limit": "10"},
    {"warnings.auth_age_hours": "48"},
    {"target.new.url": "json://203.0.113.7:9/"},
    {"notify.repeat_minutes": "5"},
    {"web.listen": "127.0.0.1:{port}"},
    {"store.path": "{tmp}/elsewhere/guard.db"},
    {"store.retention_days": "31"},
    {"terminal.register": None},
]


@pytest.mark.parametrize("change", GATED_CHANGES, ids=lambda c: next(iter(c)))
def test_a_gated_change_needs_the_password(rig: Rig, tmp_path: Path, change: dict) -> None:
    rig.login()
    before = rig.config_path.read_bytes()
    data = form_of(rig)
    for key, value in change.items():
        if value is None:
            data.pop(key, None)  # an unticked box
        else:
            data[key] = value.format(port=loopback_port(), tmp=tmp_path)
    for given, said in (({}, "needed for this"), ({"confirm_password": "wrong wrong"},
                                                  "Wrong password")):  # fmt: skip
        r = rig.post("/config", {**data, **given})
        assert r.status_code == 400 and said in r.get_data(True), flashes(r.get_data(True))
        assert rig.config_path.read_bytes() == before and rig.reloads == 0
    r = rig.post("/config", {**data, "confirm_password": PASSWORD})
    assert r.status_code == 303, flashes(r.get_data(True))
    assert rig.config_path.read_bytes() != before and rig.reloads == 1


def test_other_changes_need_no_password(rig: Rig) -> None:
    rig.login()
    changes = {"poll.interval_seconds": "30", "warnings.amber_minutes": "90",
               "schedule.closing": "21:30"}  # fmt: skip
    r = rig.post("/config", {**form_of(rig), **changes})
    assert r.status_code == 303, flashes(r.get_data(True))
    assert config.load(rig.config_path).poll.interval_seconds == 30


def bad_place(tmp_path: Path) -> str:
    (tmp_path / "a-file").write_text("")
    return str(tmp_path / "a-file" / "guard.db")


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("store.path", "/x/" + "y" * 250_000, "bytes long"),
        ("store.path", "/x/" + "y" * 300 + "/guard.db", "a name longer than 255"),
        ("store.path", "guard.db", "must be the absolute path"),
        ("store.path", "/tmp/a?mode=rw", "may not contain '?'"),
        ("store.path", "{bad_place}", "is not a folder"),
        ("web.listen", "127.0.0.1:{taken}", "is in use by another program"),
        ("web.listen", "192.0.2.1:{taken}", "is not an address of this guard"),
        ("terminal.port", "spy:///dev/ttyUSB0?file=/tmp/x", "is not a device"),
    ],
)
def test_what_run_would_refuse_is_a_field_error_and_nothing_is_saved(
    rig: Rig, tmp_path: Path, field: str, value: str, message: str
) -> None:
    rig.login()
    before = rig.config_path.read_bytes()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        value = value.format(bad_place=bad_place(tmp_path), taken=taken.getsockname()[1])
        r = rig.post("/config", {**form_of(rig), field: value, "confirm_password": PASSWORD})
    html = r.get_data(True)
    assert r.status_code == 400 and "Nothing was saved" in html
    [said] = re.findall(r'<p class="error">([^<]*)</p>', html.split(f'name="{field}"')[-1])[:1]
    # The field is named; a long value is typed back in its box, never in the message.
    assert message in htmllib.unescape(said) and len(said) < 300, flashes(html)
    assert rig.config_path.read_bytes() == before and rig.reloads == 0


@pytest.mark.parametrize(("field", "value"), [("web.listen", "127.0.0.1:{taken}"),
                                              ("store.path", "{bad_place}")])  # fmt: skip
def test_a_session_alone_cannot_probe_ports_or_files(
    rig: Rig, tmp_path: Path, field: str, value: str
) -> None:
    """Whether a port is in use or a file exists is asked of this machine only after the
    password: an open session alone learns nothing of the guard's ports and files."""
    rig.login()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        value = value.format(bad_place=bad_place(tmp_path), taken=taken.getsockname()[1])
        for wrong in ({}, {"confirm_password": "wrong wrong"}):
            html = rig.post("/config", {**form_of(rig), field: value, **wrong}).get_data(True)
            assert "in use by another program" not in html and "is not a folder" not in html
            assert "needed for this" in html or "Wrong password" in html
