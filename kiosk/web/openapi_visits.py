"""The check-in and visit-log part of the OpenAPI document (merged by kiosk/web/openapi.py)."""

from __future__ import annotations

from typing import Any

from kiosk.web.openapi_common import DAY_OR_EMPTY, EMPTY_BODY, GREETING, ID, STAFF_SECURITY, error_responses

_VISIT = {"type": "object", "properties": {
    "id": {"type": "integer"}, "kind": {"type": "string", "enum": ["resident", "visitor"]},
    "method": {"type": "string", "enum": ["qr", "id", "manual"]}, "resident_id": {"type": "string", "nullable": True},
    "name": {"type": "string"}, "phone": {"type": "string"}, "unit": {"type": "string"},
    "purpose": {"type": "string"}, "id_masked": {"type": "string", "nullable": True},
    "source": {"type": "string"}, "day": {"type": "string", "format": "date"},
    "checked_in_at": {"type": "string", "format": "date-time"},
    "checked_out_at": {"type": "string", "format": "date-time", "nullable": True},
    "ticket_id": {"type": "integer", "nullable": True}, "snapshot_sha256": {"type": "string", "nullable": True},
    "snapshot_url": {"type": "string", "nullable": True}, "version": {"type": "integer"},
    "print": {"type": "object", "description": "visitor registrations: the pass's print status"}}}
_STAFF = STAFF_SECURITY
#: An enrolled kiosk (no scheme: its device credential), or staff.
_DEVICE: list[dict[str, list[str]]] = [{}, {"bearer": []}, {"session": []}]
_CHECKED_IN = {"type": "object", "required": ["greeting", "checkin_token", "checkin_token_expires_at"],
               "description": "What a device gets: the greeting the screen shows and the single-use token that "
                              "links the ticket or case taken next (staff get the visit's fields as well)",
               "properties": {"greeting": GREETING, "checkin_token": {"type": "string"},
                              "photo_taken": {"type": "boolean",
                                              "description": "the check-in took a camera snapshot"},
                              "checkin_token_expires_at": {"type": "string", "format": "date-time"},
                              "print": {"type": "object", "description": "visitor registrations: the pass's "
                                                                         "print status"}}}
_SCANNED = {"type": "object", "required": ["kind", "source", "ok", "action"], "properties": {
    "kind": {"type": "string", "enum": ["resident", "visitor", "ticket", "unknown"]}, "source": {"type": "string"},
    "ok": {"type": "boolean"}, "action": {"type": "string", "enum": ["checked_in", "checked_out", "ticket",
                                                                     "refused"]},
    "greeting": GREETING, "checkin_token": {"type": "string"},
    "checkin_token_expires_at": {"type": "string", "format": "date-time"},
    "error": {"type": "object", "properties": {"code": {"type": "string"}, "message": {"type": "string"}}}}}
_CHECKED_OUT = {"type": "object", "properties": {"ok": {"type": "boolean"}, "action": {"enum": ["checked_out"]},
                                                 "greeting": GREETING},
                "description": "a device gets the farewell's masked name; staff get the visit"}


def _resp(ok: dict, *errors: int) -> dict:
    """`ok` and the errors particular to the operation (kiosk/web/openapi_common.py adds the rest)."""
    return {**ok, **error_responses(*errors)}


def _body(schema: dict) -> dict:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def _json(desc: str, schema: dict | None = None) -> dict:
    return {"description": desc, **({"content": {"application/json": {"schema": schema}}} if schema else {})}


_ID = [{"name": "visit_id", "in": "path", "required": True, "schema": ID}]
_OFFSET = {"type": "integer", "minimum": 0, "maximum": 10_000_000}
_FILTERS = [{"name": n, "in": "query", "schema": s} for n, s in (
    ("from", DAY_OR_EMPTY), ("to", DAY_OR_EMPTY),
    ("q", {"type": "string"}), ("unit", {"type": "string"}),
    ("method", {"type": "string", "enum": ["", "qr", "id", "manual"], "description": "empty: any"}),
    ("limit", {"type": "integer", "minimum": 1, "maximum": 200}), ("offset", _OFFSET))]


