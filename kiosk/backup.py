"""Consistent database backups with rotation, and a careful restore.

A backup is made with SQLite's online backup API (`sqlite3.Connection.backup`), never a
file copy: it reads one snapshot inside a read transaction, so tickets can keep being
issued while it runs (WAL mode lets writers carry on) and the copy is always a
consistent database. Each copy is written as `NAME.partial`, switched to a self-contained
single file (journal_mode=DELETE), checked with `PRAGMA integrity_check`, fsynced and
only then renamed to `kiosk-YYYYMMDD-HHMMSS.db`. The newest `backup.keep` are kept.

A restore checks the file first (integrity_check and that it is a kiosk database),
refuses while another process (`kiosk serve`, `kiosk-sync`) has the database open,
keeps a consistent copy of the current database as `<db>.before-restore`, and swaps the
restored file in with one atomic rename.
"""

from __future__ import annotations

import fcntl
import os
import re
import sqlite3
import struct
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

from kiosk.config import Config

BUSY_TIMEOUT_S = 10.0
NAME_RE = re.compile(r"^kiosk-(\d{8}-\d{6})(?:\.(\d+))?\.db$")
# SQLite's unix VFS: every connection to a WAL database holds a shared POSIX lock on this
# byte of the -shm file for as long as it is open (the "dead man switch", os_unix.c:
# UNIX_SHM_DMS = (22 + SQLITE_SHM_NLOCK) * 4 + SQLITE_SHM_NLOCK = 128).
SHM_DMS_OFFSET = 128


class BackupError(Exception):
    """A backup or restore could not be made; the message says why and what to do."""


@dataclass
class BackupResult:
    path: Path
    removed: list[Path] = field(default_factory=list)


@dataclass
class RestoreResult:
    path: Path
    before_restore: Path | None


def default_backup_dir(config: Config) -> Path:
    return Path(config.backup.dir) if config.backup.dir else config.data_dir / "backups"


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _connect_readonly(path: Path) -> sqlite3.Connection:
    """Open a database file that nothing else writes (a backup) without creating -wal/-shm files."""
    return sqlite3.connect(f"file:{quote(str(path.resolve()))}?mode=ro&immutable=1", uri=True)


def integrity_check(conn: sqlite3.Connection) -> str:
    rows = [r[0] for r in conn.execute("PRAGMA integrity_check").fetchall()]
    return "ok" if rows == ["ok"] else "; ".join(str(r) for r in rows[:5])


def check_backup_file(path: str | os.PathLike) -> None:
    """Raise BackupError unless `path` is a sound kiosk database."""
    path = Path(path)
    if not path.is_file():
        raise BackupError(f"{path} is not a file")
    try:
        with closing(_connect_readonly(path)) as conn:
            result = integrity_check(conn)
            if result != "ok":
                raise BackupError(f"{path} fails PRAGMA integrity_check: {result}")
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{path} is not a readable SQLite database: {exc}") from None
    if not {"schema_migrations", "tickets", "outbox"} <= tables:
        raise BackupError(f"{path} is a SQLite database but not a kiosk database (no kiosk tables)")


