"""The central store contract, run against both back-ends: the embedded SQLite file and a
real PostgreSQL server (the throw-away one of tests/pgserver.py). Ingest stores every key
once, `latest` follows the highest version whatever the arrival order, deletes remove an
entity and keep it removed, the directory's changes are sequenced and audited, console
accounts and sessions, and the numbered migrations."""

import json
import sqlite3
import threading

import pytest

from sync.central.directory import Entry
from sync.central.migrations import MIGRATIONS
from sync.central.storage import CentralStore, open_store

from .conftest import BACKENDS

pytestmark = pytest.mark.parametrize("backend", BACKENDS)


@pytest.fixture
def store(central_db):
    s = open_store(central_db)
    yield s
    s.close()


def rec(i, version=1, kind="visit", op="upsert", site="s1", **data):
    return {"key": f"{site}:{kind}:{i}:{version}", "kind": kind, "op": op,
            "occurred_at": f"2026-11-27T09:{version:02d}:00+08:00", "data": {"id": i, "version": version, **data}}


def test_is_the_one_interface_and_migrated_to_the_last_number(store, central_db, backend):
    assert isinstance(store, CentralStore)
    assert store.schema_version == MIGRATIONS[-1].number
    again = open_store(central_db)  # opening again applies nothing twice
    assert again.schema_version == MIGRATIONS[-1].number
    again.close()


def test_every_key_is_stored_once_and_latest_follows_the_highest_version(store):
    assert store.store_batch("s1", "b1", [rec(1, 2, name="v2"), rec(2)], [], 7) == 2
    assert store.store_batch("s1", "b2", [rec(1, 1, name="v1"), rec(1, 2, name="v2"), rec(1, 3, name="v3")],
                             [("s1:bad:1:1", "unknown kind")], 3) == 2
    assert store.record_count() == 4 and store.record_count("s1") == 4
    assert sorted(store.keys("s1")) == sorted(["s1:visit:1:1", "s1:visit:1:2", "s1:visit:1:3", "s1:visit:2:1"])
    latest = {r["local_id"]: r for r in store.latest(["visit"], "2026-11-27", "2026-11-27")}
    assert latest["1"]["version"] == 3 and latest["1"]["data"]["name"] == "v3"
    assert store.record("s1:visit:1:1")["data"] == {"id": 1, "version": 1, "name": "v1"}
    s = store.summary()[0]
    assert (s["total"], s["duplicates"], s["rejected"], s["backlog"], s["batches"]) == (4, 1, 1, 3, 2)
    assert store.rejections("s1")[0]["error"] == "unknown kind"


def test_the_day_is_the_records_own_day_else_the_local_date_of_occurred_at(store):
    store.store_batch("s1", "b", [rec(1, kind="ticket", day="2026-11-26"), rec(2)], [], None)
    assert store.record("s1:ticket:1:1")["day"] == "2026-11-26"
    assert store.record("s1:visit:2:1")["day"] == "2026-11-27"
    assert [r["local_id"] for r in store.latest(["ticket", "visit"], "2026-11-26", "2026-11-26")] == ["1"]


def test_a_delete_removes_every_version_and_a_late_older_upsert_does_not_bring_it_back(store):
    store.store_batch("s1", "b1", [rec(5, 1, name="张三"), rec(5, 2, name="张三"), rec(6, name="李四")], [], 0)
    assert store.store_batch("s1", "b2", [rec(5, 3, op="delete")], [], 0) == 1
    assert store.record("s1:visit:5:1") is None and store.record("s1:visit:5:2") is None
    assert store.record("s1:visit:5:3")["op"] == "delete"
    assert store.tombstone("s1", "visit", "5") == 3
    assert [r["local_id"] for r in store.latest(["visit"], "2000-01-01", "2999-12-31")] == ["6"]
    # an older version resent afterwards (or overtaken by the delete) is accepted, not stored
    assert store.store_batch("s1", "b3", [rec(5, 1, name="张三"), rec(5, 2, name="张三")], [], 0) == 0
    assert store.record("s1:visit:5:1") is None
    assert "张三" not in json.dumps(store.latest(["visit"], "2000-01-01", "2999-12-31"), ensure_ascii=False)
    # the delete resent changes nothing
    assert store.store_batch("s1", "b4", [rec(5, 3, op="delete")], [], 0) == 0
    assert store.record("s1:visit:6:1")["data"]["name"] == "李四"
    assert store.record_count("s1") == 2 and store.summary()[0]["counts"] == {"visit": 2}


