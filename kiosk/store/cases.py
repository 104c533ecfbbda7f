"""SQL for cases, their history, and the waiting-inquiry alerts. Functions take the
connection of the caller's transaction (or the thread's connection for reads)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from typing import Any


def insert(conn: sqlite3.Connection, values: dict[str, Any]) -> dict:
    cols = ", ".join(values)
    marks = ", ".join("?" for _ in values)
    return dict(conn.execute(f"INSERT INTO cases ({cols}) VALUES ({marks}) RETURNING *",
                             tuple(values.values())).fetchone())


def get(conn: sqlite3.Connection, case_id: int) -> dict | None:
    row = conn.execute("SELECT * FROM cases WHERE id = ?", (case_id,)).fetchone()
    return dict(row) if row else None


def update(conn: sqlite3.Connection, case_id: int, changes: dict[str, Any]) -> dict:
    """Apply `changes`, bump the version, return the new row."""
    sets = ", ".join(f"{k} = ?" for k in changes)
    return dict(conn.execute(f"UPDATE cases SET {sets}, version = version + 1 WHERE id = ? RETURNING *",
                             (*changes.values(), case_id)).fetchone())


def add_history(conn: sqlite3.Connection, *, case_id: int, at: str, actor: str | None, action: str,
                from_status: str | None, to_status: str, detail: str | None = None) -> None:
    conn.execute("INSERT INTO case_history (case_id, at, actor, action, from_status, to_status, detail) "
                 "VALUES (?, ?, ?, ?, ?, ?, ?)", (case_id, at, actor, action, from_status, to_status, detail))


def history(conn: sqlite3.Connection, case_id: int) -> list[dict]:
    return [dict(r) for r in conn.execute("SELECT * FROM case_history WHERE case_id = ? ORDER BY id", (case_id,))]


def search(conn: sqlite3.Connection, *, status: Iterable[str] | None = None, types: Iterable[str] | None = None,
           overdue_at: str | None = None, team: str | None = None, assignee: str | None = None,
           resident_id: str | None = None, escalated: bool | None = None, limit: int = 200) -> list[dict]:
    """Cases matching every given filter, the most urgent open ones first."""
    where, params = [], []
    if status:
        status = list(status)
        where.append(f"status IN ({', '.join('?' for _ in status)})")
        params += status
    if types:
        types = list(types)
        where.append(f"type IN ({', '.join('?' for _ in types)})")
        params += types
    if overdue_at is not None:
        where.append("status != 'closed' AND due_at <= ? AND "
                     "((type = 'inquiry' AND first_answer_at IS NULL AND feedback_at IS NULL) OR "
                     "(type != 'inquiry' AND feedback_at IS NULL))")
        params.append(overdue_at)
    if team:
        where.append("team = ?")
        params.append(team)
    if assignee:
        where.append("assignee = ?")
        params.append(assignee)
    if resident_id:
        where.append("resident_id = ?")
        params.append(resident_id)
    if escalated is not None:
        where.append("escalated_at IS NOT NULL" if escalated else "escalated_at IS NULL")
    sql = "SELECT * FROM cases" + (" WHERE " + " AND ".join(where) if where else "")
    sql += " ORDER BY status = 'closed', due_at, id LIMIT ?"
    return [dict(r) for r in conn.execute(sql, (*params, limit))]


def unanswered(conn: sqlite3.Connection) -> list[dict]:
    """Cases whose service-level clock is still running (the watcher's input)."""
    return [dict(r) for r in conn.execute(
        "SELECT * FROM cases WHERE status != 'closed' AND "
        "((type = 'inquiry' AND first_answer_at IS NULL AND feedback_at IS NULL) OR "
        "(type != 'inquiry' AND feedback_at IS NULL)) AND overdue_at IS NULL ORDER BY due_at")]


def waiting_inquiries(conn: sqlite3.Connection, service: str, day: str) -> list[dict]:
    """Today's queued tickets of the inquiry service with the alerts already raised for them."""
    return [dict(r) for r in conn.execute(
        "SELECT t.id, t.number, t.service, t.issued_at, t.status, "
        "EXISTS (SELECT 1 FROM ticket_sla_alerts a WHERE a.ticket_id = t.id AND a.kind = 'due_soon') AS due_soon_sent, "
        "EXISTS (SELECT 1 FROM ticket_sla_alerts a WHERE a.ticket_id = t.id AND a.kind = 'overdue') AS overdue_sent "
        "FROM tickets t WHERE t.day = ? AND t.service = ? AND t.status IN ('waiting', 'transferred') "
        "ORDER BY t.issued_at", (day, service))]


def mark_ticket_alert(conn: sqlite3.Connection, ticket_id: int, kind: str, at: str) -> bool:
    """Record that `kind` was raised for the ticket; False when it already was (raise once)."""
    cur = conn.execute("INSERT OR IGNORE INTO ticket_sla_alerts (ticket_id, kind, at) VALUES (?, ?, ?)",
                       (ticket_id, kind, at))
    return cur.rowcount == 1


def ticket(conn: sqlite3.Connection, ticket_id: int) -> dict | None:
    row = conn.execute("SELECT * FROM tickets WHERE id = ?", (ticket_id,)).fetchone()
    return dict(row) if row else None


def resident(conn: sqlite3.Connection, resident_id: str) -> dict | None:
    row = conn.execute("SELECT * FROM residents WHERE id = ?", (resident_id,)).fetchone()
    return dict(row) if row else None
