"""OpenAPI paths of the residents' phone pages' data: a ticket and a case reached by their
capability (the `{cap}` of `/t/{cap}` and `/c/{cap}`), and the case's one rating."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

CAP = {"name": "cap", "in": "path", "required": True,
       "schema": {"type": "string", "pattern": "^[A-Za-z0-9_-]{22}$"},
       "description": "the capability printed in the QR code (128 random bits, base64url); any other value "
                      "answers 404 and tells nothing"}
_NOT_FOUND = "no ticket or case has this capability (unknown, altered or deleted)"

FOLLOWED_TICKET = {"type": "object", "description": "Queue facts only: no id, name, phone or unit.", "properties": {
    "number": {"type": "string", "example": "A012"}, "service": {"type": "string"},
    "service_name_zh": {"type": "string"}, "service_name_en": {"type": "string"},
    "status": {"type": "string", "enum": ["waiting", "called", "serving", "done", "no_show", "transferred",
                                          "cancelled", "expired"]},
    "counter": {"type": "string", "nullable": True}, "priority": {"type": "boolean"},
    "position": {"type": "integer"}, "people_ahead": {"type": "integer"}, "estimated_wait_s": {"type": "integer"},
    "day": {"type": "string"}, "issued_at": {"type": "string", "format": "date-time"},
    "called_at": {"type": "string", "format": "date-time", "nullable": True},
    "finished_at": {"type": "string", "format": "date-time", "nullable": True}}}

FOLLOWED_CASE = {"type": "object", "description": "The case's state for its holder: no description, contact, "
                                                  "resident, staff names or internal notes.", "properties": {
    "number": {"type": "string", "example": "C00042"},
    "type": {"type": "string", "enum": ["inquiry", "complaint", "repair", "other"]},
    "type_zh": {"type": "string"}, "type_en": {"type": "string"},
    "status": {"type": "string", "enum": ["open", "in_progress", "feedback_given", "closed"]},
    "sla": {"type": "string"}, "due_at": {"type": "string", "format": "date-time"},
    "created_at": {"type": "string", "format": "date-time"},
    "first_answer": {"type": "string", "nullable": True},
    "first_answer_at": {"type": "string", "format": "date-time", "nullable": True},
    "feedback_text": {"type": "string", "nullable": True},
    "feedback_at": {"type": "string", "format": "date-time", "nullable": True},
    "closed_at": {"type": "string", "format": "date-time", "nullable": True},
    "history": {"type": "array", "items": {"type": "object", "properties": {
        "action": {"type": "string"}, "to_status": {"type": "string"}, "at": {"type": "string"}}}},
    "rating": {"type": "object", "nullable": True, "properties": {"score": {"type": "integer"}}},
    "can_rate": {"type": "boolean"}}}


def follow_paths(json: Callable[[dict], dict], errors: Callable[..., dict]) -> dict[str, Any]:
    not_found = {"404": {"description": _NOT_FOUND, **errors(404)["404"]}}
    return {
        "/api/v1/t/{cap}": {"get": {
            "summary": "The ticket a phone follows (/t/{cap}): number, service, place, wait, status (public, "
                       "by capability)",
            "parameters": [CAP],
            "responses": {"200": {"description": "the ticket's queue facts", **json(FOLLOWED_TICKET)},
                          **not_found}}},
        "/api/v1/c/{cap}": {"get": {
            "summary": "The case a slip's QR code opens (/c/{cap}): status, deadline, answers, history "
                       "(public, by capability)",
            "parameters": [CAP],
            "responses": {"200": {"description": "the case for its holder", **json(FOLLOWED_CASE)},
                          **not_found}}},
        "/api/v1/c/{cap}/rating": {"post": {
            "summary": "The case's one rating, once it is closed (public, by capability)",
            "parameters": [CAP],
            "requestBody": {"required": True, **json({
                "type": "object", "required": ["score"], "additionalProperties": False,
                "properties": {"score": {"type": "integer", "minimum": 1, "maximum": 5},
                               "comment": {"type": "string", "maxLength": 500}}})},
            "responses": {
                "201": {"description": "rated", **json({"type": "object", "properties": {
                    "score": {"type": "integer"}, "created_at": {"type": "string", "format": "date-time"}}})},
                **errors(400, 413, 415),
                **not_found,
                "409": {"description": "`not_closed` (not closed yet) or `already_answered` (rated before)",
                        **errors(409)["409"]},
                "503": {"description": "storage unavailable", **errors(503)["503"]}}}},
    }
