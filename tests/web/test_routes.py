"""Every route: login required, CSRF on every state change (enumerated from the URL map so
a new route cannot escape), security headers, and the configuration form's rules."""

from __future__ import annotations

import hashlib
import io
import re
import tomllib

import pytest

from pi_agent import config

from .conftest import PASSWORD, TERMINAL_SECRET, Rig, flashes

OPEN = {"static", "signin.login", "signin.setup", "signin.language", "signin.logout"}
STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}


def url_for_rule(rule) -> str:
    """A concrete URL for a rule: 1 for numbers, a plausible word for names."""
    url = rule.rule
    for arg in rule.arguments:
        value = "1" if rule._converters[arg].__class__.__name__ == "IntegerConverter" else "poll"
        if arg == "kind":
            value = "events"
        if arg == "code":
            value = "en"
        url = re.sub(rf"<(?:[^:>]+:)?{arg}>", value, url)
    return url


def rules(rig: Rig, methods: set[str]):
    return [r for r in rig.app.url_map.iter_rules() if r.methods & methods]


def fingerprint(rig: Rig) -> tuple:
    """Everything a forged request could change."""
    db = rig.store.db
    counts = tuple(db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
                   for t in ("events", "settlements", "outbox"))  # fmt: skip
    return (hashlib.sha256(rig.config_path.read_bytes()).hexdigest(), rig.reloads,
            rig.auth.generation, len(rig.auth.tokens()), rig.sim.terminal.settlements,
            rig.auth.check_password(PASSWORD), counts)  # fmt: skip


def test_every_page_needs_a_login(rig: Rig) -> None:
    rig.auth.set_password(PASSWORD)
    checked = 0
    for rule in rules(rig, {"GET", *STATE_CHANGING}):
        if rule.endpoint in OPEN:
            continue
        url = url_for_rule(rule)
        for method in sorted(rule.methods & {"GET", *STATE_CHANGING}):
            r = rig.client.open(url, method=method,
                                headers={"X-CSRF-Token": rig.csrf()})  # fmt: skip
            if rule.endpoint.startswith("api."):
                assert r.status_code == 401, (method, url)
            else:
                assert r.status_code == 302, (method, url, r.status_code)
                assert r.headers["Location"].endswith("/login"), (method, url)
            checked += 1
    assert checked >= 20


def test_every_state_change_needs_the_csrf_token(rig: Rig) -> None:
    rig.login()
    rig.sim.terminal.add_sale(1000)
    before = fingerprint(rig)
    routes = rules(rig, STATE_CHANGING)
    assert len(routes) >= 15
    form = {"password": PASSWORD, "confirm": "yes", "target": "1", "name": "x",
            "current": PASSWORD, "new": "another pass", "again": "another pass",
            "schedule.cutoff": "22:00"}  # fmt: skip
    for rule in routes:
        url = url_for_rule(rule)
        for method in sorted(rule.methods & STATE_CHANGING):
            if rule.endpoint.startswith("api."):
                # The API never takes the session cookie: no bearer token, no entry.
                r = rig.client.open(url, method=method, json={"confirm": True})
                assert r.status_code == 401, (method, url)
                continue
            missing = rig.client.open(url, method=method, data=form)
            wrong = rig.client.open(url, method=method, data={**form, "csrf": "forged"})
            header = rig.client.open(url, method=method, data=form,
                                     headers={"X-CSRF-Token": "forged"})  # fmt: skip
            for r in (missing, wrong, header):
                assert r.status_code == 400, (method, url, r.status_code)
                assert "reload the page" in r.get_data(True)
    assert fingerprint(rig) == before  # nothing happened
    assert rig.client.get("/").status_code == 200  # and the session still works


