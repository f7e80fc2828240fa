"""`settle-guard fleet watch`: every shop's guard on one screen, from the chain's MQTT broker.

The first half of this file is pure: a `Fleet` takes (topic, payload) messages and keeps
one row per shop, sorts the rows worst first and renders them as text or JSON. It never
touches a socket, a clock or a terminal, so it is tested with byte strings. The second
half is the shell: a paho client hands every message to the main thread through a queue
(the main thread owns the table), and the table is redrawn in place on a terminal, printed
as one JSON line per change for scripts, or printed once after `--once SECONDS`.

What arrives is read as untrusted: a document that is not JSON, has the wrong types, is
larger than 64 KB, names another shop, or sits on a topic outside the layout is counted and
shown as "bad data from ..." and never stops the watch; a shop's last good state stays.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import re
import signal
import sys
import time
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from ..snapshot import SCHEMA
from .topics import OFFLINE, ONLINE, Broker, every_availability, every_state, parse_broker

HELP = "watch every shop's guard on the chain's MQTT broker"
MAX_DOCUMENT = 64 * 1024  # a guard's state is about 1 KB; more is not a guard speaking
LEVELS = ("ok", "info", "warn", "urgent", "overdue", "fault")
PASSWORD_ENV = "SETTLE_GUARD_MQTT_PASSWORD"
REDRAW = 0.25  # seconds between redraws (and between --json lines) at most
# A guard sends its state at least once a minute (a heartbeat) while it runs: three missed
# ones and an "online" guard is silent (its loop stuck, or its clock far off ours).
SILENT_AFTER = timedelta(minutes=3)

# Sort order, worst first: a shop we cannot see is as bad as one that says it is broken.
_RANK = {"fault": 0, "overdue": 0, "urgent": 1, "warn": 2, None: 3, "info": 4, "ok": 5}
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


class BadData(ValueError):
    """A message the watch cannot use; its text says why, in a few words."""


# -- the table (pure)


@dataclass(frozen=True, slots=True)
class ShopState:
    """What a guard's state document says, checked and reduced to what the table shows."""

    level: str
    at: str
    name: str = ""
    alarms: tuple[str, ...] = ()
    acknowledged: bool = False
    minutes_to_cutoff: int | None = None
    batch_count: int | None = None
    batch_total: str | None = None
    currency: str | None = None
    last_at: str | None = None
    last_state: str | None = None
    last_verified: bool | None = None


@dataclass(frozen=True, slots=True)
class Link:
    online: bool
    since: datetime  # when the watch learned it
    exact: bool  # False: a retained message, so it has been so since `since` at the latest


@dataclass(frozen=True, slots=True)
class Row:
    shop: str
    state: ShopState | None = None
    link: Link | None = None

    @property
    def offline(self) -> bool:
        return self.link is not None and not self.link.online

    @property
    def rank(self) -> int:
        return 0 if self.offline else _RANK[self.state.level if self.state else None]

    def silent(self, now: datetime) -> bool:
        """Online (or never said otherwise), but its state has not come for a while."""
        if self.state is None or self.offline:
            return False
        return now - datetime.fromisoformat(self.state.at) > SILENT_AFTER


@dataclass
class Bad:
    count: int
    why: str


