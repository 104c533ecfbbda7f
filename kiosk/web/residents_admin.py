"""The manager's resident directory page: search residents and print a resident QR card
on the ticket printer."""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, request, url_for

from kiosk.services.visits import VisitError
from kiosk.store import visits as store
from kiosk.web.auth import current_principal, login_required

bp = Blueprint("residents_admin", __name__, url_prefix="/admin/residents")


def kiosk():
    return current_app.extensions["kiosk"]


@bp.get("/")
@login_required("manager")
def index():
    q = request.args.get("q", "")[:40]
    rows = store.residents(kiosk().db.conn, q)
    return render_template("residents_admin.html", residents=rows, q=q, printed=request.args.get("printed"),
                           status=request.args.get("status"), card_days=kiosk().config.checkin.card_days)


@bp.post("/<resident_id>/card")
@login_required("manager")
def print_card(resident_id: str):
    days = request.form.get("days", "")
    try:
        status = kiosk().visits.print_card(resident_id, int(days) if days.isdigit() else None,
                                           current_principal().name)
    except VisitError as exc:
        status = exc.code
    return redirect(url_for("residents_admin.index", q=request.args.get("q", ""), printed=resident_id,
                            status=status))
