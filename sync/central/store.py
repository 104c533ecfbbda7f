"""The embedded central store: one SQLite file (WAL) through the kiosk's `Database`, for
the one-box demo, tests and small offices. The rules are `SqlStore`'s; this module adds
the connection and the ingest (INSERT OR IGNORE row by row in one transaction, which on
SQLite is as fast as a staging table)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from kiosk.store.db import Database
from sync.central.storage import Row, SqlStore, run_migrations


class _SqliteTx:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def run(self, sql: str, params: Sequence[Any] = ()) -> int:
        return self.conn.execute(sql, tuple(params)).rowcount

    def many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        self.conn.executemany(sql, (tuple(r) for r in rows))

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        return [dict(r) for r in self.conn.execute(sql, tuple(params)).fetchall()]


class SQLiteStore(SqlStore):
    def __init__(self, path: str | Path) -> None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.target = str(path)
        self.db = Database(path)
        with self.db.write() as conn:
            conn.execute("CREATE TABLE IF NOT EXISTS schema_migrations (number INTEGER PRIMARY KEY, "
                         "name TEXT NOT NULL, applied_at TEXT NOT NULL)")
        current = self.db.scalar("SELECT COALESCE(MAX(number), 0) FROM schema_migrations")
        if not current and self.db.scalar("SELECT COUNT(*) FROM sqlite_master WHERE name = 'records'"):
            current = self._adopt_unversioned()
        self.schema_version = run_migrations(self._tx, "sqlite", current)

    def _adopt_unversioned(self) -> int:
        """A file made before the migrations were numbered has exactly migration 1's tables."""
        with self._tx() as tx:
            tx.run("INSERT INTO schema_migrations (number, name, applied_at) VALUES (1, 'base', 'adopted')")
        return 1

    @contextmanager
    def _tx(self) -> Iterator[_SqliteTx]:
        with self.db.write() as conn:
            yield _SqliteTx(conn)

    def _read(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        return self.db.query(sql, tuple(params))

    def _insert_records(self, tx: Any, rows: list[Row], batch_id: str, at: str) -> list[Row]:
        new = []
        for r in rows:
            if tx.run("INSERT OR IGNORE INTO records (key, site_id, kind, op, occurred_at, data, batch_id, "
                      "received_at, local_id, version, day) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                      (r.key, r.site_id, r.kind, r.op, r.occurred_at, r.data, batch_id, at, r.local_id, r.version,
                       r.day)):
                new.append(r)
        return new

    def close(self) -> None:
        self.db.close()
