"""Staff accounts (browser login) and bearer tokens (other systems, scripts)."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from werkzeug.security import check_password_hash, generate_password_hash

from kiosk.clock import Clock, db_time
from kiosk.errors import Invalid
from kiosk.store.db import Database

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


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class AuthService:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

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

    def login(self, username: str, password: str) -> Principal | None:
        row = self.db.query_one("SELECT * FROM users WHERE username = ? AND active = 1", (username,))
        if row is None or not check_password_hash(row["password_hash"], password):
            return None
        return Principal(row["username"], row["role"], row["display_name"])

    def user(self, username: str) -> Principal | None:
        row = self.db.query_one("SELECT * FROM users WHERE username = ? AND active = 1", (username,))
        return Principal(row["username"], row["role"], row["display_name"]) if row else None

    def create_token(self, role: str, name: str = "") -> str:
        """A new bearer token; only its hash is stored, so it is shown once."""
        _check_role(role)
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        with self.db.write() as conn:
            conn.execute("INSERT INTO api_tokens (token_hash, role, name, created_at) VALUES (?, ?, ?, ?)",
                         (_token_hash(token), role, name or role, db_time(self.clock.now())))
        return token

    def from_token(self, token: str) -> Principal | None:
        row = self.db.query_one("SELECT * FROM api_tokens WHERE token_hash = ? AND revoked = 0", (_token_hash(token),))
        return Principal(f"token:{row['name']}", row["role"], row["name"]) if row else None
