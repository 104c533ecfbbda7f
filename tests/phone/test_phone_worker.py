"""The real modem worker (pyserial) against a pseudo-terminal that plays the modem."""

from __future__ import annotations

import json
import threading

import httpx
import pytest

from kiosk.devices.callerid import format_block
from kiosk.events import CALL_INCOMING
from kiosk.runtime import Kiosk
from kiosk.web import create_app
from tests.conftest import LiveServer, bearer
from tests.peers import PtyModem
from tests.phone.conftest import RESIDENT, wait_for
from tests.web.test_sse import read_events


def ready(kiosk: Kiosk) -> dict:
    """The phone's health once the modem is ready (ok, and no longer starting)."""
    return wait_for(lambda: (h := kiosk.phone.health().to_dict())["status"] == "ok" and h["reason"] is None and h,
                    what="phone ok")


def calls(kiosk: Kiosk) -> list[dict]:
    return kiosk.db.query("SELECT * FROM calls ORDER BY id")


def test_handshake_then_call_is_stored_matched_and_sent_over_sse(phone_kiosk: Kiosk, modem: PtyModem):
    assert modem.wait_commands(2)[:2] == ["ATZ", "AT+VCID=1"]          # ATZ first, then caller ID on
    assert ready(phone_kiosk)["message"].startswith("modem ready")
    server = LiveServer(create_app(phone_kiosk.services, TESTING=True)).start()
    got: list = []
    try:
        with httpx.Client(base_url=server.url, timeout=30) as http:
            connected = threading.Event()

            def listen():
                with http.stream("GET", "/api/v1/staff/events", params={"types": CALL_INCOMING},
                                 headers=bearer(phone_kiosk.auth.create_token("receptionist"))) as r:
                    connected.set()
                    got.extend(read_events(r, 1))

            t = threading.Thread(target=listen, daemon=True)
            t.start()
            assert connected.wait(30)
            wait_for(lambda: server.server.stream_count >= 1, what="SSE subscribed")
            modem.send(format_block("013800138000", "ZHANG SAN", date="1127", time="0931"))
            t.join(30)
    finally:
        phone_kiosk.stopping.set()
        server.stop()
    assert got, "a call.incoming event arrived over SSE"
    _, name, data = got[0]
    row = calls(phone_kiosk)[0]
    assert name == CALL_INCOMING and data["id"] == row["id"] and data["matched"] is True
    assert "number" not in data and "name" not in data       # the event says a call came, the calls API says who
    assert (row["number"], row["number_norm"], row["name"], row["kind"], row["resident_id"], row["status"]) == \
        ("013800138000", "13800138000", "ZHANG SAN", "normal", RESIDENT["id"], "missed")
    assert row["modem_stamp"] == "1127 0931"
    assert row["started_at"] == "2026-11-27T01:30:00.000+00:00"          # the injected clock, stored in UTC
    out = phone_kiosk.db.query("SELECT key, kind, data FROM outbox WHERE kind = 'call'")
    assert [o["key"] for o in out] == [f"demo-site:call:{row['id']}:1"]
    record = json.loads(out[0]["data"])
    assert record["resident_id"] == RESIDENT["id"] and record["started_at"] == "2026-11-27T09:30:00+08:00"


def test_private_and_out_of_area_calls(phone_kiosk: Kiosk, modem: PtyModem):
    ready(phone_kiosk)
    modem.send(format_block("P", "P"))
    modem.send(format_block("O", "O"))
    wait_for(lambda: len(calls(phone_kiosk)) == 2, what="two calls")
    assert [(c["kind"], c["number"], c["resident_id"]) for c in calls(phone_kiosk)] == \
        [("private", "", None), ("out_of_area", "", None)]


def test_garbage_and_a_block_cut_in_half_do_not_stop_the_worker(phone_kiosk: Kiosk, modem: PtyModem):
    ready(phone_kiosk)
    modem.send(b"\x00\xff\xfe garbage \x1b[2J\r\n+++\r\nNMBR = ;DROP TABLE calls\r\n" + b"x" * 2000 + b"\r\n")
    modem.send(b"RING\r\n\r\nDATE = 1127\r\nTIME = 09")                    # cut in half ...
    modem.send(b"\r\n\r\nRING\r\n")                                          # ... the line goes on
    modem.send(format_block("13900000000", "LI SI"))
    wait_for(lambda: calls(phone_kiosk), what="the whole call")
    assert [(c["number"], c["name"]) for c in calls(phone_kiosk)] == [("13900000000", "LI SI")]
    assert phone_kiosk.phone.health().status == "ok"


