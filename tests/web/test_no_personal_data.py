"""Nothing personal leaves through the public surface: with a site seeded with marker
strings in every personal field, every route of the URL map answers an anonymous caller
on the hall's LAN (not a kiosk address) without any of them, and so do the answers an
enrolled kiosk gets for its own check-ins, tickets, cases, scans and ratings."""

from __future__ import annotations

import json
import time

import pytest

from kiosk.queue.rules import Action
from kiosk.web import create_app
from tests.web.surface import KIOSK_ADDRESS, MARKERS, OUTSIDER, path_values, seed, url_of


@pytest.fixture
def site(config, clock):
    config.server.kiosk_addresses = []  # no address is a kiosk, loopback included
    from kiosk.runtime import Kiosk

    k = Kiosk(config, clock=clock)
    seeded = seed(k)
    yield k, seeded
    k.stop()


#: Routes that give an enrolled kiosk some personal data on purpose, and which markers.
DEVICE_ONLY = {"/kiosk/units.json": ("resident unit", "resident unit 2")}


def leaks(text: str, sent: str = "") -> list[str]:
    """The markers in an answer, except those the request itself carried (an echo of the
    caller's own URL, as the login redirect's `next`, discloses nothing)."""
    return [what for what, marker in MARKERS.items()
            if marker.lower() in text.lower() and marker.lower() not in sent.lower()]


def answer_text(resp) -> str:
    return resp.get_data(as_text=True) + "\n" + "\n".join(f"{k}: {v}" for k, v in resp.headers.items())


def test_markers_are_in_the_store(site):
    """The walk below proves something only if the markers are really there to leak."""
    k, _ = site
    dump = "\n".join(str(tuple(r)) for t in ("residents", "visits", "calls", "cases", "case_history", "surveys",
                                             "questionnaire_answers") for r in k.db.conn.execute(f"SELECT * FROM {t}"))
    absent = [what for what, marker in MARKERS.items()
              if marker not in dump and "ID number" not in what]  # ID numbers are kept hashed
    assert absent == []


@pytest.mark.parametrize("address", [OUTSIDER, KIOSK_ADDRESS], ids=["anonymous", "kiosk"])
def test_every_route_answers_an_anonymous_caller_without_personal_data(site, address):
    """Someone on the LAN, and the kiosk itself (whose screen anyone in the hall reads).
    The one exception: an enrolled kiosk gets the directory's units (no names) for the
    visitor form's unit picker (DEVICE_ONLY); someone on the LAN gets nothing of them."""
    k, seeded = site
    if address == KIOSK_ADDRESS:
        k.config.server.kiosk_addresses = [KIOSK_ADDRESS]
    app = create_app(k.services, TESTING=True)
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    now = k.clock.now()
    day, month = now.date().isoformat(), now.strftime("%Y-%m")
    found: dict[str, list[str]] = {}
    walked = 0
    for rule in app.url_map.iter_rules():
        if rule.rule == "/api/v1/events":
            continue  # the stream: its own test below
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            for values in path_values(rule, seeded, k, day, month):
                url = url_of(rule, values)
                resp = client.get(url) if method == "GET" else client.open(url, method=method, json={})
                walked += 1
                assert resp.status_code < 500, f"{method} {url} answered {resp.status_code}"
                problems = leaks(answer_text(resp), sent=url)
                if address == KIOSK_ADDRESS:
                    problems = [p for p in problems if p not in DEVICE_ONLY.get(rule.rule, ())]
                if problems:
                    found[f"{method} {url} ({resp.status_code})"] = problems
    assert walked > 60
    assert found == {}


def test_the_public_event_stream_carries_no_personal_data(site):
    k, _ = site
    app = create_app(k.services, TESTING=True)
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = OUTSIDER
    resp = client.get("/api/v1/events", headers={"Last-Event-ID": "0"}, buffered=False)
    assert resp.status_code == 200
    last = k.bus.publish("ticket.updated", {"id": 0, "number": "Z999"}).id  # a fact the public sees
    text = ""
    deadline = time.monotonic() + 20
    chunks = iter(resp.response)
    try:
        while f"id: {last}\n" not in text and time.monotonic() < deadline:
            chunk = next(chunks)
            text += chunk.decode() if isinstance(chunk, bytes) else chunk
    finally:
        resp.close()
    assert f"id: {last}\n" in text, "the stream did not replay up to the end marker"
    assert "event: ticket.issued" in text  # the replay did carry the seeded queue events
    assert leaks(text) == []


def test_a_kiosks_own_answers_carry_no_personal_data(config, clock):
    """The kiosk's flow end to end (check in by card, ID and as a visitor, take a ticket
    and file a case with the check-in token, scan, check out, rate): its answers show the
    masked greeting and the token, never the directory's or the visit's details."""
    from kiosk.runtime import Kiosk

    config.server.kiosk_addresses = [KIOSK_ADDRESS]
    k = Kiosk(config, clock=clock)
    try:
        seeded = seed(k)
        app = create_app(k.services, TESTING=True)
        kiosk = app.test_client()
        kiosk.environ_base["REMOTE_ADDR"] = KIOSK_ADDRESS
        m = MARKERS
        answers = []

        def post(path: str, body: dict, status: int | None = 201) -> dict:
            resp = kiosk.post(path, json=body)
            answers.append(f"POST {path}: " + answer_text(resp))
            if status is not None:
                assert resp.status_code == status, (path, resp.get_json())
            return resp.get_json()

        card = k.visits.issue_card(m["resident id"], 30)
        by_card = post("/api/v1/checkins", {"method": "qr", "payload": card})
        assert by_card["greeting"] == {"name": "Q**"}
        ticket = post("/api/v1/tickets", {"service": "C", "checkin_token": by_card["checkin_token"]})
        by_id = post("/api/v1/checkins", {"method": "id", "id_number": m["resident ID number"]})
        post("/api/v1/cases", {"type": "repair", "description": m["case description"], "unit": m["case unit"],
                               "contact_phone": m["case phone"], "checkin_token": by_id["checkin_token"]})
        visitor = post("/api/v1/checkins", {"method": "manual", "visitor": {
            "name": m["visitor name"], "phone": m["visitor phone"], "unit": m["visitor unit"]}})
        assert visitor["greeting"] == {"name": "Q**"}
        post("/api/v1/scans", {"payload": card}, status=200)
        job = k.db.query_one("SELECT payload FROM print_jobs WHERE kind = 'visitor_pass' ORDER BY id DESC LIMIT 1")
        pass_code = json.loads(job["payload"])["qr_payload"]
        post("/api/v1/checkouts", {"payload": pass_code}, status=200)
        for path in (f"/api/v1/tickets/{ticket['id']}", *(f"/api/v1/tickets/{t}" for t in seeded.tickets),
                     "/api/v1/surveys/pending?counter=1", "/api/v1/board", "/api/v1/services", "/kiosk", "/rate",
                     "/display"):
            answers.append(f"GET {path}: " + answer_text(kiosk.get(path)))
        k.queue.call(ticket["id"], "1", "reception1")
        k.queue.act(ticket["id"], Action.FINISH, actor="reception1")
        post("/api/v1/surveys", {"ticket_code": ticket["phone_url"], "score": 5, "comment": "ok"})
        found = {a.split(":")[0]: leaks(a) for a in answers if leaks(a)}
        assert found == {}
    finally:
        k.stop()
