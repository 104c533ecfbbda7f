"""The touchscreen's rating in a real browser: the holder scans their own ticket with the
keyboard-wedge scanner and rates that ticket only; no screen lists anyone's tickets."""

from __future__ import annotations

import pytest

from kiosk.queue.rules import Action
from tests.web.conftest import KIOSK_PORTRAIT

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api").expect


def served(kiosk, service: str) -> dict:
    """A ticket finished at counter 1, with the phone link its QR code holds."""
    issued = kiosk.queue.issue(service)
    t = issued.ticket
    kiosk.queue.call(t["id"], "1", "reception1")
    kiosk.queue.act(t["id"], Action.FINISH, actor="reception1")
    return {**kiosk.queue.get(t["id"]), "phone_url": issued.phone_url}


def test_kiosk_rates_the_scanned_ticket_and_lists_none(open_page, kiosk, shot):
    mine = served(kiosk, "A")
    other = served(kiosk, "B")
    page = open_page(KIOSK_PORTRAIT, touch=True)
    page.goto("/kiosk")
    page.wait_for_selector('body[data-live="open"]', state="attached")
    page.locator("#kc-open-rate").tap()
    pick = page.locator("#kc-pick")
    expect(pick).to_be_visible()
    expect(pick).to_contain_text("请扫描您的号票")
    for number in (mine["number"], other["number"]):
        expect(page.locator("#kc-overlay")).not_to_contain_text(number)
    shot(page, "kiosk-rate-scan")
    page.keyboard.type("hello-not-a-ticket", delay=1)
    page.keyboard.press("Enter")
    expect(page.locator("#kc-scan-error")).to_contain_text("不是排队号票")
    page.keyboard.type(mine["phone_url"], delay=1)
    page.keyboard.press("Enter")
    expect(page.locator("#kc-rate")).to_be_visible()
    expect(page.locator("#kc-rate-ticket")).to_contain_text(mine["number"])
    shot(page, "kiosk-rate")
    page.locator('.kc-star[data-score="5"]').tap()  # one tap on a score sends the rating (screens)
    expect(page.locator("#kc-thanks")).to_be_visible()
    shot(page, "kiosk-rate-thanks")
    rows = kiosk.db.query("SELECT ticket_id, score, channel FROM surveys")
    assert rows == [{"ticket_id": mine["id"], "score": 5, "channel": "kiosk"}]
    assert kiosk.db.scalar("SELECT COUNT(*) FROM visits") == 0  # the scan was not taken as a check-in
