"""Case operations: create, assign, answer, record feedback, close, reopen, and the
deadline watch. Each change runs the pure rules (kiosk/cases/rules.py) inside one write
transaction that also writes the case's history row and its outbox row (kind `case`);
events go on the bus after the commit."""

from __future__ import annotations

import builtins
import logging
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any, cast

from kiosk import capability
from kiosk.cases import rules
from kiosk.cases.rules import Deadlines
from kiosk.clock import Clock, db_time, from_db_time, local_day, to_iso
from kiosk.config import Config
from kiosk.devices.slips import CaseSlipPrint
from kiosk.errors import Forbidden, Invalid, NotFound
from kiosk.events import CaseCreated, CaseDueSoon, CaseEscalated, CaseOverdue, CaseUpdated, EventBus, Payload
from kiosk.services import printing
from kiosk.services.links import PublicLinks
from kiosk.services.printing import PrintSpooler
from kiosk.store import calls as calls_store
from kiosk.store import capabilities, outbox
from kiosk.store import cases as store
from kiosk.store.db import Database
from kiosk.text import clean

log = logging.getLogger(__name__)

MAX_TEXT = 2000
MAX_SHORT = 100
_TIMES = ("clock_start", "due_at", "first_answer_at", "feedback_at", "closed_at", "due_soon_at", "overdue_at",
          "escalated_at", "created_at", "updated_at")


def _alerts(kind: str, subject: dict[str, Any]) -> list[Payload]:
    """The events of one raised deadline alert: an overdue one is escalated to the manager."""
    if kind == "overdue":
        return [CaseOverdue(subject), CaseEscalated(subject, to="manager")]
    return [CaseDueSoon(subject)]


