"""The admin page's printer card in Chromium (issue 14): the reason in plain words while the
printer is out of paper, and the "printing cannot be confirmed" line."""

from __future__ import annotations

import pytest

from tests.phone.conftest import wait_for
from tests.web.conftest import LANDSCAPE

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api").expect


def test_admin_printer_card_names_paper_out_and_unconfirmed(open_page, login, shot, kiosk, client, config):
    kiosk.printer.set_fault("paper_out")
    assert client.post("/api/v1/tickets", json={"service": "A"}).get_json()["print"]["status"] == "queued"
    admin = open_page(LANDSCAPE)
    login(admin, "manager", "/admin/")
    card = admin.locator(".device-printer")
    expect(card.locator(".device-reason")).to_have_text("缺纸")
    expect(card).to_have_attribute("data-status", "down")
    expect(card).not_to_contain_text("Traceback")
    shot(admin, "admin-printer-paper-out", full_page=True)

    config.printer.status = "none"
    kiosk.printer.set_fault(None)
    kiosk.spooler.retry_now()
    wait_for(lambda: kiosk.services.printer_health().reason == "unconfirmed", timeout=10, what="unconfirmed")
    admin.goto("/admin/?lang=en")
    expect(card.locator(".device-reason")).to_have_text("Printing cannot be confirmed")
    expect(admin.locator("#printer-unconfirmed")).to_contain_text("printing cannot be confirmed")
    shot(admin, "admin-printer-unconfirmed-en", full_page=True)
