"""The pages in a real browser (Debian's Chromium through Playwright) against the real app
served by waitress: the touchscreen, the desk console, the hall display over SSE, the
language switch, and screenshots of every page for review."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlparse

import pytest

from tests.conftest import bearer
from tests.web.conftest import KIOSK_PORTRAIT, LANDSCAPE, LAPTOP

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api").expect


def issue(page, service: str, priority: bool = False) -> dict:
    """Take a ticket through the public API, as another kiosk would."""
    resp = page.request.post("/api/v1/tickets", data={"service": service, "priority": priority})
    assert resp.status == 201, resp.text()
    return resp.json()


def api(page, method: str, path: str, token: str, body: dict | None = None):
    resp = page.request.fetch(path, method=method, headers=bearer(token), data=body)
    assert resp.status < 400, f"{method} {path}: {resp.status} {resp.text()}"
    return resp.json() if resp.status != 204 else None


def wait_live(page) -> None:
    """The page's SSE stream is connected."""
    page.wait_for_selector('body[data-live="open"]', state="attached")


def min_size(page, selector: str) -> tuple[float, float]:
    boxes = [page.locator(selector).nth(i).bounding_box() for i in range(page.locator(selector).count())]
    assert boxes, f"nothing matches {selector}"
    return min(b["width"] for b in boxes), min(b["height"] for b in boxes)


# -- kiosk --------------------------------------------------------------------------------

def test_kiosk_tap_shows_number_people_ahead_wait_and_qr(enrolled_page, lan_only, kiosk):
    page = enrolled_page("kiosk", KIOSK_PORTRAIT, touch=True)
    page.goto("/kiosk")
    expect(page.locator(".tile")).to_have_count(len(kiosk.config.services))
    wait_live(page)
    for selector in (".tile", "#priority", ".lang-switch a"):
        width, height = min_size(page, selector)
        assert width >= 64 and height >= 64, f"{selector} is {width}×{height}, below the 64 px touch target"

    page.locator('.tile[data-letter="A"]').tap()
    expect(page.locator("#result")).to_be_visible()
    expect(page.locator("#r-number")).to_have_text("A001")
    expect(page.locator("#r-ahead")).to_have_text("0")
    expect(page.locator("#r-wait")).to_have_text("0")
    expect(page.locator("#r-service")).to_have_text("咨询")
    expect(page.locator("#r-print")).to_have_attribute("data-status", re.compile(r"^(printed|queued)$"))
    expect(page.locator("#r-print")).to_contain_text(re.compile("请取走您的号票|您的号票未打印"))
    page.wait_for_function("() => { const i = document.getElementById('r-qr'); "
                           "return i.complete && i.naturalWidth > 0; }")
    qr_src = page.locator("#r-qr").get_attribute("src")
    svg = page.request.get(qr_src)
    assert svg.status == 200 and svg.headers["content-type"].startswith("image/svg+xml")
    assert "%2Ft%2F" in qr_src  # the ticket's phone page, {site.public_url}/t/<capability>

    # A tap anywhere on the result goes back; the waiting count has followed live.
    page.locator(".ticket-card").tap()
    expect(page.locator("#home")).to_be_visible()
    expect(page.locator('[data-waiting="A"]')).to_have_text("等候 1 人")

    # The second person in the same queue has one ahead and a wait estimate; priority is shown.
    page.locator("#priority").tap()
    expect(page.locator("#priority")).to_have_attribute("aria-pressed", "true")
    page.locator('.tile[data-letter="A"]').tap()
    expect(page.locator("#r-number")).to_have_text("A002")
    expect(page.locator("#r-priority")).to_be_visible()
    expect(page.locator("#r-ahead")).to_have_text("0")  # priority goes first
    page.locator("#r-done").tap()
    expect(page.locator("#priority")).to_have_attribute("aria-pressed", "false")
    page.locator('.tile[data-letter="A"]').tap()
    expect(page.locator("#r-number")).to_have_text("A003")
    expect(page.locator("#r-ahead")).to_have_text("2")
    expect(page.locator("#r-wait")).not_to_have_text("0")


def test_kiosk_waiting_counts_follow_other_kiosks_live(open_page):
    page = open_page(LANDSCAPE)
    page.goto("/kiosk")
    wait_live(page)
    expect(page.locator('[data-waiting="D"]')).to_have_text("等候 0 人")
    issue(page, "D")
    issue(page, "D")
    expect(page.locator('[data-waiting="D"]')).to_have_text("等候 2 人")


