"""Calls through the service and the HTTP API: matching, the screen-pop, the call log,
missed calls, mark handled, cases from calls, the simulated modem's button, bad input."""

from __future__ import annotations

import json

import pytest

from kiosk.devices.callerid import CallerId
from kiosk.events import CALL_INCOMING
from tests.conftest import bearer
from tests.phone.conftest import RESIDENT, add_resident, wait_for


def caller(number: str = "13800138000", name: str = "ZHANG SAN", kind: str = "normal") -> CallerId:
    return CallerId(number=number, name=name, kind=kind, date="1127", time="0930", at=0.0)


def outbox_calls(kiosk) -> list[dict]:
    return [dict(r, data=json.loads(r["data"])) for r in
            kiosk.db.query("SELECT key, data FROM outbox WHERE kind = 'call' ORDER BY id")]


@pytest.fixture
def resident(kiosk):
    add_resident(kiosk)
    return RESIDENT


@pytest.mark.parametrize("number", ["13800138000", "+86 138 0013 8000", "8613800138000", "0086-138-0013-8000",
                                    "013800138000"])
def test_numbers_match_the_resident_however_written(kiosk, resident, number):
    call = kiosk.calls.incoming(caller(number))
    assert call["resident"] == {"id": RESIDENT["id"], "name": RESIDENT["name"], "unit": RESIDENT["unit"]}


def test_landline_with_area_code_matches_and_unknown_does_not(kiosk):
    add_resident(kiosk, {"id": "R-0002", "name": "李四", "unit": "1-2-301", "phone": "010-6555 1234"})
    assert kiosk.calls.incoming(caller("01065551234"))["resident"]["id"] == "R-0002"
    assert kiosk.calls.incoming(caller("+86 10 6555 1234"))["resident"]["id"] == "R-0002"
    assert kiosk.calls.incoming(caller("13999999999"))["resident"] is None
    assert kiosk.calls.incoming(caller("", "P", "private"))["resident"] is None


def test_incoming_publishes_an_event_without_personal_data(kiosk, resident):
    with kiosk.bus.subscribe() as sub:
        call = kiosk.calls.incoming(caller())
        event = sub.get(timeout=10)
    assert event.name == CALL_INCOMING
    assert event.data == {"id": call["id"], "kind": "normal", "started_at": "2026-11-27T09:30:00+08:00",
                          "matched": True}


def test_call_log_needs_staff(client, kiosk, tokens, resident):
    kiosk.calls.incoming(caller())
    assert client.get("/api/v1/calls").status_code == 401
    assert client.get("/api/v1/calls", headers=bearer(tokens["security"])).status_code == 403
    assert client.get("/api/v1/calls/1", headers=bearer(tokens["security"])).status_code == 403
    body = client.get("/api/v1/calls", headers=bearer(tokens["receptionist"])).get_json()
    assert body["missed"] == 1
    (call,) = body["calls"]
    assert (call["number"], call["name"], call["started_at"], call["case_id"], call["status"]) == \
        ("13800138000", "ZHANG SAN", "2026-11-27T09:30:00+08:00", None, "missed")
    assert call["resident"]["name"] == RESIDENT["name"]


def test_missed_list_and_mark_handled(client, kiosk, clock, tokens, resident):
    first = kiosk.calls.incoming(caller())
    clock.advance(minutes=1)
    second = kiosk.calls.incoming(caller("", "", "out_of_area"))
    auth = bearer(tokens["receptionist"])
    missed = client.get("/api/v1/calls/missed", headers=auth).get_json()
    assert [c["id"] for c in missed["calls"]] == [second["id"], first["id"]] and missed["missed"] == 2
    clock.advance(minutes=4)
    r = client.post(f"/api/v1/calls/{first['id']}/handled", headers=auth)
    assert r.status_code == 200
    assert (r.get_json()["status"], r.get_json()["handled_at"]) == ("handled", "2026-11-27T09:35:00+08:00")
    assert r.get_json()["handled_by"] == "token:test-receptionist"
    assert [c["id"] for c in client.get("/api/v1/calls?status=missed", headers=auth).get_json()["calls"]] == \
        [second["id"]]
    assert client.post(f"/api/v1/calls/{first['id']}/handled", headers=auth).status_code == 200  # idempotent
    records = [o for o in outbox_calls(kiosk) if o["data"]["id"] == first["id"]]
    assert [o["key"] for o in records] == [f"demo-site:call:{first['id']}:1", f"demo-site:call:{first['id']}:2"]
    assert records[1]["data"]["status"] == "handled" and records[1]["data"]["handled_by"] == "token:test-receptionist"


def test_bad_input_is_refused_and_changes_nothing(client, kiosk, tokens, resident):
    call = kiosk.calls.incoming(caller())
    auth = bearer(tokens["receptionist"])
    before = kiosk.db.query("SELECT * FROM calls")
    assert client.post("/api/v1/calls/999/handled", headers=auth).status_code == 404
    r = client.post(f"/api/v1/calls/{call['id']}/handled", headers=auth, json={"status": "handled"})
    assert r.status_code == 400 and r.get_json()["error"]["code"] == "unknown_field"
    assert client.post(f"/api/v1/calls/{call['id']}/handled", headers=auth, data="x",
                       content_type="text/plain").status_code == 415
    assert client.get("/api/v1/calls?limit=0", headers=auth).status_code == 400
    assert client.get("/api/v1/calls?limit=abc", headers=auth).status_code == 400
    assert client.get("/api/v1/calls?status=all", headers=auth).status_code == 400
    assert client.get("/api/v1/calls/999", headers=auth).get_json()["error"]["code"] == "not_found"
    assert kiosk.db.query("SELECT * FROM calls") == before
    assert len(outbox_calls(kiosk)) == 1


