"""A case's links to a visit and a call are foreign keys (migration 0011): the migration
keeps every case of a box that already has them, a link to a visit or call that does not
exist is refused, and retention purging a visit leaves its case with no visit."""

from __future__ import annotations

import sqlite3

import pytest

from kiosk.store import migrations
from kiosk.store.db import Database
from kiosk.store.migrations import apply_migrations
from tests.conftest import bearer

AT = "2026-11-27T01:30:00.000+00:00"


def schema_of(db: Database, table: str) -> dict[str, str]:
    """Every index and trigger on `table`, by name, as SQLite stores their SQL."""
    return {r["name"]: r["sql"] for r in db.query(
        "SELECT name, sql FROM sqlite_master WHERE tbl_name = ? AND type IN ('index', 'trigger')", (table,))}


def add_case(conn: sqlite3.Connection, **links) -> int:
    return conn.execute(
        "INSERT INTO cases (type, channel, status, category, description, resident_id, ticket_id, call_id, visit_id, "
        "team, clock_start, due_at, created_at, updated_at, version) VALUES ('complaint', 'counter', 'open', '噪音', "
        "'楼上噪音', NULL, NULL, :call_id, :visit_id, 'specialist', :at, :at, :at, :at, 3)",
        {"call_id": None, "visit_id": None, **links, "at": AT}).lastrowid


def test_migration_keeps_every_case_and_clears_links_to_purged_visits(tmp_path, monkeypatch):
    db = Database(tmp_path / "k.db")
    monkeypatch.setattr(migrations, "MIGRATIONS", [m for m in migrations.MIGRATIONS if m[0] < "0011"])
    apply_migrations(db.conn)
    monkeypatch.undo()
    with db.write() as conn:
        visit = conn.execute("INSERT INTO visits (kind, method, name, day, checked_in_at, updated_at) "
                             "VALUES ('visitor', 'manual', '李四', '2026-11-27', ?, ?)", (AT, AT)).lastrowid
        call = conn.execute("INSERT INTO calls (number, kind, started_at, updated_at) "
                            "VALUES ('13800138000', 'normal', ?, ?)", (AT, AT)).lastrowid
        linked = add_case(conn, visit_id=visit, call_id=call)
        dangling = add_case(conn, visit_id=visit + 100, call_id=call + 100)  # a visit purged before 0011
        plain = add_case(conn)
        conn.execute("INSERT INTO case_history (case_id, at, action, to_status) VALUES (?, ?, 'create', 'open')",
                     (dangling, AT))
        conn.execute("INSERT INTO surveys (case_id, score, created_at) VALUES (?, 4, ?)", (linked, AT))
    before = db.query("SELECT * FROM cases ORDER BY id")
    indexes = schema_of(db, "cases")
    history = db.query("SELECT * FROM case_history")
    surveys = db.query("SELECT * FROM surveys")

    applied = apply_migrations(db.conn)  # 0011 and the later migrations that do not touch cases
    assert applied[0] == "0011_case_foreign_keys" and all(name > "0011" for name in applied)

    after = db.query("SELECT * FROM cases ORDER BY id")
    expected = [dict(row, visit_id=None, call_id=None) if row["id"] == dangling else row for row in before]
    assert after == expected
    assert [r["id"] for r in after] == [linked, dangling, plain]
    assert schema_of(db, "cases") == indexes and len(indexes) == 7
    assert db.query("SELECT * FROM case_history") == history and db.query("SELECT * FROM surveys") == surveys
    keys = {(r["from"], r["table"], r["to"], r["on_delete"]) for r in db.query("PRAGMA foreign_key_list(cases)")}
    assert keys == {("visit_id", "visits", "id", "SET NULL"), ("call_id", "calls", "id", "SET NULL")}
    assert db.scalar("PRAGMA foreign_keys") == 1  # enforcement is back on after the migrations
    assert db.query("PRAGMA foreign_key_check") == []
    assert db.scalar("PRAGMA integrity_check") == "ok"
    assert apply_migrations(db.conn) == []
    db.close()


def test_a_migration_that_leaves_a_broken_link_is_rolled_back(tmp_path, monkeypatch):
    db = Database(tmp_path / "k.db")
    apply_migrations(db.conn)
    broken = ("9999_broken_link", ["INSERT INTO cases (type, channel, status, description, visit_id, clock_start, "
                                   f"due_at, created_at, updated_at) VALUES ('other', 'app', 'open', 'x', 42, "
                                   f"'{AT}', '{AT}', '{AT}', '{AT}')", "PRAGMA foreign_key_check(cases)"])
    monkeypatch.setattr(migrations, "MIGRATIONS", [*migrations.MIGRATIONS, broken])
    with pytest.raises(sqlite3.IntegrityError, match="9999_broken_link"):
        apply_migrations(db.conn)
    assert db.scalar("SELECT COUNT(*) FROM cases") == 0
    assert db.scalar("SELECT COUNT(*) FROM schema_migrations WHERE name = '9999_broken_link'") == 0
    assert db.scalar("PRAGMA foreign_keys") == 1
    db.close()


def test_a_case_linked_to_a_visit_or_call_that_does_not_exist_is_refused(client, kiosk, tokens):
    auth = bearer(tokens["receptionist"])
    ticket = kiosk.queue.issue("A").ticket
    for links, code in (({"visit_id": 999}, "unknown_visit"), ({"call_id": 999}, "unknown_call"),
                        ({"visit_id": 999, "ticket_id": ticket["id"]}, "unknown_visit")):
        r = client.post("/api/v1/cases", headers=auth,
                        json={"type": "inquiry", "channel": "counter", "description": "问物业费", **links})
        assert 400 <= r.status_code < 500 and r.get_json()["error"]["code"] == code, (links, r.get_json())
    assert kiosk.db.scalar("SELECT COUNT(*) FROM cases") == 0
    assert kiosk.db.scalar("SELECT COUNT(*) FROM outbox WHERE kind = 'case'") == 0
    for column in ("visit_id", "call_id"):  # the schema refuses it too, whoever writes
        with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"), kiosk.db.write() as conn:
            add_case(conn, **{column: 999})


def test_purging_a_visit_leaves_its_case_with_no_visit(kiosk, clock):
    visit = kiosk.visits.checkin_visitor({"name": "王五", "phone": "13900000000", "unit": "2-1-301"})
    ticket = kiosk.queue.issue("A", visit_id=visit["id"]).ticket
    case = kiosk.cases.create(type="repair", description="水管漏水", channel="kiosk", visit_id=visit["id"])
    assert kiosk.cases.get(case["id"])["visit_id"] == visit["id"]
    clock.advance(days=370)
    assert kiosk.visits.purge()["visits"] == 1
    kept = kiosk.cases.get(case["id"], with_history=False)
    assert kept["visit_id"] is None
    assert {k: v for k, v in kept.items() if k not in ("visit_id", "sla")} == \
        {k: v for k, v in case.items() if k not in ("visit_id", "sla")}
    # a case recorded later for the ticket of that visit links the ticket and no visit
    later = kiosk.cases.create(type="inquiry", description="还有问题", channel="counter", ticket_id=ticket["id"])
    assert (later["ticket_id"], later["visit_id"]) == (ticket["id"], None)
