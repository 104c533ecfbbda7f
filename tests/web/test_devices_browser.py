"""Enrolment in a real browser with `server.kiosk_addresses = []`: the manager adds the
kiosk on the admin page (link + QR), an unenrolled kiosk is refused with the on-screen
message, the paired kiosk takes tickets, and past its limit the kiosk shows the 429
message in Chinese and English. Screenshots: the admin page at 1366×768, the kiosk's
messages at 1080×1920."""

from __future__ import annotations

import pytest

from tests.web.conftest import KIOSK_PORTRAIT, LAPTOP

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api").expect


def test_manager_enrols_a_kiosk_on_the_admin_page_and_the_kiosk_shows_its_limits(
        open_page, login, lan_only, kiosk, shot):
    admin = open_page(LAPTOP)
    login(admin, "manager", "/admin/devices/")
    admin.fill("#device-name", "lobby-kiosk")
    admin.select_option("#device-kind", "kiosk")
    admin.click("#device-add-submit")
    expect(admin.locator("#pairing")).to_be_visible()
    url = admin.locator("#pairing-url").text_content()
    assert "/pair/" in url
    assert admin.locator(".devices-qr").evaluate("img => img.complete && img.naturalWidth > 0")
    shot(admin, "admin-devices-pairing")

    kiosk_page = open_page(KIOSK_PORTRAIT, touch=True)
    kiosk_page.goto("/kiosk")
    kiosk_page.locator('.tile[data-letter="A"]').tap()
    expect(kiosk_page.locator("#k-error")).to_be_visible()
    expect(kiosk_page.locator("#k-error-text .t-main")).to_have_text("本屏幕尚未登记，请咨询前台。")
    expect(kiosk_page.locator("#k-error-text .t-sub")).to_have_text(
        "This screen is not enrolled. Please ask the front desk.")
    shot(kiosk_page, "kiosk-not-enrolled")
    kiosk_page.locator("#k-error-ok").tap()
    assert kiosk.db.scalar("SELECT COUNT(*) FROM tickets") == 0

    kiosk_page.goto(url)
    expect(kiosk_page.locator("#pair-device")).to_contain_text("lobby-kiosk")
    shot(kiosk_page, "pair-kiosk")
    kiosk_page.locator("#pair-submit").tap()
    expect(kiosk_page.locator("#pair-done")).to_contain_text("lobby-kiosk")
    shot(kiosk_page, "pair-kiosk-done")
    kiosk_page.locator("#pair-continue").tap()
    kiosk_page.wait_for_url("**/kiosk")
    kiosk_page.locator('.tile[data-letter="A"]').tap()
    expect(kiosk_page.locator("#r-number")).to_have_text("A001")
    cookie = next(c for c in kiosk_page.context.cookies() if c["name"] == "kiosk_device")
    assert cookie["httpOnly"] and kiosk_page.evaluate("document.cookie").find("kdv_") < 0

    for _ in range(9):  # the rest of the burst of 10, as a queue of people at this kiosk would
        assert kiosk_page.request.post("/api/v1/tickets", data={"service": "B"}).status == 201
    kiosk_page.locator("#result").tap()  # any tap on the result goes back to the tiles
    expect(kiosk_page.locator("#home")).to_be_visible()
    kiosk_page.locator('.tile[data-letter="A"]').tap()
    expect(kiosk_page.locator("#k-error")).to_be_visible()
    expect(kiosk_page.locator("#k-error-text .t-main")).to_have_text("本屏幕刚才取号过多，请等一分钟后再试。")
    expect(kiosk_page.locator("#k-error-text .t-sub")).to_have_text(
        "Too many tickets from this screen just now. Please wait a minute and try again.")
    shot(kiosk_page, "kiosk-rate-limited")
    assert kiosk.db.scalar("SELECT COUNT(*) FROM tickets") == 10

    admin.goto("/admin/devices/")
    expect(admin.locator('[data-device="lobby-kiosk"]')).to_have_attribute("data-state", "paired")
    shot(admin, "admin-devices")
    admin.locator('[data-revoke="lobby-kiosk"]').click()
    expect(admin.locator('[data-device="lobby-kiosk"]')).to_have_count(0)
    refused = kiosk_page.request.post("/api/v1/tickets", data={"service": "C"})
    assert refused.status == 401 and refused.json()["error"]["code"] == "device_required"
