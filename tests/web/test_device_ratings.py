"""Ratings from the kiosk and the counter tablet: the tablet rates only the ticket its
counter just finished, the kiosk only a ticket whose QR code is scanned there; nobody
else's ticket is listed, and a case is not rated by its id without a staff login."""

from __future__ import annotations

from kiosk import capability
from kiosk.queue.rules import Action
from tests.conftest import bearer


def served(kiosk, counter: str = "1", service: str = "A") -> dict:
    """A ticket finished at `counter`, with the phone link its QR code holds."""
    issued = kiosk.queue.issue(service)
    t = issued.ticket
    kiosk.queue.call(t["id"], counter, "reception1")
    kiosk.queue.act(t["id"], Action.FINISH, actor="reception1")
    return {**kiosk.queue.get(t["id"]), "phone_url": issued.phone_url}


def rate(client, **body):
    return client.post("/api/v1/surveys", json={"score": 4, **body})


def test_the_tablet_sees_and_rates_only_the_counters_last_ticket(client, kiosk):
    older = served(kiosk)
    last = served(kiosk)
    other_counter = served(kiosk, counter="2", service="C")
    assert client.get("/api/v1/surveys/pending?counter=1").get_json() == {
        "pending": [{"ticket_id": last["id"], "number": last["number"], "counter": "1"}]}
    assert client.get("/api/v1/surveys/pending").status_code == 400  # no list of every counter's tickets
    for ticket, counter in ((older, "1"), (other_counter, "1"), (last, "2")):
        resp = rate(client, ticket_id=ticket["id"], counter=counter)
        assert resp.status_code == 403 and resp.get_json()["error"]["code"] == "rating_not_allowed"
    ok = rate(client, ticket_id=last["id"], counter="1", channel="tablet")
    assert ok.status_code == 201 and "resident_id" not in ok.get_json()
    assert client.get("/api/v1/surveys/pending?counter=1").get_json() == {"pending": []}
    assert kiosk.db.query("SELECT ticket_id FROM surveys") == [{"ticket_id": last["id"]}]


def test_the_tablet_offers_nothing_once_the_rating_window_of_the_counter_passes(client, kiosk, clock):
    last = served(kiosk)
    clock.advance(minutes=16)
    assert client.get("/api/v1/surveys/pending?counter=1").get_json() == {"pending": []}
    assert rate(client, ticket_id=last["id"], counter="1").status_code == 403


def test_the_kiosk_rates_a_scanned_ticket(client, kiosk):
    mine = served(kiosk)
    # the old KT1 reference (site, id, number) is made of queue facts anyone can read: no proof
    other = served(kiosk)
    resp = rate(client, ticket_code=kiosk.queue.ticket_reference(other))
    assert resp.status_code == 400 and resp.get_json()["error"]["code"] == "unknown_code"
    resp = rate(client, ticket_code=mine["phone_url"])
    assert resp.status_code == 201 and resp.get_json()["ticket_id"] == mine["id"]
    assert rate(client, ticket_code=mine["phone_url"]).status_code == 409  # once
    waiting = kiosk.queue.issue("B")
    assert rate(client, ticket_code=waiting.phone_url).get_json()["error"]["code"] == "not_finished"
    forged = mine["phone_url"].rsplit("/", 1)[0] + "/" + capability.new()  # a link to no ticket
    for code in (forged, "KT1:other-site:1:A001", "garbage"):
        resp = rate(client, ticket_code=code)
        assert resp.status_code == 400 and resp.get_json()["error"]["code"] == "unknown_code", code
    assert rate(client, ticket_code=mine["phone_url"], ticket_id=mine["id"]).status_code == 400
    assert kiosk.db.scalar("SELECT COUNT(*) FROM surveys") == 1


def test_a_device_may_not_rate_a_ticket_or_case_by_its_id(client, kiosk, tokens):
    t = served(kiosk)
    case = kiosk.cases.create(type="repair", description="灯坏了", channel="counter")
    assert rate(client, ticket_id=t["id"]).status_code == 400  # no counter, no scanned code
    resp = rate(client, case_id=case["id"])
    assert resp.status_code == 403 and resp.get_json()["error"]["code"] == "rating_not_allowed"
    assert kiosk.db.scalar("SELECT COUNT(*) FROM surveys") == 0
    staff = client.post("/api/v1/surveys", json={"case_id": case["id"], "score": 3},
                        headers=bearer(tokens["specialist"]))
    assert staff.status_code == 201 and staff.get_json()["case_id"] == case["id"]
