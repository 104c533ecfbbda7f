"""OpenAPI paths of the desk phone (kiosk/web/api_calls.py), merged into /api/v1/openapi.json."""

from __future__ import annotations

from typing import Any

from kiosk.web.openapi_common import EMPTY_BODY, ID

_CALL: dict[str, Any] = {"type": "object", "properties": {
    "id": {"type": "integer"}, "number": {"type": "string", "description": "digits as the modem sent them; '' "
                                                                           "for private / out-of-area calls"},
    "name": {"type": "string", "description": "caller-ID name"},
    "kind": {"type": "string", "enum": ["normal", "private", "out_of_area"]},
    "resident": {"type": "object", "nullable": True, "properties": {
        "id": {"type": "string"}, "name": {"type": "string"}, "unit": {"type": "string"}}},
    "started_at": {"type": "string", "format": "date-time"},
    "status": {"type": "string", "enum": ["missed", "handled"]}, "missed": {"type": "boolean"},
    "handled_by": {"type": "string", "nullable": True},
    "handled_at": {"type": "string", "format": "date-time", "nullable": True},
    "case_id": {"type": "integer", "nullable": True}}}
_LIST = {"type": "object", "properties": {"calls": {"type": "array", "items": _CALL},
                                          "missed": {"type": "integer", "description": "missed calls in all"}}}
_LIMIT = {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 500, "default": 50}}
_CALL_ID = {"name": "call_id", "in": "path", "required": True, "schema": ID}


def calls_paths(op, json) -> dict[str, Any]:
    """`op` and `json` are openapi.py's helpers (passed in to avoid an import cycle)."""
    pop = {**_CALL, "properties": {**_CALL["properties"],
                                   "open_cases": {"type": "array", "items": {"type": "object"}},
                                   "last_visits": {"type": "array", "items": {"type": "object"}}}}
    return {
        "/api/v1/calls": {"get": {**op("Recent calls, newest first (staff); ?status=missed for missed ones only",
                                       {"200": {"description": "calls", **json(_LIST)}}, staff=True),
                                  "parameters": [_LIMIT, {"name": "status", "in": "query",
                                                          "schema": {"type": "string", "enum": ["", "missed"],
                                                                     "description": "empty: all calls"}}]}},
        "/api/v1/calls/missed": {"get": {**op("Missed calls: rang, no case, not marked handled (staff)",
                                              {"200": {"description": "calls", **json(_LIST)}}, staff=True),
                                         "parameters": [_LIMIT]}},
        "/api/v1/calls/{call_id}": {"get": {**op("The screen-pop: the call, its resident, their open cases and "
                                                 "last visits (staff)", {"200": {"description": "call", **json(pop)}},
                                                 staff=True), "parameters": [_CALL_ID]}},
        "/api/v1/calls/{call_id}/handled": {"post": {**op("Mark a call handled (called back)",
                                                          {"200": {"description": "the call", **json(_CALL)}},
                                                          staff=True),
                                                     "parameters": [_CALL_ID], "requestBody": EMPTY_BODY}},
        "/api/v1/phone/simulate": {"post": op(
            "Make the simulated modem ring (manager; only when phone.port = \"sim\")",
            {"202": {"description": "ringing"}}, staff=True, errors=(409,),
            body={"type": "object", "additionalProperties": False, "required": ["number"],
                  "properties": {"number": {"type": "string", "description": "digits, or P / O"},
                                 "name": {"type": "string", "maxLength": 32}}})},
    }
