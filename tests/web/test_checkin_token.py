"""The check-in token: what a check-in answers a device instead of the visit, and what a
ticket or case carries instead of a visit id. Unguessable, stored hashed, single use,
10 minutes, only for the device (or login) that checked in; visit_id is staff only."""

from __future__ import annotations

import hashlib

import pytest

from kiosk.web import create_app
from tests.checkin.conftest import RESIDENTS_CSV
from tests.conftest import bearer

KIOSK_A, KIOSK_B, OUTSIDER = "192.0.2.50", "192.0.2.51", "192.0.2.10"


@pytest.fixture
def kiosks(config, make_kiosk):
    """Two kiosk addresses and an outsider's client on one site with residents and a card."""
    config.server.kiosk_addresses = [KIOSK_A, KIOSK_B]
    k = make_kiosk(config)
    k.visits.import_residents(RESIDENTS_CSV)
    app = create_app(k.services, TESTING=True)
    clients = {}
    for name, address in (("a", KIOSK_A), ("b", KIOSK_B), ("outsider", OUTSIDER)):
        clients[name] = app.test_client()
        clients[name].environ_base["REMOTE_ADDR"] = address
    return k, clients, k.visits.issue_card("r-zhang", 30)


def check_in(client, card) -> str:
    resp = client.post("/api/v1/checkins", json={"method": "qr", "payload": card})
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()["checkin_token"]


def ticket(client, **body):
    return client.post("/api/v1/tickets", json={"service": "A", **body})


def test_the_token_links_one_ticket_once(kiosks):
    k, c, card = kiosks
    token = check_in(c["a"], card)
    assert len(token) >= 32
    first = ticket(c["a"], checkin_token=token)
    assert first.status_code == 201
    visit_id = k.db.scalar("SELECT id FROM visits")
    assert k.db.query_one("SELECT visit_id, resident_id FROM tickets WHERE id = ?", (first.get_json()["id"],)) == \
        {"visit_id": visit_id, "resident_id": "r-zhang"}
    again = ticket(c["a"], checkin_token=token)
    assert again.status_code == 400 and again.get_json()["error"]["code"] == "invalid_checkin_token"
    case = c["a"].post("/api/v1/cases", json={"type": "repair", "description": "x", "checkin_token": token})
    assert case.status_code == 400 and case.get_json()["error"]["code"] == "invalid_checkin_token"
    assert k.db.scalar("SELECT COUNT(*) FROM tickets") == 1 and k.db.scalar("SELECT COUNT(*) FROM cases") == 0


def test_the_token_is_stored_hashed(kiosks):
    k, c, card = kiosks
    token = check_in(c["a"], card)
    dump = "\n".join(str(tuple(r)) for r in k.db.conn.execute("SELECT * FROM checkin_tokens"))
    assert token not in dump
    assert hashlib.sha256(token.encode()).hexdigest() in dump


def test_the_token_is_bound_to_who_checked_in(kiosks, tokens):
    """Another caller cannot use it: here a staff login from elsewhere, and another staff
    member (every address in server.kiosk_addresses is the one "local" kiosk)."""
    k, c, card = kiosks
    token = check_in(c["a"], card)
    other = ticket(c["outsider"], checkin_token=token)
    assert other.status_code == 401  # no device at all
    by_staff = c["outsider"].post("/api/v1/tickets", json={"service": "A", "checkin_token": token},
                                  headers=bearer(tokens["receptionist"]))
    assert by_staff.status_code == 400 and by_staff.get_json()["error"]["code"] == "invalid_checkin_token"
    staff_token = c["outsider"].post("/api/v1/checkins", json={"method": "qr", "payload": card},
                                     headers=bearer(tokens["receptionist"])).get_json()["checkin_token"]
    by_other_staff = c["outsider"].post("/api/v1/tickets", json={"service": "A", "checkin_token": staff_token},
                                        headers=bearer(tokens["manager"]))
    assert by_other_staff.status_code == 400
    assert ticket(c["a"], checkin_token=staff_token).status_code == 400
    assert ticket(c["a"], checkin_token=token).status_code == 201  # still the kiosk's to use
    assert k.db.scalar("SELECT COUNT(*) FROM tickets") == 1


