"""Everyone sees the printer's truth at once: the public `printer` fact in
/api/v1/board and /api/v1/services, the kiosk home banner, the ticket screen's "not printed"
and the desk console's banner, driven through the real print spooler with the simulated
printer (kiosk/devices/printer.py PreviewPrinter) and followed live over the event stream."""

from __future__ import annotations

import pytest

from kiosk.devices.health import DeviceHealth
from kiosk.services.registry import printer_availability
from tests.phone.conftest import wait_for
from tests.web.conftest import KIOSK_PORTRAIT, LANDSCAPE, LAPTOP

expect = pytest.importorskip("playwright.sync_api").expect

AVAILABLE = {"available": True, "reason": None}
OFFLINE = {"available": False, "reason": "offline"}
KIOSK_BANNER_ZH = "打印机暂停服务：取号后请记下号码或用手机拍下二维码"
KIOSK_BANNER_EN = "The printer is out of service: note your number or take a photo of the QR code"


def printer_fact(client_or_page, path: str = "/api/v1/board") -> dict:
    resp = client_or_page.get(path)
    body = resp.get_json() if hasattr(resp, "get_json") else resp.json()
    return body["printer"]


def break_printer(kiosk, issue_ticket) -> dict:
    """The printer refuses jobs; the next ticket's print fails in the real spooler, which
    marks the printer down and publishes `printer.status`. The ticket (answered `queued`)."""
    kiosk.printer.set_offline(True)
    ticket = issue_ticket()
    assert ticket["print"]["status"] == "queued"
    return ticket


def mend_printer(kiosk) -> None:
    """The printer takes jobs again and the spooler is told so (the admin page's "retry
    printer now"): the queued ticket prints, the printer is up again."""
    kiosk.printer.set_offline(False)
    kiosk.services.retry_printer()
    wait_for(lambda: kiosk.services.printer_health().status == "ok")


# -- the public fact ------------------------------------------------------------------------

def test_board_and_services_say_whether_tickets_print(client, kiosk, recorded_events):
    assert printer_fact(client) == AVAILABLE
    assert printer_fact(client, "/api/v1/services") == AVAILABLE

    ticket = break_printer(kiosk, lambda: client.post("/api/v1/tickets", json={"service": "A"}).get_json())
    for path in ("/api/v1/board", "/api/v1/services"):
        body = client.get(path).get_data(as_text=True)
        assert printer_fact(client, path) == OFFLINE
        assert "simulated" not in body and "preview" not in body  # no driver text, no back-end name
    wait_for(lambda: [e["status"] for e in recorded_events.data("printer.status")][-1:] == ["down"])
    assert client.get(f"/api/v1/tickets/{ticket['id']}").get_json()["status"] == "waiting"

    printed_before = len(kiosk.printer.list_jobs())
    mend_printer(kiosk)
    assert printer_fact(client) == AVAILABLE
    assert printer_fact(client, "/api/v1/services") == AVAILABLE
    wait_for(lambda: [e["status"] for e in recorded_events.data("printer.status")][-1:] == ["ok"])
    wait_for(lambda: len(kiosk.printer.list_jobs()) == printed_before + 1)  # the queued ticket came out


def test_the_public_fact_carries_the_reason_word_only():
    assert printer_availability(DeviceHealth("down", "paper_out", "Errno 104 from 10.0.0.5")) == \
        {"available": False, "reason": "paper_out"}
    assert printer_availability(DeviceHealth("degraded", "paper_low", "near end")) == \
        {"available": True, "reason": "paper_low"}
    # ok (printing cannot be confirmed is still printing) and off carry no reason for the screens
    assert printer_availability(DeviceHealth("ok", "unconfirmed")) == AVAILABLE
    assert printer_availability(DeviceHealth("off", "not_configured"))["available"] is True
    assert printer_availability(DeviceHealth("down", "[Errno 111] Connection refused")) == \
        {"available": False, "reason": None}


