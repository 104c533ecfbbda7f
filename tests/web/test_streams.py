"""The two live event streams through the real server (kiosk/web/asgi.py) on loopback:
who gets what, the per-address cap, and the end of streams whose client is gone."""

from __future__ import annotations

import json
import re
import socket
import threading
import time

import httpx
import pytest

from tests.checkin.conftest import RESIDENTS_CSV
from tests.conftest import bearer

MARK_NAME, MARK_PHONE, MARK_UNIT, MARK_TEXT = "马克思名", "13912345678", "MARK-UNIT-9", "MARK-CASE-TEXT"
MARKERS = (MARK_NAME, MARK_PHONE, MARK_UNIT, MARK_TEXT, "r-mark")


class Listener:
    """A stream read on a thread: every event block as (id, name, data) in `events`."""

    def __init__(self, url: str, path: str, headers: dict | None = None, types: str | None = None) -> None:
        self.events: list = []
        self.raw: list[str] = []
        self.status: int | None = None
        self.open = threading.Event()
        self.client = httpx.Client(base_url=url, timeout=30)
        params = {"types": types} if types else None

        def run() -> None:
            try:
                with self.client.stream("GET", path, headers=headers, params=params) as r:
                    self.status = r.status_code
                    self.open.set()
                    if r.status_code == 200:
                        self._read(r)
            except httpx.HTTPError:
                pass
            finally:
                self.open.set()

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()
        assert self.open.wait(10)

    def _read(self, response) -> None:
        name, data, eid = None, [], None
        for line in response.iter_lines():
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].strip())
            elif line.startswith("id:"):
                eid = int(line[3:].strip())
            elif line == "" and name:
                self.events.append((eid, name, json.loads("\n".join(data))))
                name, data = None, []

    def names(self) -> set[str]:
        return {name for _, name, _ in self.events}

    def close(self) -> None:
        self.client.close()


