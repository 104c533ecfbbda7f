"""SQL of the visit log, the audit log, resident cards and the residents the check-in
reads. Functions take a connection so callers group them in one transaction."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from kiosk.store.db import table

VISIT_COLUMNS = ("kind", "method", "resident_id", "name", "phone", "phone_norm", "unit", "purpose", "id_hash",
                 "id_masked", "source", "day", "checked_in_at", "checked_out_at", "snapshot_path", "snapshot_sha256",
                 "ticket_id", "updated_at")


#: A new visit's id: above every visit there is and every one ever deleted (migration 0017).
NEXT_VISIT_ID = ("(SELECT MAX(COALESCE((SELECT MAX(id) FROM visits), 0), "
                 "COALESCE((SELECT last_id FROM retired_ids WHERE tbl = 'visits'), 0)) + 1)")


def _one(conn: sqlite3.Connection, sql: str, params: Any = ()) -> dict[str, Any] | None:
    row = conn.execute(sql, params).fetchone()
    return dict(row) if row is not None else None


# -- residents -----------------------------------------------------------------------------
def resident(conn: sqlite3.Connection, resident_id: str) -> dict[str, Any] | None:
    return _one(conn, "SELECT * FROM residents WHERE id = ?", (resident_id,))


def resident_by_id_hash(conn: sqlite3.Connection, id_hash: str) -> dict[str, Any] | None:
    return _one(conn, "SELECT * FROM residents WHERE id_hash = ? AND active = 1 ORDER BY updated_at DESC LIMIT 1",
                (id_hash,))


RESIDENT_FIELDS = ("id", "name", "unit", "phone", "phone_norm", "source", "updated_at")


def upsert_residents(conn: sqlite3.Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Insert or update residents, in order, and mark them active.

    Rows hold RESIDENT_FIELDS, `id_hash` and `id_masked`; where those two are None the
    resident keeps the ones it has (a CSV line without an ID number does not erase one).
    One bulk upsert writes the fields every row has, then the ID columns are set for the
    rows that carry them: a resident listed twice ends as its last line says, with the
    last ID number given.
    """
    table(conn, "residents").upsert_all(({**{f: r[f] for f in RESIDENT_FIELDS}, "active": 1} for r in rows), pk="id")
    conn.executemany("UPDATE residents SET id_hash = COALESCE(?, id_hash), id_masked = COALESCE(?, id_masked) "
                     "WHERE id = ?", [(r["id_hash"], r["id_masked"], r["id"]) for r in rows
                                      if r["id_hash"] is not None or r["id_masked"] is not None])


def residents(conn: sqlite3.Connection, q: str = "", limit: int = 100) -> list[dict[str, Any]]:
    like = f"%{q}%"
    return [dict(r) for r in conn.execute(
        "SELECT * FROM residents WHERE active = 1 AND (? = '' OR name LIKE ? OR unit LIKE ? OR id LIKE ?) "
        "ORDER BY unit, name LIMIT ?", (q, like, like, like, limit))]


# -- cards ---------------------------------------------------------------------------------
def add_card(conn: sqlite3.Connection, sig: str, resident_id: str, issued_at: str, expires_at: str,
             issued_by: str) -> None:
    conn.execute("INSERT OR REPLACE INTO resident_cards (sig, resident_id, issued_at, expires_at, issued_by) "
                 "VALUES (?, ?, ?, ?, ?)", (sig, resident_id, issued_at, expires_at, issued_by))


def revoke_cards(conn: sqlite3.Connection, resident_id: str, at: str, reason: str) -> int:
    cur = conn.execute(
        "INSERT OR IGNORE INTO revoked_tokens (sig, resident_id, revoked_at, reason) "
        "SELECT sig, resident_id, ?, ? FROM resident_cards WHERE resident_id = ?", (at, reason, resident_id))
    return cur.rowcount


def is_revoked(conn: sqlite3.Connection, sig: str) -> bool:
    return conn.execute("SELECT 1 FROM revoked_tokens WHERE sig = ?", (sig,)).fetchone() is not None


# -- visits --------------------------------------------------------------------------------
def insert_visit(conn: sqlite3.Connection, row: dict[str, Any]) -> int:
    cols = [c for c in VISIT_COLUMNS if c in row]
    # A cursor's lastrowid is None only until it runs an INSERT, as this one just did.
    return cast(int, conn.execute(f"INSERT INTO visits (id, {', '.join(cols)}) "
                                  f"VALUES ({NEXT_VISIT_ID}, {', '.join('?' * len(cols))})",
                                  [row[c] for c in cols]).lastrowid)