@dataclass
class Fleet:
    """Every shop seen under one prefix; `receive` is the only way in."""

    prefix: str
    rows: dict[str, Row] = field(default_factory=dict)
    bad: dict[str, Bad] = field(default_factory=dict)  # by shop (or topic, outside the layout)
    bad_total: int = 0

    def receive(self, topic: str, payload: bytes, *, retained: bool, now: datetime) -> bool:
        """Take one message; True when the table changed."""
        parts = topic.split("/")
        if len(parts) != 3 or parts[0] != self.prefix or not parts[1] or parts[2] not in (
            "state", "availability"
        ):  # fmt: skip
            return self._bad(topic, f"topic outside {self.prefix}/SHOP/state|availability")
        shop, kind = parts[1], parts[2]
        row = self.rows.get(shop, Row(shop))
        try:
            if kind == "state":
                if not payload:  # a retained empty message: the shop is gone
                    self.bad.pop(shop, None)
                    return self.rows.pop(shop, None) is not None
                row = replace(row, state=parse_state(shop, payload))
            elif not payload:
                row = replace(row, link=None)
            else:
                row = replace(row, link=_link(payload, row.link, retained=retained, now=now))
        except BadData as exc:
            return self._bad(shop, str(exc))
        if row.state is None and row.link is None:
            return self.rows.pop(shop, None) is not None
        changed = self.rows.get(shop) != row
        self.rows[shop] = row
        return changed

    def _bad(self, source: str, why: str) -> bool:
        self.bad_total += 1
        seen = self.bad.setdefault(source, Bad(0, why))
        seen.count, seen.why = seen.count + 1, why
        return True

    def sorted(self, now: datetime | None = None) -> list[Row]:
        """Worst first: offline and silent guards, then by level; ties by shop."""
        return sorted(self.rows.values(),
                      key=lambda r: (0 if now and r.silent(now) else r.rank, r.shop))  # fmt: skip

    def counts(self, now: datetime | None = None) -> dict[str, int]:
        rows = self.rows.values()
        counts = {"shops": len(self.rows), "offline": sum(r.offline for r in rows),
                  "silent": sum(bool(now and r.silent(now)) for r in rows)}  # fmt: skip
        for level in reversed(LEVELS):
            counts[level] = sum(1 for r in rows if r.state and r.state.level == level)
        counts["unknown"] = sum(1 for r in rows if r.state is None)
        return counts

    def to_json(self, now: datetime) -> dict[str, Any]:
        return {
            "at": now.isoformat(timespec="seconds"),
            "prefix": self.prefix,
            "counts": self.counts(now),
            "shops": [_row_json(r, now) for r in self.sorted(now)],
            "bad": [
                {"from": k, "count": v.count, "why": v.why} for k, v in sorted(self.bad.items())
            ],
            "bad_total": self.bad_total,
        }


def _link(payload: bytes, old: Link | None, *, retained: bool, now: datetime) -> Link:
    if payload not in (ONLINE.encode(), OFFLINE.encode()):
        raise BadData(f"availability is not {ONLINE!r} or {OFFLINE!r}")
    online = payload == ONLINE.encode()
    if old is not None and old.online == online:
        return old  # a repeated birth message: it has been so since before
    return Link(online, now, exact=not retained)


def parse_state(shop: str, payload: bytes) -> ShopState:
    """The parts of a guard's state document (pi_agent/snapshot.py) the table shows."""
    if len(payload) > MAX_DOCUMENT:
        raise BadData(f"state of {len(payload)} bytes (at most {MAX_DOCUMENT})")
    try:
        doc = json.loads(payload)
    except (ValueError, RecursionError):  # also bytes that are not UTF-8
        raise BadData("state is not JSON") from None
    if not isinstance(doc, dict):
        raise BadData("state is not a JSON object")
    schema = _take(doc, "schema", int)
    if schema > SCHEMA:
        raise BadData(f"state schema {schema} is newer than this watch reads ({SCHEMA})")
    said = _take(doc, "shop", str, optional=True)
    if said is not None and said != shop:
        raise BadData(f"state says it is shop {_clean(said)[:40]!r}")
    level = _take(doc, "level", str)
    if level not in LEVELS:
        raise BadData(f"state level {_clean(level)[:20]!r} is unknown")
    alarms = _take(doc, "alarms", list)
    if not all(isinstance(a, str) for a in alarms):
        raise BadData("state alarms are not all text")
    batch = _take(doc, "batch", dict)
    last = _take(doc, "last_settlement", dict, optional=True)
    last_at = None
    if last is not None:
        last_at = _take(last, "at", str, where="last_settlement.")
        _time(last_at, "last_settlement.at")
    at = _take(doc, "at", str)
    _time(at, "at")

    def text(d: dict[str, Any], key: str, where: str) -> str | None:
        return _clean(_take(d, key, str, optional=True, where=where) or "") or None

    return ShopState(
        level=level, at=at, name=text(doc, "shop_name", "") or "",
        alarms=tuple(_clean(a) for a in alarms),
        acknowledged=_take(doc, "acknowledged", bool, optional=True) or False,
        minutes_to_cutoff=_take(doc, "minutes_to_cutoff", int, optional=True),
        batch_count=_take(batch, "count", int, optional=True, where="batch."),
        batch_total=text(batch, "total", "batch."), currency=text(batch, "currency", "batch."),
        last_at=last_at,
        last_state=None
        if last is None else _clean(_take(last, "state", str, where="last_settlement.")),
        last_verified=None
        if last is None else _take(last, "verified", bool, optional=True, where="last_settlement."),
    )  # fmt: skip


