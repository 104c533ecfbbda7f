"""The OpenAPI 3 description served at /api/v1/openapi.json."""

from __future__ import annotations

from typing import Any

from kiosk import __version__
from kiosk.services.prompts import PROMPTS
from kiosk.web.openapi_calls import calls_paths
from kiosk.web.openapi_cases import cases_paths
from kiosk.web.openapi_common import (
    CHECKIN_TOKEN,
    EMPTY_BODY,
    ID,
    STAFF_SECURITY,
    complete,
    error_responses,
    json_content,
)
from kiosk.web.openapi_events import events_paths
from kiosk.web.openapi_follow import follow_paths
from kiosk.web.openapi_visits import visit_paths

_TICKET = {"$ref": "#/components/schemas/Ticket"}
_PRINTER = {"$ref": "#/components/schemas/PrinterAvailability"}
_json = json_content


def _op(summary: str, ok: dict, *, staff: bool = False, body: dict | None = None, errors=()) -> dict:
    """An operation answering `ok`, plus `errors` particular to it; `complete` adds the
    statuses its shape implies (body, parameters, staff, write)."""
    op: dict[str, Any] = {"summary": summary, "responses": {**ok, **error_responses(*errors)}}
    if staff:
        op["security"] = STAFF_SECURITY
    if body is not None:
        op["requestBody"] = {"required": True, **_json(body)}
    return op


def _ticket_id_param() -> list[dict]:
    return [{"name": "ticket_id", "in": "path", "required": True, "schema": ID}]


_COUNTER = [{"name": "counter", "in": "path", "required": True, "schema": {"type": "string"}}]


