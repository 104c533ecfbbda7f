"""The central console: login, server-side sessions, CSRF, roles, and the pages.

Sessions live in the store (`sessions`): the browser holds only a random token in an
HttpOnly cookie, the database its SHA-256, so logout, a new password (`kiosk-central user
add` again) or `user disable` end a session at once. A session ends after `IDLE_S` without
a request and `ABSOLUTE_S` after login whatever happens. Every state-changing request
carries the session's CSRF token (form field `csrf_token` or header `X-CSRF-Token`); the
login form uses a double-submit cookie since no session exists yet.

Roles: `office_manager` (everything, the directory's changes included) and `auditor`
(reads every page and export and the audit log, changes nothing). Everything but the
signed site endpoints, the login page and `/healthz` from the box itself needs a login:
pages redirect to /login, the JSON API answers 401 `login_required`. Wrong passwords lock
a name (and an address) out for a while (kiosk/throttle.py): the login page answers
429 with `Retry-After` and says how long to wait.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from functools import wraps
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, abort, current_app, g, jsonify, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from werkzeug.security import check_password_hash, generate_password_hash

from kiosk.errors import TooMany
from kiosk.reports.render import fragment, to_csv, to_xlsx
from kiosk.throttle import LoginThrottle
from sync.central import figures
from sync.central.app import SITE_ID
from sync.central.directory import Entry, id_hash, read_csv, valid_id_number
from sync.central.storage import CentralStore

COOKIE = "kc_session"
LOGIN_CSRF_COOKIE = "kc_login_csrf"
IDLE_S = 30 * 60
ABSOLUTE_S = 12 * 3600
MAX_RANGE_DAYS = 92
DUMMY_HASH = generate_password_hash("never-a-password")

# Endpoints open without a login: the signed site endpoints (their own HMAC), the login form
# and static files. /healthz is open to the box itself only.
PUBLIC_ENDPOINTS = {"receive_batch", "residents", "console.login", "console.login_post", "static"}

bp = Blueprint("console", __name__)


def hash_password(password: str) -> str:
    return generate_password_hash(password)


def _sid_hash(token: str) -> str:
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


def store() -> CentralStore:
    s: CentralStore = current_app.extensions["kiosk_central"]
    return s


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.path == "/healthz"


def current_user() -> dict[str, Any] | None:
    """The logged-in user of this request (`name`, `role`, `csrf`), or None; ends sessions
    that are idle, too old or whose user was disabled."""
    if "user" in g:
        return g.user
    g.user = None
    token = request.cookies.get(COOKIE, "")
    if not token or len(token) > 200:
        return None
    sid = _sid_hash(token)
    s = store().session(sid)
    now = time.time()
    if s is None:
        return None
    if not int(s["active"]) or now - float(s["seen_at"]) > IDLE_S or now - float(s["created_at"]) > ABSOLUTE_S:
        store().end_session(sid)
        return None
    if now - float(s["seen_at"]) > 30:
        store().touch_session(sid, now)
    g.user = {"name": s["user_name"], "role": s["role"], "csrf": s["csrf"], "sid": sid}
    return g.user


def refuse_anonymous() -> ResponseReturnValue | None:
    """The app's before_request guard for everything but the public endpoints."""
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    if request.endpoint == "healthz" and request.remote_addr in ("127.0.0.1", "::1"):
        return None
    user = current_user()
    if user is None:
        if wants_json() or request.method != "GET":
            response = jsonify({"error": {"code": "login_required", "message": "log in to the central console"}})
            response.status_code = 401
            return response
        return redirect(url_for("console.login", next=request.full_path.rstrip("?")))
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        given = request.form.get("csrf_token") or request.headers.get("X-CSRF-Token", "")
        if not hmac.compare_digest(given.encode("ascii", "replace"), user["csrf"].encode("ascii")):
            response = jsonify({"error": {"code": "csrf_failed", "message": "the form is stale; reload the page"}})
            response.status_code = 400
            return response
    return None