@contextmanager
def _dir_lock(folder: Path) -> Iterator[None]:
    """Serialise backups into one folder (the nightly timer and a manual run)."""
    with open(folder / ".kiosk-backup.lock", "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _backup_name(folder: Path, now: datetime) -> str:
    stamp = now.strftime("%Y%m%d-%H%M%S")
    name, n = f"kiosk-{stamp}.db", 1
    while (folder / name).exists():
        name, n = f"kiosk-{stamp}.{n}.db", n + 1
    return name


def list_backups(folder: str | os.PathLike) -> list[Path]:
    """The backups `kiosk backup` made in `folder`, oldest first."""
    folder = Path(folder)
    found = []
    for entry in folder.iterdir() if folder.is_dir() else ():
        m = NAME_RE.match(entry.name)
        if m and entry.is_file():
            found.append(((m.group(1), int(m.group(2) or 0)), entry))
    return [p for _, p in sorted(found)]


def rotate(folder: str | os.PathLike, keep: int) -> list[Path]:
    """Delete all but the newest `keep` backups (keep = 0 keeps all); returns what was deleted."""
    if keep < 0:
        raise BackupError("backup.keep must be 0 (keep all) or more")
    backups = list_backups(folder)
    doomed = backups[:-keep] if keep else []
    for path in doomed:
        path.unlink(missing_ok=True)
    return doomed


def backup_database(db_path: str | os.PathLike, out_dir: str | os.PathLike, *, keep: int,
                    now: datetime | None = None) -> BackupResult:
    """Write a consistent copy of the database into out_dir, then rotate."""
    db_path = Path(db_path)
    if not db_path.is_file():
        raise BackupError(f"database {db_path} does not exist (has `kiosk serve` ever run with this config?)")
    if keep < 0:
        raise BackupError("backup.keep must be 0 (keep all) or more")
    folder = Path(out_dir)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BackupError(f"cannot create backup folder {folder}: {exc}") from None
    with _dir_lock(folder):
        for stale in folder.glob("kiosk-*.db.partial"):      # left by a crash or power cut mid-backup
            stale.unlink(missing_ok=True)
        final = folder / _backup_name(folder, now or datetime.now().astimezone())
        partial = final.with_name(final.name + ".partial")
        try:
            with closing(sqlite3.connect(db_path, timeout=BUSY_TIMEOUT_S)) as src, \
                    closing(sqlite3.connect(partial)) as dst:
                src.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
                src.backup(dst)                      # one step: one read snapshot, writers carry on
                dst.execute("PRAGMA journal_mode=DELETE")   # a self-contained single file
                result = integrity_check(dst)
            if result != "ok":
                raise BackupError(f"the backup copy fails integrity_check: {result}")
            _fsync_file(partial)
            os.replace(partial, final)
            _fsync_dir(folder)
        except (sqlite3.Error, OSError) as exc:
            partial.unlink(missing_ok=True)
            raise BackupError(f"backup of {db_path} into {folder} failed: {exc}") from None
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        removed = rotate(folder, keep)
    return BackupResult(final, removed)


def database_in_use(db_path: str | os.PathLike) -> bool:
    """True when another process has the (WAL mode) database open.

    Every SQLite connection to a WAL database keeps a shared lock on the dead-man-switch
    byte of the -shm file while it is open; F_GETLK reports a conflicting lock without
    taking one. (POSIX locks of this very process are not reported: call this with no
    connection of our own open.)"""
    shm = Path(f"{db_path}-shm")
    try:
        fd = os.open(shm, os.O_RDONLY)
    except FileNotFoundError:
        return False
    except PermissionError:
        raise BackupError(f"cannot tell whether {db_path} is in use (no access to {shm}): "
                          "run as the kiosk user, e.g. `sudo kiosk restore FILE`") from None
    try:
        query = struct.pack("hhqqi4x", fcntl.F_WRLCK, os.SEEK_SET, SHM_DMS_OFFSET, 1, 0)
        answer = fcntl.fcntl(fd, fcntl.F_GETLK, query)
        return struct.unpack("hhqqi4x", answer)[0] != fcntl.F_UNLCK
    finally:
        os.close(fd)


def _copy_database(src: sqlite3.Connection, target: Path) -> None:
    tmp = target.with_name(target.name + ".tmp")
    tmp.unlink(missing_ok=True)
    with closing(sqlite3.connect(tmp)) as dst:
        src.backup(dst)
        dst.execute("PRAGMA journal_mode=DELETE")
        result = integrity_check(dst)
    if result != "ok":
        tmp.unlink(missing_ok=True)
        raise BackupError(f"copy into {target} fails integrity_check: {result}")
    _fsync_file(tmp)
    os.replace(tmp, target)


def restore_database(backup_file: str | os.PathLike, db_path: str | os.PathLike) -> RestoreResult:
    """Replace the database at db_path with backup_file (see the module docstring)."""
    backup_file, db_path = Path(backup_file), Path(db_path)
    check_backup_file(backup_file)
    busy = (f"the database {db_path} is open by another process (kiosk serve or kiosk-sync); "
            "stop them first: sudo systemctl stop kiosk kiosk-sync")
    if database_in_use(db_path):
        raise BackupError(busy)
    db_path.parent.mkdir(parents=True, exist_ok=True)
    incoming = db_path.with_name(f".{db_path.name}.restore")
    try:
        with closing(_connect_readonly(backup_file)) as src:
            _copy_database(src, incoming)
        before: Path | None = None
        owner = None
        if db_path.exists():
            st = db_path.stat()
            owner = (st.st_uid, st.st_gid, st.st_mode & 0o777)
            before = db_path.with_name(db_path.name + ".before-restore")
            with closing(sqlite3.connect(db_path, timeout=BUSY_TIMEOUT_S)) as cur:
                cur.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                _copy_database(cur, before)
        if database_in_use(db_path):                 # something started meanwhile
            raise BackupError(busy)
        if owner is not None:
            if os.geteuid() == 0:
                os.chown(incoming, owner[0], owner[1])
            os.chmod(incoming, owner[2])
        # The old database is fully checkpointed and nobody has it open: its -wal/-shm
        # hold nothing, and must not be paired with the restored file.
        for suffix in ("-wal", "-shm"):
            Path(f"{db_path}{suffix}").unlink(missing_ok=True)
        os.replace(incoming, db_path)
        _fsync_dir(db_path.parent)
    except sqlite3.Error as exc:
        raise BackupError(f"restore into {db_path} failed: {exc}") from None
    finally:
        incoming.unlink(missing_ok=True)
    return RestoreResult(db_path, before)
