"""The JSON API: the same data and actions as the page, for a device with an API token.

`Authorization: Bearer sg_...` on every request; the session cookie is not accepted here
(so no CSRF token is needed: a browser never adds a bearer token on its own). Each token
may do only what its scopes allow (read, acknowledge, settle). Bad tokens are throttled
per client, apart from the page's logins; a request with no token at all costs nothing,
so nobody can lock the technician out by merely asking.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Blueprint, abort, g, request

from ...terminal.registry import Capability, capabilities
from .. import history
from .common import client, web

bp = Blueprint("api", __name__, url_prefix="/api/v1")
log = logging.getLogger("settle-guard.web")
F = TypeVar("F", bound=Callable[..., Any])
SCOPE_OF: dict[str, str] = {}  # endpoint -> the scope it needs; an endpoint without one: 403


def needs(scope: str) -> Callable[[F], F]:
    def mark(view: F) -> F:
        SCOPE_OF[f"{bp.name}.{view.__name__}"] = scope
        return view

    return mark


@bp.before_request
def authenticate() -> Any:
    w = web()
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return {"error": "an API token is needed: Authorization: Bearer <token>"}, 401
    wait = w.api_throttle.attempt(client())
    if wait > 0:
        return {"error": f"too many failed attempts: wait {int(wait) + 1} s"}, 429
    found = w.auth.check_token(token)
    if found is None:
        return {"error": "this API token is not valid"}, 401
    w.api_throttle.refund(client())  # only this good try: earlier failures stay counted
    g.token = found
    needed = SCOPE_OF.get(request.endpoint or "")
    if request.endpoint is not None and needed not in found.scopes:  # None: Flask's 404
        return {"error": f"this token may not do this: it needs the scope {needed!r}"}, 403
    return None


@bp.route("/status")
@needs("read")
def status() -> Any:
    return web().control.snapshot().to_json()


@bp.route("/history/<kind>")
@needs("read")
def history_rows(kind: str) -> Any:
    if kind not in history.KINDS:
        abort(404, description=f"unknown history {kind!r}: one of {', '.join(history.KINDS)}")
    return {kind: history.rows(web().control.db_path, kind)}


@bp.route("/acknowledge", methods=["POST"])
@needs("acknowledge")
def acknowledge() -> Any:
    """As a short press of the panel's button: snooze the buzzer (and decline the prompt),
    quieten the alarms about what happened, stop the pushes' repeats."""
    log.info("acknowledged through the API by %r", g.token.name)
    outcome = web().control.acknowledge(f"api:{g.token.name}")
    return {"ok": outcome.ok, "outcome": outcome.key}


@bp.route("/settle", methods=["POST"])
@needs("settle")
def settle() -> Any:
    try:
        body = request.get_json(silent=True) or {}
    except RecursionError:  # JSON nested thousands deep
        body = {}
    if not isinstance(body, dict) or body.get("confirm") is not True:
        return {"error": 'send {"confirm": true} to settle the open batch now'}, 400
    if Capability.SETTLE not in capabilities(web().control.cfg.terminal.protocol):
        return {"error": "this terminal's protocol cannot settle from here"}, 404
    log.info("settle now requested through the API by %r", g.token.name)
    outcome = web().control.settle()
    return {"ok": outcome.ok, "outcome": outcome.key, **outcome.detail}, 200 if outcome.ok else 409
