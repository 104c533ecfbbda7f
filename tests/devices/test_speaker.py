"""Announcement texts, and the speaker worker with the real espeak-ng (wav mode) and the
real pyttsx3 (speaker mode, played by a fake `aplay` that keeps what it is given)."""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
import threading
import wave
from pathlib import Path

import pytest

from kiosk.config import TtsConfig
from kiosk.devices.announcement import (
    Announcement,
    announcement_en,
    announcement_zh,
    call_announcement,
    greeting_announcement,
    greeting_en,
    greeting_zh,
    spoken_en,
    spoken_zh,
)
from kiosk.devices.speaker import Speaker, SpeakerError, WavBackend, create_speaker, resolve_voice

WAIT_S = 60.0
WAV_NAME = re.compile(r"^\d{8}-\d{6}-\d{6}-(?P<key>[A-Za-z0-9_-]+)\.wav$")


def wav_speaker(directory: Path, **kwargs) -> Speaker:
    tts = {k: kwargs.pop(k) for k in ("voice_zh", "voice_en", "enabled") if k in kwargs}
    speaker = create_speaker(TtsConfig(output=f"wav:{directory}", **tts), data_dir=directory, **kwargs)
    speaker.start()
    return speaker


def wavs(directory: Path) -> list[Path]:
    return sorted(directory.glob("*.wav")) if directory.exists() else []


def duration_s(path: Path) -> float:
    with wave.open(str(path), "rb") as w:
        return w.getnframes() / w.getframerate()


def cli_frames(text: str, voice: str, tmp_path: Path) -> bytes:
    out = tmp_path / "cli.wav"
    subprocess.run(["espeak-ng", "-v", voice, "-s", "150", "-w", str(out), text], check=True)
    with wave.open(str(out), "rb") as w:
        return w.readframes(w.getnframes())


@pytest.fixture
def stopper():
    speakers: list[Speaker] = []
    yield speakers.append
    for speaker in speakers:
        speaker.stop()


def test_call_texts_a012_counter_2() -> None:
    assert announcement_zh("A012", "2") == "请 A 零 一 二 号 到 2 号窗口办理"
    assert announcement_en("A012", "2") == "Number A 0 1 2, please go to counter 2."
    assert spoken_zh("A012", "2") == "请 A 零 一 二 号 到 2 号窗口办理"
    assert spoken_en("A012", "2") == "Number A, 0 1 2, please go to counter 2."


def test_call_texts_b100_counter_1() -> None:
    assert announcement_zh("B100", "1") == "请 B 一 零 零 号 到 1 号窗口办理"
    assert announcement_en("B100", "1") == "Number B 1 0 0, please go to counter 1."
    assert call_announcement("B100", "1") == Announcement(
        key="B100-1", zh="请 B 一 零 零 号 到 1 号窗口办理", en="Number B, 1 0 0, please go to counter 1.")


def test_every_digit_and_long_numbers() -> None:
    assert announcement_zh("C1234567890", "12") == "请 C 一 二 三 四 五 六 七 八 九 零 号 到 12 号窗口办理"
    assert announcement_en("a7", "3") == "Number A 7, please go to counter 3."


@pytest.mark.parametrize("number", ["", "A-12", "A０１２", "A 12", "号1"])
def test_bad_ticket_numbers_are_refused(number: str) -> None:
    with pytest.raises(ValueError):
        announcement_zh(number, "1")


def test_greetings() -> None:
    assert greeting_zh("张女士") == "您好，张女士"
    assert greeting_en("Ms Zhang") == "Hello, Ms Zhang"
    assert greeting_announcement("张女士", "Ms Zhang").texts() == [("zh", "您好，张女士"), ("en", "Hello, Ms Zhang")]
    assert greeting_announcement("张女士").en == "Hello."


def test_announcement_key_cannot_leave_the_folder() -> None:
    assert Announcement(key="../../etc/x y", zh="a", en="").key == "etc_x_y"
    assert Announcement(key="", zh="", en="").texts() == []


VOICE_FILES = ["gmw/en", "gmw/en-US", "sit/cmn", "sit/cmn-Latn-pinyin"]


@pytest.mark.parametrize("voice, resolved", [
    ("sit/cmn-latn-pinyin", "sit/cmn-Latn-pinyin"), ("cmn-latn-pinyin", "sit/cmn-Latn-pinyin"),
    ("cmn", "sit/cmn"), ("en", "gmw/en"), ("EN-us", "gmw/en-US"), ("en+f3", "gmw/en+f3"),
])
def test_voice_spellings_resolve_to_the_listed_file(voice: str, resolved: str) -> None:
    assert resolve_voice(voice, VOICE_FILES) == resolved


