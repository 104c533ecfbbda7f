"""The reference receiver as a Flask app (application factory).

    POST /api/v1/sites/<site>/batches     signed batch -> {"accepted": [...], "rejected": [...]}
    GET  /api/v1/sites/<site>/residents   signed, ?since=<cursor> -> {"residents": [...], "cursor": "..."}
    GET  /api/v1/sites                    per-site summary as JSON (login)
    GET  /healthz                         (login, or from the box itself)
    the console (sync/central/console.py): /, /sites/<site>, /directory, /audit, exports (login)

Secrets: the `sites` table of the central database (`kiosk-central site add`), plus any
given to `create_app(secrets=...)` (from $KIOSK_CENTRAL_SITES or the kiosk config),
which win. Errors are `{"error": {"code", "message"}}`.

`fail_every=N` is a fault knob for tests and demos: every N-th API request is answered
503 without being processed, as an overloaded central office would.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from flask import Flask, Response, jsonify, render_template, request
from flask.json.provider import DefaultJSONProvider
from flask_babel import Babel
from werkzeug.exceptions import HTTPException

from kiosk.throttle import LoginThrottle
from sync import protocol
from sync.central.storage import CentralStore, open_store


class _Utf8Json(DefaultJSONProvider):
    ensure_ascii = False  # names in the directory stay readable Chinese, not \u escapes


SITE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")

#: Sent on every response: the kiosk's own policy (kiosk/web/__init__.py SECURITY_HEADERS,
#: which sync may not import: "sync never imports the web layer"), plus data: images. Keep
#: the two in step.
SECURITY_HEADERS = {
    "Content-Security-Policy": ("default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; "
                                "base-uri 'self'; form-action 'self'; object-src 'none'"),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _error(status: int, code: str, message: str):
    response = jsonify({"error": {"code": code, "message": message}})
    response.status_code = status
    return response


class Faults:
    """Test/demo fault injection, off unless asked for."""

    def __init__(self, fail_every: int = 0, delay_s: float = 0.0) -> None:
        self.fail_every = fail_every
        self.delay_s = delay_s
        self._count = itertools.count(1)
        self._lock = threading.Lock()

    def should_fail(self) -> bool:
        if self.delay_s:
            time.sleep(self.delay_s)
        if self.fail_every <= 0:
            return False
        with self._lock:
            return next(self._count) % self.fail_every == 0


def create_app(db: str | CentralStore, *, secrets: Mapping[str, str] | None = None, fail_every: int = 0,
               delay_s: float = 0.0, max_records: int = 10_000, page_size: int = 1000,
               max_skew_s: float = protocol.MAX_SKEW_S, wall: Callable[[], float] = time.time,
               kinds: tuple[str, ...] = protocol.KINDS, timezone: str = "Asia/Shanghai",
               now: Callable[[], datetime] | None = None, secure_cookies: bool = False) -> Flask:
    from sync.central import console

    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = 32 * 1024 * 1024
    tz = ZoneInfo(timezone)
    clock = now or (lambda: datetime.now(tz))

    def stamp() -> str:
        return clock().astimezone(UTC).isoformat(timespec="milliseconds")

    app.config.update(CENTRAL_TZ=tz, CENTRAL_NOW=clock,
                      CENTRAL_SECURE_COOKIES=secure_cookies, BABEL_DEFAULT_LOCALE="zh_Hans_CN",
                      BABEL_TRANSLATION_DIRECTORIES=str(Path(__file__).parent / "translations"))
    app.json = _Utf8Json(app)
    Babel(app, locale_selector=console.select_locale)
    app.register_blueprint(console.bp)
    app.before_request(console.refuse_anonymous)
    app.after_request(console.remember_lang)

    @app.after_request
    def security_headers(response: Response) -> Response:
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if request.endpoint not in ("receive_batch", "residents"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    store = open_store(db) if isinstance(db, str) else db
    extra_secrets = dict(secrets or {})
    faults = Faults(fail_every, delay_s)
    app.extensions["kiosk_central"] = store
    app.extensions["kiosk_central_faults"] = faults
    app.extensions["kiosk_central_throttle"] = LoginThrottle()

    def authenticate(site_id: str, body: bytes) -> None:
        if not SITE_ID.fullmatch(site_id):
            raise ApiError(404, "not_found", "no such site")
        secret = extra_secrets.get(site_id) or store.site_secret(site_id)
        failure = protocol.verify(secret, request.headers, body, site_id=site_id, now=wall(),
                                  max_skew_s=max_skew_s)
        if failure is not None:
            if secret is not None:
                store.note_auth_failure(site_id, f"{failure.code}: {failure.message}")
            raise ApiError(401, failure.code, failure.message)

    def injected_fault() -> None:
        if faults.should_fail():
            raise ApiError(503, "unavailable", "the central office is busy (injected fault); retry later")

    @app.errorhandler(ApiError)
    def api_error(exc: ApiError):
        return _error(exc.status, exc.code, exc.message)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        if exc.code and 300 <= exc.code < 400:
            return exc
        code = re.sub(r"[^a-z]+", "_", (exc.name or "error").lower()).strip("_")
        if not console.wants_json() and request.accept_mimetypes.accept_html:
            return render_template("central/error.html", status=exc.code, message=exc.description), exc.code or 500
        return _error(exc.code or 500, code, exc.description or exc.name)

    @app.errorhandler(Exception)
    def internal_error(exc: Exception):
        app.logger.exception("unhandled error")
        return _error(500, "internal_error", "the receiver failed; the batch was not stored")

    @app.post("/api/v1/sites/<site_id>/batches")
    def receive_batch(site_id: str):
        injected_fault()
        body = request.get_data(cache=False)
        authenticate(site_id, body)
        try:
            payload = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise ApiError(400, "bad_json", "the body is not JSON") from None
        if not isinstance(payload, dict) or not isinstance(payload.get("records"), list):
            raise ApiError(400, "bad_batch", 'the body must be {"batch_id": "...", "records": [...]}')
        batch_id = payload.get("batch_id")
        if not isinstance(batch_id, str) or not batch_id or len(batch_id) > 100:
            raise ApiError(400, "bad_batch", "batch_id must be a non-empty string")
        records = payload["records"]
        if len(records) > max_records:
            raise ApiError(413, "too_many_records", f"at most {max_records} records per batch")
        good, rejected = [], []
        for record in records:
            why = protocol.check_record(site_id, record, kinds)
            if why is None:
                good.append(record)
            else:
                key = record.get("key") if isinstance(record, dict) else None
                rejected.append((key if isinstance(key, str) else "", why))
        try:
            reported = int(request.headers.get(protocol.H_BACKLOG, ""))
            backlog = max(0, reported - len(records))  # what waits at the site once this batch is settled
        except ValueError:
            backlog = None
        store.store_batch(site_id, batch_id, good, rejected, backlog,
                          (request.headers.get(protocol.H_AGENT) or "")[:100] or None, stamp())
        return jsonify({"accepted": [r["key"] for r in good],
                        "rejected": [{"key": k, "error": e} for k, e in rejected]})

    @app.get("/api/v1/sites/<site_id>/residents")
    def residents(site_id: str):
        injected_fault()
        authenticate(site_id, request.get_data(cache=False))
        since_text = request.args.get("since", "") or "0"
        if not since_text.isdigit() or len(since_text) > 18:
            raise ApiError(400, "bad_cursor", "since must be a cursor this receiver returned")
        entries, cursor = store.directory_since(int(since_text), page_size)
        store.note_pull(site_id, stamp())
        return jsonify({"residents": entries, "cursor": str(cursor)})

    @app.get("/api/v1/sites")
    def sites_summary():
        return jsonify({"sites": store.summary(extra_secrets)})

    @app.get("/healthz")
    def healthz():
        store.ping()
        return jsonify({"status": "ok"})

    return app


