"""Fixtures for the desk phone: a pty that plays the modem, a kiosk that listens on it,
and a resident to match."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from kiosk.clock import FixedClock
from kiosk.config import Config
from kiosk.phone_numbers import normalise
from kiosk.runtime import Kiosk
from tests.peers import PtyModem

RESIDENT = {"id": "R-0001", "name": "张三", "unit": "3-1-502", "phone": "+86 138 0013 8000"}


def wait_for(predicate: Callable[[], object], timeout: float = 30.0, what: str = "condition") -> object:
    """Poll until `predicate()` is truthy; generous timeout (the machine is shared), not a timing assert."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def add_resident(kiosk: Kiosk, resident: dict = RESIDENT) -> None:
    with kiosk.db.write() as conn:
        conn.execute(
            "INSERT INTO residents (id, name, unit, phone, phone_norm, active, source, updated_at) "
            "VALUES (?, ?, ?, ?, ?, 1, 'local', ?)",
            (resident["id"], resident["name"], resident["unit"], resident["phone"], normalise(resident["phone"]),
             "2026-11-27T00:00:00.000+00:00"))


@pytest.fixture
def modem_path(tmp_path: Path) -> str:
    return str(tmp_path / "kiosk-modem")


@pytest.fixture
def modem(modem_path: str) -> Iterator[PtyModem]:
    peer = PtyModem(modem_path)
    yield peer
    peer.unplug()


@pytest.fixture
def phone_kiosk(config: Config, clock: FixedClock, modem: PtyModem) -> Iterator[Kiosk]:
    config.phone.port = modem.path
    config.phone.ok_timeout_s = 2.0
    config.phone.retry_max_s = 0.5
    k = Kiosk(config, clock=clock)
    add_resident(k)
    yield k
    k.stop()
