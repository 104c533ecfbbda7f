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