class CaseService:
    def __init__(self, db: Database, config: Config, clock: Clock, bus: EventBus,
                 spooler: PrintSpooler | None = None) -> None:
        self.db = db
        self.config = config
        self.clock = clock
        self.bus = bus
        self.spooler = spooler
        self.deadlines = Deadlines.from_config(config.cases)
        self.links = PublicLinks(config)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- reading ----------------------------------------------------------------------
    def get(self, case_id: int, *, with_history: bool = True) -> dict[str, Any]:
        row = store.get(self.db.conn, case_id)
        if row is None:
            raise NotFound("not_found", f"case {case_id} not found")
        data = self.public(row)
        if with_history:
            tz = self.clock.tz
            data["history"] = [{**h, "at": to_iso(cast(datetime, from_db_time(h["at"], tz)))}  # NOT NULL column
                               for h in store.history(self.db.conn, case_id)]
        return data

    def list(self, *, status: list[str] | None = None, types: list[str] | None = None, overdue: bool = False,
             team: str | None = None, assignee: str | None = None, resident_id: str | None = None,
             escalated: bool | None = None, limit: int = 200) -> builtins.list[dict[str, Any]]:
        for s in status or ():
            if s not in {x.value for x in rules.Status}:
                raise Invalid("invalid_filter", f"unknown status {s!r}")
        for t in types or ():
            if t not in rules.TYPES:
                raise Invalid("invalid_filter", f"unknown type {t!r}")
        rows = store.search(self.db.conn, status=status, types=types,
                            overdue_at=db_time(self.clock.now()) if overdue else None, team=team,
                            assignee=assignee, resident_id=resident_id, escalated=escalated, limit=limit)
        return [self.public(r) for r in rows]

    def board(self, user: str | None = None) -> dict[str, Any]:
        """The case board's columns: overdue, due soon, mine, other open, recently closed."""
        now = self.clock.now()
        open_cases = [self.public(r) for r in store.search(self.db.conn, status=["open", "in_progress",
                                                                                  "feedback_given"], limit=500)]
        closed = [self.public(r) for r in self.db.conn.execute(
            "SELECT * FROM cases WHERE status = 'closed' ORDER BY closed_at DESC LIMIT 20").fetchall()]
        board: dict[str, Any] = {"overdue": [], "due_soon": [], "mine": [], "open": [], "closed": closed}
        for c in open_cases:
            if c["sla"] == "overdue":
                board["overdue"].append(c)
            elif c["sla"] == "due_soon":
                board["due_soon"].append(c)
            elif user and c["assignee"] == user:
                board["mine"].append(c)
            else:
                board["open"].append(c)
        board["now"] = to_iso(now)
        return board

    def public(self, row: dict[str, Any]) -> dict[str, Any]:
        """The case as the API shows it and the central office receives it."""
        tz = self.clock.tz
        data = {k: row[k] for k in ("id", "type", "channel", "status", "category", "description", "resident_id",
                                    "contact_name", "contact_phone", "unit", "ticket_id", "call_id", "visit_id",
                                    "team", "assignee", "created_by", "first_answer", "feedback_text",
                                    "feedback_method", "closed_by", "version")}
        times = {k: from_db_time(row[k], tz) for k in _TIMES}
        data.update({k: to_iso(v) if v else None for k, v in times.items()})
        stopped = rules.clock_stopped_at(row["type"], first_answer_at=times["first_answer_at"],
                                         feedback_at=times["feedback_at"], closed_at=times["closed_at"])
        # clock_start and due_at are NOT NULL columns
        data["sla"] = rules.sla_state(self.clock.now(), cast(datetime, times["clock_start"]),
                                      cast(datetime, times["due_at"]), stopped, self.deadlines)
        data["escalated"] = row["escalated_at"] is not None
        return data

    # -- creating ---------------------------------------------------------------------
    def create(self, *, type: str, description: str, channel: str, resident_id: str | None = None,
               ticket_id: int | None = None, call_id: int | None = None, visit_id: int | None = None,
               category: str = "", contact_name: str = "", contact_phone: str = "", unit: str = "",
               actor: str | None = None, print_slip: bool = False) -> dict[str, Any]:
        if type not in rules.TYPES:
            raise Invalid("unknown_type", f"unknown case type {type!r}; types are {', '.join(rules.TYPES)}")
        if channel not in rules.CHANNELS:
            raise Invalid("unknown_channel", f"unknown channel {channel!r}; channels are {', '.join(rules.CHANNELS)}")
        description = clean(description, "description", MAX_TEXT, required=True, multiline=True)
        category = clean(category, "category", MAX_SHORT)
        contact_name = clean(contact_name, "contact_name", MAX_SHORT)
        contact_phone = clean(contact_phone, "contact_phone", 40)
        unit = clean(unit, "unit", MAX_SHORT)
        now = self.clock.now()
        at = db_time(now)
        with self.db.write() as conn:
            start = now
            ticket: dict[str, Any] | None = None
            if ticket_id is not None:
                ticket = store.ticket(conn, ticket_id)
                if ticket is None:
                    raise Invalid("unknown_ticket", f"ticket {ticket_id} does not exist")
                resident_id = resident_id or ticket["resident_id"]
                if type == "inquiry":  # "first answer within 5 minutes of the ticket's issue"
                    start = cast(datetime, from_db_time(ticket["issued_at"], self.clock.tz))  # NOT NULL column
            if visit_id is not None:
                visit = conn.execute("SELECT resident_id FROM visits WHERE id = ?", (visit_id,)).fetchone()
                if visit is None:
                    raise Invalid("unknown_visit", f"visit {visit_id} does not exist")
                if ticket_id is None:
                    resident_id = resident_id or visit["resident_id"]
            elif ticket is not None and ticket["visit_id"] is not None and \
                    conn.execute("SELECT 1 FROM visits WHERE id = ?", (ticket["visit_id"],)).fetchone():
                visit_id = ticket["visit_id"]  # the ticket's visit, unless retention has purged it since
            if call_id is not None and calls_store.get(conn, call_id) is None:
                raise Invalid("unknown_call", f"call {call_id} does not exist")
            if resident_id is not None:
                resident = store.resident(conn, resident_id)
                if resident is None:
                    raise Invalid("unknown_resident", f"resident {resident_id!r} does not exist")
                contact_name = contact_name or resident["name"]
                contact_phone = contact_phone or resident["phone"]
                unit = unit or resident["unit"]
            due = self.deadlines.due_at(type, start)
            row = store.insert(conn, {
                "type": type, "channel": channel, "status": "open", "category": category,
                "description": description, "resident_id": resident_id, "contact_name": contact_name,
                "contact_phone": contact_phone, "unit": unit, "ticket_id": ticket_id, "call_id": call_id,
                "visit_id": visit_id, "team": rules.DEFAULT_TEAM[type] if type != "inquiry" else "reception",
                "created_by": actor, "clock_start": db_time(start), "due_at": db_time(due),
                "created_at": at, "updated_at": at})
            store.add_history(conn, case_id=row["id"], at=at, actor=actor, action="create", from_status=None,
                              to_status="open", detail=f"{type}/{channel}")
            if call_id is not None:
                calls_store.link_case(conn, call_id, row["id"], site_id=self.config.site.id, at=to_iso(now),
                                      handled_by=actor, tz=self.clock.tz)
            self._outbox(conn, row)
            public = self.public(row)
            job_id = None
            if print_slip:  # the slip's QR opens the case's phone page
                cap = capability.new()
                capabilities.add_case(conn, row["id"], capability.digest(cap))
                job_id = printing.enqueue(conn, self._slip(public, now, self.links.case(cap)), at=at)
        self.bus.publish(CaseCreated(public))
        if job_id is not None:
            public["print"] = {"status": self.spooler.print_and_wait(job_id) if self.spooler else printing.QUEUED}
        return public

    def id_by_capability(self, cap: str) -> int:
        """The case whose phone page `cap` is; `NotFound` for any other string."""
        found = capabilities.case_id(self.db.conn, capability.digest(cap)) if capability.is_capability(cap) else None
        if found is None:
            raise NotFound("not_found", "no such case")
        return found

    def _slip(self, case: dict[str, Any], now: datetime, qr_payload: str) -> CaseSlipPrint:
        due = datetime.fromisoformat(case["due_at"])
        return CaseSlipPrint(case_id=case["id"], type=case["type"], description=case["description"][:200],
                             due_at=case["due_at"], due_text=f"{due:%Y-%m-%d %H:%M}",
                             qr_payload=qr_payload, site_name=self.config.site.name, printed_at=now)

    # -- changing ---------------------------------------------------------------------
    def act(self, case_id: int, action: str, *, actor: str | None, has_role: Callable[..., bool],
            text: str | None = None, method: str | None = None, team: str | None = None,
            assignee: str | None = None) -> dict[str, Any]:
        """assign | start | answer | feedback | close | reopen | note, by `actor` whose roles `has_role` checks."""
        now = self.clock.now()
        at = db_time(now)
        with self.db.write() as conn:
            row = store.get(conn, case_id)
            if row is None:
                raise NotFound("not_found", f"case {case_id} not found")
            to = rules.next_status(action, row["status"], row["type"],
                                   has_answer=bool(row["first_answer_at"] or (action == "close" and text)),
                                   has_feedback=row["feedback_at"] is not None)
            changes: dict[str, Any] = {"status": to, "updated_at": at}
            detail = None
            if action == "assign":
                team = team or rules.DEFAULT_TEAM[row["type"]]
                if team not in rules.TEAMS:
                    raise Invalid("unknown_team", f"unknown team {team!r}; teams are {', '.join(rules.TEAMS)}")
                assignee = clean(assignee, "assignee", MAX_SHORT) or None
                changes.update(team=team, assignee=assignee)
                detail = f"{team}:{assignee or ''}"
            elif action == "start":
                changes.update(assignee=row["assignee"] or actor)
            elif action == "answer":
                detail = clean(text, "text", MAX_TEXT, required=True, multiline=True)
                changes.update(first_answer=detail, first_answer_at=row["first_answer_at"] or at)
            elif action == "feedback":
                if row["type"] == "complaint" and not has_role("specialist"):
                    raise Forbidden("forbidden", "only the customer-service specialist records complaint feedback")
                detail = clean(text, "text", MAX_TEXT, required=True, multiline=True)
                method = method or "in_person"
                if method not in rules.FEEDBACK_METHODS:
                    raise Invalid("unknown_method", f"unknown feedback method {method!r}; methods are "
                                  f"{', '.join(rules.FEEDBACK_METHODS)}")
                changes.update(feedback_text=detail, feedback_method=method, feedback_at=row["feedback_at"] or at)
                if row["type"] == "inquiry" and not row["first_answer_at"]:
                    changes.update(first_answer=detail, first_answer_at=at)
            elif action == "close":
                if not rules.may_close(row["type"], has_role):
                    raise Forbidden("forbidden", "only the customer-service specialist or the manager closes "
                                    "complaints")
                if text:
                    detail = clean(text, "text", MAX_TEXT, multiline=True)
                    if row["type"] == "inquiry" and not row["first_answer_at"]:
                        changes.update(first_answer=detail, first_answer_at=at)
                changes.update(closed_at=at, closed_by=actor)
            elif action == "reopen":
                if not has_role("specialist"):
                    raise Forbidden("forbidden", "only the specialist or the manager reopens cases")
                detail = clean(text, "text", MAX_TEXT, multiline=True)
                changes.update(closed_at=None, closed_by=None)
            elif action == "note":
                detail = clean(text, "text", MAX_TEXT, required=True, multiline=True)
            updated = store.update(conn, case_id, changes)
            store.add_history(conn, case_id=case_id, at=at, actor=actor, action=action, from_status=row["status"],
                              to_status=to, detail=detail)
            self._outbox(conn, updated)
        public = self.public(updated)
        self.bus.publish(CaseUpdated(public))
        return public

    def _outbox(self, conn: Any, row: dict[str, Any]) -> None:
        data = self.public(row)
        data.pop("sla", None)
        data.pop("escalated", None)
        outbox.add(conn, site_id=self.config.site.id, kind="case", local_id=row["id"], version=row["version"],
                   occurred_at=data["updated_at"], data=data)

    # -- deadline watch ---------------------------------------------------------------
    def watch_once(self) -> builtins.list[tuple[str, dict[str, Any]]]:
        """One round of the deadline watch: raise each case's `due_soon` and `overdue` once,
        escalate overdue cases to the manager, and do the same for waiting inquiry tickets.
        Returns the (event, data) pairs published."""
        now = self.clock.now()
        at = db_time(now)
        raised: list[Payload] = []
        with self.db.write() as conn:
            for row in store.unanswered(conn):
                start = cast(datetime, from_db_time(row["clock_start"], self.clock.tz))  # NOT NULL column
                due = cast(datetime, from_db_time(row["due_at"], self.clock.tz))  # NOT NULL column
                state = rules.sla_state(now, start, due, None, self.deadlines)
                for kind in rules.alerts_due(state, due_soon_sent=row["due_soon_at"] is not None,
                                             overdue_sent=row["overdue_at"] is not None):
                    changes = {"due_soon_at": at} if kind == "due_soon" else {"overdue_at": at, "escalated_at": at}
                    updated = store.update(conn, row["id"], changes)
                    store.add_history(conn, case_id=row["id"], at=at, actor="system",
                                      action="overdue" if kind == "overdue" else "due_soon",
                                      from_status=row["status"], to_status=row["status"],
                                      detail="escalated to manager" if kind == "overdue" else None)
                    self._outbox(conn, updated)
                    data = self.public(updated)
                    raised += _alerts(kind, data)
                    row = updated
            raised += self._watch_tickets(conn, now, at)
        published = [self.bus.publish(payload) for payload in raised]
        return [(event.name, event.data) for event in published]

    def _watch_tickets(self, conn: Any, now: datetime, at: str) -> builtins.list[Payload]:
        letter = self.config.cases.inquiry_service
        if not letter:
            return []
        out: list[Payload] = []
        day = local_day(now, self.clock.tz).isoformat()
        for t in store.waiting_inquiries(conn, letter, day):
            start = cast(datetime, from_db_time(t["issued_at"], self.clock.tz))  # NOT NULL column
            due = self.deadlines.due_at("inquiry", start)
            state = rules.sla_state(now, start, due, None, self.deadlines)
            for kind in rules.alerts_due(state, due_soon_sent=bool(t["due_soon_sent"]),
                                         overdue_sent=bool(t["overdue_sent"])):
                if store.mark_ticket_alert(conn, t["id"], kind, at):
                    data = {"ticket_id": t["id"], "number": t["number"], "type": "inquiry", "source": "ticket",
                            "issued_at": to_iso(start), "due_at": to_iso(due), "sla": state}
                    out += _alerts(kind, data)
        return out

    def alerts(self) -> dict[str, Any]:
        """What the desk console's alert strip shows: open overdue/due-soon cases and late inquiry tickets."""
        board = self.board()
        now = self.clock.now()
        day = local_day(now, self.clock.tz).isoformat()
        tickets = []
        letter = self.config.cases.inquiry_service
        if letter:
            for t in store.waiting_inquiries(self.db.conn, letter, day):
                start = cast(datetime, from_db_time(t["issued_at"], self.clock.tz))  # NOT NULL column
                due = self.deadlines.due_at("inquiry", start)
                state = rules.sla_state(now, start, due, None, self.deadlines)
                if state in ("due_soon", "overdue"):
                    tickets.append({"ticket_id": t["id"], "number": t["number"], "sla": state,
                                    "due_at": to_iso(due)})
        return {"overdue": board["overdue"], "due_soon": board["due_soon"], "tickets": tickets}

    # -- the watcher thread -----------------------------------------------------------
    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="case-deadlines", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        interval = max(0.05, float(self.config.cases.watch_interval_s))
        while not self._stop.wait(interval):
            try:
                self.watch_once()
            except Exception:
                log.exception("case deadline round failed")
