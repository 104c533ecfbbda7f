"""The queue counts kept by triggers (migration 0009) against a count of the tickets
themselves, and "people ahead" against the call order worked out in Python."""

import random

import pytest

from kiosk.errors import Conflict
from kiosk.queue.rules import Action
from kiosk.store import migrations
from kiosk.store import tickets as store
from kiosk.store.db import Database
from kiosk.store.migrations import apply_migrations

QUEUED = ("waiting", "transferred")


def counts_from_triggers(db) -> dict:
    return {(r["day"], r["service"], r["priority"], r["transferred"]): r["n"]
            for r in db.query("SELECT * FROM queue_counts WHERE n != 0")}


def counts_from_tickets(db) -> dict:
    return {(r["day"], r["service"], r["priority"], r["transferred"]): r["n"]
            for r in db.query("SELECT day, service, priority, transferred, COUNT(*) AS n FROM tickets "
                              "WHERE status IN ('waiting', 'transferred') GROUP BY 1, 2, 3, 4")}


def ahead_by_call_order(tickets: list[dict], ticket: dict) -> int:
    line = sorted((t for t in tickets if t["day"] == ticket["day"] and t["service"] == ticket["service"]
                   and t["status"] in QUEUED),
                  key=lambda t: (-t["priority"], -t["transferred"], t["issued_at"], t["id"]))
    return [t["id"] for t in line].index(ticket["id"])


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_counts_and_people_ahead_stay_true_through_every_kind_of_change(kiosk, clock, seed):
    rnd = random.Random(seed)
    q, db = kiosk.queue, kiosk.db
    letters = ["A", "B", "C"]
    for step in range(160):
        roll = rnd.random()
        ids = [r["id"] for r in db.query("SELECT id FROM tickets")]
        try:
            if roll < 0.45 or not ids:
                issued = q.issue(rnd.choice(letters), priority=rnd.random() < 0.2).ticket
                assert issued["people_ahead"] == ahead_by_call_order(db.query("SELECT * FROM tickets"), issued)
            elif roll < 0.6:
                q.call_next(rnd.choice(["1", "2"]))
            elif roll < 0.9:
                action = rnd.choice([Action.NO_SHOW, Action.REINSTATE, Action.TRANSFER, Action.CANCEL,
                                     Action.FINISH, Action.RECALL])
                q.act(rnd.choice(ids), action, target_service=rnd.choice(letters))
            elif roll < 0.93 and len(ids) > 1:
                with db.write() as conn:  # by hand, as an operator with the sqlite3 shell might
                    for table, key in (("ticket_events", "ticket_id"), ("print_jobs", "ticket_id"), ("tickets", "id")):
                        conn.execute(f"DELETE FROM {table} WHERE {key} = ?", (ids[0],))
            elif roll < 0.96:
                clock.advance(seconds=-rnd.randint(1, 30))  # the clock is set back (NTP)
            else:
                clock.advance(hours=rnd.choice([1, 8]))  # sometimes into the next day
        except Conflict:
            pass
        clock.advance(seconds=rnd.choice([0, 0, 1, 5]))  # equal issue times happen too
        assert counts_from_triggers(db) == counts_from_tickets(db), f"step {step}"
        tickets = db.query("SELECT * FROM tickets")
        for t in tickets:
            if t["status"] in QUEUED:
                assert store.people_ahead(db.conn, t) == ahead_by_call_order(tickets, t), f"step {step}"


def test_migration_counts_the_tickets_already_waiting(tmp_path, monkeypatch):
    db = Database(tmp_path / "k.db")
    monkeypatch.setattr(migrations, "MIGRATIONS", [m for m in migrations.MIGRATIONS if m[0] < "0009"])
    apply_migrations(db.conn)
    monkeypatch.undo()
    with db.write() as conn:
        for i, (service, status, priority) in enumerate(
                [("A", "waiting", 0), ("A", "waiting", 1), ("A", "done", 0), ("B", "transferred", 0)]):
            conn.execute("INSERT INTO tickets (number, service, origin_service, day, seq, status, priority, "
                         "transferred, issued_at, updated_at) VALUES (?, ?, ?, '2026-11-27', ?, ?, ?, ?, "
                         "'2026-11-27T01:00:00.000+00:00', '2026-11-27T01:00:00.000+00:00')",
                         (f"{service}{i}", service, service, i, status, priority, int(status == "transferred")))
    assert "0009_queue_counts" in apply_migrations(db.conn)
    assert counts_from_triggers(db) == counts_from_tickets(db) == {
        ("2026-11-27", "A", 0, 0): 1, ("2026-11-27", "A", 1, 0): 1, ("2026-11-27", "B", 0, 1): 1}
    db.close()
