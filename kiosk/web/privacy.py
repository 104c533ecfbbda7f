"""Who is asking, for the answers of the public surface: staff get the full records;
devices and everyone else get the shapes of kiosk/privacy.py. Also the check-in token
that links a ticket or a case to the check-in made just before on the same device."""

from __future__ import annotations

from typing import Any

from flask import request

from kiosk.errors import Invalid
from kiosk.web.access import current_device, is_staff
from kiosk.web.auth import current_principal
from kiosk.web.context import services


def holder() -> str:
    """Who a check-in token is bound to: the device, else the staff member, else the address."""
    device = current_device()
    if device is not None:
        return f"device:{device.kind}:{device.name}"
    principal = current_principal()
    if principal is not None:
        return f"staff:{principal.name}"
    return f"address:{request.remote_addr or ''}"


class VisitLink:
    """The visit a ticket or case body names: `checkin_token` (anyone, redeemed here, once)
    or `visit_id` (staff only). `release()` gives the token back when the write is refused."""

    def __init__(self, body: dict[str, Any]) -> None:
        self.token: str | None = body.get("checkin_token") or None
        self.visit_id: int | None = body.get("visit_id")
        if self.token is not None and self.visit_id is not None:
            raise Invalid("invalid_field", "send checkin_token or visit_id, not both")
        if self.visit_id is not None and not is_staff():
            raise Invalid("invalid_field", "field 'visit_id' needs a staff login; send the check-in's checkin_token")
        if self.token is not None:
            self.visit_id = services().visits.redeem_checkin_token(self.token, holder())

    def release(self) -> None:
        if self.token is not None:
            services().visits.give_back_checkin_token(self.token)
            self.token = None
