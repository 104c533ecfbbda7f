"""The hall display's notices: the manager's page that keeps them, and the list the
display reads (public: it is what the hall shows anyway)."""

from __future__ import annotations

from flask import Blueprint, jsonify, redirect, render_template, request, url_for

from kiosk.errors import Invalid
from kiosk.web.auth import login_required, signed_in_principal
from kiosk.web.context import services

bp = Blueprint("notices", __name__)


def _notices():
    notices = services().notices
    if notices is None:
        raise Invalid("not_configured", "notices are not available")
    return notices


@bp.get("/admin/notices")
@login_required("manager")
def edit():
    return render_template("admin_notices.html", notices=_notices().current(), saved=request.args.get("saved"),
                           error=None)


@bp.post("/admin/notices")
@login_required("manager")
def save():
    texts = request.form.get("notices", "").splitlines()
    try:
        _notices().replace(texts, signed_in_principal().name)
    except Invalid as exc:
        return render_template("admin_notices.html", notices=texts, saved=None, error=exc.message), 400
    return redirect(url_for("notices.edit", saved=1))


@bp.get("/display/notices.json")
def current():
    return jsonify(_notices().public())
