"""Notices and per-service waits on the hall display: the manager saves them on the admin page, they are stored,
and the display shows the saved notice (and the next one after it)."""

from __future__ import annotations

import re

import pytest

from tests.web.conftest import LANDSCAPE

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api").expect


def test_the_display_shows_a_notice_the_manager_saved(open_page, login, kiosk, shot):
    admin = open_page(LANDSCAPE)
    login(admin, "manager", "/admin/notices")
    admin.fill("#notices", "今日 14:00-16:00 电梯检修，请走楼梯\n\n周六照常办公 9:00-17:00")
    admin.click("#notices-save")
    expect(admin.locator("#notices-saved")).to_be_visible()
    assert kiosk.services.notices.current() == ["今日 14:00-16:00 电梯检修，请走楼梯", "周六照常办公 9:00-17:00"]

    for service in "AAAB":
        kiosk.queue.issue(service)
    display = open_page(LANDSCAPE)
    display.goto("/display?lang=en")
    expect(display.locator("#notices")).to_be_visible()
    expect(display.locator("#notice")).to_have_text("今日 14:00-16:00 电梯检修，请走楼梯")
    eta = display.locator('#waiting [data-service="A"] [data-field="eta"]')
    expect(eta).to_have_text(re.compile(r"^about \d+ min$"))
    expect(display.locator('#waiting [data-service="C"] [data-field="eta"]')).to_have_text("")
    shot(display, "display-notices")
    expect(display.locator("#notice")).to_have_text("周六照常办公 9:00-17:00", timeout=12_000)  # it rotates


def test_notices_are_for_the_manager_and_bounded(client, kiosk):
    assert client.get("/admin/notices").status_code == 302
    assert client.get("/display/notices.json").get_json() == {"notices": []}
    with pytest.raises(Exception, match="at most"):
        kiosk.services.notices.replace(["x" * 201], "m")
