"""Dashboard (with the OLED mirror and the turnover chart), tests, actions and history."""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for

from ...money import format_amount, format_minor
from ...terminal.registry import Capability, capabilities
from .. import history
from ..chart import turnover_svg
from .common import ID_MAX, check_password, lang, login_required, run_action, say, t, web

bp = Blueprint("pages", __name__)
log = logging.getLogger("settle-guard.web")


def _duration(seconds: int) -> str:
    seconds = abs(seconds)
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}"


@bp.route("/")
@login_required
def dashboard() -> Any:
    control = web().control
    snap = control.snapshot()
    cfg = control.cfg
    local_today = snap.at.astimezone(cfg.zone).date()
    totals = history.turnover(control.db_path, local_today)
    chart = turnover_svg(totals, local_today, cfg.currency_code, title=t("turnover"))
    to_cutoff = int((snap.cutoff - snap.at).total_seconds()) if snap.cutoff else None
    return render_template(
        "dashboard.html",
        snap=snap,
        chart=chart,
        cfg=cfg,
        to_cutoff=to_cutoff,
        duration=_duration,
        money=lambda minor: format_amount(minor, cfg.currency_code),
        settlements=history.settlements(control.db_path, 5),
        local=lambda at: at.astimezone(cfg.zone).strftime("%Y-%m-%d %H:%M") if at else "",
    )


@bp.route("/acknowledge", methods=["POST"])
@login_required
def acknowledge() -> Any:
    """As a short press of the panel's button; moves no money, so no password again."""
    run_action(lambda: web().control.acknowledge("page"))
    return redirect(url_for("pages.dashboard")), 303


@bp.route("/oled.png")
@login_required
def oled() -> Response:
    return Response(web().control.oled_png(), mimetype="image/png")


@bp.route("/tests")
@login_required
def tests() -> Any:
    control = web().control
    pending = None
    raw = request.args.get("push", "")
    # A push test on its way: its latest word. ASCII and short: int() refuses "²" and
    # numbers of 4,300 digits or more, which isdigit() lets through.
    if raw.isascii() and raw.isdecimal() and len(raw) <= 19:
        message_id = int(raw)
        pending = {"id": message_id, **_push_state(message_id)}
    return render_template("tests.html", targets=control.cfg.notify.targets, pending=pending)


def _push_state(message_id: int) -> dict[str, Any]:
    outcome = web().control.push_result(message_id)
    if outcome is None:
        return {"done": False, "ok": False, "text": t("push-sending")}
    values = {k: v for k, v in outcome.detail.items() if isinstance(v, str | int)}
    return {"done": True, "ok": outcome.ok, "text": t(outcome.key, **values)}


@bp.route("/tests/push/<int:message_id>")
@login_required
def push_result(message_id: int) -> Any:
    """A push test's outcome for the page's script: asked again until `done`."""
    return _push_state(message_id)


@bp.route("/tests/<name>", methods=["POST"])
@login_required
def run_test(name: str) -> Any:
    control = web().control
    calls = {
        "poll": control.poll_now,
        "buzzer": control.test_buzzer,
        "light": control.test_light,
        "oled": control.test_oled,
    }
    if name == "push":
        index = request.form.get("target", "")
        if not (index.isascii() and index.isdecimal() and len(index) <= 4):  # not "²", not 10**30
            abort(404)
        outcome = control.push_test(int(index) - 1)  # queued: answered at once
        if not outcome.ok:
            say(outcome)
            return redirect(url_for("pages.tests"))
        return redirect(url_for("pages.tests", push=outcome.detail["id"]))
    elif name in calls:
        run_action(calls[name])
    else:
        abort(404)
    return redirect(url_for("pages.tests"))


# The terminal actions the page offers: (route name, text key, what the protocol must offer).
TERMINAL_ACTIONS = (("sign-in", "a-sign-in", Capability.SIGN_IN),
                    ("diagnosis", "a-diagnosis", Capability.DIAGNOSIS),
                    ("clock", "a-clock", Capability.SET_CLOCK))  # fmt: skip


def offered() -> list[tuple[str, str]]:
    """The terminal actions this terminal's protocol can do: no button for the others."""
    can = capabilities(web().control.cfg.terminal.protocol)
    return [(name, label) for name, label, need in TERMINAL_ACTIONS if need in can]


