"""Cases through the real API and service: creation with deadlines, validation, transitions
with history and outbox rows, role rules, and the deadline watch raising each alert once."""

from __future__ import annotations

import json

from kiosk.events import CASE_DUE_SOON, CASE_ESCALATED, CASE_OVERDUE
from tests.conftest import bearer


def post(client, path, token=None, body=None):
    return client.post(path, json=body or {}, headers=bearer(token) if token else {})


def new_case(client, tokens, role="receptionist", **body):
    body.setdefault("type", "complaint")
    body.setdefault("description", "楼上噪音 noise upstairs")
    resp = post(client, "/api/v1/cases", tokens[role], body)
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def outbox_rows(kiosk, kind="case"):
    return [json.loads(r["data"]) | {"key": r["key"]} for r in kiosk.db.query(
        "SELECT key, data FROM outbox WHERE kind = ? ORDER BY id", (kind,))]


def test_create_sets_deadline_per_type_and_writes_history_and_outbox(client, tokens, kiosk, clock):
    complaint = new_case(client, tokens)
    assert complaint["status"] == "open" and complaint["channel"] == "counter"
    assert complaint["due_at"] == "2026-11-28T09:30:00+08:00"  # 24 h
    repair = new_case(client, tokens, type="repair", channel="phone")
    assert repair["due_at"] == "2026-11-29T09:30:00+08:00"  # 48 h
    rows = outbox_rows(kiosk)
    assert [r["key"] for r in rows] == [f"demo-site:case:{complaint['id']}:1", f"demo-site:case:{repair['id']}:1"]
    assert rows[0]["type"] == "complaint" and rows[0]["due_at"] == complaint["due_at"]
    got = client.get(f"/api/v1/cases/{complaint['id']}", headers=bearer(tokens["specialist"])).get_json()
    assert [h["action"] for h in got["history"]] == ["create"]


def test_inquiry_clock_starts_at_the_tickets_issue(client, tokens, kiosk, clock):
    ticket = kiosk.queue.issue("A").ticket
    clock.advance(minutes=3)
    case = new_case(client, tokens, type="inquiry", ticket_id=ticket["id"], description="停车费多少？")
    assert case["clock_start"] == "2026-11-27T09:30:00+08:00"
    assert case["due_at"] == "2026-11-27T09:35:00+08:00"
    assert case["sla"] == "ok"
    clock.advance(minutes=1, seconds=30)
    assert client.get(f"/api/v1/cases/{case['id']}", headers=bearer(tokens["receptionist"])).get_json()["sla"] == \
        "due_soon"


def test_bad_input_is_refused_and_changes_nothing(client, tokens, kiosk):
    r = tokens["receptionist"]
    cases = [
        ({"type": "gossip", "description": "x"}, 400, "unknown_type"),
        ({"type": "complaint", "description": "x", "channel": "fax"}, 400, "unknown_channel"),
        ({"type": "complaint", "description": "   "}, 400, "missing_field"),
        ({"type": "complaint", "description": "x" * 5000}, 400, "too_long"),
        ({"type": "complaint", "description": "x", "ticket_id": 999}, 400, "unknown_ticket"),
        ({"type": "complaint", "description": "x", "call_id": 999}, 400, "unknown_call"),
        ({"type": "complaint", "description": "x", "resident_id": "nobody"}, 400, "unknown_resident"),
        ({"type": "complaint", "description": "x", "evil": 1}, 400, "unknown_field"),
        ({"type": "complaint", "description": "x", "ticket_id": "1"}, 400, "invalid_field"),
    ]
    for body, status, code in cases:
        resp = post(client, "/api/v1/cases", r, body)
        assert resp.status_code == status, (body, resp.get_json())
        assert resp.get_json()["error"]["code"] == code
    assert kiosk.db.scalar("SELECT COUNT(*) FROM cases") == 0
    assert kiosk.db.scalar("SELECT COUNT(*) FROM outbox WHERE kind = 'case'") == 0


def test_script_in_description_is_stored_as_text(client, tokens):
    case = new_case(client, tokens, description="<script>alert(1)</script>")
    assert case["description"] == "<script>alert(1)</script>"


