"""Ticket operations: issue, call, recall, start, finish, no-show, reinstate, transfer,
cancel. Each runs the pure rules inside one write transaction that also writes the
ticket's history row, its outbox row and (on issue) its print job; side effects that
may be slow (printing, speech, SSE) happen after the commit and never block it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from kiosk import capability
from kiosk.clock import Clock, db_time, from_db_time, local_day, to_iso
from kiosk.config import Config, CounterDef, ServiceDef
from kiosk.devices.announcement import call_announcement
from kiosk.devices.ticket_layout import TicketPrint
from kiosk.errors import Invalid, NotFound
from kiosk.events import EventBus, TicketCalled, TicketIssued, TicketUpdated
from kiosk.privacy import public_ticket
from kiosk.queue import estimate
from kiosk.queue.rules import Action, Status, TicketState, check, effective_status, format_number
from kiosk.services import printing
from kiosk.services.links import PublicLinks
from kiosk.services.printing import PrintSpooler
from kiosk.store import capabilities, outbox
from kiosk.store import tickets as store
from kiosk.store.db import Database


@dataclass
class Issued:
    ticket: dict[str, Any]
    print_status: str
    #: The ticket's phone page, `{site.public_url}/t/{capability}`: told only to whoever
    #: took the ticket (the QR code on the ticket and on the kiosk's screen).
    phone_url: str = ""


#: `print.status` of a ticket taken without paper ("scan instead of printing").
PAPERLESS = "paperless"


ACTIVE_COUNTER_WINDOW = timedelta(minutes=30)
#: How long the wait estimate's inputs (recent service times, active counters) are reused
#: by ticket issue; calling or finishing a ticket in this process refreshes them at once.
RATE_TTL = timedelta(seconds=10)


class QueueService:
    def __init__(self, db: Database, config: Config, clock: Clock, bus: EventBus,
                 spooler: PrintSpooler | None = None, speaker: Any = None) -> None:
        self.db = db
        self.config = config
        self.clock = clock
        self.bus = bus
        self.spooler = spooler
        self.speaker = speaker
        self._letters = frozenset(s.letter for s in config.services)
        self._rates: dict[str, tuple[datetime, tuple[float, int]]] = {}
        self.links = PublicLinks(config)

    # -- reading ----------------------------------------------------------------------
    def today(self) -> str:
        return local_day(self.clock.now(), self.clock.tz).isoformat()

    def services(self) -> list[dict[str, Any]]:
        counts = store.waiting_counts(self.db.conn, self.today())
        return [{"letter": s.letter, "name_zh": s.name_zh, "name_en": s.name_en,
                 "waiting": counts.get(s.letter, 0)} for s in self.config.services]

    def get(self, ticket_id: int) -> dict[str, Any]:
        row = store.get(self.db.conn, ticket_id)
        if row is None:
            raise NotFound("not_found", f"ticket {ticket_id} not found")
        return self._public(row, with_position=True)

    def queued(self, services: list[str] | None = None) -> list[dict[str, Any]]:
        return [self._public(r) for r in store.queued(self.db.conn, self.today(), services)]

    def at_counter(self, counter: str) -> list[dict[str, Any]]:
        return [self._public(r) for r in store.at_counter(self.db.conn, counter)]

    def reinstatable(self, counter: str) -> list[dict[str, Any]]:
        """The counter's no-shows that can still be put back in the queue, newest first."""
        window = timedelta(minutes=self.config.queue.reinstate_minutes)
        rows = store.no_shows_since(self.db.conn, counter, db_time(self.clock.now() - window))
        tickets = []
        for row in rows:
            ticket = self._public(row)
            # no_shows_since() only returns rows whose no_show_at is set
            ticket["reinstate_until"] = to_iso(cast(datetime, from_db_time(row["no_show_at"], self.clock.tz)) + window)
            tickets.append(ticket)
        return tickets

    def counter_today(self, counter: str) -> dict[str, Any]:
        """Today's figures for one counter: served, no-shows and the average wait (issue → call) in minutes."""
        rows = self.db.query("SELECT status, issued_at, called_at FROM tickets WHERE day = ? AND counter = ?",
                             (self.today(), counter))
        waits = [(cast(datetime, from_db_time(r["called_at"], self.clock.tz))
                  - cast(datetime, from_db_time(r["issued_at"], self.clock.tz))).total_seconds()
                 for r in rows if r["called_at"] and r["issued_at"]]
        return {"served": sum(1 for r in rows if r["status"] == Status.DONE.value),
                "no_show": sum(1 for r in rows if r["status"] == Status.NO_SHOW.value),
                "average_wait_min": round(sum(waits) / len(waits) / 60, 1) if waits else None}

    def board(self, recent: int = 8) -> dict[str, Any]:
        """What the hall display shows: now serving per counter, last calls, waiting counts
        (queue facts only: the hall reads it)."""
        conn = self.db.conn
        now_serving = {}
        for c in self.config.counters:
            current = store.at_counter(conn, c.id)
            now_serving[c.id] = public_ticket(self._public(current[-1])) if current else None
        return {
            "counters": [{"id": c.id, "ticket": now_serving[c.id]} for c in self.config.counters],
            "recent_calls": [public_ticket(self._public(r)) for r in store.recent_calls(conn, self.today(), recent)],
            "services": [dict(s, estimated_wait_s=estimate.estimate_wait(s["waiting"],
                                                                         *self._service_rate(conn, s["letter"])))
                         for s in self.services()],
        }

    # -- issuing ----------------------------------------------------------------------
    def issue(self, service: str, *, priority: bool = False, resident_id: str | None = None,
              visit_id: int | None = None, paperless: bool = False) -> Issued:
        """A new ticket with its phone page; printed unless `paperless` (then no print job)."""
        if service not in self._letters:
            raise Invalid("unknown_service", f"unknown service {service!r}")
        # Read before the write lock: slow-moving figures that need not be in the transaction.
        rate = self._service_rate(self.db.conn, service)
        cap = capability.new()
        digest, phone_url = capability.digest(cap), self.links.ticket(cap)
        with self.db.write() as conn:
            # The issue time is taken under the write lock, with the number: taken before it,
            # a ticket that waited for the lock would carry an earlier time than the number
            # issued ahead of it, and the call order (by issue time) would not be number order.
            now = self.clock.now()
            day = local_day(now, self.clock.tz).isoformat()
            at = db_time(now)
            seq = store.next_seq(conn, service, day)
            row = {"number": format_number(service, seq), "service": service, "origin_service": service,
                   "day": day, "seq": seq, "status": Status.WAITING.value, "priority": int(priority),
                   "transferred": 0, "counter": None, "recalls": 0, "resident_id": resident_id,
                   "visit_id": visit_id, "issued_at": at, "called_at": None, "started_at": None,
                   "finished_at": None, "no_show_at": None, "updated_at": at, "version": 1}
            ticket = store.insert(conn, row)
            store.add_event(conn, ticket_id=ticket["id"], at=at, action="issue", from_status=None,
                            to_status=ticket["status"], counter=None, actor=None)
            capabilities.add_ticket(conn, ticket["id"], digest)
            record = self._outbox(conn, ticket)
            public = self._public(ticket, with_position=True, conn=conn, rate=rate, record=record)
            job_id = None if paperless else printing.enqueue(
                conn, self._ticket_print(ticket, public, now, phone_url), at=at, ticket_id=ticket["id"])
        self.bus.publish(TicketIssued(public))
        if job_id is None:
            print_status = PAPERLESS
        else:
            print_status = self.spooler.print_and_wait(job_id) if self.spooler else printing.QUEUED
        return Issued(public, print_status, phone_url)

    def by_capability(self, cap: str) -> dict[str, Any]:
        """The ticket whose phone page `cap` is, with its place; `NotFound` for any other string."""
        row = capabilities.ticket(self.db.conn, capability.digest(cap)) if capability.is_capability(cap) else None
        if row is None:
            raise NotFound("not_found", "no such ticket")
        return self._public(row, with_position=True)

    def by_link(self, payload: str) -> dict[str, Any] | None:
        """The ticket whose phone link `payload` is (a scanned ticket's QR code), with its
        place; None for anything else. Holding the link is the proof of holding the ticket."""
        link = capability.from_link(payload)
        if link is None or link[0] != capability.TICKET:
            return None
        try:
            return self.by_capability(link[1])
        except NotFound:
            return None

    def from_code(self, payload: str) -> dict[str, Any] | None:
        """The ticket a scanned code names: its phone link, or an old `KT1:` reference of this
        site (both with the ticket's place); None when the code is neither. An old reference
        of an earlier day reads `expired`, as the ticket does. The reference is no proof of
        holding the ticket (its id and number are queue facts): rating takes `by_link`."""
        if capability.from_link(payload) is not None:
            return self.by_link(payload)
        parts = (payload or "").strip().split(":")
        if len(parts) != 4 or parts[0] != "KT1" or parts[1] != self.config.site.id or \
                not (parts[2].isascii() and parts[2].isdigit() and len(parts[2]) <= 18):
            return None
        row = store.get(self.db.conn, int(parts[2]))
        if row is None or row["number"] != parts[3]:
            return None
        return self._public(row, with_position=True)

    def _ticket_print(self, ticket: dict[str, Any], public: dict[str, Any], now: datetime,
                      phone_url: str) -> TicketPrint:
        # issue() checked the letter against the configured services before inserting the ticket
        service = cast(ServiceDef, self.config.service(ticket["service"]))
        return TicketPrint(
            number=ticket["number"], service_zh=service.name_zh, service_en=service.name_en,
            people_ahead=public["people_ahead"], estimated_wait_s=public["estimated_wait_s"], issued_at=now,
            site_name=self.config.site.name, qr_payload=phone_url,
            priority=bool(ticket["priority"]))

    def ticket_reference(self, ticket: dict[str, Any]) -> str:
        """The ticket's reference: site, local id and number. Printed in the QR code before the
        phone pages (now the QR holds the phone link); such codes are still recognised by
        `from_code`. Not in any answer: only the phone link proves holding the ticket."""
        return f"KT1:{self.config.site.id}:{ticket['id']}:{ticket['number']}"

    # -- counter actions --------------------------------------------------------------
    def call_next(self, counter: str, actor: str | None = None) -> dict[str, Any] | None:
        """Finish what the counter has, then call its first queued ticket; None if nobody waits."""
        counter_def = self._counter(counter)
        now = self.clock.now()
        with self.db.write() as conn:
            for current in store.at_counter(conn, counter):
                self._transition(conn, current, Action.FINISH, now, counter, actor)
            nxt = store.first_queued(conn, self.today(), counter_def.services)
            if nxt is None:
                return None
            called = self._transition(conn, nxt, Action.CALL, now, counter, actor,
                                      counter_services=frozenset(counter_def.services))
        self._rates.clear()
        return self._after_call(called, counter)

    def call(self, ticket_id: int, counter: str, actor: str | None = None) -> dict[str, Any]:
        """Call one particular queued ticket (picked from the console's list)."""
        counter_def = self._counter(counter)
        now = self.clock.now()
        with self.db.write() as conn:
            row = self._row(conn, ticket_id)
            called = self._transition(conn, row, Action.CALL, now, counter, actor,
                                      counter_services=frozenset(counter_def.services))
        self._rates.clear()
        return self._after_call(called, counter)

    def act(self, ticket_id: int, action: Action, *, actor: str | None = None,
            target_service: str | None = None) -> dict[str, Any]:
        """recall, start, finish, no-show, reinstate, transfer or cancel one ticket."""
        now = self.clock.now()
        with self.db.write() as conn:
            row = self._row(conn, ticket_id)
            updated = self._transition(conn, row, action, now, row["counter"], actor, target_service=target_service)
        self._rates.clear()
        public = self._public(updated, with_position=True)
        if action is Action.RECALL:
            return self._after_call(updated, updated["counter"])
        self.bus.publish(TicketUpdated(public))
        return public

    # -- internals --------------------------------------------------------------------
    def _after_call(self, row: dict[str, Any], counter: str) -> dict[str, Any]:
        public = self._public(row)
        self.bus.publish(TicketCalled(public))
        if self.speaker is not None:
            self.speaker.announce(call_announcement(row["number"], counter))
        return public

    def _counter(self, counter: str) -> CounterDef:
        counter_def = self.config.counter(counter)
        if counter_def is None:
            raise Invalid("unknown_counter", f"unknown counter {counter!r}")
        return counter_def

    @staticmethod
    def _row(conn: Any, ticket_id: int) -> dict[str, Any]:
        row = store.get(conn, ticket_id)
        if row is None:
            raise NotFound("not_found", f"ticket {ticket_id} not found")
        return row

    def _transition(self, conn: Any, row: dict[str, Any], action: Action, now: datetime, counter: str | None,
                    actor: str | None, *, counter_services: frozenset[str] | None = None,
                    target_service: str | None = None) -> dict[str, Any]:
        # an expired ticket (queued, of an earlier day) is refused every action
        today = local_day(now, self.clock.tz).isoformat()
        state = TicketState(status=effective_status(row["status"], row["day"], today), service=row["service"],
                            counter=row["counter"], no_show_at=from_db_time(row["no_show_at"], self.clock.tz))
        to = check(state, action, now=now, counter_services=counter_services, target_service=target_service,
                   known_services=self._letters,
                   reinstate_window=timedelta(minutes=self.config.queue.reinstate_minutes))
        at = db_time(now)
        changes: dict[str, Any] = {"status": to.value, "updated_at": at}
        if action is Action.CALL:
            changes.update(counter=counter, called_at=at, started_at=None)
        elif action is Action.RECALL:
            changes.update(recalls=row["recalls"] + 1, called_at=at)
        elif action is Action.START:
            changes.update(started_at=at)
        elif action is Action.FINISH:
            changes.update(finished_at=at)
        elif action is Action.NO_SHOW:
            changes.update(no_show_at=at)
        elif action is Action.REINSTATE:
            changes.update(counter=None, no_show_at=None)
        elif action is Action.TRANSFER:
            changes.update(service=target_service, transferred=1, counter=None)
        updated = store.update(conn, row["id"], changes)
        store.add_event(conn, ticket_id=row["id"], at=at, action=action.value, from_status=row["status"],
                        to_status=to.value, counter=counter, actor=actor,
                        detail=f"{row['service']}->{target_service}" if target_service else None)
        self._outbox(conn, updated)
        return updated

    def _outbox(self, conn: Any, ticket: dict[str, Any]) -> dict[str, Any]:
        """Queue the ticket for the central office; returns the record sent."""
        record = self._record(ticket)
        # updated_at is NOT NULL, so from_db_time() returns a datetime
        outbox.add(conn, site_id=self.config.site.id, kind="ticket", local_id=ticket["id"],
                   version=ticket["version"],
                   occurred_at=to_iso(cast(datetime, from_db_time(ticket["updated_at"], self.clock.tz))),
                   data=record)
        return record

    def _record(self, ticket: dict[str, Any]) -> dict[str, Any]:
        """The ticket as the central office receives it (documented in README)."""
        tz = self.clock.tz
        times = ("issued_at", "called_at", "started_at", "finished_at", "no_show_at")
        data = {k: ticket[k] for k in ("id", "number", "service", "origin_service", "day", "status", "counter",
                                       "recalls", "resident_id", "visit_id", "version")}
        data["priority"] = bool(ticket["priority"])
        data["transferred"] = bool(ticket["transferred"])
        for k in times:
            moment = from_db_time(ticket[k], tz)
            data[k] = to_iso(moment) if moment else None
        return data

    def _public(self, ticket: dict[str, Any], *, with_position: bool = False, conn: Any = None,
                rate: tuple[float, int] | None = None, record: dict[str, Any] | None = None) -> dict[str, Any]:
        data = dict(record) if record is not None else self._record(ticket)
        status = effective_status(ticket["status"], ticket["day"], self.today())
        data["status"] = status.value  # `expired` is shown, never stored or sent to the central office
        service = self.config.service(ticket["service"])
        data["service_name_zh"] = service.name_zh if service else ticket["service"]
        data["service_name_en"] = service.name_en if service else ticket["service"]
        if with_position:
            conn = conn or self.db.conn
            queued = status in (Status.WAITING, Status.TRANSFERRED)  # not expired: no place, no wait
            ahead = store.people_ahead(conn, ticket) if queued else 0
            data["position"] = ahead + 1 if queued else 0
            data["people_ahead"] = ahead
            if queued:
                typical, counters = rate or self._service_rate(conn, ticket["service"])
                data["estimated_wait_s"] = estimate.estimate_wait(ahead, typical, counters)
            else:
                data["estimated_wait_s"] = 0
        return data

    def _service_rate(self, conn: Any, service: str) -> tuple[float, int]:
        """(typical seconds per ticket, counters serving it now) for the wait estimate."""
        now = self.clock.now()
        cached = self._rates.get(service)
        if cached is not None and timedelta(0) <= now - cached[0] < RATE_TTL:
            return cached[1]
        cfg = self.config.queue
        typical = estimate.service_time(store.recent_durations(conn, service, cfg.estimate_window),
                                        cfg.default_service_s)
        serving = {c.id for c in self.config.counters if service in c.services}
        active = store.active_counters(conn, db_time(now - ACTIVE_COUNTER_WINDOW)) & serving
        rate = typical, len(active) or 1
        self._rates[service] = (now, rate)
        return rate
