"""The OpenAPI 3 description served at /api/v1/openapi.json."""

from __future__ import annotations

from typing import Any

from kiosk import __version__
from kiosk.web.openapi_calls import calls_paths
from kiosk.web.openapi_cases import cases_paths
from kiosk.web.openapi_common import ID
from kiosk.web.openapi_follow import follow_paths
from kiosk.web.openapi_visits import visit_paths

_ERROR = {"$ref": "#/components/schemas/Error"}
_TICKET = {"$ref": "#/components/schemas/Ticket"}
_PRINTER = {"$ref": "#/components/schemas/PrinterAvailability"}


def _json(schema: dict) -> dict:
    return {"content": {"application/json": {"schema": schema}}}


def _errors(*codes: int) -> dict:
    return {str(c): {"description": "error", **_json(_ERROR)} for c in codes}


def _op(summary: str, ok: dict, *, staff: bool = False, body: dict | None = None, errors=(400, 404)) -> dict:
    op: dict[str, Any] = {"summary": summary, "responses": {**ok, **_errors(*errors)}}
    if staff:
        op["security"] = [{"bearer": []}, {"session": []}]
        op["responses"].update(_errors(401, 403))
    if body is not None:
        op["requestBody"] = {"required": True, **_json(body)}
    return op


def _ticket_id_param() -> list[dict]:
    return [{"name": "ticket_id", "in": "path", "required": True, "schema": ID}]


def openapi_document() -> dict[str, Any]:
    action_paths = {}
    for action, summary in (("recall", "Call the ticket again"), ("start", "Start serving a called ticket"),
                            ("finish", "Finish the ticket"), ("no-show", "Mark a called ticket as no-show"),
                            ("reinstate", "Put a no-show back in the queue (within 15 minutes)"),
                            ("cancel", "Cancel a waiting ticket")):
        action_paths[f"/api/v1/tickets/{{ticket_id}}/{action}"] = {
            "post": {**_op(summary, {"200": {"description": "the ticket", **_json(_TICKET)}},
                          staff=True, errors=(404, 409)), "parameters": _ticket_id_param()}}
    return {
        "openapi": "3.0.3",
        "info": {"title": "Front-desk kiosk service", "version": __version__},
        "paths": {
            "/healthz": {"get": _op("Service and device health", {"200": {"description": "health"}}, errors=())},
            "/api/v1/openapi.json": {"get": _op("This document", {"200": {"description": "OpenAPI 3"}},
                                                errors=())},
            "/api/v1/services": {"get": _op("Services with waiting counts, and whether tickets print", {
                "200": {"description": "services", **_json({"type": "object", "properties": {
                    "services": {"type": "array", "items": {"type": "object"}}, "printer": _PRINTER}})}},
                errors=())},
            "/api/v1/board": {"get": _op("What the hall display shows, and whether tickets print", {
                "200": {"description": "board", **_json({"type": "object", "properties": {
                    "counters": {"type": "array", "items": {"type": "object"}},
                    "recent_calls": {"type": "array", "items": _TICKET},
                    "services": {"type": "array", "items": {"type": "object"}}, "printer": _PRINTER}})}},
                errors=())},
            "/api/v1/tickets": {
                "post": _op("Issue a ticket", {"201": {"description": "the new ticket", **_json(_TICKET)}},
                            body={"type": "object", "additionalProperties": False, "required": ["service"],
                                  "properties": {"service": {"type": "string", "example": "A"},
                                                 "priority": {"type": "boolean"},
                                                 "resident_token": {"type": "string"},
                                                 "visit_id": ID,
                                                 "paperless": {"type": "boolean", "description": (
                                                     "scan instead of printing: no print job, print.status "
                                                     "paperless")}}},
                            errors=(400, 413, 415, 503)),
                "get": _op("Queued tickets (staff)", {"200": {"description": "tickets"}}, staff=True),
            },
            "/api/v1/tickets/{ticket_id}": {"get": {**_op("One ticket with its position",
                                                          {"200": {"description": "ticket", **_json(_TICKET)}},
                                                          errors=(404,)), "parameters": _ticket_id_param()}},
            "/api/v1/tickets/{ticket_id}/call": {"post": {**_op(
                "Call one queued ticket to a counter", {"200": {"description": "the ticket", **_json(_TICKET)}},
                staff=True, errors=(400, 404, 409),
                body={"type": "object", "required": ["counter"], "additionalProperties": False,
                      "properties": {"counter": {"type": "string"}}}),
                "parameters": _ticket_id_param()}},
            "/api/v1/tickets/{ticket_id}/transfer": {"post": {**_op(
                "Transfer to another service, queued ahead of new tickets",
                {"200": {"description": "the ticket", **_json(_TICKET)}}, staff=True, errors=(400, 404, 409),
                body={"type": "object", "required": ["service"], "additionalProperties": False,
                      "properties": {"service": {"type": "string"}}}),
                "parameters": _ticket_id_param()}},
            **action_paths,
            **calls_paths(_op, _json),
            "/api/v1/counters/{counter}": {"get": {**_op("Tickets at a counter", {"200": {"description": "ok"}},
                                                         staff=True),
                                                   "parameters": [{"name": "counter", "in": "path",
                                                                   "required": True, "schema": {"type": "string"}}]}},
            "/api/v1/counters/{counter}/call-next": {"post": {**_op(
                "Finish the counter's ticket and call the next one",
                {"200": {"description": "the called ticket", **_json(_TICKET)},
                 "204": {"description": "nobody waits"}}, staff=True),
                "parameters": [{"name": "counter", "in": "path", "required": True, "schema": {"type": "string"}}]}},
            **visit_paths(),
            **cases_paths(_op, _json),
            **follow_paths(_json, _errors),
            "/api/v1/events": {"get": {"summary": "Server-Sent Events: ticket.issued, ticket.called, ...",
                                       "parameters": [{"name": "types", "in": "query", "schema": {"type": "string"}}],
                                       "responses": {"200": {"description": "event stream",
                                                             "content": {"text/event-stream": {}}}}}},
        },
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
                    "reference": {"type": "string"},
                    "phone_url": {"type": "string", "description": (
                        "only in the answer to the issue: the ticket's phone page {site.public_url}/t/{cap}, "
                        "the link its QR code holds")},
                    "print": {"type": "object", "properties": {"status": {
                        "type": "string", "enum": ["printed", "queued", "failed", "paperless"]}}}}},
            },
        },
    }
