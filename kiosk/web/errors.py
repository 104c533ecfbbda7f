"""Where errors become HTTP, for the whole app: a `DomainError` (kiosk/errors.py) answers
with its class's status, and so does any HTTP error Flask raises. The API (`/api/...`
and `/healthz`) gets `{"error": {"code", "message"}}`; pages get the error page."""

from __future__ import annotations

from flask import Flask, Response, jsonify, make_response, render_template, request
from flask_limiter import RateLimitExceeded
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError, TooManyRequests, default_exceptions

from kiosk.errors import DomainError, TooMany
from kiosk.web.homes import role_home


def error_response(status: int, code: str, message: str) -> Response:
    response = jsonify({"error": {"code": code, "message": message}})
    response.status_code = status
    return response


#: Paths outside /api/ that answer JSON errors (the touchscreen's elder-mode prompt and its
#: unit list are a device's write and read).
JSON_PATHS = ("/healthz", "/kiosk/prompt", "/kiosk/units.json")


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.path in JSON_PATHS


def _page(error: HTTPException) -> tuple[str, int]:
    # a page form's CSRF refusal says so (data-reason="csrf"): the page shows no framework text
    return render_template("error.html", error=error, reason="csrf" if isinstance(error, CSRFError) else None), \
        error.code or 500


def register(app: Flask) -> None:
    app.jinja_env.globals["role_home"] = role_home

    @app.errorhandler(DomainError)
    def domain_error(exc: DomainError) -> Response:
        if _wants_json():
            response = error_response(exc.status, exc.code, exc.message)
        else:
            response = make_response(_page(default_exceptions.get(exc.status, InternalServerError)(
                description=exc.message)))
        if isinstance(exc, TooMany):
            response.headers["Retry-After"] = str(exc.retry_after)
        return response

    @app.errorhandler(RateLimitExceeded)
    def rate_limited(exc: RateLimitExceeded) -> Response:
        from kiosk.web.limits import rate_limited_message, retry_after

        message = rate_limited_message()
        if _wants_json():
            response = error_response(429, "rate_limited", message)
        elif request.endpoint == "auth.login":
            from kiosk.web.auth import login_page

            response = make_response(login_page(message, 429))
        else:
            response = make_response(_page(TooManyRequests(description=message)))
        response.headers["Retry-After"] = str(retry_after(exc))
        return response

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response:
        if _wants_json():
            code = (exc.name or "error").lower().replace(" ", "_")
            response = error_response(exc.code or 500, code, exc.description or exc.name)
        else:
            response = make_response(_page(exc))
        # the headers the error itself carries: Allow on a 405, WWW-Authenticate, Retry-After
        for name, value in exc.get_headers():
            if name.lower() != "content-type":
                response.headers[name] = value
        return response
