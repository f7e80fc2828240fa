"""First run (setup code + password), login, logout and the page language."""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, session, url_for

from ..auth import password_problem
from ..texts import LANGS
from .common import client, log_in, logged_in, t, web

bp = Blueprint("signin", __name__)
log = logging.getLogger("settle-guard.web")


def _throttled() -> str | None:
    wait = web().throttle.wait(client())
    return t("throttled").format(int(wait) + 1) if wait > 0 else None


@bp.route("/setup", methods=["GET", "POST"])
def setup() -> Any:
    w = web()
    if w.auth.has_password():
        return redirect(url_for("pages.dashboard"))
    error = None
    if request.method == "POST":
        error = _throttled()
        if error is None and not w.setup.matches(request.form.get("code", "")):
            w.throttle.failed(client())
            log.warning("wrong setup code from %s", client())
            error = t("setup-wrong")
        if error is None:
            problem = password_problem(request.form.get("password", ""),
                                       request.form.get("again", ""))  # fmt: skip
            error = t(problem) if problem else None
        if error is None:
            w.throttle.succeeded(client())
            w.auth.set_password(request.form["password"])
            w.setup.clear()
            log.info("admin password set from %s", client())
            log_in()
            flash(t("setup-done"), "ok")
            return redirect(url_for("pages.dashboard"))
    return render_template("setup.html", error=error), 400 if error else 200


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    w = web()
    if logged_in():
        return redirect(url_for("pages.dashboard"))
    error = None
    if request.method == "POST":
        error = _throttled()
        if error is None and w.auth.check_password(request.form.get("password", "")):
            w.throttle.succeeded(client())
            log_in()
            log.info("login from %s", client())
            return redirect(url_for("pages.dashboard"))
        if error is None:
            w.throttle.failed(client())
            log.warning("failed login from %s", client())
            error = t("login-wrong")
    status = 429 if error and error != t("login-wrong") else 401 if error else 200
    return render_template("login.html", error=error), status


@bp.route("/logout", methods=["POST"])
def logout() -> Any:
    chosen = session.get("lang")
    session.clear()
    if chosen:
        session["lang"] = chosen
    flash(t("logged-out"), "ok")
    return redirect(url_for("signin.login"))


@bp.route("/lang/<code>", methods=["POST"])
def language(code: str) -> Any:
    if code in LANGS:
        session["lang"] = code
    back = request.form.get("next", "")
    return redirect(back if back.startswith("/") and not back.startswith("//") else "/")