def test_openapi_documents_the_printer_field(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    schema = doc["components"]["schemas"]["PrinterAvailability"]
    assert set(schema["properties"]) == {"available", "reason"}
    for path in ("/api/v1/board", "/api/v1/services"):
        ok = doc["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
        assert ok["properties"]["printer"] == {"$ref": "#/components/schemas/PrinterAvailability"}


# -- the kiosk ------------------------------------------------------------------------------

#: Where the home screen's parts are: the banner above the tiles, every tile's text inside
#: its tile and not on top of each other, the last button on the screen.
LAYOUT_JS = """() => {
  const box = (el) => el.getBoundingClientRect();
  const problems = [];
  const banner = document.getElementById('printer-banner');
  const tiles = [...document.querySelectorAll('.tile')];
  if (!banner.hidden && box(banner).bottom > Math.min(...tiles.map(t => box(t).top)))
    problems.push('the banner reaches into the tiles');
  for (const tile of tiles) {
    const t = box(tile);
    if (tile.scrollHeight > tile.clientHeight + 1) problems.push(tile.dataset.letter + ' content taller than its tile');
    const parts = [...tile.querySelectorAll('.tile-name, .tile-name-sub, .tile-wait, .tile-letter')].map(box);
    for (const p of parts) {
      if (p.top < t.top - 1 || p.bottom > t.bottom + 1 || p.left < t.left - 1 || p.right > t.right + 1)
        problems.push(tile.dataset.letter + ' text outside its tile');
    }
    for (let i = 0; i < parts.length; i++) for (let j = i + 1; j < parts.length; j++) {
      const a = parts[i], b = parts[j];
      if (a.left < b.right - 1 && b.left < a.right - 1 && a.top < b.bottom - 1 && b.top < a.bottom - 1)
        problems.push(tile.dataset.letter + ' texts overlap');
    }
  }
  const last = document.querySelector('.kc-entry');
  if (last && box(last).bottom > window.innerHeight + 1) problems.push('the home screen runs off the bottom');
  const bt = box(banner.querySelector('.k-printer-banner-text'));
  if (!banner.hidden && (bt.right > box(banner).right + 1 || bt.bottom > box(banner).bottom + 1))
    problems.push('the banner text is cut off');
  return problems;
}"""


@pytest.mark.browser
def test_kiosk_home_banner_follows_the_printer_live(open_page, kiosk, shot):
    page = open_page(KIOSK_PORTRAIT, touch=True)
    page.goto("/kiosk")
    page.wait_for_selector('body[data-live="open"]', state="attached")
    banner = page.locator("#printer-banner")
    expect(banner).to_be_hidden()
    page.evaluate("window.__notReloaded = true")

    break_printer(kiosk, lambda: page.request.post("/api/v1/tickets", data={"service": "B"}).json())
    expect(banner).to_be_visible()
    expect(banner).to_contain_text(KIOSK_BANNER_ZH)
    expect(banner).to_contain_text(KIOSK_BANNER_EN)
    expect(page.locator('[data-waiting="B"]')).to_have_text("等候 1 人")
    shot(page, "kiosk-home-printer-down")
    assert page.evaluate(LAYOUT_JS) == []
    page.set_viewport_size(LANDSCAPE)
    shot(page, "kiosk-home-printer-down-landscape")
    assert page.evaluate(LAYOUT_JS) == []
    assert page.evaluate("window.__notReloaded") is True, "the kiosk reloaded instead of updating live"

    mend_printer(kiosk)
    expect(banner).to_be_hidden()
    assert page.evaluate(LAYOUT_JS) == []
    shot(page, "kiosk-home-printer-back-landscape")
    assert page.evaluate("window.__notReloaded") is True


@pytest.mark.browser
def test_kiosk_home_banner_on_page_load_in_english(open_page, kiosk, shot):
    page = open_page(KIOSK_PORTRAIT, touch=True)
    break_printer(kiosk, lambda: page.request.post("/api/v1/tickets", data={"service": "A"}).json())
    page.goto("/kiosk?lang=en")
    banner = page.locator("#printer-banner")
    expect(banner).to_be_visible()
    expect(banner.locator(".k-printer-banner-text")).to_have_text(KIOSK_BANNER_EN)
    expect(banner).not_to_contain_text("打印机")
    shot(page, "kiosk-home-printer-down-en")
    assert page.evaluate(LAYOUT_JS) == []
    page.set_viewport_size(LANDSCAPE)
    shot(page, "kiosk-home-printer-down-landscape-en")
    assert page.evaluate(LAYOUT_JS) == []


@pytest.mark.browser
def test_kiosk_ticket_screen_says_the_ticket_was_not_printed(open_page, kiosk, shot):
    page = open_page(KIOSK_PORTRAIT, touch=True)
    page.goto("/kiosk")
    kiosk.printer.set_offline(True)
    page.locator('.tile[data-letter="C"]').tap()
    status = page.locator("#r-print")
    expect(status).to_have_attribute("data-status", "queued")
    expect(status).to_contain_text("您的号票未打印")
    expect(status).to_contain_text("Your ticket was not printed")
    expect(status).to_contain_text("请记下号码或用手机拍下二维码")
    expect(page.locator("#r-number")).to_have_text("C001")
    expect(page.locator("#r-qr-text-unprinted")).to_be_visible()
    expect(page.locator("#r-qr-text")).to_be_hidden()
    page.wait_for_function("() => document.getElementById('r-qr').naturalWidth > 0")
    shot(page, "kiosk-ticket-not-printed")
    page.set_viewport_size(LANDSCAPE)
    shot(page, "kiosk-ticket-not-printed-landscape")

    # Back home the banner is already up; the next ticket says the same.
    page.locator("#r-done").tap()
    expect(page.locator("#printer-banner")).to_be_visible()
    page.goto("/kiosk?lang=en")
    page.locator('.tile[data-letter="D"]').tap()
    expect(status).to_have_attribute("data-status", "queued")
    expect(status).to_have_text("Your ticket was not printedPlease note your number or take a photo of the QR code "
                                "with your phone.")
    page.wait_for_function("() => document.getElementById('r-qr').naturalWidth > 0")
    shot(page, "kiosk-ticket-not-printed-landscape-en")
    page.set_viewport_size(KIOSK_PORTRAIT)
    shot(page, "kiosk-ticket-not-printed-en")

    # The printer back: a printed ticket says so and keeps the usual QR text.
    with page.expect_navigation():  # leaving an English ticket puts the kiosk back in Chinese
        page.locator("#r-done").tap()
    mend_printer(kiosk)
    page.locator('.tile[data-letter="E"]').tap()
    expect(status).to_have_attribute("data-status", "printed")
    expect(status).to_contain_text("请取走您的号票")
    expect(status).not_to_contain_text("未打印")
    expect(page.locator("#r-qr-text")).to_be_visible()
    expect(page.locator("#r-qr-text-unprinted")).to_be_hidden()


# -- the desk -------------------------------------------------------------------------------

@pytest.mark.browser
def test_desk_banner_names_the_reason_live(open_page, login, kiosk, shot):
    desk = open_page(LAPTOP)
    login(desk, "receptionist", "/desk?counter=1")
    expect(desk.locator("body")).to_have_attribute("data-loaded", "true")
    desk.wait_for_selector('body[data-live="open"]', state="attached")
    banner = desk.locator("#printer-banner")
    expect(banner).to_be_hidden()
    desk.evaluate("window.__notReloaded = true")

    break_printer(kiosk, lambda: desk.request.post("/api/v1/tickets", data={"service": "A"}).json())
    expect(banner).to_be_visible()
    expect(banner).to_have_attribute("data-level", "down")
    expect(desk.locator("#printer-banner-title")).to_have_text("打印机暂停服务：离线")
    expect(desk.locator("#printer-banner-help")).to_contain_text("号票照常发放，但不会打印")
    expect(desk.locator('#queue [data-ticket="A001"]')).to_be_visible()
    assert desk.evaluate("window.__notReloaded") is True
    shot(desk, "desk-printer-down-1366x768")

    # On page load, in English.
    desk.goto("/desk?counter=1&lang=en")
    expect(banner).to_be_visible()
    expect(desk.locator("#printer-banner-title")).to_have_text("Printer out of service: Offline")
    expect(desk.locator("#printer-banner-help")).to_have_text(
        "Tickets are still issued but not printed: ask residents to note their number or take a photo of the QR code.")
    expect(desk.locator("body")).to_have_attribute("data-loaded", "true")
    shot(desk, "desk-printer-down-1366x768-en")
    desk.set_viewport_size(LANDSCAPE)
    shot(desk, "desk-printer-down-en")

    desk.wait_for_selector('body[data-live="open"]', state="attached")
    desk.evaluate("window.__notReloaded = true")
    mend_printer(kiosk)
    expect(banner).to_be_hidden()
    assert desk.evaluate("window.__notReloaded") is True


@pytest.mark.browser
@pytest.mark.parametrize("reason, level, zh", [
    ("paper_out", "down", "打印机暂停服务：缺纸"),
    ("cover_open", "down", "打印机暂停服务：机盖打开"),
    ("not_responding", "down", "打印机暂停服务：无响应"),
    ("printer_error", "down", "打印机暂停服务：打印机故障"),
    ("paper_low", "low", "打印机：纸将尽"),
])
def test_desk_banner_words_for_each_reason(open_page, login, kiosk, shot, reason, level, zh):
    """Each reason the printer's status answer gives, played by the simulated printer through
    the real spooler: the desk names it in words, the kiosk tells residents only when tickets
    stop printing, and no driver text reaches either screen."""
    desk = open_page(LAPTOP)
    login(desk, "receptionist", "/desk?counter=1")
    desk.wait_for_selector('body[data-live="open"]', state="attached")
    kiosk_page = open_page(LANDSCAPE)
    kiosk_page.goto("/kiosk")
    kiosk_page.wait_for_selector('body[data-live="open"]', state="attached")

    kiosk.printer.set_fault(reason)
    ticket = desk.request.post("/api/v1/tickets", data={"service": "A"}).json()
    assert ticket["print"]["status"] == ("printed" if level == "low" else "queued")
    banner = desk.locator("#printer-banner")
    expect(banner).to_be_visible()
    expect(banner).to_have_attribute("data-level", level)
    expect(desk.locator("#printer-banner-title")).to_have_text(zh)
    expect(banner).not_to_contain_text("simulated")
    if level == "low":  # still printing: the kiosk's residents are not told anything
        expect(desk.locator("#printer-banner-help")).to_have_text("仍可打印，请尽快更换纸卷。")
        kiosk_page.wait_for_timeout(300)
        expect(kiosk_page.locator("#printer-banner")).to_be_hidden()
        shot(desk, "desk-printer-paper-low-1366x768")
    else:
        expect(kiosk_page.locator("#printer-banner")).to_be_visible()
        expect(kiosk_page.locator("#printer-banner")).not_to_contain_text("simulated")
        if reason == "paper_out":
            shot(desk, "desk-printer-paper-out-1366x768")

    kiosk.printer.set_fault(None)
    kiosk.services.retry_printer()
    expect(banner).to_be_hidden(timeout=10_000)
    expect(kiosk_page.locator("#printer-banner")).to_be_hidden()


def test_a_network_printer_on_a_closed_port_is_unavailable_until_it_answers(config, clock):
    """The real network back-end: nothing listens on its port (connection refused), then a
    printer comes up there (tests/peers.py) and the queued ticket prints."""
    from kiosk.runtime import Kiosk
    from kiosk.web import create_app
    from tests.peers import TcpPrinterStub, free_port

    config.printer.backend = "network"
    config.printer.host = "127.0.0.1"
    config.printer.port = free_port()
    config.printer.timeout_s = 1.0
    config.printer.wait_s = 2.0
    k = Kiosk(config, clock=clock)
    stub = None
    try:
        client = create_app(k.services, TESTING=True).test_client()
        wait_for(lambda: printer_fact(client) == OFFLINE)  # the spooler asks the printer at start
        ticket = client.post("/api/v1/tickets", json={"service": "A"}).get_json()
        assert ticket["print"]["status"] == "queued"
        for path in ("/api/v1/board", "/api/v1/services"):
            assert printer_fact(client, path) == OFFLINE
            body = client.get(path).get_data(as_text=True)
            assert "refused" not in body.lower() and "errno" not in body.lower()
            assert str(config.printer.port) not in body  # no address, no driver text

        stub = TcpPrinterStub("record", port=config.printer.port)
        k.services.retry_printer()
        assert stub.next_job(timeout=10.0)
        wait_for(lambda: printer_fact(client)["available"])
        assert printer_fact(client, "/api/v1/services")["available"] is True
    finally:
        k.stop()
        if stub is not None:
            stub.close()
