"""Staff login for pages, bearer tokens for the API, and the role checks of both.

A login keeps only a random session id in Flask's signed cookie (`session["sid"]`); the
session itself lives in the database (kiosk/services/auth.py), so logging out, the idle
timeout and the absolute lifetime, a password change and a disabled user end it for every
copy of the cookie."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any
from urllib.parse import urlparse

from flask import Blueprint, abort, g, make_response, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError, validate_csrf
from wtforms import ValidationError

from kiosk.errors import Forbidden, TooMany, Unauthorized
from kiosk.services.auth import Principal
from kiosk.web.context import services
from kiosk.web.homes import role_home

bp = Blueprint("auth", __name__)


def current_principal() -> Principal | None:
    """The bearer token's or the logged-in user's identity, looked up once per request."""
    if "principal" not in g:
        principal = None
        header = request.headers.get("Authorization", "")
        if header.startswith("Bearer "):
            principal = services().auth.from_token(header[7:].strip())
            g.via_token = True
        elif session.get("sid"):
            principal = services().auth.session_principal(session["sid"])
            g.via_token = False
        g.principal = principal
    return g.principal


def signed_in_principal() -> Principal:
    """`current_principal()` in a view behind `login_required` or `staff_api`, which
    guarantee there is one."""
    principal = current_principal()
    if principal is None:
        raise Unauthorized("unauthorized", "log in or send a bearer token")
    return principal


def init_app(app) -> None:
    @app.context_processor
    def inject_user() -> dict[str, Any]:
        return {"principal": current_principal() if session.get("sid") else None}


def staff_api(*roles: str) -> Callable:
    """API guard: 401 without credentials, 403 with the wrong role, CSRF on cookie sessions."""
    def decorate(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            principal = current_principal()
            if principal is None:
                raise Unauthorized("unauthorized", "log in or send a bearer token")
            if roles and not principal.has(*roles):
                raise Forbidden("forbidden", f"this needs the role {' or '.join(roles)}")
            if not g.get("via_token") and request.method not in ("GET", "HEAD", "OPTIONS"):
                try:
                    validate_csrf(request.headers.get("X-CSRFToken", ""))
                except (ValidationError, CSRFError):
                    raise Forbidden("csrf", "missing or invalid CSRF token") from None
            return view(*args, **kwargs)
        return wrapped
    return decorate


def login_required(*roles: str) -> Callable:
    """Page guard: to the login page when logged out, 403 with the wrong role."""
    def decorate(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            principal = current_principal() if session.get("sid") else None
            if principal is None:
                return redirect(url_for("auth.login", next=request.full_path))
            if roles and not principal.has(*roles):
                abort(403)
            return view(*args, **kwargs)
        return wrapped
    return decorate


def _safe_next(target: str | None, principal: Principal | None = None) -> str:
    parsed = urlparse(target or "")
    if target and not parsed.scheme and not parsed.netloc and target.startswith("/"):
        return target
    return role_home(principal)


def login_page(error: str | None, status: int) -> tuple[str, int]:
    return render_template("login.html", error=error), status


@bp.route("/login", methods=["GET", "POST"])
def login():
    if request.method == "GET":
        return login_page(None, 200)
    address = request.remote_addr or ""
    try:
        principal = services().auth.login(request.form.get("username", "")[:200], request.form.get("password", ""),
                                          address)
    except TooMany as exc:
        response = make_response(login_page(_("Too many wrong passwords. Please try again in %(minutes)s "
                                              "minute(s).", minutes=max(1, -(-exc.retry_after // 60))), 429))
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    if principal is None:
        return login_page(_("Wrong user name or password."), 401)
    old_sid = session.get("sid")
    if old_sid:
        services().auth.end_session(old_sid, "replaced")
    lang = session.get("lang")
    session.clear()
    session["sid"] = services().auth.start_session(principal.name, address)
    if lang:
        session["lang"] = lang
    return redirect(_safe_next(request.args.get("next"), principal))


@bp.route("/logout", methods=["POST"])
def logout():
    sid = session.get("sid")
    if sid:
        services().auth.end_session(sid, "logout")
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    return redirect(url_for("auth.login"))
