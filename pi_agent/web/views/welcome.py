"""The first run's short setup, right after the password is set: language, time zone,
country or region, terminal protocol and port, with a probe for the terminal. Saved
through the settings page's checked, gated, atomic save."""

from __future__ import annotations

from typing import Any
from zoneinfo import available_timezones

from flask import Blueprint, flash, redirect, render_template, request, session, url_for

from ... import config
from ...terminal.registry import get, names
from .. import firstrun, forms
from ..control import Busy, Outcome
from .common import lang, login_required, t, web
from .settings import checked_save

bp = Blueprint("welcome", __name__)
FIELDS = ("panel.locale", "schedule.timezone", "calendar.country", "terminal.protocol",
          "terminal.port")  # fmt: skip


def _page(values: dict[str, str], *, errors: dict[str, str] | None = None,
          probe: Outcome | None = None, from_browser: bool = False) -> Any:  # fmt: skip
    cfg = web().control.cfg
    zh = lang() == "zh-CN"
    countries = [(code, words[2] if zh else words[1], words[0])
                 for code, words in firstrun.COUNTRIES.items()]  # fmt: skip
    found = None
    if probe is not None and probe.ok:
        d = probe.detail
        found = t("probe-ok", text=(d["text_zh"] if zh else "") or d["text"],
                  software_version=d["software_version"], terminal_id=d["terminal_id"])  # fmt: skip
    page = render_template(
        "welcome.html", values=values, errors=errors or {}, countries=countries,
        protocols=[(n, get(n).title) for n in names()], ports=firstrun.ports(cfg),
        zones=sorted(available_timezones()), locales=config.LOCALES, probe=probe, found=found,
        from_browser=from_browser, words=lambda key: forms.words(cfg, key, lang()),
    )  # fmt: skip
    return page, 400 if errors else 200


@bp.route("/welcome", methods=["GET", "POST"])
@login_required
def setup() -> Any:
    current = web().control.cfg
    if request.method == "GET":
        # The browser's language and region; its time zone comes from page.js.
        country = firstrun.country_of(request.headers.get("Accept-Language", ""),
                                      current.calendar.country)  # fmt: skip
        values = {"panel.locale": lang(), "schedule.timezone": current.schedule.timezone,
                  "calendar.country": country, "terminal.protocol": current.terminal.protocol,
                  "terminal.port": current.terminal.port}  # fmt: skip
        return _page(values, from_browser=True)
    values = {name: request.form.get(name, "").strip() for name in FIELDS}
    if request.form.get("action") == "probe":
        return _page(values, probe=_probe(values, current))
    errors = checked_save(current, firstrun.answers(values, current))
    if errors:
        return _page(values, errors=errors)
    session["lang"] = values["panel.locale"]
    flash(t("config-saved"), "ok")
    return redirect(url_for("pages.dashboard")), 303


def _probe(values: dict[str, str], current: config.Config) -> Outcome:
    """Only a port this page listed: the probe sends the terminal password down the line."""
    protocol, port = values["terminal.protocol"], values["terminal.port"]
    if port not in firstrun.ports(current) or protocol not in names():
        return Outcome(False, "probe-failed", {"error": t("probe-unlisted")})
    try:
        return web().control.probe(protocol, port)
    except Busy:
        return Outcome(False, "probe-failed", {"error": t("busy")})
