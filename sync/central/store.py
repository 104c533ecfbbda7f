"""The reference receiver's SQLite file: registered sites, every record once (UNIQUE
key, INSERT OR IGNORE), refused records, per-site counters, and the resident directory
with its change sequence (the pull cursor)."""

from __future__ import annotations

import json
import secrets as secrets_mod
import sqlite3
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kiosk.store.db import Database
from sync.central.directory import Entry

SCHEMA = [
    """CREATE TABLE IF NOT EXISTS sites (
        id TEXT PRIMARY KEY,
        secret TEXT NOT NULL,
        name TEXT NOT NULL DEFAULT '',
        created_at TEXT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS site_stats (
        site_id TEXT PRIMARY KEY,
        batches INTEGER NOT NULL DEFAULT 0,
        received INTEGER NOT NULL DEFAULT 0,
        duplicates INTEGER NOT NULL DEFAULT 0,
        rejected INTEGER NOT NULL DEFAULT 0,
        last_batch_at TEXT,
        backlog INTEGER,
        last_pull_at TEXT,
        auth_failures INTEGER NOT NULL DEFAULT 0,
        last_auth_failure TEXT,
        last_auth_failure_at TEXT
    )""",
    """CREATE TABLE IF NOT EXISTS records (
        seq INTEGER PRIMARY KEY,
        key TEXT NOT NULL UNIQUE,
        site_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        op TEXT NOT NULL,
        occurred_at TEXT NOT NULL,
        data TEXT NOT NULL,
        batch_id TEXT,
        received_at TEXT NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS records_site_kind ON records (site_id, kind)",
    """CREATE TABLE IF NOT EXISTS rejections (
        site_id TEXT NOT NULL,
        key TEXT NOT NULL,
        error TEXT NOT NULL,
        batch_id TEXT,
        at TEXT NOT NULL,
        PRIMARY KEY (site_id, key)
    )""",
    """CREATE TABLE IF NOT EXISTS residents (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        unit TEXT NOT NULL DEFAULT '',
        phone TEXT NOT NULL DEFAULT '',
        id_hash TEXT,
        active INTEGER NOT NULL DEFAULT 1,
        seq INTEGER NOT NULL,
        updated_at TEXT NOT NULL
    )""",
    "CREATE UNIQUE INDEX IF NOT EXISTS residents_seq ON residents (seq)",
    "CREATE TABLE IF NOT EXISTS settings (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
]


def _split_key(key: str) -> tuple[str, int]:
    """`{site}:{kind}:{id}:{version}` as (`{site}:{kind}:{id}:`, version); the receiver
    checked the form (sync.protocol.check_record)."""
    prefix, _, version = key.rpartition(":")
    return prefix + ":", int(version)


#: Stored keys in any of the [low, high) ranges of a JSON list of pairs (index ranges).
_IN_RANGES = ("SELECT r.key FROM json_each(?) j JOIN records r ON r.key >= json_extract(j.value, '$[0]') "
              "AND r.key < json_extract(j.value, '$[1]') WHERE 1")


def apply_deletes(conn: sqlite3.Connection, records: list[dict]) -> list[dict]:
    """Apply a batch's `delete` records and return the records still to store.

    A delete of `{site}:{kind}:{id}:{v}` removes every stored version of that record below
    `v` and is itself stored (without personal data: it is the tombstone). An upsert of a
    version below a stored or same-batch delete is not stored, so a resent or late older
    version cannot bring a deleted record back; a newer version (an anonymised case sent
    after the delete of its earlier versions) is stored as usual. Idempotent: a delete
    received twice removes nothing more. All versions of one record share the key prefix,
    so each lookup is a range of the `records.key` index.
    """
    if not records:
        return records
    split = [_split_key(r["key"]) for r in records]
    deleted: dict[str, int] = {}
    for r, (prefix, version) in zip(records, split, strict=True):
        if r["op"] == "delete":
            deleted[prefix] = max(deleted.get(prefix, 0), version)
    ranges = json.dumps(sorted({(p, p[:-1] + ";") for p, _ in split}))
    for (key,) in conn.execute(f"{_IN_RANGES} AND r.op = 'delete'", (ranges,)):
        prefix, version = _split_key(key)
        deleted[prefix] = max(deleted.get(prefix, 0), version)
    if deleted:
        bounds = json.dumps(sorted((p, p[:-1] + ";") for p in deleted))
        older = [(key,) for (key,) in conn.execute(f"{_IN_RANGES} AND r.op <> 'delete'", (bounds,))
                 if _split_key(key)[1] < deleted[_split_key(key)[0]]]
        conn.executemany("DELETE FROM records WHERE key = ?", older)
    return [r for r, (prefix, version) in zip(records, split, strict=True)
            if r["op"] == "delete" or version > deleted.get(prefix, 0)]


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class CentralStore:
    def __init__(self, path: str | Path) -> None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.db = Database(path)
        with self.db.write() as conn:
            for statement in SCHEMA:
                conn.execute(statement)

    def close(self) -> None:
        self.db.close()

    # -- sites ---------------------------------------------------------------------------
    def add_site(self, site_id: str, secret: str | None = None, name: str = "") -> str:
        secret = secret or secrets_mod.token_urlsafe(32)
        with self.db.write() as conn:
            conn.execute("INSERT INTO sites (id, secret, name, created_at) VALUES (?, ?, ?, ?) "
                         "ON CONFLICT (id) DO UPDATE SET secret = excluded.secret, name = excluded.name",
                         (site_id, secret, name, utc_now()))
        return secret

    def remove_site(self, site_id: str) -> bool:
        with self.db.write() as conn:
            return conn.execute("DELETE FROM sites WHERE id = ?", (site_id,)).rowcount > 0

    def site_secret(self, site_id: str) -> str | None:
        return self.db.scalar("SELECT secret FROM sites WHERE id = ?", (site_id,))

    def sites(self) -> list[dict[str, Any]]:
        return self.db.query("SELECT id, name, created_at FROM sites ORDER BY id")

    # -- records -------------------------------------------------------------------------
    def store_batch(self, site_id: str, batch_id: str, records: list[dict], rejected: list[tuple[str, str]],
                    backlog: int | None) -> int:
        """Store the accepted records once each and count the batch; returns how many were new."""
        at = utc_now()
        with self.db.write() as conn:
            rows = [(r["key"], site_id, r["kind"], r["op"], r["occurred_at"],
                     json.dumps(r["data"], ensure_ascii=False, separators=(",", ":")), batch_id, at)
                    for r in apply_deletes(conn, records)]
            before = conn.total_changes
            conn.executemany("INSERT OR IGNORE INTO records (key, site_id, kind, op, occurred_at, data, batch_id, "
                             "received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
            new = conn.total_changes - before
            rows_received = len(records)
            if rejected:
                conn.executemany("INSERT OR REPLACE INTO rejections (site_id, key, error, batch_id, at) "
                                 "VALUES (?, ?, ?, ?, ?)", [(site_id, k, e, batch_id, at) for k, e in rejected])
            conn.execute(
                "INSERT INTO site_stats (site_id, batches, received, duplicates, rejected, last_batch_at, backlog) "
                "VALUES (?, 1, ?, ?, ?, ?, ?) ON CONFLICT (site_id) DO UPDATE SET batches = batches + 1, "
                "received = received + excluded.received, duplicates = duplicates + excluded.duplicates, "
                "rejected = rejected + excluded.rejected, last_batch_at = excluded.last_batch_at, "
                "backlog = excluded.backlog",
                (site_id, new, rows_received - new, len(rejected), at, backlog))
        return new

    def note_auth_failure(self, site_id: str, reason: str) -> None:
        with self.db.write() as conn:
            conn.execute(
                "INSERT INTO site_stats (site_id, auth_failures, last_auth_failure, last_auth_failure_at) "
                "VALUES (?, 1, ?, ?) ON CONFLICT (site_id) DO UPDATE SET auth_failures = auth_failures + 1, "
                "last_auth_failure = excluded.last_auth_failure, last_auth_failure_at = excluded.last_auth_failure_at",
                (site_id, reason, utc_now()))

    def note_pull(self, site_id: str) -> None:
        with self.db.write() as conn:
            conn.execute("INSERT INTO site_stats (site_id, last_pull_at) VALUES (?, ?) ON CONFLICT (site_id) "
                         "DO UPDATE SET last_pull_at = excluded.last_pull_at", (site_id, utc_now()))

    def record_count(self, site_id: str | None = None) -> int:
        if site_id is None:
            return self.db.scalar("SELECT COUNT(*) FROM records")
        return self.db.scalar("SELECT COUNT(*) FROM records WHERE site_id = ?", (site_id,))

    def keys(self, site_id: str) -> list[str]:
        return [r["key"] for r in self.db.query("SELECT key FROM records WHERE site_id = ? ORDER BY seq", (site_id,))]

    def record(self, key: str) -> dict[str, Any] | None:
        row = self.db.query_one("SELECT * FROM records WHERE key = ?", (key,))
        if row:
            row["data"] = json.loads(row["data"])
        return row

    def rejections(self, site_id: str) -> list[dict[str, Any]]:
        return self.db.query("SELECT key, error, batch_id, at FROM rejections WHERE site_id = ? ORDER BY at",
                             (site_id,))

    def summary(self, known_sites: Iterable[str] = ()) -> list[dict[str, Any]]:
        """Per site: record counts by kind, totals, last batch and the backlog the agent reported."""
        counts: dict[str, dict[str, int]] = {}
        for r in self.db.query("SELECT site_id, kind, COUNT(*) AS n FROM records GROUP BY site_id, kind"):
            counts.setdefault(r["site_id"], {})[r["kind"]] = r["n"]
        stats = {r["site_id"]: r for r in self.db.query("SELECT * FROM site_stats")}
        site_ids = sorted({*known_sites, *(s["id"] for s in self.sites()), *counts, *stats})
        out = []
        for sid in site_ids:
            st = stats.get(sid, {})
            by_kind = counts.get(sid, {})
            out.append({"site_id": sid, "counts": by_kind, "total": sum(by_kind.values()),
                        "batches": st.get("batches", 0), "duplicates": st.get("duplicates", 0),
                        "rejected": st.get("rejected", 0), "last_batch_at": st.get("last_batch_at"),
                        "backlog": st.get("backlog"), "last_pull_at": st.get("last_pull_at"),
                        "auth_failures": st.get("auth_failures", 0),
                        "last_auth_failure": st.get("last_auth_failure"),
                        "last_auth_failure_at": st.get("last_auth_failure_at")})
        return out

    # -- the directory -------------------------------------------------------------------
    def id_key(self) -> bytes:
        """The key ID numbers are hashed with; made once and kept in this file."""
        with self.db.write() as conn:
            row = conn.execute("SELECT value FROM settings WHERE name = 'id_key'").fetchone()
            if row is None:
                value = secrets_mod.token_hex(32)
                conn.execute("INSERT INTO settings (name, value) VALUES ('id_key', ?)", (value,))
            else:
                value = row[0]
        return value.encode("ascii")

    def set_id_key(self, value: str) -> None:
        with self.db.write() as conn:
            conn.execute("INSERT OR REPLACE INTO settings (name, value) VALUES ('id_key', ?)", (value,))

    def _bump(self, conn) -> int:
        return conn.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM residents").fetchone()[0]

    def import_residents(self, entries: list[Entry], replace: bool = False) -> dict[str, int]:
        """Upsert entries (each change gets the next sequence number); with `replace`,
        residents missing from `entries` are marked removed. One transaction."""
        result = {"added": 0, "updated": 0, "unchanged": 0, "removed": 0}
        at = utc_now()
        with self.db.write() as conn:
            for e in entries:
                old = conn.execute("SELECT name, unit, phone, id_hash, active FROM residents WHERE id = ?",
                                   (e.id,)).fetchone()
                new_hash = e.id_hash if e.id_hash is not None else (old["id_hash"] if old else None)
                if old is not None and (old["name"], old["unit"], old["phone"], old["id_hash"], old["active"]) == \
                        (e.name, e.unit, e.phone, new_hash, 1):
                    result["unchanged"] += 1
                    continue
                conn.execute(
                    "INSERT INTO residents (id, name, unit, phone, id_hash, active, seq, updated_at) "
                    "VALUES (?, ?, ?, ?, ?, 1, ?, ?) ON CONFLICT (id) DO UPDATE SET name = excluded.name, "
                    "unit = excluded.unit, phone = excluded.phone, id_hash = excluded.id_hash, active = 1, "
                    "seq = excluded.seq, updated_at = excluded.updated_at",
                    (e.id, e.name, e.unit, e.phone, new_hash, self._bump(conn), at))
                result["added" if old is None else "updated"] += 1
            if replace:
                keep = json.dumps([e.id for e in entries])
                gone = [r[0] for r in conn.execute(
                    "SELECT id FROM residents WHERE active = 1 AND id NOT IN (SELECT value FROM json_each(?))",
                    (keep,)).fetchall()]
                result["removed"] = self._deactivate(conn, gone, at)
        return result

    def _deactivate(self, conn, ids: Iterable[str], at: str) -> int:
        n = 0
        for rid in ids:
            n += conn.execute("UPDATE residents SET active = 0, seq = ?, updated_at = ? WHERE id = ? AND active = 1",
                              (self._bump(conn), at, rid)).rowcount
        return n

    def remove_residents(self, ids: Iterable[str]) -> int:
        """Mark residents removed: the next pull makes them inactive at every site."""
        with self.db.write() as conn:
            return self._deactivate(conn, ids, utc_now())

    def directory_since(self, since: int, limit: int) -> tuple[list[dict[str, Any]], int]:
        rows = self.db.query("SELECT id, name, unit, phone, id_hash, active, seq FROM residents WHERE seq > ? "
                             "ORDER BY seq LIMIT ?", (since, limit))
        cursor = rows[-1]["seq"] if rows else since
        out = []
        for r in rows:
            entry = {"id": r["id"], "name": r["name"], "unit": r["unit"], "phone": r["phone"],
                     "active": bool(r["active"])}
            if r["id_hash"]:
                entry["id_hash"] = r["id_hash"]
            out.append(entry)
        return out, cursor
