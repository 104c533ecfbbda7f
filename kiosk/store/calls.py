"""SQL for incoming phone calls. Functions take the connection of the caller's transaction.

Every change to a call bumps its version and writes its outbox row (kind `call`) in the
same transaction; the record's fields are documented in docs/sync.md ("Call records").
Times are stored as UTC ISO 8601 with milliseconds (`kiosk.clock.db_time`).
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from kiosk.store import outbox

KINDS = ("normal", "private", "out_of_area")
_RECORD_FIELDS = ("id", "number", "number_norm", "name", "kind", "resident_id", "status",
                  "handled_by", "case_id", "version")
_RECORD_TIMES = ("started_at", "handled_at", "updated_at")
#: A new call's id: above every call there is and every one ever deleted (migration 0017),
#: so an id is never reused.
_NEXT_ID = ("(SELECT MAX(COALESCE((SELECT MAX(id) FROM calls), 0), "
            "COALESCE((SELECT last_id FROM retired_ids WHERE tbl = 'calls'), 0)) + 1)")


def _db_time(at: str) -> str:
    """Any ISO 8601 moment (with an offset; naive is taken as UTC) in the stored form."""
    moment = datetime.fromisoformat(at)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


def _zone(at: str, tz: str | tzinfo | None) -> tzinfo:
    if isinstance(tz, str):
        return ZoneInfo(tz)
    if tz is not None:
        return tz
    moment = datetime.fromisoformat(at)
    return moment.tzinfo or UTC


def record(call: dict, tz: tzinfo) -> dict[str, Any]:
    """The call as the central office receives it (docs/sync.md, "Call records")."""
    data = {k: call[k] for k in _RECORD_FIELDS}
    for k in _RECORD_TIMES:
        data[k] = (datetime.fromisoformat(call[k]).astimezone(tz).isoformat(timespec="seconds")
                   if call[k] else None)
    return data


def _write_outbox(conn: sqlite3.Connection, call: dict, *, site_id: str, tz: tzinfo) -> None:
    data = record(call, tz)
    outbox.add(conn, site_id=site_id, kind="call", local_id=call["id"], version=call["version"],
               occurred_at=data["updated_at"], data=data)


def insert(conn: sqlite3.Connection, *, number: str, number_norm: str, name: str, kind: str,
           resident_id: str | None, modem_stamp: str | None, at: str, site_id: str,
           tz: str | tzinfo | None = None) -> dict:
    """Store a new (missed until handled) call and its outbox row; returns the row."""
    if kind not in KINDS:
        raise ValueError(f"unknown call kind {kind!r}")
    stamp = _db_time(at)
    row = dict(conn.execute(
        "INSERT INTO calls (id, number, number_norm, name, kind, resident_id, modem_stamp, started_at, "
        f"status, updated_at, version) VALUES ({_NEXT_ID}, ?, ?, ?, ?, ?, ?, ?, 'missed', ?, 1) RETURNING *",
        (number, number_norm, name, kind, resident_id, modem_stamp, stamp, stamp),
    ).fetchone())
    _write_outbox(conn, row, site_id=site_id, tz=_zone(at, tz))
    return row


def get(conn: sqlite3.Connection, call_id: int) -> dict | None:
    row = conn.execute("SELECT * FROM calls WHERE id = ?", (call_id,)).fetchone()
    return dict(row) if row else None


def _update(conn: sqlite3.Connection, call_id: int, changes: dict[str, Any], *, at: str, site_id: str,
            tz: str | tzinfo | None) -> dict:
    sets = ", ".join(f"{k} = ?" for k in changes)
    row = conn.execute(
        f"UPDATE calls SET {sets}, updated_at = ?, version = version + 1 WHERE id = ? RETURNING *",
        (*changes.values(), _db_time(at), call_id),
    ).fetchone()
    if row is None:
        raise LookupError(f"no call {call_id}")
    call = dict(row)
    _write_outbox(conn, call, site_id=site_id, tz=_zone(at, tz))
    return call


def link_case(conn: sqlite3.Connection, call_id: int, case_id: int, *, site_id: str, at: str,
              handled_by: str | None = None, tz: str | tzinfo | None = None) -> None:
    """Link `case_id` to the call and mark the call handled (a case answers it).

    Call inside the write transaction that creates the case; writes the call's outbox
    row (kind `call`, next version). `at` is an ISO 8601 moment with an offset (the
    record's times use that offset unless `tz` names the site's zone). Raises
    LookupError when the call does not exist, so the caller's transaction rolls back.
    """
    current = get(conn, call_id)
    if current is None:
        raise LookupError(f"no call {call_id}")
    changes: dict[str, Any] = {"case_id": int(case_id), "status": "handled"}
    if current["handled_at"] is None:
        changes["handled_at"] = _db_time(at)
    if handled_by and current["handled_by"] is None:
        changes["handled_by"] = handled_by
    _update(conn, call_id, changes, at=at, site_id=site_id, tz=tz)


def mark_handled(conn: sqlite3.Connection, call_id: int, *, by: str, at: str, site_id: str,
                 tz: str | tzinfo | None = None) -> dict:
    """Mark a call handled (called back); handling an already handled call changes nothing."""
    current = get(conn, call_id)
    if current is None:
        raise LookupError(f"no call {call_id}")
    if current["status"] == "handled":
        return current
    return _update(conn, call_id, {"status": "handled", "handled_by": by, "handled_at": _db_time(at)},
                   at=at, site_id=site_id, tz=tz)


def recent(conn: sqlite3.Connection, *, limit: int = 50, status: str | None = None) -> list[dict]:
    """Newest first, each with the matched resident's name and unit (or None)."""
    where, params = "", []
    if status is not None:
        where, params = "WHERE c.status = ?", [status]
    return [dict(r) for r in conn.execute(
        "SELECT c.*, r.name AS resident_name, r.unit AS resident_unit FROM calls c "
        f"LEFT JOIN residents r ON r.id = c.resident_id {where} "
        "ORDER BY c.started_at DESC, c.id DESC LIMIT ?", (*params, limit))]


def find_resident(conn: sqlite3.Connection, number_norm: str) -> dict | None:
    """The active resident whose normalised phone is `number_norm` (most recently updated)."""
    if not number_norm:
        return None
    row = conn.execute(
        "SELECT id, name, unit, phone FROM residents WHERE phone_norm = ? AND active = 1 "
        "ORDER BY updated_at DESC, id LIMIT 1", (number_norm,)).fetchone()
    return dict(row) if row else None