def test_kiosk_keyboard_tab_and_enter(open_page):
    page = open_page(LANDSCAPE)
    page.goto("/kiosk")
    for _ in range(12):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.classList.contains('tile')"):
            break
    else:
        pytest.fail("Tab never reached a service tile")
    letter = page.evaluate("document.activeElement.dataset.letter")
    page.keyboard.press("Enter")
    expect(page.locator("#r-number")).to_have_text(f"{letter}001")
    expect(page.locator("#r-done")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#home")).to_be_visible()


def test_kiosk_result_goes_home_by_itself_after_20_seconds(open_page):
    page = open_page(KIOSK_PORTRAIT, touch=True)
    page.clock.install()  # the page's own timers, driven by the test instead of waited for
    page.goto("/kiosk")
    page.locator('.tile[data-letter="F"]').tap()
    expect(page.locator("#r-number")).to_have_text("F001")
    page.clock.run_for(10_000)
    expect(page.locator("#result")).to_be_visible()
    expect(page.locator("#r-countdown")).to_have_text("10")
    page.clock.run_for(11_000)
    expect(page.locator("#home")).to_be_visible()
    expect(page.locator("#result")).to_be_hidden()


def test_kiosk_network_error_is_shown_clearly(open_page):
    page = open_page(KIOSK_PORTRAIT, touch=True)
    page.goto("/kiosk")
    wait_live(page)
    page.context.set_offline(True)
    page.locator('.tile[data-letter="B"]').tap()
    expect(page.locator("#k-error")).to_be_visible()
    expect(page.locator("#k-error-text")).to_contain_text("网络暂时无法连接")
    expect(page.locator("#result")).to_be_hidden()
    page.context.set_offline(False)
    page.locator("#k-error-ok").tap()
    expect(page.locator("#k-error")).to_be_hidden()
    page.locator('.tile[data-letter="B"]').tap()
    expect(page.locator("#r-number")).to_have_text("B001")


# -- hall display and desk ----------------------------------------------------------------

def test_display_updates_live_when_the_desk_calls(enrolled_page, open_page, login):
    display = enrolled_page("display", LANDSCAPE)
    display.goto("/display")
    refused = display.request.post("/api/v1/tickets", data={"service": "A"})
    assert refused.status == 401 and refused.json()["error"]["code"] == "device_required"  # a display takes none
    issue(enrolled_page("kiosk"), "A")
    wait_live(display)
    display.evaluate("window.__notReloaded = true")
    expect(display.locator('#waiting [data-service="A"] [data-field="waiting"]')).to_have_text("1")

    desk = open_page(LANDSCAPE)
    login(desk, "receptionist", "/desk?counter=2")
    expect(desk.locator("body")).to_have_attribute("data-loaded", "true")
    expect(desk.locator("#queue .queue-row")).to_have_count(1)
    desk.locator("#call-next").click()
    expect(desk.locator("#current-number")).to_have_text("A001")

    counter = display.locator('.d-counter[data-counter="2"]')
    expect(counter.locator('[data-field="number"]')).to_have_text("A001")
    expect(display.locator("#banner-main")).to_have_text("请 A001 号到 2 号窗口")
    expect(display.locator("#recent .d-recent-row").first).to_contain_text("A001")
    expect(display.locator('#waiting [data-service="A"] [data-field="waiting"]')).to_have_text("0")
    expect(counter).to_have_class(re.compile(r"\bflash\b"))
    assert display.evaluate("window.__notReloaded") is True, "the display reloaded instead of updating live"
    expect(display.locator("#live")).to_be_hidden()


def test_display_clock_shows_the_sites_time_not_the_browsers(open_page):
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    display = open_page(LANDSCAPE)
    display.goto("/display")
    now = datetime.now(ZoneInfo("Asia/Shanghai"))
    expect(display.locator("[data-clock-time]")).not_to_have_text("--:--")
    shown = display.locator("[data-clock-time]").text_content()
    assert shown in {f"{now:%H:%M}", f"{now + timedelta(minutes=1):%H:%M}"}, shown


def test_desk_buttons_recall_noshow_reinstate_transfer_finish(open_page, login, kiosk, clock):
    desk = open_page(LAPTOP)
    for service in ("A", "A", "B"):
        issue(desk, service)
    login(desk, "receptionist", "/desk?counter=1")
    expect(desk.locator("#queue .queue-row")).to_have_count(3)
    expect(desk.locator("#call-next-info")).to_have_text("等候 3 人")

    desk.locator("#call-next").click()
    expect(desk.locator("#current-number")).to_have_text("A001")
    assert [t["number"] for t in kiosk.queue.queued()] == ["A002", "B001"]

    desk.locator('[data-action="recall"]').click()
    expect(desk.locator("#current-detail")).to_have_attribute("data-recalls", "1")
    expect(desk.locator("#toasts")).to_contain_text("已重呼 A001")

    desk.locator('[data-action="no-show"]').click()
    expect(desk.locator("#current-number")).to_have_text("—")
    expect(desk.locator('#noshows [data-ticket="A001"]')).to_be_visible()

    desk.locator('#noshows [data-ticket="A001"] button').click()
    expect(desk.locator('#noshows [data-ticket="A001"]')).to_have_count(0)
    expect(desk.locator('#queue [data-ticket="A001"]')).to_be_visible()

    # Call one particular ticket from the list, then transfer it to complaints (C). The
    # console ignores clicks while an action is in flight (shown by a disabled call button).
    expect(desk.locator("#call-next")).to_be_enabled()
    desk.locator('#queue [data-ticket="B001"]').click()
    expect(desk.locator("#current-number")).to_have_text("B001")
    desk.locator("#transfer-service").select_option("C")
    desk.locator('[data-action="transfer"]').click()
    expect(desk.locator("#current-number")).to_have_text("—")
    expect(desk.locator('#queue [data-ticket="B001"]')).to_contain_text("投诉")

    # Keyboard: N calls the next one (the transferred ticket goes first), S starts, F finishes.
    desk.locator("body").press("n")
    expect(desk.locator("#current-number")).to_have_text("B001")
    desk.locator("body").press("s")
    expect(desk.locator("#current-status")).to_have_text("办理中")
    desk.locator("body").press("f")
    expect(desk.locator("#current-number")).to_have_text("—")
    statuses = {t["number"]: t["status"] for t in kiosk.queue.board()["recent_calls"]}
    assert statuses["B001"] == "done"

    # A no-show is offered for reinstating for 15 minutes only.
    desk.locator("body").press("n")
    expect(desk.locator("#current-number")).to_have_text("A001")
    desk.locator("body").press("x")
    expect(desk.locator('#noshows [data-ticket="A001"]')).to_be_visible()
    clock.advance(minutes=16)
    desk.reload()
    expect(desk.locator("body")).to_have_attribute("data-loaded", "true")
    expect(desk.locator('#noshows [data-ticket="A001"]')).to_have_count(0)

    # A request the server refuses is explained in a toast (here: a stale CSRF token).
    desk.evaluate("document.querySelector('meta[name=\"csrf-token\"]').content = 'stale'")
    desk.locator("body").press("n")
    expect(desk.locator(".toast-error")).to_contain_text("403")


def test_desk_follows_other_counters_live(open_page, login, tokens):
    desk = open_page(LANDSCAPE)
    login(desk, "receptionist", "/desk?counter=1")
    wait_live(desk)
    expect(desk.locator("#queue tr.empty")).to_be_visible()
    issue(desk, "E")
    expect(desk.locator('#queue [data-ticket="E001"]')).to_be_visible()
    api(desk, "POST", "/api/v1/counters/2/call-next", tokens["receptionist"])
    expect(desk.locator('#queue [data-ticket="E001"]')).to_have_count(0)
    desk.locator("#call-next").click()
    expect(desk.locator(".toast")).to_contain_text("当前没有人等候")


def is_stream(url: str) -> bool:
    return urlparse(url).path in ("/api/v1/events", "/api/v1/staff/events")


@pytest.mark.parametrize("path, staff_role, stream, types", [
    ("/kiosk", None, "/api/v1/events", {"ticket.issued", "ticket.called", "qr.scanned"}),  # queue, cases, check-in
    ("/desk", "receptionist", "/api/v1/staff/events", {"ticket.called", "case.overdue", "call.incoming"}),
])
def test_a_page_holds_one_event_stream_for_all_its_parts(open_page, login, path, staff_role, stream, types):
    """Streams per address are capped: a page's scripts share one, the public one or, on a
    staff page, the staff one."""
    page = open_page(LANDSCAPE)
    streams = []
    page.on("request", lambda r: streams.append(r.url) if is_stream(r.url) else None)
    if staff_role:
        login(page, staff_role, path)  # the sign-in page itself subscribes to nothing
    else:
        page.goto(path)
    wait_live(page)
    page.wait_for_timeout(500)
    assert len(streams) == 1, streams
    assert urlparse(streams[0]).path == stream
    assert types <= set(parse_qs(urlparse(streams[0]).query)["types"][0].split(","))


def test_a_late_subscription_reopens_the_stream_without_losing_or_repeating(open_page, kiosk):
    page = open_page(LANDSCAPE)
    streams = []
    page.on("request", lambda r: streams.append(r.url) if is_stream(r.url) else None)
    page.goto("/display")
    wait_live(page)
    issue(page, "A")  # the display's own subscription sees this one
    page.wait_for_timeout(300)
    page.evaluate("""() => { window.got = [];
        Kiosk.events({"printer.status": (d, n) => got.push(n), "ticket.issued": (d, n) => got.push(n)}); }""")
    page.wait_for_function("() => document.body.dataset.live === 'open' && window.got !== undefined")
    page.wait_for_timeout(300)
    kiosk.bus.publish("printer.status", {"status": "ok", "reason": None, "error": None})
    issue(page, "B")
    page.wait_for_function("() => got.length >= 2")
    page.wait_for_timeout(300)
    assert sorted(page.evaluate("got")) == ["printer.status", "ticket.issued"]  # B once, A not replayed
    assert len(streams) == 2 and "last_id=" in streams[1] and "printer.status" in streams[1]
    expect(page.locator("body")).to_have_attribute("data-live", "open")


def test_desk_needs_login(open_page):
    page = open_page(LANDSCAPE)
    page.goto("/desk")
    expect(page).to_have_url(re.compile(r"/login\?next="))
    page.fill("#username", "reception1")
    page.fill("#password", "wrong-password")
    page.click("#login-submit")
    expect(page.locator("#login-error")).to_have_text("用户名或密码错误。")


# -- language -----------------------------------------------------------------------------

def test_language_switch_shows_english_and_sticks(open_page, login):
    page = open_page(KIOSK_PORTRAIT, touch=True)
    page.goto("/kiosk")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.locator(".k-title .t-main")).to_have_text("请选择办理业务")
    page.locator('.lang-switch a[data-lang="en"]').tap()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator(".k-title .t-main")).to_have_text("Please choose a service")
    expect(page.locator('.tile[data-letter="A"] .tile-name')).to_have_text("Inquiry")
    expect(page.locator('[data-waiting="A"]')).to_have_text("0 waiting")

    # The choice is kept in the session for the other pages.
    page.goto("/display")
    expect(page.locator(".brand-page")).to_contain_text("Now serving")
    page.goto("/login")
    expect(page.locator(".login-title")).to_have_text("Staff sign-in")
    login(page, "receptionist", "/desk")
    expect(page.locator("#call-next")).to_contain_text("Call next")
    page.locator('.lang-switch a[data-lang="zh_CN"]').click()
    expect(page.locator("#call-next")).to_contain_text("叫号")


