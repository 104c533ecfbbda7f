"""One health report for every device: the DeviceHealth type, the starting grace period
(a camera or modem that hangs while opening shows degraded), each device's mapping and
the one rule that makes the service degraded."""

from __future__ import annotations

import json
import threading
import time
from datetime import datetime

import numpy as np
import pytest

from kiosk.devices.camera import Camera
from kiosk.devices.health import STARTING_GRACE_S, DeviceHealth, overall, starting
from kiosk.devices.phone import PhoneOff, PhoneWorker, SimModem
from kiosk.devices.scanner import SerialScanner
from kiosk.runtime import Kiosk
from tests.phone.conftest import wait_for

WAIT_S = 30.0


# -- the type and the rule --------------------------------------------------------------
def test_to_dict_puts_status_reason_and_message_before_the_details():
    health = DeviceHealth("down", "offline", "printer unplugged", {"pending": 2, "last_error": "EPIPE"})
    assert list(health.to_dict()) == ["status", "reason", "message", "pending", "last_error"]
    assert json.loads(json.dumps(health.to_dict())) == {"status": "down", "reason": "offline",
                                                        "message": "printer unplugged", "pending": 2,
                                                        "last_error": "EPIPE"}
    assert DeviceHealth("ok").to_dict() == {"status": "ok", "reason": None, "message": None}


@pytest.mark.parametrize("word", ["offline", "error", "reconnecting", "starting", "OK"])
def test_only_the_four_statuses_exist(word):
    with pytest.raises(ValueError, match="not one of ok, degraded, down, off"):
        DeviceHealth(word)  # type: ignore[arg-type]


@pytest.mark.parametrize(("statuses", "expected"), [
    ((), "ok"),
    (("ok", "ok"), "ok"),
    (("ok", "off", "off"), "ok"),          # a device that is not configured is no fault
    (("ok", "degraded"), "degraded"),
    (("off", "down"), "degraded"),
    (("down", "degraded", "ok"), "degraded"),
])
def test_any_degraded_or_down_device_degrades_the_service(statuses, expected):
    assert overall(DeviceHealth(s) for s in statuses) == expected


def test_starting_is_ok_within_the_grace_and_degraded_after_it():
    assert 10 <= STARTING_GRACE_S <= 15
    early = starting(100.0, 100.0 + STARTING_GRACE_S, what="the camera", details={"frames": 0})
    assert (early.status, early.reason, early.details) == ("ok", "starting", {"frames": 0})
    late = starting(100.0, 100.0 + STARTING_GRACE_S + 1, what="the camera")
    assert (late.status, late.reason) == ("degraded", "starting_too_long")
    assert late.message == f"the camera is still starting after {STARTING_GRACE_S + 1:.0f} s"
    assert starting(0.0, 3.0, grace_s=2.0).status == "degraded"


# -- the camera -------------------------------------------------------------------------
class HangingSource:
    """A frame source whose open() hangs until released, like an RTSP camera that never answers."""

    name = "hanging"

    def __init__(self) -> None:
        self.release = threading.Event()

    def open(self) -> None:
        self.release.wait(WAIT_S)

    def read(self):
        time.sleep(0.01)
        return np.zeros((48, 64, 3), dtype=np.uint8)

    def close(self) -> None:
        self.release.set()


def camera(source, *, decode=lambda gray: [], grace_s: float = STARTING_GRACE_S) -> Camera:
    return Camera(source, decode, lambda *a: None, now=datetime.now, fps=50, starting_grace_s=grace_s)


def test_a_camera_stuck_starting_past_the_grace_is_degraded_then_ok_once_it_opens():
    source = HangingSource()
    cam = camera(source, grace_s=0.3)
    cam.start()
    try:
        first = cam.health()
        assert (first.status, first.reason) == ("ok", "starting")
        stuck = wait_for(lambda: (h := cam.health()).status == "degraded" and h)
        assert stuck.reason == "starting_too_long" and "camera" in stuck.message
        assert stuck.details["source"] == "hanging" and stuck.details["frames"] == 0
        source.release.set()
        running = wait_for(lambda: (h := cam.health()).reason is None and h)
        assert running.status == "ok" and running.details["frames"] > 0
    finally:
        cam.stop()


