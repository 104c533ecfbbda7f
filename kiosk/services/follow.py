"""What the phone pages show: a ticket followed through `/t/<cap>`, a case through
`/c/<cap>`, and the one rating a closed case takes through its capability.

Both views hold queue or case facts only, never a name, phone, unit, resident, visit,
ticket or case id, or the case's description: whoever holds the slip or ticket sees the
state of that one ticket or case and nothing that leads to another one or to a person.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from kiosk.clock import Clock, from_db_time, to_iso
from kiosk.errors import Conflict, Invalid
from kiosk.names import CASE_TYPE_NAMES, case_number
from kiosk.services.cases import CaseService
from kiosk.services.queue import QueueService
from kiosk.services.surveys import SurveyService
from kiosk.store import cases as case_store
from kiosk.store.db import Database

#: The ticket fields a phone page may show.
TICKET_FIELDS = ("number", "service", "service_name_zh", "service_name_en", "status", "counter", "priority",
                 "position", "people_ahead", "estimated_wait_s", "day", "issued_at", "called_at", "finished_at")
#: History actions a resident is shown (notes, assignments and alerts are the staff's).
PUBLIC_ACTIONS = ("create", "start", "answer", "feedback", "close", "reopen")


class FollowService:
    def __init__(self, db: Database, clock: Clock, queue: QueueService, cases: CaseService,
                 surveys: SurveyService) -> None:
        self.db = db
        self.clock = clock
        self.queue = queue
        self.cases = cases
        self.surveys = surveys

    def ticket(self, cap: str) -> dict[str, Any]:
        """The followed ticket's queue facts; `NotFound` unless `cap` is a ticket's."""
        ticket = self.queue.by_capability(cap)
        return {k: ticket.get(k) for k in TICKET_FIELDS}

    def case(self, cap: str) -> dict[str, Any]:
        """The case's state in words for its holder; `NotFound` unless `cap` is a case's."""
        case_id = self.cases.id_by_capability(cap)
        case = self.cases.get(case_id, with_history=False)
        zh, en = CASE_TYPE_NAMES.get(case["type"], ("事项", "Case"))
        tz = self.clock.tz
        history = [{"action": h["action"], "to_status": h["to_status"],
                    "at": to_iso(cast(datetime, from_db_time(h["at"], tz)))}
                   for h in case_store.history(self.db.conn, case_id) if h["action"] in PUBLIC_ACTIONS]
        rating = self.db.query_one("SELECT score, created_at FROM surveys WHERE case_id = ?", (case_id,))
        return {"number": case_number(case_id), "type": case["type"], "type_zh": zh, "type_en": en,
                "status": case["status"], "sla": case["sla"], "due_at": case["due_at"],
                "created_at": case["created_at"], "first_answer": case["first_answer"] or None,
                "first_answer_at": case["first_answer_at"], "feedback_text": case["feedback_text"] or None,
                "feedback_at": case["feedback_at"], "closed_at": case["closed_at"], "history": history,
                "rating": {"score": rating["score"]} if rating else None,
                "can_rate": case["status"] == "closed" and rating is None}

    def rate_case(self, cap: str, score: int, comment: str = "") -> dict[str, Any]:
        """The case's one rating, taken once it is closed (409 `not_closed`, `already_answered`)."""
        case_id = self.cases.id_by_capability(cap)
        if isinstance(score, bool) or not isinstance(score, int) or not 1 <= score <= 5:
            raise Invalid("invalid_score", "score must be a whole number from 1 to 5")
        if self.cases.get(case_id, with_history=False)["status"] != "closed":
            raise Conflict("not_closed", "a case is rated once it has been closed")
        answer = self.surveys.answer(score=score, case_id=case_id, comment=comment, channel="phone")
        return {"score": answer["score"], "created_at": answer["created_at"]}