def test_kiosk_goes_back_to_chinese_after_an_english_ticket(open_page):
    page = open_page(KIOSK_PORTRAIT, touch=True)
    page.goto("/kiosk?lang=en")
    page.locator('.tile[data-letter="A"]').tap()
    expect(page.locator("#r-print")).to_contain_text(
        re.compile("Please take your ticket|Your ticket was not printed"))
    expect(page.locator(".stat-label").first).to_have_text("People ahead")
    page.locator("#r-done").tap()
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.locator(".k-title .t-main")).to_have_text("请选择办理业务")


# -- screenshots --------------------------------------------------------------------------

def test_screenshots_of_every_page(open_page, login, tokens, shot):
    """A busy morning, photographed: kiosk, result, desk, display, admin, login, in both languages."""
    setup = open_page(LANDSCAPE)
    token = tokens["receptionist"]
    # a morning's twelve tickets, more than one kiosk's burst: issued at the desk (staff are not rate limited)
    for service, priority in (("A", False), ("A", False), ("B", False), ("A", True), ("C", False), ("D", False),
                              ("D", False), ("E", False), ("A", False), ("F", False), ("B", False), ("D", False)):
        api(setup, "POST", "/api/v1/tickets", token, {"service": service, "priority": priority})
    api(setup, "POST", "/api/v1/counters/2/call-next", token)
    first = api(setup, "POST", "/api/v1/counters/2/call-next", token)
    api(setup, "POST", f"/api/v1/tickets/{first['id']}/start", token)
    missing = api(setup, "POST", "/api/v1/counters/1/call-next", token)
    api(setup, "POST", f"/api/v1/tickets/{missing['id']}/no-show", token)

    login_page = open_page(LANDSCAPE)
    login_page.goto("/login")
    shot(login_page, "login")
    login_page.goto("/login?lang=en")
    shot(login_page, "login-en")
    login_page.goto("/no-such-page?lang=zh_CN")
    shot(login_page, "error-404")

    desk = open_page(LANDSCAPE)
    login(desk, "receptionist", "/desk?counter=1")
    expect(desk.locator("body")).to_have_attribute("data-loaded", "true")
    desk.locator("#call-next").click()
    expect(desk.locator("#current-number")).not_to_have_text("—")
    desk.locator('[data-action="recall"]').click()
    expect(desk.locator("#current-detail")).to_have_attribute("data-recalls", "1")

    display = open_page(LANDSCAPE)
    display.goto("/display")
    wait_live(display)
    shot(display, "display")

    desk.evaluate("document.querySelectorAll('.toast').forEach(t => t.remove())")
    shot(desk, "desk")
    desk.set_viewport_size(LAPTOP)
    shot(desk, "desk-1366x768")
    desk.goto("/desk?counter=1&lang=en")
    expect(desk.locator("body")).to_have_attribute("data-loaded", "true")
    desk.set_viewport_size(LANDSCAPE)
    shot(desk, "desk-en")

    display.goto("/display?lang=en")
    wait_live(display)
    shot(display, "display-en")

    kiosk_page = open_page(KIOSK_PORTRAIT, touch=True)
    kiosk_page.goto("/kiosk")
    wait_live(kiosk_page)
    shot(kiosk_page, "kiosk-home")
    kiosk_page.locator("#priority").tap()
    shot(kiosk_page, "kiosk-home-priority")
    kiosk_page.locator("#priority").tap()
    kiosk_page.locator('.tile[data-letter="A"]').tap()
    expect(kiosk_page.locator("#r-number")).to_have_text(re.compile(r"^A\d{3}$"))
    kiosk_page.wait_for_function("() => document.getElementById('r-qr').naturalWidth > 0")
    expect(kiosk_page.locator("#r-print")).not_to_have_attribute("data-status", "")
    shot(kiosk_page, "kiosk-ticket")
    kiosk_page.locator("#r-done").tap()
    kiosk_page.set_viewport_size(LANDSCAPE)
    shot(kiosk_page, "kiosk-home-landscape")
    kiosk_page.locator('.tile[data-letter="C"]').tap()
    kiosk_page.wait_for_function("() => document.getElementById('r-qr').naturalWidth > 0")
    shot(kiosk_page, "kiosk-ticket-landscape")
    kiosk_page.locator("#r-done").click()
    kiosk_page.goto("/kiosk?lang=en")
    kiosk_page.set_viewport_size(KIOSK_PORTRAIT)
    shot(kiosk_page, "kiosk-home-en")
    kiosk_page.locator('.tile[data-letter="B"]').tap()
    kiosk_page.wait_for_function("() => document.getElementById('r-qr').naturalWidth > 0")
    shot(kiosk_page, "kiosk-ticket-en")
    kiosk_page.goto("/kiosk?lang=en")
    wait_live(kiosk_page)
    kiosk_page.context.set_offline(True)
    kiosk_page.locator('.tile[data-letter="E"]').tap()
    expect(kiosk_page.locator("#k-error")).to_be_visible()
    shot(kiosk_page, "kiosk-error-en")
    kiosk_page.context.set_offline(False)

    admin = open_page(LANDSCAPE)
    login(admin, "manager", "/admin/")
    expect(admin.locator(".device-printer")).to_be_visible()
    admin.wait_for_function("() => [...document.querySelectorAll('.print img')].every(i => i.complete)")
    shot(admin, "admin")
    shot(admin, "admin-full", full_page=True)
    admin.locator("#printer-retry").click()
    expect(admin).to_have_url(re.compile(r"/admin/$"))


def test_display_shows_reconnecting_and_catches_up(open_page, tokens, flaky_network):
    display = open_page(LANDSCAPE, base_url=flaky_network.url)
    display.goto("/display")
    wait_live(display)
    expect(display.locator("#live")).to_be_hidden()
    display.evaluate("window.__notReloaded = true")

    flaky_network.cut()
    expect(display.locator("body")).to_have_attribute("data-live", "reconnecting")
    expect(display.locator("#live")).to_be_visible()
    expect(display.locator("#live")).to_contain_text("正在重新连接")

    # Called while the display was cut off: it shows up once the stream is back.
    setup = open_page(LANDSCAPE)
    issue(setup, "F")
    api(setup, "POST", "/api/v1/counters/1/call-next", tokens["receptionist"])
    flaky_network.restore()
    expect(display.locator("body")).to_have_attribute("data-live", "open", timeout=20_000)
    expect(display.locator('.d-counter[data-counter="1"] [data-field="number"]')).to_have_text("F001")
    expect(display.locator("#live")).to_be_hidden()
    assert display.evaluate("window.__notReloaded") is True
