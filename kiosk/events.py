"""The one in-process event bus: devices and services publish, SSE clients and
listeners subscribe.

Publishing never blocks: each subscriber has its own bounded queue, and a subscriber
that stops reading loses its oldest events rather than slowing the publisher. The last
events are kept in a ring so a reconnecting SSE client resumes from `Last-Event-ID`.

Publishers pass a payload dataclass (below, one per event kind): it names its event and
turns itself into the dict that subscribers and the SSE stream receive as `Event.data`.
A payload that carries a resource (a ticket, a case, a survey answer) carries it exactly
as the API shows it.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import queue
import threading
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

log = logging.getLogger(__name__)

TICKET_ISSUED = "ticket.issued"
TICKET_CALLED = "ticket.called"
TICKET_UPDATED = "ticket.updated"
PRINTER_STATUS = "printer.status"
CALL_INCOMING = "call.incoming"
QR_SCANNED = "qr.scanned"
VISIT_CHECKED_IN = "visit.checked_in"
VISIT_CHECKED_OUT = "visit.checked_out"
CAMERA_STATUS = "camera.status"
CASE_DUE_SOON = "case.due_soon"
CASE_OVERDUE = "case.overdue"
CASE_CREATED = "case.created"
CASE_UPDATED = "case.updated"
CASE_ESCALATED = "case.escalated"
SURVEY_ANSWERED = "survey.answered"


@dataclass(frozen=True)
class Event:
    id: int
    name: str
    data: dict[str, Any] = field(default_factory=dict)


class Payload(Protocol):
    """What publishers hand the bus: the event's name and its data."""

    name: ClassVar[str]

    def to_dict(self) -> dict[str, Any]: ...


# -- queue ------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class TicketIssued:
    name: ClassVar[str] = TICKET_ISSUED
    ticket: Mapping[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return dict(self.ticket)


@dataclass(frozen=True, slots=True)
class TicketCalled:
    name: ClassVar[str] = TICKET_CALLED
    ticket: Mapping[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return dict(self.ticket)


@dataclass(frozen=True, slots=True)
class TicketUpdated:
    name: ClassVar[str] = TICKET_UPDATED
    ticket: Mapping[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return dict(self.ticket)


# -- devices ----------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class PrinterStatus:
    """The printer's health changed: the same status and reason as its `DeviceHealth`."""

    name: ClassVar[str] = PRINTER_STATUS
    status: str
    reason: str | None
    error: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.status, "reason": self.reason, "error": self.error}


@dataclass(frozen=True, slots=True)
class CallIncoming:
    name: ClassVar[str] = CALL_INCOMING
    id: int
    kind: str
    started_at: str | None
    matched: bool

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "started_at": self.started_at, "matched": self.matched}


@dataclass(frozen=True, slots=True)
class CameraStatus:
    """The check-in camera's live hint changed (`kiosk.devices.camera_feedback.STATES`):
    offline, looking, a code in view but unreadable, a code read. Never what the code says;
    `device` is the screen the camera belongs to (kiosk/audience.py)."""

    name: ClassVar[str] = CAMERA_STATUS
    state: str
    device: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"state": self.state, "device": self.device}


# -- check-in ---------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class VisitSummary:
    """The few fields of a visit that are broadcast (no ID number, phone or snapshot)."""

    id: int
    kind: str
    method: str | None
    name: str | None
    unit: str | None
    checked_in_at: str | None
    checked_out_at: str | None

    @classmethod
    def of(cls, visit: Mapping[str, Any]) -> VisitSummary:
        keys = ("id", "kind", "method", "name", "unit", "checked_in_at", "checked_out_at")
        values: list[Any] = [visit.get(key) for key in keys]
        return cls(*values)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "method": self.method, "name": self.name, "unit": self.unit,
                "checked_in_at": self.checked_in_at, "checked_out_at": self.checked_out_at}


@dataclass(frozen=True, slots=True)
class VisitCheckedIn:
    name: ClassVar[str] = VISIT_CHECKED_IN
    visit: VisitSummary

    def to_dict(self) -> dict[str, Any]:
        return self.visit.to_dict()


@dataclass(frozen=True, slots=True)
class VisitCheckedOut:
    name: ClassVar[str] = VISIT_CHECKED_OUT
    visit: VisitSummary

    def to_dict(self) -> dict[str, Any]:
        return self.visit.to_dict()


