"""Staff accounts (browser login), their server-side sessions, and bearer tokens (other
systems, scripts).

A login session is a row in `staff_sessions`; the browser holds only a random session id
(inside Flask's signed cookie) whose SHA-256 the row stores. Logging out, the idle timeout,
the absolute lifetime, a password change and disabling the user end the row, so a copied
cookie stops working at once. Wrong passwords lock the name, then the address, out for a
while (kiosk/throttle.py). Every login attempt checks one password hash, a
dummy one for unknown or disabled users and for locked-out attempts, so the answer takes
the same time whether the user exists or not.
"""

from __future__ import annotations

import secrets
import sqlite3
from dataclasses import dataclass
from datetime import timedelta

from werkzeug.security import check_password_hash, generate_password_hash

from kiosk.capability import secret_hash
from kiosk.clock import Clock, db_time, from_db_time
from kiosk.config import Config
from kiosk.errors import Invalid, NotFound, Unavailable
from kiosk.store.db import Database
from kiosk.throttle import LoginThrottle

ROLES = ("receptionist", "specialist", "security", "manager")
TOKEN_PREFIX = "kst_"


class AuthError(Invalid):
    """An account or token the command line cannot create."""


@dataclass(frozen=True)
class Principal:
    """Who is making a request: a logged-in user or a bearer token."""

    name: str
    role: str
    display_name: str

    def has(self, *roles: str) -> bool:
        """Managers may do everything staff may do."""
        return self.role in roles or self.role == "manager"


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise AuthError("unknown_role", f"unknown role {role!r}; roles are {', '.join(ROLES)}")