def wait_for(check, timeout: float = 10.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def seed(kiosk, card: str) -> None:
    """A check-in, a case with personal data, a ticket called: every kind of event once."""
    kiosk.visits.scan(card, source="camera")
    kiosk.cases.create(type="complaint", description=MARK_TEXT, channel="counter", contact_name=MARK_NAME,
                       contact_phone=MARK_PHONE, unit=MARK_UNIT)
    kiosk.queue.issue("A")
    kiosk.queue.call_next("1", "test")


@pytest.fixture
def marked_card(kiosk) -> str:
    kiosk.visits.import_residents(RESIDENTS_CSV + f"r-mark,{MARK_NAME},{MARK_UNIT},{MARK_PHONE},\n")
    return kiosk.visits.issue_card("r-mark", 30)


@pytest.fixture
def hall(config):
    """No address counts as the box's own kiosk: the test client is anyone in the hall."""
    config.server.kiosk_addresses = []
    return config


def test_the_public_stream_carries_queue_facts_only(hall, live_server, kiosk, marked_card):
    anyone = Listener(live_server.url, "/api/v1/events")
    wait_for(lambda: live_server.server.stream_count == 1, what="stream open")
    seed(kiosk, marked_card)
    wait_for(lambda: "ticket.called" in anyone.names(), what="ticket.called")
    time.sleep(0.3)
    anyone.close()
    assert anyone.names() <= {"ticket.issued", "ticket.called", "ticket.updated", "printer.status"}
    assert not any(marker in repr(anyone.events) for marker in MARKERS)
    called = next(data for _, name, data in anyone.events if name == "ticket.called")
    assert called["number"] == "A001" and called["counter"] == "1" and "visit_id" not in called


def test_the_staff_stream_needs_a_login_and_filters_by_role(hall, live_server, kiosk, tokens, marked_card):
    with httpx.Client(base_url=live_server.url, timeout=10) as http:
        assert http.get("/api/v1/staff/events").status_code == 401
        assert http.get("/api/v1/staff/events", headers=bearer("kst_wrong")).status_code == 401
    listeners = {role: Listener(live_server.url, "/api/v1/staff/events", headers=bearer(tokens[role]))
                 for role in ("receptionist", "security", "manager")}
    wait_for(lambda: live_server.server.stream_count == 3, what="streams open")
    seed(kiosk, marked_card)
    for listener in listeners.values():
        wait_for(lambda listener=listener: "ticket.called" in listener.names(), what="ticket.called")
    time.sleep(0.3)
    for listener in listeners.values():
        listener.close()
    reception, security, manager = (listeners[r] for r in ("receptionist", "security", "manager"))
    assert "case.created" in reception.names() and MARK_TEXT in repr(reception.events)
    assert not {"visit.checked_in", "qr.scanned"} & reception.names()  # no visit snapshots at the counter
    assert {"visit.checked_in", "qr.scanned", "case.created"} <= security.names()
    case_seen_by_security = next(data for _, name, data in security.events if name == "case.created")
    assert not any(marker in repr(case_seen_by_security) for marker in MARKERS)
    assert {"visit.checked_in", "qr.scanned", "case.created", "ticket.called"} <= manager.names()
    assert MARK_TEXT in repr(manager.events) and MARK_NAME in repr(manager.events)


def test_the_box_kiosk_gets_the_masked_greeting_of_its_own_camera_scan(live_server, kiosk, marked_card):
    """127.0.0.1 is in server.kiosk_addresses by default: the box's own kiosk screen."""
    screen = Listener(live_server.url, "/api/v1/events", types="qr.scanned,ticket.called")
    wait_for(lambda: live_server.server.stream_count == 1, what="stream open")
    seed(kiosk, marked_card)
    wait_for(lambda: "ticket.called" in screen.names(), what="ticket.called")
    screen.close()
    greeting = next(data for _, name, data in screen.events if name == "qr.scanned")
    assert greeting["ok"] and greeting["action"] == "checked_in"
    assert greeting["visit"]["name"] == "马**" and set(greeting["visit"]) == {"id", "name"}
    assert not any(marker in repr(screen.events) for marker in MARKERS)


def open_stream(port: int, path: str = "/api/v1/events") -> tuple[socket.socket, bytes]:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    head = b""
    while b"\r\n\r\n" not in head:
        head += sock.recv(4096)
    return sock, head


def test_an_address_may_hold_ten_streams_then_429(live_server, kiosk):
    port = live_server.server.port
    held = [open_stream(port) for _ in range(kiosk.config.server.streams_per_address)]
    assert all(head.startswith(b"HTTP/1.1 200") for _, head in held)
    with httpx.Client(base_url=live_server.url, timeout=10) as http:
        refused = http.get("/api/v1/events")
        assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
        assert refused.json()["error"]["code"] == "too_many_streams"
        assert http.get("/api/v1/board").status_code == 200  # other requests are not capped
    held.pop()[0].close()
    wait_for(lambda: live_server.server.stream_count == 9, what="a slot freed")
    sock, head = open_stream(port)
    assert head.startswith(b"HTTP/1.1 200")
    for s, _ in [*held, (sock, head)]:
        s.close()


def test_streams_of_a_client_that_hung_up_are_closed(live_server, kiosk):
    port = live_server.server.port
    socks = [open_stream(port)[0] for _ in range(5)]
    wait_for(lambda: live_server.server.stream_count == 5, what="streams open")
    for s in socks:
        s.close()
    wait_for(lambda: live_server.server.stream_count == 0, timeout=5, what="streams closed within 5 s")


def test_a_stream_that_stops_reading_is_ended(live_server, kiosk):
    """A client that reads nothing more (a frozen tab): its writes stall, it is dropped."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", live_server.server.port))
    sock.sendall(b"GET /api/v1/events HTTP/1.1\r\nHost: x\r\n\r\n")
    wait_for(lambda: live_server.server.stream_count == 1, what="stream open")
    filler = {"number": "A001", "service_name_en": "x" * 2000}
    deadline = time.monotonic() + 20
    while live_server.server.stream_count and time.monotonic() < deadline:
        for _ in range(50):
            kiosk.bus.publish("ticket.updated", filler)
        time.sleep(0.05)
    assert live_server.server.stream_count == 0
    sock.close()


def test_the_event_loop_serves_every_stream_without_holding_worker_threads(live_server, kiosk):
    """More open streams than worker threads (16 here), and ordinary requests still answer."""
    port = live_server.server.port
    socks = [open_stream(port)[0] for _ in range(10)]
    more = []
    for n in range(2, 4):  # other loopback addresses: the per-address cap is 10
        for _ in range(5):
            s = socket.create_connection(("127.0.0.1", port), source_address=(f"127.0.0.{n}", 0))
            s.sendall(b"GET /api/v1/events HTTP/1.1\r\nHost: x\r\n\r\n")
            more.append(s)
    wait_for(lambda: live_server.server.stream_count == 20, what="20 streams open")
    with httpx.Client(base_url=live_server.url, timeout=5) as http:
        for _ in range(20):
            assert http.get("/api/v1/board").status_code == 200
    for s in socks + more:
        s.close()


def _logged_in(url: str, kiosk, username: str) -> httpx.Client:
    kiosk.services.auth.add_user(username, "stream-pass-1", "receptionist")
    http = httpx.Client(base_url=url, timeout=10)
    page = http.get("/login").text
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
    answer = http.post("/login", data={"username": username, "password": "stream-pass-1", "csrf_token": csrf})
    assert answer.status_code == 302, answer.text
    return http


@pytest.mark.parametrize("end", ["logout", "disable"])
def test_a_staff_stream_ends_with_its_login(live_server, kiosk, end):
    """An open staff stream is not a way round logging out: it ends within a few seconds
    of the session (logout, or the user disabled; idle and lifetime end it the same way)."""
    http = _logged_in(live_server.url, kiosk, f"desk-{end}")
    ended = threading.Event()

    def read() -> None:
        with http.stream("GET", "/api/v1/staff/events", timeout=30) as r:
            assert r.status_code == 200
            for _ in r.iter_lines():
                pass
        ended.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    wait_for(lambda: live_server.server.stream_count == 1, what="stream open")
    time.sleep(6)  # past one re-check: a valid login keeps its stream
    assert not ended.is_set()
    if end == "logout":
        csrf = re.search(r'name="csrf-token" content="([^"]+)"', http.get("/desk").text).group(1)
        assert http.post("/logout", data={"csrf_token": csrf}).status_code in (302, 303)
    else:
        kiosk.services.auth.set_active(f"desk-{end}", False)
    assert ended.wait(15), "the staff stream outlived its login"
    http.close()
