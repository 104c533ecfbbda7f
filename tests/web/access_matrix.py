"""Who may call what: the expected access of every route of the app, as data.

Keys are "METHOD rule" exactly as the URL map spells them; the test fails for a route
missing here (add it with its policy) and for an entry with no route. Policies:

    public              anyone, devices and staff alike
    device:K1,K2        an enrolled device of those kinds, or any staff login or bearer token
    api:R1,R2           staff with one of those roles (the manager always), by login or bearer token
    page:R1,R2          a staff page: a login with one of those roles (the manager always); a
                        bearer token does not open pages
"""

from __future__ import annotations

EXPECTED: dict[str, str] = {
    # the touchscreen, the hall display, the rating tablet: pages and queue facts
    "GET /": "public",
    "GET /kiosk": "public",
    "GET /kiosk/qr.svg": "public",
    "GET /kiosk/pinyin.json": "public",
    "GET /display/notices.json": "public",
    "GET /display": "public",
    "GET /rate": "public",
    "GET /static/<path:filename>": "public",
    "GET /healthz": "public",
    "GET /api/v1/openapi.json": "public",
    "GET /api/v1/services": "public",
    "GET /api/v1/board": "public",
    "GET /api/v1/events": "public",
    "GET /api/v1/staff/events": "api:receptionist,specialist,security",
    "GET /api/v1/tickets/<int:ticket_id>": "public",
    "GET /api/v1/surveys/pending": "public",
    "GET /api/v1/questionnaire": "public",
    "GET /login": "public",
    "GET /t/<cap>": "public",
    "GET /c/<cap>": "public",
    "GET /api/v1/t/<cap>": "public",
    "GET /api/v1/c/<cap>": "public",
    "POST /api/v1/c/<cap>/rating": "public",
    "GET /pair/<token>": "public",
    "POST /pair/<token>": "public",
    "POST /login": "public",
    "POST /logout": "public",
    # anonymous writes: an enrolled device or staff
    "POST /api/v1/tickets": "device:kiosk",
    "POST /api/v1/checkins": "device:kiosk",
    "POST /api/v1/scans": "device:kiosk",
    "POST /api/v1/checkouts": "device:kiosk",
    "POST /api/v1/cases": "device:kiosk",
    "POST /api/v1/questionnaire": "device:kiosk,tablet",
    "POST /api/v1/surveys": "device:kiosk,tablet",
    "POST /kiosk/prompt": "device:kiosk,tablet",
    # what only the hall's kiosks read: the directory's units for the unit picker
    "GET /kiosk/units.json": "device:kiosk",
    # the counters
    "GET /api/v1/tickets": "api:receptionist,specialist",
    "GET /api/v1/counters/<counter>": "api:receptionist,specialist",
    "POST /api/v1/counters/<counter>/call-next": "api:receptionist",
    "POST /api/v1/tickets/<int:ticket_id>/call": "api:receptionist",
    "POST /api/v1/tickets/<int:ticket_id>/<action>": "api:receptionist",
    "GET /desk": "page:receptionist",
    # calls
    "GET /api/v1/calls": "api:receptionist,specialist",
    "GET /api/v1/calls/missed": "api:receptionist,specialist",
    "GET /api/v1/calls/<int:call_id>": "api:receptionist,specialist",
    "POST /api/v1/calls/<int:call_id>/handled": "api:receptionist,specialist",
    "POST /api/v1/phone/simulate": "api:manager",
    "GET /desk/calls": "page:receptionist,specialist",
    # cases
    "GET /api/v1/cases": "api:receptionist,specialist",
    "GET /api/v1/cases/board": "api:receptionist,specialist",
    "GET /api/v1/cases/alerts": "api:receptionist,specialist",
    "GET /api/v1/cases/<int:case_id>": "api:receptionist,specialist",
    "POST /api/v1/cases/<int:case_id>/<action>": "api:receptionist,specialist",
    "GET /cases": "page:receptionist,specialist",
    "GET /cases/<int:case_id>": "page:receptionist,specialist",
    # residents
    "GET /api/v1/residents/<resident_id>/profile": "api:receptionist,specialist",
    "POST /api/v1/residents/<resident_id>/card": "api:manager",
    "GET /residents/": "page:receptionist,specialist",
    "GET /residents/<resident_id>": "page:receptionist,specialist",
    "GET /admin/residents/": "page:manager",
    "POST /admin/residents/<resident_id>/card": "page:manager",
    # the visit log
    "GET /api/v1/visits": "api:security",
    "GET /api/v1/visits/<int:visit_id>": "api:security",
    "GET /api/v1/visits/<int:visit_id>/snapshot": "api:security",
    "POST /api/v1/visits/<int:visit_id>/checkout": "api:security,receptionist",
    "GET /api/v1/audit": "api:manager",
    "GET /security/": "page:security",
    "GET /security/visits/<int:visit_id>": "page:security",
    "POST /security/visits/<int:visit_id>/checkout": "page:security",
    "GET /security/visits.csv": "page:security",
    "GET /security/audit": "page:manager",
    # reports and quality
    "GET /api/v1/reports/<kind>/<period>": "api:manager",
    "POST /api/v1/spot-checks": "api:manager",
    "GET /api/v1/spot-checks/<int:check_id>": "api:manager",
    "POST /api/v1/spot-check-items/<int:item_id>": "api:manager",
    "POST /api/v1/improvement-actions": "api:manager",
    "POST /api/v1/improvement-actions/<int:action_id>": "api:manager",
    "GET /reports/": "page:manager",
    "GET /reports/<kind>": "page:manager",
    "GET /reports/<kind>/<period>.<fmt>": "page:manager",
    "GET /reports/spot-checks/<int:check_id>": "page:manager",
    # administration
    "GET /admin/": "page:manager",
    "GET /admin/person/": "page:manager",
    "GET /admin/devices/": "page:manager",
    "GET /admin/notices": "page:manager",
    "POST /admin/notices": "page:manager",
    "POST /admin/devices/": "page:manager",
    "POST /admin/devices/<name>/revoke": "page:manager",
    "POST /admin/person/": "page:manager",
    "POST /admin/person/export": "page:manager",
    "POST /admin/person/erase": "page:manager",
    "GET /admin/prints/<name>.png": "page:manager",
    "POST /admin/printer/retry": "page:manager",
}


def allowed(policy: str, caller: str) -> bool:
    """Whether `caller` ("anonymous", "unenrolled", "device:KIND", "session:ROLE" or
    "bearer:ROLE") may call a route of `policy`."""
    kind, _, arg = policy.partition(":")
    names = set(arg.split(",")) if arg else set()
    how, _, who = caller.partition(":")
    if kind == "public":
        return True
    if kind == "device":
        return (how == "device" and who in names) or how in ("session", "bearer")
    if kind == "api":
        return how in ("session", "bearer") and (who in names or who == "manager")
    if kind == "page":
        return how == "session" and (who in names or who == "manager")
    raise ValueError(f"unknown policy {policy!r}")
