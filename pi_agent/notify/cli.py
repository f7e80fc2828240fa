"""`settle-guard notify test|flush|ack`, `report` and `payouts`: the owner's side."""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import UTC, date, datetime

from .. import cliargs, config
from ..clock import SystemClock
from ..store import Store
from ..web.hosts import page_url
from . import messages, payouts
from .deliver import apprise_send, deliver_due, describe
from .outbox import Outbox, target_id

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_CONFIG = 0, 1, 2, 7


def add_arguments(add: object) -> None:
    def with_config(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("--config", metavar="PATH", default=os.environ.get("SETTLE_GUARD_CONFIG"),
                       help="config file (env SETTLE_GUARD_CONFIG)")  # fmt: skip
        return p

    n = with_config(add("notify", "push messages: send a test, deliver what waits, acknowledge"))  # type: ignore[operator]
    n.add_argument("action", choices=("test", "flush", "ack", "list"))
    n.add_argument("--target", type=int, metavar="N", help="only target N (1 = the first)")
    n.add_argument("--key", default="", help="ack: the alarm key (prefix); empty: all alarms")
    r = with_config(add("report", "print (or --send) the closing report of a day"))  # type: ignore[operator]
    r.add_argument("--date", type=date.fromisoformat, metavar="YYYY-MM-DD",
                   help="the trading day (default: the current one)")  # fmt: skip
    r.add_argument("--lang", choices=config.LOCALES)
    p = with_config(add("payouts", "expected payouts; mark one received"))  # type: ignore[operator]
    p.add_argument("--received", type=int, metavar="ID", help="mark payout ID received today")
    p.add_argument("--import", dest="statement", metavar="CSV",
                   help="a bank statement (CSV): payouts found among its credits are marked "
                        "received on their booking date")  # fmt: skip
    p.add_argument("--fee-max", type=cliargs.percent, default=3.0, metavar="PCT",
                   help="--import: a credit may be this much below the settled total "
                        "(the acquirer's fees; default 3)")  # fmt: skip
    p.add_argument("--date-column", metavar="NAME", help="--import: the booking date column")
    p.add_argument("--amount-column", metavar="NAME", help="--import: the credit amount column")
    p.add_argument("--dry-run", action="store_true", help="--import: show matches, mark nothing")


def run(args: argparse.Namespace) -> int:
    cfg = config.load_or_report(args.config or str(config.DEFAULT_PATH))
    if cfg is None:
        return EXIT_CONFIG
    store = Store(cfg.store.path)
    try:
        return {"notify": _notify, "report": _report, "payouts": _payouts}[args.command](
            args, cfg, store
        )
    finally:
        store.close()


def _notify(args: argparse.Namespace, cfg: config.Config, store: Store) -> int:
    outbox, now = Outbox(store), datetime.now(UTC)
    targets = list(cfg.notify.targets)
    if args.action == "list":
        for row in outbox.history(50):
            print(f"{row['id']:>5} {row['state']:<9} {row['kind']:<6} {row['level']:<6} "
                  f"{row['target']} {row['title']}")  # fmt: skip
        return EXIT_OK
    if args.action == "ack":
        print(f"{outbox.acknowledge(args.key, now)} alarm(s) acknowledged")
        return EXIT_OK
    if not targets:
        print("settle-guard: no push targets in [notify] targets", file=sys.stderr)
        return EXIT_CONFIG
    if args.target is not None:
        if not 1 <= args.target <= len(targets):
            print(f"settle-guard: --target {args.target}: there are {len(targets)} target(s)",
                  file=sys.stderr)  # fmt: skip
            return EXIT_USAGE
        targets = [targets[args.target - 1]]
    if args.action == "test":
        for t in targets:
            draft = messages.push_test(t.lang or cfg.panel.locale, now, cfg.zone,
                                       nonce=time.time_ns())  # fmt: skip
            outbox.put(draft, target_id(t.url), now)
    deliver_due(outbox, targets, now, apprise_send, page_url(cfg.web))
    waiting = {m.target for m in outbox.pending() if m.sends == 0}
    failed = 0
    for t in targets:
        ok = target_id(t.url) not in waiting
        failed += not ok
        print(f"{describe(t)}: {'delivered' if ok else 'NOT delivered (kept; retried later)'}")
    return EXIT_FAILED if failed else EXIT_OK


def _report(args: argparse.Namespace, cfg: config.Config, store: Store) -> int:
    from ..guard.tradingday import TradingCalendar
    from .calendar import BusinessCalendar
    from .planner import day_report

    day = args.date or TradingCalendar(cfg.zone, cfg.schedule.cutoff).trading_day(
        SystemClock().now()
    )
    latest = store.latest_reading("totals")
    t = latest[1] if latest else {}
    report = day_report(store, BusinessCalendar(config.calendar_spec(cfg)), cfg, day,
                        currency=cfg.currency_code,
                        open_batch=(t.get("count", 0), t.get("total_minor", 0)))  # fmt: skip
    d = messages.report(report, args.lang or cfg.panel.locale, cfg.zone)
    print(d.title)
    print(d.body)
    return EXIT_OK


def _payouts(args: argparse.Namespace, cfg: config.Config, store: Store) -> int:
    if args.statement is not None:
        return _import(args, cfg, store)
    if args.received is not None:
        today = datetime.now(cfg.zone).date()
        p = payouts.mark_received(store, args.received, today)
        if p is None:
            print(f"settle-guard: --received {args.received}: no such payout", file=sys.stderr)
            return EXIT_USAGE
        print(f"payout {p.id} ({p.trading_day}) marked received on {p.received_on}")
        return EXIT_OK
    for p in payouts.payouts(store):
        state = f"received {p.received_on}" if p.received_on else "expected"
        amount = messages.format_amount(p.amount, p.currency)
        print(f"{p.id:>4}  {p.trading_day}  {p.count:>4} payments  {amount:>14}  "
              f"{state} {'' if p.received_on else p.expected_on}")  # fmt: skip
    return EXIT_OK


def _import(args: argparse.Namespace, cfg: config.Config, store: Store) -> int:
    from ..money import decimals
    from . import statement

    where = args.statement
    try:
        with open(where, "rb") as f:
            raw = f.read()
        credits, skipped = statement.read(raw, places=decimals(cfg.currency_code),
                                          date_column=args.date_column,
                                          amount_column=args.amount_column)  # fmt: skip
    except OSError as exc:
        print(f"settle-guard: --import {where}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_USAGE
    except statement.StatementError as exc:
        print(f"settle-guard: {where}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    for note in skipped:
        print(f"settle-guard: {where}: {note}", file=sys.stderr)
    open_payouts = [p for p in payouts.payouts(store, limit=500) if p.received_on is None]
    found = statement.match(open_payouts, credits, fee_max=args.fee_max / 100)
    matched = {p.id for p, _ in found}
    for p, c in found:
        if not args.dry_run:
            payouts.mark_received(store, p.id, c.booked)
        fee = messages.format_amount(p.amount - c.amount, p.currency)
        print(f"payout {p.id} ({p.trading_day}, {messages.format_amount(p.amount, p.currency)}): "
              f"received {c.booked} ({messages.format_amount(c.amount, p.currency)}, fee {fee}; "
              f"line {c.line}{': ' + c.text if c.text else ''})")  # fmt: skip
    for p in open_payouts:
        if p.id not in matched:
            print(f"payout {p.id} ({p.trading_day}, {messages.format_amount(p.amount, p.currency)}"
                  f"): expected {p.expected_on}, not in this statement")  # fmt: skip
    print(f"{len(credits)} credit(s) read, {len(found)} payout(s) "
          f"{'would be ' if args.dry_run else ''}marked received")  # fmt: skip
    return EXIT_OK
