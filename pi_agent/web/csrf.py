"""CSRF: one random token per session, required on every state-changing request.

Forms carry it as the `csrf` field, scripts as the `X-CSRF-Token` header. The JSON API
is exempt because it never accepts the session cookie, only bearer tokens, which a
browser does not send on its own.
"""

from __future__ import annotations

import hmac
import secrets

from flask import abort, request, session

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def token() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return str(session["csrf"])


def protect() -> None:
    """Before every request: refuse a state change without this session's token."""
    if request.method in SAFE_METHODS or request.blueprint == "api":
        return
    given = request.form.get("csrf") or request.headers.get("X-CSRF-Token") or ""
    expected = session.get("csrf")
    if not expected or not hmac.compare_digest(given.encode(), str(expected).encode()):
        abort(400, description="csrf")
