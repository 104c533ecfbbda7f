"""The one way a view reaches the kiosk: `services()`, what `create_app` was given."""

from __future__ import annotations

from flask import current_app

from kiosk.services.registry import Services

EXTENSION = "kiosk.services"


def services() -> Services:
    """The running kiosk's services (inside a request or an app context)."""
    return current_app.extensions[EXTENSION]
