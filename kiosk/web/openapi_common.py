"""Schemas and responses shared by the parts of the OpenAPI document, and the one place
where every operation gets the error answers its shape implies (`complete`): the parts
declare only what is particular to an operation (a 409, a 404 for an id in the body)."""

from __future__ import annotations

from typing import Any

#: Every id in a path or a body: what the `<int:...>` route converter and the JSON body
#: checker take (SQLite's 64-bit range); larger path ids answer 404, larger body ids 400.
ID: dict = {"type": "integer", "minimum": 1, "maximum": 2**63 - 1}
#: A check-in's single-use token, as the check-in answered it.
CHECKIN_TOKEN: dict = {"type": "string", "maxLength": 64,
                       "description": "the `checkin_token` of a check-in made in the last 10 minutes on the same "
                                      "device (or by the same staff login): links this to that visit; used once"}
#: What a public answer shows of the person who checked in.
GREETING: dict = {"type": "object", "required": ["name"], "properties": {"name": {
    "type": "string", "example": "张**",
    "description": "the display name masked (first character and stars); empty for an ID-number check-in, which "
                   "never tells whether the number is a resident's"}}}
#: A query parameter that is a day; empty (as an HTML form sends it) means no bound.
DAY_OR_EMPTY: dict = {"type": "string", "pattern": "^([0-9]{4}-[0-9]{2}-[0-9]{2})?$",
                      "description": "YYYY-MM-DD; empty means no bound"}
ERROR: dict = {"$ref": "#/components/schemas/Error"}
#: A POST that takes no fields: no body, or `{}` (anything else is refused like any body).
EMPTY_BODY: dict = {"required": False, "content": {"application/json": {"schema": {
    "type": "object", "additionalProperties": False, "maxProperties": 0}}}}
STAFF_SECURITY: list[dict[str, list[str]]] = [{"bearer": []}, {"session": []}]

#: What each error status means anywhere in the API; the body is always the Error schema.
ERROR_MEANINGS = {
    400: "bad input: a malformed body or parameter, an unknown field or option (nothing changed)",
    401: "no valid credentials: `unauthorized` (log in or send a bearer token), or `device_required` "
         "(a write from a caller that is neither staff nor an enrolled kiosk device)",
    403: "not allowed: the wrong role, a missing CSRF token on a cookie session, a forged or expired card",
    404: "no such thing: an id or name in the path (or the body) that does not exist",
    409: "the current state refuses it (a transition that does not apply, already done)",
    413: "the body is larger than server.max_body_bytes",
    415: "the body is not JSON (send Content-Type: application/json)",
    429: "a limit was reached; `Retry-After` says in how many seconds to try again",
    503: "`storage_unavailable`: the disk is full or read-only, nothing was saved (/healthz names the reason)",
}
_RETRY_AFTER = {"Retry-After": {"description": "seconds to wait", "schema": {"type": "integer", "minimum": 0}}}


def json_content(schema: dict) -> dict:
    return {"content": {"application/json": {"schema": schema}}}


def error_responses(*codes: int) -> dict[str, Any]:
    """The responses entry of each error status in `codes`."""
    answers: dict[str, Any] = {}
    for code in codes:
        answers[str(code)] = {"description": ERROR_MEANINGS[code], **json_content(ERROR)}
        if code == 429:
            answers[str(code)]["headers"] = _RETRY_AFTER
    return answers


def _constrained(schema: dict) -> bool:
    return schema.get("type") in ("integer", "number", "boolean") or any(
        key in schema for key in ("enum", "pattern", "format", "maxLength", "minLength"))


def implied_errors(method: str, op: dict) -> set[int]:
    """The error statuses an operation can answer because of its shape: 400 for a body or a
    constrained query parameter, 413/415 for a body, 404 for a path parameter, 401/403 when
    it needs staff, 401/503 for a write (an unenrolled caller; storage full), 429 always."""
    codes = {429}
    params = op.get("parameters", [])
    if "requestBody" in op:
        codes |= {400, 413, 415}
    if any(p["in"] == "query" and _constrained(p.get("schema", {})) for p in params):
        codes.add(400)
    if any(p["in"] == "path" for p in params):
        codes.add(404)
    if op.get("security"):
        codes |= {401, 403}
    if method in ("post", "put", "patch", "delete"):
        codes |= {401, 503}
    return codes


def _optional_fields_nullable(schema: dict) -> None:
    """The body checker (kiosk/web/api.py json_body) takes `null` in an optional field as
    not given, so the document says so; a null required field is `missing_field`."""
    for branch in schema.get("oneOf", [schema]):
        required = set(branch.get("required", []))
        for name, prop in branch.get("properties", {}).items():
            if name not in required and "$ref" not in prop:
                branch["properties"][name] = {**prop, "nullable": True}  # a copy: ID and others are shared


def complete(paths: dict[str, dict]) -> dict[str, dict]:
    """Every operation of `paths` with the error responses its shape implies added to the
    ones it declares (declared ones are kept as written), and `null` allowed in the
    optional fields of its JSON body."""
    for item in paths.values():
        for method, op in item.items():
            if method == "parameters":
                continue
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
            if body is not None:
                _optional_fields_nullable(body)
            declared = op.setdefault("responses", {})
            for code, answer in error_responses(*sorted(implied_errors(method, op))).items():
                declared.setdefault(code, answer)
    return paths
