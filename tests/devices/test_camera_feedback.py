"""The camera hint's states from what the frames showed (kiosk/devices/camera_feedback.py)."""

from __future__ import annotations

from kiosk.devices import camera_feedback as fb


def test_the_hint_follows_the_frames_and_holds_what_it_saw():
    f = fb.Feedback(hold_s=3.0, state=fb.OFFLINE)
    assert f.saw(fb.SAW_NOTHING, 0.0) is None  # no frames count before the camera opened
    assert f.connected(True) == fb.LOOKING
    assert f.saw(fb.SAW_NOTHING, 1.0) is None
    assert f.saw(fb.SAW_UNREADABLE, 2.0) == fb.UNREADABLE
    assert f.saw(fb.SAW_NOTHING, 4.9) is None  # held
    assert f.saw(fb.SAW_CODE, 5.0) == fb.READ
    assert f.saw(fb.SAW_UNREADABLE, 6.0) is None  # the card leaving view blurs: still "read"
    assert f.saw(fb.SAW_NOTHING, 7.9) is None
    assert f.saw(fb.SAW_NOTHING, 9.0) == fb.LOOKING
    assert f.connected(False) == fb.OFFLINE
    assert f.connected(False) is None  # said once however often the reconnect fails
    assert f.saw(fb.SAW_CODE, 10.0) is None
    assert f.connected(True) == fb.LOOKING


def test_a_camera_without_a_decoder_stays_offline():
    f = fb.Feedback(state=fb.OFFLINE)
    assert f.connected(False) is None
    assert f.saw(fb.SAW_NOTHING, 1.0) is None
    assert f.state == fb.OFFLINE
