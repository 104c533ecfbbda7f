"""`kiosk-central copy-store`: an SQLite central copied into a real PostgreSQL database (the
suite's throw-away server) by the console script: records, tombstones, counters, sites,
the directory, audit and users arrive as they were; the copy then takes new batches; a
second run changes nothing, a run after the file gained records, a delete and directory
changes adds exactly those; a target that is not empty and not a copy of the file is
refused untouched."""

import subprocess
from datetime import timedelta

import pytest

from sync.central.console import hash_password
from sync.central.directory import Entry
from sync.central.storage import open_store

from .conftest import VENV_BIN
from .test_rollup import DAY0, SITES, history

PERIOD = ("2026-11-20", "2026-11-27")
NOW_TS = (DAY0 + timedelta(days=3)).timestamp()


def copy_cmd(source, target):
    return subprocess.run([str(VENV_BIN / "kiosk-central"), "copy-store", "--from", str(source), "--to", target],
                          capture_output=True, text=True, timeout=300)


def snapshot(store):
    """Everything the copy must carry, as comparable values."""
    records = {}
    for site in SITES:
        for key in store.keys(site):
            records[key] = store.record(key)
    return {
        "records": records,
        "counts": {s["site_id"]: (s["counts"], s["backlog"], s["last_batch_at"]) for s in store.summary()
                   if s["site_id"] in SITES},
        "tombstones": {(s, k, i): store.tombstone(s, k, str(i)) for s in SITES for k in ("ticket", "case", "survey")
                       for i in range(1, 25)},
        "aggregates": store.aggregates(*PERIOD, NOW_TS),
        "latest": sorted((r["site_id"], r["kind"], r["local_id"], r["version"])
                         for r in store.latest(["ticket", "case", "survey"], *PERIOD)),
        "rejections": store.rejections("s1"),
        "sites": store.sites(), "secret": store.site_secret("s1"),
        "directory": store.directory_since(0, 1000), "id_key": store.id_key(),
        "users": [(u["name"], u["role"], u["active"]) for u in store.users()],
        "alice": store.user("alice")["password_hash"],
        "audit": store.audit_log(1000),
    }


@pytest.fixture
def source(tmp_path):
    path = tmp_path / "central.db"
    store = open_store(str(path))
    for site in SITES:
        store.add_site(site, f"secret-{site}", name=f"服务中心 {site}")
    arrivals = history(5)
    for n, (site, record) in enumerate(arrivals[:300]):
        store.store_batch(site, f"b{n // 10}", [record], [("s1:bad:1:1", "unknown kind")] if n == 3 else [], n)
    store.import_residents([Entry("r1", "张三", "1-101", "13800000001", "h1"),
                            Entry("r2", "李四", "2-202", "", None)])
    store.remove_residents(["r2"], actor="alice")
    store.add_user("alice", "office_manager", hash_password("password-1"))
    store.create_session("sid", "alice", "csrf", 1.0)
    store.close()
    return path, arrivals


def test_copy_store_moves_an_sqlite_central_into_postgresql_and_catches_up_when_run_again(source, pg_server):
    path, arrivals = source
    url = pg_server.new_database()
    done = copy_cmd(path, url)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("full copy") and "records" in done.stderr

    sqlite_store, pg = open_store(str(path)), open_store(url)
    try:
        before = snapshot(sqlite_store)
        assert before["records"] and before["aggregates"].daily and any(before["tombstones"].values())
        assert snapshot(pg) == before
        assert pg.session("sid") is None  # sessions stay behind: log in again

        # the copy goes on receiving: sequences past the copied ids
        pg.store_batch("s9", "live", [{"key": "s9:visit:1:1", "kind": "visit", "op": "upsert",
                                       "occurred_at": "2026-11-27T09:00:00+08:00", "data": {"id": 1}}], [], 0)
        pg.audit("cli", "test.after-copy")
        assert pg.record("s9:visit:1:1")["op"] == "upsert"
        assert pg.audit_log(1)[0]["id"] > max(a["id"] for a in before["audit"])

        again = copy_cmd(path, url)  # at once again: nothing new
        assert again.returncode == 0, again.stderr
        assert again.stdout.startswith("catch-up copy") and "records 0" in again.stdout
        now = snapshot(pg)
        assert {k: v for k, v in now.items() if k != "audit"} == {k: v for k, v in before.items() if k != "audit"}
        assert [a["action"] for a in now["audit"][:1]] == ["test.after-copy"] and now["audit"][1:] == before["audit"]

        # the file gains records (a delete among them), a directory change and a user
        for n, (site, record) in enumerate(arrivals[300:]):
            sqlite_store.store_batch(site, f"c{n // 10}", [record], [], 0)
        sqlite_store.save_resident(Entry("r3", "王五", "3-303", "", None), actor="alice")
        sqlite_store.remove_residents(["r1"], actor="alice")
        sqlite_store.add_user("bob", "auditor", hash_password("password-2"))
        later = copy_cmd(path, url)
        assert later.returncode == 0, later.stderr
        after, copied = snapshot(sqlite_store), snapshot(pg)
        for part in ("records", "tombstones", "aggregates", "latest", "users"):
            assert copied[part] == after[part], part
        assert {k: v[0] for k, v in copied["counts"].items()} == {k: v[0] for k, v in after["counts"].items()}
        assert {r["id"]: int(r["active"]) for r in pg.residents()} == {"r1": 0, "r2": 0, "r3": 1}
        # the audit log: every entry of the file, in order (new ids at the target), besides the
        # target's own: the entry written after the copy and those of the catch-up's directory changes
        def entries(log):
            return [(a["at"], a["actor"], a["action"], a["target"], a["detail"]) for a in reversed(log)]

        gained = [a for a in after["audit"] if a["id"] > max(b["id"] for b in before["audit"])]
        assert {a["action"] for a in gained} >= {"resident.added", "resident.deactivated", "user.saved"}
        own = [a for a in entries(copied["audit"]) if a[2] == "test.after-copy" or a[1] == "copy-store"]
        assert own[0][2] == "test.after-copy" and len(own) > 1
        assert [a for a in entries(copied["audit"]) if a not in own] == entries(after["audit"])
        assert pg.record("s9:visit:1:1") is not None
    finally:
        sqlite_store.close()
        pg.close()


def test_copy_store_refuses_a_target_that_holds_other_data(source, pg_server, tmp_path):
    path, _ = source
    url = pg_server.new_database()
    other = open_store(url)
    other.add_site("elsewhere", "x")
    other.close()
    refused = copy_cmd(path, url)
    assert refused.returncode != 0 and "not empty" in refused.stderr
    target = open_store(url)
    try:
        assert [s["id"] for s in target.sites()] == ["elsewhere"] and target.record_count() == 0
    finally:
        target.close()
    assert copy_cmd(tmp_path / "central.db", "sqlite.db").returncode != 0
