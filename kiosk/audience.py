"""Who may see which live event, and how much of it: one pure function for both streams.

The hall is public: anyone on the LAN may open `/api/v1/events`, so it carries queue
facts only (ticket number, service, counter, status, waiting counts, whether the printer
can print). Personal data (visits, calls, cases, ratings) travels on `/api/v1/staff/events`,
which needs a login or a bearer token, and then only as far as the role needs it. A kiosk
device on the public stream also gets the greeting of a check-in made at that device (a
scan at the box's own camera or scanner belongs to the box's own screen, the device named
`LOCAL_DEVICE`), with the name masked and nothing else about the person, and the state of
that camera's live hint (`camera.status`: offline, looking, unreadable, read; nothing read).

The transports (the threaded fallback and the asyncio hub) call `view()` and never decide
this themselves.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kiosk import events as ev
from kiosk.privacy import mask_name

#: The device name of the box's own kiosk screen (an address in `server.kiosk_addresses`).
LOCAL_DEVICE = "local"

PUBLIC = "public"
STAFF = "staff"
DEVICE = "device"

#: The ticket fields the public stream shows: queue facts, nothing that links a person.
TICKET_FACTS = ("id", "number", "service", "origin_service", "service_name_zh", "service_name_en", "status",
                "counter", "priority", "transferred", "recalls", "issued_at", "called_at", "started_at",
                "finished_at", "no_show_at", "position", "people_ahead", "estimated_wait_s", "waiting")
#: What a role without case text (security) sees of a case event: that it exists and its state.
CASE_FACTS = ("id", "type", "channel", "status", "team", "assignee", "created_at", "due_at", "sla", "escalated",
              "to", "kind", "ticket_id", "number")

_TICKETS = frozenset({ev.TICKET_ISSUED, ev.TICKET_CALLED, ev.TICKET_UPDATED})
_CASES = frozenset({ev.CASE_CREATED, ev.CASE_UPDATED, ev.CASE_DUE_SOON, ev.CASE_OVERDUE, ev.CASE_ESCALATED})
_VISITS = frozenset({ev.VISIT_CHECKED_IN, ev.VISIT_CHECKED_OUT, ev.QR_SCANNED})

#: Which roles get each kind of personal event in full (a manager gets everything).
_ROLES_FOR: dict[str, frozenset[str]] = {
    **{name: frozenset({"receptionist", "specialist"}) for name in _CASES},
    ev.CALL_INCOMING: frozenset({"receptionist", "specialist"}),
    ev.SURVEY_ANSWERED: frozenset({"specialist"}),
    **{name: frozenset({"security"}) for name in _VISITS},
    ev.CAMERA_STATUS: frozenset({"receptionist", "specialist", "security"}),
}


@dataclass(frozen=True, slots=True)
class Audience:
    """Who a stream is for: `public` (anyone), `device` (an enrolled device of `kind`
    named `name`, on the public stream) or `staff` (a login or a token with `role`)."""

    kind: str
    role: str | None = None
    device: str | None = None
    device_kind: str | None = None

    @property
    def key(self) -> tuple[str, str | None, str | None]:
        """Audiences with one key see the same bytes of every event (the hub caches by it)."""
        return (self.kind, self.role, self.device)


PUBLIC_AUDIENCE = Audience(PUBLIC)


def staff(role: str) -> Audience:
    return Audience(STAFF, role=role)


def device(name: str, kind: str) -> Audience:
    return Audience(DEVICE, device=name, device_kind=kind)


def _public_fact(name: str, data: dict[str, Any]) -> dict[str, Any] | None:
    if name in _TICKETS:
        return {key: data[key] for key in TICKET_FACTS if key in data}
    if name == ev.PRINTER_STATUS:
        return {"status": data.get("status"), "reason": data.get("reason")}
    return None


def _greeting(data: dict[str, Any]) -> dict[str, Any]:
    """A scan outcome as the kiosk screen that made it shows it: the masked name and the
    visit it may link its next ticket to, or the refusal's code and message."""
    out: dict[str, Any] = {key: data.get(key) for key in ("kind", "source", "ok", "action")}
    visit = data.get("visit")
    if isinstance(visit, dict):
        out["visit"] = {"id": visit.get("id"), "name": mask_name(visit.get("name"))}
    if data.get("error") is not None:
        out["error"] = data["error"]
    return out


def view(name: str, data: dict[str, Any], audience: Audience) -> dict[str, Any] | None:
    """What `audience` receives of the event `name` with `data`: a dict to send, or None
    when the event is not for it. Pure; `data` is not changed."""
    public = _public_fact(name, data)
    if audience.kind == PUBLIC:
        return public
    if audience.kind == DEVICE:
        if public is not None:
            return public
        if audience.device_kind != "kiosk" or data.get("device") != audience.device:
            return None
        if name == ev.QR_SCANNED:
            return _greeting(data)
        if name == ev.CAMERA_STATUS:
            return {"state": data.get("state")}
        return None
    role = audience.role
    if role is None:
        return None
    if name in _TICKETS or name == ev.PRINTER_STATUS:
        return dict(data)
    if role == "manager" or role in _ROLES_FOR.get(name, frozenset()):
        return dict(data)
    if name in _CASES and role == "security":
        return {key: data[key] for key in CASE_FACTS if key in data}
    return None


def visible_names(audience: Audience) -> frozenset[str] | None:
    """The event names `audience` can ever receive (for the OpenAPI text and tests); None = any."""
    if audience.kind == STAFF and audience.role == "manager":
        return None
    names = set(_TICKETS) | {ev.PRINTER_STATUS}
    if audience.kind == DEVICE and audience.device_kind == "kiosk":
        names |= {ev.QR_SCANNED, ev.CAMERA_STATUS}
    if audience.kind == STAFF and audience.role:
        names |= {name for name, roles in _ROLES_FOR.items() if audience.role in roles}
        if audience.role == "security":
            names |= _CASES
    return frozenset(names)