def test_screen_pop_shows_resident_open_cases_and_last_visits(client, kiosk, clock, tokens, resident):
    auth = bearer(tokens["receptionist"])
    r = client.post("/api/v1/cases", headers=auth, json={"type": "complaint", "description": "电梯噪音",
                                                          "channel": "counter", "resident_id": RESIDENT["id"]})
    assert r.status_code == 201, r.get_json()
    case_id = r.get_json()["id"]
    kiosk.visits.checkin_qr(kiosk.visits.issue_card(RESIDENT["id"]))
    clock.advance(hours=1)
    call = kiosk.calls.incoming(caller())
    pop = client.get(f"/api/v1/calls/{call['id']}", headers=auth).get_json()
    assert pop["resident"]["unit"] == RESIDENT["unit"]
    assert [(c["id"], c["type"], c["status"]) for c in pop["open_cases"]] == [(case_id, "complaint", "open")]
    assert pop["open_cases"][0]["due_at"].endswith("+08:00")
    assert len(pop["last_visits"]) == 1 and pop["last_visits"][0]["checked_in_at"].startswith("2026-11-27T09:30")
    unmatched = kiosk.calls.incoming(caller("", "", "private"))
    pop = client.get(f"/api/v1/calls/{unmatched['id']}", headers=auth).get_json()
    assert (pop["resident"], pop["open_cases"], pop["last_visits"], pop["kind"]) == (None, [], [], "private")


def test_a_case_from_the_call_links_it_and_marks_it_handled(client, kiosk, tokens, resident):
    call = kiosk.calls.incoming(caller())
    auth = bearer(tokens["receptionist"])
    r = client.post("/api/v1/cases", headers=auth, json={"type": "inquiry", "channel": "phone", "call_id": call["id"],
                                                          "resident_id": RESIDENT["id"], "description": "问物业费"})
    assert r.status_code == 201, r.get_json()
    case_id = r.get_json()["id"]
    got = client.get("/api/v1/calls", headers=auth).get_json()
    assert got["missed"] == 0 and got["calls"][0]["case_id"] == case_id and got["calls"][0]["status"] == "handled"
    last = outbox_calls(kiosk)[-1]
    assert last["key"] == f"demo-site:call:{call['id']}:2" and last["data"]["case_id"] == case_id
    r = client.post("/api/v1/cases", headers=auth, json={"type": "inquiry", "channel": "phone", "call_id": 999,
                                                          "description": "x"})
    assert 400 <= r.status_code < 500
    assert len(outbox_calls(kiosk)) == 2


def test_simulate_button_endpoint(client, kiosk, tokens):
    manager, receptionist = bearer(tokens["manager"]), bearer(tokens["receptionist"])
    assert client.post("/api/v1/phone/simulate", headers=receptionist, json={"number": "P"}).status_code == 403
    for bad in ({"number": "<script>"}, {"number": "123", "name": "<b>x</b>"}, {"number": "12", "x": 1}, {}):
        r = client.post("/api/v1/phone/simulate", headers=manager, json=bad)
        assert r.status_code == 400, bad
    wait_for(lambda: (kiosk.phone.health().status, kiosk.phone.health().reason) == ("ok", None),
             what="sim modem ready")
    r = client.post("/api/v1/phone/simulate", headers=manager, json={"number": "13800138000", "name": "WANG"})
    assert r.status_code == 202
    wait_for(lambda: kiosk.db.query("SELECT * FROM calls"), what="the simulated call stored")
    assert kiosk.db.query("SELECT number, name FROM calls") == [{"number": "13800138000", "name": "WANG"}]


def test_simulate_needs_the_simulated_modem(config, clock, tokens_for_off_phone):
    client, token = tokens_for_off_phone
    r = client.post("/api/v1/phone/simulate", headers=bearer(token), json={"number": "P"})
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "not_simulated"


@pytest.fixture
def tokens_for_off_phone(config, clock):
    from kiosk.runtime import Kiosk
    from kiosk.web import create_app

    config.phone.port = ""
    k = Kiosk(config, clock=clock)
    try:
        assert k.health()["devices"]["phone"]["status"] == "off"
        assert k.health()["devices"]["phone"]["reason"] == "not_configured"
        yield create_app(k.services, TESTING=True).test_client(), k.auth.create_token("manager", "m")
    finally:
        k.stop()


def test_every_call_field_sent_is_documented_in_docs_sync(kiosk, tokens, client, resident):
    import re
    from pathlib import Path

    call = kiosk.calls.incoming(caller())
    client.post(f"/api/v1/calls/{call['id']}/handled", headers=bearer(tokens["receptionist"]))
    sent = set().union(*(o["data"].keys() for o in outbox_calls(kiosk)))
    doc = (Path(__file__).resolve().parents[2] / "docs" / "sync.md").read_text(encoding="utf-8")
    section = doc.split("### `call`", 1)[1].split("\n## ", 1)[0].split("`data`:", 1)[1]
    assert set(re.findall(r"^\| `([a-z_]+)` \|", section, flags=re.MULTILINE)) == sent


def _login(client, username: str) -> None:
    import re

    from tests.conftest import PASSWORD

    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf[-_]token"[^>]*(?:value|content)="([^"]+)"', page).group(1)
    client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token})


def test_call_log_page_escapes_what_the_line_sent_and_needs_the_right_role(client, kiosk, staff):
    kiosk.calls.incoming(caller("13800138000", "<script>alert(1)</script>"))
    assert client.get("/desk/calls").status_code == 302                       # to the login page
    _login(client, staff["security"])
    assert client.get("/desk/calls").status_code == 403
    fresh = client.application.test_client()
    _login(fresh, staff["receptionist"])
    html = fresh.get("/desk/calls").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "13800138000" in html
