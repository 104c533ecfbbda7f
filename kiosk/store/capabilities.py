"""SQL for the phone pages' capabilities: digest → ticket or case (kiosk/capability.py)."""

from __future__ import annotations

import sqlite3


def add_ticket(conn: sqlite3.Connection, ticket_id: int, digest: bytes) -> None:
    conn.execute("INSERT INTO ticket_capabilities (digest, ticket_id) VALUES (?, ?)", (digest, ticket_id))


def ticket(conn: sqlite3.Connection, digest: bytes) -> dict | None:
    row = conn.execute("SELECT t.* FROM ticket_capabilities c JOIN tickets t ON t.id = c.ticket_id "
                       "WHERE c.digest = ?", (digest,)).fetchone()
    return dict(row) if row else None


def add_case(conn: sqlite3.Connection, case_id: int, digest: bytes) -> None:
    conn.execute("INSERT INTO case_capabilities (digest, case_id) VALUES (?, ?)", (digest, case_id))


def case_id(conn: sqlite3.Connection, digest: bytes) -> int | None:
    row = conn.execute("SELECT case_id FROM case_capabilities WHERE digest = ?", (digest,)).fetchone()
    return int(row[0]) if row else None
