"""Every refusal becomes HTTP in one place (kiosk/web/errors.py): the status its class
carries, `{"error": {"code", "message"}}` for the API, the error page for pages."""

from __future__ import annotations

import re

import pytest

from tests.conftest import PASSWORD, bearer


@pytest.fixture
def config(config):
    config.phone.port = ""  # no modem: simulating a call is refused
    return config


def _login(client, username: str) -> None:
    token = re.search(r'name="csrf-token" content="([^"]+)"', client.get("/login").get_data(as_text=True)).group(1)
    assert client.post("/login", data={"username": username, "password": PASSWORD,
                                       "csrf_token": token}).status_code == 302


def test_api_refusals_from_rules_and_services_keep_their_status_and_code(client, tokens):
    staff = bearer(tokens["receptionist"])
    missing = client.get("/api/v1/tickets/9999")
    assert missing.status_code == 404 and missing.json["error"]["code"] == "not_found"
    ticket = client.post("/api/v1/tickets", json={"service": "A"}).json
    refused = client.post(f"/api/v1/tickets/{ticket['id']}/finish", headers=staff)
    assert refused.status_code == 409
    assert refused.json == {"error": {"code": "invalid_transition",
                                      "message": "cannot finish a ticket that is waiting"}}
    assert client.post("/api/v1/counters/1/call-next", headers=staff).status_code == 200
    unknown = client.post(f"/api/v1/tickets/{ticket['id']}/transfer", json={"service": "Z"}, headers=staff)
    assert unknown.status_code == 400 and unknown.json["error"]["code"] == "unknown_service"
    same = client.post(f"/api/v1/tickets/{ticket['id']}/transfer", json={"service": "A"}, headers=staff)
    assert same.status_code == 409 and same.json["error"]["code"] == "same_service"


def test_api_body_checks(client):
    form = client.post("/api/v1/tickets", data={"service": "A"})
    assert form.status_code == 415 and form.json["error"]["code"] == "unsupported_media_type"
    bad = client.post("/api/v1/tickets", json={"service": "Z"})
    assert bad.status_code == 400 and bad.json["error"]["code"] == "unknown_service"


def test_api_call_refusals_without_a_try_in_the_view(client, tokens):
    manager = bearer(tokens["manager"])
    assert client.get("/api/v1/calls/77", headers=manager).json == {
        "error": {"code": "not_found", "message": "no call 77"}}
    assert client.post("/api/v1/calls/77/handled", headers=manager).status_code == 404
    off = client.post("/api/v1/phone/simulate", json={"number": "13800138000"}, headers=manager)
    assert off.status_code == 409 and off.json["error"]["code"] == "not_simulated"
    bad = client.post("/api/v1/phone/simulate", json={"number": "x"}, headers=manager)
    assert bad.status_code == 400 and bad.json["error"]["code"] == "invalid_number"


def test_a_page_refusal_shows_the_error_page_with_the_status(client, staff):
    _login(client, staff["security"])
    page = client.get("/security/visits/999")
    assert page.status_code == 404
    assert page.mimetype == "text/html" and "error-card" in page.get_data(as_text=True)


def test_a_report_period_that_is_no_date_is_refused_by_the_report_service(client, tokens):
    manager = bearer(tokens["manager"])
    for path in ("/api/v1/reports/monthly/2026-13", "/api/v1/reports/daily/2026-02-30"):
        r = client.get(path, headers=manager)
        assert r.status_code == 400 and r.json["error"]["code"] == "invalid_period", path
    assert client.get("/api/v1/reports/daily/2026-02-28", headers=manager).status_code == 200
