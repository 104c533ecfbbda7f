"""Check-in and visit-log API (DESIGN §5): check-ins from the kiosk, scans from a
keyboard-wedge scanner, check-out, and the security review (list, detail, snapshot),
every review request written to the audit log."""

from __future__ import annotations

import re
from datetime import date

from flask import Blueprint, Response, jsonify, request

from kiosk.clock import FIRST_DAY, LAST_DAY, day_in_range
from kiosk.errors import Invalid, NotFound
from kiosk.privacy import greeting
from kiosk.services.visits import VisitService
from kiosk.text import one_line
from kiosk.web.access import current_device, device_or_staff, is_staff
from kiosk.web.api import json_body, no_body, query_int, request_json
from kiosk.web.auth import current_principal, staff_api
from kiosk.web.context import services
from kiosk.web.limits import check_print_capacity
from kiosk.web.privacy import holder

bp = Blueprint("api_visits", __name__)

REVIEW = ("security", "manager")
CHECKOUT_STAFF = ("security", "receptionist", "manager")
MAX_PAGE = 200
MAX_AUDIT_PAGE = 1000
MAX_OFFSET = 10_000_000
#: What the OpenAPI document says a day is (date.fromisoformat alone also takes 20261127, 2026-W48-5, ...).
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def visits() -> VisitService:
    return services().visits


@bp.app_context_processor
def checkin_settings() -> dict:
    """What the kiosk's check-in partials show: the photo notice and the retention days."""
    config = services().config
    return {"kiosk_checkin": config.checkin, "kiosk_retention": config.retention}


def audit(action: str, target: str = "", detail: str = "") -> None:
    principal = current_principal()
    visits().audit(principal.name if principal else "?", principal.role if principal else "", action, target,
                   detail)


#: What a check-in answers a device or anyone else: the greeting and the token, nothing of the visit.
PUBLIC_CHECKIN = ("checkin_token", "checkin_token_expires_at", "print")


def _created(visit: dict, shown_name: str | None) -> Response:
    """Staff get the visit; others the greeting of `shown_name` and the check-in token only."""
    if is_staff():
        response = jsonify({**visit, "greeting": greeting(shown_name)})
        response.headers["Location"] = f"/api/v1/visits/{visit['id']}"
    else:
        # `photo_taken`: a boolean only, for the screen's "photo taken" line
        response = jsonify({"greeting": greeting(shown_name), "photo_taken": bool(visit.get("snapshot_sha256")),
                            **{k: visit[k] for k in PUBLIC_CHECKIN if k in visit}})
    response.status_code = 201
    return response


@bp.post("/api/v1/checkins")
@device_or_staff("kiosk", limit="checkins")
def checkin():
    body = request_json() if request.is_json else None
    method = body.get("method") if isinstance(body, dict) else None
    if method == "qr":
        body = json_body({"method": (str, True), "payload": (str, True)})
        if len(body["payload"]) > 512:
            raise Invalid("token_malformed", "this code is not a resident card or visitor pass")
        visit = visits().checkin_qr(body["payload"], holder=holder())
        return _created(visit, visit["name"])
    if method == "id":
        body = json_body({"method": (str, True), "id_number": (str, True), "name": (str, False)})
        if len(body["id_number"]) > 40:
            raise Invalid("id_length", "an ID number has 18 characters")
        # greeted by the name typed, never by the directory's: the answer must not tell
        # whether the ID number is a resident's
        visit = visits().checkin_id(body["id_number"], body.get("name") or "", holder=holder())
        return _created(visit, body.get("name"))
    if method == "manual":
        body = json_body({"method": (str, True), "visitor": (dict, True)})
        check_print_capacity()  # a visitor check-in prints a pass
        visit = visits().checkin_visitor(body["visitor"], holder=holder())
        return _created(visit, visit["name"])
    json_body({"method": (str, True), "payload": (str, False), "id_number": (str, False), "name": (str, False),
               "visitor": (dict, False)})
    raise Invalid("invalid_method", "method must be qr, id or manual")


def public_scan(outcome: dict) -> dict:
    """A scan's outcome without the visit: the greeting (or farewell) name masked."""
    if is_staff():
        return outcome
    shown = {k: v for k, v in outcome.items() if k != "visit"}
    if outcome.get("visit"):
        shown["greeting"] = greeting(outcome["visit"].get("name"))
    return shown


