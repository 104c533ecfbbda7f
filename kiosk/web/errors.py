"""Where errors become HTTP, for the whole app: a `DomainError` (kiosk/errors.py) answers
with its class's status, and so does any HTTP error Flask raises. The API (`/api/...`
and `/healthz`) gets `{"error": {"code", "message"}}`; pages get the error page."""

from __future__ import annotations

from flask import Flask, Response, jsonify, make_response, render_template, request
from werkzeug.exceptions import HTTPException, InternalServerError, default_exceptions

from kiosk.errors import DomainError
from kiosk.web.homes import role_home


def error_response(status: int, code: str, message: str) -> Response:
    response = jsonify({"error": {"code": code, "message": message}})
    response.status_code = status
    return response


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.path == "/healthz"


def _page(error: HTTPException) -> tuple[str, int]:
    return render_template("error.html", error=error), error.code or 500


def register(app: Flask) -> None:
    app.jinja_env.globals["role_home"] = role_home

    @app.errorhandler(DomainError)
    def domain_error(exc: DomainError) -> Response | tuple[str, int]:
        if _wants_json():
            return error_response(exc.status, exc.code, exc.message)
        return _page(default_exceptions.get(exc.status, InternalServerError)(description=exc.message))

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