def openapi_document() -> dict[str, Any]:
    action_paths = {}
    for action, summary in (("recall", "Call the ticket again"), ("start", "Start serving a called ticket"),
                            ("finish", "Finish the ticket"), ("no-show", "Mark a called ticket as no-show"),
                            ("reinstate", "Put a no-show back in the queue (within 15 minutes)"),
                            ("cancel", "Cancel a waiting ticket")):
        action_paths[f"/api/v1/tickets/{{ticket_id}}/{action}"] = {
            "post": {**_op(summary, {"200": {"description": "the ticket", **_json(_TICKET)}},
                          staff=True, errors=(409,)), "parameters": _ticket_id_param(), "requestBody": EMPTY_BODY}}
    return {
        "openapi": "3.0.3",
        "info": {"title": "Front-desk kiosk service", "version": __version__},
        "paths": complete({
            "/healthz": {"get": _op("Service and device health", {"200": {"description": "health"}})},
            "/api/v1/openapi.json": {"get": _op("This document", {"200": {"description": "OpenAPI 3"}})},
            "/api/v1/services": {"get": _op("Services with waiting counts, and whether tickets print", {
                "200": {"description": "services", **_json({"type": "object", "properties": {
                    "services": {"type": "array", "items": {"type": "object"}}, "printer": _PRINTER}})}})},
            "/api/v1/board": {"get": _op("What the hall display shows, and whether tickets print", {
                "200": {"description": "board", **_json({"type": "object", "properties": {
                    "counters": {"type": "array", "items": {"type": "object"}},
                    "recent_calls": {"type": "array", "items": _TICKET},
                    "services": {"type": "array", "items": {"type": "object"}}, "printer": _PRINTER}})}})},
            "/api/v1/tickets": {
                "post": {**_op("Issue a ticket (an enrolled kiosk or staff); linked to a check-in by its "
                               "checkin_token, or by visit_id (staff only)",
                               {"201": {"description": "the new ticket; to staff also resident_id and visit_id",
                                        **_json(_TICKET)}},
                               body={"type": "object", "additionalProperties": False, "required": ["service"],
                                     "properties": {"service": {"type": "string", "example": "A"},
                                                    "priority": {"type": "boolean"},
                                                    "resident_token": {"type": "string"},
                                                    "checkin_token": CHECKIN_TOKEN,
                                                    "visit_id": {**ID, "description": "staff only"},
                                                    "paperless": {"type": "boolean", "description": (
                                                        "scan instead of printing: no print job, print.status "
                                                        "paperless")}}},
                               errors=(403, 404)),
                         "security": [{}, {"bearer": []}, {"session": []}]},
                "get": {**_op("Queued tickets (staff)", {"200": {"description": "tickets", **_json({
                    "type": "object", "properties": {"tickets": {"type": "array", "items": _TICKET}}})}},
                    staff=True),
                        "parameters": [{"name": "service", "in": "query", "schema": {
                            "type": "string", "description": "comma-separated service letters; empty: all"}}]},
            },
            "/api/v1/tickets/{ticket_id}": {"get": {**_op("One ticket with its position (queue facts; to staff also "
                                                          "resident_id and visit_id)",
                                                          {"200": {"description": "ticket", **_json(_TICKET)}}),
                                            "parameters": _ticket_id_param()}},
            "/api/v1/tickets/{ticket_id}/call": {"post": {**_op(
                "Call one queued ticket to a counter", {"200": {"description": "the ticket", **_json(_TICKET)}},
                staff=True, errors=(409,),
                body={"type": "object", "required": ["counter"], "additionalProperties": False,
                      "properties": {"counter": {"type": "string"}}}),
                "parameters": _ticket_id_param()}},
            "/api/v1/tickets/{ticket_id}/transfer": {"post": {**_op(
                "Transfer to another service, queued ahead of new tickets",
                {"200": {"description": "the ticket", **_json(_TICKET)}}, staff=True, errors=(409,),
                body={"type": "object", "required": ["service"], "additionalProperties": False,
                      "properties": {"service": {"type": "string"}}}),
                "parameters": _ticket_id_param()}},
            **action_paths,
            **calls_paths(_op, _json),
            "/api/v1/counters/{counter}": {"get": {**_op("Tickets at a counter", {"200": {"description": "ok"}},
                                                         staff=True), "parameters": _COUNTER}},
            "/api/v1/counters/{counter}/call-next": {"post": {**_op(
                "Finish the counter's ticket and call the next one",
                {"200": {"description": "the called ticket", **_json(_TICKET)},
                 "204": {"description": "nobody waits"}}, staff=True),
                "parameters": _COUNTER, "requestBody": EMPTY_BODY}},
            "/kiosk/prompt": {"post": {**_op(
                "Elder mode: say the prompt of the screen just shown through the hall speaker (an enrolled kiosk "
                "or tablet, or staff); the words are fixed per prompt",
                {"202": {"description": "queued for the speaker"}},
                body={"type": "object", "required": ["prompt"], "additionalProperties": False,
                      "properties": {"prompt": {"type": "string", "enum": sorted(PROMPTS)}}}),
                "security": [{}, {"bearer": []}, {"session": []}]}},
            **visit_paths(),
            **cases_paths(_op, _json),
            **events_paths(),
            **follow_paths(_json, error_responses),
        }),
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"},
                                "session": {"type": "apiKey", "in": "cookie", "name": "session"}},
            "schemas": {
                "PrinterAvailability": {
                    "type": "object", "required": ["available", "reason"],
                    "description": "The ticket printer as the screens show it. While it is unavailable tickets "
                                   "are still issued (print.status queued) but not printed.",
                    "properties": {
                        "available": {"type": "boolean",
                                      "description": "false while the printer's health is down"},
                        "reason": {"type": "string", "nullable": True, "example": "paper_out",
                                   "description": "the health reason word while the printer is not ok, else null: "
                                                  "paper_out, cover_open, offline, not_responding, printer_error "
                                                  "(unavailable) or paper_low (still printing)"}}},
                "Error": {"type": "object", "required": ["error"],
                          "description": "Any write may answer 503 `storage_unavailable` (disk full or read-only: "
                                         "nothing was saved; /healthz names the reason under `db`).",
                          "properties": {"error": {"type": "object", "properties": {
                              "code": {"type": "string"}, "message": {"type": "string"}}}}},
                "Ticket": {"type": "object", "properties": {
                    "id": {"type": "integer"}, "number": {"type": "string", "example": "A012"},
                    "service": {"type": "string"}, "status": {"type": "string", "enum": [
                        "waiting", "called", "serving", "done", "no_show", "transferred", "cancelled", "expired"],
                        "description": "`expired`: never called before the site's midnight (site.timezone) of "
                                       "its `day`; it has no place in any queue and no action applies to it"},
                    "priority": {"type": "boolean"}, "counter": {"type": "string", "nullable": True},
                    "position": {"type": "integer",
                                 "description": "1 = next; 0 when not queued (called, done, expired, ...)"},
                    "people_ahead": {"type": "integer"},
                    "estimated_wait_s": {"type": "integer", "description": "0 when not queued"},
                    "issued_at": {"type": "string", "format": "date-time"},
                    "phone_url": {"type": "string", "description": (
                        "only in the answer to the issue: the ticket's phone page {site.public_url}/t/{cap}, "
                        "the link its QR code holds")},
                    "print": {"type": "object", "properties": {"status": {
                        "type": "string", "enum": ["printed", "queued", "failed", "paperless"]}}}}},
            },
        },
    }
