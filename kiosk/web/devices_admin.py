"""Enrolled devices: the manager's page (list, add with a pairing link and its QR code,
revoke) and the public pairing page the device's browser opens."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, Response, abort, make_response, redirect, render_template, request, url_for

from kiosk.errors import DomainError
from kiosk.services.devices import KINDS, PAIRING_MINUTES
from kiosk.web.access import DEVICE_COOKIE
from kiosk.web.auth import login_required, signed_in_principal
from kiosk.web.context import services

bp = Blueprint("devices_admin", __name__, url_prefix="/admin/devices")
pairing_bp = Blueprint("pairing", __name__)

#: How long the device cookie lives (browsers cap cookies at 400 days); it is renewed on each pairing.
COOKIE_DAYS = 400
HOME = {"kiosk": "kiosk.touchscreen", "display": "display.hall", "tablet": "reports.rate"}


def pairing_url(token: str) -> str:
    """The link the device opens: `site.public_url` when configured, else the address the
    manager's browser reached this box at (`Pairing.url`, for the command line, has only
    the box's own idea of its LAN address)."""
    base = getattr(services().config.site, "public_url", "") or request.host_url
    return f"{base.rstrip('/')}{url_for('pairing.pair', token=token)}"


@bp.get("/")
@login_required("manager")
def index():
    return render_template("admin_devices.html", devices=services().devices.list(), kinds=KINDS, pairing=None,
                           error=request.args.get("error"), minutes=PAIRING_MINUTES)


@bp.post("/")
@login_required("manager")
def add():
    k = services()
    try:
        made = k.devices.add(request.form.get("name", "")[:60], request.form.get("kind", ""),
                             created_by=signed_in_principal().name)
    except DomainError as exc:
        return render_template("admin_devices.html", devices=k.devices.list(), kinds=KINDS, pairing=None,
                               error=exc.code, minutes=PAIRING_MINUTES), exc.status
    return render_template("admin_devices.html", devices=k.devices.list(), kinds=KINDS, minutes=PAIRING_MINUTES,
                           pairing={"name": made.name, "kind": made.kind, "url": pairing_url(made.token)}, error=None)


@bp.post("/<name>/revoke")
@login_required("manager")
def revoke(name: str):
    try:
        services().devices.revoke(name)
    except DomainError:
        abort(404)
    return redirect(url_for("devices_admin.index"))


@pairing_bp.get("/pair/<token>")
def pair_page(token: str):
    device = services().devices.pending(token)
    return render_template("pair.html", device=device, done=None), 200 if device else 404


@pairing_bp.post("/pair/<token>")
def pair(token: str) -> Response:
    try:
        device, credential = services().devices.pair(token)
    except DomainError:
        return make_response(render_template("pair.html", device=None, done=None), 404)
    response = make_response(render_template("pair.html", device=device, done=url_for(HOME[device.kind])))
    config = services().config
    response.set_cookie(DEVICE_COOKIE, credential, max_age=int(timedelta(days=COOKIE_DAYS).total_seconds()),
                        httponly=True, samesite="Lax", secure=config.server.https, path="/")
    return response

