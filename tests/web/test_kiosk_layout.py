"""Every kiosk screen at every kiosk size, in both languages: home, ticket, the QR/ID
greeting, ID number, "not in the directory", visitor registration (empty and with a
missing field), a refused scan, filing a case and its receipt, choosing a ticket to rate,
rating, the questionnaire, the network error and the error page. Each screen is reached
the way a resident reaches it (taps, scans, a real finished ticket) and must fit: nothing
clipped by the viewport or by its box, no hidden scroll content, no overlapping text.
`KIOSK_SCREENSHOTS=DIR` keeps the pictures in DIR/kiosk-layout/."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlparse

import pytest

from kiosk.audience import LOCAL_DEVICE
from kiosk.events import CameraStatus
from tests.checkin.conftest import RESIDENTS_CSV, ZHANG_ID, with_check_char
from tests.web.layout import LAYOUT_JS, SMALLEST_TEXT_JS

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api").expect

SIZES = {
    "1080x1920": {"width": 1080, "height": 1920},
    "1920x1080": {"width": 1920, "height": 1080},
    "1280x800": {"width": 1280, "height": 800},
    "768x1366": {"width": 768, "height": 1366},
}
#: A valid ID number (check digit right) that is in nobody's record.
STRANGER_ID = with_check_char("44030419900307001")
#: The smallest text a kiosk screen may show in normal mode, and in elder mode.
MIN_KIOSK_TEXT_PX = 20
MIN_ELDER_TEXT_PX = 32


class Screens:
    """Looks at one screen after another on one page and keeps every problem found."""

    def __init__(self, page, folder, prefix: str, min_text_px: int = MIN_KIOSK_TEXT_PX) -> None:
        self.page = page
        self.folder = folder
        self.prefix = prefix
        self.min_text_px = min_text_px
        self.problems: list[str] = []

    def check(self, screen: str, *roots: str) -> None:
        page = self.page
        page.evaluate("document.fonts.ready")
        page.wait_for_timeout(60)  # the result screen's entry animation
        roots_all = [".topbar", *roots]
        found = page.evaluate(LAYOUT_JS, roots_all)
        self.problems += [f"{self.prefix} {screen}: {p}" for p in found]
        size, text = page.evaluate(SMALLEST_TEXT_JS, roots_all)
        if size < self.min_text_px:
            self.problems.append(f"{self.prefix} {screen}: text of {size}px: {text!r}")
        page.screenshot(path=str(self.folder / f"{self.prefix}-{screen}.png"), animations="disabled")


def tap(page, selector: str) -> None:
    page.locator(selector).first.tap()


def keys(page, text: str, pad: str = "#ci-id") -> None:
    for ch in text:
        tap(page, f'{pad} .ci-key[data-key="{ch}"]')


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
@pytest.mark.parametrize("size", list(SIZES))
def test_every_kiosk_screen_fits(open_page, kiosk, screenshot_dir, size, lang):
    from kiosk.queue.rules import Action

    kiosk.visits.import_residents(RESIDENTS_CSV)
    folder = screenshot_dir / "kiosk-layout"
    folder.mkdir(exist_ok=True)
    page = open_page(SIZES[size], touch=True)
    s = Screens(page, folder, f"{size}-{lang}")
    page.goto(f"/kiosk?lang={lang}")
    page.wait_for_selector('body[data-live="open"]', state="attached")
    # the box's camera hint with its longest words, as the camera would publish it
    kiosk.bus.publish(CameraStatus("unreadable", LOCAL_DEVICE))
    expect(page.locator("#ci-scan-state")).to_have_attribute("data-state", "unreadable")
    s.check("home", "#home")

    tap(page, "#ci-id-open")
    keys(page, ZHANG_ID[:9])
    s.check("id", "#ci-id .ci-box")
    keys(page, ZHANG_ID[9:])
    tap(page, "#ci-id-submit")
    expect(page.locator("#ci-greeting")).to_be_visible()
    s.check("greeting", "#ci-greeting .ci-box")
    tap(page, "#ci-greet-ok")

    tap(page, "#ci-id-open")
    keys(page, STRANGER_ID)
    tap(page, "#ci-id-submit")
    # answered alike whoever it was (no oracle): the greeting offers visitor registration
    tap(page, "#ci-greet-visitor")
    expect(page.locator("#ci-visitor")).to_be_visible()
    expect(page.locator("#ci-v-id")).to_have_value(STRANGER_ID)
    s.check("id-not-found", "#ci-visitor .ci-box")
    page.keyboard.press("Escape")

    tap(page, "#ci-visitor-open")
    s.check("visitor", "#ci-visitor .ci-box")
    tap(page, "#ci-v-phone")
    s.check("visitor-digits", "#ci-visitor .ci-box")
    tap(page, "#ci-v-unit")
    s.check("visitor-unit", "#ci-visitor .ci-box")
    tap(page, "#ci-v-name")
    tap(page, "#ci-visitor-submit")
    expect(page.locator("#ci-visitor-error")).not_to_be_empty()
    s.check("visitor-missing", "#ci-visitor .ci-box")
    page.keyboard.press("Escape")

    # a scanner reads something that is not a card; the outcome comes back as the `qr.scanned` event
    page.evaluate("Kiosk.api('POST', '/api/v1/scans', {payload: 'NOT-A-CARD-AT-ALL'})")
    expect(page.locator("#ci-message")).to_be_visible()
    s.check("scan-refused", "#ci-message .ci-box")
    page.keyboard.press("Escape")

    tap(page, "#kc-open-file")
    tap(page, '.kc-opt[data-type="complaint"]')
    tap(page, ".kc-cat")
    s.check("case", "#kc-file")
    for field, kind in (("#kc-desc", "pinyin"), ("#kc-unit", "unit"), ("#kc-phone", "digits")):
        tap(page, field)
        expect(page.locator("#kc-file .kb")).to_have_attribute("data-kind", kind)
        s.check(f"case-keys-{kind}", "#kc-file")
    tap(page, "#kc-file-send")
    expect(page.locator("#kc-filed")).to_be_visible()
    s.check("case-filed", "#kc-filed")
    tap(page, "#kc-filed [data-kc-close]")

    tap(page, '.tile[data-letter="A"]')
    expect(page.locator("#r-number")).to_have_text(re.compile(r"^A\d{3}$"))
    page.wait_for_function("() => document.getElementById('r-qr').naturalWidth > 0")
    expect(page.locator("#r-print")).not_to_have_attribute("data-status", "")
    s.check("ticket", "#result")
    taken = page.locator("#r-number").text_content()
    phone_link = parse_qs(urlparse(page.locator("#r-qr").get_attribute("src")).query)["data"][0]
    tap(page, "#r-done")
    if lang != "zh_CN":  # the kiosk goes back to its default language after a ticket; this walk stays in its own
        page.wait_for_url(re.compile(r"lang=zh_CN"))
        page.goto(f"/kiosk?lang={lang}")
        page.wait_for_selector('body[data-live="open"]', state="attached")

    called = kiosk.queue.call_next("1", "reception1")
    kiosk.queue.act(called["id"], Action.FINISH, actor="reception1")
    tap(page, "#kc-open-rate")
    expect(page.locator("#kc-pick")).to_be_visible()
    s.check("rating-pick", "#kc-pick")
    # the kiosk lists no tickets: the resident scans theirs (a keyboard-wedge scanner types it)
    assert called["number"] == taken
    page.keyboard.type(phone_link, delay=1)  # its QR code: the phone link
    page.keyboard.press("Enter")
    expect(page.locator("#kc-rate")).to_be_visible()
    s.check("rating", "#kc-rate")
    tap(page, "#kc-rate-comment")
    expect(page.locator("#kc-rate .kb")).to_have_attribute("data-kind", "pinyin")
    s.check("rating-keys", "#kc-rate")
    page.keyboard.press("Escape")
    page.evaluate("document.getElementById('kc-overlay').hidden = true")

    page.context.set_offline(True)
    tap(page, '.tile[data-letter="C"]')
    expect(page.locator("#k-error")).to_be_visible()
    s.check("network-error", "#k-error .k-error-box")
    page.context.set_offline(False)

    kiosk.config.survey.idle_prompt_s = 1
    page.goto(f"/kiosk?lang={lang}")
    expect(page.locator("#kc-quest")).to_be_visible(timeout=30_000)
    s.check("survey", "#kc-quest")

    page.goto(f"/kiosk/no-such-screen?lang={lang}")
    s.check("error-page", ".error-wrap")

    assert not s.problems, "\n".join(s.problems)


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
@pytest.mark.parametrize("size", list(SIZES))
def test_elder_mode_screens_fit(open_page, kiosk, screenshot_dir, size, lang):
    """Elder mode (all text at least 32 px) on the screens a resident meets first: home with
    the camera hint, the greeting of a QR card read by the camera, the ID keypad, the visitor
    form with its keyboard, and the ticket."""
    kiosk.visits.import_residents(RESIDENTS_CSV)
    card = kiosk.visits.issue_card("r-zhang", 30)
    folder = screenshot_dir / "kiosk-layout"
    folder.mkdir(exist_ok=True)
    page = open_page(SIZES[size], touch=True)
    s = Screens(page, folder, f"elder-{size}-{lang}", min_text_px=MIN_ELDER_TEXT_PX)
    page.goto(f"/kiosk?lang={lang}")
    page.wait_for_selector('body[data-live="open"]', state="attached")
    tap(page, "#elder")
    expect(page.locator("body")).to_have_class(re.compile(r"\belder\b"))
    kiosk.bus.publish(CameraStatus("unreadable", LOCAL_DEVICE))
    expect(page.locator("#ci-scan-state")).to_have_attribute("data-state", "unreadable")
    s.check("home", "#home")

    kiosk.visits.scan(card, source="camera")  # as the box's camera reads it
    expect(page.locator("#ci-greeting")).to_be_visible()
    s.check("qr-greeting", "#ci-greeting .ci-box")
    tap(page, "#ci-greet-ok")

    tap(page, "#ci-id-open")
    keys(page, ZHANG_ID[:9])
    s.check("id", "#ci-id .ci-box")
    page.keyboard.press("Escape")

    tap(page, "#ci-visitor-open")
    s.check("visitor", "#ci-visitor .ci-box")
    tap(page, "#ci-v-name")
    expect(page.locator("#ci-visitor .kb")).to_have_attribute("data-kind", "pinyin")
    s.check("visitor-pinyin", "#ci-visitor .ci-box")
    tap(page, "#ci-v-phone")
    s.check("visitor-digits", "#ci-visitor .ci-box")
    page.keyboard.press("Escape")

    tap(page, '.tile[data-letter="A"]')
    expect(page.locator("#r-number")).to_have_text(re.compile(r"^A\d{3}$"))
    page.wait_for_function("() => document.getElementById('r-qr').naturalWidth > 0")
    expect(page.locator("#r-print")).not_to_have_attribute("data-status", "")
    s.check("ticket", "#result")
    assert not s.problems, "\n".join(s.problems)


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_the_rating_tablet_fits_at_1280x800(open_page, kiosk, screenshot_dir, lang):
    from kiosk.queue.rules import Action

    folder = screenshot_dir / "kiosk-layout"
    folder.mkdir(exist_ok=True)
    page = open_page(SIZES["1280x800"], touch=True)
    s = Screens(page, folder, f"tablet-1280x800-{lang}")
    page.goto(f"/rate?counter=1&lang={lang}")
    page.wait_for_selector('body[data-live="open"]', state="attached")
    s.check("idle", ".rate")
    t = kiosk.queue.issue("D").ticket
    kiosk.queue.call_next("1", "reception1")
    kiosk.queue.act(t["id"], Action.FINISH, actor="reception1")
    expect(page.locator("#kc-rate")).to_be_visible()
    s.check("rating", "#kc-rate")
    tap(page, "#kc-rate-comment")
    for key in ("h", "a", "o", "cand:好"):
        tap(page, f'#kc-rate .kb [data-k="{key}"]')
    expect(page.locator("#kc-rate-comment")).to_have_value("好")
    s.check("rating-keys", "#kc-rate")
    tap(page, '.kc-star[data-score="5"]')  # one tap sends it
    expect(page.locator("#kc-thanks")).to_be_visible()
    s.check("thanks", "#kc-thanks")
    assert kiosk.db.query_one("SELECT score, comment FROM surveys") == {"score": 5, "comment": "好"}
    assert not s.problems, "\n".join(s.problems)