def test_the_runtime_reports_a_stuck_camera_as_degraded(config, clock):
    """Through Kiosk.health(): the per-device words are gone, the one rule sees `starting`."""
    k = Kiosk(config, clock=clock, start_workers=False)
    try:
        source = HangingSource()
        k.checkin.camera = camera(source, grace_s=0.2)
        k.checkin.camera.start()
        health = wait_for(lambda: (h := k.health())["status"] == "degraded" and h)
        assert health["devices"]["camera"]["status"] == "degraded"
        assert health["devices"]["camera"]["reason"] == "starting_too_long"
        source.release.set()
        k.checkin.camera.stop()
    finally:
        k.stop()


def test_camera_mapping_off_and_no_decoder():
    off = camera(None).health()
    assert (off.status, off.reason) == ("off", "not_configured")
    no_decoder = camera(HangingSource(), decode=None).health()
    assert (no_decoder.status, no_decoder.reason) == ("degraded", "no_decoder")


# -- the phone and the scanner ----------------------------------------------------------
def test_a_modem_that_hangs_while_opening_is_degraded_after_the_grace():
    gate, modem = threading.Event(), SimModem()

    def opener():
        gate.wait(WAIT_S)
        return modem.open()

    phone = PhoneWorker("hanging", on_call=lambda call: None, opener=opener, starting_grace_s=0.3)
    phone.start()
    try:
        assert (phone.health().status, phone.health().reason) == ("ok", "starting")
        stuck = wait_for(lambda: (h := phone.health()).status == "degraded" and h)
        assert stuck.reason == "starting_too_long" and stuck.details["port"] == "hanging"
        gate.set()
        ready = wait_for(lambda: (h := phone.health()).reason is None and h)
        assert ready.status == "ok" and ready.message == "modem ready on hanging"
    finally:
        gate.set()
        phone.stop()


def test_no_modem_is_off_not_a_fault():
    health = PhoneOff().health()
    assert (health.status, health.reason) == ("off", "not_configured")
    assert health.to_dict()["simulated"] is False


def test_a_scanner_that_never_started_is_degraded_after_the_grace(tmp_path):
    scanner = SerialScanner(str(tmp_path / "no-such-tty"), lambda code: None, starting_grace_s=0.0)
    time.sleep(0.01)
    health = scanner.health()
    assert (health.status, health.reason) == ("degraded", "starting_too_long")
    assert health.details == {"port": str(tmp_path / "no-such-tty"), "codes": 0, "last_error": None}


# -- the whole service ------------------------------------------------------------------
def test_devices_that_are_off_leave_the_service_ok(config, clock):
    config.phone.port = ""
    k = Kiosk(config, clock=clock)
    try:
        health = k.health()
        assert health["status"] == "ok"
        assert {name: (d["status"], d["reason"]) for name, d in health["devices"].items()} == {
            "printer": ("ok", None), "camera": ("off", "not_configured"), "phone": ("off", "not_configured"),
            "tts": ("off", "not_configured")}
        assert health["db"]["status"] == "ok" and "backlog" in health["sync"]
    finally:
        k.stop()


def test_a_device_that_is_down_degrades_the_service(config, clock):
    config.camera.source = "sim:offline"
    k = Kiosk(config, clock=clock)
    try:
        health = wait_for(lambda: (h := k.health())["devices"]["camera"]["status"] == "down" and h)
        assert health["status"] == "degraded"
        assert health["devices"]["camera"]["reason"] == "disconnected"
        assert health["devices"]["printer"]["status"] == "ok"
    finally:
        k.stop()
