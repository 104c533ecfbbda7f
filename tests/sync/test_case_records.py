"""Case and survey records (issue 5) travel through the real sync agent to the reference
receiver, which accepts them as they are (kinds `case` and `survey`, docs/sync.md)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from kiosk.clock import FixedClock
from kiosk.queue.rules import Action
from kiosk.runtime import Kiosk
from tests.sync.conftest import SITE, agent_for, site_config


def test_case_and_survey_records_are_accepted_by_central(tmp_path, central):
    cfg = site_config(tmp_path, central.url)
    clock = FixedClock(datetime(2026, 11, 27, 9, 30, tzinfo=ZoneInfo("Asia/Shanghai")))
    k = Kiosk(cfg, clock=clock, start_workers=False)
    try:
        t = k.queue.issue("A").ticket
        k.queue.call(t["id"], "1", "reception1")
        case = k.cases.create(type="inquiry", description="物业费怎么交？", channel="counter", ticket_id=t["id"],
                              actor="reception1")
        k.cases.act(case["id"], "close", actor="reception1", has_role=lambda *r: True, text="前台或APP")
        k.queue.act(t["id"], Action.FINISH, actor="reception1")
        k.surveys.answer(ticket_id=t["id"], score=5, comment="好")
        k.surveys.answer_questionnaire([5, 4, 3])
    finally:
        k.stop()
    agent = agent_for(cfg)
    report = agent.once()
    assert report.rejected == 0
    keys = set(central.store.keys(SITE))
    assert {f"{SITE}:case:{case['id']}:1", f"{SITE}:case:{case['id']}:2", f"{SITE}:survey:1:1",
            f"{SITE}:survey:q1:1"} <= keys
    closed = central.store.record(f"{SITE}:case:{case['id']}:2")
    data = closed.get("data", closed)
    assert data["status"] == "closed" and data["first_answer"] == "前台或APP" and data["ticket_id"] == t["id"]