@bp.route("/actions")
@login_required
def actions() -> Any:
    can = capabilities(web().control.cfg.terminal.protocol)
    return render_template("actions.html", snap=web().control.snapshot(), offered=offered(),
                           can_settle=Capability.SETTLE in can,
                           can_force=Capability.FORCE_SETTLE in can)  # fmt: skip


@bp.route("/actions/settle", methods=["POST"])
@login_required
def settle() -> Any:
    return _closing(Capability.SETTLE, "settle now", web().control.settle)


@bp.route("/actions/force-close", methods=["POST"])
@login_required
def force_close() -> Any:
    return _closing(Capability.FORCE_SETTLE, "force close", web().control.force_close)


def _closing(need: Capability, what: str, call: Callable[[], Any]) -> Any:
    """Moves money: only what the protocol offers, confirmed, with the password typed again."""
    if need not in capabilities(web().control.cfg.terminal.protocol):
        abort(404)
    if request.form.get("confirm") != "yes":
        flash(t("confirm-needed"), "error")
        return redirect(url_for("pages.actions")), 303
    problem = check_password()
    if problem:
        flash(problem, "error")
        return redirect(url_for("pages.actions")), 303
    log.info("%s requested on the web page", what)
    run_action(call)
    return redirect(url_for("pages.actions")), 303


@bp.route("/actions/<name>", methods=["POST"])
@login_required
def terminal_action(name: str) -> Any:
    control = web().control
    if name not in dict(offered()):
        abort(404)
    if name == "sign-in":
        run_action(control.sign_in)
    elif name == "diagnosis":
        run_action(lambda: control.sign_in(diagnosis=True))
    elif name == "clock":
        run_action(control.set_clock)
    else:
        abort(404)
    return redirect(url_for("pages.actions")), 303


@bp.route("/history")
@login_required
def history_page() -> Any:
    return _history()


def _history(preview: dict[str, Any] | None = None, raw: bytes = b"") -> Any:
    control = web().control
    cfg = control.cfg
    return render_template(
        "history.html",
        preview=preview,
        statement_b64=base64.b64encode(raw).decode("ascii") if preview else "",
        events=history.in_words(
            history.events(control.db_path, 200), history.settlements(control.db_path, 200), lang()
        ),
        settlements=history.settlements(control.db_path, 50),
        payouts=history.payouts(control.db_path, 60),
        money=lambda minor, cur=cfg.currency_code: format_minor(minor, cur),
        local=lambda at: at.astimezone(cfg.zone).strftime("%Y-%m-%d %H:%M") if at else "",
        local_iso=lambda text: (
            datetime.fromisoformat(text).astimezone(cfg.zone).strftime("%Y-%m-%d %H:%M:%S")
        ),
    )


@bp.route(f"/history/payouts/<int(max={ID_MAX}):payout_id>/received", methods=["POST"])
@login_required
def mark_received(payout_id: int) -> Any:
    run_action(lambda: web().control.mark_received(payout_id))
    return redirect(url_for("pages.history_page")), 303


@bp.route("/history/statement", methods=["POST"])
@login_required
def statement() -> Any:
    """A bank statement (CSV) against the open payouts: a preview first (nothing changes),
    then the same file again with "apply" marks the matched ones received."""
    upload = request.files.get("file")
    try:  # the preview's "apply" sends the file back, so it need not be chosen again
        raw = upload.read() if upload else base64.b64decode(request.form.get("statement", ""))
    except ValueError:
        raw = b""
    if not raw:
        flash(t("statement-none"), "error")
        return redirect(url_for("pages.history_page")), 303
    apply = request.form.get("apply") == "yes"
    outcome = web().control.statement(raw, apply=apply)
    if not outcome.ok:
        flash(t("statement-bad").format(outcome.detail.get("error", "")), "error")
        return redirect(url_for("pages.history_page")), 303
    if apply:
        flash(t("statement-applied").format(len(outcome.detail["matched"])), "ok")
        return redirect(url_for("pages.history_page")), 303
    return _history(preview=outcome.detail, raw=raw)


@bp.route("/history/<kind>.csv")
@login_required
def export(kind: str) -> Response:
    if kind not in history.KINDS:
        abort(404)
    body = history.to_csv(history.rows(web().control.db_path, kind))
    return Response(
        body,
        mimetype="text/csv",
        headers={"Content-Disposition": f"attachment; filename={kind}.csv"},
    )
