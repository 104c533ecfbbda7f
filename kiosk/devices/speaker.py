"""Spoken announcements: one worker thread, fed by a bounded queue, owns the back-end.

pyttsx3 and the espeak library are not thread-safe (HARDWARE-NOTES.md), so only the
worker touches them; `announce()` only enqueues, so the request that caused an
announcement never waits for speech. A full queue drops its oldest announcement: a
stale call is worth less than the newest one.

Back-ends (`create_speaker` picks one from `TtsConfig`):
- off: announcements are accepted and discarded, no thread;
- wav:<dir>: one WAV per announcement, rendered with the espeak-ng command line;
- speaker: pyttsx3's espeak driver, which plays through `aplay`. Without `aplay` (a fresh
  machine before `make run` installed alsa-utils) it says so in one log line and writes
  WAV files into the data directory's announcements/ instead, keeping the newest
  `WAV_FALLBACK_KEEP`; health is then degraded (`no_audio_output`).
"""

from __future__ import annotations

import contextlib
import enum
import io
import logging
import os
import queue
import shutil
import subprocess
import tempfile
import threading
import time
import wave
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from kiosk.config import TtsConfig
from kiosk.devices.announcement import Announcement
from kiosk.devices.health import NOT_CONFIGURED, DeviceHealth

log = logging.getLogger(__name__)

OnDone = Callable[[Announcement, "str | None"], None]

class _Stop(enum.Enum):
    """The worker's stop sentinel (an enum so that `item is _STOP` narrows the queue item)."""
    STOP = 0


_STOP = _Stop.STOP
_Item = tuple[Announcement, datetime] | _Stop
_SUBPROCESS_TIMEOUT_S = 30.0
_UTTERANCE_TIMEOUT_S = 60.0


NO_AUDIO_OUTPUT = "no_audio_output"
#: How many WAV files the fallback for a missing `aplay` keeps (the oldest go first).
WAV_FALLBACK_KEEP = 200


