"""The application factory: one Flask app, a blueprint per audience."""

from __future__ import annotations

import logging
import secrets
from pathlib import Path
from typing import Any

from flask import Flask, Response, request, session
from flask.json.provider import DefaultJSONProvider
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from flask_babel import Babel
from flask_wtf.csrf import CSRFProtect
from werkzeug.routing import IntegerConverter

from kiosk.services.registry import Services
from kiosk.web.context import EXTENSION

log = logging.getLogger(__name__)

LOCALES = ("zh_CN", "en")


def _secret_key(data_dir: Path) -> str:
    """The site's session key: made on first start under the data directory, never in the repo."""
    path = data_dir / "secret_key"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(secrets.token_hex(32))
        tmp.chmod(0o600)
        tmp.replace(path)
    return path.read_text().strip()


#: Sent on every response. Everything the pages load (scripts, styles, images, the event
#: stream, fetches) comes from the kiosk itself; no inline script or style is allowed (the
#: templates' `<script type="application/json">` string blocks are data, never executed,
#: so CSP does not apply to them); no site may frame a page (clickjacking of staff pages).
CONTENT_SECURITY_POLICY = ("default-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'; "
                           "object-src 'none'")
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


class _Utf8Json(DefaultJSONProvider):
    ensure_ascii = False  # names, services and messages stay readable Chinese, not \u escapes


class IdConverter(IntegerConverter):
    """`<int:...>` in every route: 1 to 19 ASCII digits up to SQLite's largest integer.
    A longer or larger id (or one in other scripts' digits, which `\\d` and int() take)
    matches no route, so it answers 404 like any id that does not exist, and never
    reaches SQLite, which cannot bind it."""

    regex = r"[0-9]{1,19}"

    def __init__(self, map, *args, **kwargs) -> None:
        kwargs.setdefault("max", 2**63 - 1)
        super().__init__(map, *args, **kwargs)


class CookieSessions(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, minus the signing serializer Flask builds for every
    request: kiosk and API requests carry no session cookie and need none."""

    def open_session(self, app: Flask, request) -> SecureCookieSession | None:
        if app.secret_key and not request.cookies.get(self.get_cookie_name(app)):
            return self.session_class()
        return super().open_session(app, request)


def create_app(services: Services, **flask_config: Any) -> Flask:
    """Build the web app around a running kiosk's `services` (`Kiosk(config).services`)."""
    config = services.config
    app = Flask(__name__)
    app.url_map.converters["int"] = IdConverter  # before any route is added
    app.session_interface = CookieSessions()
    app.config.update(
        SECRET_KEY=_secret_key(config.data_dir),
        MAX_CONTENT_LENGTH=config.server.max_body_bytes,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=config.server.https,
        BABEL_DEFAULT_LOCALE=config.site.locale,
        BABEL_TRANSLATION_DIRECTORIES=str(Path(__file__).parent / "translations"),
        WTF_CSRF_TIME_LIMIT=None,
        JSON_AS_ASCII=False,
    )
    app.config.update(flask_config)
    app.json = _Utf8Json(app)
    app.extensions[EXTENSION] = services

    def select_locale() -> str:
        wanted = request.args.get("lang")
        if wanted in LOCALES:
            session["lang"] = wanted
        return session.get("lang") or config.site.locale

    Babel(app, locale_selector=select_locale)
    csrf = CSRFProtect(app)

    from kiosk.web import (
        admin,
        api,
        api_calls,
        api_visits,
        auth,
        desk,
        devices_admin,
        display,
        errors,
        follow,
        kiosk_page,
        labels,
        limits,
        notices,
        person_admin,
        phone_pages,
        residents_admin,
        security,
    )
    from kiosk.web import cases as cases_web
    from kiosk.web import reports as reports_web

    @app.context_processor
    def inject_site() -> dict[str, Any]:
        return {"site": config.site}

    @app.after_request
    def security_headers(response: Response) -> Response:
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    errors.register(app)
    labels.register(app)
    auth.init_app(app)
    for bp in (api.bp, kiosk_page.bp, desk.bp, display.bp, admin.bp, auth.bp,
               cases_web.api_bp, cases_web.bp, reports_web.api_bp, reports_web.bp,
               api_calls.bp, phone_pages.bp, api_visits.bp, security.bp, residents_admin.bp,
               devices_admin.bp, devices_admin.pairing_bp, person_admin.bp, follow.bp, follow.api_bp, notices.bp):
        app.register_blueprint(bp)
    limits.init_app(app)  # after the blueprints: it wraps the views they marked
    csrf.exempt(api.bp)
    csrf.exempt(api_visits.bp)
    csrf.exempt(api_calls.bp)
    csrf.exempt(cases_web.api_bp)
    csrf.exempt(reports_web.api_bp)
    csrf.exempt(follow.api_bp)
    csrf.exempt("kiosk.web.kiosk_page.prompt")  # a device write like the API's: guarded by device_or_staff
    return app