def test_kiosk_may_file_complaints_and_repairs_only(client, kiosk):
    resp = client.post("/api/v1/cases", json={"type": "repair", "description": "水龙头漏水", "unit": "3-2-501"})
    assert resp.status_code == 201
    body = resp.get_json()
    assert body["channel"] == "kiosk" and body["print"]["status"] in ("printed", "queued")
    job = kiosk.db.query_one("SELECT kind, payload FROM print_jobs WHERE kind = 'case_slip'")
    assert json.loads(job["payload"])["case_id"] == body["id"]
    assert client.post("/api/v1/cases", json={"type": "inquiry", "description": "x"}).status_code == 400
    assert client.post("/api/v1/cases", json={"type": "repair", "description": "x", "channel": "phone"}
                       ).status_code == 401
    assert client.post("/api/v1/cases", json={"type": "repair", "description": "x", "resident_id": "r1"}
                       ).status_code == 400
    assert client.get("/api/v1/cases").status_code == 401
    assert kiosk.db.scalar("SELECT COUNT(*) FROM cases") == 1


def test_transitions_history_and_only_specialist_closes_complaints(client, tokens, kiosk, clock):
    case = new_case(client, tokens)
    cid = case["id"]
    rec, spec = tokens["receptionist"], tokens["specialist"]
    assert post(client, f"/api/v1/cases/{cid}/assign", rec, {"team": "specialist", "assignee": "specialist1"}
                ).get_json()["status"] == "in_progress"
    resp = post(client, f"/api/v1/cases/{cid}/close", spec)
    assert resp.status_code == 409 and resp.get_json()["error"]["code"] == "feedback_required"
    resp = post(client, f"/api/v1/cases/{cid}/feedback", rec, {"text": "已处理", "method": "phone"})
    assert resp.status_code == 403
    clock.advance(hours=2)
    fb = post(client, f"/api/v1/cases/{cid}/feedback", spec, {"text": "已联系楼上住户，噪音已停止", "method": "phone"})
    assert fb.status_code == 200 and fb.get_json()["status"] == "feedback_given"
    assert fb.get_json()["sla"] == "met"
    resp = post(client, f"/api/v1/cases/{cid}/close", rec)
    assert resp.status_code == 403 and resp.get_json()["error"]["code"] == "forbidden"
    closed = post(client, f"/api/v1/cases/{cid}/close", spec).get_json()
    assert closed["status"] == "closed" and closed["closed_by"] == "token:test-specialist"
    assert post(client, f"/api/v1/cases/{cid}/assign", spec).status_code == 409
    assert post(client, f"/api/v1/cases/{cid}/fly", spec).status_code == 404
    got = client.get(f"/api/v1/cases/{cid}", headers=bearer(spec)).get_json()
    assert [(h["action"], h["to_status"]) for h in got["history"]] == [
        ("create", "open"), ("assign", "in_progress"), ("feedback", "feedback_given"), ("close", "closed")]
    assert [r["version"] for r in outbox_rows(kiosk)] == [1, 2, 3, 4]
    # a repair the receptionist may close once feedback is recorded
    repair = new_case(client, tokens, type="repair")
    post(client, f"/api/v1/cases/{repair['id']}/feedback", rec, {"text": "师傅已修好"})
    assert post(client, f"/api/v1/cases/{repair['id']}/close", rec).status_code == 200


def test_inquiry_answered_and_closed_at_the_counter(client, tokens):
    case = new_case(client, tokens, type="inquiry", description="物业费怎么交？")
    closed = post(client, f"/api/v1/cases/{case['id']}/close", tokens["receptionist"],
                  {"text": "前台或APP缴纳"}).get_json()
    assert closed["status"] == "closed" and closed["first_answer"] == "前台或APP缴纳" and closed["sla"] == "met"


def test_list_filters(client, tokens, clock):
    a = new_case(client, tokens, type="inquiry", description="q")
    new_case(client, tokens, type="repair")
    h = bearer(tokens["specialist"])
    assert [c["type"] for c in client.get("/api/v1/cases?type=repair", headers=h).get_json()["cases"]] == ["repair"]
    assert client.get("/api/v1/cases?overdue=true", headers=h).get_json()["cases"] == []
    clock.advance(minutes=6)
    assert [c["id"] for c in client.get("/api/v1/cases?overdue=1", headers=h).get_json()["cases"]] == [a["id"]]
    assert client.get("/api/v1/cases?status=weird", headers=h).status_code == 400
    assert client.get("/api/v1/cases", headers=bearer(tokens["security"])).status_code == 403


