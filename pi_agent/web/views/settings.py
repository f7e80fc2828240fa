"""Configuration (every field, per-field errors, nothing saved on any error), backup and
restore, and access: the admin password and API tokens."""

from __future__ import annotations

import logging
import tomllib
from typing import Any

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for

from ... import config
from .. import forms
from ..auth import SCOPES, password_problem
from ..server import bind_problem
from .common import ID_MAX, check_password, log_in, log_out, login_required, t, web

bp = Blueprint("settings", __name__)
log = logging.getLogger("settle-guard.web")


def _apply(new: config.Config) -> None:
    """Save atomically (0600), then have the guard rebuilt from the file."""
    w = web()
    config.save(new, w.config_path)
    log.info("configuration saved from the web page; reloading the guard")
    w.control.reload()


def machine_errors(new: config.Config, current: config.Config) -> dict[str, str]:
    """What only this machine can tell, asked before saving so that the guard restarts
    with it: the database folder is writable, a new page address can be listened on
    (the current one is held by this very page, so it is not asked again)."""
    errors = forms.error_map(config.ConfigError(config.environment_errors(new)))
    moved = (new.web.listen, new.web.enabled) != (current.web.listen, current.web.enabled)
    if new.web.enabled and moved:
        problem = bind_problem(new.web.listen)
        if problem:
            errors["web.listen"] = t(problem[0], **problem[1])
    return errors


@bp.route("/config", methods=["GET", "POST"])
@login_required
def edit() -> Any:
    w = web()
    current = w.control.cfg
    if request.method == "GET":
        return render_template("config.html", groups=forms.groups(current), errors={})
    errors = checked_save(current, forms.to_data(request.form, current))
    if errors:
        flash(t("config-errors"), "error")
        page = render_template(
            "config.html", groups=forms.groups(current, request.form), errors=errors
        )
        return page, 400
    flash(t("config-saved"), "ok")
    return redirect(url_for("settings.edit")), 303


def checked_save(current: config.Config, data: dict[str, Any]) -> dict[str, str]:
    """Check the submitted config `data` (TOML-shaped), ask for the password again
    (`confirm_password`) if a gated field changes, then this machine; save and apply only
    when all is well. Returns the problems by field (section.name), none when saved."""
    try:
        new = config.from_dict(data)
    except config.ConfigError as exc:
        return forms.error_map(exc)
    # The password first: the machine's answers (a port in use, a file that exists)
    # are about gated fields, and an open session alone may not probe them.
    if forms.gated_changes(current, new):
        problem = check_password("confirm_password")
        if problem:
            return {"confirm_password": problem}
    errors = machine_errors(new, current)
    if not errors:
        _apply(new)
    return errors


@bp.route("/config/backup", methods=["GET", "POST"])
@login_required
def backup() -> Any:
    """GET: the config with secrets masked. POST with the password: with its secrets."""
    secrets = request.method == "POST"
    if secrets:
        problem = check_password()
        if problem:
            flash(problem, "error")
            return redirect(url_for("settings.edit")), 303
        log.info("configuration backup with secrets downloaded")
    body = config.dumps(web().control.cfg, mask_secrets=not secrets)
    name = "settle-guard-config" + ("-with-secrets" if secrets else "") + ".toml"
    return Response(
        body,
        mimetype="application/toml",
        headers={"Content-Disposition": f"attachment; filename={name}"},
    )


@bp.route("/config/restore", methods=["POST"])
@login_required
def restore() -> Any:
    problem = check_password()
    if problem:
        flash(problem, "error")
        return redirect(url_for("settings.edit")), 303
    upload = request.files.get("file")
    try:
        data = tomllib.loads((upload.read() if upload else b"").decode("utf-8"))
        missing = forms.fill_masked(data, web().control.cfg)
        if missing:
            flash(t("restore-secret-missing").format(missing), "error")
            return redirect(url_for("settings.edit")), 303
        new = config.from_dict(data, "backup")
        problems = machine_errors(new, web().control.cfg)
        if problems:
            flash(t("restore-bad").format("; ".join(f"{k}: {v}" for k, v in problems.items())),
                  "error")  # fmt: skip
            return redirect(url_for("settings.edit")), 303
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        flash(t("restore-bad").format(type(exc).__name__), "error")
        return redirect(url_for("settings.edit")), 303
    except RecursionError:  # arrays nested thousands deep: tomllib recurses per level
        flash(t("restore-bad").format(t("restore-deep")), "error")
        return redirect(url_for("settings.edit")), 303
    except config.ConfigError as exc:
        flash(t("restore-bad").format("; ".join(str(e) for e in exc.errors)), "error")
        return redirect(url_for("settings.edit")), 303
    _apply(new)
    flash(t("config-saved"), "ok")
    return redirect(url_for("settings.edit")), 303


@bp.route("/access")
@login_required
def access() -> Any:
    return render_template("access.html", tokens=web().auth.tokens(), new_token=None)


@bp.route("/access/password", methods=["POST"])
@login_required
def change_password() -> Any:
    problem = check_password("current")
    if problem is None:
        key = password_problem(request.form.get("new", ""), request.form.get("again", ""))
        problem = t(key) if key else None
    if problem:
        flash(problem, "error")
        return redirect(url_for("settings.access")), 303
    auth = web().auth
    auth.set_password(request.form["new"])  # ends every session
    log_in()  # this one goes on, under a new id
    revoke = {int(i) for i in request.form.getlist("revoke") if i.isdecimal() and len(i) < 19}
    gone = sum(auth.delete_token(i) for i in revoke)
    log.info("admin password changed on the web page; %d API token(s) revoked", gone)
    flash(t("password-changed"), "ok")
    if gone:
        flash(t("tokens-revoked").format(gone), "ok")
    return redirect(url_for("settings.access")), 303


@bp.route("/access/logout-all", methods=["POST"])
@login_required
def logout_all() -> Any:
    """Every session ends, this one too (API tokens are revoked one by one)."""
    web().auth.end_sessions()
    log_out()
    log.info("logged out everywhere from the web page")
    flash(t("logged-out-all"), "ok")
    return redirect(url_for("signin.login")), 303


@bp.route("/access/tokens", methods=["POST"])
@login_required
def create_token() -> Any:
    """A token does what its scopes allow without a password, so choosing them needs one."""
    name = request.form.get("name", "").strip()[:60]
    scopes = [s for s in request.form.getlist("scope") if s in SCOPES]
    problem = (t("name-needed") if not name else t("scope-needed") if not scopes
               else check_password())  # fmt: skip
    if problem:
        flash(problem, "error")
        return redirect(url_for("settings.access")), 303
    _, token = web().auth.create_token(name, scopes)
    log.info("API token created for %r with scopes %s", name, ", ".join(scopes))
    return render_template("access.html", tokens=web().auth.tokens(), new_token=token)


@bp.route(f"/access/tokens/<int(max={ID_MAX}):token_id>/delete", methods=["POST"])
@login_required
def delete_token(token_id: int) -> Any:
    if web().auth.delete_token(token_id):
        flash(t("token-deleted"), "ok")
    return redirect(url_for("settings.access")), 303
