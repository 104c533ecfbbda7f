"""The pure case rules: deadlines per type, due-soon/overdue decisions, transitions."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from kiosk.cases import rules
from kiosk.cases.rules import Deadlines
from kiosk.config import CasesConfig
from kiosk.errors import Conflict, Invalid
from kiosk.names import CASE_TYPE_NAMES, case_number

TZ = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 11, 27, 9, 0, tzinfo=TZ)
D = Deadlines.from_config(CasesConfig())


@pytest.mark.parametrize("case_type,minutes", [("inquiry", 5), ("complaint", 24 * 60), ("repair", 48 * 60),
                                               ("other", 24 * 60)])
def test_deadline_per_type_from_config(case_type, minutes):
    assert D.due_at(case_type, T0) == T0 + timedelta(minutes=minutes)


def test_deadlines_follow_the_config():
    d = Deadlines.from_config(CasesConfig(complaint_minutes=90))
    assert d.due_at("complaint", T0) == T0 + timedelta(minutes=90)
    with pytest.raises(Invalid):
        d.due_at("gossip", T0)


def test_due_soon_is_the_last_fifth_capped_at_two_hours():
    due = D.due_at("inquiry", T0)
    assert D.due_soon_from(T0, due) == T0 + timedelta(minutes=4)
    due = D.due_at("complaint", T0)
    assert D.due_soon_from(T0, due) == due - timedelta(hours=2)


def test_sla_state_and_alerts_once_each():
    due = D.due_at("inquiry", T0)
    assert rules.sla_state(T0 + timedelta(minutes=3), T0, due, None, D) == "ok"
    assert rules.sla_state(T0 + timedelta(minutes=4, seconds=1), T0, due, None, D) == "due_soon"
    assert rules.sla_state(due, T0, due, None, D) == "overdue"
    assert rules.sla_state(due + timedelta(hours=1), T0, due, T0 + timedelta(minutes=2), D) == "met"
    assert rules.sla_state(due + timedelta(hours=1), T0, due, due + timedelta(seconds=1), D) == "missed"
    assert rules.alerts_due("due_soon", due_soon_sent=False, overdue_sent=False) == ["due_soon"]
    assert rules.alerts_due("due_soon", due_soon_sent=True, overdue_sent=False) == []
    assert rules.alerts_due("overdue", due_soon_sent=True, overdue_sent=False) == ["overdue"]
    assert rules.alerts_due("overdue", due_soon_sent=True, overdue_sent=True) == []
    assert rules.alerts_due("ok", due_soon_sent=False, overdue_sent=False) == []


def test_clock_stops_at_first_answer_for_inquiries_and_feedback_for_the_rest():
    a, f = T0 + timedelta(minutes=2), T0 + timedelta(hours=3)
    assert rules.clock_stopped_at("inquiry", first_answer_at=a, feedback_at=f, closed_at=None) == a
    assert rules.clock_stopped_at("complaint", first_answer_at=a, feedback_at=f, closed_at=None) == f
    assert rules.clock_stopped_at("complaint", first_answer_at=a, feedback_at=None, closed_at=None) is None


def test_transitions():
    assert rules.next_status("assign", "open", "complaint", has_answer=False, has_feedback=False) == "in_progress"
    assert rules.next_status("feedback", "in_progress", "complaint", has_answer=False, has_feedback=False) == \
        "feedback_given"
    with pytest.raises(Conflict) as err:
        rules.next_status("close", "in_progress", "complaint", has_answer=True, has_feedback=False)
    assert err.value.code == "feedback_required"
    with pytest.raises(Conflict) as err:
        rules.next_status("close", "open", "inquiry", has_answer=False, has_feedback=False)
    assert err.value.code == "answer_required"
    assert rules.next_status("close", "open", "inquiry", has_answer=True, has_feedback=False) == "closed"
    with pytest.raises(Conflict) as err:
        rules.next_status("assign", "closed", "repair", has_answer=True, has_feedback=True)
    assert err.value.code == "invalid_transition"


def test_only_specialist_or_manager_close_complaints():
    def has(role):
        return lambda *roles: role in roles or role == "manager"
    assert not rules.may_close("complaint", has("receptionist"))
    assert rules.may_close("complaint", has("specialist"))
    assert rules.may_close("complaint", has("manager"))
    assert rules.may_close("repair", has("receptionist"))


@pytest.mark.parametrize("case_id,number", [(1, "C00001"), (12, "C00012"), (99999, "C99999"), (123456, "C123456")])
def test_case_number(case_id, number):
    assert case_number(case_id) == number


def test_every_case_type_has_a_chinese_and_an_english_name():
    assert tuple(CASE_TYPE_NAMES) == rules.TYPES
    assert all(zh and en and zh != en for zh, en in CASE_TYPE_NAMES.values())
