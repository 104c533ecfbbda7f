"""SQLite access shared by the web threads, the device workers and other processes.

Each thread reads through its own connection (sqlite3 connections are not thread-safe);
writes share one, used by one thread at a time. Writes run in `with db.write() as conn:`,
which takes the database write lock up front (`BEGIN IMMEDIATE`) so a read-then-write
such as "take the next number" or "take the next waiting ticket" is atomic across
threads and processes. Connections are in autocommit mode so nothing commits behind
our back.

Writers of one process first queue on a Python lock, first come first served: SQLite's
own busy handler makes a waiting writer sleep in steps of up to 100 ms, which under a
burst of concurrent requests costs far more than the transactions themselves. Other
processes still meet at SQLite's lock, with `busy_timeout`.

Python 3.11's sqlite3 lets go of the GIL around almost every call into SQLite: several
times per statement and once per column read. With other threads waiting for the GIL,
each of those can cost the writer a turn of waiting while it holds the write lock, so
the hot transactions keep their statements few and read back only what they need.

Durability is a group commit: connections run with `synchronous=NORMAL` (a commit
writes the WAL without fsync) and `write()` returns only after an fsync of the WAL
that covers its commit. Concurrent writers share one fsync instead of paying one each,
which is what lets a burst of ticket requests through on a slow SD card while every
acknowledged change still survives a power cut. Frames that a checkpoint has already
moved into the database file are safe too: in WAL mode with NORMAL, SQLite syncs the
WAL before and the database after each checkpoint.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import sqlite_utils

from kiosk.store.migrations import apply_migrations

BUSY_TIMEOUT_MS = 10_000


class FifoLock:
    """A lock handed to its waiters in arrival order.

    `threading.Lock` lets a running thread barge in ahead of one that was woken but is
    still waiting for the GIL, so under a burst some writers waited several turns and
    the slowest requests took far longer than the rest.
    """

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._held = False
        self._waiters: deque[threading.Lock] = deque()

    def __enter__(self) -> None:
        with self._mutex:
            if not self._held:
                self._held = True
                return
            handoff = threading.Lock()
            handoff.acquire()
            self._waiters.append(handoff)
        try:
            handoff.acquire()  # released by the previous holder: the lock is ours
        except BaseException:  # interrupted (KeyboardInterrupt): leave the queue
            with self._mutex:
                if handoff in self._waiters:
                    self._waiters.remove(handoff)
                else:
                    self._pass_on()
            raise

    def __exit__(self, *exc: object) -> None:
        with self._mutex:
            self._pass_on()

    def _pass_on(self) -> None:
        if self._waiters:
            self._waiters.popleft().release()
        else:
            self._held = False


class Database:
    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._all_lock = threading.Lock()
        self._write_lock = FifoLock()
        self._writer: sqlite3.Connection | None = None  # used only while holding _write_lock
        self._sync = threading.Condition()
        self._committed = 0
        self._synced = 0
        self._syncing = False
        self.fsyncs = 0

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False,
                               timeout=BUSY_TIMEOUT_MS / 1000)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")  # write() makes each commit durable itself
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

    @contextmanager
    def write(self, *, durable: bool = True) -> Iterator[sqlite3.Connection]:
        """One write transaction holding the write lock from its first statement.

        Every write of this process goes through one connection, whichever thread runs
        it: its page cache stays valid from one transaction to the next, where a
        connection per thread found its cache stale after every other thread's commit
        and read the same pages again.

        On return the change is on disk, unless `durable=False` (for bookkeeping whose
        loss in a power cut is harmless, such as "this job was printed").
        """
        with self._write_lock:
            if self._writer is None:
                self._writer = self._connect()
            conn = self._writer
            local = self._local
            own, local.conn = getattr(local, "conn", None), conn  # `db.conn` in the block is this one too
            try:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    yield conn
                    conn.commit()  # one call into SQLite, where execute("COMMIT") makes five
                except BaseException:  # a failed COMMIT too: no transaction stays open on the shared connection
                    if conn.in_transaction:
                        conn.rollback()
                    raise
            finally:
                local.conn = own
            with self._sync:
                self._committed += 1
                mine = self._committed
        if durable:
            self._wait_durable(mine)

    def _wait_durable(self, commit: int) -> None:
        """Return once an fsync of the WAL that started after `commit` has finished."""
        with self._sync:
            while self._synced < commit:
                if self._syncing:
                    self._sync.wait()
                    continue
                self._syncing = True
                target = self._committed
                self._sync.release()
                try:
                    self._fsync_wal()
                finally:
                    self._sync.acquire()
                    self._syncing = False
                    self._synced = max(self._synced, target)
                    self._sync.notify_all()

    def _fsync_wal(self) -> None:
        try:
            fd = os.open(self.path + "-wal", os.O_RDONLY)
        except FileNotFoundError:
            return  # checkpointed and removed: the database file was synced by the checkpoint
        try:
            os.fsync(fd)
            self.fsyncs += 1
        finally:
            os.close(fd)

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
            with suppress(sqlite3.ProgrammingError):
                conn.close()
        self._local = threading.local()
        self._writer = None


def table(conn: sqlite3.Connection, name: str) -> sqlite_utils.db.Table:
    """A sqlite-utils table over `conn`, for bulk upserts inside `with db.write() as conn:`.

    Its writes join the open transaction (as a savepoint) and commit with it; the
    connection keeps its own settings (no recursive_triggers pragma, no plugins).
    """
    if not conn.in_transaction:
        raise RuntimeError("sqlite-utils writes run inside db.write(), where the write lock is held")
    return sqlite_utils.Database(conn, recursive_triggers=False, execute_plugins=False).table(name)


def open_database(path: str | Path) -> Database:
    """Open (creating the folder and file if needed) and bring the schema up to date."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    db = Database(path)
    apply_migrations(db.conn)
    return db
