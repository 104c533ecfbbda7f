"""The JSON API under /api/v1 (DESIGN §5), /healthz and the Server-Sent Events stream."""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Response, g, jsonify, request, session, stream_with_context

from kiosk import audience
from kiosk.audience import Audience
from kiosk.errors import DomainError, Invalid, NotFound, Unsupported
from kiosk.privacy import public_ticket
from kiosk.queue.rules import Action
from kiosk.web.access import current_device, device_or_staff, is_staff
from kiosk.web.auth import current_principal, signed_in_principal, staff_api
from kiosk.web.context import services
from kiosk.web.limits import check_print_capacity
from kiosk.web.openapi import openapi_document
from kiosk.web.openapi_access import add_access
from kiosk.web.privacy import VisitLink

bp = Blueprint("api", __name__)

STAFF = ("receptionist", "specialist", "manager")
COUNTER_STAFF = ("receptionist", "manager")
SSE_KEEPALIVE_S = 15.0


#: The largest integer SQLite stores (signed 64-bit); every integer in a body or a path is bounded by it.
MAX_INT = 2**63 - 1
#: How deep objects and arrays may nest in a request body (no field of the API needs more than 2).
MAX_JSON_DEPTH = 20
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_JSON_BRACKET = re.compile(r"[\[\]{}]")
#: In a JSON body's text: NUL (no field takes it, and SQLite's FTS parser ends a query
#: at it) and UTF-16 surrogates left alone by JSON escapes (they cannot be stored as UTF-8).
_REFUSED_CHARS = re.compile("[\x00\ud800-\udfff]")
_DECIMAL = re.compile(r"[0-9]{1,19}")


def _not_json(_: str) -> None:
    raise ValueError("NaN and Infinity are not JSON")


def request_json() -> Any:
    """The request body parsed as JSON, or `Invalid("malformed_json")`: not UTF-8 (or
    UTF-16/32) JSON, NaN or Infinity, or nested deeper than MAX_JSON_DEPTH (checked
    before parsing, so no depth of nesting reaches the recursive parser). Parsed once."""
    if "json_request_body" in g:
        return g.json_request_body
    data = request.get_data(cache=True)
    try:
        text = data.decode(json.detect_encoding(data))
    except (UnicodeDecodeError, LookupError):
        raise Invalid("malformed_json", "the body is not UTF-8 JSON") from None
    depth = 0
    for bracket in _JSON_BRACKET.finditer(_JSON_STRING.sub("", text)):
        depth += 1 if bracket.group() in "[{" else -1
        if depth > MAX_JSON_DEPTH:
            raise Invalid("malformed_json", f"the body nests deeper than {MAX_JSON_DEPTH} levels")
    try:
        g.json_request_body = json.loads(text, parse_constant=_not_json)
    except ValueError:  # also a number of more than 4300 digits
        raise Invalid("malformed_json", "the body is not valid JSON") from None
    return g.json_request_body


