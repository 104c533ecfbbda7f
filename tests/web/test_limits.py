"""Abuse limits at their default values through the real HTTP path: each anonymous write
answers 429 with Retry-After one request past its burst and never before it, counted per
device or address; staff are not counted; the print queue has a global cap."""

from __future__ import annotations

import pytest

from kiosk.config import Config, LimitsConfig
from kiosk.web import create_app
from tests.conftest import bearer
from tests.web.test_devices import WRITES, lan_client, pair

BURSTS = {"tickets": 10, "checkins": 10, "scans": 20, "checkouts": 20, "cases": 5, "surveys": 10, "questionnaire": 5,
          "prompts": 10}
LIMIT_OF = {"/api/v1/tickets": "tickets", "/api/v1/checkins": "checkins", "/api/v1/scans": "scans",
            "/api/v1/checkouts": "checkouts", "/api/v1/cases": "cases", "/api/v1/surveys": "surveys",
            "/api/v1/questionnaire": "questionnaire", "/kiosk/prompt": "prompts"}


def test_the_defaults_are_the_documented_hall_rates():
    limits = LimitsConfig()
    for name, burst in BURSTS.items():
        first = getattr(limits, name).split(";")[0]
        assert first == f"{burst} per 15 seconds", name
    assert limits.tickets == "10 per 15 seconds;30 per minute"
    assert Config().limits.max_pending_prints == 200


@pytest.mark.parametrize("path,body,kinds", WRITES)
def test_each_write_answers_429_one_past_its_burst_and_not_before(kiosk, client, path, body, kinds, tokens):
    burst = BURSTS[LIMIT_OF[path]]
    for n in range(burst):
        answer = client.post(path, json=body)
        # the view ran (its own 2xx or 400: these bodies are for counting), neither refused nor limited
        assert answer.status_code not in (401, 403, 429), f"request {n + 1} of {burst}: {answer.status_code}"
    refused = client.post(path, json=body)
    assert refused.status_code == 429
    assert refused.get_json()["error"]["code"] == "rate_limited"
    assert refused.get_json()["error"]["message"] == "本屏幕的请求过于频繁，请稍候再试。"
    assert 1 <= int(refused.headers["Retry-After"]) <= 16  # the burst window (15 s), rounded up
    staff = client.post(path, json=body, headers=bearer(tokens["manager"]))
    assert staff.status_code not in (401, 403, 429)  # staff are not counted (and the token is good)
    same_kiosk = client.post(path, json=body, environ_base={"REMOTE_ADDR": "::1"})  # "local" from its other address
    assert same_kiosk.status_code == 429


def test_devices_are_counted_apart_and_the_english_screen_gets_english(kiosk):
    kiosk.config.server.kiosk_addresses = []
    app = create_app(kiosk.services, TESTING=True)
    one, two = lan_client(app), lan_client(app)  # same address, two enrolled kiosks
    pair(one, f"/pair/{kiosk.devices.add('kiosk-1', 'kiosk').token}")
    pair(two, f"/pair/{kiosk.devices.add('kiosk-2', 'kiosk').token}")
    one.get("/kiosk?lang=en")
    assert all(one.post("/api/v1/tickets", json={"service": "A"}).status_code == 201 for _ in range(10))
    refused = one.post("/api/v1/tickets", json={"service": "A"})
    assert refused.status_code == 429
    assert refused.get_json()["error"]["message"] == ("Too many requests from this screen. "
                                                      "Please wait a moment and try again.")
    assert two.post("/api/v1/tickets", json={"service": "A"}).status_code == 201
    assert kiosk.db.scalar("SELECT COUNT(*) FROM tickets") == 11  # the refused request changed nothing


def test_limits_can_be_switched_off(make_kiosk, config):
    config.limits.enabled = False
    k = make_kiosk(config)
    client = create_app(k.services, TESTING=True).test_client()
    assert all(client.post("/api/v1/scans", json={"payload": "x"}).status_code != 429 for _ in range(25))


def test_pending_print_jobs_have_a_global_cap(make_kiosk, network_config, tokens):
    """The printer is down (nothing listens on its port): jobs pile up until the cap, then
    every printing write is refused, for staff too, and nothing is half-made."""
    network_config.limits.max_pending_prints = 3
    network_config.printer.wait_s = 0.2
    k = make_kiosk(network_config)
    client = create_app(k.services, TESTING=True).test_client()
    for _ in range(3):
        assert client.post("/api/v1/tickets", json={"service": "A"}).status_code == 201
    tickets = k.db.scalar("SELECT COUNT(*) FROM tickets")
    manager = bearer(k.auth.create_token("manager"))
    visitor = {"method": "manual", "visitor": {"name": "王五", "phone": "13800138000", "host_unit": "1-101"}}
    for answer in (client.post("/api/v1/tickets", json={"service": "A"}),
                   client.post("/api/v1/cases", json={"type": "repair", "description": "灯坏了"}),
                   client.post("/api/v1/checkins", json=visitor),
                   client.post("/api/v1/tickets", json={"service": "A"}, headers=manager)):
        assert answer.status_code == 429 and answer.get_json()["error"]["code"] == "print_queue_full"
        assert answer.headers["Retry-After"] == "30"
    assert k.db.scalar("SELECT COUNT(*) FROM tickets") == tickets
    assert k.db.scalar("SELECT COUNT(*) FROM cases") == 0
    assert k.db.scalar("SELECT COUNT(*) FROM visits") == 0
    assert client.post("/api/v1/cases", json={"type": "repair", "description": "x", "print": False},
                       headers=bearer(k.auth.create_token("manager"))).status_code == 201  # nothing to print