def role_required(*roles: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def wrap(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def inner(*args: Any, **kwargs: Any) -> Any:
            user = current_user()
            if user is None or user["role"] not in roles:
                abort(403)
            return view(*args, **kwargs)
        return inner
    return wrap


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("console.overview")


@bp.get("/login")
def login() -> Response:
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(24)
    response = Response(render_template("central/login.html", login_csrf=token, error=None,
                                        next=request.args.get("next", "")))
    response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="Strict", path="/login")
    return response


@bp.post("/login")
def login_post() -> ResponseReturnValue:
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    given = request.form.get("csrf_token", "")
    if not cookie or not hmac.compare_digest(cookie.encode("ascii", "replace"), given.encode("ascii", "replace")):
        return render_template("central/login.html", login_csrf=cookie or secrets.token_urlsafe(24),
                               error=_("The form expired. Please try again."), next=""), 400
    name = request.form.get("username", "").strip()
    password = request.form.get("password", "")
    address = request.remote_addr or ""
    now = _now().timestamp()
    user = store().user(name) if name else None
    ok = check_password_hash(user["password_hash"] if user else DUMMY_HASH, password)  # same time for unknown names
    throttle: LoginThrottle = current_app.extensions["kiosk_central_throttle"]
    try:
        throttle.check(name, address, now)
    except TooMany as exc:
        store().audit(name or "-", "login.locked", f"user:{name}", address)
        page = render_template("central/login.html", login_csrf=cookie, next=request.form.get("next", ""),
                               error=_("Too many wrong passwords. Try again in %(seconds)s seconds.",
                                       seconds=exc.retry_after))
        return page, 429, {"Retry-After": str(exc.retry_after)}
    if not user or not ok or not int(user["active"]):
        throttle.failed(name, address, now)
        store().audit(name or "-", "login.failed", f"user:{name}", address)
        return render_template("central/login.html", login_csrf=cookie, error=_("Wrong user name or password."),
                               next=request.form.get("next", "")), 401
    throttle.succeeded(name)
    token = secrets.token_urlsafe(32)
    store().create_session(_sid_hash(token), user["name"], secrets.token_urlsafe(24), time.time())
    store().audit(user["name"], "login", f"user:{user['name']}", request.remote_addr or "")
    response = redirect(_safe_next(request.form.get("next")))
    response.set_cookie(COOKIE, token, httponly=True, samesite="Strict",
                        secure=bool(current_app.config.get("CENTRAL_SECURE_COOKIES")))
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    user = current_user()
    if user:
        store().end_session(user["sid"])
        store().audit(user["name"], "logout", f"user:{user['name']}")
    response = redirect(url_for("console.login"))
    response.delete_cookie(COOKIE)
    return response


# -- the dashboard ------------------------------------------------------------------------
def _tz() -> ZoneInfo:
    zone: ZoneInfo = current_app.config["CENTRAL_TZ"]
    return zone


def _now() -> datetime:
    clock: Callable[[], datetime] = current_app.config["CENTRAL_NOW"]
    return clock().astimezone(_tz())


def _period() -> tuple[date, date]:
    today = _now().date()
    try:
        day_to = date.fromisoformat(request.args.get("to") or today.isoformat())
        day_from = date.fromisoformat(request.args.get("from") or (day_to - timedelta(days=6)).isoformat())
    except ValueError:
        abort(400, description="from and to must be YYYY-MM-DD")
    if day_from > day_to or (day_to - day_from).days >= MAX_RANGE_DAYS:
        abort(400, description=f"from must be on or before to, at most {MAX_RANGE_DAYS} days")
    return day_from, day_to


def _site_arg() -> str | None:
    """The `?site=` of the dashboard's exports and JSON: None for every site, else a site
    the store knows (404 for any other value, so it never reaches a header unchecked)."""
    site_id = request.args.get("site") or None
    if site_id is not None and (not SITE_ID.fullmatch(site_id)
                                or not any(s["site_id"] == site_id for s in store().summary())):
        abort(404, description="no such site")
    return site_id


def _report(site_id: str | None) -> Any:
    day_from, day_to = _period()
    s = store()
    now = _now()
    agg = s.aggregates(day_from.isoformat(), day_to.isoformat(), now.timestamp(), site_id)
    return figures.build(agg, s.summary(), day_from, day_to, now, _, site_id)


@bp.get("/")
def overview() -> str:
    report = _report(None)
    return render_template("central/overview.html", report=report, body=fragment(report), site_id=None,
                           period=_period())


@bp.get("/sites/<site_id>")
def site(site_id: str) -> str:
    if not any(s["site_id"] == site_id for s in store().summary()):
        abort(404)
    report = _report(site_id)
    return render_template("central/overview.html", report=report, body=fragment(report), site_id=site_id,
                           period=_period())


def _export_name(ext: str, site_id: str | None) -> str:
    day_from, day_to = _period()
    return f"central-{site_id or 'all-sites'}-{day_from}-{day_to}.{ext}"


#: Each export format: how the report becomes a file, and its media type.
_EXPORTS: dict[str, tuple[Callable[[Any], str | bytes], str]] = {
    "csv": (to_csv, "text/csv"),
    "xlsx": (to_xlsx, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")}


def _export(ext: str) -> Response:
    """The dashboard's report as a file (cells neutralised by kiosk/cells.py), audited."""
    render, mimetype = _EXPORTS[ext]
    site_id = _site_arg()
    report = _report(site_id)
    user = current_user()
    store().audit(user["name"] if user else "-", f"export.{ext}", site_id or "all", report.period)
    return Response(render(report), mimetype=mimetype,
                    headers={"Content-Disposition": f'attachment; filename="{_export_name(ext, site_id)}"'})


@bp.get("/export.csv")
def export_csv() -> Response:
    return _export("csv")


@bp.get("/export.xlsx")
def export_xlsx() -> Response:
    return _export("xlsx")


@bp.get("/api/v1/dashboard")
def dashboard_json() -> Response:
    report = _report(_site_arg())
    return jsonify({"period": report.period, "kpis": {k.key: k.value for k in report.kpis},
                    "tables": {t.key: {"columns": t.columns, "rows": t.rows} for t in report.tables}})


# -- the resident directory ---------------------------------------------------------------
@bp.get("/directory")
def directory() -> str:
    q = request.args.get("q", "").strip()[:100]
    return render_template("central/directory.html", residents=store().residents(q, 500), q=q,
                           active=store().active_residents(), message=request.args.get("msg"))


@bp.get("/directory/new")
@role_required("office_manager")
def resident_new() -> str:
    return render_template("central/resident.html", r=None, error=None)


@bp.get("/directory/<rid>")
def resident_edit(rid: str) -> str:
    r = store().resident(rid)
    if r is None:
        abort(404)
    return render_template("central/resident.html", r=r, error=None,
                           history=store().audit_log(500, "resident.", target=f"resident:{rid}"))


@bp.post("/directory/save")
@role_required("office_manager")
def resident_save() -> Any:
    f = request.form
    rid, name = f.get("id", "").strip(), f.get("name", "").strip()
    number = f.get("id_number", "").strip()
    existing = store().resident(rid) if rid else None
    error = None
    if not rid or not name or len(rid) > 64 or len(name) > 100:
        error = _("Resident id and name are required.")
    elif number and not valid_id_number(number):
        error = _("The ID number is not a valid 18-character ID number.")
    elif f.get("mode") == "new" and existing is not None:
        error = _("A resident with this id exists already.")
    if error:
        return render_template("central/resident.html", r={**f.to_dict(), "active": 1} if f.get("mode") == "new"
                               else existing, error=error), 400
    entry = Entry(rid, name, f.get("unit", "").strip()[:50], f.get("phone", "").strip()[:40],
                  id_hash(store().id_key(), number) if number else None)
    change = store().save_resident(entry, current_user()["name"])  # type: ignore[index]
    return redirect(url_for("console.directory", msg=f"{rid}: {change}"))


@bp.post("/directory/<rid>/deactivate")
@role_required("office_manager")
def resident_deactivate(rid: str) -> Any:
    n = store().remove_residents([rid], actor=current_user()["name"])  # type: ignore[index]
    return redirect(url_for("console.directory", msg=f"{rid}: {'deactivated' if n else 'unchanged'}"))


@bp.post("/directory/import")
@role_required("office_manager")
def residents_import() -> Any:
    upload = request.files.get("file")
    if upload is None:
        abort(400, description="no file")
    try:
        text = upload.read(5 * 1024 * 1024).decode("utf-8-sig")
    except UnicodeDecodeError:
        return render_template("central/directory.html", residents=store().residents("", 500), q="",
                               active=store().active_residents(), errors=[_("The file is not UTF-8 text.")]), 400
    entries, errors = read_csv(text, store().id_key())
    if errors:
        return render_template("central/directory.html", residents=store().residents("", 500), q="",
                               active=store().active_residents(), errors=errors[:20]), 400
    result = store().import_residents(entries, replace=request.form.get("replace") == "1",
                                      actor=current_user()["name"])  # type: ignore[index]
    return redirect(url_for("console.directory", msg=", ".join(f"{k} {v}" for k, v in result.items())))


@bp.get("/audit")
def audit() -> str:
    return render_template("central/audit.html", entries=store().audit_log(500))


@bp.app_context_processor
def inject() -> dict[str, Any]:
    return {"user": current_user() if request else None, "lang": _lang()}


def _lang() -> str:
    wanted = g.get("set_lang") or request.cookies.get("kc_lang")
    return "en" if wanted == "en" else "zh"


def select_locale() -> str:
    wanted = request.args.get("lang")
    if wanted in ("zh", "en"):
        g.set_lang = wanted
        return "en" if wanted == "en" else "zh_Hans_CN"
    return "en" if request.cookies.get("kc_lang") == "en" else "zh_Hans_CN"


def remember_lang(response: Response) -> Response:
    wanted = g.get("set_lang")
    if wanted:
        response.set_cookie("kc_lang", wanted, samesite="Strict", max_age=365 * 86400)
    return response
