"""The one in-process event bus: devices and services publish, SSE clients and
listeners subscribe.

Publishing never blocks: each subscriber has its own bounded queue, and a subscriber
that stops reading loses its oldest events rather than slowing the publisher. The last
events are kept in a ring so a reconnecting SSE client resumes from `Last-Event-ID`.
"""

from __future__ import annotations

import itertools
import logging
import queue
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable

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


class Subscription:
    def __init__(self, bus: "EventBus", maxsize: int) -> None:
        self._bus = bus
        self.queue: queue.Queue[Event] = queue.Queue(maxsize)

    def offer(self, event: Event) -> None:
        while True:
            try:
                self.queue.put_nowait(event)
                return
            except queue.Full:
                try:
                    self.queue.get_nowait()
                except queue.Empty:
                    pass

    def get(self, timeout: float) -> Event | None:
        try:
            return self.queue.get(timeout=timeout)
        except queue.Empty:
            return None

    def close(self) -> None:
        self._bus.unsubscribe(self)

    def __enter__(self) -> "Subscription":
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

    def publish(self, name: str, data: dict[str, Any] | None = None) -> Event:
        with self._lock:
            event = Event(next(self._ids), name, dict(data or {}))
            self._history.append(event)
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
