"""The first run's short setup: defaults from the browser, the terminal probed through the
running guard, saved through the settings page's checked, gated, atomic save."""

from __future__ import annotations

import html as markup

from pi_agent import config
from pi_agent.web import firstrun
from pi_agent.web.control import Outcome

from .conftest import PASSWORD, Rig, flashes

ANSWERS = {"panel.locale": "zh-CN", "schedule.timezone": "Asia/Shanghai",
           "calendar.country": "CN", "terminal.protocol": "zvt"}  # fmt: skip


def test_the_country_comes_from_the_browsers_region() -> None:
    assert firstrun.country_of("zh-CN,zh;q=0.9,en;q=0.8", "DE") == "CN"
    assert firstrun.country_of("en-US,en;q=0.5", "DE") == "US"
    assert firstrun.country_of("zh", "DE") == "CN"
    assert firstrun.country_of("fr", "DE") == "DE"  # no region: what the guard has
    assert firstrun.country_of("", "AT") == "AT"


def test_the_currency_and_holidays_follow_the_country() -> None:
    cfg = config.replace(config.Config(), "calendar", subdivision="BY", financial="XECB")
    data = firstrun.answers({**ANSWERS, "terminal.port": "/dev/ttyUSB0"}, cfg)
    new = config.from_dict(data)
    assert (new.panel.locale, new.schedule.timezone) == ("zh-CN", "Asia/Shanghai")
    assert (new.calendar.country, new.calendar.subdivision, new.calendar.financial) == (
        "CN", "", "")  # fmt: skip
    assert new.terminal.currency == "CNY"
    for country, currency in (("DE", "EUR"), ("US", "USD"), ("GB", "GBP")):
        data = firstrun.answers({"calendar.country": country}, cfg)
        assert config.from_dict(data).terminal.currency == currency


def test_the_ports_are_the_adapters_and_the_configured_link(tmp_path, rig: Rig) -> None:
    (tmp_path / "by-id").mkdir()
    adapter = tmp_path / "by-id" / "usb-FTDI_FT232R-if00-port0"
    adapter.touch()
    assert firstrun.ports(rig.cfg, str(tmp_path / "by-id" / "*")) == [str(adapter), rig.sim.url]
    gone = config.replace(rig.cfg, "terminal", port="/dev/ttyUSB7")
    assert firstrun.ports(gone, str(tmp_path / "nothing" / "*")) == []


def first_start(rig: Rig, accept: str) -> None:
    csrf = rig.csrf()
    rig.control._call(lambda: None)
    code = rig.setup.code
    form = {"csrf": csrf, "code": code, "password": PASSWORD, "again": PASSWORD}
    r = rig.client.post("/setup", data=form, headers={"Accept-Language": accept})
    assert r.headers["Location"].endswith("/welcome")


def test_after_the_password_the_setup_asks_with_the_browsers_defaults(rig: Rig) -> None:
    first_start(rig, "zh-CN,zh;q=0.9")
    page = markup.unescape(rig.client.get("/welcome", headers={
        "Accept-Language": "zh-CN,zh;q=0.9"}).get_data(True))  # fmt: skip
    assert "首次启动：几个问题" in page and "密码已设置" in page
    assert '<option value="zh-CN" selected>' in page and '<option value="CN" selected>' in page
    assert "data-browser-tz" in page  # page.js puts the browser's time zone in
    assert "中国大陆 (CN, CNY)" in page
    assert f"<option selected>{rig.sim.url}</option>" in page  # the simulator's link
    assert "时区" in page and "店铺所在时区" in page  # the schema's label and help


def test_the_probe_finds_the_simulator_and_refuses_an_unlisted_port(rig: Rig) -> None:
    rig.login()
    found = rig.post("/welcome", {**ANSWERS, "terminal.port": rig.sim.url, "action": "probe"})
    text = markup.unescape(found.get_data(True))
    assert found.status_code == 200 and "Terminal found:" in text
    status = rig.agent.state.status
    assert status is not None and status.terminal_id and f"terminal ID {status.terminal_id}" in text
    refused = rig.post("/welcome", {**ANSWERS, "terminal.port": "socket://evil.example:20007",
                                    "action": "probe"})  # fmt: skip
    assert "choose one of the ports listed" in refused.get_data(True)
    assert config.load(rig.config_path) == rig.cfg  # a probe saves nothing


def test_a_probe_of_another_port_goes_through_the_guard_and_says_what_went_wrong(rig: Rig):
    outcome = rig.control.probe("zvt", "/dev/ttyUSB9")  # not there
    assert not outcome.ok and outcome.key == "probe-failed" and outcome.detail["error"]
    own = rig.control.probe("poslink", rig.sim.url)  # never a second link on the guard's port
    assert own == Outcome(False, "probe-own-port", {"protocol": "zvt"})
    bad = rig.control.probe("zvt", "/etc/passwd")  # not a terminal: the config check says so
    assert not bad.ok and "not a serial device" in bad.detail["error"]


def test_saving_needs_the_password_and_writes_the_answers(rig: Rig) -> None:
    rig.login()
    answers = {**ANSWERS, "terminal.port": rig.sim.url, "action": "save"}
    refused = rig.post("/welcome", answers)
    assert refused.status_code == 400 and "Your password is needed" in refused.get_data(True)
    assert config.load(rig.config_path) == rig.cfg and rig.reloads == 0
    saved = rig.post("/welcome", {**answers, "confirm_password": PASSWORD})
    assert saved.status_code == 303, flashes(saved.get_data(True))
    cfg = config.load(rig.config_path)
    assert (cfg.panel.locale, cfg.schedule.timezone, cfg.calendar.country,
            cfg.terminal.currency) == ("zh-CN", "Asia/Shanghai", "CN", "CNY")  # fmt: skip
    assert cfg.terminal.password == rig.cfg.terminal.password  # the secret was kept
    assert rig.reloads == 1
    bad = rig.post("/welcome", {**answers, "schedule.timezone": "Mars/Olympus",
                                "confirm_password": PASSWORD})  # fmt: skip
    assert bad.status_code == 400 and "is not a time zone" in markup.unescape(bad.get_data(True))


def test_a_port_under_another_name_is_the_guards_own(rig: Rig, tmp_path, monkeypatch) -> None:
    """The adapter's stable name (/dev/serial/by-id/...) and /dev/ttyUSB0 are one device: the
    probe asks through the guard's own link, never opens a second one on it."""
    from pi_agent.web import control

    opened: list[str] = []
    monkeypatch.setattr(
        control, "open_terminal", lambda cfg, **kw: opened.append(cfg.terminal.port)
    )
    alias = tmp_path / "usb-FTDI_FT232R-if00-port0"
    alias.symlink_to(rig.cfg.terminal.port)
    found = rig.control.probe("zvt", str(alias))
    assert found.ok and found.key == "probe-ok", found
    other = rig.control.probe("poslink", str(alias))
    assert other == Outcome(False, "probe-own-port", {"protocol": "zvt"})
    assert opened == []
