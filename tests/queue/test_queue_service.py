"""The queue service on a real SQLite file: numbering, ordering, transitions, outbox."""

import json
from datetime import datetime, timedelta

import pytest

from kiosk.errors import Conflict, Invalid, NotFound
from kiosk.queue.rules import Action
from tests.conftest import TZ


def outbox(kiosk):
    return kiosk.db.query("SELECT * FROM outbox ORDER BY id")


def test_numbers_count_per_service_and_reset_at_local_midnight(kiosk, clock):
    q = kiosk.queue
    assert [q.issue("A").ticket["number"] for _ in range(3)] == ["A001", "A002", "A003"]
    assert q.issue("B").ticket["number"] == "B001"
    clock.set(datetime(2026, 11, 27, 23, 59, 59, tzinfo=TZ))
    assert q.issue("A").ticket["number"] == "A004"
    clock.set(datetime(2026, 11, 28, 0, 0, 0, tzinfo=TZ))
    fresh = q.issue("A").ticket
    assert fresh["number"] == "A001"
    assert fresh["day"] == "2026-11-28"
    assert fresh["people_ahead"] == 0, "yesterday's waiting tickets are not ahead of today's"


def test_local_midnight_not_utc_midnight(kiosk, clock):
    clock.set(datetime(2026, 11, 27, 7, 59, tzinfo=TZ))
    kiosk.queue.issue("A")
    clock.set(datetime(2026, 11, 27, 8, 1, tzinfo=TZ))  # 00:01 UTC: same local day
    assert kiosk.queue.issue("A").ticket["number"] == "A002"


def test_call_order_priority_transferred_then_issue_time(kiosk, clock):
    q = kiosk.queue
    first = q.issue("A").ticket
    clock.advance(seconds=10)
    second = q.issue("B").ticket
    clock.advance(seconds=10)
    prio = q.issue("A", priority=True).ticket
    clock.advance(seconds=10)
    moved = q.issue("C").ticket
    q.call(moved["id"], "1")
    q.act(moved["id"], Action.TRANSFER, target_service="A")
    called = [q.call_next("2")["number"] for _ in range(4)]
    assert called == [prio["number"], moved["number"], first["number"], second["number"]]
    assert q.call_next("2") is None


def test_queue_order_is_priority_then_transferred_then_issue_time_then_id(kiosk, clock):
    """The order lives in SQL (kiosk/store/tickets.py): the listing and call-next both follow
    it. Ids and issue times disagree here (the clock was set back), and two tickets share an
    issue time, so every part of the ORDER BY decides some pair."""
    q = kiosk.queue
    start = clock.now()

    def issue(name: str, seconds: int, service: str = "A", priority: bool = False) -> tuple[str, int]:
        clock.set(start + timedelta(seconds=seconds))
        return name, q.issue(service, priority=priority).ticket["id"]

    def transfer(ticket: tuple[str, int]) -> tuple[str, int]:
        q.call(ticket[1], "1")
        q.act(ticket[1], Action.TRANSFER, target_service="A")
        return ticket

    made = [issue("plain-20", 20), issue("priority-40", 40, priority=True), transfer(issue("moved-30", 30, "C")),
            issue("plain-0", 0), issue("priority-2", 2, priority=True), transfer(issue("moved-3", 3, "B")),
            issue("plain-20-later-id", 20)]
    ids = dict(made)
    assert [i for _, i in made] == sorted(ids.values())  # ids in the order made, not by issue time
    expected = ["priority-2", "priority-40", "moved-3", "moved-30", "plain-0", "plain-20", "plain-20-later-id"]
    names = {i: name for name, i in made}
    assert [names[t["id"]] for t in q.queued(["A"])] == expected
    assert [names[q.call_next("2")["id"]] for _ in expected] == expected
    assert q.call_next("2") is None


