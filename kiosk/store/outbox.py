"""The transactional outbox: every change the central office must see writes one row
here in the same transaction as the change itself. The sync agent is its only reader."""

from __future__ import annotations

import json
import sqlite3
from typing import Any


def record_key(site_id: str, kind: str, local_id: int | str, version: int) -> str:
    return f"{site_id}:{kind}:{local_id}:{version}"


def add(conn: sqlite3.Connection, *, site_id: str, kind: str, local_id: int | str, version: int,
        occurred_at: str, data: dict[str, Any], op: str = "upsert") -> None:
    """Append one record; call inside the write transaction of the change it describes."""
    conn.execute(
        "INSERT INTO outbox (key, kind, op, occurred_at, data) VALUES (?, ?, ?, ?, ?)",
        (record_key(site_id, kind, local_id, version), kind, op, occurred_at,
         json.dumps(data, ensure_ascii=False, separators=(",", ":"))),
    )


def _key_range(site_id: str, kind: str, local_id: int | str) -> tuple[str, str]:
    """Every key of one record (all its versions) lies in [low, high): ";" follows ":"."""
    prefix = f"{site_id}:{kind}:{local_id}:"
    return prefix, prefix[:-1] + ";"


def drop_pending(conn: sqlite3.Connection, *, site_id: str, kind: str, local_id: int | str) -> int:
    """Remove the record's versions still waiting to be sent (and its dead letters), so
    nothing of a deleted or anonymised record leaves after it; returns how many went."""
    low, high = _key_range(site_id, kind, local_id)
    n = conn.execute("DELETE FROM outbox WHERE key >= ? AND key < ?", (low, high)).rowcount
    return n + conn.execute("DELETE FROM sync_dead_letters WHERE key >= ? AND key < ?", (low, high)).rowcount


def add_delete(conn: sqlite3.Connection, *, site_id: str, kind: str, local_id: int | str, version: int,
               occurred_at: str, reason: str) -> None:
    """Tell the central office to forget every version of a record below `version`
    (docs/sync.md, "Delete records"). Its pending versions here are dropped first; call
    inside the write transaction of the local delete."""
    drop_pending(conn, site_id=site_id, kind=kind, local_id=local_id)
    conn.execute(
        "INSERT OR IGNORE INTO outbox (key, kind, op, occurred_at, data) VALUES (?, ?, 'delete', ?, ?)",
        (record_key(site_id, kind, local_id, version), kind, occurred_at,
         json.dumps({"id": local_id, "version": version, "reason": reason}, separators=(",", ":"))),
    )
