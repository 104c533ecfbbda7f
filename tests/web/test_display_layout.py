"""The hall display fits on a 1920×1080 hall screen and on a 1366×768 one, in both languages, on a busy
morning: six recent calls (the English rows are the longest), both counters serving,
every service with people waiting and an estimated wait, a notice, and the latest call in
the banner (two lines in Chinese). Nothing clipped by
the viewport or its panel, no hidden scroll content, no overlapping text.
`KIOSK_SCREENSHOTS=DIR` keeps the pictures in DIR/display-layout/."""

from __future__ import annotations

import pytest

from tests.web.layout import LAYOUT_JS

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api").expect

SIZES = {"1920x1080": {"width": 1920, "height": 1080}, "1366x768": {"width": 1366, "height": 768}}


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
@pytest.mark.parametrize("size", list(SIZES))
def test_the_display_fits_with_six_recent_calls(open_page, kiosk, screenshot_dir, size, lang):
    from kiosk.queue.rules import Action

    kiosk.services.notices.replace(["今日 14:00-16:00 电梯检修，请走楼梯"], "boss")
    for service in "AABBCCDDEEFFAABB":
        kiosk.queue.issue(service)
    for _ in range(3):
        for counter in ("1", "2"):
            called = kiosk.queue.call_next(counter, "reception1")
            kiosk.queue.act(called["id"], Action.FINISH, actor="reception1")
    for counter in ("1", "2"):
        kiosk.queue.call_next(counter, "reception1")
    folder = screenshot_dir / "display-layout"
    folder.mkdir(exist_ok=True)
    page = open_page(SIZES[size])
    page.goto(f"/display?lang={lang}")
    page.wait_for_selector('body[data-live="open"]', state="attached")
    expect(page.locator("#recent .d-recent-row")).to_have_count(6)
    # every call has the test clock's one time: the later call (the higher id) still comes first
    expect(page.locator("#recent .d-recent-row").first).to_contain_text("D002")
    expect(page.locator("#banner-main")).to_contain_text("D002")
    expect(page.locator("#notice")).not_to_be_empty()
    page.evaluate("document.fonts.ready")
    problems = page.evaluate(LAYOUT_JS, [".topbar", "#banner", ".d-grid"])
    page.screenshot(path=str(folder / f"{size}-{lang}.png"), animations="disabled")
    assert not problems, "\n".join(problems)
