"""One name for each thing on every page: the words people read for the codes the
database keeps (ticket states, check-in methods, call states, roles, case history details),
local date-times in words ("12月7日 02:27", "7 Dec 02:27"), and the visit log's CSV
header in the page's language. Templates use these through `labels`, `when` and `by`."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from flask import Flask
from flask_babel import get_locale
from flask_babel import gettext as _

from kiosk.names import CASE_TYPE_NAMES

_MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_CREATE_DETAIL = re.compile(r"^([a-z_]+)/([a-z_]+)$")


def _english() -> bool:
    return get_locale().language == "en"


def labels() -> dict[str, dict[str, str]]:
    """Translated names of the codes a page may show, by kind."""
    return {
        "ticket": {"waiting": _("Waiting"), "called": _("Called"), "serving": _("Serving"), "done": _("Finished"),
                   "no_show": _("No-show"), "transferred": _("Transferred"), "cancelled": _("Cancelled"),
                   "expired": _("Expired")},
        "method": {"qr": _("QR card"), "id": _("ID number"), "manual": _("Visitor registration")},
        "kind": {"resident": _("Resident"), "visitor": _("Visitor")},
        "source": {"kiosk": _("Touchscreen"), "wedge": _("Scanner"), "camera": _("Camera"), "desk": _("Desk")},
        "call": {"missed": _("Missed"), "handled": _("Handled"), "answered": _("Answered"), "ringing": _("Ringing")},
        "role": {"receptionist": _("Receptionist"), "specialist": _("Customer service"), "security": _("Security"),
                 "manager": _("Manager"), "logistics": _("Logistics")},
        "channel": {"counter": _("Counter"), "phone": _("Phone"), "kiosk": _("Touchscreen"), "app": _("App")},
    }


def label(kind: str, code: Any) -> str:
    """The name of `code`; an unknown code is shown as it is rather than hidden."""
    if code is None or code == "":
        return ""
    return labels().get(kind, {}).get(str(code), str(code))


def when(value: Any, deadline: bool = False) -> str:
    """An ISO date-time (with its offset, so in the site's zone) as words: 12月7日 02:27 / 7 Dec 02:27.

    `deadline` adds "前" / "by". Anything that is not a date-time is shown as it is.
    """
    if not value:
        return ""
    try:
        t = datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    if _english():
        text = f"{t.day} {_MONTHS_EN[t.month - 1]} {t:%H:%M}"
        return f"by {text}" if deadline else text
    text = f"{t.month}月{t.day}日 {t:%H:%M}"
    return f"{text} 前" if deadline else text


def by(actor: str | None) -> str:
    """Who did something: a user's login name, or "system" in words."""
    if actor in (None, ""):
        return ""
    return _("System") if actor == "system" else str(actor)


def history_detail(action: str, detail: str | None) -> str:
    """A case history entry's detail in words: "inquiry/counter" → "咨询 · 窗口"."""
    if not detail:
        return ""
    m = _CREATE_DETAIL.match(detail)
    if action == "create" and m:
        type_names = CASE_TYPE_NAMES.get(m.group(1))
        type_name = (type_names[1] if _english() else type_names[0]) if type_names else m.group(1)
        return f"{type_name} · {label('channel', m.group(2))}"
    if detail == "escalated to manager":
        return ""  # the action's own name says it
    return detail


def visit_csv_header(fields: tuple[str, ...]) -> list[str]:
    """The visit log CSV's header row in the page's language."""
    names = {"id": _("No."), "kind": _("Visitor type"), "method": _("Check-in method"), "name": _("Name"),
             "phone": _("Phone"), "unit": _("Unit"), "purpose": _("Purpose"), "id_masked": _("ID number"),
             "checked_in_at": _("Checked in"), "checked_out_at": _("Checked out"), "resident_id": _("Resident"),
             "ticket_id": _("Ticket"), "source": _("Read by"), "snapshot_sha256": _("Photo fingerprint")}
    return [names.get(f, f) for f in fields]


def audit_target(target: str | None) -> str:
    """"resident:r-zhang" → "住户 r-zhang", "visit:7" → "来访记录 7"."""
    if not target:
        return "—"
    kind, _sep, ident = target.partition(":")
    names = {"resident": _("Resident"), "visit": _("Visit"), "case": _("Case"), "ticket": _("Ticket")}
    return f"{names[kind]} {ident}" if kind in names and ident else target


def audit_detail(detail: str | None) -> str:
    """A search's "day_from=… day_to=… page=1" as words in the page's language."""
    if not detail:
        return "—"
    names = {"day_from": _("From"), "day_to": _("To"), "q": _("Search"), "unit": _("Unit"),
             "method": _("Check-in method"), "page": _("Page"), "rows": _("Rows"), "offset": _("From row")}
    parts = []
    for token in detail.split(" "):
        key, sep, value = token.partition("=")
        if not sep or key not in names:
            return detail
        parts.append(f"{names[key]} {label('method', value) if key == 'method' else value}")
    return " · ".join(parts)


def register(app: Flask) -> None:
    app.jinja_env.globals.update(labels=labels, label=label, history_detail=history_detail, by=by,
                                 audit_target=audit_target, audit_detail=audit_detail)
    app.jinja_env.filters["when"] = when
