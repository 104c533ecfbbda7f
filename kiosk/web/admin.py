"""The manager's pages: device health and the printer preview."""

from __future__ import annotations

from flask import Blueprint, Response, abort, redirect, render_template, url_for

from kiosk.web.auth import login_required
from kiosk.web.context import services

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.get("/")
@login_required("manager")
def index():
    k = services()
    return render_template("admin.html", health=k.health(), prints=k.previews.recent(), site=k.config.site)


@bp.get("/prints/<name>.png")
@login_required("manager")
def print_preview(name: str):
    png = services().previews.png(name)
    if png is None:
        abort(404)
    return Response(png, mimetype="image/png", headers={"Cache-Control": "private, max-age=86400"})


@bp.post("/printer/retry")
@login_required("manager")
def printer_retry():
    services().retry_printer()
    return redirect(url_for("admin.index"))
