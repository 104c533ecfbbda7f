"""The desk phone in a real browser (Debian's Chromium): the screen-pop on the desk
console fed by the real modem worker (the simulated modem) over SSE, a case opened from
it with one click, private calls, the manager's "simulate an incoming call" button and
the call log's missed list."""

from __future__ import annotations

import re

import pytest

from kiosk.names import case_number
from tests.phone.conftest import RESIDENT, add_resident, wait_for
from tests.web.conftest import LANDSCAPE

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api").expect


def desk_ready(open_page, login, kiosk):
    wait_for(lambda: (kiosk.phone.health().status, kiosk.phone.health().reason) == ("ok", None),
             what="the simulated modem answered OK")
    desk = open_page(LANDSCAPE)
    login(desk, "receptionist", "/desk?counter=1")
    desk.wait_for_selector('#phone-pop[data-live="open"]', state="attached")
    return desk


def calls(kiosk) -> list[dict]:
    return kiosk.db.query("SELECT * FROM calls ORDER BY id")


def test_screen_pop_shows_the_resident_and_opens_a_case_in_one_click(open_page, login, kiosk, tokens, shot):
    add_resident(kiosk)
    case = kiosk.cases.create(type="complaint", description="楼道灯不亮，已报三次", channel="counter",
                              resident_id=RESIDENT["id"], actor="reception1")
    kiosk.visits.checkin_qr(kiosk.visits.issue_card(RESIDENT["id"]))
    desk = desk_ready(open_page, login, kiosk)
    kiosk.phone.simulate_call("013800138000", "ZHANG SAN")            # the modem rings
    pop = desk.locator("#phone-pop")
    expect(pop).to_be_visible()
    expect(desk.locator("#phone-pop-number")).to_have_text("138 0013 8000")
    expect(desk.locator("#phone-pop-name")).to_have_text(RESIDENT["name"])
    expect(desk.locator("#phone-pop-unit")).to_have_text(f"房号 {RESIDENT['unit']}")
    expect(desk.locator("#phone-pop-cases li")).to_have_count(1)
    expect(desk.locator("#phone-pop-cases li")).to_contain_text(f"{case_number(case['id'])} 投诉")
    expect(desk.locator("#phone-missed")).to_have_text("1")
    call_id = calls(kiosk)[0]["id"]
    assert pop.get_attribute("data-call-id") == str(call_id)
    shot(desk, "phone-desk-screen-pop")
    box = desk.locator("#phone-pop-case").bounding_box()
    assert box["height"] >= 64
    desk.click("#phone-pop-case")                                      # one click
    expect(desk.locator("#phone-pop-done")).to_contain_text("已建立工单")
    expect(desk.locator("#phone-missed")).to_be_hidden()
    row = calls(kiosk)[0]
    assert row["case_id"] is not None and row["status"] == "handled" and row["handled_by"] == "reception1"
    created = kiosk.db.query_one("SELECT * FROM cases WHERE id = ?", (row["case_id"],))
    assert (created["type"], created["channel"], created["resident_id"], created["call_id"]) == \
        ("inquiry", "phone", RESIDENT["id"], call_id)
    assert "138 0013 8000" in created["description"]
    shot(desk, "phone-desk-case-opened")


def test_private_call_from_the_manager_button_and_mark_handled(open_page, login, kiosk, shot):
    desk = desk_ready(open_page, login, kiosk)
    admin = open_page(LANDSCAPE)
    login(admin, "manager", "/admin/")
    card = admin.locator('[data-device="phone"]')
    expect(card.locator("#phone-simulate")).to_be_visible()
    card.locator('select[name="kind"]').select_option("P")
    shot(admin, "phone-admin-simulate")
    card.locator("#phone-simulate").click()
    expect(admin.locator(".toast-success")).to_be_visible()
    expect(desk.locator("#phone-pop")).to_be_visible()
    expect(desk.locator("#phone-pop-number")).to_have_text("隐藏号码")
    expect(desk.locator("#phone-pop-notice")).to_have_text("来电方隐藏了号码。")
    shot(desk, "phone-desk-private-call")
    desk.click("#phone-pop-handled")
    expect(desk.locator("#phone-pop")).to_be_hidden()
    wait_for(lambda: calls(kiosk) and calls(kiosk)[0]["status"] == "handled", what="handled")
    assert calls(kiosk)[0]["kind"] == "private" and calls(kiosk)[0]["handled_by"] == "reception1"


def test_call_log_lists_missed_calls_until_marked(open_page, login, kiosk, clock, shot):
    add_resident(kiosk)
    from kiosk.devices.callerid import CallerId

    kiosk.calls.incoming(CallerId("13800138000", "ZHANG SAN", "normal", "1127", "0930", 0.0))
    clock.advance(minutes=3)
    kiosk.calls.incoming(CallerId("", "", "out_of_area", "1127", "0933", 0.0))
    clock.advance(minutes=3)
    handled = kiosk.calls.incoming(CallerId("13912345678", "", "normal", "1127", "0936", 0.0))
    kiosk.calls.mark_handled(handled["id"], "reception2")
    page = open_page(LANDSCAPE)
    login(page, "receptionist", "/desk/calls")
    expect(page.locator("#missed-calls tbody tr")).to_have_count(2)
    expect(page.locator("#call-log tbody tr")).to_have_count(3)
    expect(page.locator("#missed-calls")).to_contain_text(RESIDENT["name"])
    expect(page.locator("#missed-calls")).to_contain_text("号码不可用")
    shot(page, "phone-call-log")
    page.locator("#missed-calls [data-handled]").first.click()
    expect(page.locator("#missed-calls tbody tr[data-call-id]")).to_have_count(1)
    assert kiosk.calls.missed_count() == 1


def test_call_log_page_needs_a_login(open_page):
    page = open_page(LANDSCAPE)
    page.goto("/desk/calls")
    expect(page).to_have_url(re.compile(r"/login\?next="))


def test_screen_pop_flags_the_residents_overdue_cases(open_page, login, kiosk, clock):
    add_resident(kiosk)
    late = kiosk.cases.create(type="inquiry", description="停车卡续费", channel="counter",
                              resident_id=RESIDENT["id"], actor="reception1")          # due in 5 minutes
    fresh = kiosk.cases.create(type="complaint", description="夜间噪音", channel="counter",
                               resident_id=RESIDENT["id"], actor="reception1")        # due in 24 hours
    clock.advance(minutes=10)
    desk = desk_ready(open_page, login, kiosk)
    kiosk.phone.simulate_call("13800138000", "ZHANG SAN")
    expect(desk.locator("#phone-pop-cases li")).to_have_count(2)
    expect(desk.locator(f'#phone-pop-cases li[data-case-id="{late["id"]}"]')).to_have_class(re.compile("is-overdue"))
    expect(desk.locator(f'#phone-pop-cases li[data-case-id="{late["id"]}"]')).to_contain_text("已超时")
    expect(desk.locator(f'#phone-pop-cases li[data-case-id="{fresh["id"]}"]')).not_to_have_class(
        re.compile("is-overdue"))
