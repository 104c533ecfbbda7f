"""The desk console at the two monitor sizes a front desk has: everything, the case panel
included, is on screen without scrolling, and nothing overlaps or is cut off."""

from __future__ import annotations

import pytest

from tests.web.layout import LAYOUT_JS

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api").expect


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
@pytest.mark.parametrize("size", [{"width": 1920, "height": 1080}, {"width": 1366, "height": 768}],
                         ids=["1920x1080", "1366x768"])
def test_desk_case_panel_is_on_screen_without_scrolling(open_page, login, kiosk, screenshot_dir, size, lang):
    for service in "AABCA":
        kiosk.queue.issue(service)
    page = open_page(size)
    login(page, "receptionist", f"/desk?counter=1&lang={lang}")
    expect(page.locator("body")).to_have_attribute("data-loaded", "true")
    page.locator("#call-next").click()
    expect(page.locator("#current")).not_to_have_attribute("data-status", "")
    for selector in ("#dc-form", "#dc-handover", "#call-next", ".queue"):
        box = page.locator(selector).bounding_box()
        assert box and box["y"] >= 0 and box["y"] + box["height"] <= size["height"], selector
    assert page.evaluate("document.scrollingElement.scrollHeight") <= size["height"]
    problems = page.evaluate(LAYOUT_JS, [".topbar", ".desk"])
    page.screenshot(path=str(screenshot_dir / f"desk-{size['width']}x{size['height']}-{lang}.png"))
    assert not problems, "\n".join(problems)
