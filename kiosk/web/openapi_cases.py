"""OpenAPI paths of cases, surveys, the questionnaire, reports, spot checks, improvement
actions and the resident profile; merged into /api/v1/openapi.json."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kiosk.web.openapi_common import CHECKIN_TOKEN, ID, json_content

_CASE = {"type": "object", "properties": {
    "id": {"type": "integer"}, "type": {"type": "string", "enum": ["inquiry", "complaint", "repair", "other"]},
    "channel": {"type": "string", "enum": ["counter", "phone", "kiosk", "app"]},
    "status": {"type": "string", "enum": ["open", "in_progress", "feedback_given", "closed"]},
    "due_at": {"type": "string", "format": "date-time"},
    "sla": {"type": "string", "enum": ["ok", "due_soon", "overdue", "met", "missed"]},
    "history": {"type": "array", "items": {"type": "object"}}}}


def _p(name: str, typ: str = "integer") -> dict:
    return {"name": name, "in": "path", "required": True, "schema": ID if typ == "integer" else {"type": typ}}


def _body(properties: dict, *required: str) -> dict:
    return {"type": "object", "additionalProperties": False, "required": list(required), "properties": properties}


_TEXT = {"type": "string"}
_DAY = {"type": "string", "example": "2026-11-27", "description": "YYYY-MM-DD"}
#: Every case action takes these (each optional; the action reads the ones it needs).
_ACTION_BODY = {"required": False, **json_content(_body(dict.fromkeys(("text", "method", "team", "assignee"),
                                                                      _TEXT)))}


def cases_paths(op: Callable[..., dict], json: Callable[[dict], dict]) -> dict[str, Any]:
    ok = {"200": {"description": "ok"}}
    created = {"201": {"description": "created"}}
    case_ok = {"200": {"description": "the case", **json(_CASE)}}
    return {
        "/api/v1/cases": {
            "post": {**op("Record a case (staff; or an enrolled kiosk: complaint/repair, channel kiosk, prints a "
                          "slip, linked to a check-in by its checkin_token; visit_id, resident_id, ticket_id and "
                          "call_id are staff only)",
                          {"201": {"description": "the case; a kiosk gets only id, type, channel, status, due_at, "
                                                  "created_at and print (no contact fields, no text)",
                                   **json(_CASE)}},
                          body=_body(dict.fromkeys((
                              "type", "description", "channel", "resident_id", "category", "contact_name",
                              "contact_phone", "unit"), _TEXT) | dict.fromkeys(("ticket_id", "call_id", "visit_id"), ID)
                              | {"print": {"type": "boolean"}, "checkin_token": CHECKIN_TOKEN}, "type", "description"),
                          errors=(403, 404)),
                     "security": [{}, {"bearer": []}, {"session": []}]},
            "get": {**op("Cases (staff); filters status, type, overdue, team, assignee, resident_id",
                         ok, staff=True),
                    "parameters": [{"name": n, "in": "query", "schema": {"type": "string"}}
                                   for n in ("status", "type", "team", "assignee", "resident_id")] + [
                        {"name": "overdue", "in": "query",
                         "schema": {"type": "string", "enum": ["", "0", "1", "true", "false"]}},
                        {"name": "limit", "in": "query",
                         "schema": {"type": "integer", "minimum": 1, "maximum": 1000}}]},
        },
        "/api/v1/cases/board": {"get": op("The case board: overdue, due soon, mine, open, recently closed", ok,
                                          staff=True)},
        "/api/v1/cases/alerts": {"get": op("Overdue / due-soon cases and inquiry tickets waiting too long", ok,
                                           staff=True)},
        "/api/v1/cases/{case_id}": {"get": {**op("One case with its history", case_ok, staff=True),
                                            "parameters": [_p("case_id")]}},
        **{f"/api/v1/cases/{{case_id}}/{action}": {"post": {**op(summary, case_ok, staff=True, errors=(409,)),
                                                            "parameters": [_p("case_id")],
                                                            "requestBody": _ACTION_BODY}}
           for action, summary in (("assign", "Hand over to a team / person {team, assignee}"),
                                   ("start", "Start working on the case"),
                                   ("answer", "Record the first answer {text}"),
                                   ("feedback", "Record the feedback given to the resident {text, method}"),
                                   ("close", "Close (complaints: specialist or manager only)"),
                                   ("reopen", "Reopen (specialist or manager)"), ("note", "Add a note {text}"))},
        "/api/v1/surveys": {"post": {**op(
            "Rate a finished ticket 1-5, once. A kiosk or tablet rates only the ticket just finished at `counter` "
            "(ticket_id + counter) or the holder's own ticket by its scanned QR code (ticket_code); staff rate "
            "any ticket or case by id (403 rating_not_allowed otherwise)", created,
            body=_body({"ticket_id": ID, "case_id": {**ID, "description": "staff only"},
                        "ticket_code": {"type": "string", "description": "the QR code printed on the ticket"},
                        "counter": _TEXT, "score": {"type": "integer", "minimum": 1, "maximum": 5},
                        "comment": _TEXT, "channel": _TEXT}, "score"),
            errors=(403, 404, 409)),
            "security": [{}, {"bearer": []}, {"session": []}]}},
        "/api/v1/surveys/pending": {"get": {**op(
            "The ticket the counter just finished, if not rated yet (at most one; nobody else's)", ok,
            errors=(400, 404)),
            "parameters": [{"name": "counter", "in": "query", "required": True, "schema": {"type": "string"}}]}},
        "/api/v1/questionnaire": {
            "get": op("The periodic questionnaire", ok),
            "post": {**op("Answer the questionnaire {answers: [1-5, ...], comment} (an enrolled kiosk or tablet, "
                          "or staff)", created,
                          body=_body({"answers": {"type": "array", "items": {"type": "integer", "minimum": 1,
                                                                             "maximum": 5}},
                                      "comment": _TEXT}, "answers")),
                     "security": [{}, {"bearer": []}, {"session": []}]},
        },
        "/api/v1/reports/{kind}/{period}": {"get": {**op("Daily (YYYY-MM-DD) or monthly (YYYY-MM) report (manager)",
                                                         ok, staff=True, errors=(400,)),
                                                    "parameters": [
                                                        {"name": "kind", "in": "path", "required": True,
                                                         "schema": {"type": "string", "enum": ["daily", "monthly"]}},
                                                        {"name": "period", "in": "path", "required": True,
                                                         "schema": {"type": "string", "example": "2026-11-27",
                                                                    "description": "YYYY-MM-DD (daily) or YYYY-MM "
                                                                                   "(monthly)"}}]}},
        "/api/v1/spot-checks": {"post": op("Draw a seeded sample {from, to, size, seed?} (manager)", created,
                                           staff=True,
                                           body=_body({"from": _DAY, "to": _DAY,
                                                       "size": {"type": "integer", "minimum": 1},
                                                       "seed": {"type": "integer", "minimum": 0,
                                                                "maximum": 2**63 - 1}},
                                                      "from", "to", "size"))},
        "/api/v1/spot-checks/{check_id}": {"get": {**op("A spot check with its items (manager)", ok, staff=True),
                                                   "parameters": [_p("check_id")]}},
        "/api/v1/spot-check-items/{item_id}": {"post": {**op(
            "Verdict {verdict: good|acceptable|poor, remark}", ok, staff=True,
            body=_body({"verdict": {"type": "string", "enum": ["good", "acceptable", "poor"]}, "remark": _TEXT},
                       "verdict")), "parameters": [_p("item_id")]}},
        "/api/v1/improvement-actions": {"post": op(
            "Record an improvement action (manager)", created, staff=True,
            body=_body({"month": {"type": "string", "example": "2026-11"}, "finding": _TEXT, "action": _TEXT,
                        "owner": _TEXT, "due_date": _DAY}, "month", "finding", "action", "owner", "due_date"))},
        "/api/v1/improvement-actions/{action_id}": {"post": {**op(
            "Update status / progress (manager)", ok, staff=True,
            body=_body({"status": _TEXT, "progress": _TEXT})), "parameters": [_p("action_id")]}},
        "/api/v1/residents/{resident_id}/profile": {"get": {**op(
            "Visits, tickets, cases with history, calls and ratings of one resident (audited)", ok, staff=True,
            errors=(503,)),
            "parameters": [_p("resident_id", "string")]}},
    }