def _take(doc: dict[str, Any], key: str, kind: type, *, optional: bool = False,
          where: str = "") -> Any:  # fmt: skip
    value = doc.get(key)
    if value is None and optional:
        return None
    # JSON true is not a number here, and a number is not true.
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        missing = "" if optional else " (or missing)"
        raise BadData(f"state {where}{key} is not {kind.__name__}{missing}")
    return value


def _time(text: str, name: str) -> None:
    try:
        datetime.fromisoformat(text)
    except ValueError:
        raise BadData(f"state {name} is not a time") from None


def _clean(text: str) -> str:
    """No control characters reach the screen (a shop name could otherwise move the cursor)."""
    return _CONTROL.sub("?", text)


def _row_json(r: Row, now: datetime) -> dict[str, Any]:
    s, link = r.state, r.link
    return {
        "shop": r.shop,
        "name": s.name if s else "",
        "level": s.level if s else None,
        "online": None if link is None else link.online,
        "silent": r.silent(now),
        "since": None if link is None else link.since.isoformat(timespec="seconds"),
        "since_exact": None if link is None else link.exact,
        "at": s.at if s else None,
        "batch": None
        if s is None
        else {"count": s.batch_count, "total": s.batch_total, "currency": s.currency},
        "minutes_to_cutoff": s.minutes_to_cutoff if s else None,
        "last_settlement": None
        if s is None or s.last_at is None
        else {"at": s.last_at, "state": s.last_state, "verified": s.last_verified},
        "alarms": list(s.alarms) if s else [],
        "acknowledged": s.acknowledged if s else False,
    }


# -- rendering (pure)

_COLOURS = {"fault": "1;31", "overdue": "1;31", "offline": "1;31", "urgent": "31",
            "warn": "33", "info": "36", "ok": "32"}  # fmt: skip
_COLUMNS = ("LEVEL", "SHOP", "OPEN BATCH", "CUTOFF", "LAST SETTLED", "LINK", "ALARMS")
_CAPS = (8, 36, 24, 10, 30, 22, 200)


