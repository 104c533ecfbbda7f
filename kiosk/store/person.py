"""SQL of a person's records for export and erasure (kiosk/services/person.py): finding
every row that carries one of a person's identifiers, and removing or anonymising them.
Functions take the connection of the caller's transaction."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from kiosk.phone_numbers import normalise
from kiosk.store.db import Database


@contextmanager
def read_snapshot(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One read transaction, so an export's queries all see the same moment."""
    conn.execute("BEGIN")
    try:
        yield conn
    finally:
        conn.execute("COMMIT")


def _rows(conn: sqlite3.Connection, sql: str, params: Any = ()) -> list[dict[str, Any]]:
    return [dict(r) for r in conn.execute(sql, params)]


def _json(values: Iterable[Any]) -> str:
    return json.dumps(sorted({v for v in values if v not in (None, "")}, key=str))


def residents_matching(conn: sqlite3.Connection, *, resident_id: str | None = None, phone_norm: str | None = None,
                       id_hash: str | None = None) -> list[dict[str, Any]]:
    """Directory rows (active or not) with this id, phone (normalised) or ID-number hash."""
    return _rows(conn, "SELECT * FROM residents WHERE id = ? OR (? <> '' AND phone_norm = ?) "
                 "OR (? <> '' AND id_hash = ?) ORDER BY id",
                 (resident_id or "", phone_norm or "", phone_norm or "", id_hash or "", id_hash or ""))


def visits_of(conn: sqlite3.Connection, ids: Iterable[str], phones: Iterable[str],
              hashes: Iterable[str]) -> list[dict[str, Any]]:
    return _rows(conn, "SELECT * FROM visits WHERE resident_id IN (SELECT value FROM json_each(?)) "
                 "OR phone_norm IN (SELECT value FROM json_each(?)) OR id_hash IN (SELECT value FROM json_each(?)) "
                 "ORDER BY id", (_json(ids), _json(phones), _json(hashes)))


def calls_of(conn: sqlite3.Connection, ids: Iterable[str], phones: Iterable[str]) -> list[dict[str, Any]]:
    return _rows(conn, "SELECT * FROM calls WHERE resident_id IN (SELECT value FROM json_each(?)) "
                 "OR number_norm IN (SELECT value FROM json_each(?)) ORDER BY id", (_json(ids), _json(phones)))


def cases_of(conn: sqlite3.Connection, ids: Iterable[str], phones: Iterable[str], visit_ids: Iterable[int],
             call_ids: Iterable[int], ticket_ids: Iterable[int]) -> list[dict[str, Any]]:
    """Cases where the person is the resident or the contact (by phone), or that came from
    one of their visits, calls or tickets. `contact_phone` is free text, so it is
    normalised here."""
    phone_set = {p for p in phones if p}
    links: list[set[Any]] = [set(ids), set(visit_ids), set(call_ids), set(ticket_ids)]
    rows = _rows(conn, "SELECT * FROM cases WHERE resident_id IN (SELECT value FROM json_each(?)) "
                 "OR visit_id IN (SELECT value FROM json_each(?)) OR call_id IN (SELECT value FROM json_each(?)) "
                 "OR ticket_id IN (SELECT value FROM json_each(?)) OR contact_phone <> '' ORDER BY id",
                 [_json(s) for s in links])
    return [r for r in rows if any(r[col] in s for col, s in zip(("resident_id", "visit_id", "call_id", "ticket_id"),
                                                                  links, strict=True))
            or normalise(r["contact_phone"]) in phone_set]


def case_history(conn: sqlite3.Connection, case_id: int) -> list[dict[str, Any]]:
    return _rows(conn, "SELECT at, actor, action, from_status, to_status, detail FROM case_history "
                 "WHERE case_id = ? ORDER BY id", (case_id,))


def tickets_of(conn: sqlite3.Connection, ids: Iterable[str], visit_ids: Iterable[int],
               ticket_ids: Iterable[int]) -> list[dict[str, Any]]:
    return _rows(conn, "SELECT * FROM tickets WHERE resident_id IN (SELECT value FROM json_each(?)) "
                 "OR visit_id IN (SELECT value FROM json_each(?)) OR id IN (SELECT value FROM json_each(?)) "
                 "ORDER BY id", (_json(ids), _json(visit_ids), _json(ticket_ids)))


def surveys_of(conn: sqlite3.Connection, ids: Iterable[str], ticket_ids: Iterable[int],
               case_ids: Iterable[int]) -> list[dict[str, Any]]:
    return _rows(conn, "SELECT * FROM surveys WHERE resident_id IN (SELECT value FROM json_each(?)) "
                 "OR ticket_id IN (SELECT value FROM json_each(?)) OR case_id IN (SELECT value FROM json_each(?)) "
                 "ORDER BY id", (_json(ids), _json(ticket_ids), _json(case_ids)))


