"""The JSON API under /api/v1 (DESIGN §5), /healthz and the Server-Sent Events stream."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from flask import Blueprint, Response, jsonify, request, stream_with_context

from kiosk.errors import Invalid, NotFound, Unsupported
from kiosk.events import Event
from kiosk.queue.rules import Action
from kiosk.web.auth import current_principal, staff_api
from kiosk.web.context import services
from kiosk.web.openapi import openapi_document

bp = Blueprint("api", __name__)

STAFF = ("receptionist", "specialist", "manager")
COUNTER_STAFF = ("receptionist", "manager")
SSE_KEEPALIVE_S = 15.0


def json_body(fields: dict[str, tuple[type | tuple[type, ...], bool]]) -> dict[str, Any]:
    """The request's JSON object, checked against {name: (type, required)}; unknown fields refused."""
    if not request.is_json:
        raise Unsupported("unsupported_media_type", "send a JSON body with Content-Type: application/json")
    body = request.get_json(silent=True)
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
    return body


def actor() -> str | None:
    principal = current_principal()
    return principal.name if principal else None


@bp.get("/healthz")
def healthz():
    return jsonify(services().health())


@bp.get("/api/v1/openapi.json")
def openapi():
    return jsonify(openapi_document())


@bp.get("/api/v1/services")
def list_services():
    k = services()
    return jsonify({"services": k.queue.services(), "printer": k.printer_availability()})


@bp.get("/api/v1/board")
def board():
    k = services()
    return jsonify({**k.queue.board(), "printer": k.printer_availability()})


@bp.post("/api/v1/tickets")
def issue_ticket():
    body = json_body({"service": (str, True), "priority": (bool, False), "resident_token": (str, False),
                      "visit_id": (int, False)})
    resident_id = None
    if body.get("resident_token"):  # a resident card: refused (4xx, no ticket) unless valid for this site
        resident_id = services().visits.resident_from_token(body["resident_token"][:512])["id"]
    elif body.get("visit_id"):
        resident_id = services().visits.resident_of_visit(body["visit_id"])
    issued = services().queue.issue(body["service"], priority=bool(body.get("priority")),
                                    visit_id=body.get("visit_id"), resident_id=resident_id)
    if body.get("visit_id"):
        services().visits.link_ticket(body["visit_id"], issued.ticket["id"])
    ticket = dict(issued.ticket)
    ticket["print"] = {"status": issued.print_status}
    response = jsonify(ticket)
    response.status_code = 201
    response.headers["Location"] = f"/api/v1/tickets/{ticket['id']}"
    return response


@bp.get("/api/v1/tickets/<int:ticket_id>")
def get_ticket(ticket_id: int):
    return jsonify(services().queue.get(ticket_id))


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
    return jsonify({"counter": counter, "tickets": queue.at_counter(counter), "no_shows": queue.reinstatable(counter)})


@bp.post("/api/v1/counters/<counter>/call-next")
@staff_api(*COUNTER_STAFF)
def call_next(counter: str):
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
    elif request.content_length:
        json_body({})
    return jsonify(services().queue.act(ticket_id, _ACTIONS[action], actor=actor(), target_service=target))


def _sse(event: Event) -> str:
    data = json.dumps(event.data, ensure_ascii=False, separators=(",", ":"))
    return f"id: {event.id}\nevent: {event.name}\ndata: {data}\n\n"


@bp.get("/api/v1/events")
def events():
    """Live events as text/event-stream; `?types=a,b` filters, Last-Event-ID resumes."""
    wanted = {t for t in request.args.get("types", "").split(",") if t} or None
    last_id = request.headers.get("Last-Event-ID") or request.args.get("last_id")
    after = int(last_id) if last_id and last_id.isdigit() else None
    k = services()
    sub = k.bus.subscribe(after_id=after)

    def stream() -> Iterator[str]:
        try:
            yield "retry: 2000\n: connected\n\n"
            idle = 0.0
            while not k.stopping.is_set():
                event = sub.get(timeout=1.0)
                if event is None:
                    idle += 1.0
                    if idle >= SSE_KEEPALIVE_S:
                        idle = 0.0
                        yield ": keep-alive\n\n"
                elif wanted is None or event.name in wanted:
                    idle = 0.0
                    yield _sse(event)
        finally:
            sub.close()

    return Response(stream_with_context(stream()), mimetype="text/event-stream",
                    headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
