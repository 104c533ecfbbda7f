"""The hall display: now serving per counter, the last calls, waiting counts."""

from __future__ import annotations

from flask import Blueprint, render_template

from kiosk.web.context import services

bp = Blueprint("display", __name__)


@bp.get("/display")
def hall():
    k = services()
    return render_template("display.html", board=k.queue.board(), site=k.config.site,
                           notices=k.notices.current() if k.notices else [])