def test_the_token_expires_after_ten_minutes(kiosks, clock):
    k, c, card = kiosks
    token = check_in(c["a"], card)
    clock.advance(minutes=10, seconds=1)
    late = ticket(c["a"], checkin_token=token)
    assert late.status_code == 400 and late.get_json()["error"]["code"] == "invalid_checkin_token"
    fresh = check_in(c["a"], card)
    clock.advance(minutes=9)
    assert ticket(c["a"], checkin_token=fresh).status_code == 201


def test_a_refused_ticket_gives_the_token_back(kiosks):
    k, c, card = kiosks
    token = check_in(c["a"], card)
    bad = ticket(c["a"], checkin_token=token, service="Z")
    assert bad.status_code == 400 and bad.get_json()["error"]["code"] == "unknown_service"
    assert ticket(c["a"], checkin_token=token).status_code == 201


def test_guessed_tokens_and_visit_ids_are_refused_to_devices(kiosks):
    k, c, card = kiosks
    check_in(c["a"], card)
    visit_id = k.db.scalar("SELECT id FROM visits")
    for body in ({"checkin_token": "x" * 32}, {"checkin_token": "y" * 5000}, {"visit_id": visit_id},
                 {"visit_id": -1}, {"visit_id": 999999999}):
        resp = ticket(c["a"], **body)
        assert resp.status_code == 400, body
    for body in ({"visit_id": visit_id}, {"visit_id": 999999999}):
        resp = c["a"].post("/api/v1/cases", json={"type": "complaint", "description": "x", **body})
        assert resp.status_code == 400 and resp.get_json()["error"]["code"] == "invalid_field"
    assert k.db.scalar("SELECT COUNT(*) FROM tickets") == 0 and k.db.scalar("SELECT COUNT(*) FROM cases") == 0


def test_staff_may_link_by_visit_id_and_only_to_a_visit_that_exists(kiosks, tokens):
    k, c, card = kiosks
    check_in(c["a"], card)
    visit_id = k.db.scalar("SELECT id FROM visits")
    h = bearer(tokens["receptionist"])
    for bad in (999999999, -1):
        resp = c["outsider"].post("/api/v1/tickets", json={"service": "A", "visit_id": bad}, headers=h)
        assert resp.status_code == 400, bad
    resp = c["outsider"].post("/api/v1/tickets", json={"service": "A", "visit_id": visit_id}, headers=h)
    assert resp.status_code == 201 and resp.get_json()["visit_id"] == visit_id
    assert resp.get_json()["resident_id"] == "r-zhang"  # staff see the whole ticket


def test_a_case_filed_at_the_kiosk_with_the_token_answers_no_contact_fields(kiosks):
    k, c, card = kiosks
    token = check_in(c["a"], card)
    resp = c["a"].post("/api/v1/cases", json={"type": "repair", "description": "门锁坏了", "checkin_token": token,
                                              "contact_phone": "13800000000"})
    assert resp.status_code == 201
    assert set(resp.get_json()) == {"id", "type", "channel", "status", "due_at", "created_at", "print"}
    row = k.db.query_one("SELECT resident_id, unit, contact_name, visit_id FROM cases")
    assert row == {"resident_id": "r-zhang", "unit": "3-2-501", "contact_name": "张女士",
                   "visit_id": k.db.scalar("SELECT id FROM visits")}


def test_anonymous_writes_need_a_device(kiosks):
    k, c, card = kiosks
    for path, body in (("/api/v1/checkins", {"method": "qr", "payload": card}),
                       ("/api/v1/tickets", {"service": "A"}),
                       ("/api/v1/cases", {"type": "repair", "description": "x"}),
                       ("/api/v1/scans", {"payload": card}), ("/api/v1/checkouts", {"payload": "x"}),
                       ("/api/v1/surveys", {"ticket_id": 1, "score": 5}),
                       ("/api/v1/questionnaire", {"answers": [5, 5, 5]})):
        resp = c["outsider"].post(path, json=body)
        assert resp.status_code == 401 and resp.get_json()["error"]["code"] == "device_required", path
    assert k.db.scalar("SELECT COUNT(*) FROM visits") == 0 and k.db.scalar("SELECT COUNT(*) FROM tickets") == 0
