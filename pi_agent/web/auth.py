"""Who may use the page: the admin password, the one-time setup code, API tokens, the
session signing key, server-side sessions and throttling.

They live in `web.db` beside the guard's database (mode 0600), written only by the
web server and by `settle-guard passwd`, never by the agent's loop: auth is not the
guard's state, and a technician with a shell can reset it while the guard runs.
Passwords are hashed with scrypt (a salt per password); tokens are random, so a
SHA-256 of each is enough to recognise it without keeping it; the same goes for session
ids, so a copy of web.db holds no usable cookie.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from .. import config

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1  # 16 MiB and ~50 ms per check on a Pi 4
MIN_PASSWORD = 8
TOKEN_PREFIX = "sg_"
SCOPES = ("read", "acknowledge", "settle")  # what an API token may do, chosen at creation
# A technician's visit is short and the laptop may stay open on the counter: 30 min without
# a request ends a session; 12 h (an installation day) ends any session.
SESSION_IDLE, SESSION_MAX = 30 * 60, 12 * 3600
SESSION_TOUCH = 60  # note activity at most once a minute: fewer writes to the SD card
MAX_SESSIONS = 64

SCHEMA = """
CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tokens (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    last_used_at TEXT
);
CREATE TABLE IF NOT EXISTS sessions (
    hash TEXT PRIMARY KEY,
    created REAL NOT NULL,
    seen REAL NOT NULL
);
"""


def auth_path(cfg: config.Config) -> Path:
    """web.db sits in the state directory, beside the guard's database."""
    return Path(cfg.store.path).parent / "web.db"


def hash_password(password: str) -> str:
    salt = os.urandom(16)
    dk = _scrypt(password, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    b64 = base64.b64encode
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${b64(salt).decode()}${b64(dk).decode()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, want = stored.split("$")
        if scheme != "scrypt":
            return False
        got = _scrypt(password, base64.b64decode(salt), int(n), int(r), int(p))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, base64.b64decode(want))


_SCRYPT_LOCK = threading.Lock()  # one 16 MiB hash at a time, whatever the number of clients
_MMAP_FIXED = threading.Event()


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    with _SCRYPT_LOCK:
        _keep_big_blocks_mapped()
        return hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, dklen=32,
                              maxmem=64 * 1024 * 1024)  # fmt: skip


def _keep_big_blocks_mapped() -> None:
    """glibc raises its mmap threshold once a large block is freed, so scrypt's 16 MiB would
    then stay in each server thread's malloc arena (measured: +16 MiB RSS per thread that
    ever checked a password). A fixed threshold keeps such blocks mmapped: freed, they go."""
    if _MMAP_FIXED.is_set():
        return
    _MMAP_FIXED.set()
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").mallopt(-3, 1024 * 1024)  # M_MMAP_THRESHOLD = 1 MiB
    except (OSError, AttributeError):  # not glibc: nothing to fix
        pass


def password_problem(password: str, again: str | None = None) -> str | None:
    """What is wrong with a new password (a text key for texts.py), or None."""
    if len(password) < MIN_PASSWORD:
        return "password-short"
    if again is not None and not hmac.compare_digest(password.encode(), again.encode()):
        return "password-mismatch"
    return None


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Token:
    id: int
    name: str
    scopes: tuple[str, ...]