def test_the_modem_going_away_and_coming_back_is_survived(phone_kiosk: Kiosk, modem: PtyModem):
    ready(phone_kiosk)
    modem.unplug()
    wait_for(lambda: phone_kiosk.phone.health().status == "down", what="down after unplug")
    assert "reconnecting" in phone_kiosk.phone.health().message or \
        "cannot open" in phone_kiosk.phone.health().message
    modem.replug()
    wait_for(lambda: phone_kiosk.phone.health().status == "ok", what="ok after replug")
    assert modem.wait_commands(2)[:2] == ["ATZ", "AT+VCID=1"]           # handshake again on the new pty
    assert phone_kiosk.phone.health().details["reconnects"] == 1
    modem.send(format_block("13800138000", "AGAIN"))
    wait_for(lambda: calls(phone_kiosk), what="the call after the replug")
    assert calls(phone_kiosk)[0]["resident_id"] == RESIDENT["id"]


def test_a_modem_that_never_says_ok_leaves_the_phone_down(config, clock, modem_path):
    peer = PtyModem(modem_path, silent=True)
    config.phone.port = modem_path
    config.phone.ok_timeout_s = 0.5
    config.phone.retry_max_s = 0.5
    k = Kiosk(config, clock=clock)
    try:
        wait_for(lambda: k.phone.health().status == "down", what="down")
        assert peer.wait_commands(1)[0] == "ATZ"
        health = create_app(k.services, TESTING=True).test_client().get("/healthz").get_json()
        assert health["status"] == "degraded"
        assert (health["devices"]["phone"]["status"], health["devices"]["phone"]["reason"]) == \
            ("down", "not_responding")
        assert health["devices"]["phone"]["message"] == \
            f"the modem on {modem_path} did not answer OK to ATZ within 0.5 s"
        assert not k.db.query("SELECT * FROM calls")
    finally:
        k.stop()
        peer.unplug()


def test_a_missing_port_is_down_not_a_crash(config, clock, tmp_path):
    config.phone.port = str(tmp_path / "no-such-modem")
    config.phone.retry_max_s = 0.5
    k = Kiosk(config, clock=clock)
    try:
        wait_for(lambda: k.phone.health().status == "down", what="down")
        assert "cannot open" in k.phone.health().message
        assert k.phone.health().reason == "disconnected"
        assert create_app(k.services, TESTING=True).test_client().get("/api/v1/services").status_code == 200
    finally:
        k.stop()


@pytest.mark.parametrize("fault", ["unplugged", "silent"])
def test_the_simulated_modem_rings_and_fails_on_demand(config, clock, fault):
    config.phone.port = "sim"
    config.phone.ok_timeout_s = 0.5
    config.phone.retry_max_s = 0.5
    k = Kiosk(config, clock=clock)
    try:
        ready(k)
        k.phone.simulate_call("13800138000", "SIM")
        wait_for(lambda: calls(k), what="simulated call")
        assert calls(k)[0]["number"] == "13800138000"
        assert k.phone.sim.commands[:2] == ["ATZ", "AT+VCID=1"]
        setattr(k.phone.sim, fault, True)
        if fault == "silent":
            k.phone.sim.unplugged = True                # force a reopen, which meets the silent modem
            wait_for(lambda: k.phone.health().status == "down", what="down")
            k.phone.sim.unplugged = False
        wait_for(lambda: k.phone.health().status == "down" and
                 ("OK" in k.phone.health().message) == (fault == "silent"), what=f"down by {fault}")
        setattr(k.phone.sim, fault, False)
        wait_for(lambda: k.phone.health().status == "ok", what="ok again")
        k.phone.simulate_call("P")
        wait_for(lambda: len(calls(k)) == 2, what="second simulated call")
    finally:
        k.stop()


def test_a_modem_that_refuses_caller_id_says_which_command_failed(config, clock, modem_path):
    peer = PtyModem(modem_path, refuse=("AT+VCID=1",))
    config.phone.port = modem_path
    config.phone.retry_max_s = 0.5
    k = Kiosk(config, clock=clock)
    try:
        wait_for(lambda: k.phone.health().status == "down", what="down")
        detail = k.phone.health().message
        assert "answered ERROR to AT+VCID=1" in detail and "AT#CID=1" in detail
        assert k.phone.health().reason == "init_rejected"
        assert peer.wait_commands(2)[:2] == ["ATZ", "AT+VCID=1"]
    finally:
        k.stop()
        peer.unplug()


def test_what_the_line_kept_before_opening_is_flushed(config, clock, modem_path):
    peer = PtyModem(modem_path)
    peer.send(format_block("13700000000", "STALE"))      # written while nobody had the port open
    config.phone.port = modem_path
    k = Kiosk(config, clock=clock)
    try:
        ready(k)
        peer.send(format_block("13800138000", "FRESH"))
        wait_for(lambda: calls(k), what="the fresh call")
        assert [c["name"] for c in calls(k)] == ["FRESH"]
    finally:
        k.stop()
        peer.unplug()
