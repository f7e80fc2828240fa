"""What every view needs: the page's state, the language, login checks, flash texts."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from flask import Flask, current_app, flash, g, redirect, render_template, request, session, url_for
from werkzeug.exceptions import HTTPException

from .. import csrf
from ..auth import AuthStore, SetupCode, Throttle
from ..control import Busy, Control, Outcome
from ..texts import LANGS, text

F = TypeVar("F", bound=Callable[..., Any])
ID_MAX = 2**63 - 1  # SQLite's largest row id: a route's <int(max=ID_MAX):...> 404s beyond it


@dataclass
class Web:
    control: Control
    config_path: Path
    auth: AuthStore
    throttle: Throttle  # passwords and setup codes typed into the page's forms
    api_throttle: Throttle  # bad API tokens: apart, so neither can lock the other out
    setup: SetupCode


def web() -> Web:
    return current_app.extensions["settle-guard"]


def lang() -> str:
    chosen = session.get("lang")
    if chosen in LANGS:
        return chosen
    best = request.accept_languages.best_match(["en", "zh-CN", "zh"]) if request else None
    if best and best.startswith("zh"):
        return "zh-CN"
    return web().control.cfg.panel.locale


def t(key: str, **values: object) -> str:
    return text(key, lang(), **values)


def client() -> str:
    return request.remote_addr or "?"


def logged_in() -> bool:
    """Whether this request's session is alive on the server (once per request)."""
    if "logged_in" not in g:
        sid, auth = session.get("sid"), web().auth
        # The OLED mirror reloads itself every 2 s: an open dashboard alone is not a
        # technician at work, so it does not hold off the idle timeout.
        touch = request.endpoint != "pages.oled"
        g.logged_in = (
            isinstance(sid, str) and auth.has_password() and auth.session_alive(sid, touch)
        )
    return bool(g.logged_in)


def log_out() -> None:
    """End the session on the server (a saved cookie is worth nothing after), keep the
    language."""
    sid = session.get("sid")
    if isinstance(sid, str):
        web().auth.end_session(sid)
    chosen = session.get("lang")
    session.clear()
    if chosen:
        session["lang"] = chosen
    g.logged_in = False


def log_in() -> None:
    """A fresh session (no fixation): a new id known to the server, a new CSRF token."""
    log_out()
    session["sid"] = web().auth.start_session()
    g.logged_in = True
    csrf.token()


def login_required(view: F) -> F:
    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if not logged_in():
            return redirect(url_for("signin.login"))
        return view(*args, **kwargs)

    return wrapped  # type: ignore[return-value]


def first_run() -> Any:
    """Until a password exists every page leads to the setup form (and the OLED shows
    the code: also after `settle-guard passwd --reset` while the guard runs)."""
    w = web()
    if w.auth.has_password():
        if w.setup.code is not None:
            w.setup.clear()
        return None
    w.setup.ensure()
    if request.endpoint in ("signin.setup", "signin.language", "static") or (
        request.blueprint == "api"
    ):
        return None
    return redirect(url_for("signin.setup"))


def throttled(wait: float) -> str:
    return t("throttled").format(int(wait) + 1)


def check_password(field: str = "password") -> str | None:
    """The re-typed password of a sensitive action: None if right, else a text to show.
    Wrong guesses count towards the client's throttle like failed logins."""
    w = web()
    given = request.form.get(field, "")
    if not given:
        return t("password-needed")
    wait = w.throttle.attempt(client())
    if wait > 0:
        return throttled(wait)
    if not w.auth.check_password(given):
        return t("login-wrong")
    w.throttle.succeeded(client())
    return None


def say(outcome: Outcome) -> None:
    """Flash an action's outcome in the reader's language (details never hold secrets)."""
    values = {k: v for k, v in outcome.detail.items() if isinstance(v, str | int)}
    flash(t(outcome.key, **values), "ok" if outcome.ok else "error")


def run_action(call: Callable[[], Outcome]) -> None:
    try:
        say(call())
    except Busy:
        flash(t("busy"), "error")


def template_globals() -> dict[str, Any]:
    return {"t": t, "lang": lang(), "csrf_token": csrf.token, "logged_in": logged_in()}


def install_error_pages(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def error(exc: HTTPException) -> Any:
        if request.blueprint == "api":
            return {"error": exc.description or exc.name}, exc.code
        message = t("csrf") if exc.description == "csrf" else (
            t("not-found") if exc.code == 404 else exc.name)  # fmt: skip
        return render_template("error.html", message=message), exc.code

    @app.errorhandler(Busy)
    def busy(exc: Busy) -> Any:
        if request.blueprint == "api":
            return {"error": str(exc)}, 503
        return render_template("error.html", message=t("busy")), 503