def test_security_headers_on_every_page(rig: Rig) -> None:
    rig.login()
    for url in ("/", "/config", "/login", "/history", "/api/v1/status", "/nope"):
        h = rig.client.get(url).headers
        csp = h["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert "unsafe-inline" not in csp
        assert h["X-Frame-Options"] == "DENY" and h["X-Content-Type-Options"] == "nosniff"
        assert h["Referrer-Policy"] == "no-referrer" and h["Cache-Control"] == "no-store"


def test_pages_have_no_inline_script_and_load_nothing_from_elsewhere(rig: Rig) -> None:
    rig.login()
    for url in ("/", "/config", "/tests", "/actions", "/history", "/access"):
        html = rig.client.get(url).get_data(True)
        assert re.findall(r"<script(?![^>]*\bsrc=)", html) == [], url
        assert not re.search(r"\son\w+=", html), url  # no inline event handlers
        assert not re.search(r"style=", html), url
        assert not re.search(r'(src|href)="(https?:)?//', html), url


def test_static_files_are_served_and_cacheable(rig: Rig) -> None:
    for name in ("page.js", "page.css"):
        r = rig.client.get(f"/static/{name}")
        assert r.status_code == 200 and "no-store" not in r.headers.get("Cache-Control", "")


def test_both_languages(rig: Rig) -> None:
    rig.login()
    assert "Configuration" in rig.client.get("/").get_data(True)
    assert rig.post("/lang/zh-CN", {"next": "/"}).status_code == 302
    page = rig.client.get("/").get_data(True)
    assert "配置" in page and 'lang="zh-CN"' in page
    assert rig.post("/lang/en", {"next": "//evil.example/"}).headers["Location"] == "/"


def form_of(rig: Rig) -> dict[str, object]:
    """The config form as a browser would submit it unchanged."""
    return form_fields(rig.client.get("/config").get_data(True))


def form_fields(html: str) -> dict[str, object]:
    data: dict[str, object] = {}
    for tag in re.findall(r"<input[^>]*>", html):
        name = re.search(r'name="([^"]+)"', tag)
        if not name or name.group(1) in ("csrf", "password", "file"):
            continue
        value = re.search(r'value="([^"]*)"', tag)
        if 'type="checkbox"' in tag:
            if " checked" in tag:
                data.setdefault(name.group(1), [])
                data[name.group(1)].append(value.group(1) if value else "1")  # type: ignore[union-attr]
        else:
            data[name.group(1)] = value.group(1) if value else ""
    for select in re.findall(r'<select name="([^"]+)">(.*?)</select>', html, re.S):
        chosen = re.search(r"<option selected>([^<]*)</option>", select[1])
        data[select[0]] = chosen.group(1) if chosen else ""
    return data


def test_the_form_shows_every_config_field(rig: Rig) -> None:
    rig.login()
    html = rig.client.get("/config").get_data(True)
    for section in config.PARSERS:
        for name in config.PARSERS[section]:
            assert f"{section}.{name}" in html or (section, name) == ("notify", "targets"), name
    assert "target.new.url" in html


def test_an_unchanged_form_saves_the_same_config(rig: Rig) -> None:
    rig.login()
    r = rig.post("/config", form_of(rig))
    assert r.status_code == 303, flashes(r.get_data(True))
    assert config.load(rig.config_path) == rig.cfg  # the secret was kept, nothing drifted
    assert rig.reloads == 1


def test_a_changed_cutoff_is_saved_atomically_and_applied(rig: Rig) -> None:
    rig.login()
    data = {**form_of(rig), "schedule.cutoff": "23:30", "settle.mode": "at",
            "confirm_password": PASSWORD}  # fmt: skip
    r = rig.post("/config", data)
    assert r.status_code == 303
    saved = config.load(rig.config_path)
    assert saved.schedule.cutoff.strftime("%H:%M") == "23:30" and saved.settle.mode == "at"
    assert rig.config_path.stat().st_mode & 0o777 == 0o600
    assert rig.reloads == 1
    assert "Saved and applied" in rig.client.get("/config").get_data(True)


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"schedule.cutoff": "25:00"}, "schedule.cutoff", "is not a time HH:MM"),
        ({"warnings.amber_minutes": "soon"}, "warnings.amber_minutes", "is not a whole number"),
        ({"warnings.red_minutes": "90"}, "warnings.red_minutes", "must be less than amber"),
        ({"web.listen": "everywhere"}, "web.listen", "is not an address"),
        ({"target.new.url": "no-scheme"}, "notify.targets", "the url needs a scheme"),
        ({"calendar.extra_holidays": "2027-02-30"}, "calendar.extra_holidays", "not a date"),
        ({"schedule.timezone": "Mars/Base"}, "schedule.timezone", "is not a time zone"),
    ],
)
def test_a_bad_field_is_named_and_nothing_is_saved(rig: Rig, changes, field, message) -> None:
    rig.login()
    before = rig.config_path.read_bytes()
    data = {**form_of(rig), **changes, "warnings.amber_minutes": changes.get(
        "warnings.amber_minutes", "60"), "schedule.opening": "09:00"}  # fmt: skip
    r = rig.post("/config", data)
    html = r.get_data(True)
    assert r.status_code == 400
    assert "Nothing was saved" in html
    block = html.split(f'name="{field}"')[-1] if field != "notify.targets" else html
    assert message in block, (field, flashes(html))
    assert rig.config_path.read_bytes() == before and rig.reloads == 0


def test_all_errors_at_once_and_the_typed_values_stay(rig: Rig) -> None:
    rig.login()
    data = {**form_of(rig), "schedule.cutoff": "25:00", "poll.interval_seconds": "1"}
    html = rig.post("/config", data).get_data(True)
    assert "is not a time HH:MM" in html and "is outside 5-3600" in html
    assert 'value="25:00"' in html  # what was typed is shown again to be corrected


