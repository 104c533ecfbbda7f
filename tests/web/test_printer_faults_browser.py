"""A real printer fault reaches the screens: the network back-end against the TCP printer
emulator (tests/peers.py) plays hang, reset, paper end and cover open; the ticket answers
`queued`, nothing comes out, and the kiosk home and the desk console show their banners
live in Chromium, then drop them once the fault clears and the queued ticket prints once."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from kiosk.config import Config
from tests.peers import TcpPrinterStub
from tests.web.conftest import KIOSK_PORTRAIT, LAPTOP

expect = pytest.importorskip("playwright.sync_api").expect

KIOSK_BANNER_ZH = "打印机暂停服务：取号后请记下号码或用手机拍下二维码"


@pytest.fixture
def printer_peer() -> Iterator[TcpPrinterStub]:
    stub = TcpPrinterStub("record")
    yield stub
    stub.close()


@pytest.fixture
def config(config: Config, printer_peer: TcpPrinterStub) -> Config:
    config.printer.backend = "network"
    config.printer.host = "127.0.0.1"
    config.printer.port = printer_peer.port
    config.printer.status = "dle_eot"
    config.printer.status_timeout_s = 1.0
    config.printer.timeout_s = 1.0
    config.printer.wait_s = 3.0
    return config


@pytest.mark.browser
@pytest.mark.parametrize("fault, desk_title", [
    ("hang", "打印机暂停服务：无响应"),
    ("reset", "打印机暂停服务：离线"),
    ("paper_end", "打印机暂停服务：缺纸"),
    ("cover_open", "打印机暂停服务：机盖打开"),
])
def test_a_printer_fault_shows_on_the_kiosk_and_the_desk_until_it_clears(
        open_page, login, kiosk, printer_peer, fault, desk_title):
    home = open_page(KIOSK_PORTRAIT, touch=True)
    home.goto("/kiosk")
    home.wait_for_selector('body[data-live="open"]', state="attached")
    desk = open_page(LAPTOP)
    login(desk, "receptionist", "/desk?counter=1")
    desk.wait_for_selector('body[data-live="open"]', state="attached")
    kiosk_banner, desk_banner = home.locator("#printer-banner"), desk.locator("#printer-banner")
    expect(kiosk_banner).to_be_hidden()
    expect(desk_banner).to_be_hidden()

    printer_peer.set_fault(fault)
    ticket = home.request.post("/api/v1/tickets", data={"service": "A"}).json()
    assert ticket["print"]["status"] == "queued"
    expect(kiosk_banner).to_be_visible()
    expect(kiosk_banner).to_contain_text(KIOSK_BANNER_ZH)
    expect(desk_banner).to_be_visible()
    expect(desk.locator("#printer-banner-title")).to_have_text(desk_title)
    assert printer_peer.printed == []

    printer_peer.set_fault(None)
    expect(kiosk_banner).to_be_hidden(timeout=10_000)
    expect(desk_banner).to_be_hidden(timeout=10_000)
    deadline = time.monotonic() + 5
    while not printer_peer.printed and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)  # and nothing more
    assert len(printer_peer.printed) == 1
    assert ticket["number"].encode() in printer_peer.printed[0]
