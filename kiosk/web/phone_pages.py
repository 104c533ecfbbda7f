"""The desk phone's page: the call log with the missed-call list."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template

from kiosk.web.auth import login_required

bp = Blueprint("phone_pages", __name__)


@bp.get("/desk/calls")
@login_required("receptionist", "specialist")
def call_log():
    k = current_app.extensions["kiosk"]
    return render_template("phone_calls.html", calls=k.calls.recent(limit=100),
                           missed=k.calls.recent(limit=100, missed_only=True), phone=k.phone.health(),
                           site=k.config.site)
