"""The pure queue rules, in milliseconds."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from kiosk.errors import Conflict, Invalid
from kiosk.queue.estimate import estimate_wait, service_time
from kiosk.queue.rules import (
    TRANSITIONS,
    Action,
    Status,
    TicketState,
    check,
    format_number,
)

NOW = datetime(2026, 11, 27, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
SERVICES = frozenset("ABC")


def test_number_format():
    assert format_number("A", 12) == "A012"
    assert format_number("B", 1) == "B001"
    assert format_number("C", 999) == "C999"
    assert format_number("C", 1000) == "C1000"


@pytest.mark.parametrize("action,start,end", [
    (Action.CALL, Status.WAITING, Status.CALLED),
    (Action.CALL, Status.TRANSFERRED, Status.CALLED),
    (Action.RECALL, Status.CALLED, Status.CALLED),
    (Action.START, Status.CALLED, Status.SERVING),
    (Action.FINISH, Status.CALLED, Status.DONE),
    (Action.FINISH, Status.SERVING, Status.DONE),
    (Action.NO_SHOW, Status.CALLED, Status.NO_SHOW),
    (Action.CANCEL, Status.WAITING, Status.CANCELLED),
])
def test_allowed_transitions(action, start, end):
    assert check(TicketState(start, "A"), action, now=NOW) is end


def test_every_refused_transition_is_refused():
    for action, (allowed, _) in TRANSITIONS.items():
        for status in set(Status) - allowed:
            with pytest.raises(Conflict) as err:
                check(TicketState(status, "A"), action, now=NOW, target_service="B", known_services=SERVICES)
            assert err.value.code == "invalid_transition", (action, status)


def test_finishing_a_waiting_ticket_is_refused_with_a_reason():
    with pytest.raises(Conflict, match="cannot finish a ticket that is waiting"):
        check(TicketState(Status.WAITING, "A"), Action.FINISH, now=NOW)


def test_counter_must_serve_the_service():
    with pytest.raises(Conflict) as err:
        check(TicketState(Status.WAITING, "C"), Action.CALL, now=NOW, counter_services=frozenset("AB"))
    assert err.value.code == "wrong_counter"
    assert check(TicketState(Status.WAITING, "B"), Action.CALL, now=NOW,
                 counter_services=frozenset("AB")) is Status.CALLED


def test_reinstate_only_within_window():
    state = TicketState(Status.NO_SHOW, "A", no_show_at=NOW)
    assert check(state, Action.REINSTATE, now=NOW + timedelta(minutes=15)) is Status.WAITING
    with pytest.raises(Conflict) as err:
        check(state, Action.REINSTATE, now=NOW + timedelta(minutes=15, seconds=1))
    assert err.value.code == "reinstate_expired"


def test_transfer_guards():
    state = TicketState(Status.SERVING, "A")
    assert check(state, Action.TRANSFER, now=NOW, target_service="C", known_services=SERVICES) is Status.TRANSFERRED
    with pytest.raises(Conflict, match="already"):
        check(state, Action.TRANSFER, now=NOW, target_service="A", known_services=SERVICES)
    with pytest.raises(Invalid) as err:
        check(state, Action.TRANSFER, now=NOW, target_service="Z", known_services=SERVICES)
    assert err.value.code == "unknown_service"


def test_wait_estimate():
    assert service_time([], 300) == 300
    assert service_time([100, 200, 9000], 300) == 200
    assert estimate_wait(0, 200, 2) == 0
    assert estimate_wait(3, 200, 1) == 600
    assert estimate_wait(3, 200, 2) == 300
    assert estimate_wait(1, 50, 1) == 60
    assert estimate_wait(4, 200, 0) == estimate_wait(4, 200, 1)
