"""`kiosk-central copy-store`: move a central office from its SQLite file to PostgreSQL.

Both stores are opened (and so migrated) to the same schema first. Then:

- An empty target (no records, sites, users or residents) gets everything in one
  transaction: every table but the login sessions, row for row with PostgreSQL's COPY,
  the dashboard counters and `latest` included, then its id sequences moved past the
  copied ids. A run that is interrupted leaves the target empty; run it again.
- A target that holds a finished copy of the same source (its `settings` remember the
  source's directory key, and how far each table was copied) gets what the source gained
  since: records fed through the target's own ingest (so deletes and the counters stay
  exact, and keys already there are skipped; the site's batch counters count them as
  batches received), directory changes through the target's
  directory functions (new sequence numbers, audited), newer audit entries, and sites and
  users it lacks. Nothing at the target is overwritten or removed, so a second run right
  after the first changes nothing.
- Any other non-empty target is refused.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import groupby
from typing import Any

import psycopg

from sync.central.directory import Entry
from sync.central.storage import CentralStore, is_postgres_url, open_store, utc_now

#: Tables never copied: the sessions (log in again after the move) and the migration log
#: (the target has its own).
SKIPPED = ("sessions", "schema_migrations")
CHUNK = 5000
_MARK = "copy."


class CopyError(Exception):
    """The copy cannot start (and changed nothing)."""


@dataclass
class CopyResult:
    mode: str  # "full" or "catch-up"
    rows: dict[str, int] = field(default_factory=dict)


def _source_tables(conn: sqlite3.Connection) -> list[str]:
    names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                        "AND name NOT LIKE 'sqlite_%' ORDER BY name")]
    return [n for n in names if n not in SKIPPED]


def _columns(conn: sqlite3.Connection, table: str) -> list[str]:
    return [r[1] for r in conn.execute(f"PRAGMA table_info({table})")]


def _chunks(cur: sqlite3.Cursor) -> Iterator[list[Any]]:
    while rows := cur.fetchmany(CHUNK):
        yield rows


def _identity(source: CentralStore) -> str:
    """Which source a target was copied from: a hash of the source's directory key (which
    the copy carries over, so ID-number hashes keep matching)."""
    return hashlib.sha256(source.id_key()).hexdigest()


def copy_store(source_path: str, target_url: str, log: Callable[[str], None] = lambda _: None) -> CopyResult:
    if is_postgres_url(source_path):
        raise CopyError("--from is the SQLite file of the central store")
    if not is_postgres_url(target_url):
        raise CopyError("--to must be a postgresql:// URL")
    source = open_store(source_path)
    try:
        identity = _identity(source)
    finally:
        source.close()
    target = open_store(target_url)
    try:
        with psycopg.connect(target_url) as conn:
            marks = {str(name)[len(_MARK):]: str(value) for name, value in conn.execute(
                "SELECT name, value FROM settings WHERE name LIKE %s", (_MARK + "%",)).fetchall()}
            occupied = [t for t in ("records", "sites", "users", "residents")
                        if conn.execute(f"SELECT 1 FROM {t} LIMIT 1").fetchone()]
        if not marks and not occupied:
            return _full(source_path, target_url, identity, log)
        if marks.get("source") != identity:
            raise CopyError(f"the target is not empty ({', '.join(occupied) or 'settings'}) and was not copied "
                            "from this file; copy into a new empty database")
        return _catch_up(source_path, target, target_url, marks, log)
    finally:
        target.close()


def _full(source_path: str, target_url: str, identity: str, log: Callable[[str], None]) -> CopyResult:
    result = CopyResult("full")
    src = sqlite3.connect(source_path)
    try:
        with psycopg.connect(target_url) as dst, dst.transaction():
            dst.execute("LOCK TABLE records IN EXCLUSIVE MODE")
            for table in _source_tables(src):
                cols = _columns(src, table)
                n = 0
                with dst.cursor() as cur, cur.copy(
                        f"COPY {table} ({', '.join(cols)}) FROM STDIN") as copy:
                    for rows in _chunks(src.execute(f"SELECT {', '.join(cols)} FROM {table}")):
                        for row in rows:
                            copy.write_row(row)
                        n += len(rows)
                result.rows[table] = n
                log(f"{table}: {n:,} rows")
            for table, column in (("records", "seq"), ("audit", "id")):
                dst.execute(f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'), "
                            f"GREATEST((SELECT MAX({column}) FROM {table}), 1))")
            marks = {"source": identity, "at": utc_now(), **_high_marks(src)}
            with dst.cursor() as cur:
                cur.executemany("INSERT INTO settings (name, value) VALUES (%s, %s)",
                                [(_MARK + k, str(v)) for k, v in marks.items()])
            dst.execute("ANALYZE")
    finally:
        src.close()
    return result


def _high_marks(src: sqlite3.Connection) -> dict[str, int]:
    def top(sql: str) -> int:
        return int(src.execute(sql).fetchone()[0] or 0)

    return {"records_seq": top("SELECT MAX(seq) FROM records"), "audit_id": top("SELECT MAX(id) FROM audit"),
            "residents_seq": top("SELECT MAX(seq) FROM residents")}


def _catch_up(source_path: str, target: CentralStore, target_url: str, marks: dict[str, str],
              log: Callable[[str], None]) -> CopyResult:
    result = CopyResult("catch-up")
    src = sqlite3.connect(source_path)
    src.row_factory = sqlite3.Row
    try:
        new_marks = _high_marks(src)
        pending = src.execute("SELECT seq, key, site_id, kind, op, occurred_at, data, batch_id, received_at "
                              "FROM records WHERE seq > ? ORDER BY seq", (int(marks.get("records_seq", 0)),))
        backlog = {r["site_id"]: r["backlog"] for r in src.execute("SELECT site_id, backlog FROM site_stats")}
        n = 0
        for rows in _chunks(pending):
            for (site, batch, at), group in groupby(rows, key=lambda r: (r["site_id"], r["batch_id"],
                                                                         r["received_at"])):
                records = [{"key": r["key"], "kind": r["kind"], "op": r["op"], "occurred_at": r["occurred_at"],
                            "data": json.loads(r["data"])} for r in group]
                n += target.store_batch(site, batch or "", records, [], backlog.get(site), at=at)
        result.rows["records"] = n
        log(f"records: {n:,} new")

        changed = src.execute("SELECT id, name, unit, phone, id_hash, active FROM residents WHERE seq > ? "
                              "ORDER BY seq", (int(marks.get("residents_seq", 0)),)).fetchall()
        active = [Entry(r["id"], r["name"], r["unit"], r["phone"], r["id_hash"]) for r in changed if r["active"]]
        counts = target.import_residents(active, actor="copy-store") if active else {}
        removed = target.remove_residents([r["id"] for r in changed if not r["active"]], actor="copy-store")
        result.rows["residents"] = counts.get("added", 0) + counts.get("updated", 0) + removed

        with psycopg.connect(target_url) as dst, dst.transaction(), dst.cursor() as cur:
            audit = src.execute("SELECT at, actor, action, target, detail FROM audit WHERE id > ? ORDER BY id",
                                (int(marks.get("audit_id", 0)),)).fetchall()
            cur.executemany("INSERT INTO audit (at, actor, action, target, detail) VALUES (%s, %s, %s, %s, %s)",
                            [tuple(r) for r in audit])
            result.rows["audit"] = len(audit)
            for table in ("sites", "users"):
                cols = _columns(src, table)
                added = 0
                for r in src.execute(f"SELECT {', '.join(cols)} FROM {table}"):
                    cur.execute(f"INSERT INTO {table} ({', '.join(cols)}) "
                                f"VALUES ({', '.join(['%s'] * len(cols))}) ON CONFLICT DO NOTHING", tuple(r))
                    added += cur.rowcount
                result.rows[table] = added
            cur.executemany("UPDATE settings SET value = %s WHERE name = %s",
                            [(str(v), _MARK + k) for k, v in new_marks.items()])
        log(", ".join(f"{k}: {v:,} new" for k, v in result.rows.items() if k != "records"))
    finally:
        src.close()
    return result