def test_overdue_raised_exactly_once_and_escalated(client, tokens, kiosk, clock, recorded_events):
    case = new_case(client, tokens)

    def seen():
        return [(e.name, e.data.get("id")) for e in recorded_events.named(CASE_DUE_SOON, CASE_OVERDUE, CASE_ESCALATED)]

    assert kiosk.cases.watch_once() == []
    clock.advance(hours=22, minutes=1)  # within the last 2 h
    kiosk.cases.watch_once()
    kiosk.cases.watch_once()
    assert seen() == [(CASE_DUE_SOON, case["id"])]
    clock.advance(hours=2)
    for _ in range(3):
        kiosk.cases.watch_once()
    assert seen() == [(CASE_DUE_SOON, case["id"]), (CASE_OVERDUE, case["id"]), (CASE_ESCALATED, case["id"])]
    got = client.get(f"/api/v1/cases/{case['id']}", headers=bearer(tokens["manager"])).get_json()
    assert got["sla"] == "overdue" and got["escalated"]
    assert [h["action"] for h in got["history"]] == ["create", "due_soon", "overdue"]
    board = client.get("/api/v1/cases/board", headers=bearer(tokens["specialist"])).get_json()
    assert [c["id"] for c in board["overdue"]] == [case["id"]]


def test_feedback_in_time_stops_the_24h_clock(client, tokens, kiosk, clock, recorded_events):
    case = new_case(client, tokens)
    clock.advance(hours=20)
    post(client, f"/api/v1/cases/{case['id']}/feedback", tokens["specialist"], {"text": "已处理并电话回复"})
    clock.advance(hours=10)
    kiosk.cases.watch_once()
    assert recorded_events.names(CASE_DUE_SOON, CASE_OVERDUE) == []
    got = client.get(f"/api/v1/cases/{case['id']}", headers=bearer(tokens["specialist"])).get_json()
    assert got["sla"] == "met" and got["status"] == "feedback_given"


def test_waiting_inquiry_tickets_alert_once(kiosk, clock, client, tokens, recorded_events):
    ticket = kiosk.queue.issue("A").ticket
    kiosk.queue.issue("B")  # not the inquiry service
    clock.advance(minutes=4, seconds=10)
    kiosk.cases.watch_once()
    alerts = client.get("/api/v1/cases/alerts", headers=bearer(tokens["receptionist"])).get_json()
    assert [t["number"] for t in alerts["tickets"]] == [ticket["number"]]
    clock.advance(minutes=2)
    kiosk.cases.watch_once()
    kiosk.cases.watch_once()
    assert [(e.name, e.data.get("number")) for e in recorded_events.named(CASE_DUE_SOON, CASE_OVERDUE)] == \
        [(CASE_DUE_SOON, "A001"), (CASE_OVERDUE, "A001")]
    # once called, the ticket leaves the watch
    kiosk.queue.call_next("1")
    assert client.get("/api/v1/cases/alerts", headers=bearer(tokens["receptionist"])).get_json()["tickets"] == []


def test_watcher_thread_stops_promptly(kiosk):
    kiosk.cases.stop(timeout=10)
    assert kiosk.cases._thread is None
    kiosk.cases.start()
    assert kiosk.cases._thread.is_alive()


def test_case_with_call_links_the_call(client, tokens, kiosk):
    from kiosk.store import calls as calls_store

    with kiosk.db.write() as conn:
        call = calls_store.insert(conn, number="13800000000", number_norm="13800000000", name="", kind="normal",
                                  resident_id=None, modem_stamp=None, at="2026-11-27T09:29:00+08:00",
                                  site_id="demo-site")
    case = new_case(client, tokens, type="repair", channel="phone", call_id=call["id"])
    assert kiosk.db.scalar("SELECT case_id FROM calls WHERE id = ?", (call["id"],)) == case["id"]
    assert outbox_rows(kiosk, "call")[-1]["case_id"] == case["id"]