def _scopes(text: str) -> tuple[str, ...]:
    return tuple(s for s in SCOPES if s in text.split(","))


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class AuthStore:
    """web.db: one connection behind a lock (the server's threads share it)."""

    def __init__(self, path: str | Path, clock: Callable[[], float] = time.time) -> None:
        self.path = Path(path)
        self.clock = clock
        self.path.parent.mkdir(parents=True, exist_ok=True)
        os.close(os.open(self.path, os.O_CREAT | os.O_RDWR, 0o600))  # private before any write
        os.chmod(self.path, 0o600)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(
            self.path, isolation_level=None, timeout=10, check_same_thread=False
        )
        self._db.execute("PRAGMA busy_timeout = 10000")
        self._db.executescript(SCHEMA)
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(tokens)")}
        if "scopes" not in columns:  # tokens from before scopes may only read from now on
            self._db.execute("ALTER TABLE tokens ADD COLUMN scopes TEXT NOT NULL DEFAULT 'read'")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _get(self, key: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def _set(self, **values: str) -> None:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            for key, value in values.items():
                self._db.execute(
                    "INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key)"
                    " DO UPDATE SET value = excluded.value",
                    (key, value),
                )
            self._db.execute("COMMIT")

    # -- the admin password

    def has_password(self) -> bool:
        return bool(self._get("password"))

    def check_password(self, password: str) -> bool:
        stored = self._get("password")
        if not stored:
            hash_password(password)  # the same work either way: timing says nothing
            return False
        return verify_password(password, stored)

    def set_password(self, password: str) -> None:
        """A new password ends every session (also from `settle-guard passwd`)."""
        problem = password_problem(password)
        if problem:
            raise ValueError(f"the password must have at least {MIN_PASSWORD} characters")
        self._set(password=hash_password(password), generation=str(self.generation + 1))
        self.end_sessions()

    @property
    def generation(self) -> int:
        """Bumped by every password change and reset: older sessions stop working."""
        return int(self._get("generation") or 0)

    def reset(self) -> int:
        """Forget the password and every API token; returns how many tokens went."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            gone = self._db.execute("DELETE FROM tokens").rowcount
            self._db.execute("DELETE FROM sessions")
            self._db.execute("DELETE FROM settings WHERE key = 'password'")
            self._db.execute("COMMIT")
        self._set(generation=str(self.generation + 1))
        return gone

    def secret_key(self) -> bytes:
        """The key that signs session cookies; made once, kept across restarts."""
        key = self._get("session_key")
        if key is None:
            key = secrets.token_hex(32)
            self._set(session_key=key)
        return bytes.fromhex(key)

    # -- API tokens

    def create_token(self, name: str, scopes: Iterable[str]) -> tuple[int, str]:
        chosen = ",".join(s for s in SCOPES if s in set(scopes))
        if not chosen:
            raise ValueError(f"a token needs at least one scope of {', '.join(SCOPES)}")
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        with self._lock:
            cur = self._db.execute(
                "INSERT INTO tokens (name, hash, created_at, scopes) VALUES (?, ?, ?, ?)",
                (name, _token_hash(token), _now(), chosen),
            )
        return int(cur.lastrowid or 0), token

    def tokens(self) -> list[dict[str, object]]:
        with self._lock:
            rows = self._db.execute(
                "SELECT id, name, created_at, last_used_at, scopes FROM tokens ORDER BY id"
            ).fetchall()
        keys = ("id", "name", "created_at", "last_used_at")
        return [{**dict(zip(keys, r[:4], strict=True)), "scopes": _scopes(r[4])} for r in rows]

    def delete_token(self, token_id: int) -> bool:
        with self._lock:
            return self._db.execute("DELETE FROM tokens WHERE id = ?", (token_id,)).rowcount == 1

    def check_token(self, token: str) -> Token | None:
        """The token if it is one of ours (looked up by hash: no timing to learn)."""
        if not token.startswith(TOKEN_PREFIX):
            return None
        with self._lock:
            row = self._db.execute(
                "SELECT id, name, scopes FROM tokens WHERE hash = ?", (_token_hash(token),)
            ).fetchone()
            if row is None:
                return None
            self._db.execute("UPDATE tokens SET last_used_at = ? WHERE id = ?", (_now(), row[0]))
        return Token(int(row[0]), str(row[1]), _scopes(row[2]))

    # -- sessions: the cookie holds a random id; the server decides whether it still counts

    def start_session(self) -> str:
        sid = secrets.token_urlsafe(32)
        now = self.clock()
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.execute("DELETE FROM sessions WHERE seen <= ? OR created <= ?",
                             (now - SESSION_IDLE, now - SESSION_MAX))  # fmt: skip
            self._db.execute("INSERT INTO sessions (hash, created, seen) VALUES (?, ?, ?)",
                             (_token_hash(sid), now, now))  # fmt: skip
            self._db.execute("DELETE FROM sessions WHERE hash NOT IN (SELECT hash FROM sessions"
                             " ORDER BY seen DESC LIMIT ?)", (MAX_SESSIONS,))  # fmt: skip
            self._db.execute("COMMIT")
        return sid

    def session_alive(self, sid: str, touch: bool = True) -> bool:
        """Whether the session still counts; `touch` notes that its owner is active."""
        key, now = _token_hash(sid), self.clock()
        with self._lock:
            row = self._db.execute(
                "SELECT created, seen FROM sessions WHERE hash = ?", (key,)
            ).fetchone()
            if row is None:
                return False
            created, seen = row
            if now - seen >= SESSION_IDLE or now - created >= SESSION_MAX:
                self._db.execute("DELETE FROM sessions WHERE hash = ?", (key,))
                return False
            if touch and now - seen >= SESSION_TOUCH:
                self._db.execute("UPDATE sessions SET seen = ? WHERE hash = ?", (now, key))
        return True

    def end_session(self, sid: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM sessions WHERE hash = ?", (_token_hash(sid),))

    def end_sessions(self) -> int:
        """Log out everywhere; returns how many sessions ended."""
        with self._lock:
            return self._db.execute("DELETE FROM sessions").rowcount


class SetupCode:
    """The one-time code the OLED shows while no password exists: whoever types it stands
    at the counter. A new code after each use; `on_change` tells the panel."""

    def __init__(self, on_change: Callable[[str | None], None] = lambda code: None) -> None:
        self.on_change = on_change
        self._code: str | None = None
        self._lock = threading.Lock()

    @property
    def code(self) -> str | None:
        return self._code

    def ensure(self) -> str:
        with self._lock:
            if self._code is None:
                digits = f"{secrets.randbelow(10**8):08d}"
                self._code = f"{digits[:4]} {digits[4:]}"
                self.on_change(self._code)
            return self._code

    def matches(self, given: str) -> bool:
        code = self._code
        if code is None:
            return False
        typed = "".join(given.split())
        return hmac.compare_digest(typed.encode(), code.replace(" ", "").encode())

    def redeem(self, given: str, claim: Callable[[], None]) -> bool:
        """If `given` is the code: run `claim` and retire the code, in one step, so parallel
        requests with the same code cannot each set a password (the last one winning)."""
        with self._lock:
            if not self.matches(given):
                return False
            claim()
            self._code = None
            self.on_change(None)
            return True

    def clear(self) -> None:
        with self._lock:
            self._code = None
            self.on_change(None)


class Throttle:
    """Failed attempts per client: the first `free` cost nothing, then each waits twice as
    long as the one before (1 s, 2 s, 4 s ... up to `cap`); a count is forgotten `forget`
    seconds after its last failure.

    `attempt()` checks and counts in one step under the lock, before the (slow) check it
    guards, so a burst of parallel requests gets no more tries than the same requests one
    after another; a right answer then clears the count (`succeeded`) or takes back only
    its own attempt (`refund`). Memory is bounded without ever forgetting a live count:
    only expired entries are evicted, and while the table is full of live ones, clients
    not in it share a single count, so a flood of new addresses gets few tries in all."""

    def __init__(
        self,
        *,
        free: int = 5,
        first: float = 1.0,
        cap: float = 900.0,
        clock: Callable[[], float] = time.monotonic,
        clients: int = 1024,
        forget: float = 3600.0,
    ) -> None:
        self.free, self.first, self.cap, self.clock = free, first, cap, clock
        self.clients, self.forget = clients, max(forget, cap)
        self._failures: dict[str, tuple[int, float]] = {}
        self._overflow = (0, 0.0)  # the shared count of clients the full table has no room for
        self._lock = threading.Lock()

    def _delay(self, count: int) -> float:
        return 0.0 if count < self.free else min(self.cap, self.first * 2 ** (count - self.free))

    def _live(self, entry: tuple[int, float], now: float) -> tuple[int, float]:
        return entry if now - entry[1] < self.forget else (0, 0.0)

    def _entry(self, client: str, now: float) -> tuple[str | None, tuple[int, float]]:
        """The client's key (None: the shared overflow count) and its live count."""
        if client in self._failures or len(self._failures) < self.clients:
            return client, self._live(self._failures.get(client, (0, 0.0)), now)
        for name, entry in list(self._failures.items()):
            if self._live(entry, now) == (0, 0.0):
                del self._failures[name]
        if len(self._failures) < self.clients:
            return client, (0, 0.0)
        return None, self._live(self._overflow, now)

    def _store(self, key: str | None, entry: tuple[int, float]) -> None:
        if key is None:
            self._overflow = entry
        elif entry[0] > 0:
            self._failures[key] = entry
        else:
            self._failures.pop(key, None)

    def wait(self, client: str) -> float:
        """Seconds before this client may try again (0: now)."""
        with self._lock:
            now = self.clock()
            _, (count, last) = self._entry(client, now)
            return max(0.0, last + self._delay(count) - now)

    def attempt(self, client: str) -> float:
        """0 if the client may try now, and the try is counted as failed until `succeeded`
        or `refund`; otherwise the seconds to wait (and nothing is counted)."""
        with self._lock:
            now = self.clock()
            key, (count, last) = self._entry(client, now)
            wait = last + self._delay(count) - now
            if wait > 0:
                return wait
            self._store(key, (count + 1, now))
            return 0.0

    def refund(self, client: str) -> None:
        """Take back one attempt that turned out right, leaving earlier failures counted."""
        with self._lock:
            key, (count, last) = self._entry(client, self.clock())
            self._store(key, (max(0, count - 1), last))

    def succeeded(self, client: str) -> None:
        """The password was right: the client's failures are forgiven."""
        with self._lock:
            if client in self._failures:
                del self._failures[client]
            else:  # its attempt went to the shared count: take back that one
                count, last = self._overflow
                self._overflow = (max(0, count - 1), last)
