"""The hall display: now serving per counter, the last calls, waiting counts."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template

bp = Blueprint("display", __name__)


@bp.get("/display")
def hall():
    k = current_app.extensions["kiosk"]
    return render_template("display.html", board=k.queue.board(), site=k.config.site)
