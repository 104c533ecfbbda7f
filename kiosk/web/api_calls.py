"""The desk phone's API: call log, missed calls, the screen-pop, mark handled, and the
simulated modem's "incoming call" for the manager page (DESIGN §5 and §7)."""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from kiosk.errors import Invalid
from kiosk.web.api import actor, json_body, no_body, query_int
from kiosk.web.auth import staff_api
from kiosk.web.context import services

bp = Blueprint("api_calls", __name__)

STAFF = ("receptionist", "specialist", "manager")
MAX_LIMIT = 500


def _limit() -> int:
    return query_int("limit", 50, 1, MAX_LIMIT, code="invalid_limit")


@bp.get("/api/v1/calls")
@staff_api(*STAFF)
def list_calls():
    """Recent calls, newest first; `?status=missed` for the missed-call list only."""
    status = request.args.get("status")
    if status not in (None, "", "missed"):
        raise Invalid("invalid_status", "status may only be 'missed'")
    service = services().calls
    return jsonify({"calls": service.recent(limit=_limit(), missed_only=status == "missed"),
                    "missed": service.missed_count()})


@bp.get("/api/v1/calls/missed")
@staff_api(*STAFF)
def missed_calls():
    """Calls that rang and have neither a case nor a call-back yet."""
    service = services().calls
    return jsonify({"calls": service.recent(limit=_limit(), missed_only=True), "missed": service.missed_count()})


@bp.get("/api/v1/calls/<int:call_id>")
@staff_api(*STAFF)
def call_pop(call_id: int):
    """The screen-pop: the call, the matched resident, their open cases and last visits."""
    return jsonify(services().calls.pop(call_id))


@bp.post("/api/v1/calls/<int:call_id>/handled")
@staff_api(*STAFF)
def mark_handled(call_id: int):
    no_body()
    return jsonify(services().calls.mark_handled(call_id, actor() or "staff"))


@bp.post("/api/v1/phone/simulate")
@staff_api("manager")
def simulate_call():
    """Make the simulated modem ring (only when phone.port = "sim")."""
    body = json_body({"number": (str, True), "name": (str, False)})
    return jsonify(services().calls.simulate(body["number"], body.get("name") or "")), 202