@dataclass(frozen=True, slots=True)
class QrScanned:
    """The outcome of a scanned code (never the code itself): `visit` when it checked
    someone in or out, `error` ({code, message}) when it was refused; `device` is the
    device whose screen made or shows the scan (kiosk/audience.py)."""

    name: ClassVar[str] = QR_SCANNED
    kind: str
    source: str
    ok: bool
    action: str
    visit: VisitSummary | None = None
    error: Mapping[str, str] | None = None
    device: str | None = None
    #: The scanned ticket's queue facts (id, number, service, status) when it is one.
    ticket: Mapping[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"kind": self.kind, "source": self.source, "ok": self.ok, "action": self.action,
                                "device": self.device}
        if self.visit is not None:
            data["visit"] = self.visit.to_dict()
        if self.ticket is not None:
            data["ticket"] = dict(self.ticket)
        if self.error is not None:
            data["error"] = dict(self.error)
        return data


# -- cases and surveys ------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class CaseCreated:
    name: ClassVar[str] = CASE_CREATED
    case: Mapping[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return dict(self.case)


@dataclass(frozen=True, slots=True)
class CaseUpdated:
    name: ClassVar[str] = CASE_UPDATED
    case: Mapping[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return dict(self.case)


@dataclass(frozen=True, slots=True)
class CaseDueSoon:
    """A deadline is near; `subject` is the case, or the waiting inquiry ticket's alert."""

    name: ClassVar[str] = CASE_DUE_SOON
    subject: Mapping[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return dict(self.subject)


@dataclass(frozen=True, slots=True)
class CaseOverdue:
    name: ClassVar[str] = CASE_OVERDUE
    subject: Mapping[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return dict(self.subject)


@dataclass(frozen=True, slots=True)
class CaseEscalated:
    name: ClassVar[str] = CASE_ESCALATED
    subject: Mapping[str, Any]
    to: str

    def to_dict(self) -> dict[str, Any]:
        return {**self.subject, "to": self.to}


@dataclass(frozen=True, slots=True)
class SurveyAnswered:
    """A rating or a questionnaire answer, as stored for the central office."""

    name: ClassVar[str] = SURVEY_ANSWERED
    answer: Mapping[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return dict(self.answer)


class Subscription:
    def __init__(self, bus: EventBus, maxsize: int) -> None:
        self._bus = bus
        self.queue: queue.Queue[Event] = queue.Queue(maxsize)

    def offer(self, event: Event) -> None:
        while True:
            try:
                self.queue.put_nowait(event)
                return
            except queue.Full:
                with contextlib.suppress(queue.Empty):
                    self.queue.get_nowait()

    def get(self, timeout: float) -> Event | None:
        try:
            return self.queue.get(timeout=timeout)
        except queue.Empty:
            return None

    def close(self) -> None:
        self._bus.unsubscribe(self)

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class EventBus:
    def __init__(self, history: int = 200) -> None:
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._subs: list[Subscription] = []
        self._listeners: list[Callable[[Event], None]] = []
        self._history: deque[Event] = deque(maxlen=history)
        self._last_id = 0

    def publish(self, payload: Payload | str, data: Mapping[str, Any] | None = None) -> Event:
        """Publish a payload; a bare name and dict is the untyped form, for tests and tools."""
        if isinstance(payload, str):
            name, body = payload, dict(data or {})
        else:
            name, body = payload.name, payload.to_dict()
        with self._lock:
            event = Event(next(self._ids), name, body)
            self._history.append(event)
            self._last_id = event.id
            subs = list(self._subs)
            listeners = list(self._listeners)
        for sub in subs:
            sub.offer(event)
        for listener in listeners:
            try:
                listener(event)
            except Exception:
                log.exception("event listener %r failed on %s", listener, name)
        return event

    def subscribe(self, maxsize: int = 1000, after_id: int | None = None) -> Subscription:
        """A queue of future events; with `after_id`, first the kept events after it."""
        sub = Subscription(self, maxsize)
        with self._lock:
            if after_id is not None:
                for event in self._history:
                    if event.id > after_id:
                        sub.offer(event)
            self._subs.append(sub)
        return sub

    def history_after(self, after_id: int | None) -> tuple[list[Event], int]:
        """(the kept events after `after_id`, none when it is None; the id of the last event
        published so far). Listeners may still be running for events up to that id."""
        with self._lock:
            kept = [event for event in self._history if event.id > after_id] if after_id is not None else []
            return kept, self._last_id

    def unsubscribe(self, sub: Subscription) -> None:
        with self._lock:
            if sub in self._subs:
                self._subs.remove(sub)

    def add_listener(self, listener: Callable[[Event], None]) -> None:
        """Call `listener` synchronously on every event; it must be quick and must not block."""
        with self._lock:
            self._listeners.append(listener)

    @property
    def subscriber_count(self) -> int:
        with self._lock:
            return len(self._subs)
