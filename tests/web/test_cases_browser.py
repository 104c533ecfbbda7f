"""Cases in a real browser: the desk console records a case for the ticket it serves and
the specialist sees it on the case board, records feedback and closes it; overdue cases
show up on the desk console and the board; the kiosk files a complaint with a slip."""

from __future__ import annotations

import pytest

from tests.web.conftest import KIOSK_PORTRAIT, LANDSCAPE

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api").expect


def test_desk_records_case_and_specialist_handles_it_on_the_board(open_page, login, kiosk, clock, shot):
    kiosk.queue.issue("C")
    kiosk.queue.call_next("1")
    desk = open_page(LANDSCAPE)
    login(desk, "receptionist", "/desk?counter=1")
    desk.wait_for_selector('body[data-live="open"]', state="attached")
    desk.locator('#dc-form input[value="complaint"]').check()
    desk.fill("#dc-category", "噪音")
    desk.fill("#dc-desc", "楼上装修噪音太大，晚上十点后仍在施工")
    desk.click("#dc-handover")
    expect(desk.locator(".toast-success")).to_contain_text("C00001")
    case = kiosk.cases.get(1)
    assert case["ticket_id"] is not None and case["type"] == "complaint" and case["team"] == "specialist"
    assert case["status"] == "in_progress"

    # an overdue inquiry shows on the desk console as soon as the watcher flags it
    kiosk.cases.create(type="inquiry", description="停车月卡怎么办理？", channel="phone", actor="reception1")
    clock.advance(minutes=6)
    kiosk.cases.watch_once()
    expect(desk.locator("#dc-alerts .sla-overdue")).to_contain_text("C00002")
    shot(desk, "cases-desk-panel")

    board = open_page(LANDSCAPE)
    login(board, "specialist", "/cases")
    expect(board.locator('[data-col="overdue"] .cb-item')).to_have_count(1)
    expect(board.locator('[data-col="open"] .cb-item, [data-col="mine"] .cb-item')).to_have_count(1)
    shot(board, "cases-board")
    board.locator('.cb-item[data-case-id="1"] a').click()
    board.wait_for_url("**/cases/1")
    board.fill("#fb-text", "已联系施工方，承诺晚上八点后停工，并电话告知住户")
    board.select_option("#fb-method", "phone")
    board.click("#cd-feedback")
    expect(board.locator("#cd-sla")).to_have_text("已达标")
    shot(board, "cases-detail")
    board.click("#cd-close")
    expect(board.locator(".cd-title")).to_contain_text("已结案")
    assert kiosk.cases.get(1)["status"] == "closed"
