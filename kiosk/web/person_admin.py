"""The manager's page for a person's data rights: find a person by resident id, phone or
ID number, download everything about them as a zip, or erase them after typing the
reference the page shows. Both go to the audit log (kiosk/services/person.py)."""

from __future__ import annotations

from flask import Blueprint, Response, render_template, request

from kiosk.errors import DomainError
from kiosk.web.auth import login_required, signed_in_principal
from kiosk.web.context import services

bp = Blueprint("person_admin", __name__, url_prefix="/admin/person")

KINDS = ("resident", "phone", "id_number")


def _lookup() -> tuple[str, str]:
    kind = request.form.get("kind", "")
    return (kind if kind in KINDS else "resident"), request.form.get("value", "")[:64]


def _page(status: int = 200, **context) -> Response:
    response = Response(render_template("person_admin.html", kinds=KINDS, **context), status)
    response.headers["Cache-Control"] = "private, no-store"  # the page may show the number typed
    return response


@bp.get("/")
@login_required("manager")
def index():
    return _page(kind="resident", value="")


@bp.post("/")
@login_required("manager")
def find():
    kind, value = _lookup()
    try:
        summary = services().person.summary(kind, value)
    except DomainError as exc:
        return _page(400, kind=kind, value=value, error=exc.message)
    return _page(kind=kind, value=value, summary=summary)


@bp.post("/export")
@login_required("manager")
def export():
    kind, value = _lookup()
    principal = signed_in_principal()
    try:
        name, data = services().person.export(kind, value, actor=principal.name, role=principal.role)
    except DomainError as exc:
        return _page(400, kind=kind, value=value, error=exc.message)
    return Response(data, mimetype="application/zip",
                    headers={"Content-Disposition": f'attachment; filename="{name}"',
                             "Cache-Control": "private, no-store"})


@bp.post("/erase")
@login_required("manager")
def erase():
    kind, value = _lookup()
    person = services().person
    principal = signed_in_principal()
    try:
        summary = person.summary(kind, value)
        if request.form.get("confirm", "").strip().upper() != summary["reference"]:
            return _page(400, kind=kind, value=value, summary=summary, confirm_error=True)
        result = person.erase(kind, value, actor=principal.name, role=principal.role)
    except DomainError as exc:
        return _page(400, kind=kind, value=value, error=exc.message)
    return _page(kind=kind, value="", erased=result)
