"""Backups taken while tickets are being issued are consistent databases that restore;
rotation keeps the newest N; restore checks the file and refuses while the database is open."""

from __future__ import annotations

import sqlite3
import threading
from contextlib import closing
from datetime import datetime
from pathlib import Path
from typing import Self

import pytest

from kiosk import config as cfgmod
from kiosk.backup import BackupError, backup_database, database_in_use, list_backups, restore_database
from kiosk.runtime import Kiosk
from tests.deploy.conftest import kiosk_cli, write_config

GUARD_S = 60


def counts(path: Path) -> dict[str, int]:
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        return {
            "tickets": conn.execute("SELECT COUNT(*) FROM tickets").fetchone()[0],
            "outbox": conn.execute("SELECT COUNT(*) FROM outbox WHERE kind = 'ticket'").fetchone()[0],
            "print_jobs": conn.execute("SELECT COUNT(*) FROM print_jobs").fetchone()[0],
            "events": conn.execute("SELECT COUNT(*) FROM ticket_events").fetchone()[0],
            "numbered": conn.execute("SELECT COALESCE(SUM(last), 0) FROM ticket_numbers").fetchone()[0],
        }


def assert_consistent(path: Path) -> int:
    """Every ticket came with its outbox row, print job, history row and number: one transaction each."""
    c = counts(path)
    assert c["tickets"] == c["outbox"] == c["print_jobs"] == c["events"] == c["numbered"], c
    return c["tickets"]


class Issuers:
    """Threads issuing tickets through the real queue service until stopped."""

    def __init__(self, kiosk: Kiosk, services: list[str]) -> None:
        self.kiosk, self.stop, self.issued = kiosk, threading.Event(), 0
        self.lock, self.errors = threading.Lock(), []
        self.started = threading.Event()
        self.threads = [threading.Thread(target=self.run, args=(s,), daemon=True) for s in services]

    def run(self, service: str) -> None:
        try:
            while not self.stop.is_set():
                self.kiosk.queue.issue(service)
                with self.lock:
                    self.issued += 1
                    if self.issued >= 20:
                        self.started.set()
        except Exception as exc:  # noqa: BLE001 - reported by the test
            self.errors.append(exc)
            self.started.set()

    def __enter__(self) -> Self:
        for t in self.threads:
            t.start()
        assert self.started.wait(GUARD_S)
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(GUARD_S)
        assert not self.errors, self.errors


def test_backup_while_issuing_is_consistent_and_restores(tmp_path):
    config_path = write_config(tmp_path)
    cfg = cfgmod.load(config_path)
    out = tmp_path / "backups"
    kiosk = Kiosk(cfg, start_workers=False)
    try:
        with Issuers(kiosk, ["A", "B", "C"]) as issuers:
            before = issuers.issued
            backups = [backup_database(cfg.database.path, out, keep=0).path for _ in range(4)]
            # and one through the command line, as the nightly timer runs it
            cli = kiosk_cli("backup", "--config", str(config_path), "--out", str(out))
            assert cli.returncode == 0, cli.stderr
            backups.append(Path(cli.stdout.strip()))
            during = issuers.issued - before
        assert during > 0                      # tickets were committed while the backups ran
        sizes = [assert_consistent(p) for p in backups]
        assert sizes == sorted(sizes) and sizes[0] >= 20
        assert list_backups(out) == backups
    finally:
        kiosk.stop()
    total = assert_consistent(Path(cfg.database.path))
    assert total > sizes[0]

    # restore the first backup with the command line (the kiosk is stopped)
    result = kiosk_cli("restore", backups[0].as_posix(), "--yes", "--config", str(config_path))
    assert result.returncode == 0, result.stderr
    assert assert_consistent(Path(cfg.database.path)) == sizes[0]
    before_restore = Path(cfg.database.path + ".before-restore")
    assert assert_consistent(before_restore) == total

    # the restored database runs: numbering carries on from the backup's state
    kiosk = Kiosk(cfg, start_workers=False)
    try:
        issued = kiosk.queue.issue("A")
        assert issued.ticket["number"].startswith("A")
    finally:
        kiosk.stop()
    assert assert_consistent(Path(cfg.database.path)) == sizes[0] + 1


