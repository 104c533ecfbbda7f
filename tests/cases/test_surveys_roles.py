"""Surveys (one per ticket, only after it was served), the questionnaire, the role rules
of reports / spot checks / improvement actions, and the resident profile."""

from __future__ import annotations

import json

from kiosk.queue.rules import Action
from tests.conftest import bearer


def served_ticket(kiosk, service="A"):
    t = kiosk.queue.issue(service).ticket
    kiosk.queue.call(t["id"], "1", "reception1")
    kiosk.queue.act(t["id"], Action.FINISH, actor="reception1")
    return t


def test_one_survey_per_ticket_and_only_after_service(client, kiosk, clock, tokens):
    waiting = kiosk.queue.issue("B").ticket
    r = client.post("/api/v1/surveys", json={"ticket_id": waiting["id"], "score": 5},
                    headers=bearer(tokens["receptionist"]))
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "not_finished"
    t = served_ticket(kiosk)
    assert client.get("/api/v1/surveys/pending?counter=1").get_json()["pending"][0]["number"] == t["number"]
    r = client.post("/api/v1/surveys", json={"ticket_id": t["id"], "counter": "1", "score": 4, "comment": "很好",
                                             "channel": "tablet"})
    assert r.status_code == 201 and r.get_json()["score"] == 4
    r = client.post("/api/v1/surveys", json={"ticket_id": t["id"], "score": 1}, headers=bearer(tokens["manager"]))
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "already_answered"
    assert client.get("/api/v1/surveys/pending?counter=1").get_json()["pending"] == []
    t2 = served_ticket(kiosk)
    for bad in ({"ticket_id": t2["id"], "counter": "1", "score": 6},
                {"ticket_id": t2["id"], "counter": "1", "score": True},
                {"ticket_id": t2["id"], "counter": "1", "case_id": 1, "score": 3}, {"score": 3},
                {"ticket_id": 999, "counter": "1", "score": 3},
                {"ticket_id": t2["id"], "counter": "1", "score": 3, "comment": "x" * 600},
                {"ticket_id": t2["id"], "counter": "1", "score": "5"}):
        assert 400 <= client.post("/api/v1/surveys", json=bad).status_code < 500, bad
    assert kiosk.db.scalar("SELECT COUNT(*) FROM surveys") == 1
    rows = kiosk.db.query("SELECT key, data FROM outbox WHERE kind = 'survey'")
    assert len(rows) == 1 and json.loads(rows[0]["data"])["ticket_id"] == t["id"]


def test_rating_window_closes(client, kiosk, clock, tokens):
    t = served_ticket(kiosk)
    clock.advance(hours=13)
    r = client.post("/api/v1/surveys", json={"ticket_id": t["id"], "score": 4}, headers=bearer(tokens["manager"]))
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "survey_closed"


def test_case_survey_once(client, kiosk, tokens):
    case = kiosk.cases.create(type="repair", description="灯坏了", channel="counter")
    h = bearer(tokens["specialist"])
    assert client.post("/api/v1/surveys", json={"case_id": case["id"], "score": 5}, headers=h).status_code == 201
    assert client.post("/api/v1/surveys", json={"case_id": case["id"], "score": 2}, headers=h).status_code == 409


def test_questionnaire(client, kiosk):
    q = client.get("/api/v1/questionnaire").get_json()
    assert len(q["questions"]) == 3 and q["questions"][0]["zh"]
    assert client.post("/api/v1/questionnaire", json={"answers": [5, 4]}).status_code == 400
    assert client.post("/api/v1/questionnaire", json={"answers": [5, 4, 9]}).status_code == 400
    r = client.post("/api/v1/questionnaire", json={"answers": [5, 4, 3], "comment": "电梯慢"})
    assert r.status_code == 201
    data = json.loads(kiosk.db.scalar("SELECT data FROM outbox WHERE kind = 'survey'"))
    assert data["form"] == "questionnaire" and data["answers"] == [5, 4, 3]


def test_only_the_manager_sees_reports_and_spot_checks(client, tokens, kiosk):
    for role in ("receptionist", "specialist", "security"):
        h = bearer(tokens[role])
        assert client.get("/api/v1/reports/monthly/2026-11", headers=h).status_code == 403
        assert client.post("/api/v1/spot-checks", headers=h, json={"from": "2026-11-01", "to": "2026-11-30",
                                                                    "size": 3}).status_code == 403
        assert client.post("/api/v1/improvement-actions", headers=h, json={}).status_code == 403
    assert client.get("/api/v1/reports/monthly/2026-11").status_code == 401
    h = bearer(tokens["manager"])
    assert client.get("/api/v1/reports/monthly/2026-11", headers=h).status_code == 200
    assert client.get("/api/v1/reports/monthly/2026-13", headers=h).status_code == 400
    assert client.get("/api/v1/reports/daily/2026-11-27", headers=h).get_json()["kpis"]["tickets"]["value"] == 0
    served_ticket(kiosk)
    r = client.post("/api/v1/spot-checks", headers=h, json={"from": "2026-11-27", "to": "2026-11-27", "size": 5,
                                                            "seed": 1})
    assert r.status_code == 201 and len(r.get_json()["items"]) == 1
    item = r.get_json()["items"][0]
    assert client.post(f"/api/v1/spot-check-items/{item['id']}", headers=h, json={"verdict": "meh"}).status_code == 400
    j = client.post(f"/api/v1/spot-check-items/{item['id']}", headers=h, json={"verdict": "good", "remark": "礼貌"})
    assert j.status_code == 200 and j.get_json()["verdict"] == "good"
    assert client.post("/api/v1/spot-checks", headers=h, json={"from": "2026-11-30", "to": "2026-11-01",
                                                               "size": 5}).status_code == 400
    a = client.post("/api/v1/improvement-actions", headers=h, json={
        "month": "2026-11", "finding": "等候久", "action": "高峰加开窗口", "owner": "张敏", "due_date": "2026-12-15"})
    assert a.status_code == 201
    u = client.post(f"/api/v1/improvement-actions/{a.get_json()['id']}", headers=h,
                    json={"status": "in_progress", "progress": "已排班"})
    assert u.get_json()["status"] == "in_progress"


