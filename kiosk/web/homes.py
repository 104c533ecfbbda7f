"""Each role's own start page: where a login without a `next` lands and where an error
page leads back to, so nobody is sent to a page their role cannot open."""

from __future__ import annotations

from flask import url_for

from kiosk.services.auth import Principal

#: Endpoint of each role's start page.
ROLE_HOMES = {
    "receptionist": "desk.console",
    "specialist": "cases.board",
    "security": "security.visits",
    "manager": "admin.index",
}


def role_home(principal: Principal | None) -> str:
    """The URL of `principal`'s start page (the login page for nobody)."""
    if principal is None:
        return url_for("auth.login")
    return url_for(ROLE_HOMES.get(principal.role, "kiosk.touchscreen"))
