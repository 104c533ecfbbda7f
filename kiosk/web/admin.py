"""The manager's pages: device health and the printer preview."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Response, abort, current_app, redirect, render_template, url_for

from kiosk.devices.escpos_decode import render_png
from kiosk.devices.ticket_layout import paper_width_px
from kiosk.web.auth import login_required

bp = Blueprint("admin", __name__, url_prefix="/admin")


def kiosk():
    return current_app.extensions["kiosk"]


def _preview_dir() -> Path:
    return kiosk().config.data_dir / "prints"


@bp.get("/")
@login_required("manager")
def index():
    prints = sorted(_preview_dir().glob("*.bin"), reverse=True)[:12] if _preview_dir().is_dir() else []
    return render_template("admin.html", health=kiosk().health(), prints=[p.stem for p in prints],
                           site=kiosk().config.site)


@bp.get("/prints/<name>.png")
@login_required("manager")
def print_preview(name: str):
    path = _preview_dir() / f"{name}.bin"
    if "/" in name or name.startswith(".") or not path.is_file():
        abort(404)
    return Response(render_png(path.read_bytes(), paper_width_px(kiosk().config.printer.profile)), mimetype="image/png",
                    headers={"Cache-Control": "private, max-age=86400"})


@bp.post("/printer/retry")
@login_required("manager")
def printer_retry():
    kiosk().spooler.retry_now()
    return redirect(url_for("admin.index"))
