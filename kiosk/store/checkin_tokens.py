"""SQL of the check-in tokens: the hash of each token, its visit, its holder and its life."""

from __future__ import annotations

import sqlite3


def add(conn: sqlite3.Connection, token_hash: str, visit_id: int, holder: str, created_at: str,
        expires_at: str) -> None:
    conn.execute("DELETE FROM checkin_tokens WHERE expires_at < ?", (created_at,))
    conn.execute("INSERT INTO checkin_tokens (token_hash, visit_id, holder, created_at, expires_at) "
                 "VALUES (?, ?, ?, ?, ?)", (token_hash, visit_id, holder, created_at, expires_at))


def take(conn: sqlite3.Connection, token_hash: str, holder: str, now: str) -> int | None:
    """Mark the token used and return its visit id, when it is unused, unexpired and the holder's."""
    row = conn.execute(
        "UPDATE checkin_tokens SET used_at = ? WHERE token_hash = ? AND holder = ? AND used_at IS NULL "
        "AND expires_at > ? RETURNING visit_id", (now, token_hash, holder, now)).fetchone()
    return int(row[0]) if row is not None else None


def give_back(conn: sqlite3.Connection, token_hash: str) -> None:
    conn.execute("UPDATE checkin_tokens SET used_at = NULL WHERE token_hash = ?", (token_hash,))