def test_logged_in_browser_needs_the_csrf_token(client, staff, kiosk):
    import re

    from tests.conftest import PASSWORD

    token = re.search(r'name="csrf-token" content="([^"]+)"', client.get("/login").get_data(as_text=True)).group(1)
    client.post("/login", data={"username": staff["receptionist"], "password": PASSWORD, "csrf_token": token})
    body = {"type": "complaint", "description": "x", "channel": "counter"}
    r = client.post("/api/v1/cases", json=body)
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "csrf"
    page = client.get("/desk").get_data(as_text=True)
    token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
    r = client.post("/api/v1/cases", json=body, headers={"X-CSRFToken": token})
    assert r.status_code == 201 and r.get_json()["created_by"] == staff["receptionist"]


def test_the_watcher_thread_raises_overdue_by_itself(kiosk, clock):
    """The background loop (stop event + wait timeout) runs the same decision; no sleeping in the test:
    it waits on the bus for the event, with a generous bound for a loaded machine."""
    kiosk.cases.stop()
    kiosk.config.cases.watch_interval_s = 0.05
    case = kiosk.cases.create(type="inquiry", description="几点下班？", channel="phone")
    with kiosk.bus.subscribe() as sub:
        clock.advance(minutes=6)
        kiosk.cases.start()
        seen = []
        while True:
            event = sub.get(timeout=30)
            assert event is not None, f"no case.overdue from the watcher; saw {seen}"
            seen.append(event.name)
            if event.name == CASE_OVERDUE:
                break
    assert event.data["id"] == case["id"]
    kiosk.cases.stop()
    assert kiosk.cases._thread is None


def test_kiosk_case_linked_to_a_check_in_visit(client, kiosk, tokens):
    h = bearer(tokens["receptionist"])
    assert client.post("/api/v1/cases", json={"type": "repair", "description": "x", "visit_id": 999}, headers=h
                       ).get_json()["error"]["code"] == "unknown_visit"
    with kiosk.db.write() as conn:
        conn.execute("INSERT INTO residents (id, name, unit, phone, phone_norm, updated_at) VALUES "
                     "('r9', '李四', '1-1-101', '139', '139', '2026-01-01')")
    cols = {r["name"]: r for r in kiosk.db.query("PRAGMA table_info(visits)")}
    values = {"kind": "resident", "method": "qr", "resident_id": "r9", "checked_in_at": "2026-11-27T01:00:00.000+00:00",
              "updated_at": "2026-11-27T01:00:00.000+00:00"}
    for name, col in cols.items():  # fill whatever else the visits table requires
        if col["notnull"] and col["dflt_value"] is None and name not in values and not col["pk"]:
            values[name] = 1 if "INT" in (col["type"] or "").upper() else ""
    with kiosk.db.write() as conn:
        visit_id = conn.execute(f"INSERT INTO visits ({', '.join(values)}) VALUES ({', '.join('?' for _ in values)})",
                                tuple(values.values())).lastrowid
    r = client.post("/api/v1/cases", json={"type": "repair", "description": "门锁坏了", "visit_id": visit_id,
                                           "channel": "kiosk"}, headers=h)
    assert r.status_code == 201
    case = r.get_json()
    assert case["visit_id"] == visit_id and case["resident_id"] == "r9" and case["unit"] == "1-1-101"


def test_case_pages_show_the_case_number_and_the_type_in_the_pages_language(client, staff, kiosk):
    import re

    from tests.conftest import PASSWORD

    for _ in range(11):
        kiosk.cases.create(type="other", description="x", channel="counter")
    case = kiosk.cases.create(type="repair", description="电梯异响", channel="counter")
    token = re.search(r'name="csrf-token" content="([^"]+)"', client.get("/login").get_data(as_text=True)).group(1)
    client.post("/login", data={"username": staff["specialist"], "password": PASSWORD, "csrf_token": token})
    page = client.get(f"/cases/{case['id']}").get_data(as_text=True)
    assert "<title>工单 C00012 ·" in page and "报修" in page
    english = client.get(f"/cases/{case['id']}?lang=en").get_data(as_text=True)
    assert "<title>Case C00012 ·" in english and "Repair" in english and "报修" not in english

