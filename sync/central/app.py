"""The reference receiver as a Flask app (application factory).

    POST /api/v1/sites/<site>/batches     signed batch -> {"accepted": [...], "rejected": [...]}
    GET  /api/v1/sites/<site>/residents   signed, ?since=<cursor> -> {"residents": [...], "cursor": "..."}
    GET  /api/v1/sites                    per-site summary as JSON
    GET  /                                the same as an HTML page
    GET  /healthz

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

from flask import Flask, jsonify, render_template_string, request
from flask.json.provider import DefaultJSONProvider
from werkzeug.exceptions import HTTPException

from sync import protocol
from sync.central.storage import CentralStore, open_store


class _Utf8Json(DefaultJSONProvider):
    ensure_ascii = False  # names in the directory stay readable Chinese, not \u escapes


SITE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


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
               kinds: tuple[str, ...] = protocol.KINDS) -> Flask:
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = 32 * 1024 * 1024
    app.json = _Utf8Json(app)
    store = open_store(db) if isinstance(db, str) else db
    extra_secrets = dict(secrets or {})
    faults = Faults(fail_every, delay_s)
    app.extensions["kiosk_central"] = store
    app.extensions["kiosk_central_faults"] = faults

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
        code = re.sub(r"[^a-z]+", "_", (exc.name or "error").lower()).strip("_")
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
                          (request.headers.get(protocol.H_AGENT) or "")[:100] or None)
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
        store.note_pull(site_id)
        return jsonify({"residents": entries, "cursor": str(cursor)})

    @app.get("/api/v1/sites")
    def sites_summary():
        return jsonify({"sites": store.summary(extra_secrets)})

    @app.get("/healthz")
    def healthz():
        store.ping()
        return jsonify({"status": "ok"})

    @app.get("/")
    def index():
        sites = store.summary(extra_secrets)
        for s in sites:
            s["other"] = s["total"] - sum(s["counts"].get(k, 0) for k in kinds)
        return render_template_string(PAGE, sites=sites, kinds=kinds,
                                      residents=store.active_residents())

    return app


PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="10">
<title>kiosk-central</title>
<style>
 body { font: 14px/1.4 system-ui, sans-serif; margin: 2em; color: #222; }
 table { border-collapse: collapse; } th, td { padding: .35em .7em; border-bottom: 1px solid #ddd; text-align: right; }
 th:first-child, td:first-child { text-align: left; } .warn { color: #b00; } .muted { color: #888; }
</style></head>
<body>
<h1>kiosk-central</h1>
<p>{{ sites|length }} sites · {{ residents }} active residents in the directory</p>
<table>
 <thead><tr><th>site</th>{% for k in kinds %}<th>{{ k }}</th>{% endfor %}<th>other</th><th>total</th>
  <th>duplicates</th><th>rejected</th><th>last batch</th><th>backlog</th><th>last pull</th>
  <th>auth failures</th></tr></thead>
 <tbody>
 {% for s in sites %}
  <tr>
   <td>{{ s.site_id }}</td>
   {% for k in kinds %}<td>{{ s.counts.get(k, 0) }}</td>{% endfor %}
   <td>{{ s.other }}</td>
   <td><b>{{ s.total }}</b></td><td>{{ s.duplicates }}</td>
   <td{% if s.rejected %} class="warn"{% endif %}>{{ s.rejected }}</td>
   <td>{{ s.last_batch_at or '—' }}</td>
   <td>{{ '—' if s.backlog is none else s.backlog }}</td>
   <td>{{ s.last_pull_at or '—' }}</td>
   <td{% if s.auth_failures %} class="warn"
       title="{{ s.last_auth_failure }} at {{ s.last_auth_failure_at }}"{% endif %}>
     {{ s.auth_failures }}
     {%- if s.last_auth_failure %} <span class="muted">({{ s.last_auth_failure }})</span>{% endif %}</td>
  </tr>
 {% else %}
  <tr><td colspan="99" class="muted">no site has sent anything yet</td></tr>
 {% endfor %}
 </tbody>
</table>
<p class="muted">backlog: records waiting at the site after its last batch, as its agent reported.</p>
</body></html>
"""
