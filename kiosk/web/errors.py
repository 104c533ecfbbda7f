"""One error shape for the API (`{"error": {"code", "message"}}`), pages for the rest."""

from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from kiosk.queue.rules import TransitionError
from kiosk.services.queue import BadRequest, NotFound


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def error_response(status: int, code: str, message: str):
    response = jsonify({"error": {"code": code, "message": message}})
    response.status_code = status
    return response


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.path == "/healthz"


def register(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def api_error(exc: ApiError):
        return error_response(exc.status, exc.code, exc.message)

    @app.errorhandler(TransitionError)
    def transition_error(exc: TransitionError):
        status = 400 if exc.code == "unknown_service" else 409
        return error_response(status, exc.code, exc.message)

    @app.errorhandler(BadRequest)
    def bad_request(exc: BadRequest):
        return error_response(400, exc.code, exc.message)

    @app.errorhandler(NotFound)
    def not_found(exc: NotFound):
        return error_response(404, "not_found", str(exc))

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        if _wants_json():
            code = (exc.name or "error").lower().replace(" ", "_")
            return error_response(exc.code or 500, code, exc.description or exc.name)
        return render_template("error.html", error=exc), exc.code
