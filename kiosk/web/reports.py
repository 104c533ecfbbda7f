"""Reports (manager only): daily consolidation, monthly analysis with satisfaction, spot
checks, improvement actions and staff efficiency, as pages and CSV/XLSX downloads; the
resident profile (staff); and the survey API the kiosk and counter tablets use."""

from __future__ import annotations

import re
from datetime import datetime

from flask import Blueprint, Response, abort, jsonify, render_template, request
from flask_babel import get_locale

from kiosk.errors import Forbidden, Invalid, NotFound
from kiosk.reports import render
from kiosk.web.access import device_or_staff, is_staff
from kiosk.web.api import json_body
from kiosk.web.api_visits import audit
from kiosk.web.auth import current_principal, login_required, staff_api
from kiosk.web.context import services

api_bp = Blueprint("reports_api", __name__)
bp = Blueprint("reports", __name__)

_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_MONTH = re.compile(r"[0-9]{4}-[0-9]{2}")


def _actor() -> str | None:
    p = current_principal()
    return p.name if p else None


def _period(kind: str, value: str | None) -> str:
    today = services().clock.now().date()
    if not value:
        return today.isoformat() if kind == "daily" else today.strftime("%Y-%m")
    try:
        datetime.strptime(value, "%Y-%m-%d" if kind == "daily" else "%Y-%m")
    except ValueError:
        abort(400, description="the date is YYYY-MM-DD and the month YYYY-MM")
    if not (_DAY if kind == "daily" else _MONTH).fullmatch(value):
        abort(400, description="the date is YYYY-MM-DD and the month YYYY-MM")
    return value


def _report(kind: str, period: str):
    k = services()
    return k.reports.daily(period) if kind == "daily" else k.reports.monthly(period)


# -- pages ------------------------------------------------------------------------------
@bp.get("/reports/")
@login_required("manager")
def index():
    k = services()
    return render_template("reports_index.html", site=k.config.site, today=k.clock.now().date().isoformat(),
                           month=k.clock.now().strftime("%Y-%m"), checks=k.quality.spot_checks())


@bp.get("/reports/<kind>")
@login_required("manager")
def view(kind: str):
    if kind not in ("daily", "monthly"):
        abort(404)
    period = _period(kind, request.args.get("date" if kind == "daily" else "month"))
    report = _report(kind, period)
    k = services()
    actions = k.quality.actions(period) if kind == "monthly" else []
    return render_template("reports_view.html", site=k.config.site, report=report, kind=kind, period=period,
                           body=render.fragment(report, str(get_locale())), actions=actions)