def test_a_delete_in_the_same_batch_as_upserts_and_one_that_overtakes_them(store):
    # upserts and their delete together: only the delete is stored
    assert store.store_batch("s1", "b1", [rec(7, 1), rec(7, 2), rec(7, 3, op="delete")], [], 0) == 1
    assert store.keys("s1") == ["s1:visit:7:3"]
    # a delete that arrives before the entity's upserts (another batch overtook them)
    store.store_batch("s1", "b2", [rec(8, 4, op="delete")], [], 0)
    store.store_batch("s1", "b3", [rec(8, 1), rec(8, 2)], [], 0)
    assert sorted(store.keys("s1")) == ["s1:visit:7:3", "s1:visit:8:4"]
    # a delete removes the versions below its own and blocks them; a newer one (an erased
    # case's anonymised state) is kept
    store.store_batch("s1", "b4", [rec(9, 1), rec(9, 5)], [], 0)
    store.store_batch("s1", "b5", [rec(9, 6, op="delete"), rec(9, 7)], [], 0)
    assert store.tombstone("s1", "visit", "9") == 6
    store.store_batch("s1", "b6", [rec(9, 4)], [], 0)
    assert store.record("s1:visit:9:4") is None and store.record("s1:visit:9:5") is None
    assert store.keys("s1")[-2:] == ["s1:visit:9:6", "s1:visit:9:7"]
    # the same local id of another kind or another site is a different entity
    store.store_batch("s1", "b7", [rec(7, 1, kind="ticket"), rec(7, 1, site="s2")], [], 0)
    store.store_batch("s2", "b8", [rec(7, 1, site="s2")], [], 0)
    assert store.record("s1:ticket:7:1") is not None and store.record("s2:visit:7:1") is not None


def test_concurrent_batches_from_many_sites_store_every_key_once(store):
    sites = [f"site-{n}" for n in range(8)]
    batches = {s: [[rec(i, site=s) for i in range(b * 50, b * 50 + 60)] for b in range(6)] for s in sites}
    errors = []

    def send(site):
        try:
            for n, batch in enumerate(batches[site]):
                store.store_batch(site, f"{site}-{n}", batch, [], None)
                store.store_batch(site, f"{site}-{n}-again", batch, [], None)  # a resend
        except Exception as exc:  # noqa: BLE001  # reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=send, args=(s,)) for s in sites]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    for s in sites:
        keys = store.keys(s)
        assert len(keys) == len(set(keys)) == 310  # ids 0..309
    assert store.record_count() == 8 * 310


def test_directory_changes_are_sequenced_audited_and_pulled_by_cursor(store):
    key = store.id_key()
    assert key == store.id_key() and len(key) == 64
    result = store.import_residents([Entry("r1", "张三", "1-101", "138", "h1"),
                                     Entry("r2", "李四", "1-102", "139", None)], actor="cli")
    assert result == {"added": 2, "updated": 0, "unchanged": 0, "removed": 0}
    first, cursor = store.directory_since(0, 100)
    assert [e["id"] for e in first] == ["r1", "r2"] and "id_hash" not in first[1]
    assert store.save_resident(Entry("r1", "张三", "1-101", "138", "h1"), "alice") == "unchanged"
    assert store.save_resident(Entry("r1", "张三", "2-202", "138", None), "alice") == "updated"
    assert store.remove_residents(["r2", "nobody"], actor="bob") == 1
    changes, cursor2 = store.directory_since(cursor, 100)
    assert [(e["id"], e["unit"], e["active"]) for e in changes] == [("r1", "2-202", True), ("r2", "1-102", False)]
    assert changes[0]["id_hash"] == "h1" and cursor2 > cursor
    assert store.directory_since(cursor2, 100) == ([], cursor2)
    log = store.audit_log(action_prefix="resident.")
    assert [(a["actor"], a["action"], a["target"]) for a in log] == [
        ("bob", "resident.deactivated", "resident:r2"), ("alice", "resident.updated", "resident:r1"),
        ("cli", "resident.added", "resident:r2"), ("cli", "resident.added", "resident:r1")]
    assert log[1]["detail"] == "changed: unit"
    assert store.active_residents() == 1
    assert [r["id"] for r in store.residents("2-20")] == ["r1"] and store.resident("r2")["active"] == 0


def test_users_and_server_side_sessions(store):
    with pytest.raises(ValueError):
        store.add_user("eve", "root", "x")
    store.add_user("alice", "office_manager", "hash-1")
    assert store.user("alice")["role"] == "office_manager"
    store.create_session("sid-1", "alice", "csrf-1", 1000.0)
    store.touch_session("sid-1", 1010.0)
    s = store.session("sid-1")
    assert (s["user_name"], s["role"], s["csrf"], s["seen_at"]) == ("alice", "office_manager", "csrf-1", 1010.0)
    store.add_user("alice", "auditor", "hash-2")  # a new password or role ends her sessions
    assert store.session("sid-1") is None
    store.create_session("sid-2", "alice", "c", 1.0)
    store.end_session("sid-2")
    assert store.session("sid-2") is None


def test_an_unversioned_sqlite_file_is_adopted_and_backfilled(tmp_path, backend):
    if backend != "sqlite":
        pytest.skip("only SQLite files predate the numbered migrations")
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    for statement in MIGRATIONS[0].sqlite:
        conn.execute(statement)
    conn.execute("INSERT INTO records (key, site_id, kind, op, occurred_at, data, received_at) VALUES "
                 "('s1:ticket:4:2', 's1', 'ticket', 'upsert', '2026-11-27T09:00:00+08:00', "
                 "'{\"id\": 4, \"day\": \"2026-11-27\"}', 'x')")
    conn.commit()
    conn.close()
    store = open_store(str(path))
    try:
        assert store.schema_version == MIGRATIONS[-1].number
        r = store.record("s1:ticket:4:2")
        assert (r["local_id"], r["version"], r["day"]) == ("4", 2, "2026-11-27")
        assert [x["local_id"] for x in store.latest(["ticket"], "2026-11-27", "2026-11-27")] == ["4"]
    finally:
        store.close()
