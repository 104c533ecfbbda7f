"""The JSON API of DESIGN §5 through Flask's test client: contract, roles, bad input."""

import json
import time

import pytest

from tests.conftest import PASSWORD, bearer


def snapshot(kiosk):
    """Every table a ticket request writes, once the print worker has caught up (it marks
    jobs printed after answering the waiting request, so a job can still read 'pending')."""
    for _ in range(200):
        if not kiosk.db.scalar("SELECT COUNT(*) FROM print_jobs WHERE status = 'pending'"):
            break
        time.sleep(0.05)
    return [kiosk.db.query(f"SELECT * FROM {t}") for t in ("tickets", "outbox", "ticket_events", "print_jobs")]


def issue(client, **body):
    body.setdefault("service", "A")
    return client.post("/api/v1/tickets", json=body)


def test_issue_ticket_contract(client, kiosk):
    r = issue(client, service="B", priority=True)
    assert r.status_code == 201
    t = r.get_json()
    assert {"id", "number", "service", "status", "position", "estimated_wait_s", "issued_at", "print"} <= set(t)
    assert t["number"] == "B001" and t["service"] == "B" and t["status"] == "waiting" and t["priority"] is True
    assert t["position"] == 1
    assert t["print"]["status"] == "printed"
    assert r.headers["Location"] == f"/api/v1/tickets/{t['id']}"
    got = client.get(f"/api/v1/tickets/{t['id']}").get_json()
    assert got["number"] == "B001" and got["position"] == 1


def test_services_list_waiting_counts(client):
    issue(client, service="A")
    issue(client, service="A")
    services = {s["letter"]: s for s in client.get("/api/v1/services").get_json()["services"]}
    assert services["A"]["waiting"] == 2 and services["A"]["name_zh"] == "咨询"
    assert services["B"]["waiting"] == 0
    assert set(services) == set("ABCDEF")


@pytest.mark.parametrize("body,status,code", [
    ({"service": "Z"}, 400, "unknown_service"),
    ({"service": "A", "colour": "red"}, 400, "unknown_field"),
    ({"service": 5}, 400, "invalid_field"),
    ({"service": "A", "priority": "yes"}, 400, "invalid_field"),
    ({"priority": True}, 400, "missing_field"),
    ({"service": "A", "visit_id": True}, 400, "invalid_field"),
])
def test_bad_ticket_bodies_are_refused_and_change_nothing(client, kiosk, body, status, code):
    before = snapshot(kiosk)
    r = client.post("/api/v1/tickets", json=body)
    assert r.status_code == status
    assert r.get_json()["error"]["code"] == code
    assert r.get_json()["error"]["message"]
    assert snapshot(kiosk) == before


def test_malformed_and_oversized_bodies(client, kiosk, config):
    before = snapshot(kiosk)
    r = client.post("/api/v1/tickets", data="{not json", content_type="application/json")
    assert r.status_code == 400 and r.get_json()["error"]["code"] == "malformed_json"
    r = client.post("/api/v1/tickets", data="[1, 2]", content_type="application/json")
    assert r.status_code == 400
    r = client.post("/api/v1/tickets", data="service=A", content_type="application/x-www-form-urlencoded")
    assert r.status_code == 415
    huge = json.dumps({"service": "A", "pad": "x" * (config.server.max_body_bytes + 10)})
    r = client.post("/api/v1/tickets", data=huge, content_type="application/json")
    assert r.status_code == 413 and r.get_json()["error"]["code"]
    r = client.post("/api/v1/tickets", json={"service": "<script>alert(1)</script>"})
    assert r.status_code == 400 and r.get_json()["error"]["code"] == "unknown_service"
    assert snapshot(kiosk) == before


def test_unknown_ticket_and_unknown_action(client, tokens):
    assert client.get("/api/v1/tickets/999").status_code == 404
    assert client.get("/api/v1/tickets/999").get_json()["error"]["code"] == "not_found"
    r = client.post("/api/v1/tickets/999/finish", headers=bearer(tokens["receptionist"]))
    assert r.status_code == 404
    t = issue(client).get_json()
    r = client.post(f"/api/v1/tickets/{t['id']}/explode", headers=bearer(tokens["receptionist"]))
    assert r.status_code == 404


def test_staff_endpoints_need_credentials_and_the_right_role(client, kiosk, tokens):
    t = issue(client).get_json()
    before = snapshot(kiosk)
    r = client.post("/api/v1/counters/1/call-next")
    assert r.status_code == 401 and r.get_json()["error"]["code"] == "unauthorized"
    r = client.post("/api/v1/counters/1/call-next", headers=bearer("kst_forged"))
    assert r.status_code == 401
    r = client.post("/api/v1/counters/1/call-next", headers=bearer(tokens["security"]))
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "forbidden"
    r = client.post(f"/api/v1/tickets/{t['id']}/cancel", headers=bearer(tokens["specialist"]))
    assert r.status_code == 403
    assert snapshot(kiosk) == before
    assert client.post("/api/v1/counters/1/call-next", headers=bearer(tokens["manager"])).status_code == 200


