"""Who may make an anonymous write: an enrolled device of the right kind, or staff.

`current_device()` is the device a request comes from: the one whose credential cookie it
carries (set by the pairing page), else the kiosk named "local" when the request comes from
an address in `server.kiosk_addresses`, else None. `device_or_staff(*kinds)` guards the
writes the hall's screens make (tickets, check-ins, scans, kiosk cases, ratings, questionnaire
answers) and what only they may read (the kiosk's unit list): a device of one of `kinds`,
a staff login (with its CSRF token on a write) or a bearer token passes; anyone else gets
401 `device_required`. Each guarded write also carries the name of its limit in `[limits]`,
which the app factory applies per device or address (kiosk/web/limits.py); staff are not
counted.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from flask import g, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError, validate_csrf
from wtforms import ValidationError

from kiosk.errors import Forbidden, Unauthorized
from kiosk.services.devices import Device
from kiosk.web.auth import current_principal
from kiosk.web.context import services

__all__ = ["DEVICE_COOKIE", "Device", "current_device", "device_or_staff", "is_staff", "limit_key"]

#: The HttpOnly cookie holding an enrolled device's credential.
DEVICE_COOKIE = "kiosk_device"
#: What a guarded view is marked with: the `[limits]` field that limits it.
LIMIT_ATTRIBUTE = "kiosk_write_limit"


def current_device() -> Device | None:
    """The enrolled device this request comes from (looked up once per request), or None."""
    if "kiosk_device" not in g:
        device = None
        credential = request.cookies.get(DEVICE_COOKIE, "")
        if credential:
            device = services().devices.from_credential(credential)
        if device is None:
            device = services().devices.from_address(request.remote_addr)
        g.kiosk_device = device
    found: Device | None = g.kiosk_device
    return found


def _staff_passes() -> bool:
    """True for a bearer token or a logged-in user (whose write must carry the CSRF token)."""
    if request.headers.get("Authorization"):
        if current_principal() is None:
            raise Unauthorized("unauthorized", "the bearer token is not valid")
        return True
    if current_principal() is None:
        return False
    if not g.get("via_token") and request.method not in ("GET", "HEAD"):
        try:
            validate_csrf(request.headers.get("X-CSRFToken", ""))
        except (ValidationError, CSRFError):
            raise Forbidden("csrf", "missing or invalid CSRF token") from None
    return True


def device_or_staff(*kinds: str, limit: str | None = None) -> Callable:
    """Guard an anonymous write (or a read meant for the hall's devices only): an enrolled
    device of `kinds`, staff, or 401 `device_required`.

    `limit` names the `[limits]` field counted per device or address for this write."""
    def decorate(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            device = current_device()
            if device is not None and device.kind in kinds and not request.headers.get("Authorization"):
                return view(*args, **kwargs)
            if _staff_passes():
                return view(*args, **kwargs)
            raise Unauthorized("device_required", _("This screen is not enrolled. Please ask the front desk."))
        if limit is not None:
            setattr(wrapped, LIMIT_ATTRIBUTE, limit)
        return wrapped
    return decorate


def limit_key() -> str:
    """What an anonymous write is counted by: the enrolled device, else the address."""
    device = current_device()
    if device is not None:
        return f"device:{device.name}"
    return f"addr:{request.remote_addr or '?'}"


def is_staff() -> bool:
    """A staff login or bearer token of any role: full answers, and writes not counted
    against the hall's limits."""
    try:
        return current_principal() is not None
    except Exception:  # noqa: BLE001 - a bad bearer token is refused by the view, and counted
        return False
