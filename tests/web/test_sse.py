"""Server-Sent Events through the real web server (kiosk/web/asgi.py) on loopback."""

import json
import threading

import httpx

from tests.conftest import bearer


def read_events(response, stop_after: int):
    """Parse `event:`/`data:` blocks from a streaming response."""
    events, name, data, eid = [], None, [], None
    for line in response.iter_lines():
        if line.startswith("event:"):
            name = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].strip())
        elif line.startswith("id:"):
            eid = int(line[3:].strip())
        elif line == "" and name:
            events.append((eid, name, json.loads("\n".join(data))))
            name, data = None, []
            if len(events) >= stop_after:
                return events
    return events


def test_sse_client_sees_ticket_called_after_call_next(live_server, tokens):
    with httpx.Client(base_url=live_server.url, timeout=10) as http:
        ticket = http.post("/api/v1/tickets", json={"service": "A"}).json()
        connected = threading.Event()
        got: list = []

        def listen():
            with http.stream("GET", "/api/v1/events", params={"types": "ticket.called"}) as r:
                assert r.headers["content-type"].startswith("text/event-stream")
                connected.set()
                got.extend(read_events(r, 1))

        t = threading.Thread(target=listen)
        t.start()
        assert connected.wait(10)
        r = http.post("/api/v1/counters/2/call-next", headers=bearer(tokens["receptionist"]))
        assert r.status_code == 200
        t.join(10)
    assert got, "an event arrived"
    _, name, data = got[0]
    assert name == "ticket.called"
    assert data["number"] == ticket["number"] and data["counter"] == "2"


def test_sse_resumes_from_last_event_id(live_server, kiosk):
    first = kiosk.bus.publish("ticket.issued", {"number": "A001"})
    kiosk.bus.publish("ticket.issued", {"number": "A002"})
    kiosk.bus.publish("ticket.issued", {"number": "A003"})
    with httpx.Client(base_url=live_server.url, timeout=10) as http, \
            http.stream("GET", "/api/v1/events", headers={"Last-Event-ID": str(first.id)}) as r:
        events = read_events(r, 2)
    assert [e[2]["number"] for e in events] == ["A002", "A003"]
