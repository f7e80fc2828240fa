"""The technician's web page: a Flask app served by waitress from the agent's process.

`create_app(control, config_path, auth)` builds it. The page owns nothing of the guard:
it reads snapshots and posts requests through `control` (see control.py), writes the
config file (then asks for a reload) and its own auth data (auth.py). Flask is imported
only when the page is enabled, so a guard without it stays small.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from .auth import AuthStore, SetupCode, Throttle

if TYPE_CHECKING:
    from flask import Flask

    from .control import Control

__all__ = ["create_app"]

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
       "connect-src 'self'; "  # the push test's outcome, asked for by page.js
       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")  # fmt: skip


def create_app(
    control: Control,
    config_path: str | Path,
    auth: AuthStore,
    *,
    throttle: Throttle | None = None,
    api_throttle: Throttle | None = None,
    setup: SetupCode | None = None,
) -> Flask:
    from flask import Flask, Response, request

    from . import csrf
    from .hosts import OwnNames
    from .views import api, common, pages, settings, signin, welcome

    app = Flask(__name__)
    app.secret_key = auth.secret_key()
    app.config.update(
        # Strict: the page is always opened by typing its address, never followed from
        # another site, so a cookie that never rides along cross-site costs nothing.
        SESSION_COOKIE_NAME="sg_session", SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict", PERMANENT_SESSION_LIFETIME=timedelta(hours=12),
        MAX_CONTENT_LENGTH=256 * 1024,
    )  # fmt: skip
    setup = setup or SetupCode(control.show_setup_code)
    throttle = throttle or Throttle()
    api_throttle = api_throttle or Throttle(clock=throttle.clock)
    app.extensions["settle-guard"] = common.Web(control, Path(config_path), auth, throttle,
                                                api_throttle, setup)  # fmt: skip
    if not auth.has_password():
        setup.ensure()  # the display shows the code from the start
    own = OwnNames()

    @app.before_request
    def known_host() -> Response | None:
        """First of all: a page under a foreign name (DNS rebinding) is never served."""
        if own.allows(request.environ.get("HTTP_HOST", ""), control.cfg.web.allowed_hosts):
            return None
        return Response(common.t("unknown-host") + "\n", 400, mimetype="text/plain")

    app.before_request(csrf.protect)
    app.before_request(common.first_run)

    @app.after_request
    def headers(response):  # type: ignore[no-untyped-def]
        h = response.headers
        h["Content-Security-Policy"] = CSP
        h["X-Frame-Options"] = "DENY"
        h["X-Content-Type-Options"] = "nosniff"
        h["Referrer-Policy"] = "no-referrer"
        h["Cross-Origin-Opener-Policy"] = "same-origin"
        h["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
        if request.endpoint != "static":
            h["Cache-Control"] = "no-store"
        return response

    for blueprint in (signin.bp, pages.bp, settings.bp, welcome.bp, api.bp):
        app.register_blueprint(blueprint)
    common.install_error_pages(app)
    app.context_processor(common.template_globals)
    return app
