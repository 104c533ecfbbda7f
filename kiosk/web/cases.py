"""Cases: the JSON API (POST/GET /api/v1/cases, transitions, alerts) and the case board
page for the specialist, logistics and the manager."""

from __future__ import annotations

from typing import cast

from flask import Blueprint, g, jsonify, render_template, request
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError, validate_csrf
from wtforms import ValidationError

from kiosk.cases import rules
from kiosk.errors import DomainError, Forbidden, Invalid, NotFound, Unauthorized
from kiosk.names import CASE_TYPE_NAMES, case_number
from kiosk.privacy import public_case
from kiosk.services.auth import Principal
from kiosk.web.access import device_or_staff
from kiosk.web.api import json_body, query_int
from kiosk.web.auth import current_principal, login_required, staff_api
from kiosk.web.context import services
from kiosk.web.limits import check_print_capacity
from kiosk.web.privacy import VisitLink

api_bp = Blueprint("cases_api", __name__)
bp = Blueprint("cases", __name__)

STAFF = ("receptionist", "specialist", "manager")
#: What the touchscreen may file without a login.
KIOSK_TYPES = ("complaint", "repair")


def case_names() -> dict[str, dict[str, str]]:
    """Translated names of case types, channels, states, teams, methods and history actions."""
    english = get_locale().language == "en"
    return {
        "type": {t: en if english else zh for t, (zh, en) in CASE_TYPE_NAMES.items()},
        "channel": {"counter": _("Counter"), "phone": _("Phone"), "kiosk": _("Touchscreen"), "app": _("App")},
        "status": {"open": _("Open"), "in_progress": _("In progress"), "feedback_given": _("Feedback given"),
                   "closed": _("Closed")},
        "sla": {"ok": _("On time"), "due_soon": _("Due soon"), "overdue": _("Overdue"), "met": _("Met"),
                "missed": _("Late")},
        "team": {"reception": _("Reception"), "specialist": _("Customer service"), "logistics": _("Logistics")},
        "method": {"in_person": _("In person"), "phone": _("Phone"), "sms": _("Text message"), "app": _("App"),
                   "other": _("Other")},
        "action": {"create": _("Recorded"), "assign": _("Assigned"), "start": _("Started"), "answer": _("Answered"),
                   "feedback": _("Feedback recorded"), "close": _("Closed"), "reopen": _("Reopened"),
                   "note": _("Note"), "due_soon": _("Due soon"),
                   "overdue": _("Overdue, escalated to the manager")},
    }


@bp.app_context_processor
def _inject_case_names() -> dict:
    return {"case_names": case_names, "case_type_names": CASE_TYPE_NAMES}


bp.add_app_template_filter(case_number, "case_number")


def _principal_name() -> str | None:
    p = current_principal()
    return p.name if p else None


@api_bp.post("/api/v1/cases")
@device_or_staff("kiosk", limit="cases")
def create_case():
    body = json_body({"type": (str, True), "description": (str, True), "channel": (str, False),
                      "resident_id": (str, False), "ticket_id": (int, False), "call_id": (int, False),
                      "visit_id": (int, False), "checkin_token": (str, False), "category": (str, False),
                      "contact_name": (str, False), "contact_phone": (str, False), "unit": (str, False),
                      "print": (bool, False)})
    principal = current_principal()
    if request.headers.get("Authorization") and principal is None:
        raise Unauthorized("unauthorized", "the bearer token is not valid")
    if principal is not None and not g.get("via_token"):
        try:  # a logged-in browser: the same CSRF check as every other staff write
            validate_csrf(request.headers.get("X-CSRFToken", ""))
        except (ValidationError, CSRFError):
            raise Forbidden("csrf", "missing or invalid CSRF token") from None
    if principal is None or not principal.has(*STAFF):
        # the touchscreen: a resident files a complaint or a repair and gets a slip
        if body.get("channel", "kiosk") != "kiosk":
            raise Unauthorized("unauthorized", "only staff record cases of other channels")
        if body["type"] not in KIOSK_TYPES:
            raise Invalid("unknown_type", "the touchscreen files complaints and repairs only")
        for field in ("resident_id", "ticket_id", "call_id"):
            if body.get(field) is not None:
                raise Invalid("invalid_field", f"field {field!r} needs a staff login")
        body["channel"] = "kiosk"
        body.setdefault("print", True)
    elif "channel" not in body:
        body["channel"] = "counter"
    print_slip = bool(body.pop("print", False))
    if print_slip:
        check_print_capacity()
    link = VisitLink(body)
    body.pop("checkin_token", None)
    body["visit_id"] = link.visit_id
    try:
        case = services().cases.create(**body, actor=principal.name if principal else "kiosk", print_slip=print_slip)
    except DomainError:
        link.release()
        raise
    if principal is None:
        response = jsonify(public_case(case))  # the touchscreen: no contact fields, no case text
    else:
        response = jsonify(case)
        response.headers["Location"] = f"/api/v1/cases/{case['id']}"
    response.status_code = 201
    return response


def _csv_arg(name: str) -> list[str] | None:
    return [v for v in request.args.get(name, "").split(",") if v] or None


@api_bp.get("/api/v1/cases")
@staff_api(*STAFF)
def list_cases():
    overdue = request.args.get("overdue", "")
    if overdue not in ("", "0", "1", "true", "false"):
        raise Invalid("invalid_filter", "overdue is true or false")
    limit = query_int("limit", 200, 1, 1000, code="invalid_filter")
    cases = services().cases.list(status=_csv_arg("status"), types=_csv_arg("type"),
                                  overdue=overdue in ("1", "true"), team=request.args.get("team") or None,
                                  assignee=request.args.get("assignee") or None,
                                  resident_id=request.args.get("resident_id") or None, limit=limit)
    return jsonify({"cases": cases})


@api_bp.get("/api/v1/cases/board")
@staff_api(*STAFF)
def case_board_data():
    return jsonify(services().cases.board(_principal_name()))


@api_bp.get("/api/v1/cases/alerts")
@staff_api(*STAFF)
def case_alerts():
    return jsonify(services().cases.alerts())


@api_bp.get("/api/v1/cases/<int:case_id>")
@staff_api(*STAFF)
def get_case(case_id: int):
    return jsonify(services().cases.get(case_id))


@api_bp.post("/api/v1/cases/<int:case_id>/<action>")
@staff_api(*STAFF)
def case_action(case_id: int, action: str):
    if action not in rules.TRANSITIONS:
        raise NotFound("not_found", f"unknown action {action!r}")
    body = json_body({"text": (str, False), "method": (str, False), "team": (str, False),
                      "assignee": (str, False)}) if request.get_data(cache=True) else {}
    principal = cast(Principal, current_principal())  # staff_api let the request in, so there is one
    return jsonify(services().cases.act(case_id, action, actor=principal.name, has_role=principal.has, **body))


@bp.get("/cases")
@login_required("specialist", "receptionist")
def board():
    k = services()
    return render_template("cases_board.html", site=k.config.site, types=rules.TYPES, teams=rules.TEAMS,
                           methods=rules.FEEDBACK_METHODS)


@bp.get("/cases/<int:case_id>")
@login_required("specialist", "receptionist")
def detail(case_id: int):
    k = services()
    case = k.cases.get(case_id)
    ticket = k.queue.get(case["ticket_id"]) if case.get("ticket_id") else None
    return render_template("cases_detail.html", case=case, site=k.config.site, teams=rules.TEAMS,
                           methods=rules.FEEDBACK_METHODS, ticket_number=ticket["number"] if ticket else "")