def test_call_next_and_actions_over_the_api(client, tokens):
    h = bearer(tokens["receptionist"])
    assert client.post("/api/v1/counters/1/call-next", headers=h).status_code == 204
    a = issue(client).get_json()
    b = issue(client).get_json()
    r = client.post("/api/v1/counters/2/call-next", headers=h)
    assert r.status_code == 200 and r.get_json()["number"] == a["number"] and r.get_json()["counter"] == "2"
    assert client.post(f"/api/v1/tickets/{a['id']}/recall", headers=h).get_json()["recalls"] == 1
    r = client.post(f"/api/v1/tickets/{a['id']}/transfer", headers=h, json={"service": "C"})
    assert r.status_code == 200 and r.get_json()["status"] == "transferred" and r.get_json()["service"] == "C"
    r = client.post(f"/api/v1/tickets/{a['id']}/transfer", headers=h, json={"service": "C"})
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "invalid_transition"
    r = client.post(f"/api/v1/tickets/{b['id']}/finish", headers=h)
    assert r.status_code == 409 and "waiting" in r.get_json()["error"]["message"]
    r = client.post("/api/v1/counters/1/call-next", headers=h)
    assert r.get_json()["number"] == a["number"], "the transferred ticket goes ahead of b"
    assert client.post(f"/api/v1/tickets/{a['id']}/no-show", headers=h).get_json()["status"] == "no_show"
    assert client.post(f"/api/v1/tickets/{a['id']}/reinstate", headers=h).get_json()["status"] == "waiting"
    r = client.post(f"/api/v1/tickets/{b['id']}/call", headers=h, json={"counter": "1"})
    assert r.status_code == 200 and r.get_json()["status"] == "called"
    r = client.post(f"/api/v1/tickets/{b['id']}/transfer", headers=h, json={"service": "Q"})
    assert r.status_code == 400 and r.get_json()["error"]["code"] == "unknown_service"
    r = client.post("/api/v1/counters/9/call-next", headers=h)
    assert r.status_code == 404
    queued = client.get("/api/v1/tickets", headers=h).get_json()["tickets"]
    assert [t["number"] for t in queued] == [a["number"]]


def test_session_login_and_csrf_for_api_calls(client, staff):
    issue(client)
    page = client.get("/login")
    assert page.status_code == 200
    token = _csrf(page.get_data(as_text=True))
    r = client.post("/login", data={"username": staff["receptionist"], "password": "wrong", "csrf_token": token})
    assert r.status_code == 401
    r = client.post("/login", data={"username": staff["receptionist"], "password": PASSWORD, "csrf_token": token})
    assert r.status_code == 302
    r = client.post("/api/v1/counters/1/call-next")
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "csrf"
    desk = client.get("/desk").get_data(as_text=True)
    r = client.post("/api/v1/counters/1/call-next", headers={"X-CSRFToken": _csrf(desk)})
    assert r.status_code == 200


def test_pages_need_login_and_role(client, staff):
    assert client.get("/desk").status_code == 302
    assert client.get("/admin/").status_code == 302
    token = _csrf(client.get("/login").get_data(as_text=True))
    client.post("/login", data={"username": staff["security"], "password": PASSWORD, "csrf_token": token})
    assert client.get("/desk").status_code == 403
    assert client.get("/admin/").status_code == 403


def test_healthz_and_openapi(client):
    h = client.get("/healthz").get_json()
    assert h["status"] in ("ok", "degraded")
    assert {"printer", "camera", "phone", "tts"} <= set(h["devices"])
    assert h["db"]["status"] == "ok" and h["sync"]["backlog"] == 0
    issue(client)
    assert client.get("/healthz").get_json()["sync"]["backlog"] == 1
    doc = client.get("/api/v1/openapi.json").get_json()
    assert doc["openapi"].startswith("3.")
    for path in ("/healthz", "/api/v1/services", "/api/v1/tickets", "/api/v1/tickets/{ticket_id}",
                 "/api/v1/counters/{counter}/call-next", "/api/v1/tickets/{ticket_id}/transfer",
                 "/api/v1/events"):
        assert path in doc["paths"], path


def test_openapi_lists_every_api_route(app):
    import re

    doc_paths = set(app.test_client().get("/api/v1/openapi.json").get_json()["paths"])
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/") and "<action>" not in rule.rule:
            path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)  # <int:call_id> -> {call_id}
            assert path in doc_paths, path


def _csrf(html: str) -> str:
    import re

    match = re.search(r'name="csrf[-_]token"[^>]*(?:value|content)="([^"]+)"', html)
    assert match, "page carries a CSRF token"
    return match.group(1)
