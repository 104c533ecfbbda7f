"""Event payloads are dataclasses; what subscribers and the SSE stream receive is the same
dict as before: same names, same fields in the same order."""

from __future__ import annotations

import json

from kiosk.devices.callerid import CallerId
from kiosk.events import CaseEscalated, EventBus, PrinterStatus, QrScanned, TicketIssued, VisitCheckedIn, VisitSummary
from kiosk.queue.rules import Action
from kiosk.web.api import sse_block
from tests.checkin.conftest import RESIDENTS_CSV

VISIT_FIELDS = ["id", "kind", "method", "name", "unit", "checked_in_at", "checked_out_at"]


def test_a_payload_and_its_dict_make_the_same_event():
    bus = EventBus()
    ticket = {"id": 1, "number": "A001", "status": "waiting"}
    typed, untyped = bus.publish(TicketIssued(ticket)), bus.publish("ticket.issued", ticket)
    assert (typed.name, typed.data) == (untyped.name, untyped.data) == ("ticket.issued", ticket)
    assert typed.data is not ticket  # later changes to the caller's dict do not reach subscribers
    assert sse_block(1, typed.name, typed.data) == sse_block(1, untyped.name, untyped.data)


def test_payloads_with_their_own_shape_keep_their_fields_in_order():
    visit = VisitSummary.of({"id": 7, "kind": "resident", "method": "qr", "name": "张女士", "unit": "3-2-501",
                             "checked_in_at": "2026-11-27T09:30:00+08:00", "checked_out_at": None,
                             "id_number": "never broadcast"})
    assert list(VisitCheckedIn(visit).to_dict()) == VISIT_FIELDS
    assert list(QrScanned("resident", "camera", True, "checked_in", visit=visit).to_dict()) == \
        ["kind", "source", "ok", "action", "device", "visit"]
    refused = QrScanned("unknown", "wedge", False, "refused", error={"code": "unknown_code", "message": "no"})
    assert refused.to_dict() == {"kind": "unknown", "source": "wedge", "ok": False, "action": "refused",
                                 "device": None, "error": {"code": "unknown_code", "message": "no"}}
    assert PrinterStatus("down", "offline", "connection refused").to_dict() == \
        {"status": "down", "reason": "offline", "error": "connection refused"}
    assert CaseEscalated({"id": 3, "sla": "overdue"}, to="manager").to_dict() == \
        {"id": 3, "sla": "overdue", "to": "manager"}


def test_services_publish_what_they_return(kiosk, clock, recorded_events):
    issued = kiosk.queue.issue("A")
    called = kiosk.queue.call_next("1")
    finished = kiosk.queue.act(called["id"], Action.FINISH, actor="r")
    survey = kiosk.surveys.answer(score=5, ticket_id=called["id"])
    call = kiosk.calls.incoming(CallerId("", "", "private", None, None, 0.0))
    kiosk.visits.import_residents(RESIDENTS_CSV)
    scanned = kiosk.visits.scan(kiosk.visits.issue_card("r-zhang", 30), source="camera")

    assert recorded_events.names() == ["ticket.issued", "ticket.called", "ticket.updated", "survey.answered",
                                       "call.incoming", "visit.checked_in", "qr.scanned"]
    data = recorded_events.data()
    assert data[:4] == [issued.ticket, called, finished, survey]
    assert list(data[0]) == list(issued.ticket)
    assert data[4] == {"id": call["id"], "kind": "private", "started_at": "2026-11-27T09:30:00+08:00",
                       "matched": False}
    assert list(data[5]) == VISIT_FIELDS and data[5]["name"] == "张女士"
    assert data[6] == scanned and json.dumps(data[6], ensure_ascii=False).count("KR1:") == 0
