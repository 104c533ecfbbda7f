"""The camera worker against video files generated here (OpenCV reading them exactly as
it reads a camera), zbar's UTF-8 decoding, and a serial scanner on a pty — all through
the real runtime: capture → decode → check-in with a snapshot."""

from __future__ import annotations

import hashlib
import os
import time
import tty

import cv2
import numpy as np
import pytest

from kiosk.devices.qr_decode import decode_gray_pyzbar, find_qr_payloads
from kiosk.devices.sim_video import frame_with_qr, write_video
from kiosk.runtime import Kiosk
from tests.checkin.conftest import RESIDENTS_CSV

WAIT_S = 60  # generous for a loaded machine; a passing test never waits it out


def wait_for(predicate, timeout: float = WAIT_S, interval: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError("condition not met in time")


def card_for(config, clock) -> str:
    """Import the residents and mint 张女士's card with the site key (a runtime without workers)."""
    k = Kiosk(config, clock=clock, start_workers=False)
    try:
        k.visits.import_residents(RESIDENTS_CSV)
        return k.visits.issue_card("r-zhang", 30)
    finally:
        k.stop()


@pytest.mark.parametrize("text", ["窗口", "café", "您好，张女士 3-2-501", "KR1:demo-site:r-1:2000000000:abc"])
def test_zbar_binary_mode_returns_exact_utf8(text):
    frame = frame_with_qr(640, 480, text)
    assert decode_gray_pyzbar(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)) == [text]
    from PIL import Image
    assert find_qr_payloads(Image.fromarray(frame[:, :, ::-1])) == [text]  # the receipt decoder shares it


def test_video_with_a_card_from_second_2_gives_exactly_one_check_in(tmp_path, config, clock):
    card = card_for(config, clock)
    video = write_video(tmp_path / "cam.avi", card, seconds=4, fps=10, qr_from_s=2.0, qr_until_s=None)
    config.camera.source = str(video)
    config.camera.fps = 40  # plays the 4 s file in about 1 s
    k = Kiosk(config, clock=clock)
    try:
        wait_for(lambda: k.db.scalar("SELECT COUNT(*) FROM visits"))
        wait_for(lambda: k.checkin.camera.frames >= 3 * 40)  # the file looped at least twice more
        rows = k.db.query("SELECT * FROM visits")
        assert len(rows) == 1
        visit = rows[0]
        assert (visit["resident_id"], visit["method"], visit["source"]) == ("r-zhang", "qr", "camera")
        path = k.visits.snapshot_file(visit)
        data = path.read_bytes()
        assert hashlib.sha256(data).hexdigest() == visit["snapshot_sha256"]
        image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        assert image.shape == (480, 640, 3)
        assert decode_gray_pyzbar(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)) == [card]  # the frame it was read in
        assert str(path).startswith(str(config.data_dir / "snapshots" / "2026-11-27"))
        assert k.health()["devices"]["camera"]["status"] == "ok"
    finally:
        k.stop()


def test_forged_card_on_camera_leaves_no_visit(tmp_path, config, clock, recorded_events):
    card_for(config, clock)
    forged = "KR1:demo-site:r-zhang:2000000000:AAAAAAAAAAAAAAAAAAAAAA"
    video = write_video(tmp_path / "cam.avi", forged, seconds=2, fps=10, qr_from_s=0.5, qr_until_s=None)
    config.camera.source = str(video)
    config.camera.fps = 40
    k = Kiosk(config, clock=clock)
    recorded_events.watch(k.bus)
    try:
        events = wait_for(lambda: recorded_events.data("qr.scanned"))
        assert events[0]["error"]["code"] == "token_forged"
        assert k.db.scalar("SELECT COUNT(*) FROM visits") == 0
    finally:
        k.stop()