#: How often a session's last_seen_at is written (the idle timeout is this precise).
TOUCH_EVERY = timedelta(seconds=60)
class AuthService:
    def __init__(self, db: Database, clock: Clock, config: Config | None = None) -> None:
        self.db = db
        self.clock = clock
        self.config = config or Config()
        self._dummy_hash = generate_password_hash(secrets.token_hex(16))
        self._throttle = LoginThrottle(self.config.limits)

    def add_user(self, username: str, password: str, role: str, display_name: str | None = None) -> None:
        _check_role(role)
        if not username or len(password) < 8:
            raise AuthError("weak_credentials", "a username and a password of at least 8 characters are needed")
        with self.db.write() as conn:
            if conn.execute("SELECT 1 FROM users WHERE username = ?", (username,)).fetchone():
                raise AuthError("user_exists", f"user {username!r} exists already")
            conn.execute(
                "INSERT INTO users (username, display_name, role, password_hash, created_at) VALUES (?, ?, ?, ?, ?)",
                (username, display_name or username, role, generate_password_hash(password),
                 db_time(self.clock.now())))

    def login(self, username: str, password: str, address: str = "") -> Principal | None:
        """The user when the password is right; None when not; `TooMany("login_locked")`
        while the name or the address is locked out (also with the right password)."""
        now = self.clock.now().timestamp()
        row = self.db.query_one("SELECT * FROM users WHERE username = ? AND active = 1", (username,))
        right = check_password_hash(row["password_hash"] if row else self._dummy_hash, password) and row is not None
        self._throttle.check(username, address, now)
        if right and row is not None:
            self._throttle.succeeded(username)
            return Principal(row["username"], row["role"], row["display_name"])
        self._throttle.failed(username, address, now)
        return None

    # -- sessions ------------------------------------------------------------------------
    def start_session(self, username: str, address: str = "") -> str:
        """A new login session of `username`; the id to keep in the browser (only its hash is stored)."""
        sid = secrets.token_urlsafe(32)
        now = db_time(self.clock.now())
        with self.db.write() as conn:
            conn.execute("INSERT INTO staff_sessions (session_hash, username, created_at, last_seen_at, remote_addr) "
                         "VALUES (?, ?, ?, ?, ?)", (secret_hash(sid), username, now, now, address[:64]))
        return sid

    def session_principal(self, sid: str, *, touch: bool = True) -> Principal | None:
        """Who a browser's session id belongs to, or None when it ended, idled out, outlived
        its lifetime or its user was disabled (the latter three end it now). `touch=False`
        (an open event stream asking again) does not count as activity."""
        if not sid or len(sid) > 100:
            return None
        row = self.db.query_one(
            "SELECT s.id, s.created_at, s.last_seen_at, u.username, u.role, u.display_name, u.active "
            "FROM staff_sessions s JOIN users u ON u.username = s.username "
            "WHERE s.session_hash = ? AND s.ended_at IS NULL", (secret_hash(sid),))
        if row is None:
            return None
        now = self.clock.now()
        server = self.config.server
        created = from_db_time(row["created_at"], self.clock.tz)
        seen = from_db_time(row["last_seen_at"], self.clock.tz)
        assert created is not None and seen is not None
        reason = None
        if not row["active"]:
            reason = "disabled"
        elif now >= created + timedelta(hours=server.session_max_hours):
            reason = "expired"
        elif now >= seen + timedelta(minutes=server.session_idle_minutes):
            reason = "idle"
        if reason:
            with self.db.write() as conn:
                _end_sessions(conn, "id = ?", (row["id"],), reason, db_time(now))
            return None
        if touch and now - seen >= TOUCH_EVERY:
            try:
                with self.db.write(durable=False) as conn:
                    conn.execute("UPDATE staff_sessions SET last_seen_at = ? WHERE id = ?", (db_time(now), row["id"]))
            except Unavailable:  # a full disk must not sign staff out: they are needed to fix it
                pass
        return Principal(row["username"], row["role"], row["display_name"])

    def end_session(self, sid: str, reason: str = "logout") -> None:
        if sid:
            with self.db.write() as conn:
                _end_sessions(conn, "session_hash = ?", (secret_hash(sid),), reason, db_time(self.clock.now()))

    def open_sessions(self, username: str) -> int:
        return int(self.db.scalar("SELECT COUNT(*) FROM staff_sessions WHERE username = ? AND ended_at IS NULL",
                                  (username,)))

    # -- account changes -------------------------------------------------------------------
    def change_password(self, username: str, password: str) -> None:
        """Set a new password and end every session of the user."""
        if len(password) < 8:
            raise AuthError("weak_credentials", "a password of at least 8 characters is needed")
        now = db_time(self.clock.now())
        with self.db.write() as conn:
            if not conn.execute("UPDATE users SET password_hash = ?, password_changed_at = ? WHERE username = ?",
                                (generate_password_hash(password), now, username)).rowcount:
                raise NotFound("not_found", f"no user {username!r}")
            _end_sessions(conn, "username = ?", (username,), "password_changed", now)

    def set_active(self, username: str, active: bool) -> None:
        """Disable (ending every session of the user) or re-enable an account."""
        now = db_time(self.clock.now())
        with self.db.write() as conn:
            if not conn.execute("UPDATE users SET active = ? WHERE username = ?", (int(active), username)).rowcount:
                raise NotFound("not_found", f"no user {username!r}")
            if not active:
                _end_sessions(conn, "username = ?", (username,), "disabled", now)

    def user(self, username: str) -> Principal | None:
        row = self.db.query_one("SELECT * FROM users WHERE username = ? AND active = 1", (username,))
        return Principal(row["username"], row["role"], row["display_name"]) if row else None

    def create_token(self, role: str, name: str = "") -> str:
        """A new bearer token; only its hash is stored, so it is shown once."""
        _check_role(role)
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        with self.db.write() as conn:
            conn.execute("INSERT INTO api_tokens (token_hash, role, name, created_at) VALUES (?, ?, ?, ?)",
                         (secret_hash(token), role, name or role, db_time(self.clock.now())))
        return token

    def from_token(self, token: str) -> Principal | None:
        row = self.db.query_one("SELECT * FROM api_tokens WHERE token_hash = ? AND revoked = 0", (secret_hash(token),))
        return Principal(f"token:{row['name']}", row["role"], row["name"]) if row else None


def _end_sessions(conn: sqlite3.Connection, where: str, params: tuple[str | int, ...], reason: str, now: str) -> None:
    conn.execute(f"UPDATE staff_sessions SET ended_at = ?, ended_reason = ? WHERE ended_at IS NULL AND {where}",
                 (now, reason, *params))
