"""The manager's quality tools: reproducible spot-check samples of served tickets and cases
with a verdict per item, and improvement actions recorded against a month's findings."""

from __future__ import annotations

import random
import re
from datetime import date, datetime, timedelta
from typing import Any, cast

from kiosk.clock import FIRST_DAY, LAST_DAY, Clock, day_in_range, db_time, from_db_time, to_iso
from kiosk.errors import Invalid, NotFound
from kiosk.store.db import Database
from kiosk.text import clean

VERDICTS = ("good", "acceptable", "poor")
ACTION_STATUSES = ("open", "in_progress", "done")
MAX_SAMPLE = 200
#: strptime's %Y, %m and %d also take other scripts' digits and single-digit months and days.
_ASCII_DATE = re.compile(r"[0-9]{4}-[0-9]{2}(-[0-9]{2})?")


def sample(candidates: list[tuple[str, int]], size: int, seed: int) -> list[tuple[str, int]]:
    """The same seed and candidates always give the same sample (sorted input, seeded RNG)."""
    ordered = sorted(candidates)
    return sorted(random.Random(seed).sample(ordered, min(size, len(ordered))))


def _day(value: Any, name: str, fmt: str = "%Y-%m-%d") -> date:
    try:
        day = datetime.strptime(value, fmt).date()
    except (TypeError, ValueError):
        day = None
    if day is None or not day_in_range(day) or not _ASCII_DATE.fullmatch(value):
        raise Invalid("invalid_date" if fmt == "%Y-%m-%d" else "invalid_month",
                      f"{name} must be {'a date YYYY-MM-DD' if fmt == '%Y-%m-%d' else 'YYYY-MM'} "
                      f"between {FIRST_DAY.year} and {LAST_DAY.year}")
    return day