def _check_values(name: str, value: Any) -> None:
    """Every string (keys too) and integer inside a body field: no NUL or lone surrogate,
    integers within SQLite's 64-bit range, floats finite. Iterative: depth is bounded already."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if _REFUSED_CHARS.search(item):
                raise Invalid("invalid_field", f"field {name!r} holds a NUL or an unpaired UTF-16 surrogate")
        elif isinstance(item, bool):
            continue
        elif isinstance(item, int):
            if not -MAX_INT - 1 <= item <= MAX_INT:
                raise Invalid("invalid_field", f"field {name!r} is out of range")
        elif isinstance(item, float):
            if not math.isfinite(item):
                raise Invalid("invalid_field", f"field {name!r} is out of range")
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def json_body(fields: dict[str, tuple[type | tuple[type, ...], bool]]) -> dict[str, Any]:
    """The request's JSON object, checked against {name: (type, required)}; unknown fields
    refused, and inside every field (nested ones too) strings without NUL or unpaired
    surrogates and integers within SQLite's signed 64-bit range (`invalid_field`).

    NUL is refused here rather than removed as kiosk/text.py removes it from form fields:
    a JSON client that sends an escaped NUL means something no field can hold."""
    if not request.is_json:
        raise Unsupported("unsupported_media_type", "send a JSON body with Content-Type: application/json")
    body = request_json()
    if not isinstance(body, dict):
        raise Invalid("malformed_json", "the body is not a JSON object")
    unknown = sorted(set(body) - set(fields))
    if unknown:
        raise Invalid("unknown_field", f"unknown field {unknown[0]!r}")
    for name, (typ, required) in fields.items():
        if name not in body or body[name] is None:
            if required:
                raise Invalid("missing_field", f"field {name!r} is required")
            continue
        value = body[name]
        if isinstance(value, bool) and typ is not bool and not (isinstance(typ, tuple) and bool in typ):
            raise Invalid("invalid_field", f"field {name!r} has the wrong type")
        if not isinstance(value, typ):
            raise Invalid("invalid_field", f"field {name!r} has the wrong type")
        _check_values(name, value)
    return body


def no_body() -> None:
    """For a POST that takes no fields: no body, or `{}`; anything else is refused as
    json_body refuses it (`unknown_field`, `malformed_json`, 415)."""
    if request.get_data(cache=True):
        json_body({})


def query_int(name: str, default: int, low: int, high: int, code: str = "invalid_parameter") -> int:
    """The query parameter `name` as a whole number from `low` to `high` (ASCII digits);
    `default` when absent or empty; else `Invalid(code)`."""
    value = request.args.get(name, "")
    if not value:
        return default
    if not _DECIMAL.fullmatch(value) or not low <= int(value) <= high:
        raise Invalid(code, f"{name} must be a whole number from {low} to {high}")
    return int(value)


def actor() -> str | None:
    principal = current_principal()
    return principal.name if principal else None


@bp.get("/healthz")
def healthz():
    return jsonify(services().health())


@bp.get("/api/v1/openapi.json")
def openapi():
    return jsonify(add_access(openapi_document()))


@bp.get("/api/v1/services")
def list_services():
    k = services()
    return jsonify({"services": k.queue.services(), "printer": k.printer_availability()})


@bp.get("/api/v1/board")
def board():
    k = services()
    return jsonify({**k.queue.board(), "printer": k.printer_availability()})


@bp.post("/api/v1/tickets")
@device_or_staff("kiosk", limit="tickets")
def issue_ticket():
    body = json_body({"service": (str, True), "priority": (bool, False), "resident_token": (str, False),
                      "visit_id": (int, False), "checkin_token": (str, False),
                      "paperless": (bool, False)})
    link = VisitLink(body)
    try:
        resident_id = None
        if body.get("resident_token"):  # a resident card: refused (4xx, no ticket) unless valid for this site
            resident_id = services().visits.resident_from_token(body["resident_token"][:512])["id"]
        elif link.visit_id is not None:
            resident_id = services().visits.resident_of_visit(link.visit_id)
        paperless = bool(body.get("paperless"))
        if not paperless:
            check_print_capacity()
        issued = services().queue.issue(body["service"], priority=bool(body.get("priority")),
                                        visit_id=link.visit_id, resident_id=resident_id, paperless=paperless)
    except DomainError:
        link.release()
        raise
    if link.visit_id is not None:
        services().visits.link_ticket(link.visit_id, issued.ticket["id"])
    ticket = dict(issued.ticket)
    ticket["print"] = {"status": issued.print_status}
    shown = ticket if is_staff() else public_ticket(ticket)
    response = jsonify({**shown, "phone_url": issued.phone_url})  # the holder's link: in this answer only
    response.status_code = 201
    response.headers["Location"] = f"/api/v1/tickets/{ticket['id']}"
    return response


@bp.get("/api/v1/tickets/<int:ticket_id>")
def get_ticket(ticket_id: int):
    ticket = services().queue.get(ticket_id)
    return jsonify(ticket if is_staff() else public_ticket(ticket))


@bp.get("/api/v1/tickets")
@staff_api(*STAFF)
def list_queued():
    wanted = [s for s in request.args.get("service", "").split(",") if s] or None
    return jsonify({"tickets": services().queue.queued(wanted)})


@bp.get("/api/v1/counters/<counter>")
@staff_api(*STAFF)
def counter_state(counter: str):
    if services().config.counter(counter) is None:
        raise NotFound("not_found", f"unknown counter {counter!r}")
    queue = services().queue
    return jsonify({"counter": counter, "tickets": queue.at_counter(counter), "no_shows": queue.reinstatable(counter),
                    "today": queue.counter_today(counter), "now": services().clock.now().isoformat()})


@bp.post("/api/v1/counters/<counter>/call-next")
@staff_api(*COUNTER_STAFF)
def call_next(counter: str):
    no_body()
    if services().config.counter(counter) is None:
        raise NotFound("not_found", f"unknown counter {counter!r}")
    ticket = services().queue.call_next(counter, actor())
    if ticket is None:
        return Response(status=204)
    return jsonify(ticket)


_ACTIONS = {a.value: a for a in (Action.RECALL, Action.START, Action.FINISH, Action.NO_SHOW,
                                 Action.REINSTATE, Action.TRANSFER, Action.CANCEL)}


@bp.post("/api/v1/tickets/<int:ticket_id>/call")
@staff_api(*COUNTER_STAFF)
def call_ticket(ticket_id: int):
    body = json_body({"counter": (str, True)})
    if services().config.counter(body["counter"]) is None:
        raise Invalid("unknown_counter", f"unknown counter {body['counter']!r}")
    return jsonify(services().queue.call(ticket_id, body["counter"], actor()))


@bp.post("/api/v1/tickets/<int:ticket_id>/<action>")
@staff_api(*COUNTER_STAFF)
def ticket_action(ticket_id: int, action: str):
    if action not in _ACTIONS:
        raise NotFound("not_found", f"unknown action {action!r}")
    target = None
    if _ACTIONS[action] is Action.TRANSFER:
        target = json_body({"service": (str, True)})["service"]
    else:
        no_body()
    return jsonify(services().queue.act(ticket_id, _ACTIONS[action], actor=actor(), target_service=target))


def sse_block(event_id: int, name: str, data: dict[str, Any]) -> str:
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return f"id: {event_id}\nevent: {name}\ndata: {body}\n\n"


#: The environ key through which the ASGI server (kiosk/web/asgi.py) asks a stream view to
#: decide only: the view appends its `StreamRequest` to the list there and answers the
#: headers; the server's event loop then streams. Without it (another WSGI server, the
#: test client) the view streams itself from a worker thread.
STREAM_HANDOFF = "kiosk.stream_handoff"
STREAM_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


@dataclass(frozen=True)
class StreamRequest:
    """A stream the view allowed: for whom, which event names (None = all) and after which id."""

    audience: Audience
    wanted: frozenset[str] | None
    after: int | None
    #: For a staff stream: whether its login or token is still valid (logout, the idle and
    #: absolute timeouts, a password change, a disabled user or a revoked token end it);
    #: blocking, so the event loop calls it on a worker thread every `RECHECK_S`.
    still_allowed: Callable[[], bool] | None = None


#: How often an open staff stream checks that its login or token is still valid.
RECHECK_S = 5.0


def _stream(who: Audience, still_allowed: Callable[[], bool] | None = None) -> Response:
    wanted = frozenset(t for t in request.args.get("types", "").split(",") if t) or None
    last_id = request.headers.get("Last-Event-ID") or request.args.get("last_id")
    after = int(last_id) if last_id and _DECIMAL.fullmatch(last_id) else None
    stream_request = StreamRequest(who, wanted, after, still_allowed)
    handoff = request.environ.get(STREAM_HANDOFF)
    if handoff is not None:
        handoff.append(stream_request)
        return Response(status=200, mimetype="text/event-stream", headers=STREAM_HEADERS)
    return Response(stream_with_context(_threaded(stream_request)), mimetype="text/event-stream",
                    headers=STREAM_HEADERS)


def _threaded(req: StreamRequest) -> Iterator[str]:
    """The stream served from a worker thread (a plain WSGI server): one thread per client."""
    k = services()
    sub = k.bus.subscribe(after_id=req.after)
    try:
        yield "retry: 2000\n: connected\n\n"
        idle = 0.0
        check_at = time.monotonic() + RECHECK_S
        while not k.stopping.is_set():
            event = sub.get(timeout=1.0)
            if req.still_allowed is not None and time.monotonic() >= check_at:  # busy or idle alike
                check_at = time.monotonic() + RECHECK_S
                if not req.still_allowed():
                    return
            if event is None:
                idle += 1.0
                if idle >= SSE_KEEPALIVE_S:
                    idle = 0.0
                    yield ": keep-alive\n\n"
                continue
            if req.wanted is not None and event.name not in req.wanted:
                continue
            data = audience.view(event.name, event.data, req.audience)
            if data is not None:
                idle = 0.0
                yield sse_block(event.id, event.name, data)
    finally:
        sub.close()


@bp.get("/api/v1/events")
def events():
    """Live queue facts as text/event-stream for anyone (kiosk/audience.py); an enrolled
    kiosk also gets the greeting of its own check-ins. `?types=a,b` filters, Last-Event-ID
    (or `?last_id=`) resumes."""
    device = current_device()
    return _stream(audience.device(device.name, device.kind) if device else audience.PUBLIC_AUDIENCE)


@bp.get("/api/v1/staff/events")
@staff_api()
def staff_events():
    """Every live event the signed-in role may see (kiosk/audience.py), as text/event-stream;
    it ends when the login or token that opened it does."""
    return _stream(audience.staff(signed_in_principal().role), _credential_check())


def _credential_check() -> Callable[[], bool]:
    """Whether this request's bearer token or login session is still valid, asked later."""
    auth = services().auth
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        token = header[7:].strip()
        return lambda: auth.from_token(token) is not None
    sid = session.get("sid", "")
    return lambda: auth.session_principal(sid, touch=False) is not None
