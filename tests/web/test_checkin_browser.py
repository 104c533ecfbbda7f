"""Check-in and the security review in a real browser (Debian's Chromium) against the
app served by waitress: visitor registration with the photo notice and the printed
pass, ID-number check-in with its check digit, a keyboard-wedge scan greeting the
resident by name, and the security officer reviewing and opening a visit."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kiosk.services.visits import Snapshot
from tests.checkin.conftest import RESIDENTS_CSV, ZHANG_ID, jpeg
from tests.web.conftest import KIOSK_PORTRAIT, LANDSCAPE

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api").expect


def test_visitor_registration_then_security_review(enrolled_page, open_page, login, shot, kiosk):
    page = enrolled_page("kiosk", KIOSK_PORTRAIT, touch=True)
    page.goto("/kiosk")
    page.wait_for_selector('body[data-live="open"]', state="attached")
    expect(page.locator("#ci-home-notice")).to_contain_text("90")  # the photo notice, on the home screen too
    for selector in (".ci-btn", ".ci-key"):
        found = page.locator(selector)
        boxes = [b for b in (found.nth(i).bounding_box() for i in range(found.count())) if b]
        assert all(b["height"] >= 64 for b in boxes), f"{selector} below the 64 px touch target"
    shot(page, "checkin-home")
    page.locator("#ci-visitor-open").tap()
    form = page.locator("#ci-visitor")
    expect(form).to_be_visible()
    expect(form.locator(".ci-notice")).to_contain_text("90 天")  # the photo notice, before the photo
    page.locator("#ci-visitor-submit").tap()
    expect(page.locator("#ci-visitor-error")).to_contain_text("请填写")  # nothing sent yet
    page.fill("#ci-v-name", "<script>alert(1)</script>")
    page.fill("#ci-v-phone", "139 0000 1111")
    page.fill("#ci-v-unit", "5-1-202")
    page.locator(".ci-chip", has_text="送货").tap()
    shot(page, "checkin-visitor-form")
    page.locator("#ci-visitor-submit").tap()
    expect(page.locator("#ci-pass")).to_be_visible()
    expect(page.locator("#ci-pass-print")).to_have_attribute("data-status", re.compile("printed|queued"))
    shot(page, "checkin-visitor-pass")
    expect(page.locator("#ci-pass-who")).to_have_text("<**")  # the name masked, the unit not shown
    row = kiosk.db.query_one("SELECT name, unit, purpose, method FROM visits ORDER BY id DESC LIMIT 1")
    assert row == {"name": "<script>alert(1)</script>", "unit": "5-1-202", "purpose": "送货/快递", "method": "manual"}
    assert kiosk.db.scalar("SELECT COUNT(*) FROM print_jobs WHERE kind = 'visitor_pass'") == 1

    # a visit with a photo, as the camera would leave one
    kiosk.visits.import_residents(RESIDENTS_CSV)
    kiosk.visits.checkin_id(ZHANG_ID, snapshot=Snapshot(jpeg("camera"), kiosk.clock.now()))

    guard = open_page(LANDSCAPE)
    login(guard, "security", next="/security/")
    table = guard.locator("#visits")
    expect(table.locator("tbody tr")).to_have_count(2)
    expect(table).to_contain_text("<script>alert(1)</script>")  # shown as text, not run
    guard.wait_for_function("() => [...document.querySelectorAll('.sec-thumb img')]"
                            ".every(i => i.complete && i.naturalWidth > 0)")
    shot(guard, "security-visit-list")
    guard.fill("#f-q", "张")
    guard.click("#f-search")
    expect(table.locator("tbody tr")).to_have_count(1)
    guard.locator(".sec-name a", has_text="张女士").click()
    expect(guard.locator("#visit-name")).to_have_text("张女士")
    guard.wait_for_function("() => { const i = document.getElementById('snapshot'); "
                            "return i && i.complete && i.naturalWidth > 0; }")
    shot(guard, "security-visit-detail")
    actions = [r["action"] for r in kiosk.db.query("SELECT action FROM audit_log ORDER BY id")]
    assert actions == ["visits.list", "visits.list", "visits.view", "visits.snapshot"]
    with guard.expect_download() as download:
        guard.goto("/security/")
        guard.click("#export")
    assert "张女士" in Path(download.value.path()).read_text(encoding="utf-8-sig")
    assert kiosk.db.scalar("SELECT action FROM audit_log ORDER BY id DESC LIMIT 1") == "visits.export"


def test_id_number_keypad_checks_the_digit_and_greets(open_page, shot, kiosk):
    kiosk.visits.import_residents(RESIDENTS_CSV)
    page = open_page(KIOSK_PORTRAIT, touch=True)
    page.goto("/kiosk")
    page.locator("#ci-id-open").tap()
    wrong = ZHANG_ID[:-1] + ("0" if ZHANG_ID[-1] != "0" else "1")
    for ch in wrong:
        page.locator(f'.ci-key[data-key="{ch}"]').tap()
    page.locator("#ci-id-submit").tap()
    expect(page.locator("#ci-id-error")).to_contain_text("校验位")
    assert kiosk.db.scalar("SELECT COUNT(*) FROM visits") == 0  # caught on screen, nothing sent
    shot(page, "checkin-id-wrong-digit")
    page.locator('.ci-key[data-key="back"]').tap()
    page.locator(f'.ci-key[data-key="{ZHANG_ID[-1]}"]').tap()
    page.locator("#ci-id-submit").tap()
    expect(page.locator("#ci-greeting")).to_be_visible()
    # greeted without a name: the screen does not tell whether the ID number is a resident's,
    # and offers visitor registration to whoever is not
    expect(page.locator("#ci-greet-zh")).to_have_text("您好，欢迎光临！")
    expect(page.locator("#ci-greet-visitor")).to_be_visible()
    expect(page.locator("#ci-greeting")).not_to_contain_text("张")
    shot(page, "checkin-greeting")
    # the ticket taken next belongs to the visit
    page.locator("#ci-greet-ok").tap()
    page.locator('.tile[data-letter="A"]').tap()
    expect(page.locator("#result")).to_be_visible()
    ticket = kiosk.db.query_one("SELECT visit_id, resident_id FROM tickets")
    visit_id = kiosk.db.scalar("SELECT id FROM visits")
    assert ticket == {"visit_id": visit_id, "resident_id": "r-zhang"}


def test_unknown_id_number_is_greeted_alike_and_may_register_as_a_visitor(open_page, shot, kiosk):
    kiosk.visits.import_residents(RESIDENTS_CSV)
    page = open_page(KIOSK_PORTRAIT, touch=True)
    page.goto("/kiosk")
    page.locator("#ci-id-open").tap()
    for ch in "11010519491231002X":
        page.locator(f'.ci-key[data-key="{ch}"]').tap()
    shot(page, "checkin-id-keypad")
    page.locator("#ci-id-submit").tap()
    expect(page.locator("#ci-greet-zh")).to_have_text("您好，欢迎光临！")
    page.locator("#ci-greet-visitor").tap()
    expect(page.locator("#ci-visitor")).to_be_visible()
    assert kiosk.db.query_one("SELECT kind, method, name FROM visits") == {"kind": "visitor", "method": "id",
                                                                           "name": ""}


def test_keyboard_wedge_scan_is_not_typed_into_a_field(open_page, kiosk):
    kiosk.visits.import_residents(RESIDENTS_CSV)
    card = kiosk.visits.issue_card("r-zhang", 30)
    page = open_page(KIOSK_PORTRAIT)
    page.goto("/kiosk")
    page.wait_for_selector('body[data-live="open"]', state="attached")
    page.click("#ci-visitor-open")
    page.click("#ci-v-name")
    page.keyboard.type("王")  # someone typing...
    page.wait_for_timeout(300)  # a person's pause
    page.keyboard.type(card, delay=1)  # ...then a scanner fires a code and Enter
    page.keyboard.press("Enter")
    expect(page.locator("#ci-greeting")).to_be_visible()
    expect(page.locator("#ci-greet-zh")).to_have_text("您好，张**")
    assert page.input_value("#ci-v-name") == "王"
    assert kiosk.db.query_one("SELECT source, resident_id FROM visits") == {"source": "wedge",
                                                                           "resident_id": "r-zhang"}
