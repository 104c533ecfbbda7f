"""Which device a request comes from, and the guard on anonymous writes.

A minimal version: a request from one of `server.kiosk_addresses` is the box's own
kiosk (named "local"); every other anonymous request is no device. Enrolled devices
(a pairing URL that sets a device credential) replace this module with the same names.
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
    """The device making this request, or None (a staff browser or anyone else)."""
    if request.remote_addr and request.remote_addr in services().config.server.kiosk_addresses:
        return Device(LOCAL_DEVICE, "kiosk")
    return None


def device_or_staff(*kinds: str) -> Callable:
    """Guard for the writes the public surface takes: a device of one of `kinds` or any
    staff login/bearer token gets through; everyone else gets 401 `device_required`."""
    def decorate(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            device = current_device()
            if (device is None or device.kind not in kinds) and current_principal() is None:
                raise Unauthorized("device_required", "this needs an enrolled device or a staff login")
            return view(*args, **kwargs)
        return wrapped
    return decorate
