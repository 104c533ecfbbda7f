"""The manager's resident directory page: search residents and print a resident QR card
on the ticket printer."""

from __future__ import annotations

import re

from flask import Blueprint, redirect, render_template, request, url_for

from kiosk.errors import DomainError
from kiosk.web.auth import login_required, signed_in_principal
from kiosk.web.context import services

bp = Blueprint("residents_admin", __name__, url_prefix="/admin/residents")


@bp.get("/")
@login_required("manager")
def index():
    q = request.args.get("q", "")[:40]
    k = services()
    return render_template("residents_admin.html", residents=k.residents.directory(q), q=q,
                           printed=request.args.get("printed"), status=request.args.get("status"),
                           card_days=k.config.checkin.card_days)


@bp.post("/<resident_id>/card")
@login_required("manager")
def print_card(resident_id: str):
    days = request.form.get("days", "")
    try:
        status = services().visits.print_card(resident_id, int(days) if re.fullmatch(r"[0-9]{1,9}", days) else None,
                                              signed_in_principal().name)
    except DomainError as exc:  # shown on the page, not an error page
        status = exc.code
    return redirect(url_for("residents_admin.index", q=request.args.get("q", ""), printed=resident_id,
                            status=status))
