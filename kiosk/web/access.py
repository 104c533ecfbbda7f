"""Device identity: which enrolled device (kiosk, display, tablet) a request comes from.

Minimal form: a request from an address in `server.kiosk_addresses` is the box's own
kiosk screen, named "local"; enrolled devices with their own credential come later.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import request

from kiosk.audience import LOCAL_DEVICE
from kiosk.errors import Unauthorized
from kiosk.web.auth import current_principal
from kiosk.web.context import services

KINDS = ("kiosk", "display", "tablet")


@dataclass(frozen=True)
class Device:
    name: str
    kind: str


def current_device() -> Device | None:
    """The device the request comes from, or None for anyone else."""
    if request.remote_addr and request.remote_addr in services().config.server.kiosk_addresses:
        return Device(LOCAL_DEVICE, "kiosk")
    return None


def device_or_staff(*kinds: str) -> Callable:
    """Writes that only an enrolled device of `kinds` (any kind when none given) or staff
    may make; others get 401 `device_required`."""
    def decorate(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            device = current_device()
            if current_principal() is None and (device is None or (kinds and device.kind not in kinds)):
                raise Unauthorized("device_required", "this needs an enrolled device or a staff login")
            return view(*args, **kwargs)
        return wrapped
    return decorate