@pytest.mark.parametrize("voice", ["cmn-latn-pinyn", "no-such-voice", "zh", "sit/en"])
def test_unlisted_voices_are_refused_not_guessed(voice: str) -> None:
    with pytest.raises(SpeakerError, match="no voice"):
        resolve_voice(voice, VOICE_FILES)


def test_wav_of_one_announcement_through_the_worker(tmp_path: Path, stopper) -> None:
    out = tmp_path / "announcements"
    speaker = wav_speaker(out)
    stopper(speaker)

    speaker.announce(call_announcement("A012", "2"))

    assert speaker.wait_finished(1, WAIT_S)
    [path] = wavs(out)
    assert WAV_NAME.match(path.name)["key"] == "A012-2"
    assert path.read_bytes()[:4] == b"RIFF" and path.read_bytes()[8:12] == b"WAVE"
    with wave.open(str(path), "rb") as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, 22050)
        frames = w.readframes(w.getnframes())
    assert 2.0 < duration_s(path) < 15.0
    zh = cli_frames("请 A 零 一 二 号 到 2 号窗口办理", "sit/cmn-latn-pinyin", tmp_path)
    en = cli_frames("Number A, 0 1 2, please go to counter 2.", "en", tmp_path)
    assert frames == zh + en
    assert list(out.glob(".*")) == []
    health = speaker.health().to_dict()
    assert health["status"] == "ok" and health["spoken"] == 1 and health["last_error"] is None
    assert health["output"] == f"wav:{out}"
    assert health["voices"] == {"zh": "sit/cmn-Latn-pinyin", "en": "gmw/en"}


def test_short_voice_spelling_works_too(tmp_path: Path, stopper) -> None:
    speaker = wav_speaker(tmp_path, voice_zh="cmn-Latn-pinyin")
    stopper(speaker)
    speaker.announce(call_announcement("A001", "1"))
    assert speaker.wait_finished(1, WAIT_S)
    assert speaker.health().to_dict()["status"] == "ok" and len(wavs(tmp_path)) == 1


def test_announce_returns_before_the_wav_exists(tmp_path: Path, stopper) -> None:
    """The worker is held inside the first announcement's on_done; the second
    announce() still returns, and its WAV only appears once the worker is let go."""
    worker_held, release = threading.Event(), threading.Event()

    def on_done(announcement: Announcement, reason: str | None) -> None:
        if announcement.key == "A001-1":
            worker_held.set()
            release.wait(WAIT_S)

    speaker = wav_speaker(tmp_path, on_done=on_done)
    stopper(speaker)
    speaker.announce(call_announcement("A001", "1"))
    assert worker_held.wait(WAIT_S)

    speaker.announce(call_announcement("A002", "1"))

    assert [WAV_NAME.match(p.name)["key"] for p in wavs(tmp_path)] == ["A001-1"]
    assert speaker.health().to_dict()["pending"] == 1
    release.set()
    assert speaker.wait_finished(2, WAIT_S)
    assert [WAV_NAME.match(p.name)["key"] for p in wavs(tmp_path)] == ["A001-1", "A002-1"]