def render(fleet: Fleet, now: datetime, *, title: str = "", width: int = 120,
           height: int | None = None, colour: bool = False) -> list[str]:  # fmt: skip
    """The table as lines of at most `width` characters; with `height`, the worst rows that
    fit and a line saying how many more there are."""
    counts = fleet.counts(now)
    summary = ", ".join(f"{counts[k]} {k}" for k in ("offline", "silent", *reversed(LEVELS),
                                                       "unknown")
                        if counts[k])  # fmt: skip
    head = f"{title}  " if title else ""
    shops = f"{counts['shops']} shop{'s' * (counts['shops'] != 1)}"
    lines = [f"{head}{shops}{': ' + summary if summary else ''}  "
             f"{now:%H:%M:%S}"[:width]]  # fmt: skip
    rows = fleet.sorted(now)
    bad = [f"bad data from {_clean(k)}: {v.why} ({v.count} message{'s' * (v.count != 1)})"
           for k, v in sorted(fleet.bad.items())]  # fmt: skip
    if height is not None and 3 + len(rows) + (1 + len(bad) if bad else 0) > height:
        bad = bad[:3]  # title, blank, column names, rows; blank, "... more", bad data
        room = max(height - 3 - 1 - len(bad), 1)
        if len(rows) > room:
            room = max(room - 1, 1)
            rows, more = rows[:room], len(rows) - room
            bad = [f"... and {more} more shops", *bad]
        bad = bad[: max(height - 3 - len(rows) - 1, 0)]
    cells = [_COLUMNS, *(_cells(r, now) for r in rows)]
    widths = [min(max(len(c[i]) for c in cells), _CAPS[i]) for i in range(len(_COLUMNS))]
    lines.append("")
    for n, c in enumerate(cells):
        line = "  ".join(_fit(text, w) for text, w in zip(c, widths, strict=True)).rstrip()
        line = line[:width]
        if colour and n and len(line) >= widths[0]:
            worst = rows[n - 1].offline or rows[n - 1].silent(now)
            code = _COLOURS["offline" if worst else c[0].lower()] if c[0] else ""
            if code:
                line = f"\x1b[{code}m{line[: widths[0]]}\x1b[0m{line[widths[0] :]}"
        lines.append(line)
    if bad:
        lines.append("")
        lines.extend(line[:width] for line in bad)
    return lines


def _fit(text: str, width: int) -> str:
    return text.ljust(width) if len(text) <= width else text[: width - 1] + "~"


def _cells(r: Row, now: datetime) -> tuple[str, ...]:
    s, link = r.state, r.link
    if link is None:
        seen = ""
    else:
        when = (
            f"{link.since:%H:%M}"
            if link.since.date() == now.date()
            else f"{link.since:%m-%d %H:%M}"
        )
        seen = f"{'online' if link.online else 'OFFLINE'} since {'' if link.exact else '<='}{when}"
    if s is None:
        return ("", r.shop, "", "", "", seen, "no state yet")
    batch = "empty" if not s.batch_count else f"{s.batch_count} / {s.batch_total} {s.currency}"
    cutoff = ""
    if s.minutes_to_cutoff is not None:
        m = abs(s.minutes_to_cutoff)
        cutoff = f"{'in ' if s.minutes_to_cutoff >= 0 else ''}{m // 60}:{m % 60:02d}" + (
            " past" if s.minutes_to_cutoff < 0 else ""
        )
    last = ""
    if s.last_at is not None:
        verified = {True: ", verified", False: ", unverified", None: ""}[s.last_verified]
        last = f"{datetime.fromisoformat(s.last_at):%m-%d %H:%M} {s.last_state}{verified}"
    alarms = ", ".join(s.alarms) + (" (acknowledged)" if s.alarms and s.acknowledged else "")
    if r.silent(now):
        seen = f"SILENT since {datetime.fromisoformat(s.at).astimezone(now.tzinfo):%H:%M}"
    shop = f"{r.shop} {s.name}" if s.name else r.shop
    return (s.level.upper(), shop, batch, cutoff, last, seen, alarms)


# -- the broker (I/O)