def visit_paths() -> dict[str, Any]:
    checkin_body = {"oneOf": [
        {"type": "object", "required": ["method", "payload"], "additionalProperties": False,
         "properties": {"method": {"enum": ["qr"]}, "payload": {"type": "string"}}},
        {"type": "object", "required": ["method", "id_number"], "additionalProperties": False,
         "properties": {"method": {"enum": ["id"]}, "id_number": {"type": "string", "example": "11010519491231002X"},
                        "name": {"type": "string"}}},
        {"type": "object", "required": ["method", "visitor"], "additionalProperties": False,
         "properties": {"method": {"enum": ["manual"]}, "visitor": {
             "type": "object", "required": ["name", "phone", "unit"], "additionalProperties": False,
             "properties": {"name": {"type": "string"}, "phone": {"type": "string"}, "unit": {"type": "string"},
                            "purpose": {"type": "string"}, "id_number": {"type": "string"}}}}}]}
    payload = {"type": "object", "required": ["payload"], "additionalProperties": False,
               "properties": {"payload": {"type": "string"}}}
    return {
        "/api/v1/checkins": {"post": {
            "summary": "Check in (an enrolled kiosk or staff): resident QR card, ID number (a resident's or anyone "
                       "else's, answered alike), or visitor registration (prints a pass); forged/expired/"
                       "other-site cards 403",
            "security": _DEVICE, "requestBody": _body(checkin_body),
            "responses": _resp({"201": _json("the greeting and the check-in token (staff: and the visit)",
                                             _CHECKED_IN)}, 403, 404)}},
        "/api/v1/scans": {"post": {
            "summary": "A code read by a keyboard-wedge scanner: a resident card checks in, a visitor pass checks out",
            "security": _DEVICE, "requestBody": _body(payload),
            "responses": _resp({"200": _json("the outcome (also sent as the qr.scanned event, without the token)",
                                             _SCANNED)})}},
        "/api/v1/checkouts": {"post": {
            "summary": "Check a visitor out with the QR payload of their pass", "requestBody": _body(payload),
            "security": _DEVICE,
            "responses": _resp({"200": _json("the farewell (staff: the visit)", _CHECKED_OUT)}, 403, 404, 409)}},
        "/api/v1/visits": {"get": {
            "summary": "The visit log (security, manager; audited), newest first", "security": _STAFF,
            "parameters": _FILTERS,
            "responses": _resp({"200": _json("a page of visits", {"type": "object", "properties": {
                "visits": {"type": "array", "items": _VISIT}, "total": {"type": "integer"}}})}, 503)}},
        "/api/v1/visits/{visit_id}": {"get": {
            "summary": "One visit (security, manager; audited)", "security": _STAFF, "parameters": _ID,
            "responses": _resp({"200": _json("the visit", _VISIT)}, 503)}},
        "/api/v1/visits/{visit_id}/snapshot": {"get": {
            "summary": "The check-in snapshot as JPEG (audited); ?thumb=1 a small copy for lists",
            "security": _STAFF, "parameters": _ID + [{"name": "thumb", "in": "query", "schema": {
                "type": "string", "description": "1: the small copy; anything else: the full picture"}}],
            "responses": _resp({"200": {"description": "JPEG", "content": {"image/jpeg": {}}}}, 503)}},
        "/api/v1/visits/{visit_id}/checkout": {"post": {
            "summary": "Check a visit out (security, receptionist, manager)", "security": _STAFF,
            "parameters": _ID, "requestBody": EMPTY_BODY,
            "responses": _resp({"200": _json("the visit", _VISIT)}, 409)}},
        "/api/v1/audit": {"get": {
            "summary": "The audit log of security and admin views (manager)", "security": _STAFF,
            "parameters": [{"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1,
                                                                       "maximum": 1000}},
                           {"name": "offset", "in": "query", "schema": _OFFSET}],
            "responses": _resp({"200": _json("entries")})}},
        "/api/v1/residents/{resident_id}/card": {"post": {
            "summary": "Print a new resident QR card on the ticket printer (manager)", "security": _STAFF,
            "parameters": [{"name": "resident_id", "in": "path", "required": True, "schema": {"type": "string"}}],
            "requestBody": {"required": False, "content": {"application/json": {"schema": {
                "type": "object", "additionalProperties": False,
                "properties": {"days": {"type": "integer", "minimum": 1, "maximum": 3653}}}}}},
            "responses": _resp({"201": _json("print status")})}},
    }
