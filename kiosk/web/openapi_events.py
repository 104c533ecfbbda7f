"""The OpenAPI text of the two live event streams (kiosk/audience.py decides their content)."""

from __future__ import annotations

from typing import Any

from kiosk.audience import CASE_FACTS, TICKET_FACTS

_ERROR = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}

_PARAMETERS: list[dict[str, Any]] = [
    {"name": "types", "in": "query", "schema": {"type": "string", "example": "ticket.called,ticket.updated"},
     "description": "comma-separated event names to receive; absent or empty: every event this stream carries"},
    {"name": "last_id", "in": "query", "schema": {"type": "string"},
     "description": "resume after this event id (as the Last-Event-ID header does; the header wins); the last "
                    "200 events are kept. A value that is not a whole number is ignored"},
    {"name": "Last-Event-ID", "in": "header", "schema": {"type": "string"},
     "description": "sent by browsers when they reconnect: the events after it are sent first"},
]

_STREAM = {"description": "text/event-stream: `retry:`, then `id:`/`event:`/`data:` blocks (data is JSON) and a "
                          "`: keep-alive` comment every 1.5 s while idle. The stream ends when the server stops; "
                          "clients reconnect with Last-Event-ID.",
           "content": {"text/event-stream": {"schema": {"type": "string"}}}}
_TOO_MANY = {"description": "this address holds `server.streams_per_address` streams already (default 10); "
                            "`too_many_streams`",
             "headers": {"Retry-After": {"schema": {"type": "integer"}, "description": "seconds"}},
             "content": _ERROR}


def events_paths() -> dict[str, Any]:
    public = ("Live queue facts for anyone (the hall display, the kiosk, phones): `ticket.issued`, "
              "`ticket.called`, `ticket.updated` with only the fields " + ", ".join(TICKET_FACTS) +
              "; `printer.status` with only `status` and `reason`. Nothing about people. An enrolled kiosk (the "
              "box's own screen: an address in `server.kiosk_addresses`) also gets `qr.scanned` for scans made "
              "at it (its camera and scanner), as a greeting: kind, source, ok, action, `visit` {id, name "
              "masked to its first character}, or `error`; and `camera.status` {state: offline, looking, "
              "unreadable or read} of its camera's live hint.")
    staff = ("Every live event the caller's role may see; login session or bearer token. All roles: tickets "
             "(whole) and `printer.status` (with `error`), and `camera.status`. receptionist: "
             "`case.*` and `call.incoming`, no visits; specialist: `case.*`, `call.incoming`, "
             "`survey.answered`; security: `visit.checked_in`, `visit.checked_out`, `qr.scanned`, and of "
             "`case.*` only " + ", ".join(CASE_FACTS) + " (no case text); manager: everything.")
    return {
        "/api/v1/events": {"get": {
            "summary": "Server-Sent Events: public queue facts", "description": public, "security": [],
            "parameters": _PARAMETERS,
            "responses": {"200": _STREAM, "429": _TOO_MANY}}},
        "/api/v1/staff/events": {"get": {
            "summary": "Server-Sent Events for staff, filtered by role", "description": staff,
            "security": [{"bearer": []}, {"session": []}],
            "parameters": _PARAMETERS,
            "responses": {"200": _STREAM,
                          "401": {"description": "no session or token (`unauthorized`)", "content": _ERROR},
                          "429": _TOO_MANY}}},
    }