class QualityService:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    # -- spot checks ------------------------------------------------------------------
    def draw(self, *, period_from: str, period_to: str, size: int, seed: int | None = None,
             actor: str | None = None) -> dict[str, Any]:
        first, last = _day(period_from, "from"), _day(period_to, "to")
        if last < first or (last - first).days > 366:
            raise Invalid("invalid_period", "the period must run forward and span at most a year")
        if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= MAX_SAMPLE:
            raise Invalid("invalid_size", f"size must be 1 to {MAX_SAMPLE}")
        if seed is None:
            seed = random.SystemRandom().randrange(1, 2**31)
        elif isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise Invalid("invalid_seed", "seed must be a non-negative whole number")
        tz = self.clock.tz
        start = db_time(datetime.combine(first, datetime.min.time(), tz))
        end = db_time(datetime.combine(last + timedelta(days=1), datetime.min.time(), tz))
        now = db_time(self.clock.now())
        with self.db.write() as conn:
            candidates = [("ticket", r[0]) for r in conn.execute(
                "SELECT id FROM tickets WHERE status = 'done' AND finished_at >= ? AND finished_at < ?", (start, end))]
            candidates += [("case", r[0]) for r in conn.execute(
                "SELECT id FROM cases WHERE created_at >= ? AND created_at < ? AND status IN "
                "('feedback_given', 'closed')", (start, end))]
            picked = sample(candidates, size, seed)
            check_id = cast(int, conn.execute(  # an INSERT always sets lastrowid
                "INSERT INTO spot_checks (period_from, period_to, seed, size, created_by, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?)", (first.isoformat(), last.isoformat(), seed, size, actor, now)).lastrowid)
            conn.executemany("INSERT INTO spot_check_items (spot_check_id, item_kind, item_id) VALUES (?, ?, ?)",
                             [(check_id, kind, item_id) for kind, item_id in picked])
        return self.spot_check(check_id)

    def spot_check(self, check_id: int) -> dict[str, Any]:
        check = self.db.query_one("SELECT * FROM spot_checks WHERE id = ?", (check_id,))
        if check is None:
            raise NotFound("not_found", f"spot check {check_id} not found")
        items = self.db.query(
            "SELECT i.*, t.number AS ticket_number, t.service AS ticket_service, t.day AS ticket_day, "
            "c.type AS case_type, "
            "c.description AS case_description FROM spot_check_items i "
            "LEFT JOIN tickets t ON i.item_kind = 'ticket' AND t.id = i.item_id "
            "LEFT JOIN cases c ON i.item_kind = 'case' AND c.id = i.item_id "
            "WHERE i.spot_check_id = ? ORDER BY i.item_kind, i.item_id", (check_id,))
        check["created_at"] = to_iso(cast(datetime, from_db_time(check["created_at"], self.clock.tz)))  # NOT NULL
        check["items"] = items
        return check

    def spot_checks(self, limit: int = 50) -> list[dict[str, Any]]:
        return self.db.query(
            "SELECT s.*, COUNT(i.id) AS items, SUM(i.verdict IS NOT NULL) AS judged FROM spot_checks s "
            "LEFT JOIN spot_check_items i ON i.spot_check_id = s.id GROUP BY s.id ORDER BY s.id DESC LIMIT ?", (limit,))

    def judge(self, item_id: int, verdict: str, remark: str = "", actor: str | None = None) -> dict[str, Any]:
        if verdict not in VERDICTS:
            raise Invalid("invalid_verdict", f"verdict is one of {', '.join(VERDICTS)}")
        remark = clean(remark, "remark", 500, multiline=True)
        with self.db.write() as conn:
            row = conn.execute("UPDATE spot_check_items SET verdict = ?, remark = ?, checked_by = ?, checked_at = ? "
                               "WHERE id = ? RETURNING *",
                               (verdict, remark, actor, db_time(self.clock.now()), item_id)).fetchone()
            if row is None:
                raise NotFound("not_found", f"spot check item {item_id} not found")
        return dict(row)

    # -- improvement actions ----------------------------------------------------------
    def add_action(self, *, month: str, finding: str, action: str, owner: str, due_date: str,
                   actor: str | None = None) -> dict[str, Any]:
        _day(month, "month", "%Y-%m")
        _day(due_date, "due_date")
        finding = clean(finding, "finding", 500, required=True, multiline=True)
        action = clean(action, "action", 1000, required=True, multiline=True)
        owner = clean(owner, "owner", 100, required=True)
        now = db_time(self.clock.now())
        with self.db.write() as conn:
            row = conn.execute(
                "INSERT INTO improvement_actions (month, finding, action, owner, due_date, status, created_by, "
                "created_at, updated_at) VALUES (?, ?, ?, ?, ?, 'open', ?, ?, ?) RETURNING *",
                (month, finding, action, owner, due_date, actor, now, now)).fetchone()
        return dict(row)

    def update_action(self, action_id: int, *, status: str | None = None,
                      progress: str | None = None) -> dict[str, Any]:
        if status is not None and status not in ACTION_STATUSES:
            raise Invalid("invalid_status", f"status is one of {', '.join(ACTION_STATUSES)}")
        with self.db.write() as conn:
            row = conn.execute("SELECT * FROM improvement_actions WHERE id = ?", (action_id,)).fetchone()
            if row is None:
                raise NotFound("not_found", f"improvement action {action_id} not found")
            row = conn.execute(
                "UPDATE improvement_actions SET status = ?, progress = ?, updated_at = ? WHERE id = ? RETURNING *",
                (status or row["status"],
                 clean(progress, "progress", 1000, multiline=True) if progress is not None else row["progress"],
                 db_time(self.clock.now()), action_id)).fetchone()
        return dict(row)

    def actions(self, month: str | None = None) -> list[dict[str, Any]]:
        if month:
            return self.db.query("SELECT * FROM improvement_actions "
                                 "WHERE month = ? OR (month < ? AND status != 'done') "
                                 "ORDER BY month, id", (month, month))
        return self.db.query("SELECT * FROM improvement_actions ORDER BY month DESC, id DESC LIMIT 200")
