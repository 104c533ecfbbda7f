"""What the public surface may say about people: pure shapes of the answers anonymous
callers and devices get. Nothing here names, reaches or links a person: no name (only a
masked greeting), phone, unit, resident id, ID number (not even masked) or case text."""

from __future__ import annotations

from typing import Any

#: The ticket fields an anonymous caller sees: queue facts only.
TICKET_FIELDS = ("id", "number", "service", "origin_service", "day", "status", "counter", "recalls", "priority",
                 "transferred", "issued_at", "called_at", "started_at", "finished_at", "no_show_at", "version",
                 "service_name_zh", "service_name_en", "position", "people_ahead",
                 "estimated_wait_s", "print")
#: The case fields the touchscreen needs after filing: the number, the deadline, the slip.
CASE_FIELDS = ("id", "type", "channel", "status", "due_at", "created_at", "print")


def mask_name(name: str | None) -> str:
    """The first character and a star per further character, at most two (张** , A*):
    enough for a greeting someone recognises as theirs, too little to identify anyone."""
    name = (name or "").strip()
    if not name:
        return ""
    return name[0] + "*" * min(len(name) - 1, 2)


def greeting(name: str | None) -> dict[str, str]:
    """What the screen shows after a check-in: the masked display name ("" greets without one)."""
    return {"name": mask_name(name)}


def public_ticket(ticket: dict[str, Any]) -> dict[str, Any]:
    return {k: ticket[k] for k in TICKET_FIELDS if k in ticket}


def public_case(case: dict[str, Any]) -> dict[str, Any]:
    return {k: case[k] for k in CASE_FIELDS if k in case}
