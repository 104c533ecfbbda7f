"""Flat memory in a long-running server: small page caches on the per-thread reading
connections (the writer keeps SQLite's default), two malloc arenas, and allocation
snapshots on SIGUSR1 from a real `kiosk serve` with KIOSK_TRACEMALLOC set. The growth
itself is measured by bench/soak.py (README, Benchmarks)."""

from __future__ import annotations

import signal
import threading
import time

from kiosk import memory
from kiosk.store.db import READER_CACHE_KIB
from tests.served import ServedKiosk


def test_reading_connections_keep_a_small_page_cache_and_the_writer_the_default(kiosk):
    db = kiosk.db
    sizes = []

    def read() -> None:
        sizes.append(db.conn.execute("PRAGMA cache_size").fetchone()[0])

    threads = [threading.Thread(target=read) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sizes == [-READER_CACHE_KIB] * 3
    with db.write() as conn:
        assert conn.execute("PRAGMA cache_size").fetchone()[0] == -2000


def test_malloc_arenas_are_limited_on_glibc(monkeypatch):
    monkeypatch.delenv("MALLOC_ARENA_MAX", raising=False)
    assert memory.limit_malloc_arenas() is True
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")  # an operator's own setting wins
    assert memory.limit_malloc_arenas() is False


def test_the_server_writes_allocation_snapshots_on_sigusr1(tmp_path):
    server = ServedKiosk(tmp_path / "kiosk")
    snapshots = tmp_path / "snapshots"
    server.env[memory.ENV] = str(snapshots)
    server.start()
    try:
        for n in (1, 2):
            server.process.send_signal(signal.SIGUSR1)
            deadline = time.monotonic() + 30
            while len(list(snapshots.glob("snapshot-*.pickle"))) < n and time.monotonic() < deadline:
                time.sleep(0.1)
            assert len(list(snapshots.glob("snapshot-*.pickle"))) == n
        growth = snapshots / "growth-1.txt"  # written after the snapshot; comparing takes a while on a busy host
        deadline = time.monotonic() + 60
        while not growth.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert growth.read_text().startswith("grew most since the first snapshot:")
    finally:
        server.stop()
    assert server.process.returncode == 0, server.log.read_text()[-2000:]