def test_restore_refuses_while_the_kiosk_has_the_database_open(tmp_path):
    config_path = write_config(tmp_path)
    cfg = cfgmod.load(config_path)
    kiosk = Kiosk(cfg, start_workers=False)
    try:
        kiosk.queue.issue("A")
        backup = backup_database(cfg.database.path, tmp_path / "b", keep=0).path
        kiosk.queue.issue("A")
        # another process (this test plays `kiosk serve`) holds the database: restore refuses
        result = kiosk_cli("restore", str(backup), "--yes", "--config", str(config_path))
        assert result.returncode != 0
        assert "open by another process" in result.stderr and "systemctl stop kiosk" in result.stderr
        assert not Path(cfg.database.path + ".before-restore").exists()
    finally:
        kiosk.stop()
    assert counts(Path(cfg.database.path))["tickets"] == 2
    assert not database_in_use(cfg.database.path)


def test_restore_refuses_a_damaged_or_foreign_file_and_changes_nothing(tmp_path):
    cfg = cfgmod.load(write_config(tmp_path))
    kiosk = Kiosk(cfg, start_workers=False)
    kiosk.queue.issue("A")
    kiosk.stop()
    db = Path(cfg.database.path)
    original = db.read_bytes()

    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"SQLite format 3\x00" + b"\xff" * 4000)
    with pytest.raises(BackupError, match="garbage.db"):
        restore_database(garbage, db)

    damaged = tmp_path / "damaged.db"
    good = backup_database(db, tmp_path / "b", keep=0).path
    with closing(sqlite3.connect(good)) as conn:
        root_page = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'tickets'").fetchone()[0]
    data = bytearray(good.read_bytes())
    page_size = int.from_bytes(data[16:18], "big")
    data[(root_page - 1) * page_size] = 0x07            # the tickets table's root page: no valid b-tree type
    damaged.write_bytes(bytes(data))
    with pytest.raises(BackupError, match="integrity_check|not a readable"):
        restore_database(damaged, db)

    foreign = tmp_path / "foreign.db"
    with closing(sqlite3.connect(foreign)) as conn:
        conn.execute("CREATE TABLE t (x)")
        conn.commit()
    with pytest.raises(BackupError, match="not a kiosk database"):
        restore_database(foreign, db)

    assert db.read_bytes() == original and not Path(f"{db}.before-restore").exists()


def test_restore_onto_a_fresh_box(tmp_path):
    cfg = cfgmod.load(write_config(tmp_path))
    kiosk = Kiosk(cfg, start_workers=False)
    kiosk.queue.issue("B")
    kiosk.stop()
    backup = backup_database(cfg.database.path, tmp_path / "b", keep=0).path
    fresh = tmp_path / "new-box" / "kiosk.db"
    result = restore_database(backup, fresh)
    assert result.before_restore is None and assert_consistent(fresh) == 1


def test_rotation_keeps_the_newest(tmp_path):
    cfg = cfgmod.load(write_config(tmp_path))
    Kiosk(cfg, start_workers=False).stop()
    out = tmp_path / "backups"
    same_second = datetime(2026, 11, 27, 2, 30, 0)
    made = [backup_database(cfg.database.path, out, keep=3, now=same_second).path for _ in range(3)]
    made += [backup_database(cfg.database.path, out, keep=3, now=datetime(2026, 11, 28, 2, 30)).path]
    result = backup_database(cfg.database.path, out, keep=3, now=datetime(2026, 11, 29, 2, 30))
    made.append(result.path)
    assert [p.name for p in made] == ["kiosk-20261127-023000.db", "kiosk-20261127-023000.1.db",
                                      "kiosk-20261127-023000.2.db", "kiosk-20261128-023000.db",
                                      "kiosk-20261129-023000.db"]
    assert list_backups(out) == made[-3:]
    assert result.removed == [made[1]]
    assert not list(out.glob("*.partial"))
    (out / "notes.txt").write_text("not ours")          # rotation only touches its own files
    backup_database(cfg.database.path, out, keep=1)
    assert len(list_backups(out)) == 1 and (out / "notes.txt").exists()


def test_backup_of_a_missing_database_is_a_clear_error(tmp_path):
    result = kiosk_cli("backup", "--config", str(write_config(tmp_path)))
    assert result.returncode != 0 and "does not exist" in result.stderr
