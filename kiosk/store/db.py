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

Storage failures are named. A write that fails because the disk is full, the database
or its folder is read-only or the disk reports an I/O error (at BEGIN, in a statement,
at COMMIT or in the group fsync) raises `Unavailable("storage_unavailable", ...)`, which
every write path answers as 503; the transaction is rolled back and the writer
connection stays usable. The database remembers that failure (`write_failure()`, shown
by /healthz) until a later write succeeds: nothing is probed by writing.
"""

from __future__ import annotations

import errno
import logging
import os
import sqlite3
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlite_utils

from kiosk.errors import Unavailable
from kiosk.store.migrations import apply_migrations

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 10_000
#: The page cache of each thread's reading connection, in KiB (SQLite's default is 2,000).
#: Every web thread reads through its own connection, and in WAL mode a connection drops
#: its cached pages whenever another one has committed, so on a busy day a reader's cache
#: holds little more than its current query; at the default size each of the 30-odd
#: connections still came to keep about 2 MB, and the server's memory grew by some 35 MB
#: over the first few thousand tickets (bench/soak.py, README). The writer keeps the default.
READER_CACHE_KIB = 128

#: Why writes fail, as /healthz names it (`db.reason`).
STORAGE_FULL = "storage_full"
READ_ONLY = "read_only"
IO_ERROR = "io_error"
CANNOT_OPEN = "cannot_open"

STORAGE_MESSAGES = {
    STORAGE_FULL: "The disk is full: nothing can be saved until space is freed.",
    READ_ONLY: "The database or its folder is read-only: nothing can be saved.",
    IO_ERROR: "The disk reports an input/output error: nothing can be saved.",
    CANNOT_OPEN: "The database file cannot be opened for writing: nothing can be saved.",
}

_SQLITE_REASONS = {
    sqlite3.SQLITE_FULL: STORAGE_FULL,
    sqlite3.SQLITE_READONLY: READ_ONLY,
    sqlite3.SQLITE_IOERR: IO_ERROR,
    sqlite3.SQLITE_CANTOPEN: CANNOT_OPEN,
}
_SQLITE_MESSAGES = (  # for an error without a code (raised by hand, or an older Python)
    ("database or disk is full", STORAGE_FULL),
    ("readonly database", READ_ONLY),
    ("disk i/o error", IO_ERROR),
    ("unable to open database file", CANNOT_OPEN),
)
_OS_REASONS = {
    errno.ENOSPC: STORAGE_FULL,
    errno.EDQUOT: STORAGE_FULL,
    errno.EROFS: READ_ONLY,
    errno.EACCES: READ_ONLY,
    errno.EPERM: READ_ONLY,
    errno.EIO: IO_ERROR,
}


def storage_reason(exc: BaseException) -> str | None:
    """The storage reason a failed write names (`storage_full`, `read_only`, `io_error`,
    `cannot_open`), or None when `exc` is not a storage failure (a constraint, a busy
    lock, a bug): those keep their own meaning."""
    if isinstance(exc, sqlite3.Error):
        code = getattr(exc, "sqlite_errorcode", None)
        if isinstance(code, int):
            if code == sqlite3.SQLITE_IOERR_NOMEM:
                return None
            return _SQLITE_REASONS.get(code & 0xFF)  # the primary code of an extended one
        text = str(exc).lower()
        return next((reason for needle, reason in _SQLITE_MESSAGES if needle in text), None)
    if isinstance(exc, OSError):
        return _OS_REASONS.get(exc.errno) if exc.errno is not None else None
    return None


def refine_reason(reason: str, fs: os.statvfs_result | None) -> str:
    """Sharpen a vague reason (an I/O error, a file that cannot be opened) with what the
    file system says now: mounted read-only, or no space left."""
    if fs is None or reason not in (IO_ERROR, CANNOT_OPEN):
        return reason
    if fs.f_flag & os.ST_RDONLY:
        return READ_ONLY
    if fs.f_bavail == 0:
        return STORAGE_FULL
    return reason


def storage_unavailable(reason: str) -> Unavailable:
    """The 503 every write path answers while storage fails (the kiosk shows its own text)."""
    return Unavailable("storage_unavailable", "Tickets are paused: please go to the front desk. "
                       + STORAGE_MESSAGES.get(reason, "The database cannot be written."))


@dataclass(frozen=True)
class WriteFailure:
    """The last write that failed for a storage reason; cleared by a later successful write."""

    reason: str
    since: datetime
    attempt: int  # which write (in this process's order) failed


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
        self._synced = 0  # commits whose fsync has finished, successfully or not
        self._syncing = False
        self._waiting: set[int] = set()  # durable commits whose writers wait for the fsync
        self._fsync_failed: dict[int, BaseException] = {}  # those of them whose fsync failed
        self.fsyncs = 0
        self._attempts = 0  # write() calls so far; only counted under the write lock
        self._failure: WriteFailure | None = None
        self._last_ok = 0  # the latest write known to have succeeded (a hint, not locked)

    def _connect(self, reader: bool = True) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False,
                               timeout=BUSY_TIMEOUT_MS / 1000)
        conn.row_factory = sqlite3.Row
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")  # write() makes each commit durable itself
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            if reader:
                conn.execute(f"PRAGMA cache_size=-{READER_CACHE_KIB}")
        except BaseException:
            conn.close()
            raise
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
        loss in a power cut is harmless, such as "this job was printed"). A write that
        fails for a storage reason raises `Unavailable("storage_unavailable")` and is
        remembered until a later write succeeds (`write_failure()`).
        """
        with self._write_lock:
            self._attempts += 1
            attempt = self._attempts
            local = self._local
            own = getattr(local, "conn", None)
            try:
                if self._writer is None:
                    self._writer = self._connect(reader=False)
                conn = self._writer
                local.conn = conn  # `db.conn` in the block is this one too
                conn.execute("BEGIN IMMEDIATE")
                try:
                    yield conn
                    conn.commit()  # one call into SQLite, where execute("COMMIT") makes five
                except BaseException:  # a failed COMMIT too: no transaction stays open on the shared connection
                    self._roll_back(conn)
                    raise
            except (sqlite3.Error, OSError) as exc:
                reason = storage_reason(exc)
                if reason is None:
                    raise
                raise self._failed(reason, exc, attempt) from exc
            finally:
                local.conn = own
            with self._sync:
                self._committed += 1
                mine = self._committed
                if durable:
                    self._waiting.add(mine)
        if durable:
            self._wait_durable(mine, attempt)
        self._succeeded(attempt)

    def _roll_back(self, conn: sqlite3.Connection) -> None:
        """Leave the shared writer connection without a transaction, or replace it."""
        try:
            if conn.in_transaction:
                conn.rollback()
        except sqlite3.Error:
            log.exception("rollback failed; the writer connection is replaced")
        if conn.in_transaction:
            self._drop_writer(conn)

    def _drop_writer(self, conn: sqlite3.Connection) -> None:
        with self._all_lock:
            if conn in self._all:
                self._all.remove(conn)
        with suppress(sqlite3.Error):
            conn.close()  # closing rolls back what is left
        self._writer = None

    def _failed(self, reason: str, exc: BaseException, attempt: int) -> Unavailable:
        try:
            fs: os.statvfs_result | None = os.statvfs(Path(self.path).parent)
        except OSError:
            fs = None
        reason = refine_reason(reason, fs)
        with self._sync:
            previous = self._failure
            if attempt > self._last_ok and (previous is None or previous.attempt < attempt):
                self._failure = WriteFailure(reason, previous.since if previous and previous.reason == reason
                                             else datetime.now(UTC), attempt)
        if previous is None or previous.reason != reason:
            log.error("database write failed (%s): %s; answering 503 storage_unavailable until a write succeeds",
                      reason, exc)
        return storage_unavailable(reason)

    def _succeeded(self, attempt: int) -> None:
        if attempt > self._last_ok:
            self._last_ok = attempt
        if self._failure is None:  # the usual case, without taking a lock
            return
        with self._sync:
            previous = self._failure
            if previous is None or previous.attempt > attempt:
                return
            self._failure = None
        log.warning("database writes succeed again (after %s since %s)", previous.reason,
                    previous.since.isoformat(timespec="seconds"))

    def write_failure(self) -> dict[str, Any] | None:
        """What /healthz shows while writes fail for a storage reason (None when the last
        write succeeded): the reason, a message, since when, and the free space now (a
        cheap statvfs, never a write)."""
        failure = self._failure
        if failure is None:
            return None
        report: dict[str, Any] = {"reason": failure.reason, "message": STORAGE_MESSAGES[failure.reason],
                                  "since": failure.since.isoformat(timespec="seconds")}
        with suppress(OSError):
            fs = os.statvfs(Path(self.path).parent)
            report["free_bytes"] = fs.f_bavail * fs.f_frsize
        return report

    def _wait_durable(self, commit: int, attempt: int) -> None:
        """Return once an fsync of the WAL that started after `commit` has succeeded;
        raise `storage_unavailable` when that fsync failed (a later one proves nothing:
        after a failed fsync the kernel may have dropped the pages)."""
        error: BaseException | None = None
        with self._sync:
            try:
                while self._synced < commit:
                    if self._syncing:
                        self._sync.wait()
                        continue
                    self._syncing = True
                    start, target = self._synced, self._committed
                    self._sync.release()
                    failed: BaseException | None = None
                    try:
                        self._fsync_wal()
                    except BaseException as exc:  # noqa: BLE001 - every writer it covers is told below
                        failed = exc
                    finally:
                        self._sync.acquire()
                        self._syncing = False
                        if failed is not None:
                            for waiter in self._waiting:
                                if start < waiter <= target:
                                    self._fsync_failed[waiter] = failed
                        self._synced = max(self._synced, target)
                        self._sync.notify_all()
                error = self._fsync_failed.pop(commit, None)
            finally:
                self._waiting.discard(commit)
                self._fsync_failed.pop(commit, None)
        if error is None:
            return
        if not isinstance(error, OSError):
            raise error
        raise self._failed(storage_reason(error) or IO_ERROR, error, attempt) from error

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
        self._failure = None


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
