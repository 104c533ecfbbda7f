"""The central store on PostgreSQL (psycopg 3 with a psycopg-pool connection pool), for an
office with many sites. The rules are `SqlStore`'s; this module adds the pool, the
`?` -> `%s` placeholder translation and the bulk ingest: a batch is COPYed into a
temporary staging table and moved with one `INSERT ... SELECT ... ON CONFLICT (key) DO
NOTHING RETURNING key`, so concurrent batches from many sites never block each other
beyond the unique index."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from sync.central.storage import Row, SqlStore, run_migrations

_MIGRATION_LOCK = 7_341_001  # advisory lock ids: one process migrates at a time
_DIRECTORY_LOCK = 7_341_002
_SITE_LOCK = 7_341_003  # with the site id's hash: one batch of a site at a time


def _pg(sql: str) -> str:
    return sql.replace("%", "%%").replace("?", "%s")


class _PgTx:
    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.conn = conn

    def run(self, sql: str, params: Sequence[Any] = ()) -> int:
        cur = self.conn.execute(_pg(sql), tuple(params))
        return cur.rowcount

    def many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        with self.conn.cursor() as cur:
            cur.executemany(_pg(sql), [tuple(r) for r in rows])

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        with self.conn.cursor(row_factory=dict_row) as cur:
            cur.execute(_pg(sql), tuple(params))
            return cur.fetchall()


class PostgresStore(SqlStore):
    def __init__(self, url: str, *, min_size: int = 1, max_size: int = 10) -> None:
        self.target = url
        self.pool = ConnectionPool(url, min_size=min_size, max_size=max_size, open=True,
                                   kwargs={"autocommit": False}, name="kiosk-central")
        with self._tx() as tx:
            tx.run(f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK})")
            tx.run("CREATE TABLE IF NOT EXISTS schema_migrations (number INTEGER PRIMARY KEY, "
                   "name TEXT NOT NULL, applied_at TEXT NOT NULL)")
        self.schema_version = self._migrate()

    def _migrate(self) -> int:
        with self.pool.connection() as conn:
            conn.autocommit = True
            conn.execute(f"SELECT pg_advisory_lock({_MIGRATION_LOCK})")
            try:
                row = conn.execute("SELECT COALESCE(MAX(number), 0) FROM schema_migrations").fetchone()
                current = int(row[0]) if row else 0
                return run_migrations(self._tx, "postgres", current)
            finally:
                conn.execute(f"SELECT pg_advisory_unlock({_MIGRATION_LOCK})")
                conn.autocommit = False

    @contextmanager
    def _tx(self) -> Iterator[_PgTx]:
        with self.pool.connection() as conn, conn.transaction():
            yield _PgTx(conn)

    def _read(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        with self.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            cur.execute(_pg(sql), tuple(params))
            rows = cur.fetchall()
            conn.rollback()
            return rows

    def _lock_directory(self, tx: Any) -> None:
        tx.run(f"SELECT pg_advisory_xact_lock({_DIRECTORY_LOCK})")

    def _insert_records(self, tx: Any, rows: list[Row], batch_id: str, at: str) -> list[Row]:
        conn: psycopg.Connection[Any] = tx.conn
        conn.execute("CREATE TEMPORARY TABLE IF NOT EXISTS staging (key TEXT, site_id TEXT, kind TEXT, op TEXT, "
                     "occurred_at TEXT, data TEXT, local_id TEXT, version BIGINT, day TEXT) ON COMMIT DELETE ROWS")
        with conn.cursor() as cur:
            with cur.copy("COPY staging (key, site_id, kind, op, occurred_at, data, local_id, version, day) "
                          "FROM STDIN") as copy:
                for r in rows:
                    copy.write_row((r.key, r.site_id, r.kind, r.op, r.occurred_at, r.data, r.local_id, r.version,
                                    r.day))
            cur.execute("INSERT INTO records (key, site_id, kind, op, occurred_at, data, batch_id, received_at, "
                        "local_id, version, day) SELECT DISTINCT ON (key) key, site_id, kind, op, occurred_at, "
                        "data, %s, %s, local_id, version, day FROM staging ORDER BY key "
                        "ON CONFLICT (key) DO NOTHING RETURNING key", (batch_id, at))
            new_keys = {k for (k,) in cur.fetchall()}
            cur.execute("TRUNCATE staging")
        return [r for r in rows if r.key in new_keys]

    def _lock_site(self, tx: Any, site_id: str) -> None:
        tx.run(f"SELECT pg_advisory_xact_lock({_SITE_LOCK}, hashtext(?))", (site_id,))

    def close(self) -> None:
        self.pool.close()