def test_twenty_concurrent_announcements_all_written(tmp_path: Path, stopper) -> None:
    speaker = wav_speaker(tmp_path)
    stopper(speaker)
    start = threading.Barrier(20)

    def call(i: int) -> None:
        start.wait()
        speaker.announce(call_announcement(f"A{i:03d}", str(i % 3 + 1)))

    threads = [threading.Thread(target=call, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert speaker.wait_finished(20, WAIT_S)
    keys = sorted(WAV_NAME.match(p.name)["key"] for p in wavs(tmp_path))
    assert keys == sorted(f"A{i:03d}-{i % 3 + 1}" for i in range(20))
    health = speaker.health().to_dict()
    assert (health["spoken"], health["failed"], health["dropped"]) == (20, 0, 0)


def test_full_queue_drops_the_oldest(tmp_path: Path, stopper) -> None:
    worker_held, release = threading.Event(), threading.Event()
    outcomes: dict[str, str | None] = {}

    def on_done(announcement: Announcement, reason: str | None) -> None:
        outcomes[announcement.key] = reason
        if announcement.key == "A000-1":
            worker_held.set()
            release.wait(WAIT_S)

    speaker = wav_speaker(tmp_path, on_done=on_done, maxsize=2)
    stopper(speaker)
    speaker.announce(call_announcement("A000", "1"))
    assert worker_held.wait(WAIT_S)
    for i in range(1, 5):
        speaker.announce(call_announcement(f"A{i:03d}", "1"))
    release.set()

    assert speaker.wait_finished(5, WAIT_S)
    assert outcomes == {"A000-1": None, "A001-1": "dropped: queue full", "A002-1": "dropped: queue full",
                        "A003-1": None, "A004-1": None}
    assert speaker.health().to_dict()["dropped"] == 2 and speaker.health().to_dict()["status"] == "ok"


@pytest.mark.parametrize("tts", [{"enabled": False, "output": "wav:{dir}"}, {"output": "off"}])
def test_off_writes_nothing(tmp_path: Path, tts: dict) -> None:
    out = tmp_path / "announcements"
    cfg = TtsConfig(**{k: v.format(dir=out) if isinstance(v, str) else v for k, v in tts.items()})
    speaker = create_speaker(cfg, data_dir=tmp_path)
    speaker.start()

    speaker.announce(call_announcement("A012", "2"))

    assert speaker.wait_finished(1, WAIT_S)
    assert speaker.stop()
    assert not out.exists()
    assert speaker.health().to_dict() == {
        "status": "off", "reason": "not_configured", "message": "announcements are off", "output": "off",
        "voices": {}, "spoken": 0, "failed": 0, "dropped": 0, "discarded": 1, "pending": 0, "last_error": None,
        "last_error_at": None}


def test_unwritable_folder_fails_one_announcement_and_the_worker_goes_on(tmp_path: Path, stopper) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where the folder's parent should be")
    out = blocker / "announcements"
    speaker = wav_speaker(out)
    stopper(speaker)

    speaker.announce(call_announcement("A001", "1"))
    assert speaker.wait_finished(1, WAIT_S)
    health = speaker.health().to_dict()
    assert (health["status"], health["reason"]) == ("degraded", "announcement_failed") and health["failed"] == 1
    assert "NotADirectoryError" in health["last_error"] or "FileExistsError" in health["last_error"]

    blocker.unlink()
    speaker.announce(call_announcement("A002", "1"))
    assert speaker.wait_finished(2, WAIT_S)
    assert [WAV_NAME.match(p.name)["key"] for p in wavs(out)] == ["A002-1"]
    health = speaker.health().to_dict()
    assert health["status"] == "ok" and health["spoken"] == 1 and health["last_error"]


@pytest.mark.parametrize("voice", ["sit/no-such-voice", "cmn-latn-pinyn"])
def test_missing_voice_is_reported_and_the_worker_stays_alive(tmp_path: Path, stopper, voice: str) -> None:
    """`cmn-latn-pinyn` would be read by the espeak-ng CLI with the plain cmn voice."""
    speaker = wav_speaker(tmp_path, voice_zh=voice)
    stopper(speaker)

    for i in range(2):
        speaker.announce(call_announcement(f"A00{i}", "1"))
        assert speaker.wait_finished(i + 1, WAIT_S)

    health = speaker.health().to_dict()
    assert (health["status"], health["reason"]) == ("down", "not_ready") and health["failed"] == 2
    assert f"no voice {voice!r}" in health["last_error"] and f"no voice {voice!r}" in health["message"]
    assert wavs(tmp_path) == []


def test_an_announcement_with_nothing_to_say_fails_alone(tmp_path: Path, stopper) -> None:
    speaker = wav_speaker(tmp_path)
    stopper(speaker)
    speaker.announce(Announcement(key="empty", zh=" ", en=""))
    speaker.announce(call_announcement("A003", "2"))

    assert speaker.wait_finished(2, WAIT_S)
    health = speaker.health().to_dict()
    assert (health["spoken"], health["failed"], health["status"]) == (1, 1, "ok")
    assert "nothing to say" in health["last_error"]
    assert [WAV_NAME.match(p.name)["key"] for p in wavs(tmp_path)] == ["A003-2"]


def test_stop_discards_queued_and_later_announcements(tmp_path: Path) -> None:
    speaker = create_speaker(TtsConfig(output=f"wav:{tmp_path}"), data_dir=tmp_path)
    speaker.announce(call_announcement("A001", "1"))
    assert speaker.stop()
    speaker.announce(call_announcement("A002", "1"))
    assert speaker.health().to_dict()["discarded"] == 2 and wavs(tmp_path) == []


@pytest.fixture
def fake_aplay(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An `aplay` first on PATH that keeps a copy of every file it is asked to play."""
    played = tmp_path / "played"
    played.mkdir()
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "aplay"
    script.write_text(
        "#!/bin/sh\n"
        f"n=$(ls '{played}' | wc -l)\n"
        'for arg in "$@"; do\n'
        f'  if [ -f "$arg" ]; then cp "$arg" \'{played}\'/$(printf %03d "$n").wav; exit 0; fi\n'
        "done\n"
        "cat >/dev/null\n")
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return played


def test_speaker_mode_says_mandarin_then_english(fake_aplay: Path, tmp_path: Path, stopper) -> None:
    """Two announcements in a row: pyttsx3 synthesises on espeak's own thread, so a
    sentence that is not waited for gets cut short, mixed into the next one or said at
    the old rate. Each audible sentence must last as long as the CLI's rendering of it
    (the samples differ slightly after the first sentence: espeak carries some state
    over). An empty play, before the backend says a silent sentence again, is inaudible."""
    speaker = create_speaker(TtsConfig(output="speaker"), data_dir=tmp_path)
    stopper(speaker)
    speaker.start()

    speaker.announce(call_announcement("A012", "2"))
    speaker.announce(call_announcement("B100", "1"))

    assert speaker.wait_finished(2, WAIT_S)
    assert speaker.health().to_dict()["status"] == "ok", speaker.health().to_dict()
    played = [p for p in sorted(fake_aplay.glob("*.wav")) if duration_s(p) > 0]
    expected = [("sit/cmn-latn-pinyin", "请 A 零 一 二 号 到 2 号窗口办理"),
                ("en", "Number A, 0 1 2, please go to counter 2."),
                ("sit/cmn-latn-pinyin", "请 B 一 零 零 号 到 1 号窗口办理"),
                ("en", "Number B, 1 0 0, please go to counter 1.")]
    assert len(played) == len(expected)
    for path, (voice, text) in zip(played, expected, strict=False):
        cli_s = len(cli_frames(text, voice, tmp_path)) / 2 / 22050
        assert abs(duration_s(path) - cli_s) < 0.05, (path.name, text)
    with wave.open(str(played[0]), "rb") as w:
        assert w.readframes(w.getnframes()) == cli_frames(expected[0][1], expected[0][0], tmp_path)


def test_speaker_mode_without_aplay_writes_wavs_and_says_so_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                 stopper, caplog: pytest.LogCaptureFixture) -> None:
    """A fresh machine without alsa-utils: one log line, then each announcement as a WAV
    file under the data directory."""
    bin_dir = tmp_path / "bin"  # espeak-ng and nothing else: no aplay
    bin_dir.mkdir()
    (bin_dir / "espeak-ng").symlink_to(shutil.which("espeak-ng"))
    monkeypatch.setenv("PATH", str(bin_dir))
    data_dir = tmp_path / "var"
    with caplog.at_level(logging.INFO, logger="kiosk.devices.speaker"):
        speaker = create_speaker(TtsConfig(output="speaker"), data_dir=data_dir)
        stopper(speaker)
        speaker.start()
        for i in range(2):
            speaker.announce(call_announcement(f"A00{i}", "1"))
        assert speaker.wait_finished(2, WAIT_S)

    lines = [r.getMessage() for r in caplog.records]
    assert lines == [f"aplay not found (install alsa-utils): announcements are written as WAV files to "
                     f"{data_dir / 'announcements'} instead"]
    assert [WAV_NAME.match(p.name)["key"] for p in wavs(data_dir / "announcements")] == ["A000-1", "A001-1"]
    assert duration_s(wavs(data_dir / "announcements")[-1]) > 1.0
    health = speaker.health().to_dict()
    assert (health["status"], health["reason"], health["spoken"]) == ("degraded", "no_audio_output", 2)
    assert "aplay not found" in health["message"]


def test_wav_files_kept_are_bounded_the_oldest_go(tmp_path: Path, stopper) -> None:
    speaker = Speaker(WavBackend(tmp_path, "sit/cmn-latn-pinyin", "en", 150, keep=2))
    stopper(speaker)
    speaker.start()
    for i in range(3):
        speaker.announce(call_announcement(f"A00{i}", "1"))
    assert speaker.wait_finished(3, WAIT_S)
    assert [WAV_NAME.match(p.name)["key"] for p in wavs(tmp_path)] == ["A001-1", "A002-1"]
