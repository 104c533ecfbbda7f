"""Ticket numbers and the state machine of a ticket. The queue order (priority, then
transferred, then issue time) lives in SQL, `ORDER_SQL` in kiosk/store/tickets.py: the
database picks the next ticket and counts the ones ahead."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from kiosk.errors import Conflict, Invalid


class Status(StrEnum):
    WAITING = "waiting"
    CALLED = "called"
    SERVING = "serving"
    DONE = "done"
    NO_SHOW = "no_show"
    TRANSFERRED = "transferred"
    CANCELLED = "cancelled"
    #: Never called before the site's midnight. Derived when read (`effective_status`),
    #: never stored: the row keeps `waiting`/`transferred` with its `day`.
    EXPIRED = "expired"


class Action(StrEnum):
    CALL = "call"
    RECALL = "recall"
    START = "start"
    FINISH = "finish"
    NO_SHOW = "no-show"
    REINSTATE = "reinstate"
    TRANSFER = "transfer"
    CANCEL = "cancel"


#: States in which a ticket waits in a queue (`transferred` waits in its new service).
QUEUED = frozenset({Status.WAITING, Status.TRANSFERRED})
#: States in which a ticket is at a counter.
AT_COUNTER = frozenset({Status.CALLED, Status.SERVING})

TRANSITIONS: dict[Action, tuple[frozenset[Status], Status]] = {
    Action.CALL: (QUEUED, Status.CALLED),
    Action.RECALL: (frozenset({Status.CALLED}), Status.CALLED),
    Action.START: (frozenset({Status.CALLED}), Status.SERVING),
    Action.FINISH: (AT_COUNTER, Status.DONE),
    Action.NO_SHOW: (frozenset({Status.CALLED}), Status.NO_SHOW),
    Action.REINSTATE: (frozenset({Status.NO_SHOW}), Status.WAITING),
    Action.TRANSFER: (AT_COUNTER, Status.TRANSFERRED),
    Action.CANCEL: (QUEUED, Status.CANCELLED),
}


def effective_status(status: str, day: str, today: str) -> Status:
    """The status a ticket reads as: a queued ticket of an earlier day than `today`
    (both the site's local `YYYY-MM-DD`) has expired; nothing can be done with it."""
    if status in QUEUED and day < today:
        return Status.EXPIRED
    return Status(status)


@dataclass(frozen=True)
class TicketState:
    """The part of a ticket the rules decide on."""

    status: Status
    service: str
    counter: str | None = None
    no_show_at: datetime | None = None


def format_number(letter: str, seq: int) -> str:
    """`A` + at least three digits: A001 … A999, then A1000 on a very busy day."""
    return f"{letter}{seq:03d}"


def check(
    ticket: TicketState,
    action: Action,
    *,
    now: datetime,
    counter_services: frozenset[str] | None = None,
    target_service: str | None = None,
    known_services: frozenset[str] = frozenset(),
    reinstate_window: timedelta = timedelta(minutes=15),
) -> Status:
    """The status `action` leads to, or `Conflict` saying why it is refused (`Invalid` for
    a transfer to a service that does not exist).

    `counter_services` is what the acting counter serves (None: not acting as a
    counter, e.g. a manager); it must include the ticket's service to call it.
    """
    allowed_from, to = TRANSITIONS[action]
    if ticket.status not in allowed_from:
        raise Conflict(
            "invalid_transition",
            f"cannot {action.value} a ticket that is {ticket.status.value}",
        )
    if action is Action.CALL and counter_services is not None and ticket.service not in counter_services:
        raise Conflict("wrong_counter", f"this counter does not serve service {ticket.service}")
    if action is Action.REINSTATE and (ticket.no_show_at is None or now - ticket.no_show_at > reinstate_window):
        minutes = int(reinstate_window.total_seconds() // 60)
        raise Conflict("reinstate_expired", f"a no-show can be reinstated only within {minutes} minutes")
    if action is Action.TRANSFER:
        if target_service is None or target_service not in known_services:
            raise Invalid("unknown_service", f"unknown service {target_service!r}")
        if target_service == ticket.service:
            raise Conflict("same_service", "the ticket is already in that service")
    return to