def cards_of(conn: sqlite3.Connection, ids: Iterable[str]) -> list[dict[str, Any]]:
    return _rows(conn, "SELECT sig, resident_id, issued_at, expires_at, issued_by FROM resident_cards "
                 "WHERE resident_id IN (SELECT value FROM json_each(?)) ORDER BY issued_at", (_json(ids),))


# -- erasure -------------------------------------------------------------------------------
def delete_visits(conn: sqlite3.Connection, visit_ids: Iterable[int]) -> None:
    """Cases that came from them keep the case with `visit_id` NULL (ON DELETE SET NULL)."""
    conn.executemany("DELETE FROM visits WHERE id = ?", [(v,) for v in visit_ids])


def delete_calls(conn: sqlite3.Connection, call_ids: Iterable[int]) -> None:
    conn.executemany("DELETE FROM calls WHERE id = ?", [(c,) for c in call_ids])


def anonymise_case(conn: sqlite3.Connection, case_id: int, at: str, version_step: int) -> dict[str, Any]:
    """Blank the contact fields and links to the person; the case stays for the statistics."""
    return dict(conn.execute(
        "UPDATE cases SET resident_id = NULL, contact_name = '', contact_phone = '', unit = '', visit_id = NULL, "
        "call_id = NULL, updated_at = ?, version = version + ? WHERE id = ? RETURNING *",
        (at, version_step, case_id)).fetchone())


def anonymise_ticket(conn: sqlite3.Connection, ticket_id: int, at: str, version_step: int) -> dict[str, Any]:
    return dict(conn.execute(
        "UPDATE tickets SET resident_id = NULL, visit_id = NULL, updated_at = ?, version = version + ? "
        "WHERE id = ? RETURNING *", (at, version_step, ticket_id)).fetchone())


def anonymise_survey(conn: sqlite3.Connection, survey_id: int) -> dict[str, Any]:
    """The score stays (statistics); who gave it and the comment they wrote go."""
    return dict(conn.execute("UPDATE surveys SET resident_id = NULL, comment = '' WHERE id = ? RETURNING *",
                             (survey_id,)).fetchone())


def forget_residents(conn: sqlite3.Connection, ids: Iterable[str], at: str) -> None:
    """Remove directory rows and their cards. A card already handed out stays refused: its
    signature is kept in `revoked_tokens`, without the resident id."""
    ids_json = _json(ids)
    conn.execute("INSERT OR IGNORE INTO revoked_tokens (sig, resident_id, revoked_at, reason) "
                 "SELECT sig, '', ?, 'erased' FROM resident_cards "
                 "WHERE resident_id IN (SELECT value FROM json_each(?))",
                 (at, ids_json))
    conn.execute("UPDATE revoked_tokens SET resident_id = '' WHERE resident_id IN (SELECT value FROM json_each(?))",
                 (ids_json,))
    conn.execute("DELETE FROM resident_cards WHERE resident_id IN (SELECT value FROM json_each(?))", (ids_json,))
    conn.execute("DELETE FROM residents WHERE id IN (SELECT value FROM json_each(?))", (ids_json,))


def print_jobs_of(conn: sqlite3.Connection, visit_ids: Iterable[int], resident_ids: Iterable[str]) -> list[int]:
    """Print jobs whose payload names the person: their visitor passes and resident cards
    (a card's QR payload `R:<site>:<resident>:<expiry>:<sig>` names the resident)."""
    visit_set, resident_set = set(visit_ids), set(resident_ids)
    found = []
    for row in conn.execute("SELECT id, kind, payload FROM print_jobs WHERE kind IN ('visitor_pass', "
                            "'resident_card')"):
        try:
            payload = json.loads(row["payload"])
        except ValueError:
            continue
        if row["kind"] == "visitor_pass" and payload.get("visit_id") in visit_set:
            found.append(row["id"])
        elif row["kind"] == "resident_card":
            parts = str(payload.get("qr_payload", "")).split(":")
            if len(parts) == 5 and parts[2] in resident_set:
                found.append(row["id"])
    return found


def delete_print_jobs(conn: sqlite3.Connection, job_ids: Iterable[int]) -> None:
    conn.executemany("DELETE FROM print_jobs WHERE id = ?", [(j,) for j in job_ids])


def flush_wal(db: Database) -> bool:
    """Copy the WAL into the database file and empty it, so the page images written
    before an erasure do not linger in the WAL; False when a reader kept it from
    finishing (the next checkpoint does it)."""
    busy = db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
    return not busy