def test_changing_the_terminal_link_needs_the_password(rig: Rig) -> None:
    rig.login()
    before = rig.config_path.read_bytes()
    data = {**form_of(rig), "terminal.baudrate": "19200"}
    r = rig.post("/config", data)
    assert r.status_code == 400 and "needed for this" in r.get_data(True)
    r = rig.post("/config", {**data, "confirm_password": "wrong wrong"})
    assert r.status_code == 400 and "Wrong password" in r.get_data(True)
    assert rig.config_path.read_bytes() == before
    r = rig.post("/config", {**data, "confirm_password": PASSWORD})
    assert r.status_code == 303 and config.load(rig.config_path).terminal.baudrate == 19200
    r = rig.post("/config", {**form_of(rig), "terminal.password": "123456",
                             "confirm_password": PASSWORD})  # fmt: skip
    assert r.status_code == 303 and config.load(rig.config_path).terminal.password == "123456"


def test_backup_masks_secrets_unless_the_password_is_given(rig: Rig) -> None:
    rig.login()
    plain = rig.client.get("/config/backup").get_data(True)
    assert TERMINAL_SECRET not in plain and 'password = "******"' in plain
    assert rig.post("/config/backup", {"password": "wrong wrong"}).status_code == 303
    full = rig.post("/config/backup", {"password": PASSWORD}).get_data(True)
    assert tomllib.loads(full)["terminal"]["password"] == TERMINAL_SECRET


def test_restore_needs_the_password_validates_and_keeps_masked_secrets(rig: Rig) -> None:
    rig.login()
    plain = rig.client.get("/config/backup").get_data(True)
    changed = plain.replace('cutoff = "23:00"', 'cutoff = "22:45"')
    upload = lambda text: (io.BytesIO(text.encode()), "backup.toml")  # noqa: E731
    r = rig.post("/config/restore", {"file": upload(changed)}, content_type="multipart/form-data")
    assert r.status_code == 303 and rig.reloads == 0  # no password: nothing
    bad = changed.replace('cutoff = "22:45"', 'cutoff = "26:00"')
    r = rig.post("/config/restore", {"file": upload(bad), "password": PASSWORD},
                 content_type="multipart/form-data")  # fmt: skip
    assert "not a time" in rig.client.get("/config").get_data(True) and rig.reloads == 0
    r = rig.post("/config/restore", {"file": upload(changed), "password": PASSWORD},
                 content_type="multipart/form-data")  # fmt: skip
    restored = config.load(rig.config_path)
    assert restored.schedule.cutoff.strftime("%H:%M") == "22:45" and rig.reloads == 1
    assert restored.terminal.password == TERMINAL_SECRET  # the masked secret was kept


def test_history_pages_and_csv(rig: Rig) -> None:
    rig.login()
    now = rig.clock.now()
    s = rig.store.journal_intent(now.date(), "T1:0001", {"count": 1}, "test", now)
    rig.store.finish(s.id, "ok", now, receipt_lines=["KASSENSCHNITT", "SUMME EUR 12,50"])
    html = rig.client.get("/history").get_data(True)
    assert "<pre>KASSENSCHNITT\nSUMME EUR 12,50</pre>" in html  # the terminal's receipt
    rig.store.add_event("=HYPERLINK(evil)", "info", {"text": "hello"}, rig.clock.now())
    assert "=HYPERLINK(evil)" in rig.client.get("/history").get_data(True)
    csv_text = rig.client.get("/history/events.csv").get_data(True)
    assert csv_text.splitlines()[0] == "id,at,kind,level,key,payload"
    assert ",'=HYPERLINK(evil)," in csv_text  # a spreadsheet shows it, never runs it
    for kind in ("settlements", "payouts"):
        assert rig.client.get(f"/history/{kind}.csv").status_code == 200
    assert rig.client.get("/history/secrets.csv").status_code == 404


def test_api_status_history_and_errors(rig: Rig) -> None:
    _, token = rig.auth.create_token("tablet", {"read", "settle"})
    api = rig.app.test_client()
    auth = {"Authorization": f"Bearer {token}"}
    status = api.get("/api/v1/status", headers=auth).json
    assert {"level", "batch_count", "cutoff", "terminal", "data_age_seconds"} <= set(status)
    assert api.get("/api/v1/history/events", headers=auth).json["events"] is not None
    assert api.get("/api/v1/history/nope", headers=auth).status_code == 404
    assert api.get("/api/v1/status").status_code == 401
    assert api.post("/api/v1/settle", headers=auth, json={}).status_code == 400
