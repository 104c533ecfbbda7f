"""The security review of the visit log: a day's visits with snapshot thumbnails,
filters and search, paging, one visit with its full snapshot, CSV export, and (for the
manager) the audit log. Every view and export is written to the audit log."""

from __future__ import annotations

import contextlib
import csv
import io
import re
from datetime import timedelta

from flask import Blueprint, Response, redirect, render_template, request, url_for

from kiosk.cells import csv_cell
from kiosk.clock import local_day
from kiosk.errors import DomainError
from kiosk.web.api_visits import audit, describe, search_args
from kiosk.web.auth import login_required
from kiosk.web.context import services
from kiosk.web.labels import label, visit_csv_header

bp = Blueprint("security", __name__, url_prefix="/security")

PAGE = 25
EXPORT_MAX = 50_000
CSV_FIELDS = ("id", "kind", "method", "name", "phone", "unit", "purpose", "id_masked", "checked_in_at",
              "checked_out_at", "resident_id", "ticket_id", "source", "snapshot_sha256")


def _args() -> dict:
    args = search_args()
    if not any(k in request.args for k in ("from", "to", "q", "unit", "method")):
        today = local_day(services().clock.now(), services().clock.tz)
        args["day_from"] = args["day_to"] = today  # the day's visits by default
    return args


def _page_number() -> int:
    """?page=N (ASCII digits, at most 6), else the first page."""
    value = request.args.get("page", "")
    return int(value) if re.fullmatch(r"[0-9]{1,6}", value) and int(value) else 1


@bp.get("/")
@login_required("security")
def visits():
    args = _args()
    page = _page_number()
    rows, total = services().visits.search(**args, limit=PAGE, offset=(page - 1) * PAGE)
    audit("visits.list", "", describe(args) + f" page={page}")
    pages = max(1, (total + PAGE - 1) // PAGE)
    query = {k: v for k, v in request.args.items() if k != "page"}
    if "from" not in query and args["day_from"]:
        query.update({"from": args["day_from"].isoformat(), "to": args["day_to"].isoformat()})
    today = local_day(services().clock.now(), services().clock.tz)
    return render_template("security_list.html", visits=rows, total=total, page=page, pages=pages, args=args,
                           query=query, today=today, yesterday=today - timedelta(days=1),
                           retention=services().config.retention)


@bp.get("/visits/<int:visit_id>")
@login_required("security")
def visit(visit_id: int):
    row = services().visits.get(visit_id)
    audit("visits.view", f"visit:{visit_id}")
    ticket = services().queue.get(row["ticket_id"]) if row.get("ticket_id") else None
    return render_template("security_detail.html", visit=row, ticket_number=ticket["number"] if ticket else "")


@bp.post("/visits/<int:visit_id>/checkout")
@login_required("security")
def checkout(visit_id: int):
    # already checked out (the page shows the time) or gone (the page says so)
    with contextlib.suppress(DomainError):
        services().visits.checkout(visit_id)
    return redirect(url_for("security.visit", visit_id=visit_id))


@bp.get("/visits.csv")
@login_required("security")
def export():
    args = _args()
    rows, _total = services().visits.search(**args, limit=EXPORT_MAX, offset=0)
    audit("visits.export", "", describe(args) + f" rows={len(rows)}")
    out = io.StringIO()
    out.write("\ufeff")  # Excel opens UTF-8 CSV with Chinese correctly only with a BOM
    writer = csv.writer(out)
    writer.writerow(visit_csv_header(CSV_FIELDS))
    for row in rows:
        writer.writerow([csv_cell(label(f, row.get(f)) if f in ("kind", "method", "source") else row.get(f))
                         for f in CSV_FIELDS])
    name = f"visits-{args['day_from'] or 'all'}-{args['day_to'] or 'all'}.csv"
    return Response(out.getvalue(), mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"',
                             "Cache-Control": "private, no-store"})


@bp.get("/audit")
@login_required("manager")
def audit_log():
    page = _page_number()
    entries = services().visits.audit_log(100, (page - 1) * 100)
    return render_template("security_audit.html", entries=entries, page=page)