def test_issue_reports_position_and_estimate(kiosk, clock):
    q = kiosk.queue
    for _ in range(3):
        q.issue("A")
    t = q.issue("A").ticket
    assert t["people_ahead"] == 3 and t["position"] == 4
    assert t["estimated_wait_s"] == 3 * kiosk.config.queue.default_service_s
    # recent service times shorten the estimate
    for _ in range(3):
        q.call_next("1")
        clock.advance(seconds=60)
    q.call_next("1")  # finishes the third
    assert q.get(t["id"])["estimated_wait_s"] == 0  # t itself is called now
    later = q.issue("A").ticket
    assert later["people_ahead"] == 0


def test_estimate_uses_recent_durations_and_active_counters(kiosk, clock):
    q = kiosk.queue
    for _ in range(2):
        q.issue("A")
    q.call_next("1")
    clock.advance(seconds=120)
    q.call_next("2")
    clock.advance(seconds=120)
    q.call_next("1")  # finishes the first after 240 s
    q.call_next("2")  # finishes the second after 120 s... median of [240,120] = 180
    for _ in range(4):
        q.issue("A")
    t = q.issue("A").ticket
    assert t["people_ahead"] == 4
    assert t["estimated_wait_s"] == 4 * 180 / 2  # two active counters


def test_estimate_sees_a_counter_that_just_started_calling(kiosk, clock):
    """The estimate's inputs are cached briefly, but a call in this process refreshes them."""
    q = kiosk.queue
    q.issue("A")
    q.issue("A")
    q.call_next("1")
    first = q.issue("A").ticket  # one ahead, one active counter
    q.call_next("2")  # same instant: a second counter is now serving
    second = q.issue("A").ticket  # one ahead, two active counters
    assert first["people_ahead"] == second["people_ahead"] == 1
    assert second["estimated_wait_s"] < first["estimated_wait_s"]


def test_transitions_and_refusals_through_the_service(kiosk, clock):
    q = kiosk.queue
    t = q.issue("A").ticket
    with pytest.raises(Conflict, match="cannot finish a ticket that is waiting"):
        q.act(t["id"], Action.FINISH)
    with pytest.raises(Conflict):
        q.act(t["id"], Action.RECALL)
    q.call_next("1")
    assert q.act(t["id"], Action.RECALL)["recalls"] == 1
    assert q.act(t["id"], Action.START)["status"] == "serving"
    with pytest.raises(Conflict):
        q.act(t["id"], Action.NO_SHOW)
    assert q.act(t["id"], Action.FINISH)["status"] == "done"
    with pytest.raises(Conflict):
        q.act(t["id"], Action.CANCEL)
    with pytest.raises(NotFound):
        q.act(9999, Action.FINISH)
    with pytest.raises(Invalid):
        q.issue("Z")
    with pytest.raises(Invalid):
        q.call_next("9")


def test_no_show_reinstated_within_15_minutes_only(kiosk, clock):
    q = kiosk.queue
    a, b = q.issue("A").ticket, q.issue("A").ticket
    q.call_next("1")
    q.act(a["id"], Action.NO_SHOW)
    clock.advance(minutes=14)
    assert q.act(a["id"], Action.REINSTATE)["status"] == "waiting"
    assert q.call_next("1")["number"] == a["number"], "reinstated keeps its place"
    q.act(a["id"], Action.NO_SHOW)
    clock.advance(minutes=16)
    with pytest.raises(Conflict) as err:
        q.act(a["id"], Action.REINSTATE)
    assert err.value.code == "reinstate_expired"
    assert q.call_next("1")["number"] == b["number"]


def test_counter_serving_some_services_only(kiosk, config):
    config.counters[1].services = ["B"]
    q = kiosk.queue
    a = q.issue("A").ticket
    assert q.call_next("2") is None
    with pytest.raises(Conflict) as err:
        q.call(a["id"], "2")
    assert err.value.code == "wrong_counter"
    assert q.get(a["id"])["status"] == "waiting"


