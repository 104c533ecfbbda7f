"""The central console in real Chromium at 1366x768: log in through the form, read the
cross-site figures, drill down to a site, switch to English, add a resident, log out."""

from __future__ import annotations

import os

import pytest

from sync.central.console import hash_password

from .conftest import CentralServer
from .test_console import SECRETS, Clock, seed

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run"]

pytestmark = pytest.mark.browser


@pytest.fixture
def page(central_db):
    sync_api = pytest.importorskip("playwright.sync_api")
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is not installed")
    clock = Clock()
    server = CentralServer(central_db, secrets=SECRETS, now=clock)
    seed(server.app, clock)
    server.store.add_user("wang", "office_manager", hash_password("password-1"))
    errors: list[str] = []
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        context = browser.new_context(viewport={"width": 1366, "height": 768}, base_url=server.url)
        context.set_default_timeout(15_000)
        p = context.new_page()
        p.on("pageerror", lambda exc: errors.append(str(exc)))
        p.on("console", lambda msg: msg.type == "error" and errors.append(msg.text))
        try:
            yield p
        finally:
            context.close()
            browser.close()
            server.stop()
    assert errors == []  # no CSP violation, no script error


def test_log_in_read_the_figures_drill_down_and_keep_the_directory(page):
    from playwright.sync_api import expect

    page.goto("/?from=2026-11-26&to=2026-11-27")
    expect(page).to_have_url("/login?next=/?from%3D2026-11-26%26to%3D2026-11-27")
    page.fill("input[name=username]", "wang")
    page.fill("input[name=password]", "password-1")
    page.click("button.primary")
    expect(page.locator('[data-kpi="tickets"] [data-value]')).to_have_text("8")
    expect(page.locator('[data-kpi="p90_wait_min"] [data-value]')).to_have_text("30")
    expect(page.locator("h1")).to_have_text("全部服务中心")
    assert page.locator('[data-table="daily"] svg').count() == 1

    page.click("a.chip:has-text('site-a')")
    expect(page.locator('[data-kpi="tickets"] [data-value]')).to_have_text("3")
    page.click("text=English")
    expect(page.locator('[data-kpi="tickets"] .l')).to_have_text("Tickets")

    page.click("text=Resident directory")
    page.click("text=Add a resident")
    page.fill("input[name=id]", "r9")
    page.fill("input[name=name]", "赵六")
    page.fill("input[name=unit]", "3-301")
    page.click("button.primary")
    expect(page.locator("p.ok")).to_contain_text("r9: added")
    expect(page.locator("td:has-text('赵六')")).to_have_count(1)

    page.click("text=Log out")
    expect(page).to_have_url("/login")
    page.goto("/directory")
    expect(page).to_have_url("/login?next=/directory")