def test_report_pages_need_the_manager(client, staff, kiosk):
    import re

    from tests.conftest import PASSWORD

    def login(username):
        c = kiosk and client
        c.post("/logout", data={"csrf_token": re.search(r'name="csrf-token" content="([^"]+)"',
                                                         c.get("/login").get_data(as_text=True)).group(1)})
        token = re.search(r'name="csrf-token" content="([^"]+)"', c.get("/login").get_data(as_text=True)).group(1)
        form = {"username": username, "password": PASSWORD, "csrf_token": token}
        assert c.post("/login", data=form).status_code == 302

    assert client.get("/reports/").status_code == 302  # to the login page
    login(staff["specialist"])
    assert client.get("/reports/").status_code == 403
    assert client.get("/reports/monthly/2026-11.csv").status_code == 403
    assert client.get("/cases").status_code == 200
    login(staff["security"])
    assert client.get("/cases").status_code == 403
    login(staff["manager"])
    assert client.get("/reports/").status_code == 200
    assert client.get("/reports/daily?date=2026-11-27").status_code == 200
    assert client.get("/reports/daily?date=nonsense").status_code == 400
    assert client.get("/reports/monthly/2026-11.xlsx").status_code == 200


def test_resident_profile_joins_everything(client, tokens, kiosk):
    with kiosk.db.write() as conn:
        conn.execute("INSERT INTO residents (id, name, unit, phone, phone_norm, updated_at) VALUES "
                     "('r1', '王小明', '3-2-501', '138 0000 1111', '13800001111', '2026-01-01')")
    t = served_ticket(kiosk)
    with kiosk.db.write() as conn:
        conn.execute("UPDATE tickets SET resident_id = 'r1' WHERE id = ?", (t["id"],))
    case = kiosk.cases.create(type="complaint", description="噪音", channel="counter", resident_id="r1")
    kiosk.surveys.answer(ticket_id=t["id"], score=5)
    h = bearer(tokens["receptionist"])
    p = client.get("/api/v1/residents/r1/profile", headers=h).get_json()
    assert p["resident"]["name"] == "王小明"
    assert [c["id"] for c in p["cases"]] == [case["id"]] and p["cases"][0]["history"][0]["action"] == "create"
    assert [x["id"] for x in p["tickets"]] == [t["id"]]
    assert [s["score"] for s in p["surveys"]] == [5]
    assert p["visits"] == [] and p["calls"] == []
    assert client.get("/api/v1/residents/nobody/profile", headers=h).status_code == 404
    assert client.get("/api/v1/residents/r1/profile", headers=bearer(tokens["security"])).status_code == 403
    from kiosk.services.profile import search
    assert [r["id"] for r in search(kiosk.db, "王")] == ["r1"]
    assert [r["id"] for r in search(kiosk.db, "3-2-5")] == ["r1"]
    assert [r["id"] for r in search(kiosk.db, "00001111")] == ["r1"]
    assert search(kiosk.db, "%") == []


def test_case_page_hides_complaint_closing_from_the_receptionist(client, staff, kiosk):
    import re

    from tests.conftest import PASSWORD

    case = kiosk.cases.create(type="complaint", description="<b>噪音</b>", channel="counter")
    token = re.search(r'name="csrf-token" content="([^"]+)"', client.get("/login").get_data(as_text=True)).group(1)
    client.post("/login", data={"username": staff["receptionist"], "password": PASSWORD, "csrf_token": token})
    page = client.get(f"/cases/{case['id']}").get_data(as_text=True)
    assert 'id="cd-specialist-only"' in page and 'id="cd-close"' not in page
    assert "&lt;b&gt;噪音&lt;/b&gt;" in page and "<b>噪音</b>" not in page
    assert client.get("/cases/999").status_code == 404


def test_resident_profile_views_are_audited(client, tokens, kiosk, staff, clock):
    """Like visits.view: each profile shown (JSON or page) writes who, what and when."""
    import re

    from tests.conftest import PASSWORD

    with kiosk.db.write() as conn:
        conn.execute("INSERT INTO residents (id, name, unit, phone, phone_norm, updated_at) VALUES "
                     "('r1', '王小明', '3-2-501', '138 0000 1111', '13800001111', '2026-01-01')")
    assert client.get("/api/v1/residents/r1/profile", headers=bearer(tokens["specialist"])).status_code == 200
    token = re.search(r'name="csrf-token" content="([^"]+)"', client.get("/login").get_data(as_text=True)).group(1)
    client.post("/login", data={"username": staff["receptionist"], "password": PASSWORD, "csrf_token": token})
    assert client.get("/residents/r1").status_code == 200
    assert client.get("/residents/nobody").status_code == 404
    entries = client.get("/api/v1/audit", headers=bearer(tokens["manager"])).get_json()["entries"]
    views = [(e["actor"], e["role"], e["action"], e["target"], e["at"]) for e in reversed(entries)
             if e["action"] == "residents.profile"]
    at = clock.now().isoformat()
    assert views == [("token:test-specialist", "specialist", "residents.profile", "resident:r1", at),
                     (staff["receptionist"], "receptionist", "residents.profile", "resident:r1", at)]
