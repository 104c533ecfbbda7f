"""SQL of the kiosk's sync tables: reading the outbox one batch at a time, settling a
batch's rows in one short write transaction, the dead-letter table, the agent's state
row (`sync_state`, migration 0003), the resident directory pulled from the central
office, and the status that `kiosk-sync status` and /healthz show.

The service writes the outbox (kiosk.store.outbox); the sync agent is its only reader
and the only one that deletes from it. Accepted rows are deleted (the central office
holds them now), so the table stays as small as the backlog; rejected rows move to
`sync_dead_letters` with the error, in the same transaction.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from kiosk.store.db import Database, table


# -- the outbox ------------------------------------------------------------------------
def next_rows(db: Database, limit: int) -> list[dict[str, Any]]:
    """The oldest `limit` outbox rows: never more than one batch is read."""
    return db.query("SELECT id, key, kind, op, occurred_at, data FROM outbox ORDER BY id LIMIT ?", (limit,))


def backlog(db: Database) -> int:
    return db.scalar("SELECT COUNT(*) FROM outbox")


def _ids(ids: Iterable[int]) -> str:
    return json.dumps(list(ids))


def settle(db: Database, *, accepted_ids: Sequence[int], rejected: Sequence[tuple[int, str]],
           batch_id: str | None, at: str, success: bool = True, error: str | None = None) -> None:
    """In one transaction: delete accepted rows, move rejected ones (id, error) to the
    dead-letter table, and note the success (or a partial answer's error)."""
    with db.write() as conn:
        if rejected:
            conn.executemany(
                "INSERT INTO sync_dead_letters (key, kind, op, occurred_at, data, error, batch_id, failed_at) "
                "SELECT key, kind, op, occurred_at, data, ?, ?, ? FROM outbox WHERE id = ?",
                [(err, batch_id, at, row_id) for row_id, err in rejected])
        gone = [*accepted_ids, *(row_id for row_id, _ in rejected)]
        if gone:
            conn.execute("DELETE FROM outbox WHERE id IN (SELECT value FROM json_each(?))", (_ids(gone),))
        if success:
            conn.execute("UPDATE sync_state SET last_success_at = ?, sent_total = sent_total + ?, "
                         "stopped_reason = NULL, stopped_at = NULL WHERE id = 1", (at, len(accepted_ids)))
        if error:
            conn.execute("UPDATE sync_state SET last_error = ?, last_error_at = ? WHERE id = 1", (error, at))


def note_error(db: Database, error: str, at: str) -> None:
    with db.write() as conn:
        conn.execute("UPDATE sync_state SET last_error = ?, last_error_at = ? WHERE id = 1", (error, at))


def note_stopped(db: Database, reason: str, at: str) -> None:
    with db.write() as conn:
        conn.execute("UPDATE sync_state SET stopped_reason = ?, stopped_at = ?, last_error = ?, last_error_at = ? "
                     "WHERE id = 1", (reason, at, reason, at))


def note_seen(db: Database, at: str) -> None:
    with db.write() as conn:
        conn.execute("UPDATE sync_state SET agent_seen_at = ? WHERE id = 1", (at,))


def requeue_dead_letters(db: Database, ids: Sequence[int] | None = None) -> int:
    """Put dead letters (all, or those ids) back at the end of the outbox; returns how many."""
    where, params = ("", ()) if ids is None else ("WHERE id IN (SELECT value FROM json_each(?))", (_ids(ids),))
    with db.write() as conn:
        moved = conn.execute(
            "INSERT OR IGNORE INTO outbox (key, kind, op, occurred_at, data) "
            f"SELECT key, kind, op, occurred_at, data FROM sync_dead_letters {where} ORDER BY id", params).rowcount
        conn.execute(f"DELETE FROM sync_dead_letters {where}", params)
    return moved


def dead_letters(db: Database, limit: int = 100) -> list[dict[str, Any]]:
    return db.query("SELECT id, key, kind, error, batch_id, failed_at FROM sync_dead_letters ORDER BY id DESC "
                    "LIMIT ?", (limit,))


# -- the directory ---------------------------------------------------------------------
DIRECTORY_FIELDS = ("id", "name", "unit", "phone", "phone_norm", "active")


def residents_cursor(db: Database) -> str | None:
    return db.scalar("SELECT residents_cursor FROM sync_state WHERE id = 1")


def reset_residents_cursor(db: Database) -> None:
    """Forget the cursor: the next pull fetches the whole directory again."""
    with db.write() as conn:
        conn.execute("UPDATE sync_state SET residents_cursor = NULL WHERE id = 1")


def apply_directory_page(db: Database, rows: Sequence[Mapping[str, Any]], cursor: str | None, at: str) -> None:
    """Upsert one page of the central directory and move the cursor past it, in one transaction.

    `rows` hold DIRECTORY_FIELDS and `id_hash` (None when the central office sent none).
    An ID hash made here (with the site key, by check-in or `kiosk residents import`)
    comes with its masked form; the central office's hash is keyed differently and never
    has a mask. So a row with a mask keeps its own hash, which is the one check-in can
    match, and the central hash is taken only where there is no mask.
    """
    with db.write() as conn:
        table(conn, "residents").upsert_all(
            ({**{f: r[f] for f in DIRECTORY_FIELDS}, "source": "central", "updated_at": at} for r in rows), pk="id")
        conn.executemany("UPDATE residents SET id_hash = ? WHERE id = ? AND id_masked IS NULL",
                         [(r["id_hash"], r["id"]) for r in rows if r["id_hash"] is not None])
        conn.execute("UPDATE sync_state SET residents_cursor = ?, residents_pulled_at = ?, last_success_at = ?, "
                     "stopped_reason = NULL, stopped_at = NULL WHERE id = 1", (cursor, at, at))


# -- status ----------------------------------------------------------------------------
def read_status(db: Database) -> dict[str, Any]:
    """What `kiosk-sync status` and /healthz show, from the database alone."""
    state = db.query_one("SELECT * FROM sync_state WHERE id = 1") or {}
    oldest = db.query_one("SELECT occurred_at FROM outbox ORDER BY id LIMIT 1")
    return {
        "backlog": backlog(db),
        "oldest_pending": oldest["occurred_at"] if oldest else None,
        "last_success_at": state.get("last_success_at"),
        "last_error": ({"at": state["last_error_at"], "message": state["last_error"]}
                       if state.get("last_error") else None),
        "dead_letters": db.scalar("SELECT COUNT(*) FROM sync_dead_letters"),
        "stopped": ({"at": state["stopped_at"], "reason": state["stopped_reason"]}
                    if state.get("stopped_reason") else None),
        "sent_total": state.get("sent_total", 0),
        "agent_seen_at": state.get("agent_seen_at"),
        "residents": {"cursor": state.get("residents_cursor"), "pulled_at": state.get("residents_pulled_at")},
    }
