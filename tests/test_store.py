"""The database layer: migrations, write transactions and the group commit."""

import sqlite3
import threading

import pytest

from kiosk.store import open_database, tickets, visits
from kiosk.store.db import FifoLock
from kiosk.store.migrations import MIGRATIONS, apply_migrations


def test_migrations_apply_once_in_order(tmp_path):
    db = open_database(tmp_path / "k.db")
    names = [r["name"] for r in db.query("SELECT name FROM schema_migrations ORDER BY name")]
    assert names == sorted(name for name, _ in MIGRATIONS)
    assert apply_migrations(db.conn) == []
    assert db.scalar("PRAGMA journal_mode") == "wal"


def test_failed_transaction_leaves_nothing(tmp_path):
    db = open_database(tmp_path / "k.db")
    try:
        with db.write() as conn:
            conn.execute("INSERT INTO ticket_numbers (service, day, last) VALUES ('A', '2026-11-27', 1)")
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    assert db.scalar("SELECT COUNT(*) FROM ticket_numbers") == 0


def test_reads_inside_a_write_see_its_transaction_and_writes_share_one_connection(tmp_path):
    db = open_database(tmp_path / "k.db")
    own = db.conn
    with db.write() as conn:
        assert db.conn is conn and conn is not own
        conn.execute("INSERT INTO ticket_numbers (service, day, last) VALUES ('A', '2026-11-27', 1)")
        assert db.scalar("SELECT COUNT(*) FROM ticket_numbers") == 1  # not yet committed
    assert db.conn is own
    with db.write() as conn:
        writer = conn
    thread_conns = []

    def write_in_a_thread() -> None:
        with db.write() as conn:
            thread_conns.append(conn)

    t = threading.Thread(target=write_in_a_thread)
    t.start()
    t.join(10)
    assert thread_conns == [writer]


def test_a_commit_that_fails_is_rolled_back_and_the_next_write_goes_on(tmp_path):
    """Writes share one connection: a failed COMMIT must not leave its transaction open
    for the next write to finish."""
    db = open_database(tmp_path / "k.db")
    with db.write() as conn:
        conn.execute("CREATE TABLE parent (id INTEGER PRIMARY KEY)")
        conn.execute("CREATE TABLE child (parent_id INTEGER REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED)")
    with pytest.raises(sqlite3.IntegrityError), db.write() as conn:
        conn.execute("INSERT INTO child (parent_id) VALUES (7)")  # checked at COMMIT
    with db.write() as conn:
        conn.execute("INSERT INTO parent (id) VALUES (7)")
    assert db.scalar("SELECT COUNT(*) FROM child") == 0
    assert db.scalar("SELECT COUNT(*) FROM parent") == 1


def test_durable_write_returns_after_an_fsync_and_bookkeeping_skips_it(tmp_path):
    db = open_database(tmp_path / "k.db")
    before = db.fsyncs
    with db.write(durable=False) as conn:
        conn.execute("INSERT INTO ticket_numbers (service, day, last) VALUES ('A', 'd0', 1)")
    assert db.fsyncs == before
    with db.write() as conn:
        conn.execute("INSERT INTO ticket_numbers (service, day, last) VALUES ('A', 'd1', 1)")
    assert db.fsyncs == before + 1


def test_concurrent_writers_share_fsyncs_and_none_is_lost(tmp_path):
    db = open_database(tmp_path / "k.db")
    threads, per_thread = 8, 40
    start = threading.Barrier(threads)

    def writer(n: int) -> None:
        start.wait()
        for i in range(per_thread):
            with db.write() as conn:
                conn.execute("INSERT INTO ticket_numbers (service, day, last) VALUES (?, ?, 1)", (f"S{n}", f"d{i}"))

    workers = [threading.Thread(target=writer, args=(n,)) for n in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)
    assert db.scalar("SELECT COUNT(*) FROM ticket_numbers") == threads * per_thread
    assert db._synced == db._committed == threads * per_thread
    assert db.fsyncs < threads * per_thread, "concurrent commits were grouped into fewer fsyncs"


def test_write_lock_serves_waiters_in_arrival_order():
    lock = FifoLock()
    order = []
    threads = []
    lock.__enter__()
    for i in range(6):
        def waiter(i=i):
            with lock:
                order.append(i)
        t = threading.Thread(target=waiter)
        t.start()
        threads.append(t)
        while len(lock._waiters) < i + 1:  # queued before the next one arrives
            threading.Event().wait(0.001)
    lock.__exit__(None, None, None)
    for t in threads:
        t.join(5)
    assert order == list(range(6))
    with lock:  # free again once every waiter is through
        pass


def test_ticket_columns_match_the_schema(tmp_path):
    """`tickets.insert` builds the new row itself rather than reading it back."""
    db = open_database(tmp_path / "k.db")
    assert tuple(r[1] for r in db.conn.execute("PRAGMA table_info(tickets)")) == tickets.COLUMNS
    values = dict.fromkeys(tickets.COLUMNS[1:])
    values.update(number="A001", service="A", origin_service="A", day="2026-11-27", seq=1, status="waiting",
                  priority=1, transferred=0, recalls=0, issued_at="2026-11-27T01:00:00.000+00:00",
                  updated_at="2026-11-27T01:00:00.000+00:00", version=1)
    with db.write() as conn:
        returned = tickets.insert(conn, values)
    assert returned == tickets.get(db.conn, returned["id"])
    db.close()


def _resident(rid: str, name: str, id_hash: str | None = None, id_masked: str | None = None) -> dict:
    return {"id": rid, "name": name, "unit": "1-1", "phone": "", "phone_norm": "", "id_hash": id_hash,
            "id_masked": id_masked, "source": "csv", "updated_at": "2026-11-27 09:00:00"}


def test_resident_upserts_join_the_write_transaction_and_keep_id_hashes(tmp_path):
    db = open_database(tmp_path / "k.db")
    with pytest.raises(RuntimeError, match="inside db.write"):
        visits.upsert_residents(db.conn, [_resident("r1", "A")])  # never outside the write lock
    with pytest.raises(RuntimeError, match="boom"), db.write() as conn:
        visits.upsert_residents(conn, [_resident("r1", "A")])
        raise RuntimeError("boom")
    assert db.scalar("SELECT COUNT(*) FROM residents") == 0  # rolled back with the transaction
    with db.write() as conn:
        visits.upsert_residents(conn, [_resident("r1", "A", "h1", "1101***002X"), _resident("r2", "B")])
        conn.execute("UPDATE residents SET active = 0 WHERE id = 'r1'")
    with db.write() as conn:  # no ID number this time, a name change, and r2 listed twice
        visits.upsert_residents(conn, [_resident("r1", "A2"), _resident("r2", "B1", "h2", "1101***0021"),
                                       _resident("r2", "B2")])
    rows = {r["id"]: r for r in db.query("SELECT * FROM residents")}
    assert (rows["r1"]["name"], rows["r1"]["id_hash"], rows["r1"]["id_masked"], rows["r1"]["active"]) == \
        ("A2", "h1", "1101***002X", 1)
    assert (rows["r2"]["name"], rows["r2"]["id_hash"], rows["r2"]["id_masked"]) == ("B2", "h2", "1101***0021")
