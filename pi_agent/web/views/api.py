"""The JSON API: the same data and actions as the page, for a device with an API token.

`Authorization: Bearer sg_...` on every request; the session cookie is not accepted here
(so no CSRF token is needed: a browser never adds a bearer token on its own). Failed
tokens count towards the client's throttle like failed logins.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, abort, g, request

from .. import history
from .common import client, web

bp = Blueprint("api", __name__, url_prefix="/api/v1")
log = logging.getLogger("settle-guard.web")


@bp.before_request
def authenticate() -> Any:
    w = web()
    wait = w.throttle.wait(client())
    if wait > 0:
        return {"error": f"too many failed attempts: wait {int(wait) + 1} s"}, 429
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    name = w.auth.check_token(token.strip()) if scheme.lower() == "bearer" else None
    if name is None:
        w.throttle.failed(client())
        return {"error": "an API token is needed: Authorization: Bearer <token>"}, 401
    w.throttle.succeeded(client())
    g.token_name = name
    return None


@bp.route("/status")
def status() -> Any:
    return web().control.snapshot().to_json()


@bp.route("/history/<kind>")
def history_rows(kind: str) -> Any:
    if kind not in history.KINDS:
        abort(404, description=f"unknown history {kind!r}: one of {', '.join(history.KINDS)}")
    return {kind: history.rows(web().control.db_path, kind)}


@bp.route("/settle", methods=["POST"])
def settle() -> Any:
    body = request.get_json(silent=True) or {}
    if body.get("confirm") is not True:
        return {"error": 'send {"confirm": true} to settle the open batch now'}, 400
    log.info("settle now requested through the API by %r", g.token_name)
    outcome = web().control.settle()
    return {"ok": outcome.ok, "outcome": outcome.key, **outcome.detail}, 200 if outcome.ok else 409