class SpeakerError(RuntimeError):
    """An announcement could not be produced; the message says why, for health(). A
    `reason` marks a failure that every announcement will meet (e.g. no audio output)."""

    def __init__(self, message: str, reason: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason


class Backend(Protocol):
    output: str
    voices: dict[str, str]

    def prepare(self) -> None:
        """Check the tools, device and voices; raise SpeakerError with the reason."""

    def speak(self, announcement: Announcement, at: datetime) -> None:
        """Say or render one announcement; raise on failure."""


def resolve_voice(voice: str, files: Iterable[str]) -> str:
    """The voice file `voice` names, spelt as espeak-ng lists it.

    `voice` is a file path (`sit/cmn-latn-pinyin`) or a file name (`cmn-latn-pinyin`),
    in any case, optionally with `+variant`. Only listed voices are accepted because the
    espeak-ng CLI silently falls back to a language prefix for unknown names without a
    folder: a typo like `cmn-latn-pinyn` gets the plain `cmn` voice ("hao four") and
    `no-such-voice` gets Norwegian. The library refuses them, but only reports it to
    pyttsx3's error callbacks.
    """
    base, plus, variant = voice.strip().partition("+")
    files = list(files)
    matchers: tuple[Callable[[str], bool], ...] = (
        lambda f: f.lower() == base.lower(),
        lambda f: f.lower().rsplit("/", 1)[-1] == base.lower())
    for matches in matchers:
        found = next((f for f in files if matches(f)), None)
        if found:
            return f"{found}{plus}{variant}"
    raise SpeakerError(f"espeak-ng has no voice {voice!r} (e.g. sit/cmn-latn-pinyin, en)")


class WavBackend:
    """One WAV per announcement in `directory`, Mandarin then English.

    Each sentence is rendered by the espeak-ng CLI (`-w`) and the
    sentences are joined with `wave`. The file appears atomically (tmp + rename) as
    `<YYYYmmdd-HHMMSS-ffffff>-<key>.wav`, stamped with the time of the `announce()`.
    With `keep`, only the newest `keep` files stay.
    """

    def __init__(self, directory: str | os.PathLike[str], voice_zh: str, voice_en: str, rate: int,
                 keep: int | None = None) -> None:
        self.directory = Path(directory)
        self.keep = keep
        self.output = f"wav:{directory}"
        self.configured = {"zh": voice_zh, "en": voice_en}
        self.voices: dict[str, str] = {}
        self.rate = rate

    def _espeak(self) -> str:
        path = shutil.which("espeak-ng")
        if path is None:
            raise SpeakerError("espeak-ng not found (install the espeak-ng package)")
        return path

    def prepare(self) -> None:
        if len(self.voices) < len(self.configured):
            done = subprocess.run([self._espeak(), "--voices"], capture_output=True, text=True,
                                  timeout=_SUBPROCESS_TIMEOUT_S, check=True)
            files = [row.split()[4] for row in done.stdout.splitlines()[1:] if len(row.split()) > 4]
            self.voices = {lang: resolve_voice(v, files) for lang, v in self.configured.items()}

    def _render(self, text: str, voice: str, out: Path) -> tuple[Any, bytes]:
        cmd = [self._espeak(), "-v", voice, "-s", str(self.rate), "-b", "1", "-w", str(out), "--stdin"]
        done = subprocess.run(cmd, input=text.encode("utf-8"), capture_output=True,
                              timeout=_SUBPROCESS_TIMEOUT_S, check=False)
        reason = done.stderr.decode("utf-8", "replace").strip()
        if done.returncode != 0 or not out.exists():
            raise SpeakerError(f"espeak-ng -v {voice} failed: {reason or f'exit {done.returncode}'}")
        with wave.open(str(out), "rb") as part:
            return part.getparams(), part.readframes(part.getnframes())

    def _free_path(self, at: datetime, key: str) -> Path:
        while True:
            path = self.directory / f"{at:%Y%m%d-%H%M%S-%f}-{key}.wav"
            if not path.exists():
                return path
            at += timedelta(microseconds=1)

    def speak(self, announcement: Announcement, at: datetime) -> None:
        self.prepare()
        texts = announcement.texts()
        if not texts:
            raise SpeakerError(f"announcement {announcement.key!r} has nothing to say")
        with tempfile.TemporaryDirectory(prefix="kiosk-tts-") as tmp:
            parts = [self._render(text, self.voices[lang], Path(tmp) / f"{i}.wav")
                     for i, (lang, text) in enumerate(texts)]
        params = parts[0][0]
        if any(p[:3] != params[:3] for p, _ in parts):
            raise SpeakerError(f"espeak-ng sentences differ in sample format: {[p[:3] for p, _ in parts]}")
        self.directory.mkdir(parents=True, exist_ok=True)
        final = self._free_path(at, announcement.key)
        partial = final.with_name(f".{final.name}.tmp")
        try:
            with wave.open(str(partial), "wb") as out:
                out.setparams(params)
                for _, frames in parts:
                    out.writeframes(frames)
            os.replace(partial, final)
        finally:
            partial.unlink(missing_ok=True)
        if self.keep is not None:
            for old in sorted(self.directory.glob("*.wav"))[:-self.keep]:
                old.unlink(missing_ok=True)


def _silence_wav(seconds: float = 0.05, rate: int = 22050) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b"\0\0" * int(seconds * rate))
    return buf.getvalue()


