"""Printer fixtures: a sample ticket and fake printers on 127.0.0.1 that record what they get."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from kiosk.devices.ticket_layout import TicketPrint
from tests.peers import TcpPrinterStub, free_port

PAYLOAD = "T1:demo-site:20261128:A012:7f3a9c"


@pytest.fixture
def ticket() -> TicketPrint:
    return TicketPrint(
        number="A012", service_zh="咨询", service_en="Inquiry", people_ahead=3,
        estimated_wait_s=720, issued_at=datetime(2026, 11, 28, 9, 45, tzinfo=ZoneInfo("Asia/Shanghai")),
        site_name="示范物业服务中心", qr_payload=PAYLOAD, priority=True)


@pytest.fixture
def tcp_printer() -> Iterator[Callable[..., TcpPrinterStub]]:
    stubs: list[TcpPrinterStub] = []

    def start(behaviour: str = "record", rcvbuf: int | None = None) -> TcpPrinterStub:
        stub = TcpPrinterStub(behaviour, rcvbuf)
        stubs.append(stub)
        return stub

    yield start
    for stub in stubs:
        stub.close()


@pytest.fixture
def closed_port() -> int:
    """A loopback port where nothing listens."""
    return free_port()
