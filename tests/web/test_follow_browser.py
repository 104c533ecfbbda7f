"""The phone pages in a real phone-sized Chromium (390x844) against the live server: a
followed ticket's place drops live when another ticket is called, the full-screen "请到 N
号窗口" appears when its own is called, the final states after a reload, resuming after
the stream was cut; the case page and its one rating; the kiosk's "scan instead of
printing" at 1080x1920 making no print job. Every state is screenshot."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from kiosk.devices.escpos_decode import decode, render_png
from tests.conftest import bearer
from tests.web.conftest import KIOSK_PORTRAIT

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api").expect

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def public(kiosk, live_server):
    """The phone links point at the live server, as site.public_url would on the box."""
    kiosk.config.site.public_url = live_server.url
    return live_server.url


def issue(kiosk, service: str = "A", **kw) -> tuple[dict, str]:
    issued = kiosk.queue.issue(service, **kw)
    return issued.ticket, issued.phone_url


def phone(open_page, url: str, locale: str = "zh-CN"):
    page = open_page(PHONE, touch=True, locale=locale)
    page.goto(urlsplit(url).path + ("?lang=en" if locale == "en" else ""))
    return page


def call_next(client, tokens, counter: str = "1") -> dict:
    r = client.post(f"/api/v1/counters/{counter}/call-next", headers=bearer(tokens["receptionist"]))
    assert r.status_code == 200
    return r.get_json()


def test_followed_ticket_moves_up_and_is_called(open_page, kiosk, public, client, tokens, shot):
    first, _ = issue(kiosk)
    second, _ = issue(kiosk)
    mine, url = issue(kiosk)
    assert url.startswith(f"{public}/t/")
    page = phone(open_page, url)
    expect(page.locator("#f-number")).to_have_text(mine["number"])
    expect(page.locator("#f-ahead")).to_have_text("2")
    expect(page.locator("#f-live")).to_have_attribute("data-live", "live")
    expect(page.locator("#f-soon")).to_contain_text("前面只剩 2 人")
    shot(page, "phone-ticket-waiting")
    page.locator("#f-alerts-on").tap()
    expect(page.locator("#f-alerts-on")).to_have_attribute("aria-pressed", "true")

    assert call_next(client, tokens)["number"] == first["number"]     # another ticket is called
    expect(page.locator("#f-ahead")).to_have_text("1")
    call_next(client, tokens, "2")
    expect(page.locator("#f-ahead")).to_have_text("0")
    expect(page.locator("#f-soon")).to_contain_text("下一位就是您")
    shot(page, "phone-ticket-next")

    assert call_next(client, tokens, "2")["number"] == mine["number"]  # its own: counter 2
    called = page.locator("#f-called")
    expect(called).to_be_visible()
    expect(page.locator("#f-called-text")).to_have_text("请到 2 号窗口")
    assert page.get_attribute("body", "data-rang")  # the chime and vibration were played
    shot(page, "phone-ticket-called")
    page.locator("#f-called-ok").tap()
    expect(called).to_be_hidden()
    expect(page.locator("#f-state")).to_have_text("请到 2 号窗口")
    html = page.content()
    assert first["number"] not in html and second["number"] not in html

    client.post(f"/api/v1/tickets/{mine['id']}/start", headers=bearer(tokens["receptionist"]))
    expect(page.locator("#f-state")).to_have_text("正在 2 号窗口办理")
    shot(page, "phone-ticket-serving")
    client.post(f"/api/v1/tickets/{mine['id']}/finish", headers=bearer(tokens["receptionist"]))
    page.reload()
    expect(page.locator("#f-state")).to_have_text("已办理完毕，感谢您的耐心等候。")
    expect(page.locator("#f-stats")).to_be_hidden()
    shot(page, "phone-ticket-served")


def test_final_states_after_reload_in_both_languages(open_page, kiosk, public, client, tokens, shot, clock):
    missed, missed_url = issue(kiosk, "B")
    call_next(client, tokens)
    client.post(f"/api/v1/tickets/{missed['id']}/no-show", headers=bearer(tokens["receptionist"]))
    page = phone(open_page, missed_url)
    expect(page.locator("#f-state")).to_contain_text("已过号")
    shot(page, "phone-ticket-no-show")
    english = phone(open_page, missed_url, locale="en")
    expect(english.locator("#f-state")).to_contain_text("you were not there")
    expect(english.locator(".f-label")).to_have_text("Your number")
    shot(english, "phone-ticket-no-show-en")

    _, waiting_url = issue(kiosk, "C")
    called = phone(open_page, waiting_url)
    expect(called.locator("#f-ahead")).to_have_text("0")
    call_next(client, tokens)                       # called while the page reloads: alert on load
    called.reload()
    expect(called.locator("#f-called")).to_be_visible()
    expect(called.locator("#f-called-text")).to_have_text("请到 1 号窗口")

    _, old_url = issue(kiosk, "D")
    clock.advance(days=1)
    try:
        expired = phone(open_page, old_url)
        expect(expired.locator("#f-state")).to_have_text("此号票已过期。")
        expect(expired.locator("#f-live")).to_be_hidden()
        shot(expired, "phone-ticket-expired")
    finally:
        clock.advance(days=-1)

    missing = open_page(PHONE, touch=True)
    missing.goto(urlsplit(waiting_url).path[:-1] + "x")
    expect(missing.locator("h1")).to_have_text("此链接无效")
    shot(missing, "phone-link-missing")


def test_page_resumes_after_the_stream_is_cut(open_page, kiosk, public, client, tokens, flaky_network):
    issue(kiosk)
    mine, url = issue(kiosk)
    page = open_page(PHONE, touch=True, base_url=flaky_network.url)
    page.goto(urlsplit(url).path)
    expect(page.locator("#f-live")).to_have_attribute("data-live", "live")
    expect(page.locator("#f-ahead")).to_have_text("1")
    flaky_network.cut()                             # the phone sleeps / loses Wi-Fi
    expect(page.locator("#f-live")).to_have_attribute("data-live", "reconnecting")
    call_next(client, tokens)                       # missed while away
    call_next(client, tokens, "2")                  # its own call, also while away
    flaky_network.restore()
    expect(page.locator("#f-called")).to_be_visible()   # replayed from the last event seen
    expect(page.locator("#f-called-text")).to_have_text("请到 2 号窗口")


def test_case_page_and_its_one_rating(open_page, kiosk, public, client, tokens, shot):
    case = client.post("/api/v1/cases", json={"type": "repair", "description": "厨房水管漏水",
                                              "channel": "kiosk", "print": True}).get_json()
    previews = kiosk.services.previews
    slip = (previews.directory / f"{previews.recent(1)[0]}.bin").read_bytes()
    [url] = decode(slip).qr_payloads
    page = phone(open_page, url)
    expect(page.locator("#c-status")).to_have_text("已受理，等待处理")
    expect(page.locator("#c-rate-later")).to_be_visible()
    shot(page, "phone-case-open")
    for action, body in (("start", {}), ("answer", {"text": "维修师傅今天下午上门"}),
                         ("feedback", {"text": "水管已更换，请试用", "method": "phone"}), ("close", {})):
        r = client.post(f"/api/v1/cases/{case['id']}/{action}", json=body, headers=bearer(tokens["manager"]))
        assert r.status_code == 200, r.get_json()
    page.reload()
    expect(page.locator("#c-feedback")).to_have_text("水管已更换，请试用")
    expect(page.locator("#c-history li")).to_have_count(5)
    shot(page, "phone-case-closed", full_page=True)
    page.locator('.c-star[data-score="4"]').tap()
    page.fill("#c-comment", "师傅很准时")
    shot(page, "phone-case-rating")
    page.locator("#c-send").tap()
    expect(page.locator("#c-rated")).to_have_text("感谢您的评价！")
    assert kiosk.db.query("SELECT score, comment, channel FROM surveys WHERE case_id = ?", (case["id"],)) == [
        {"score": 4, "comment": "师傅很准时", "channel": "phone"}]
    page.reload()
    expect(page.locator("#c-rated")).to_contain_text("4 分")
    expect(page.locator("#c-rate-form")).to_have_count(0)
    shot(page, "phone-case-rated")


def test_kiosk_scan_instead_of_printing(open_page, kiosk, public, shot, screenshot_dir):
    page = open_page(KIOSK_PORTRAIT, touch=True)
    page.goto("/kiosk")
    toggle = page.locator("#paperless")
    expect(toggle).to_contain_text("不打印，扫码跟踪")
    box = toggle.bounding_box()
    assert box and box["height"] >= 64
    toggle.tap()
    expect(toggle).to_have_attribute("aria-pressed", "true")
    shot(page, "kiosk-paperless-on")
    page.locator('.tile[data-letter="A"]').tap()
    expect(page.locator("#result")).to_be_visible()
    expect(page.locator("#r-print")).to_have_attribute("data-status", "paperless")
    expect(page.locator("#r-qr-text-paperless")).to_be_visible()
    src = page.get_attribute("#r-qr", "src")
    assert "%2Ft%2F" in src and public.split("//")[1] in src.replace("%3A", ":").replace("%2F", "/")
    shot(page, "kiosk-paperless-ticket")
    assert kiosk.db.scalar("SELECT COUNT(*) FROM tickets") == 1
    assert kiosk.db.scalar("SELECT COUNT(*) FROM print_jobs") == 0
    expect(toggle).to_have_attribute("aria-pressed", "false")   # the next person prints again

    # and a printed ticket, rendered from its bytes for a look
    page.locator("#r-done").tap()
    page.locator('.tile[data-letter="B"]').tap()
    expect(page.locator("#r-print")).to_have_attribute("data-status", "printed")
    previews = kiosk.services.previews
    data = (previews.directory / f"{previews.recent(1)[0]}.bin").read_bytes()
    (screenshot_dir / "printed-ticket.png").write_bytes(render_png(data))
    assert decode(data).qr_payloads[0].startswith(f"{public}/t/")
