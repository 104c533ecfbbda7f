"""Storage failures are named (issue 14, item 5), without root: the classification of real
SQLite and OS errors, a database that fills up (SQLite's own page limit answers exactly as
a full disk does: SQLITE_FULL), and a WAL fsync the operating system fails. The tmpfs
disk-full test through HTTP is tests/web/test_storage_full.py (root only)."""

from __future__ import annotations

import errno
import os
import sqlite3
import threading
import time

import pytest

from kiosk.errors import Unavailable
from kiosk.store import open_database
from kiosk.store.db import (
    CANNOT_OPEN,
    IO_ERROR,
    READ_ONLY,
    STORAGE_FULL,
    refine_reason,
    storage_reason,
)

GUARD_S = 30  # a hang guard only


def _error(fn) -> BaseException:
    try:
        fn()
    except BaseException as exc:  # noqa: BLE001 - the test wants the real error object
        return exc
    raise AssertionError("no error")


def test_storage_reason_of_real_sqlite_errors(tmp_path):
    path = tmp_path / "k.db"
    rw = sqlite3.connect(path, isolation_level=None)
    rw.execute("CREATE TABLE t (x BLOB)")
    rw.execute("CREATE UNIQUE INDEX t_x ON t (x)")
    rw.execute("INSERT INTO t VALUES (1)")

    ro = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None)
    assert storage_reason(_error(lambda: ro.execute("INSERT INTO t VALUES (2)"))) == READ_ONLY  # SQLITE_READONLY

    rw.execute(f"PRAGMA max_page_count = {rw.execute('PRAGMA page_count').fetchone()[0]}")
    full = _error(lambda: rw.execute("INSERT INTO t VALUES (?)", (b"x" * 100_000,)))
    assert "database or disk is full" in str(full) and storage_reason(full) == STORAGE_FULL

    cannot = _error(lambda: sqlite3.connect(tmp_path / "missing" / "k.db").execute("SELECT 1"))
    assert storage_reason(cannot) == CANNOT_OPEN

    # not storage: a constraint keeps its own meaning (409s and bugs are not "disk full")
    assert storage_reason(_error(lambda: rw.execute("INSERT INTO t VALUES (1)"))) is None
    assert storage_reason(_error(lambda: rw.execute("SELEC 1"))) is None


def test_storage_reason_of_extended_codes_messages_and_os_errors():
    ioerr = sqlite3.OperationalError("disk I/O error")
    ioerr.sqlite_errorcode = sqlite3.SQLITE_IOERR_WRITE  # type: ignore[attr-defined]
    assert storage_reason(ioerr) == IO_ERROR
    moved = sqlite3.OperationalError("attempt to write a readonly database")
    moved.sqlite_errorcode = sqlite3.SQLITE_READONLY_DBMOVED  # type: ignore[attr-defined]
    assert storage_reason(moved) == READ_ONLY
    # without a code (raised by hand, older Pythons): the message
    assert storage_reason(sqlite3.OperationalError("database or disk is full")) == STORAGE_FULL
    assert storage_reason(sqlite3.OperationalError("attempt to write a readonly database")) == READ_ONLY
    assert storage_reason(sqlite3.OperationalError("disk I/O error")) == IO_ERROR
    assert storage_reason(sqlite3.OperationalError("database is locked")) is None

    with open("/dev/full", "wb", buffering=0) as full:  # a real ENOSPC
        assert storage_reason(_error(lambda: full.write(b"x"))) == STORAGE_FULL
    assert storage_reason(OSError(errno.EDQUOT, "Disk quota exceeded")) == STORAGE_FULL
    assert storage_reason(OSError(errno.EROFS, "Read-only file system")) == READ_ONLY
    assert storage_reason(OSError(errno.EIO, "Input/output error")) == IO_ERROR
    assert storage_reason(FileNotFoundError(errno.ENOENT, "No such file")) is None
    assert storage_reason(ValueError("not storage")) is None


