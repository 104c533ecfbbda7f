"""SQLite access shared by the web threads, the device workers and other processes.

Each thread gets its own connection (sqlite3 connections are not thread-safe). Writes
run in `with db.write() as conn:`, which takes the database write lock up front
(`BEGIN IMMEDIATE`) so a read-then-write such as "take the next number" or "take the
next waiting ticket" is atomic across threads and processes. Connections are in
autocommit mode so nothing commits behind our back.

Writers of one process first queue on a Python lock: SQLite's own busy handler makes a
waiting writer sleep in steps of up to 100 ms, which under a burst of concurrent
requests costs far more than the transactions themselves. Other processes still
meet at SQLite's lock, with `busy_timeout`.
"""

from __future__ import annotations

import sqlite3
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import sqlite_utils

from kiosk.store.migrations import apply_migrations

BUSY_TIMEOUT_MS = 10_000


class Database:
    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._all_lock = threading.Lock()
        self._write_lock = threading.Lock()

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False,
                               timeout=BUSY_TIMEOUT_MS / 1000)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")  # an acknowledged ticket survives a power cut
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        with self._all_lock:
            self._all.append(conn)
        return conn

    @property
    def conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self._connect()
        return conn

    @property
    def utils(self) -> sqlite_utils.Database:
        return sqlite_utils.Database(self.conn)

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction holding the write lock from its first statement."""
        conn = self.conn
        with self._write_lock:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            else:
                conn.execute("COMMIT")

    def query(self, sql: str, params: Any = ()) -> list[dict]:
        return [dict(r) for r in self.conn.execute(sql, params).fetchall()]

    def query_one(self, sql: str, params: Any = ()) -> dict | None:
        row = self.conn.execute(sql, params).fetchone()
        return dict(row) if row is not None else None

    def scalar(self, sql: str, params: Any = ()) -> Any:
        row = self.conn.execute(sql, params).fetchone()
        return row[0] if row is not None else None

    def close(self) -> None:
        with self._all_lock:
            conns, self._all = self._all, []
        for conn in conns:
            try:
                conn.close()
            except sqlite3.ProgrammingError:
                pass
        self._local = threading.local()


def open_database(path: str | Path) -> Database:
    """Open (creating the folder and file if needed) and bring the schema up to date."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    db = Database(path)
    apply_migrations(db.conn)
    return db