@bp.get("/reports/<kind>/<period>.<fmt>")
@login_required("manager")
def download(kind: str, period: str, fmt: str):
    if kind not in ("daily", "monthly") or fmt not in ("csv", "xlsx", "html"):
        abort(404)
    period = _period(kind, period)
    report = _report(kind, period)
    name = f"{kind}-{period}.{fmt}"
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    if fmt == "csv":
        return Response(render.to_csv(report), mimetype="text/csv; charset=utf-8", headers=headers)
    if fmt == "xlsx":
        return Response(render.to_xlsx(report), headers=headers,
                        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    return Response(render.document(report, services().config.site.name), mimetype="text/html", headers=headers)


@bp.get("/reports/spot-checks/<int:check_id>")
@login_required("manager")
def spot_check(check_id: int):
    k = services()
    return render_template("reports_spot.html", site=k.config.site, check=k.quality.spot_check(check_id))


@bp.get("/residents/")
@login_required("receptionist", "specialist")
def profiles():
    q = request.args.get("q", "").strip()[:50]
    k = services()
    results = k.residents.search(q) if q else k.residents.recent()
    return render_template("reports_residents.html", site=k.config.site, q=q, results=results)


@bp.get("/residents/<resident_id>")
@login_required("receptionist", "specialist")
def profile(resident_id: str):
    k = services()
    data = k.residents.profile(resident_id)
    if data is None:
        abort(404)
    audit("residents.profile", f"resident:{resident_id}")  # who saw whose personal data, when
    return render_template("reports_profile.html", site=k.config.site, p=data)


@bp.get("/rate")
def rate():
    """The counter tablet: offers the rating of the ticket just finished at its counter."""
    k = services()
    counter = request.args.get("counter", "1")
    if k.config.counter(counter) is None:
        abort(404)
    return render_template("reports_rate.html", site=k.config.site, counter=counter)


# -- surveys (the kiosk and the tablets) ---------------------------------------------------
def _device_rating_target(body: dict) -> int:
    """The ticket a device may rate: the one just finished at `counter` (the counter's
    tablet), or the one whose QR code was scanned (`ticket_code`, the holder's own)."""
    if body.get("case_id") is not None:
        raise Forbidden("rating_not_allowed", "a case is rated with the code on its slip")
    k = services()
    if body.get("ticket_code"):
        if body.get("ticket_id") is not None or body.get("counter"):
            raise Invalid("invalid_target", "send ticket_code alone, or ticket_id with counter")
        ticket = k.queue.by_link(body["ticket_code"][:512])
        if ticket is None:
            raise Invalid("unknown_code", "this is not the code of a ticket of this service centre")
        return int(ticket["id"])
    if body.get("ticket_id") is None or not body.get("counter"):
        raise Invalid("invalid_target", "rate the ticket just finished at a counter, or scan your ticket")
    if k.config.counter(body["counter"]) is None:
        raise Invalid("unknown_counter", f"unknown counter {body['counter']!r}")
    finished = k.surveys.just_finished(body["counter"])
    if finished is None or finished["ticket_id"] != body["ticket_id"]:
        raise Forbidden("rating_not_allowed", "only the ticket just finished at this counter is rated here")
    return int(body["ticket_id"])


@api_bp.post("/api/v1/surveys")
@device_or_staff("kiosk", "tablet", limit="surveys")
def answer_survey():
    body = json_body({"ticket_id": (int, False), "case_id": (int, False), "ticket_code": (str, False),
                      "counter": (str, False), "score": (int, True), "comment": (str, False),
                      "channel": (str, False)})
    ticket_id, case_id = body.get("ticket_id"), body.get("case_id")
    if not is_staff():
        ticket_id = _device_rating_target(body)
    elif body.get("ticket_code"):
        raise Invalid("invalid_field", "staff rate by ticket_id or case_id")
    data = services().surveys.answer(score=body["score"], ticket_id=ticket_id, case_id=case_id,
                                     comment=body.get("comment") or "", channel=body.get("channel") or "kiosk")
    if not is_staff():
        data = {k: data[k] for k in ("id", "ticket_id", "score", "channel", "created_at")}
    return jsonify(data), 201


@api_bp.get("/api/v1/surveys/pending")
def pending_rating():
    """The ticket the counter just finished, if it waits for a rating: nobody else's."""
    counter = request.args.get("counter") or None
    if counter is None:
        raise Invalid("counter_required", "name the counter: ?counter=")
    if services().config.counter(counter) is None:
        raise NotFound("not_found", f"unknown counter {counter!r}")
    finished = services().surveys.just_finished(counter)
    return jsonify({"pending": [finished] if finished else []})


@api_bp.get("/api/v1/questionnaire")
def questionnaire():
    return jsonify(services().surveys.questionnaire())


@api_bp.post("/api/v1/questionnaire")
@device_or_staff("kiosk", "tablet", limit="questionnaire")
def answer_questionnaire():
    body = json_body({"answers": (list, True), "comment": (str, False)})
    return jsonify(services().surveys.answer_questionnaire(body["answers"], body.get("comment") or "")), 201


# -- reports, spot checks, improvement actions (manager) ------------------------------------
@api_bp.get("/api/v1/reports/<kind>/<period>")
@staff_api("manager")
def report_json(kind: str, period: str):
    if kind not in ("daily", "monthly"):
        raise NotFound("not_found", f"unknown report {kind!r}")
    if not (_DAY if kind == "daily" else _MONTH).fullmatch(period):
        raise Invalid("invalid_period", "the date is YYYY-MM-DD and the month YYYY-MM")
    report = _report(kind, period)
    return jsonify({"kind": report.kind, "period": report.period, "title": report.title,
                    "kpis": {k.key: {"value": k.value, "previous": k.previous} for k in report.kpis},
                    "tables": {t.key: {"columns": t.columns, "rows": t.rows} for t in report.tables}})


@api_bp.post("/api/v1/spot-checks")
@staff_api("manager")
def draw_spot_check():
    body = json_body({"from": (str, True), "to": (str, True), "size": (int, True), "seed": (int, False)})
    check = services().quality.draw(period_from=body["from"], period_to=body["to"], size=body["size"],
                                    seed=body.get("seed"), actor=_actor())
    return jsonify(check), 201


@api_bp.get("/api/v1/spot-checks/<int:check_id>")
@staff_api("manager")
def get_spot_check(check_id: int):
    return jsonify(services().quality.spot_check(check_id))


@api_bp.post("/api/v1/spot-check-items/<int:item_id>")
@staff_api("manager")
def judge_item(item_id: int):
    body = json_body({"verdict": (str, True), "remark": (str, False)})
    return jsonify(services().quality.judge(item_id, body["verdict"], body.get("remark") or "", _actor()))


@api_bp.post("/api/v1/improvement-actions")
@staff_api("manager")
def add_action():
    body = json_body({"month": (str, True), "finding": (str, True), "action": (str, True), "owner": (str, True),
                      "due_date": (str, True)})
    return jsonify(services().quality.add_action(**body, actor=_actor())), 201


@api_bp.post("/api/v1/improvement-actions/<int:action_id>")
@staff_api("manager")
def update_action(action_id: int):
    body = json_body({"status": (str, False), "progress": (str, False)})
    return jsonify(services().quality.update_action(action_id, status=body.get("status"),
                                                    progress=body.get("progress")))


@api_bp.get("/api/v1/residents/<resident_id>/profile")
@staff_api("receptionist", "specialist")
def profile_json(resident_id: str):
    data = services().residents.profile(resident_id)
    if data is None:
        raise NotFound("not_found", f"resident {resident_id!r} not found")
    audit("residents.profile", f"resident:{resident_id}")  # like visits.view: who, what, when
    return jsonify(data)
