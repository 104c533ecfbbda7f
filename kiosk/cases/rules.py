"""Case rules with no I/O: what a case's deadline is, which transitions are allowed, and
when the deadline watcher must raise `case.due_soon` / `case.overdue`.

Every function takes the moment it reasons about (`now`) as an argument, so the rules are
tested with plain datetimes and the watcher thread only feeds them the clock's time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum


class CaseType(str, Enum):
    INQUIRY = "inquiry"
    COMPLAINT = "complaint"
    REPAIR = "repair"
    OTHER = "other"


class Status(str, Enum):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    FEEDBACK_GIVEN = "feedback_given"
    CLOSED = "closed"


TYPES = tuple(t.value for t in CaseType)
#: Each type's name in Chinese and in English: the printed slip and the reports show both,
#: a web page the one of its language.
TYPE_NAMES: dict[str, tuple[str, str]] = {"inquiry": ("咨询", "Inquiry"), "complaint": ("投诉", "Complaint"),
                                          "repair": ("报修", "Repair"), "other": ("其他", "Other")}
CHANNELS = ("counter", "phone", "kiosk", "app")
TEAMS = ("reception", "specialist", "logistics")
FEEDBACK_METHODS = ("in_person", "phone", "sms", "app", "other")
#: Who a case is handed to by default when it is assigned without a team.
DEFAULT_TEAM = {"inquiry": "reception", "complaint": "specialist", "repair": "logistics", "other": "specialist"}


def case_number(case_id: int) -> str:
    """The number a case is known by on screens, slips and reports: C and five digits (C00012)."""
    return f"C{case_id:05d}"


class CaseRuleError(ValueError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Deadlines:
    """Minutes per type, and when 'due soon' starts (config [cases])."""

    minutes: dict[str, int]
    due_soon_fraction: float = 0.2
    due_soon_max_minutes: int = 120

    @classmethod
    def from_config(cls, cfg) -> "Deadlines":
        return cls({"inquiry": cfg.inquiry_minutes, "complaint": cfg.complaint_minutes,
                    "repair": cfg.repair_minutes, "other": cfg.other_minutes},
                   cfg.due_soon_fraction, cfg.due_soon_max_minutes)

    def due_at(self, case_type: str, start: datetime) -> datetime:
        """The deadline of a case of `case_type` whose clock started at `start`."""
        if case_type not in self.minutes:
            raise CaseRuleError("unknown_type", f"unknown case type {case_type!r}")
        return start + timedelta(minutes=self.minutes[case_type])

    def due_soon_from(self, start: datetime, due: datetime) -> datetime:
        """From when a case is 'due soon': the last `fraction` of its time, capped in minutes."""
        lead = min((due - start) * self.due_soon_fraction, timedelta(minutes=self.due_soon_max_minutes))
        return due - lead


def clock_stopped_at(case_type: str, *, first_answer_at: datetime | None, feedback_at: datetime | None,
                     closed_at: datetime | None) -> datetime | None:
    """When the service standard was met: an inquiry's first answer; any other case's feedback.

    Closing also stops the clock (a case is only closed once answered), so a closed case
    never alarms.
    """
    if case_type == CaseType.INQUIRY.value:
        candidates = [t for t in (first_answer_at, feedback_at, closed_at) if t is not None]
    else:
        candidates = [t for t in (feedback_at, closed_at) if t is not None]
    return min(candidates) if candidates else None


def sla_state(now: datetime, start: datetime, due: datetime, stopped_at: datetime | None,
              deadlines: Deadlines) -> str:
    """`met`, `missed` (answered late), `overdue`, `due_soon` or `ok`."""
    if stopped_at is not None:
        return "met" if stopped_at <= due else "missed"
    if now >= due:
        return "overdue"
    if now >= deadlines.due_soon_from(start, due):
        return "due_soon"
    return "ok"


def alerts_due(state: str, *, due_soon_sent: bool, overdue_sent: bool) -> list[str]:
    """Which alerts the watcher raises now, each at most once per case: a case first seen
    already overdue raises only `overdue` (a due-soon warning after the fact is noise)."""
    if state == "overdue":
        return [] if overdue_sent else ["overdue"]
    if state == "due_soon":
        return [] if due_soon_sent or overdue_sent else ["due_soon"]
    return []


#: action → (states it may start from, state it leads to or None for "unchanged").
TRANSITIONS: dict[str, tuple[frozenset[str], str | None]] = {
    "assign": (frozenset({"open", "in_progress", "feedback_given"}), "in_progress"),
    "start": (frozenset({"open"}), "in_progress"),
    "answer": (frozenset({"open", "in_progress"}), None),
    "feedback": (frozenset({"open", "in_progress", "feedback_given"}), "feedback_given"),
    "close": (frozenset({"open", "in_progress", "feedback_given"}), "closed"),
    "reopen": (frozenset({"feedback_given", "closed"}), "in_progress"),
    "note": (frozenset({"open", "in_progress", "feedback_given"}), None),
}


def next_status(action: str, status: str, case_type: str, *, has_answer: bool, has_feedback: bool) -> str:
    """The status after `action`, or CaseRuleError when the rules forbid it."""
    if action not in TRANSITIONS:
        raise CaseRuleError("unknown_action", f"unknown action {action!r}")
    allowed, to = TRANSITIONS[action]
    if status not in allowed:
        raise CaseRuleError("invalid_transition", f"cannot {action} a case that is {status}")
    if action == "close":
        if case_type == CaseType.INQUIRY.value and not (has_answer or has_feedback):
            raise CaseRuleError("answer_required", "give the inquiry an answer before closing it")
        if case_type != CaseType.INQUIRY.value and not has_feedback:
            raise CaseRuleError("feedback_required", "record the feedback given to the resident before closing")
    return to or status


def may_close(case_type: str, roles_has) -> bool:
    """Only the specialist (or the manager) closes complaints; any staff closes the rest."""
    if case_type == CaseType.COMPLAINT.value:
        return roles_has("specialist")
    return roles_has("receptionist", "specialist")