class Pyttsx3Backend:
    """pyttsx3's espeak driver, speaking through `aplay`; used from the worker only.

    Quirks of pyttsx3 2.99 + espeak-ng 1.51 this works around:
    - a second `say()` before `runAndWait()` is lost: one `say()` + `runAndWait()` per
      sentence;
    - the driver runs espeak asynchronously (AUDIO_OUTPUT_RETRIEVAL): synthesis and
      `aplay` run on espeak's thread and `runAndWait()` can return before the sentence
      is said (always on the first call): each sentence waits for 'finished-utterance'
      and for espeak to go idle, else sentences mix;
    - the rate goes through espeak's command queue and was sometimes not yet applied
      when the text was synthesised (the sentence came out at the old rate): the rate
      is read back before `say()` (with the library's own `espeak_GetParameter`, since
      pyttsx3's binding drops its `current` argument);
    - the driver starts "busy", so property changes before the first `runAndWait()`
      are deferred: the engine is marked idle once created, so they apply at once;
    - rarely (seen only under heavy CPU load) a sentence still comes out silent: no
      'started-word' notification arrives, so such a sentence is said once more;
    - `runAndWait()` with nothing to say never returns: empty texts are never passed;
    - a voice it cannot set is only reported to 'error' callbacks: voices are resolved
      up front and callback errors become exceptions;
    - it ignores aplay's exit status: `aplay` is probed with a short silence before each
      announcement, so health() tells when nothing can be heard.
    """

    output = "speaker"

    def __init__(self, voice_zh: str, voice_en: str, rate: int) -> None:
        self.configured = {"zh": voice_zh, "en": voice_en}
        self.voices: dict[str, str] = {}
        self.rate = rate
        self._engine: Any = None
        self._errors: list[BaseException] = []
        self._finished = threading.Event()
        self._words = 0

    def _on_error(self, name: Any = None, exception: BaseException | None = None, **_: Any) -> None:
        self._errors.append(exception or RuntimeError("pyttsx3 reported an error"))

    def _on_word(self, **_: Any) -> None:
        self._words += 1

    def _probe_audio(self) -> None:
        aplay = shutil.which("aplay")
        if aplay is None:
            raise SpeakerError("aplay not found (install alsa-utils): announcements are not audible",
                               NO_AUDIO_OUTPUT)
        done = subprocess.run([aplay, "-q"], input=_silence_wav(), capture_output=True,
                              timeout=_SUBPROCESS_TIMEOUT_S, check=False)
        if done.returncode != 0:
            reason = done.stderr.decode("utf-8", "replace").strip() or f"exit {done.returncode}"
            raise SpeakerError(f"no audio output: aplay: {reason}", NO_AUDIO_OUTPUT)

    def _ensure_engine(self) -> Any:
        if self._engine is None:
            import pyttsx3

            engine = pyttsx3.init("espeak")
            engine.connect("error", self._on_error)
            engine.connect("finished-utterance", lambda **_: self._finished.set())
            engine.connect("started-word", self._on_word)
            engine.proxy.setBusy(False)
            self._engine = engine
        if len(self.voices) < len(self.configured):
            files = [v.id for v in self._engine.getProperty("voices")]
            self.voices = {lang: resolve_voice(v, files) for lang, v in self.configured.items()}
        return self._engine

    def prepare(self) -> None:
        self._ensure_engine()
        self._probe_audio()

    @staticmethod
    def _wait_until(condition: Callable[[], bool], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.001)
        return True

    def _say_once(self, voice: str, text: str) -> int:
        """Say `text`; the number of words espeak reported while saying it."""
        from pyttsx3.drivers import _espeak

        engine = self._engine
        self._errors.clear()
        self._finished.clear()
        self._words = 0
        self._wait_until(lambda: not _espeak.IsPlaying(), _UTTERANCE_TIMEOUT_S)
        engine.setProperty("voice", voice)
        engine.setProperty("rate", self.rate)
        if not self._wait_until(lambda: _espeak.dll.espeak_GetParameter(_espeak.RATE, 1) == self.rate, 1.0):
            log.warning("espeak did not take rate %d within 1 s; speaking anyway", self.rate)
        engine.say(text)
        engine.runAndWait()
        if not self._finished.wait(_UTTERANCE_TIMEOUT_S):
            raise SpeakerError(f"pyttsx3 did not finish a sentence within {_UTTERANCE_TIMEOUT_S:.0f} s")
        self._wait_until(lambda: not _espeak.IsPlaying(), _UTTERANCE_TIMEOUT_S)
        if self._errors:
            raise SpeakerError(f"pyttsx3: {self._errors[0]}")
        return self._words

    def _say(self, voice: str, text: str) -> None:
        for attempt in (1, 2):
            if self._say_once(voice, text):
                return
            log.warning("pyttsx3 said nothing of %r (attempt %d)", text, attempt)
        raise SpeakerError(f"pyttsx3 produced no speech for {text!r}")

    def speak(self, announcement: Announcement, at: datetime) -> None:
        self.prepare()
        for lang, text in announcement.texts():
            self._say(self.voices[lang], text)


