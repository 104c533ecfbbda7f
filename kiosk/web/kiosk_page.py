"""The residents' self-service touchscreen."""

from __future__ import annotations

import io

import qrcode
import qrcode.image.svg
from flask import Blueprint, Response, abort, jsonify, redirect, render_template, request, url_for

from kiosk import capability
from kiosk.audience import LOCAL_DEVICE
from kiosk.pinyin_table import candidates
from kiosk.web.access import current_device, device_or_staff
from kiosk.web.api import json_body
from kiosk.web.context import services

bp = Blueprint("kiosk", __name__)

#: Longest payload the QR route encodes; ticket references are ~30 characters.
QR_MAX_CHARS = 200


@bp.get("/")
def index():
    return redirect(url_for("kiosk.touchscreen"))


@bp.get("/kiosk")
def touchscreen():
    k = services()
    device = current_device()
    # the box's camera belongs to the box's own screen, as its scans' greetings do (kiosk/audience.py)
    own_camera = device is not None and device.kind == "kiosk" and device.name == LOCAL_DEVICE
    return render_template("kiosk.html", services=k.queue.services(), site=k.config.site,
                           printer=k.printer_availability(),
                           camera_feedback=k.camera_feedback() if own_camera else "off")


@bp.get("/kiosk/units.json")
@device_or_staff("kiosk")
def units():
    """The units of the resident directory (no names) for the visitor form's unit picker.
    Which flats have residents is personal data and /kiosk is open to the LAN: only an
    enrolled kiosk (or staff) gets them; elsewhere the unit keyboard has digits and "-"."""
    response = jsonify({"units": services().residents.units()})
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/kiosk/prompt")
@device_or_staff("kiosk", "tablet", limit="prompts")
def prompt():
    """Elder mode: say the prompt of the screen just shown (a fixed text, see PromptService).
    An anonymous write (it makes the hall's speaker talk): an enrolled kiosk or tablet, or staff."""
    body = json_body({"prompt": (str, True)})
    prompts = services().prompts
    if prompts is None:
        abort(400, description="elder mode has no speaker here")
    prompts.say(body["prompt"])
    return Response(status=202)


@bp.get("/kiosk/pinyin.json")
def pinyin():
    """Syllable → candidate characters for the on-screen name keyboard (about 32 kB)."""
    response = jsonify(candidates())
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response


@bp.get("/kiosk/qr.svg")
def qr_svg():
    """The QR code of `data` (a ticket's phone link) as SVG, for the result screen."""
    data = request.args.get("data", "")
    if not data:
        abort(400, description="the data parameter is required")
    if len(data) > QR_MAX_CHARS:
        abort(400, description=f"data is longer than {QR_MAX_CHARS} characters")
    qr = qrcode.QRCode(border=2, box_size=10, error_correction=qrcode.constants.ERROR_CORRECT_M,
                       image_factory=qrcode.image.svg.SvgPathImage)
    qr.add_data(data)
    qr.make(fit=True)
    buf = io.BytesIO()
    qr.make_image().save(buf)
    # a phone-page link is a capability: not kept in the kiosk browser's cache
    cache = "no-store" if capability.from_link(data) else "public, max-age=86400"
    return Response(buf.getvalue(), mimetype="image/svg+xml",
                    headers={"Cache-Control": cache, "X-Content-Type-Options": "nosniff"})
