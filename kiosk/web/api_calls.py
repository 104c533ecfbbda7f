"""The desk phone's API: call log, missed calls, the screen-pop, mark handled, and the
simulated modem's "incoming call" for the manager page (DESIGN §5 and §7)."""

from __future__ import annotations

import re

from flask import Blueprint, current_app, jsonify, request

from kiosk.devices.phone import PhoneError
from kiosk.services.calls import CallNotFound
from kiosk.web.api import actor, json_body
from kiosk.web.auth import staff_api
from kiosk.web.errors import ApiError

bp = Blueprint("api_calls", __name__)

STAFF = ("receptionist", "specialist", "manager")
MAX_LIMIT = 500
_SIM_NUMBER = re.compile(r"^(P|O|\+?[0-9][0-9 \-]{2,24})$")
_SIM_NAME = re.compile(r"^[A-Za-z0-9 .,'\-]{0,32}$")


def _kiosk():
    return current_app.extensions["kiosk"]


def _limit() -> int:
    raw = request.args.get("limit", "50")
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise ApiError(400, "invalid_limit", f"limit must be a whole number from 1 to {MAX_LIMIT}")
    return int(raw)


@bp.get("/api/v1/calls")
@staff_api(*STAFF)
def list_calls():
    """Recent calls, newest first; `?status=missed` for the missed-call list only."""
    status = request.args.get("status")
    if status not in (None, "", "missed"):
        raise ApiError(400, "invalid_status", "status may only be 'missed'")
    service = _kiosk().calls
    return jsonify({"calls": service.recent(limit=_limit(), missed_only=status == "missed"),
                    "missed": service.missed_count()})


@bp.get("/api/v1/calls/missed")
@staff_api(*STAFF)
def missed_calls():
    """Calls that rang and have neither a case nor a call-back yet."""
    service = _kiosk().calls
    return jsonify({"calls": service.recent(limit=_limit(), missed_only=True), "missed": service.missed_count()})


@bp.get("/api/v1/calls/<int:call_id>")
@staff_api(*STAFF)
def call_pop(call_id: int):
    """The screen-pop: the call, the matched resident, their open cases and last visits."""
    try:
        return jsonify(_kiosk().calls.pop(call_id))
    except CallNotFound:
        raise ApiError(404, "not_found", f"no call {call_id}") from None


@bp.post("/api/v1/calls/<int:call_id>/handled")
@staff_api(*STAFF)
def mark_handled(call_id: int):
    if request.content_length:
        json_body({})
    try:
        return jsonify(_kiosk().calls.mark_handled(call_id, actor() or "staff"))
    except CallNotFound:
        raise ApiError(404, "not_found", f"no call {call_id}") from None


@bp.post("/api/v1/phone/simulate")
@staff_api("manager")
def simulate_call():
    """Make the simulated modem ring (only when phone.port = "sim")."""
    body = json_body({"number": (str, True), "name": (str, False)})
    number, name = body["number"].strip(), (body.get("name") or "").strip()
    if not _SIM_NUMBER.match(number):
        raise ApiError(400, "invalid_number", "number must be digits (3 to 25), or P (private) or O (out of area)")
    if not _SIM_NAME.match(name):
        raise ApiError(400, "invalid_name", "a caller-ID name is up to 32 plain letters, digits and spaces")
    try:
        _kiosk().phone.simulate_call(number, name)
    except PhoneError as exc:
        raise ApiError(409, "not_simulated", str(exc)) from None
    return jsonify({"status": "ringing", "number": number, "name": name}), 202
