"""Shared fixtures: a temporary database and data directory per test, a settable clock,
the real runtime and app, staff credentials, the real web server on loopback, and the
events a test's kiosk published."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from kiosk.clock import FixedClock
from kiosk.config import Config
from kiosk.events import Event, EventBus
from kiosk.runtime import Kiosk
from kiosk.web import create_app
from kiosk.web.asgi import WebServer, listen
from kiosk.web.context import EXTENSION
from tests.peers import free_port

TZ = ZoneInfo("Asia/Shanghai")
PASSWORD = "correct-horse-9"


@pytest.fixture
def config(tmp_path: Path) -> Config:
    cfg = Config()
    cfg.database.path = str(tmp_path / "var" / "kiosk.db")
    cfg.tts.output = "off"
    cfg.printer.wait_s = 5.0
    cfg.camera.source = ""  # camera tests switch it on (tests/checkin)
    return cfg


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 11, 27, 9, 30, tzinfo=TZ))


@pytest.fixture
def kiosk(config: Config, clock: FixedClock) -> Iterator[Kiosk]:
    k = Kiosk(config, clock=clock)
    yield k
    k.stop()


@pytest.fixture
def network_config(config):
    """The network printer back-end on a free loopback port where nothing listens yet."""
    config.printer.backend = "network"
    config.printer.port = free_port()
    config.printer.timeout_s = 1.0
    config.printer.wait_s = 5.0
    return config


@pytest.fixture
def make_kiosk(clock):
    """Kiosks built by the test from its own config, stopped after it."""
    made = []

    def make(cfg, **kwargs):
        k = Kiosk(cfg, clock=clock, **kwargs)
        made.append(k)
        return k

    yield make
    for k in made:
        k.stop()


class RecordedEvents:
    """The events published on the watched buses, in order."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def watch(self, bus: EventBus) -> RecordedEvents:
        bus.add_listener(self.events.append)
        return self

    def named(self, *names: str) -> list[Event]:
        """The events with these names (all of them without names), in order."""
        return [event for event in self.events if not names or event.name in names]

    def names(self, *names: str) -> list[str]:
        return [event.name for event in self.named(*names)]

    def data(self, *names: str) -> list[dict[str, Any]]:
        return [event.data for event in self.named(*names)]

    def __len__(self) -> int:
        return len(self.events)


@pytest.fixture
def recorded_events(request: pytest.FixtureRequest) -> RecordedEvents:
    """Every event published on the test's kiosk bus from now on: the `kiosk` fixture's
    when the test uses it; a test that builds its own Kiosk calls `.watch(k.bus)`."""
    recorder = RecordedEvents()
    if "kiosk" in request.fixturenames:
        recorder.watch(request.getfixturevalue("kiosk").bus)
    return recorder


@pytest.fixture
def app(kiosk: Kiosk):
    return create_app(kiosk.services, TESTING=True)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def tokens(kiosk: Kiosk) -> dict[str, str]:
    """A bearer token per role."""
    return {role: kiosk.auth.create_token(role, f"test-{role}")
            for role in ("receptionist", "specialist", "security", "manager")}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def staff(kiosk: Kiosk) -> dict[str, str]:
    """A user per role, all with PASSWORD."""
    users = {"receptionist": "reception1", "specialist": "specialist1", "security": "guard1", "manager": "boss"}
    for role, username in users.items():
        kiosk.auth.add_user(username, PASSWORD, role)
    return users


class LiveServer:
    """The app served on 127.0.0.1 in a thread by the server `kiosk serve` runs
    (kiosk/web/asgi.py: uvicorn, Flask on worker threads, streams on the event loop)."""

    def __init__(self, app, threads: int = 16) -> None:
        services = app.extensions[EXTENSION]
        self.sock = listen("127.0.0.1", 0)
        self.server = WebServer(app, services.bus, self.sock, threads=threads,
                                streams_per_address=services.config.server.streams_per_address)
        self.url = f"http://127.0.0.1:{self.server.port}"
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> LiveServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        if self.thread.is_alive():
            self.server.stop()
            self.thread.join(10)
        self.sock.close()


@pytest.fixture
def live_server(app, kiosk: Kiosk) -> Iterator[LiveServer]:
    server = LiveServer(app).start()
    yield server
    kiosk.stopping.set()
    server.stop()
