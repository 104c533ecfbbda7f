"""Abuse limits: Flask-Limiter with in-memory storage, one limiter per app.

The views guarded by `device_or_staff(..., limit=NAME)` are counted per device or address
with the `[limits]` field NAME (moving window); staff logins and bearer tokens are exempt.
The login form is counted per address (`limits.login_per_address`), the pairing page too
(`limits.pairing`). The print queue has one global cap (`limits.max_pending_prints`),
checked by the views that print. Every limit answers 429 with `Retry-After` and the error
`rate_limited` (or `print_queue_full`, `login_locked`) whose message the kiosk shows in
Chinese and English.
"""

from __future__ import annotations

import math
import time

from flask import Flask, current_app, request
from flask_babel import gettext as _
from flask_limiter import Limiter, RateLimitExceeded

from kiosk.config import LimitsConfig
from kiosk.errors import TooMany
from kiosk.web.access import LIMIT_ATTRIBUTE, is_staff, limit_key
from kiosk.web.context import EXTENSION as SERVICES
from kiosk.web.context import services

EXTENSION = "kiosk.limiter"
#: Seconds a client is asked to wait when the print queue is full.
PRINT_QUEUE_RETRY_S = 30


def _address_key() -> str:
    return f"addr:{request.remote_addr or '?'}"


def init_app(app: Flask) -> Limiter:
    limits = services_config(app)
    limiter = Limiter(_address_key, app=app, storage_uri="memory://", strategy="moving-window",
                      enabled=limits.enabled, headers_enabled=False, key_prefix=f"kiosk{id(app)}")
    app.extensions[EXTENSION] = limiter
    if not limits.enabled:
        return limiter  # no wrapper left in the way of each request
    for endpoint, view in list(app.view_functions.items()):
        name = getattr(view, LIMIT_ATTRIBUTE, None)
        if name is not None:
            app.view_functions[endpoint] = limiter.limit(  # type: ignore[assignment]
                getattr(limits, name), key_func=limit_key, exempt_when=is_staff, scope=name)(view)
    for endpoint, name in (("auth.login", "login_per_address"), ("pairing.pair", "pairing")):
        if endpoint in app.view_functions:
            app.view_functions[endpoint] = limiter.limit(  # type: ignore[assignment]
                getattr(limits, name), methods=["POST"] if name.startswith("login") else None,
                scope=name)(app.view_functions[endpoint])
    return limiter


def services_config(app: Flask) -> LimitsConfig:
    limits: LimitsConfig = app.extensions[SERVICES].config.limits
    return limits


def retry_after(exc: RateLimitExceeded) -> int:
    """Seconds until the breached limit lets one more request through."""
    limiter: Limiter = current_app.extensions[EXTENSION]
    current = limiter.current_limit
    if current is not None and current.breached:
        return max(1, math.ceil(current.reset_at - time.time()))
    return max(1, int(exc.limit.limit.get_expiry()))


def check_print_capacity() -> None:
    """429 `print_queue_full` while `limits.max_pending_prints` jobs wait for the printer."""
    k = services()
    if k.pending_prints() >= k.config.limits.max_pending_prints:
        raise TooMany("print_queue_full", _("The printer is busy. Please wait a moment and try again."),
                      PRINT_QUEUE_RETRY_S)


def rate_limited_message() -> str:
    return _("Too many requests from this screen. Please wait a moment and try again.")
