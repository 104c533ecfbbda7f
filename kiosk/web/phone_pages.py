"""The desk phone's page: the call log with the missed-call list."""

from __future__ import annotations

from flask import Blueprint, render_template

from kiosk.web.auth import login_required
from kiosk.web.context import services

bp = Blueprint("phone_pages", __name__)


@bp.get("/desk/calls")
@login_required("receptionist", "specialist")
def call_log():
    k = services()
    return render_template("phone_calls.html", calls=k.calls.recent(limit=100),
                           missed=k.calls.recent(limit=100, missed_only=True), phone=k.calls.phone_health(),
                           site=k.config.site)
