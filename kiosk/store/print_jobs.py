"""The `print_jobs` table: one row per thing to print, written in the transaction of the
change it prints (a ticket, a case, a visit) and marked by the print spooler. Only
`kiosk.services.printing` calls these."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from typing import Any, cast

#: A finished attempt, as `mark` writes it: (status, last error, printed_at, job id).
Mark = tuple[str, str | None, str | None, int]


def insert(conn: sqlite3.Connection, *, kind: str, payload: str, created_at: str,
           ticket_id: int | None = None) -> int:
    """Add a pending job; call inside the write transaction of the change it prints."""
    return cast(int, conn.execute(
        "INSERT INTO print_jobs (ticket_id, kind, payload, status, created_at) VALUES (?, ?, ?, 'pending', ?)",
        (ticket_id, kind, payload, created_at)).lastrowid)


def pending(conn: sqlite3.Connection, after_id: int, limit: int) -> list[dict[str, Any]]:
    """Up to `limit` pending jobs after `after_id`, oldest first, with their ticket's status
    and day (None for jobs that print no ticket)."""
    return [dict(r) for r in conn.execute(
        "SELECT j.id, j.payload, j.attempts, t.status AS ticket_status, t.day AS ticket_day "
        "FROM print_jobs j LEFT JOIN tickets t ON t.id = j.ticket_id "
        "WHERE j.status = 'pending' AND j.id > ? ORDER BY j.id LIMIT ?", (after_id, limit)).fetchall()]


def count_pending(conn: sqlite3.Connection, after_id: int = 0) -> int:
    count: int = conn.execute("SELECT COUNT(*) FROM print_jobs WHERE status = 'pending' AND id > ?",
                              (after_id,)).fetchone()[0]
    return count


#: Kinds whose QR code is a phone-page link (a capability): kept only until printed.
_LINK_KINDS = "('ticket', 'case_slip')"


def mark(conn: sqlite3.Connection, marks: Iterable[Mark]) -> None:
    """Record attempts: each counts once, `pending` leaves the job to be tried again. A
    ticket or case slip done with (printed or given up) forgets its QR payload, the phone-page link, so that the
    database keeps only the capability's digest (kiosk/capability.py)."""
    marks = list(marks)
    conn.executemany("UPDATE print_jobs SET status = ?, attempts = attempts + 1, last_error = ?, "
                     "printed_at = ? WHERE id = ?", marks)
    conn.executemany(f"UPDATE print_jobs SET payload = json_set(payload, '$.qr_payload', '') "
                     f"WHERE id = ? AND kind IN {_LINK_KINDS}",
                     [(job_id,) for status, _error, _at, job_id in marks if status != "pending"])
