"""SQL for tickets. Functions take the connection of the caller's transaction."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from typing import Any

from kiosk.queue.rules import QUEUED

_QUEUED_SQL = "status IN ({})".format(", ".join(f"'{s.value}'" for s in sorted(QUEUED)))
#: The queue order: priority tickets first, then transferred ones, then by issue time (id breaks ties).
ORDER_SQL = "priority DESC, transferred DESC, issued_at, id"


def next_seq(conn: sqlite3.Connection, service: str, day: str) -> int:
    row = conn.execute(
        "INSERT INTO ticket_numbers (service, day, last) VALUES (?, ?, 1) "
        "ON CONFLICT (service, day) DO UPDATE SET last = last + 1 RETURNING last",
        (service, day),
    ).fetchone()
    return int(row[0])


#: Every column of `tickets`, in table order (a test holds this to the schema).
COLUMNS = ("id", "number", "service", "origin_service", "day", "seq", "status", "priority", "transferred",
           "counter", "recalls", "resident_id", "visit_id", "issued_at", "called_at", "started_at",
           "finished_at", "no_show_at", "updated_at", "version")
_INSERT_SQL = f"INSERT INTO tickets ({', '.join(COLUMNS[1:])}) VALUES ({', '.join('?' * (len(COLUMNS) - 1))})"


def insert(conn: sqlite3.Connection, values: dict[str, Any]) -> dict:
    """Insert a ticket given every column but `id`; returns the new row.

    The row is put together here, not read back with `RETURNING *`: Python 3.11's sqlite3
    lets go of the GIL once for every column it reads, and inside the write lock, with
    other threads waiting for the GIL, each of those can cost a turn of waiting."""
    row = {"id": None, **{c: values[c] for c in COLUMNS[1:]}}
    row["id"] = conn.execute(_INSERT_SQL, tuple(row.values())[1:]).lastrowid
    return row


def get(conn: sqlite3.Connection, ticket_id: int) -> dict | None:
    row = conn.execute("SELECT * FROM tickets WHERE id = ?", (ticket_id,)).fetchone()
    return dict(row) if row else None


def update(conn: sqlite3.Connection, ticket_id: int, changes: dict[str, Any]) -> dict:
    """Apply `changes`, bump the version, return the new row."""
    sets = ", ".join(f"{k} = ?" for k in changes)
    row = conn.execute(
        f"UPDATE tickets SET {sets}, version = version + 1 WHERE id = ? RETURNING *",
        (*changes.values(), ticket_id),
    ).fetchone()
    return dict(row)


def add_event(conn: sqlite3.Connection, *, ticket_id: int, at: str, action: str, from_status: str | None,
              to_status: str, counter: str | None, actor: str | None, detail: str | None = None) -> None:
    conn.execute(
        "INSERT INTO ticket_events (ticket_id, at, action, from_status, to_status, counter, actor, detail) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (ticket_id, at, action, from_status, to_status, counter, actor, detail),
    )


def first_queued(conn: sqlite3.Connection, day: str, services: Iterable[str]) -> dict | None:
    services = list(services)
    marks = ", ".join("?" for _ in services)
    row = conn.execute(
        f"SELECT * FROM tickets WHERE day = ? AND {_QUEUED_SQL} AND service IN ({marks}) "
        f"ORDER BY {ORDER_SQL} LIMIT 1",
        (day, *services),
    ).fetchone()
    return dict(row) if row else None


def at_counter(conn: sqlite3.Connection, counter: str) -> list[dict]:
    return [dict(r) for r in conn.execute(
        "SELECT * FROM tickets WHERE counter = ? AND status IN ('called', 'serving') ORDER BY called_at",
        (counter,),
    )]


def no_shows_since(conn: sqlite3.Connection, counter: str, since: str) -> list[dict]:
    return [dict(r) for r in conn.execute(
        "SELECT * FROM tickets WHERE counter = ? AND status = 'no_show' AND no_show_at >= ? ORDER BY no_show_at DESC",
        (counter, since),
    )]


def people_ahead(conn: sqlite3.Connection, ticket: dict) -> int:
    """Queued tickets of the same service that will be called before this queued one.

    Those in the groups (priority, transferred) called before its own come from
    `queue_counts`; within its own group, those issued after it are counted and taken
    off. A ticket just issued has nobody behind it, so the answer costs the same however
    long the queue is."""
    day, service, priority, transferred = ticket["day"], ticket["service"], ticket["priority"], ticket["transferred"]
    return max(0, conn.execute(
        "SELECT (SELECT COALESCE(SUM(n), 0) FROM queue_counts WHERE day = ? AND service = ? "
        "        AND (priority > ? OR (priority = ? AND transferred >= ?))) "
        f"- (SELECT COUNT(*) FROM tickets WHERE day = ? AND service = ? AND {_QUEUED_SQL} "
        "    AND priority = ? AND transferred = ? AND (issued_at, id) >= (?, ?))",
        (day, service, priority, priority, transferred,
         day, service, priority, transferred, ticket["issued_at"], ticket["id"]),
    ).fetchone()[0])


def queued(conn: sqlite3.Connection, day: str, services: Iterable[str] | None = None, limit: int = 200) -> list[dict]:
    sql = f"SELECT * FROM tickets WHERE day = ? AND {_QUEUED_SQL}"
    params: list[Any] = [day]
    if services is not None:
        services = list(services)
        sql += f" AND service IN ({', '.join('?' for _ in services)})"
        params += services
    sql += f" ORDER BY {ORDER_SQL} LIMIT ?"
    return [dict(r) for r in conn.execute(sql, (*params, limit))]


def waiting_counts(conn: sqlite3.Connection, day: str) -> dict[str, int]:
    return {r[0]: r[1] for r in conn.execute(
        "SELECT service, SUM(n) FROM queue_counts WHERE day = ? GROUP BY service HAVING SUM(n) > 0", (day,))}


def recent_durations(conn: sqlite3.Connection, service: str, limit: int) -> list[float]:
    """Seconds from call to finish of the service's last finished tickets."""
    return [r[0] for r in conn.execute(
        "SELECT (julianday(finished_at) - julianday(called_at)) * 86400.0 FROM tickets "
        "WHERE service = ? AND status = 'done' AND finished_at IS NOT NULL AND called_at IS NOT NULL "
        "ORDER BY finished_at DESC LIMIT ?",
        (service, limit),
    )]


def active_counters(conn: sqlite3.Connection, since: str) -> set[str]:
    """Counters that called somebody since `since` (a range on the tickets_called index)."""
    return {r[0] for r in conn.execute(
        "SELECT DISTINCT counter FROM tickets INDEXED BY tickets_called "
        "WHERE called_at >= ? AND counter IS NOT NULL", (since,))}


def recent_calls(conn: sqlite3.Connection, day: str, limit: int) -> list[dict]:
    return [dict(r) for r in conn.execute(
        "SELECT * FROM tickets WHERE day = ? AND called_at IS NOT NULL ORDER BY called_at DESC, id DESC LIMIT ?",
        (day, limit),
    )]
