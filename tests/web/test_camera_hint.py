"""The live hint under "hold your QR card up to the camera" on the box's own kiosk screen,
driven by a video file playing the camera (OpenCV reads it as it reads a camera): a scene
with no code, a card whose code is in view but unreadable, a code that is not ours, then
the file gone as an unplugged camera. The hint follows each through `camera.status` and
the scan's `qr.scanned`; a screen that is not the box's own shows none."""

from __future__ import annotations

from pathlib import Path

import pytest

from kiosk.devices.sim_video import frame_with_qr, frame_with_unreadable_qr, scene
from tests.web.conftest import KIOSK_PORTRAIT

expect = pytest.importorskip("playwright.sync_api").expect

FPS = 10
SIZE = (480, 360)
SEGMENT_S = 1.5
FOREIGN = "HELLO-THIS-IS-NOT-OURS-42"


def write_camera_video(path: Path) -> Path:
    """Nothing, an unreadable code, a foreign code: SEGMENT_S seconds each (MJPG .avi)."""
    import cv2

    width, height = SIZE
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), FPS, SIZE)
    frames = int(SEGMENT_S * FPS)
    for i in range(3 * frames):
        t = i / FPS
        part = i // frames
        if part == 0:
            frame = scene(width, height, t)
        elif part == 1:
            frame = frame_with_unreadable_qr(width, height, FOREIGN, t=t)
        else:
            frame = frame_with_qr(width, height, FOREIGN, t=t)
        writer.write(frame)
    writer.release()
    return path


@pytest.fixture
def config(config, tmp_path):
    config.camera.source = str(write_camera_video(tmp_path / "camera.avi"))
    config.camera.fps = FPS
    return config


@pytest.mark.browser
def test_the_hint_follows_what_the_camera_sees(open_page, kiosk, config, screenshot_dir):
    page = open_page(KIOSK_PORTRAIT, touch=True)
    page.goto("/kiosk")
    page.wait_for_selector('body[data-live="open"]', state="attached")
    hint = page.locator("#ci-scan-state")
    expect(hint).to_be_visible()
    folder = screenshot_dir / "camera-hint"
    folder.mkdir(exist_ok=True)

    expect(hint).to_have_attribute("data-state", "looking", timeout=20_000)
    expect(hint).to_have_text("正在识别二维码…")
    expect(hint).to_have_attribute("data-state", "unreadable", timeout=20_000)
    expect(hint).to_have_text("无法识别：请拿稳并靠近一点")
    page.screenshot(path=str(folder / "unreadable.png"))
    expect(hint).to_have_attribute("data-state", "refused", timeout=20_000)  # read, and not ours
    expect(page.locator("#ci-message")).to_be_visible()
    page.screenshot(path=str(folder / "refused.png"))

    Path(config.camera.source).unlink()  # unplugged: the file ends and cannot be reopened
    expect(hint).to_have_attribute("data-state", "offline", timeout=20_000)
    expect(hint).to_contain_text("摄像头")
    page.keyboard.press("Escape")
    page.screenshot(path=str(folder / "offline.png"))


def test_a_screen_that_is_not_the_box_own_shows_no_camera_hint(client, kiosk):
    kiosk.config.server.kiosk_addresses = []
    html = client.get("/kiosk").get_data(as_text=True)
    assert 'id="ci-scan-state" data-state="off"' in html