class Speaker:
    """Queue + worker around a back-end; `backend=None` is the 'off' speaker.

    Every `announce()` ends exactly once as spoken, failed, dropped (queue full) or
    discarded (speaker off or stopping); `on_done(announcement, reason)` is then called
    with reason None for spoken, from the worker, or from the announcing thread for
    dropped and discarded ones.
    """

    def __init__(self, backend: Backend | None, *, maxsize: int = 32, on_done: OnDone | None = None,
                 now: Callable[[], datetime] = datetime.now, stand_in: str | None = None) -> None:
        self.backend = backend
        #: Why `backend` stands in for the output asked for (health stays degraded while it does).
        self.stand_in = stand_in
        self.output = backend.output if backend else "off"
        self._queue: queue.Queue[_Item] = queue.Queue(maxsize=maxsize)
        self._put_lock = threading.Lock()
        self._cond = threading.Condition()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._on_done = on_done
        self._now = now
        self._counts = {"spoken": 0, "failed": 0, "dropped": 0, "discarded": 0}
        self._last_ok: bool | None = None
        self._not_ready: tuple[str, str] | None = None  # (reason, message) of a failed prepare(), until spoken
        self._fault: str | None = None  # the reason of the last failure, if it will recur
        self._last_error: str | None = None
        self._last_error_at: str | None = None

    def start(self) -> None:
        if self.backend is None or self._thread is not None or self._stopping.is_set():
            return
        self._thread = threading.Thread(target=self._run, name="speaker", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> bool:
        """Let the announcement being spoken finish and discard the queued ones; True if
        the worker ended within `timeout`."""
        self._stopping.set()
        if self._thread is None:
            self._discard_queued()
            return True
        self._put(_STOP)
        self._thread.join(timeout)
        if self._thread.is_alive():
            log.warning("speaker worker still busy after %.1f s", timeout)
            return False
        self._discard_queued()
        return True

    def announce(self, announcement: Announcement) -> None:
        """Queue `announcement` and return at once."""
        if self.backend is None or self._stopping.is_set():
            why = "discarded: speaker off" if self.backend is None else "discarded: speaker stopping"
            self._finish(announcement, "discarded", why)
            return
        self._put((announcement, self._now()))

    def _put(self, item: _Item) -> None:
        dropped: list[_Item] = []
        with self._put_lock:
            while True:
                try:
                    self._queue.put_nowait(item)
                    break
                except queue.Full:
                    with contextlib.suppress(queue.Empty):
                        dropped.append(self._queue.get_nowait())
        for old in dropped:
            if not isinstance(old, _Stop):
                log.warning("speaker queue full (%d): dropped announcement %s", self._queue.maxsize, old[0].key)
                self._finish(old[0], "dropped", "dropped: queue full")

    def _discard_queued(self) -> None:
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return
            if not isinstance(item, _Stop):
                self._finish(item[0], "discarded", "discarded: speaker stopping")

    def _run(self) -> None:
        backend = self.backend
        if backend is None:  # start() runs no worker for the 'off' speaker
            return
        try:
            backend.prepare()
        except Exception as exc:  # noqa: BLE001 - any set-up failure is reported as health, never raised
            log.error("speaker %s not ready: %s", self.output, exc)
            self._record_error(f"not ready: {exc}")
            with self._cond:
                self._not_ready = (getattr(exc, "reason", None) or "not_ready", f"not ready: {exc}")
        while True:
            item = self._queue.get()
            if isinstance(item, _Stop):
                return
            announcement, at = item
            if self._stopping.is_set():
                self._finish(announcement, "discarded", "discarded: speaker stopping")
                continue
            try:
                backend.speak(announcement, at)
            except SpeakerError as exc:
                log.error("announcement %s failed: %s", announcement.key, exc)
                with self._cond:
                    self._fault = exc.reason
                self._finish(announcement, "failed", str(exc))
            except Exception as exc:
                log.exception("announcement %s failed", announcement.key)
                with self._cond:
                    self._fault = None
                self._finish(announcement, "failed", f"{type(exc).__name__}: {exc}")
            else:
                self._finish(announcement, "spoken", None)

    def _record_error(self, error: str) -> None:
        with self._cond:
            self._last_ok = False
            self._last_error = error
            self._last_error_at = datetime.now().isoformat(timespec="seconds")

    def _finish(self, announcement: Announcement, outcome: str, reason: str | None) -> None:
        """Record the outcome; `on_done` runs first, so a waiter on `finished` sees its effects."""
        if self._on_done is not None:
            try:
                self._on_done(announcement, reason)
            except Exception:
                log.exception("speaker on_done callback failed")
        if outcome == "failed":
            self._record_error(reason or "failed")
        with self._cond:
            self._counts[outcome] += 1
            if outcome == "spoken":
                self._last_ok = True
                self._not_ready = self._fault = None
            self._cond.notify_all()

    @property
    def finished(self) -> int:
        """How many announcements have ended (spoken, failed, dropped or discarded)."""
        with self._cond:
            return sum(self._counts.values())

    def wait_finished(self, count: int, timeout: float) -> bool:
        """Block until `finished >= count`; False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: sum(self._counts.values()) >= count, timeout)

    def health(self) -> DeviceHealth:
        """off without a back-end; down when the worker died, the back-end never got ready or
        there is no audio output; degraded while the last announcement failed."""
        with self._cond:
            worker_died = (self._thread is not None and not self._thread.is_alive()
                           and not self._stopping.is_set())
            details = {
                "output": self.output,
                "voices": dict(self.backend.voices) if self.backend else {},
                **self._counts,
                "pending": self._queue.qsize(),
                "last_error": "speaker worker died" if worker_died else self._last_error,
                "last_error_at": self._last_error_at,
            }
            if self.backend is None:
                return DeviceHealth("off", NOT_CONFIGURED, "announcements are off", details)
            if worker_died:
                return DeviceHealth("down", "worker_died", "speaker worker died", details)
            if self._not_ready is not None:
                return DeviceHealth("down", *self._not_ready, details)
            if self._last_ok is False and self._fault == NO_AUDIO_OUTPUT:
                return DeviceHealth("down", NO_AUDIO_OUTPUT, self._last_error, details)
            if self._last_ok is False:
                return DeviceHealth("degraded", "announcement_failed", self._last_error, details)
            if self.stand_in is not None:
                return DeviceHealth("degraded", NO_AUDIO_OUTPUT, self.stand_in, details)
            return DeviceHealth("ok", details=details)


def create_speaker(cfg: TtsConfig, *, data_dir: Path, on_done: OnDone | None = None, maxsize: int = 32,
                   now: Callable[[], datetime] = datetime.now) -> Speaker:
    """The speaker `cfg` asks for; not started. A relative wav dir is relative to the
    working directory. `speaker` without `aplay` writes WAV files to `data_dir`/announcements."""
    output = cfg.output.strip()
    stand_in = None
    if not cfg.enabled or output == "off":
        backend: Backend | None = None
    elif output.startswith("wav:"):
        directory = output[len("wav:"):].strip()
        if not directory:
            raise ValueError("tts.output 'wav:' needs a directory, e.g. wav:var/announcements")
        backend = WavBackend(directory, cfg.voice_zh, cfg.voice_en, cfg.rate)
    elif output == "speaker" and shutil.which("aplay") is None:
        fallback = Path(data_dir) / "announcements"
        stand_in = f"aplay not found (install alsa-utils): announcements are written as WAV files to {fallback}"
        log.warning("%s instead", stand_in)
        backend = WavBackend(fallback, cfg.voice_zh, cfg.voice_en, cfg.rate, keep=WAV_FALLBACK_KEEP)
    elif output == "speaker":
        backend = Pyttsx3Backend(cfg.voice_zh, cfg.voice_en, cfg.rate)
    else:
        raise ValueError(f"tts.output {cfg.output!r} must be speaker, off or wav:<dir>")
    return Speaker(backend, maxsize=maxsize, on_done=on_done, now=now, stand_in=stand_in)
