"""First run (setup code + password), login, logout and the page language."""

from __future__ import annotations

import logging
import re
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, session, url_for

from ..auth import password_problem
from ..texts import LANGS
from .common import client, log_in, log_out, logged_in, t, throttled, web

bp = Blueprint("signin", __name__)
log = logging.getLogger("settle-guard.web")
# Where the language switch may lead back to: a path of this page, nothing a browser could
# read as another host (//x, /\x, or /<tab>/x, which browsers strip to //x).
SAFE_NEXT = re.compile(r"/(?![/\\])[A-Za-z0-9/_.-]*")


@bp.route("/setup", methods=["GET", "POST"])
def setup() -> Any:
    w = web()
    if w.auth.has_password():
        return redirect(url_for("pages.dashboard"))
    error = None
    if request.method == "POST":
        password = request.form.get("password", "")
        problem = password_problem(password, request.form.get("again", ""))
        error = t(problem) if problem else None
        wait = w.throttle.attempt(client()) if error is None else 0.0
        if wait > 0:
            error = throttled(wait)
        elif error is None and w.setup.redeem(request.form.get("code", ""),
                                              lambda: w.auth.set_password(password)):  # fmt: skip
            w.throttle.succeeded(client())
            log.info("admin password set from %s", client())
            log_in()
            flash(t("setup-done"), "ok")
            return redirect(url_for("welcome.setup"))  # then the few questions of a first run
        elif error is None:
            log.warning("wrong setup code from %s", client())
            error = t("setup-wrong")
    return render_template("setup.html", error=error), 400 if error else 200


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    w = web()
    if logged_in():
        return redirect(url_for("pages.dashboard"))
    error = None
    if request.method == "POST":
        wait = w.throttle.attempt(client())
        if wait > 0:
            error = throttled(wait)
        elif w.auth.check_password(request.form.get("password", "")):
            w.throttle.succeeded(client())
            log_in()
            log.info("login from %s", client())
            return redirect(url_for("pages.dashboard"))
        else:
            log.warning("failed login from %s", client())
            error = t("login-wrong")
    status = 429 if error and error != t("login-wrong") else 401 if error else 200
    return render_template("login.html", error=error), status


@bp.route("/logout", methods=["POST"])
def logout() -> Any:
    log_out()
    flash(t("logged-out"), "ok")
    return redirect(url_for("signin.login"))


@bp.route("/lang/<code>", methods=["POST"])
def language(code: str) -> Any:
    if code in LANGS:
        session["lang"] = code
    back = request.form.get("next", "")
    return redirect(back if SAFE_NEXT.fullmatch(back) else "/")
