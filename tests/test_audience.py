"""Who sees what of each live event (kiosk/audience.py): public queue facts, staff by role,
a kiosk only the greeting of its own scans."""

from __future__ import annotations

import pytest

from kiosk import audience
from kiosk import events as ev
from kiosk.audience import PUBLIC_AUDIENCE, device, staff, view, visible_names
from kiosk.privacy import mask_name

MARKERS = ("MARK-NAME", "13900000000", "MARK-UNIT", "MARK-TEXT", "R-MARK")

TICKET = {"id": 5, "number": "A005", "service": "A", "origin_service": "A", "service_name_zh": "咨询",
          "service_name_en": "Inquiry", "status": "called", "counter": "2", "priority": False, "transferred": False,
          "recalls": 0, "issued_at": "t", "called_at": "t", "started_at": None, "finished_at": None,
          "no_show_at": None, "position": 0, "people_ahead": 0, "estimated_wait_s": 0, "day": "2026-11-27",
          "version": 2, "resident_id": "R-MARK", "visit_id": 9, "reference": "KT1:demo-site:5:A005"}
VISIT = {"id": 9, "kind": "resident", "method": "qr", "name": "MARK-NAME", "unit": "MARK-UNIT",
         "checked_in_at": "t", "checked_out_at": None}
CASE = {"id": 3, "type": "complaint", "channel": "kiosk", "status": "open", "description": "MARK-TEXT",
        "contact_name": "MARK-NAME", "contact_phone": "13900000000", "unit": "MARK-UNIT", "resident_id": "R-MARK",
        "feedback_text": "MARK-TEXT", "due_at": "t", "sla": "ok", "escalated": False}
SCAN = {"kind": "resident", "source": "camera", "ok": True, "action": "checked_in", "device": "local",
        "visit": VISIT}
EVENTS = {
    ev.TICKET_ISSUED: TICKET, ev.TICKET_CALLED: TICKET, ev.TICKET_UPDATED: TICKET,
    ev.PRINTER_STATUS: {"status": "down", "reason": "offline", "error": "connect to 10.0.0.5 refused"},
    ev.CALL_INCOMING: {"id": 1, "kind": "normal", "started_at": "t", "matched": True},
    ev.QR_SCANNED: SCAN, ev.VISIT_CHECKED_IN: VISIT, ev.VISIT_CHECKED_OUT: VISIT,
    ev.CAMERA_STATUS: {"state": "unreadable", "device": "local"},
    ev.CASE_CREATED: CASE, ev.CASE_UPDATED: CASE, ev.CASE_DUE_SOON: CASE, ev.CASE_OVERDUE: CASE,
    ev.CASE_ESCALATED: {**CASE, "to": "manager"},
    ev.SURVEY_ANSWERED: {"id": 1, "score": 2, "comment": "MARK-TEXT", "case_id": 3},
}


def received(who: audience.Audience) -> dict[str, dict]:
    return {name: out for name, data in EVENTS.items() if (out := view(name, data, who)) is not None}


def has_marker(value: object) -> bool:
    return any(marker in repr(value) for marker in MARKERS)


def test_the_public_gets_queue_facts_only():
    got = received(PUBLIC_AUDIENCE)
    assert set(got) == {ev.TICKET_ISSUED, ev.TICKET_CALLED, ev.TICKET_UPDATED, ev.PRINTER_STATUS}
    assert not has_marker(got)
    assert got[ev.TICKET_CALLED] == {key: TICKET[key] for key in audience.TICKET_FACTS if key in TICKET}
    assert "reference" not in got[ev.TICKET_CALLED] and "visit_id" not in got[ev.TICKET_CALLED]
    assert got[ev.PRINTER_STATUS] == {"status": "down", "reason": "offline"}  # the error text stays inside


def test_unknown_events_reach_no_one_but_managers():
    assert view("something.new", {"name": "MARK-NAME"}, PUBLIC_AUDIENCE) is None
    assert view("something.new", {"name": "MARK-NAME"}, staff("receptionist")) is None
    assert view("something.new", {"x": 1}, staff("manager")) == {"x": 1}