def broker(text: str) -> Broker:
    """--broker: mqtt://HOST[:PORT] or mqtts://HOST[:PORT] (see topics.parse_broker)."""
    try:
        return parse_broker(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _topic_level(text: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", text):
        raise argparse.ArgumentTypeError(f"{text[:70]!r} is not 1-64 letters, digits, - or _")
    return text


def _readable(text: str) -> str:
    try:
        with open(text, "rb"):
            return text
    except OSError as exc:
        raise argparse.ArgumentTypeError(f"cannot read {text}: {exc.strerror}") from None


def add_arguments(p: argparse.ArgumentParser) -> None:
    from .. import cliargs

    actions = p.add_subparsers(dest="fleet_command", metavar="ACTION", required=True,
                               parser_class=cliargs.Parser)  # fmt: skip
    what = "a live table of every guard, worst first"
    w = actions.add_parser(
        "watch",
        help=what,
        description=f"{what.capitalize()}: level, "
        "open batch, cutoff, last settlement, alarms, online or offline.",
    )
    w.add_argument("--broker", type=broker, required=True, metavar="URL",
                   help="mqtt://HOST[:PORT] or mqtts://HOST[:PORT]")  # fmt: skip
    w.add_argument("--prefix", type=_topic_level, default="settleguard",
                   help="the guards' topic prefix (default settleguard)")  # fmt: skip
    w.add_argument("--username", metavar="U", help="broker user name")
    w.add_argument("--password-file", type=_readable, metavar="F",
                   help=f"the broker password, first line of F (else env {PASSWORD_ENV}); "
                   "never on the command line, where ps shows it")  # fmt: skip
    w.add_argument(
        "--ca-file",
        type=_readable,
        metavar="F",
        help="mqtts: the broker's CA certificate (default: the system's)",
    )
    w.add_argument(
        "--json",
        action="store_true",
        help="one JSON line with the whole table per change (for scripts)",
    )
    w.add_argument(
        "--once",
        type=cliargs.seconds,
        metavar="SECONDS",
        help="collect for SECONDS, print the table once and exit",
    )


def run(args: argparse.Namespace) -> int:
    from ..cli import EXIT_OK, EXIT_PORT, EXIT_USAGE, _fail

    if args.ca_file and not args.broker.tls:
        return _fail(args, "--ca-file needs an mqtts:// broker", EXIT_USAGE)
    password = os.environ.get(PASSWORD_ENV) or None
    if args.password_file:
        if not args.username:
            return _fail(args, "--password-file needs --username", EXIT_USAGE)
        with open(args.password_file, encoding="utf-8") as f:
            password = f.readline().rstrip("\r\n")
    signal.signal(signal.SIGTERM, _interrupt)  # a stopped watch gives the cursor back too
    watch = None
    try:
        watch = Watch(args.broker, args.prefix, username=args.username, password=password,
                      ca_file=args.ca_file)  # fmt: skip
        watch.show(once=args.once, as_json=args.json)
    except BrokerError as exc:
        return _fail(args, str(exc), EXIT_PORT)
    except KeyboardInterrupt:
        pass
    finally:
        if watch is not None:
            watch.close()
    return EXIT_OK


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


class BrokerError(Exception):
    """The broker cannot be reached, or refused us."""


class Watch:
    """One subscription to every guard's state and availability. paho's network thread only
    queues what arrives; the thread that calls `show` owns the table."""

    def __init__(self, where: Broker, prefix: str, *, username: str | None = None,
                 password: str | None = None, ca_file: str | None = None,
                 connect_timeout: float = 10.0) -> None:  # fmt: skip
        import secrets

        import paho.mqtt.client as mqtt

        self.broker, self.fleet = where, Fleet(prefix)
        self.inbox: queue.Queue[tuple[Any, ...]] = queue.Queue()
        self.status = "connecting"
        me = f"settleguard-watch-{os.getpid()}-{secrets.token_hex(3)}"
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=me, clean_session=True)
        if username:
            client.username_pw_set(username, password)
        if where.tls:
            client.tls_set(ca_certs=ca_file)
        client.on_connect = self._connected
        client.on_disconnect = self._lost
        client.on_message = self._message
        self.client = client
        try:
            client.connect(where.host, where.port, keepalive=30)
        except (OSError, ValueError) as exc:  # ssl.SSLError is an OSError
            raise BrokerError(f"cannot reach the broker {where.url}: "
                              f"{getattr(exc, 'strerror', None) or exc}") from None  # fmt: skip
        client.loop_start()
        deadline = time.monotonic() + connect_timeout
        try:
            while self.status == "connecting":
                try:
                    self._apply(self.inbox.get(timeout=max(deadline - time.monotonic(), 0.01)))
                except queue.Empty:
                    raise BrokerError(f"the broker {where.url} did not answer within "
                                      f"{connect_timeout:g} s") from None  # fmt: skip
        except BrokerError:
            self.close()
            raise

    # paho's thread: queue only
    def _connected(self, client: Any, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        if reason.is_failure:
            self.inbox.put(("refused", str(reason)))
            return
        # QoS 0: retained states arrive as fast as the socket takes them, past the broker's
        # per-client queue of QoS 1 messages (1000 by default), and come back on reconnect.
        prefix = self.fleet.prefix
        client.subscribe([(every_state(prefix), 0), (every_availability(prefix), 0)])
        self.inbox.put(("connected",))

    def _lost(self, client: Any, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        self.inbox.put(("lost", str(reason)))

    def _message(self, client: Any, userdata: Any, msg: Any) -> None:
        self.inbox.put(
            ("message", msg.topic, msg.payload, bool(msg.retain), datetime.now().astimezone())
        )

    # the owner's thread
    def _apply(self, item: tuple[Any, ...]) -> bool:
        kind = item[0]
        if kind == "message":
            return self.fleet.receive(item[1], item[2], retained=item[3], now=item[4])
        if kind == "refused":
            if self.status == "connecting":
                raise BrokerError(f"the broker {self.broker.url} refused the connection: {item[1]}")
            self.status = f"refused: {item[1]}"
        elif kind == "connected":
            self.status = "connected"
        else:
            self.status = f"connection lost ({item[1]}), reconnecting"
        return True

    def show(self, *, once: float | None = None, as_json: bool = False,
             out: Any = None) -> None:  # fmt: skip
        """Keep the table and print it: at the end of `once` seconds, else on each change."""
        out = out or sys.stdout
        live = not once and not as_json and out.isatty()
        end = None if once is None else time.monotonic() + once
        drawn, dirty = 0.0, True
        if live:
            out.write("\x1b[?25l\x1b[2J")  # hide the cursor, clear the screen
        try:
            while True:
                wait = REDRAW if end is None else min(REDRAW, end - time.monotonic())
                try:
                    dirty |= self._apply(self.inbox.get(timeout=max(wait, 0)))
                    while True:  # take what is waiting before drawing once for all of it
                        dirty |= self._apply(self.inbox.get_nowait())
                except queue.Empty:
                    pass
                clock = time.monotonic()
                if end is not None:
                    if clock >= end:
                        self._print(out, as_json=as_json, live=False)
                        return
                    continue
                if (dirty and clock - drawn >= REDRAW) or (live and clock - drawn >= 1.0):
                    self._print(out, as_json=as_json, live=live)
                    drawn, dirty = clock, False
        finally:
            if live:
                out.write("\x1b[?25h\n")
                out.flush()

    def _print(self, out: Any, *, as_json: bool, live: bool) -> None:
        now = datetime.now().astimezone()
        if as_json:
            doc = {**self.fleet.to_json(now), "broker": self.broker.url, "connection": self.status}
            out.write(json.dumps(doc, ensure_ascii=False) + "\n")
        else:
            import shutil

            size = shutil.get_terminal_size()
            title = f"SettleGuard fleet on {self.broker.url}" + (
                "" if self.status == "connected" else f" ({self.status})"
            )
            lines = render(self.fleet, now, title=title, width=size.columns if live else 200,
                           height=size.lines if live else None, colour=live)  # fmt: skip
            if live:
                out.write("\x1b[H" + "".join(f"{line}\x1b[K\n" for line in lines) + "\x1b[J")
            else:
                out.write("\n".join(lines) + "\n")
        out.flush()

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
