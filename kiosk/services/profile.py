"""The resident profile (the CRM view): one resident's visits, tickets, cases with their
history, calls and survey answers, newest first. Visits and calls come from other parts
of the system; their tables are joined only when they exist and have a resident column."""

from __future__ import annotations

import contextlib
from typing import Any

from kiosk.clock import Clock, from_db_time, local_day, to_iso
from kiosk.queue.rules import effective_status
from kiosk.store.db import Database


def _columns(db: Database, table: str) -> set[str]:
    if not db.scalar("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)):
        return set()
    return {r["name"] for r in db.query(f"PRAGMA table_info({table})")}


def search(db: Database, q: str, limit: int = 50) -> list[dict[str, Any]]:
    """Residents whose name, unit or phone contains `q` (LIKE: 1-2 Chinese characters work too)."""
    like = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    digits = "".join(c for c in q if c.isdigit())
    params: list[Any] = [like, like, like]
    sql = ("SELECT id, name, unit, phone FROM residents WHERE active = 1 AND (name LIKE ? ESCAPE '\\' OR "
           "unit LIKE ? ESCAPE '\\' OR phone LIKE ? ESCAPE '\\'")
    if len(digits) >= 4:
        sql += " OR phone_norm LIKE ?"
        params.append(f"%{digits}%")
    sql += ") ORDER BY unit, name LIMIT ?"
    return db.query(sql, (*params, limit))


def _local(row: dict[str, Any], keys: tuple[str, ...], clock: Clock) -> dict[str, Any]:
    for k in keys:
        with contextlib.suppress(ValueError):
            moment = from_db_time(row.get(k), clock.tz)  # None when the column is absent or empty
            if moment is not None:
                row[k] = to_iso(moment)
    return row


def resident_profile(db: Database, clock: Clock, resident_id: str) -> dict[str, Any] | None:
    resident = db.query_one("SELECT id, name, unit, phone, id_masked, active, source, updated_at FROM residents "
                            "WHERE id = ?", (resident_id,))
    if resident is None:
        return None
    out: dict[str, Any] = {"resident": resident}
    tickets = db.query("SELECT id, number, service, status, day, counter, issued_at, finished_at FROM tickets "
                       "WHERE resident_id = ? ORDER BY issued_at DESC LIMIT 200", (resident_id,))
    today = local_day(clock.now(), clock.tz).isoformat()
    for t in tickets:  # a ticket never called before its day ended reads `expired`
        t["status"] = effective_status(t["status"], t.pop("day"), today).value
    out["tickets"] = [_local(t, ("issued_at", "finished_at"), clock) for t in tickets]
    cases = db.query("SELECT * FROM cases WHERE resident_id = ? ORDER BY created_at DESC LIMIT 200", (resident_id,))
    for c in cases:
        _local(c, ("created_at", "due_at", "feedback_at", "closed_at", "first_answer_at"), clock)
        c["history"] = [_local(h, ("at",), clock) for h in db.query(
            "SELECT at, actor, action, to_status, detail FROM case_history WHERE case_id = ? ORDER BY id DESC",
            (c["id"],))]
    out["cases"] = cases
    out["surveys"] = [_local(s, ("created_at",), clock) for s in db.query(
        "SELECT id, ticket_id, case_id, score, comment, channel, created_at FROM surveys WHERE resident_id = ? "
        "ORDER BY created_at DESC LIMIT 200", (resident_id,))]
    calls_cols = _columns(db, "calls")
    out["calls"] = []
    if {"resident_id", "started_at"} <= calls_cols:
        out["calls"] = [_local(r, ("started_at",), clock) for r in db.query(
            "SELECT * FROM calls WHERE resident_id = ? ORDER BY started_at DESC LIMIT 200", (resident_id,))]
    visit_cols = _columns(db, "visits")
    out["visits"] = []
    if "resident_id" in visit_cols:
        order = next((c for c in ("checked_in_at", "check_in_at", "created_at", "id") if c in visit_cols), "id")
        out["visits"] = [{k: v for k, v in r.items() if k not in ("id_hash", "snapshot_path")} for r in db.query(
            f"SELECT * FROM visits WHERE resident_id = ? ORDER BY {order} DESC LIMIT 200", (resident_id,))]
        for v in out["visits"]:
            _local(v, ("checked_in_at", "check_in_at", "checked_out_at", "check_out_at", "created_at"), clock)
    return out