def test_camera_vanishing_mid_run_does_not_stop_check_in(tmp_path, config, clock, residents_csv=RESIDENTS_CSV):
    from kiosk.web import create_app

    video = write_video(tmp_path / "cam.avi", None, seconds=1, fps=10)
    config.camera.source = str(video)
    config.camera.fps = 40
    k = Kiosk(config, clock=clock)
    try:
        wait_for(lambda: k.checkin.camera.frames > 5)
        video.unlink()  # unplugged: the file ends and cannot be reopened
        wait_for(lambda: k.health()["devices"]["camera"]["status"] == "down")
        client = create_app(k.services, TESTING=True).test_client()
        health = client.get("/healthz").json
        assert health["status"] == "degraded" and "not found" in health["devices"]["camera"]["last_error"]
        assert health["devices"]["camera"]["reason"] == "disconnected"
        assert "not found" in health["devices"]["camera"]["message"]
        resp = client.post("/api/v1/checkins", json={"method": "manual", "visitor": {
            "name": "访客", "phone": "13900001111", "unit": "1-1-101"}})
        assert resp.status_code == 201
        time.sleep(2.5)  # the last frame is now too old to be anyone's snapshot
        resp = client.post("/api/v1/checkins", json={"method": "manual", "visitor": {
            "name": "访客二", "phone": "13900001111", "unit": "1-1-101"}})
        assert resp.status_code == 201
        assert k.db.scalar("SELECT snapshot_path FROM visits ORDER BY id DESC LIMIT 1") is None
        # back again: the worker reopens it by itself
        write_video(tmp_path / "cam.avi", None, seconds=1, fps=10)
        wait_for(lambda: k.health()["devices"]["camera"]["status"] == "ok")
        assert k.checkin.camera.reconnects >= 1
        assert k.health()["devices"]["camera"]["reason"] is None
    finally:
        k.stop()


def test_check_in_from_the_kiosk_takes_a_snapshot_while_the_camera_runs(tmp_path, config, clock):
    from kiosk.web import create_app

    config.camera.source = str(write_video(tmp_path / "cam.avi", None, seconds=1, fps=10))
    config.camera.fps = 20
    k = Kiosk(config, clock=clock)
    try:
        wait_for(lambda: k.checkin.camera.frames > 2)
        client = create_app(k.services, TESTING=True).test_client()
        resp = client.post("/api/v1/checkins", json={"method": "manual", "visitor": {
            "name": "访客", "phone": "13900001111", "unit": "1-1-101"}})
        assert resp.status_code == 201
        visit = k.db.query_one("SELECT snapshot_path, snapshot_sha256 FROM visits")
        assert visit["snapshot_path"] and visit["snapshot_sha256"]
    finally:
        k.stop()


def test_serial_scanner_on_a_pty_checks_a_resident_in(config, clock):
    card = card_for(config, clock)
    master, slave = os.openpty()
    tty.setraw(master)
    config.scanner.port = os.ttyname(slave)
    k = Kiosk(config, clock=clock)
    try:
        wait_for(lambda: (k.checkin.scanner.health().status, k.checkin.scanner.health().reason) == ("ok", None))
        os.write(master, card.encode() + b"\r\n")
        wait_for(lambda: k.db.scalar("SELECT COUNT(*) FROM visits"))
        visit = k.db.query_one("SELECT resident_id, source FROM visits")
        assert visit == {"resident_id": "r-zhang", "source": "scanner"}
        assert k.health()["devices"]["camera"]["scanner"]["codes"] == 1
        assert k.health()["devices"]["camera"]["scanner"]["status"] == "ok"
    finally:
        k.stop()
        os.close(master)
        os.close(slave)


def test_missing_scanner_port_reconnects_without_crashing(config, clock, tmp_path):
    config.scanner.port = str(tmp_path / "no-such-tty")
    k = Kiosk(config, clock=clock)
    try:
        wait_for(lambda: k.checkin.scanner.health().status == "down")
        assert k.checkin.scanner.health().reason == "disconnected"
        assert k.checkin.scanner.last_error
        health = k.health()
        assert health["devices"]["camera"]["scanner"]["status"] == "down"
        assert health["status"] == "degraded"  # the scanner is a device too
    finally:
        k.stop()


def test_sim_camera_offline_mode_shows_in_health(config, clock):
    config.camera.source = "sim:offline"
    k = Kiosk(config, clock=clock)
    try:
        wait_for(lambda: k.health()["devices"]["camera"]["status"] == "down")
        camera = k.health()["devices"]["camera"]
        assert camera["reason"] == "disconnected" and "offline" in camera["last_error"]
    finally:
        k.stop()


def test_shipped_demo_video_is_small_and_shows_a_card_after_2_s():
    from kiosk.devices.camera import shipped_demo_video

    path = shipped_demo_video()
    assert path.stat().st_size < 1_000_000
    cap = cv2.VideoCapture(str(path))
    fps = cap.get(cv2.CAP_PROP_FPS)
    first_seen = None
    i = 0
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        if first_seen is None and decode_gray_pyzbar(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)):
            first_seen = i / fps
        i += 1
    cap.release()
    assert first_seen is not None and 1.5 <= first_seen <= 2.5
