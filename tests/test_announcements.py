"""A call at the desk is spoken: Mandarin then English, as a WAV per announcement."""

import wave

from kiosk.runtime import Kiosk
from kiosk.web import create_app
from tests.conftest import bearer


def test_call_next_produces_a_wav_of_plausible_length(config, clock, tmp_path):
    wav_dir = tmp_path / "announcements"
    config.tts.output = f"wav:{wav_dir}"
    k = Kiosk(config, clock=clock)
    try:
        client = create_app(k.services).test_client()
        token = k.auth.create_token("receptionist")
        client.post("/api/v1/tickets", json={"service": "A"})
        r = client.post("/api/v1/counters/2/call-next", headers=bearer(token))
        assert r.status_code == 200, "the request returned before speech was needed"
        assert k.speaker.wait_finished(1, timeout=60)
        assert k.health()["devices"]["tts"]["status"] == "ok"
    finally:
        k.stop()
    files = sorted(wav_dir.glob("*.wav"))
    assert len(files) == 1 and files[0].name.endswith("A001-2.wav")
    with wave.open(str(files[0])) as w:
        seconds = w.getnframes() / w.getframerate()
    assert 3.0 < seconds < 20.0, seconds