def update_visit(conn: sqlite3.Connection, visit_id: int, changes: dict[str, Any]) -> dict[str, Any]:
    """Apply `changes` to a visit the caller has read in this transaction; the updated row."""
    sets = ", ".join(f"{k} = ?" for k in changes)
    conn.execute(f"UPDATE visits SET {sets}, version = version + 1 WHERE id = ?", [*changes.values(), visit_id])
    updated = visit(conn, visit_id)
    assert updated is not None, f"visit {visit_id} vanished inside its write transaction"
    return updated


def visit(conn: sqlite3.Connection, visit_id: int) -> dict[str, Any] | None:
    return _one(conn, "SELECT * FROM visits WHERE id = ?", (visit_id,))


@dataclass
class VisitFilter:
    start: str | None = None  # checked_in_at >= (UTC db time)
    end: str | None = None    # checked_in_at <
    q: str = ""
    unit: str = ""
    method: str = ""
    limit: int = 50
    offset: int = 0


def _fts_query(q: str) -> str:
    """`q` as one FTS5 string: quoted, its quotes doubled, so no word or character in it is
    FTS syntax (AND, NEAR, *, ^, parentheses, column filters). NUL is dropped: SQLite's FTS5
    parser stops at it and reports an unterminated string."""
    return '"' + q.replace("\x00", "").replace('"', '""') + '"'


def search(conn: sqlite3.Connection, f: VisitFilter) -> tuple[list[dict[str, Any]], int]:
    """One page of visits, newest first, and how many match in all.

    Text of 3+ characters matches anywhere in the name, unit or phone (trigram index);
    1-2 characters (a Chinese surname, a building number) match the start of the name
    or the unit, through their indexes: FTS5 trigrams need 3 characters, and LIKE
    '%x%' would scan a year of visits.
    """
    where, params = [], []
    if f.start:
        where.append("v.checked_in_at >= ?")
        params.append(f.start)
    if f.end:
        where.append("v.checked_in_at < ?")
        params.append(f.end)
    if f.unit:
        where.append("v.unit = ?")
        params.append(f.unit)
    if f.method:
        where.append("v.method = ?")
        params.append(f.method)
    q = f.q.strip()
    if len(q) >= 3:
        where.append("v.id IN (SELECT rowid FROM visits_fts WHERE visits_fts MATCH ?)")
        params.append(_fts_query(q))
    elif q:  # a surname or the start of a unit: index ranges, never a scan of the year
        where.append("((v.name >= ? AND v.name < ?) OR (v.unit >= ? AND v.unit < ?))")
        params += [q, q + "\U0010ffff"] * 2
    clause = ("WHERE " + " AND ".join(where)) if where else ""
    total = conn.execute(f"SELECT COUNT(*) FROM visits v {clause}", params).fetchone()[0]
    # The page's ids first (the indexes cover name/unit/time), then only those rows.
    ids = [r[0] for r in conn.execute(f"SELECT v.id FROM visits v {clause} ORDER BY v.checked_in_at DESC, v.id DESC "
                                      f"LIMIT ? OFFSET ?", [*params, f.limit, f.offset])]
    if not ids:
        return [], total
    rows = conn.execute(f"SELECT * FROM visits WHERE id IN ({', '.join('?' * len(ids))}) "
                        f"ORDER BY checked_in_at DESC, id DESC", ids).fetchall()
    return [dict(r) for r in rows], total


def old_snapshots(conn: sqlite3.Connection, before: str) -> list[dict[str, Any]]:
    return [dict(r) for r in conn.execute(
        "SELECT id, snapshot_path FROM visits WHERE snapshot_path IS NOT NULL AND checked_in_at < ?", (before,))]


def old_visits(conn: sqlite3.Connection, before: str) -> list[dict[str, Any]]:
    return [dict(r) for r in conn.execute(
        "SELECT id, snapshot_path, version FROM visits WHERE checked_in_at < ?", (before,))]


# -- audit ---------------------------------------------------------------------------------
def add_audit(conn: sqlite3.Connection, at: str, actor: str, role: str, action: str, target: str,
              detail: str) -> int:
    # lastrowid: see insert_visit.
    return cast(int, conn.execute(
        "INSERT INTO audit_log (at, actor, role, action, target, detail) VALUES (?, ?, ?, ?, ?, ?)",
        (at, actor, role, action, target, detail)).lastrowid)


def audit_rows(conn: sqlite3.Connection, limit: int = 200, offset: int = 0) -> list[dict[str, Any]]:
    return [dict(r) for r in conn.execute("SELECT * FROM audit_log ORDER BY id DESC LIMIT ? OFFSET ?",
                                          (limit, offset))]
