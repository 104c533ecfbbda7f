"""Typing without a keyboard: a visitor registers with a Chinese name (by pinyin, from the
offline table), a phone number and the unit they visit (picked from the resident
directory) with taps only, no key presses; an ID number that is not in the directory
leads on to visitor registration with the number kept."""

from __future__ import annotations

import pytest

from kiosk.pinyin_table import candidates
from kiosk.services.visits import Snapshot
from tests.checkin.conftest import RESIDENTS_CSV, jpeg, with_check_char
from tests.conftest import bearer
from tests.web.conftest import KIOSK_PORTRAIT, LANDSCAPE

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api").expect


def test_the_offline_table_knows_common_names():
    table = candidates()
    assert table["zhang"][0] == "张" and table["wang"][0] == "王" and "三" in table["san"][:3]
    assert "吕" in table["lv"] and "明" in table["ming"]
    assert all(syllable.isascii() and syllable.isalpha() for syllable in table)


@pytest.mark.parametrize("size", [KIOSK_PORTRAIT, LANDSCAPE], ids=["portrait", "landscape"])
def test_visitor_registers_with_a_chinese_name_using_only_on_screen_keys(open_page, kiosk, clock, shot, size):
    kiosk.visits.import_residents(RESIDENTS_CSV)
    kiosk.visits.snapshot_source = lambda: Snapshot(jpeg("visitor"), clock.now())  # the camera takes one
    page = open_page(size, touch=True)
    keyboard_events = []
    page.expose_function("noteKey", lambda key: keyboard_events.append(key))
    page.add_init_script("document.addEventListener('keydown', e => window.noteKey(e.key), true)")
    page.goto("/kiosk")
    page.locator("#ci-visitor-open").tap()

    def keys(*labels: str) -> None:
        for label in labels:
            page.locator(f'.kb:visible [data-k="{label}"]').tap()

    page.locator("#ci-v-name").tap()
    keys("z", "h", "a", "n", "g")
    expect(page.locator("#ci-visitor .kb-compose")).to_have_text("zhang")
    keys("cand:张", "s", "a", "n", "cand:三")
    expect(page.locator("#ci-v-name")).to_have_value("张三")
    page.locator("#ci-v-phone").tap()
    expect(page.locator("#ci-visitor .kb")).to_have_attribute("data-kind", "digits")
    keys(*"13900001111")
    page.locator("#ci-v-unit").tap()
    # the box's own kiosk is enrolled: the directory's units, building first
    expect(page.locator("#ci-visitor .kb")).to_have_attribute("data-kind", "unit")
    expect(page.locator("#ci-visitor .kb-units [data-k]")).to_have_text(["1", "3"])
    keys("unit:3-", "unit:2-")
    shot(page, f"keys-unit-{size['width']}x{size['height']}")
    keys("unit:501")
    expect(page.locator("#ci-v-unit")).to_have_value("3-2-501")
    page.locator("#ci-visitor-submit").tap()
    expect(page.locator("#ci-pass")).to_be_visible()
    expect(page.locator("#ci-pass [data-photo]")).to_be_visible()  # the "photo taken" moment
    visit = kiosk.db.query_one("SELECT name, phone, unit, method FROM visits")
    assert visit == {"name": "张三", "phone": "13900001111", "unit": "3-2-501", "method": "manual"}
    assert keyboard_events == []  # taps only


def test_a_screen_on_the_lan_gets_no_units_and_types_the_unit_on_digits(open_page, kiosk, lan_only):
    kiosk.visits.import_residents(RESIDENTS_CSV)
    page = open_page(KIOSK_PORTRAIT, touch=True)
    units_answers = []
    page.on("response", lambda r: "/kiosk/units.json" in r.url and units_answers.append((r.status, r.text())))
    page.goto("/kiosk")
    page.locator("#ci-visitor-open").tap()
    page.locator("#ci-v-unit").tap()
    expect(page.locator("#ci-visitor .kb")).to_have_attribute("data-kind", "digits")
    for label in "3-2-501":
        page.locator(f'.kb:visible [data-k="{label}"]').tap()
    expect(page.locator("#ci-v-unit")).to_have_value("3-2-501")
    assert [status for status, _ in units_answers] == [401]
    assert "3-2-501" not in units_answers[0][1] and "1-1-1203" not in units_answers[0][1]


def test_the_unit_list_is_for_enrolled_kiosks_and_staff_only(app, kiosk, tokens):
    kiosk.visits.import_residents(RESIDENTS_CSV)
    kiosk.config.server.kiosk_addresses = ["192.0.2.50"]
    lan = app.test_client()
    lan.environ_base["REMOTE_ADDR"] = "192.0.2.10"
    refused = lan.get("/kiosk/units.json")
    assert refused.status_code == 401 and refused.get_json()["error"]["code"] == "device_required"
    assert "3-2-501" not in refused.get_data(as_text=True)
    box = app.test_client()
    box.environ_base["REMOTE_ADDR"] = "192.0.2.50"
    answer = box.get("/kiosk/units.json")
    assert answer.get_json() == {"units": ["1-1-1203", "3-2-501"]}  # units only, no names
    assert answer.headers["Cache-Control"] == "no-store"
    assert lan.get("/kiosk/units.json", headers=bearer(tokens["receptionist"])).status_code == 200


def test_an_id_not_in_the_directory_leads_to_visitor_registration_with_the_id_kept(open_page, kiosk):
    kiosk.visits.import_residents(RESIDENTS_CSV)
    stranger = with_check_char("44030419900307001")
    page = open_page(KIOSK_PORTRAIT, touch=True)
    page.goto("/kiosk")
    page.locator("#ci-id-open").tap()
    for ch in stranger:
        page.locator(f'#ci-id .ci-key[data-key="{ch}"]').tap()
    page.locator("#ci-id-submit").tap()
    # an ID check-in is answered alike whoever it was (no oracle): the greeting offers registration
    expect(page.locator("#ci-greet-visitor")).to_be_visible()
    page.locator("#ci-greet-visitor").tap()
    expect(page.locator("#ci-visitor")).to_be_visible()
    expect(page.locator("#ci-v-id")).to_have_value(stranger)
    page.locator("#ci-visitor-submit").tap()  # nothing else filled in: the missing fields are marked
    for field in ("#ci-v-name", "#ci-v-phone", "#ci-v-unit"):
        expect(page.locator(field)).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#ci-v-id")).not_to_have_attribute("aria-invalid", "true")