def test_vague_reasons_are_sharpened_by_the_file_system():
    def fs(flag: int = 0, bavail: int = 100) -> os.statvfs_result:
        return os.statvfs_result((4096, 4096, 1000, bavail, bavail, 100, 50, 50, flag, 255))

    assert refine_reason(IO_ERROR, fs(flag=os.ST_RDONLY)) == READ_ONLY
    assert refine_reason(CANNOT_OPEN, fs(bavail=0)) == STORAGE_FULL
    assert refine_reason(IO_ERROR, fs()) == IO_ERROR
    assert refine_reason(STORAGE_FULL, fs(flag=os.ST_RDONLY)) == STORAGE_FULL  # a clear reason stays
    assert refine_reason(IO_ERROR, None) == IO_ERROR


def test_a_full_database_answers_storage_unavailable_and_recovers_without_reopening(tmp_path):
    db = open_database(tmp_path / "k.db")
    with db.write() as conn:
        conn.execute("CREATE TABLE blobs (id INTEGER PRIMARY KEY, data BLOB)")
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        conn.execute(f"PRAGMA max_page_count = {pages + 8}")  # the writer connection's limit
    acknowledged = []
    with pytest.raises(Unavailable) as refused:
        for i in range(100):
            with db.write() as conn:
                conn.execute("INSERT INTO blobs (id, data) VALUES (?, ?)", (i, b"x" * 3000))
            acknowledged.append(i)
    assert refused.value.code == "storage_unavailable" and refused.value.status == 503
    assert "front desk" in refused.value.message
    assert acknowledged, "some writes fitted before the limit"
    assert db.write_failure()["reason"] == STORAGE_FULL
    # the failed write left nothing and no open transaction on the shared writer connection
    assert [r["id"] for r in db.query("SELECT id FROM blobs ORDER BY id")] == acknowledged
    with pytest.raises(Unavailable), db.write() as conn:  # still full: still named
        conn.execute("INSERT INTO blobs (data) VALUES (?)", (b"y" * 3000,))
    assert db.write_failure()["reason"] == STORAGE_FULL

    with db.write() as conn:  # space comes back: the same connection writes again
        conn.execute("PRAGMA max_page_count = 1000000")
    assert db.write_failure() is None
    with db.write() as conn:
        conn.execute("INSERT INTO blobs (data) VALUES (?)", (b"z" * 3000,))
    assert db.scalar("SELECT COUNT(*) FROM blobs") == len(acknowledged) + 1


def test_a_failed_wal_fsync_fails_every_write_it_was_meant_to_cover(tmp_path, monkeypatch):
    """The group commit: writers that wait for a shared fsync must not be told "saved"
    when that fsync failed (the operating system's fsync fails here, as a dying SD card's
    does). The one that runs it and every one it covers get 503."""
    db = open_database(tmp_path / "k.db")
    with db.write() as conn:
        conn.execute("CREATE TABLE rows (id INTEGER PRIMARY KEY, writer INTEGER)")
    writers = 4
    watcher = sqlite3.connect(tmp_path / "k.db", check_same_thread=False)
    real_fsync = os.fsync

    def failing_fsync(fd: int) -> None:
        # hold the first fsync until every writer has committed (they then wait for the
        # next one, which covers them all), then fail as the disk does
        deadline = time.monotonic() + GUARD_S
        while watcher.execute("SELECT COUNT(*) FROM rows").fetchone()[0] < writers:
            assert time.monotonic() < deadline, "the writers never committed"
            time.sleep(0.005)
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(os, "fsync", failing_fsync)
    outcomes: list[str] = []

    def write(n: int) -> None:
        try:
            with db.write() as conn:
                conn.execute("INSERT INTO rows (writer) VALUES (?)", (n,))
            outcomes.append("saved")
        except Unavailable as exc:
            outcomes.append(exc.code)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(GUARD_S)
    assert outcomes == ["storage_unavailable"] * writers
    assert db.write_failure()["reason"] == IO_ERROR

    monkeypatch.setattr(os, "fsync", real_fsync)
    with db.write() as conn:  # the disk answers again: the next write is saved and health clears
        conn.execute("INSERT INTO rows (writer) VALUES (99)")
    assert db.write_failure() is None
    watcher.close()