def test_call_next_finishes_the_counters_current_ticket(kiosk):
    q = kiosk.queue
    a, b = q.issue("A").ticket, q.issue("A").ticket
    q.call_next("1")
    q.call_next("1")
    assert q.get(a["id"])["status"] == "done"
    assert q.get(b["id"])["status"] == "called"


def test_every_change_writes_one_outbox_row_with_the_new_version(kiosk, config):
    q = kiosk.queue
    t = q.issue("A").ticket
    q.call_next("1")
    q.act(t["id"], Action.START)
    q.act(t["id"], Action.FINISH)
    rows = outbox(kiosk)
    assert [r["key"] for r in rows] == [f"{config.site.id}:ticket:{t['id']}:{v}" for v in (1, 2, 3, 4)]
    assert [json.loads(r["data"])["status"] for r in rows] == ["waiting", "called", "serving", "done"]
    assert all(r["kind"] == "ticket" and r["op"] == "upsert" for r in rows)
    assert json.loads(rows[0]["data"])["issued_at"].endswith("+08:00")


def test_refused_change_writes_nothing(kiosk):
    q = kiosk.queue
    t = q.issue("A").ticket
    before = (outbox(kiosk), kiosk.db.query("SELECT * FROM tickets"), kiosk.db.query("SELECT * FROM ticket_events"))
    with pytest.raises(Conflict):
        q.act(t["id"], Action.FINISH)
    with pytest.raises(Conflict):
        q.act(t["id"], Action.TRANSFER, target_service="Q")
    after = (outbox(kiosk), kiosk.db.query("SELECT * FROM tickets"), kiosk.db.query("SELECT * FROM ticket_events"))
    assert before == after


def test_issue_is_atomic_with_its_outbox_row(kiosk):
    """If the transaction fails after the ticket insert, neither ticket nor outbox row remains."""
    kiosk.db.conn.execute("CREATE TRIGGER boom BEFORE INSERT ON print_jobs BEGIN SELECT RAISE(ABORT, 'boom'); END")
    with pytest.raises(Exception, match="boom"):
        kiosk.queue.issue("A")
    assert kiosk.db.scalar("SELECT COUNT(*) FROM tickets") == 0
    assert kiosk.db.scalar("SELECT COUNT(*) FROM outbox") == 0
    assert kiosk.db.scalar("SELECT last FROM ticket_numbers") is None


def test_history_records_who_did_what(kiosk):
    q = kiosk.queue
    t = q.issue("A").ticket
    q.call_next("2", actor="reception1")
    q.act(t["id"], Action.TRANSFER, actor="reception1", target_service="C")
    events = kiosk.db.query("SELECT action, from_status, to_status, counter, actor, detail FROM ticket_events")
    assert events == [
        {"action": "issue", "from_status": None, "to_status": "waiting", "counter": None, "actor": None,
         "detail": None},
        {"action": "call", "from_status": "waiting", "to_status": "called", "counter": "2", "actor": "reception1",
         "detail": None},
        {"action": "transfer", "from_status": "called", "to_status": "transferred", "counter": "2",
         "actor": "reception1", "detail": "A->C"},
    ]
    assert q.get(t["id"])["service"] == "C" and q.get(t["id"])["number"] == "A001"


def test_reinstatable_no_shows_per_counter(kiosk, clock, client, tokens):
    from tests.conftest import bearer

    q = kiosk.queue
    t = q.issue("A").ticket
    q.call_next("1")
    q.act(t["id"], Action.NO_SHOW)
    shown = client.get("/api/v1/counters/1", headers=bearer(tokens["receptionist"])).get_json()["no_shows"]
    assert [s["number"] for s in shown] == [t["number"]]
    assert shown[0]["reinstate_until"] == "2026-11-27T09:45:00+08:00"
    assert q.reinstatable("2") == []
    clock.advance(minutes=15, seconds=1)
    assert q.reinstatable("1") == []
