"""Satisfaction surveys: one 1-5 rating (and an optional comment) per finished ticket or per
case, and the periodic questionnaire the kiosk offers on its idle screen. Each answer
writes its outbox row (kind `survey`) in the same transaction."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timedelta
from typing import Any, cast

from kiosk.clock import Clock, db_time, from_db_time, to_iso
from kiosk.config import Config
from kiosk.errors import Conflict, Invalid, NotFound
from kiosk.events import EventBus, SurveyAnswered
from kiosk.store import outbox
from kiosk.store.db import Database
from kiosk.text import clean

#: How long after its ticket finished a rating is still taken (a tablet left on overnight
#: must not collect ratings for yesterday's tickets).
RATING_WINDOW = timedelta(hours=12)
CHANNELS = ("kiosk", "tablet", "app", "phone", "counter")


def _score(value: Any, name: str = "score") -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 5:
        raise Invalid("invalid_score", f"{name} must be a whole number from 1 to 5")
    return value


class SurveyService:
    def __init__(self, db: Database, config: Config, clock: Clock, bus: EventBus) -> None:
        self.db = db
        self.config = config
        self.clock = clock
        self.bus = bus

    def answer(self, *, score: int, ticket_id: int | None = None, case_id: int | None = None, comment: str = "",
               channel: str = "kiosk") -> dict[str, Any]:
        """Store the one rating of a finished ticket or of a case."""
        if (ticket_id is None) == (case_id is None):
            raise Invalid("invalid_target", "rate either a ticket or a case")
        score = _score(score)
        comment = clean(comment, "comment", 500, multiline=True)
        if channel not in CHANNELS:
            raise Invalid("unknown_channel", f"unknown channel {channel!r}")
        now = self.clock.now()
        at = db_time(now)
        with self.db.write() as conn:
            resident_id = None
            if ticket_id is not None:
                ticket = conn.execute("SELECT * FROM tickets WHERE id = ?", (ticket_id,)).fetchone()
                if ticket is None:
                    raise NotFound("not_found", f"ticket {ticket_id} not found")
                if ticket["status"] != "done" or ticket["finished_at"] is None:
                    raise Conflict("not_finished", "a ticket is rated once it has been served")
                if now - cast(datetime, from_db_time(ticket["finished_at"], self.clock.tz)) > RATING_WINDOW:
                    raise Conflict("survey_closed", "this ticket can no longer be rated")
                resident_id = ticket["resident_id"]
            else:
                case = conn.execute("SELECT * FROM cases WHERE id = ?", (case_id,)).fetchone()
                if case is None:
                    raise NotFound("not_found", f"case {case_id} not found")
                resident_id = case["resident_id"]
            try:
                row = dict(conn.execute(
                    "INSERT INTO surveys (ticket_id, case_id, score, comment, channel, resident_id, created_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING *",
                    (ticket_id, case_id, score, comment, channel, resident_id, at)).fetchone())
            except sqlite3.IntegrityError:
                raise Conflict("already_answered", "this has already been rated, thank you") from None
            data = self.record(row)
            outbox.add(conn, site_id=self.config.site.id, kind="survey", local_id=row["id"], version=1,
                       occurred_at=data["created_at"], data=data)
        self.bus.publish(SurveyAnswered(data))
        return data

    def record(self, row: dict[str, Any]) -> dict[str, Any]:
        data = {k: row[k] for k in ("id", "ticket_id", "case_id", "score", "comment", "channel", "resident_id")}
        data["form"] = "rating"
        data["created_at"] = to_iso(cast(datetime, from_db_time(row["created_at"], self.clock.tz)))  # NOT NULL
        return data

    # -- the periodic questionnaire ----------------------------------------------------
    def questionnaire(self) -> dict[str, Any]:
        cfg = self.config.survey
        return {"id": cfg.questionnaire_id, "idle_prompt_s": cfg.idle_prompt_s,
                "questions": [{"index": i, "en": en, "zh": zh}
                              for i, (en, zh) in enumerate(zip(cfg.questions, cfg.questions_zh, strict=False))]}

    def answer_questionnaire(self, answers: list[Any], comment: str = "") -> dict[str, Any]:
        cfg = self.config.survey
        if not isinstance(answers, list) or len(answers) != len(cfg.questions):
            raise Invalid("invalid_answers", f"answer each of the {len(cfg.questions)} questions with 1 to 5")
        scores = [_score(a, f"answer {i + 1}") for i, a in enumerate(answers)]
        comment = clean(comment, "comment", 500, multiline=True)
        now = self.clock.now()
        with self.db.write() as conn:
            row = dict(conn.execute(
                "INSERT INTO questionnaire_answers (questionnaire_id, answers, comment, created_at) "
                "VALUES (?, ?, ?, ?) "
                "RETURNING *", (cfg.questionnaire_id, json.dumps(scores), comment, db_time(now))).fetchone())
            data = {"id": row["id"], "form": "questionnaire", "questionnaire_id": cfg.questionnaire_id,
                    "questions": list(cfg.questions), "answers": scores, "comment": comment,
                    "created_at": to_iso(now)}
            outbox.add(conn, site_id=self.config.site.id, kind="survey", local_id=f"q{row['id']}", version=1,
                       occurred_at=data["created_at"], data=data)
        self.bus.publish(SurveyAnswered(data))
        return data

    def just_finished(self, counter: str, minutes: int = 15) -> dict[str, Any] | None:
        """The ticket the counter finished last, if within `minutes` and nobody rated it yet:
        the only ticket the counter's tablet offers (and takes) a rating for."""
        last = self.db.query_one(
            "SELECT id AS ticket_id, number, counter, finished_at FROM tickets "
            "WHERE counter = ? AND status = 'done' AND finished_at IS NOT NULL ORDER BY finished_at DESC LIMIT 1",
            (counter,))
        if last is None or last["finished_at"] < db_time(self.clock.now() - timedelta(minutes=minutes)):
            return None
        if self.db.query_one("SELECT 1 FROM surveys WHERE ticket_id = ?", (last["ticket_id"],)):
            return None
        return {k: last[k] for k in ("ticket_id", "number", "counter")}
