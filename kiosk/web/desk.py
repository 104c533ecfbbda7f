"""The receptionists' call-next console."""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request, session

from kiosk.web.auth import login_required
from kiosk.web.context import services

bp = Blueprint("desk", __name__)


@bp.get("/desk")
@login_required("receptionist")
def console():
    k = services()
    counters = k.config.counters
    wanted = request.args.get("counter") or session.get("counter") or counters[0].id
    counter = k.config.counter(wanted)
    if counter is None:
        abort(404)
    session["counter"] = counter.id
    return render_template("desk.html", counter=counter, counters=counters, services=k.config.services,
                           site=k.config.site, printer=k.printer_availability(),
                           today=k.queue.counter_today(counter.id), now=k.clock.now().isoformat())