def test_a_kiosk_gets_the_masked_greeting_of_its_own_scans_only():
    mine = received(device("local", "kiosk"))
    assert set(mine) == {ev.TICKET_ISSUED, ev.TICKET_CALLED, ev.TICKET_UPDATED, ev.PRINTER_STATUS, ev.QR_SCANNED,
                         ev.CAMERA_STATUS}
    assert mine[ev.CAMERA_STATUS] == {"state": "unreadable"}
    assert mine[ev.QR_SCANNED] == {"kind": "resident", "source": "camera", "ok": True, "action": "checked_in",
                                   "visit": {"id": 9, "name": "M**"}}
    assert not has_marker(mine)
    assert ev.QR_SCANNED not in received(device("lobby-2", "kiosk"))  # another kiosk's scan
    assert ev.CAMERA_STATUS not in received(device("lobby-2", "kiosk"))  # the box's camera is not its
    assert ev.CAMERA_STATUS not in received(PUBLIC_AUDIENCE)
    assert ev.QR_SCANNED not in received(device("local", "display"))  # a display greets no one
    refused = {**SCAN, "ok": False, "action": "refused", "visit": None,
               "error": {"code": "token_expired", "message": "expired"}}
    assert view(ev.QR_SCANNED, refused, device("local", "kiosk"))["error"]["code"] == "token_expired"


@pytest.mark.parametrize("role, gets, without", [
    ("receptionist", {ev.CALL_INCOMING, ev.CASE_CREATED, ev.CASE_OVERDUE, ev.CAMERA_STATUS},
     {ev.VISIT_CHECKED_IN, ev.VISIT_CHECKED_OUT, ev.QR_SCANNED, ev.SURVEY_ANSWERED}),
    ("specialist", {ev.CALL_INCOMING, ev.CASE_UPDATED, ev.SURVEY_ANSWERED},
     {ev.VISIT_CHECKED_IN, ev.QR_SCANNED}),
    ("security", {ev.VISIT_CHECKED_IN, ev.VISIT_CHECKED_OUT, ev.QR_SCANNED, ev.CASE_CREATED},
     {ev.CALL_INCOMING, ev.SURVEY_ANSWERED}),
    ("manager", set(EVENTS), set()),
])
def test_staff_get_what_their_role_needs(role, gets, without):
    got = received(staff(role))
    assert gets <= set(got) and not without & set(got)
    assert {ev.TICKET_CALLED, ev.PRINTER_STATUS} <= set(got)
    assert got[ev.TICKET_CALLED] == TICKET and got[ev.PRINTER_STATUS]["error"]  # whole, for staff
    assert set(got) <= (visible_names(staff(role)) or set(EVENTS))


def test_security_sees_that_cases_exist_but_not_their_text():
    got = received(staff("security"))
    for name in (ev.CASE_CREATED, ev.CASE_UPDATED, ev.CASE_DUE_SOON, ev.CASE_OVERDUE, ev.CASE_ESCALATED):
        assert not has_marker(got[name]), name
        assert got[name]["id"] == 3 and got[name]["status"] == "open"
    assert received(staff("manager"))[ev.CASE_CREATED]["description"] == "MARK-TEXT"
    assert received(staff("receptionist"))[ev.CASE_CREATED]["description"] == "MARK-TEXT"


def test_view_does_not_change_the_event():
    before = repr(EVENTS)
    for who in (PUBLIC_AUDIENCE, device("local", "kiosk"), staff("security"), staff("manager")):
        for name, data in EVENTS.items():
            out = view(name, data, who)
            if out is not None:
                out.clear()
    assert repr(EVENTS) == before


@pytest.mark.parametrize("name, shown", [("张三", "张*"), ("欧阳娜娜", "欧**"), ("Wei Zhang", "W**"), ("", ""),
                                         (None, ""), (" 李 ", "李")])
def test_mask_name(name, shown):
    """One mask for every greeting, in answers and on the stream alike."""
    assert mask_name(name) == shown
