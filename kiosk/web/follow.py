"""The residents' phone pages: `/t/<cap>` follows a ticket, `/c/<cap>` shows a case and
takes its one rating. No login: the capability in the address is the only key, so an
unknown or altered one answers 404 with nothing about any ticket or case, and the pages
are never cached or sent as a referrer."""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, Response, jsonify, render_template

from kiosk.errors import NotFound
from kiosk.web.access import LIMIT_ATTRIBUTE
from kiosk.web.api import json_body
from kiosk.web.context import services

bp = Blueprint("follow", __name__)
api_bp = Blueprint("follow_api", __name__)

#: The page tells its holder to come back to the hall when this many or fewer are ahead.
REMINDER_AHEAD = 3
_PRIVATE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer", "X-Robots-Tag": "noindex"}


@bp.app_template_filter("phone_time")
def phone_time(iso: str | None) -> str:
    """An API time (ISO 8601 in the site's zone) as the phone pages print it."""
    return datetime.fromisoformat(iso).strftime("%Y-%m-%d %H:%M") if iso else ""


def _private(response: Response) -> Response:
    response.headers.update(_PRIVATE)
    return response


def _missing() -> Response:
    response = Response(render_template("follow_missing.html"), status=404)
    return _private(response)


@bp.get("/t/<cap>")
def ticket_page(cap: str) -> Response:
    try:
        ticket = services().follow.ticket(cap)
    except NotFound:
        return _missing()
    return _private(Response(render_template("follow_ticket.html", ticket=ticket, cap=cap,
                                             reminder_ahead=REMINDER_AHEAD)))


@bp.get("/c/<cap>")
def case_page(cap: str) -> Response:
    try:
        case = services().follow.case(cap)
    except NotFound:
        return _missing()
    return _private(Response(render_template("follow_case.html", case=case, cap=cap)))


@api_bp.get("/api/v1/t/<cap>")
def ticket_state(cap: str) -> Response:
    return _private(jsonify(services().follow.ticket(cap)))


@api_bp.get("/api/v1/c/<cap>")
def case_state(cap: str) -> Response:
    return _private(jsonify(services().follow.case(cap)))


@api_bp.post("/api/v1/c/<cap>/rating")
def rate_case(cap: str) -> Response:
    body = json_body({"score": (int, True), "comment": (str, False)})
    rating = services().follow.rate_case(cap, body["score"], (body.get("comment") or "")[:2000])
    response = _private(jsonify(rating))
    response.status_code = 201
    return response


# The capability is the credential (no device needed), but the write is counted like the
# kiosk's ratings, per device or address (kiosk/web/limits.py).
setattr(rate_case, LIMIT_ATTRIBUTE, "surveys")
