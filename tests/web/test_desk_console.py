"""The desk console shows what a receptionist looks at: how many minutes each waiting
person has waited and how long the current ticket has been at the counter (on the
server's clock), and today's served / no-show / average-wait figures for this counter."""

from __future__ import annotations

import pytest

from kiosk.queue.rules import Action
from tests.web.conftest import LANDSCAPE

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api").expect


def test_console_shows_waited_minutes_and_todays_figures(open_page, login, kiosk, clock, shot):
    first = kiosk.queue.issue("A").ticket
    clock.advance(minutes=4)
    gone = kiosk.queue.issue("A").ticket
    clock.advance(minutes=6)
    kiosk.queue.issue("A")
    kiosk.queue.call_next("1", "reception1")           # first: waited 10 min
    kiosk.queue.act(first["id"], Action.FINISH, actor="reception1")
    clock.advance(minutes=2)
    called = kiosk.queue.call_next("1", "reception1")  # gone: waited 8 min
    assert called["id"] == gone["id"]
    kiosk.queue.act(gone["id"], Action.NO_SHOW, actor="reception1")
    clock.advance(minutes=3)

    page = open_page(LANDSCAPE)
    login(page, "receptionist", "/desk?counter=1")
    expect(page.locator("body")).to_have_attribute("data-loaded", "true")
    expect(page.locator("#today-served")).to_have_text("1")
    expect(page.locator("#today-noshow")).to_have_text("1")
    expect(page.locator("#today-wait")).to_have_text("9")  # (10 + 8) / 2
    waiting = page.locator("#queue .queue-row")
    expect(waiting).to_have_count(1)
    expect(waiting.locator(".q-waited")).to_have_text("5 分钟")  # issued 10 min in, now 15 min in
    page.locator("#call-next").click()
    expect(page.locator("#current-timer")).to_have_text("已办理 0 分钟")
    expect(page.locator("#today-wait")).to_have_text("7.7")  # (10 + 8 + 5) / 3
    shot(page, "desk-console-figures")


def test_the_phone_pop_up_opens_any_case_type(open_page, login, kiosk):
    from tests.web.test_phone_browser import desk_ready

    desk = desk_ready(open_page, login, kiosk)
    kiosk.phone.simulate_call("013900001111", "")
    expect(desk.locator("#phone-pop")).to_be_visible()
    desk.locator('input[name="phone-pop-type"][value="repair"]').check()
    desk.fill("#phone-pop-note", "厨房水管漏水")
    desk.click("#phone-pop-case")
    expect(desk.locator("#phone-pop-done")).to_contain_text("C0000")
    case = kiosk.db.query_one("SELECT type, channel, description FROM cases")
    assert case == {"type": "repair", "channel": "phone", "description": "厨房水管漏水"}