@bp.post("/api/v1/scans")
@device_or_staff("kiosk", limit="scans")
def scan():
    """A code from a keyboard-wedge scanner on the kiosk page: card → check-in, pass → check-out."""
    body = json_body({"payload": (str, True)})
    if len(body["payload"]) > 512:
        raise Invalid("unknown_code", "this code is not a resident card or a visitor pass")
    device = current_device()
    return jsonify(public_scan(visits().scan(body["payload"], source="wedge", holder=holder(),
                                             device=device.name if device else None)))


@bp.post("/api/v1/checkouts")
@device_or_staff("kiosk", limit="checkouts")
def checkout_by_pass():
    body = json_body({"payload": (str, True)})
    visit = visits().checkout_pass(body["payload"][:512])
    if is_staff():
        return jsonify(visit)
    return jsonify({"ok": True, "action": "checked_out", "greeting": greeting(visit["name"])})


@bp.post("/api/v1/visits/<int:visit_id>/checkout")
@staff_api(*CHECKOUT_STAFF)
def checkout(visit_id: int):
    no_body()
    return jsonify(visits().checkout(visit_id))


def _day(name: str) -> date | None:
    value = request.args.get(name, "")
    if not value:
        return None
    try:
        if not _DATE.fullmatch(value):
            raise ValueError(value)
        day = date.fromisoformat(value)
        if not day_in_range(day):
            raise ValueError(value)
        return day
    except ValueError:
        raise Invalid("invalid_date", f"{name} must be a date YYYY-MM-DD between {FIRST_DAY.year} and "
                                      f"{LAST_DAY.year}") from None


def search_args() -> dict:
    """The filters shared by the API list, the security page and the CSV export."""
    method = request.args.get("method", "")
    if method not in ("", "qr", "id", "manual"):
        raise Invalid("invalid_parameter", "method must be qr, id or manual")
    return {"day_from": _day("from"), "day_to": _day("to"), "q": one_line(request.args.get("q", ""))[:60],
            "unit": request.args.get("unit", "")[:30], "method": method}


def describe(args: dict) -> str:
    return " ".join(f"{k}={v}" for k, v in args.items() if v)


@bp.get("/api/v1/visits")
@staff_api(*REVIEW)
def list_visits():
    args = search_args()
    limit = query_int("limit", 50, 1, MAX_PAGE)
    offset = query_int("offset", 0, 0, MAX_OFFSET)
    rows, total = visits().search(**args, limit=limit, offset=offset)
    audit("visits.list", "", describe(args) + f" offset={offset}")
    return jsonify({"visits": rows, "total": total, "limit": limit, "offset": offset})


@bp.get("/api/v1/visits/<int:visit_id>")
@staff_api(*REVIEW)
def get_visit(visit_id: int):
    visit = visits().get(visit_id)
    audit("visits.view", f"visit:{visit_id}")
    return jsonify(visit)


@bp.get("/api/v1/visits/<int:visit_id>/snapshot")
@staff_api(*REVIEW)
def snapshot(visit_id: int):
    """The full snapshot (audited), or with ?thumb=1 a small copy for the list, whose
    showing the list request already audited."""
    thumb = request.args.get("thumb") == "1"
    image = visits().snapshot_bytes(visit_id, thumb=thumb)
    if image is None:
        raise NotFound("not_found", f"visit {visit_id} has no snapshot")
    if not thumb:
        audit("visits.snapshot", f"visit:{visit_id}")
    return Response(image, mimetype="image/jpeg",
                    headers={"Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"})


@bp.get("/api/v1/audit")
@staff_api("manager")
def audit_log():
    limit = query_int("limit", 100, 1, MAX_AUDIT_PAGE)
    offset = query_int("offset", 0, 0, MAX_OFFSET)
    return jsonify({"entries": visits().audit_log(limit, offset)})


@bp.post("/api/v1/residents/<resident_id>/card")
@staff_api("manager")
def print_card(resident_id: str):
    """Print a new QR card for the resident on the ticket printer."""
    body = json_body({"days": (int, False)}) if request.get_data(cache=True) else {}
    principal = current_principal()
    status = visits().print_card(resident_id, body.get("days"), principal.name if principal else "")
    return jsonify({"resident_id": resident_id, "print": {"status": status}}), 201
