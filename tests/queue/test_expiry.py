"""Yesterday's tickets expire: a ticket never called before the site's midnight reads
`expired`, with no place in the queue and no wait, in the API and the lists that show it.
The status is derived when read (the row keeps `waiting` and its `day`), so a box that
was off at midnight is right too; nothing is written and nothing is sent to central."""

from __future__ import annotations

import time
from datetime import datetime

import pytest

from kiosk.errors import Conflict
from kiosk.queue.rules import Action, Status, effective_status
from tests.conftest import TZ, bearer

MIDNIGHT = datetime(2026, 11, 28, 0, 0, 0, tzinfo=TZ)  # the site's midnight after the clock fixture's day


def test_effective_status_rule():
    assert effective_status("waiting", "2026-11-27", "2026-11-28") is Status.EXPIRED
    assert effective_status("transferred", "2026-11-27", "2026-11-28") is Status.EXPIRED
    assert effective_status("waiting", "2026-11-28", "2026-11-28") is Status.WAITING
    for kept in ("called", "serving", "done", "no_show", "cancelled"):  # only queued tickets expire
        assert effective_status(kept, "2026-11-27", "2026-11-28") is Status(kept)


def test_after_midnight_yesterdays_waiting_ticket_reads_expired_over_http(kiosk, clock, client):
    ticket = client.post("/api/v1/tickets", json={"service": "A"}).get_json()
    assert ticket["status"] == "waiting" and ticket["position"] == 1

    clock.set(datetime(2026, 11, 27, 23, 59, 59, tzinfo=TZ))
    before = client.get(f"/api/v1/tickets/{ticket['id']}").get_json()
    assert (before["status"], before["position"]) == ("waiting", 1)

    clock.set(MIDNIGHT)
    after = client.get(f"/api/v1/tickets/{ticket['id']}")
    assert after.status_code == 200
    body = after.get_json()
    assert body["status"] == "expired"
    assert (body["position"], body["people_ahead"], body["estimated_wait_s"]) == (0, 0, 0)
    assert body["number"] == ticket["number"] and body["day"] == "2026-11-27"


def test_local_midnight_decides_not_utc_midnight(kiosk, clock):
    ticket = kiosk.queue.issue("A").ticket
    clock.set(datetime(2026, 11, 28, 7, 59, tzinfo=TZ))      # 23:59 UTC, the next local day: expired
    assert kiosk.queue.get(ticket["id"])["status"] == "expired"
    clock.set(datetime(2026, 11, 27, 23, 30, tzinfo=TZ))     # 15:30 UTC, the same local day
    assert kiosk.queue.get(ticket["id"])["status"] == "waiting"


def test_transferred_ticket_expires_too(kiosk, clock):
    q = kiosk.queue
    ticket = q.issue("C").ticket
    q.call(ticket["id"], "1")
    q.act(ticket["id"], Action.TRANSFER, target_service="A")
    clock.set(MIDNIGHT)
    assert q.get(ticket["id"])["status"] == "expired"


def test_called_or_finished_tickets_do_not_expire(kiosk, clock):
    q = kiosk.queue
    called = q.issue("A").ticket
    done = q.issue("B").ticket
    q.call(called["id"], "1")
    q.call(done["id"], "2")
    q.act(done["id"], Action.FINISH)
    clock.set(MIDNIGHT)
    assert q.get(called["id"])["status"] == "called"
    assert q.get(done["id"])["status"] == "done"


def test_call_next_never_calls_an_expired_ticket(kiosk, clock, client, tokens):
    old = kiosk.queue.issue("A").ticket
    clock.set(MIDNIGHT)
    answer = client.post("/api/v1/counters/1/call-next", headers=bearer(tokens["receptionist"]))
    assert answer.status_code == 204, answer.get_data(as_text=True)
    today = kiosk.queue.issue("A").ticket
    called = client.post("/api/v1/counters/1/call-next", headers=bearer(tokens["receptionist"])).get_json()
    assert called["id"] == today["id"]
    assert kiosk.queue.get(old["id"])["status"] == "expired"
    assert [t["id"] for t in kiosk.queue.queued()] == []


def test_no_action_applies_to_an_expired_ticket(kiosk, clock, client, tokens):
    old = kiosk.queue.issue("A").ticket
    clock.set(MIDNIGHT)
    answer = client.post(f"/api/v1/tickets/{old['id']}/call", json={"counter": "1"},
                         headers=bearer(tokens["receptionist"]))
    assert answer.status_code == 409
    assert answer.get_json()["error"]["code"] == "invalid_transition"
    with pytest.raises(Conflict):
        kiosk.queue.act(old["id"], Action.CANCEL)


def test_expiry_is_read_not_written(kiosk, clock):
    """The stored row, its history and the outbox are untouched: central sees the ticket's
    last real state (`waiting`, with its `day`), as docs/sync.md says."""
    ticket = kiosk.queue.issue("A").ticket
    outbox_before = kiosk.db.query("SELECT id FROM outbox")
    clock.set(MIDNIGHT)
    assert kiosk.queue.get(ticket["id"])["status"] == "expired"
    row = kiosk.db.query_one("SELECT status, version FROM tickets WHERE id = ?", (ticket["id"],))
    assert row == {"status": "waiting", "version": 1}
    assert kiosk.db.query("SELECT id FROM outbox") == outbox_before
    assert kiosk.db.scalar("SELECT COUNT(*) FROM ticket_events WHERE ticket_id = ?", (ticket["id"],)) == 1


def test_the_resident_profile_lists_the_ticket_as_expired(kiosk, clock):
    kiosk.visits.import_residents("id,name,unit,phone\nr-li,李先生,1-1-101,13900139000\n")
    kiosk.queue.issue("A", resident_id="r-li")
    clock.set(MIDNIGHT)
    profile = kiosk.services.residents.profile("r-li")
    assert [t["status"] for t in profile["tickets"]] == ["expired"]


def test_yesterdays_unprinted_ticket_is_not_printed_after_midnight(kiosk, clock):
    kiosk.printer.set_offline(True)
    stale = kiosk.queue.issue("A")
    assert stale.print_status == "queued"
    clock.set(MIDNIGHT)
    kiosk.printer.set_offline(False)
    kiosk.services.retry_printer()
    deadline = time.monotonic() + 10
    while kiosk.services.printer_health().status != "ok" and time.monotonic() < deadline:
        time.sleep(0.05)
    fresh = kiosk.queue.issue("A")
    assert fresh.print_status == "printed"
    deadline = time.monotonic() + 10  # the marks are written in batches
    while kiosk.db.scalar("SELECT COUNT(*) FROM print_jobs WHERE status = 'pending'") and time.monotonic() < deadline:
        time.sleep(0.05)
    jobs = {r["ticket_id"]: r["status"] for r in kiosk.db.query("SELECT ticket_id, status FROM print_jobs")}
    assert jobs == {stale.ticket["id"]: "skipped", fresh.ticket["id"]: "printed"}
    assert len(kiosk.printer.list_jobs()) == 1
