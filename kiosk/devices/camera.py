"""The check-in camera: capture → decode → scan handling, three workers joined by
queues (as Frigate does), each looping on a stop event with a poll timeout.

* capture: reads frames from a `FrameSource` (OpenCV `VideoCapture` of an index, an
  RTSP/HTTP URL or a video file; `sim` plays the demo video shipped with the project),
  paces them to `camera.fps`, keeps the latest one for snapshots and hands frames to the
  decoder through a queue of one (a slow decoder skips frames, never lags behind). When
  the source fails it closes it and reopens it with exponential back-off; health says so.
* decode: grayscale, QR decode (pyzbar in binary mode, or zxing-cpp), de-duplication
  of a code seen in consecutive frames (`kiosk.devices.dedup.Deduper`); when nothing
  decodes, at most every `detect_every_s` a look for a code that is in view but not
  readable. What it saw feeds the kiosk's live hint (`kiosk.devices.camera_feedback`),
  whose changes go to `on_status`.
* scans: encodes the frame the code was read in as the JPEG snapshot and calls the
  handler (the visit service's `scan`), off the capture and decode threads.

The web layer never imports this module's OpenCV parts: it calls the visit service.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any, Protocol

from kiosk.devices import camera_feedback as fb
from kiosk.devices.dedup import Deduper
from kiosk.devices.health import DISCONNECTED, NOT_CONFIGURED, STARTING_GRACE_S, DeviceHealth, starting

log = logging.getLogger(__name__)

SNAPSHOT_MAX_AGE_S = 2.0
DEMO_VIDEO = "demo-camera.avi"


class CameraError(RuntimeError):
    """The camera cannot be opened or stopped delivering frames."""


class FrameSource(Protocol):
    name: str

    def open(self) -> None: ...

    def read(self) -> Any: ...  # a BGR numpy frame; raises CameraError

    def close(self) -> None: ...


class OpenCvSource:
    """`cv2.VideoCapture` of an index, URL or file. A file plays in a loop (reopened at
    its end, so a file that disappears behaves like an unplugged camera)."""

    def __init__(self, source: str | int, *, loop_file: bool = True) -> None:
        self.source = source
        self.is_file = isinstance(source, str) and "://" not in source
        self.loop_file = loop_file
        self.name = f"opencv:{source}"
        self._cap: Any = None

    def open(self) -> None:
        import cv2

        if self.is_file and isinstance(self.source, str) and not Path(self.source).is_file():
            raise CameraError(f"video file {self.source} not found")
        cap = cv2.VideoCapture(self.source)
        if not cap.isOpened():
            cap.release()
            raise CameraError(f"cannot open camera {self.source!r}")
        self._cap = cap

    def read(self) -> Any:
        if self._cap is None:
            raise CameraError("camera is not open")
        ok, frame = self._cap.read()
        if ok:
            return frame
        if self.is_file and self.loop_file:
            self.close()
            self.open()
            ok, frame = self._cap.read()
            if ok:
                return frame
        raise CameraError(f"camera {self.source!r} stopped delivering frames")

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None


class SimSource(OpenCvSource):
    """The demo camera: the video `kiosk demo load` made for this site (its QR card is
    signed with the site key), else the one shipped in kiosk/devices/media/.
    `sim:offline` never opens, to show and test the reconnect path."""

    def __init__(self, data_dir: Path, mode: str = "") -> None:
        site_video = Path(data_dir) / "media" / DEMO_VIDEO
        path = site_video if site_video.is_file() else shipped_demo_video()
        super().__init__(str(path))
        self.mode = mode
        self.name = "sim" + (f":{mode}" if mode else "")

    def open(self) -> None:
        if self.mode == "offline":
            raise CameraError("simulated camera is offline")
        super().open()


def shipped_demo_video() -> Path:
    return Path(str(resources.files("kiosk.devices") / "media" / DEMO_VIDEO))


def create_source(source: str, data_dir: Path) -> FrameSource | None:
    """The frame source for `camera.source`; None when the camera is off."""
    source = (source or "").strip()
    if not source:
        return None
    if source == "sim" or source.startswith("sim:"):
        return SimSource(data_dir, source[4:])
    if source.isdigit():
        return OpenCvSource(int(source))
    return OpenCvSource(source)


@dataclass
class Scan:
    payload: str
    frame: Any
    read_at: float  # time.monotonic() when the frame was read


ScanHandler = Callable[[str, bytes | None, datetime | None], Any]
#: Told each new state of the live hint (`kiosk.devices.camera_feedback.STATES`).
StatusHandler = Callable[[str], None]


class Camera:
    def __init__(self, source: FrameSource | None, decode: Callable[[Any], list[str]] | None,
                 on_scan: ScanHandler, *, now: Callable[[], datetime], fps: float = 10.0, repeat_s: float = 30.0,
                 jpeg_quality: int = 80, backoff_initial_s: float = 0.5, backoff_max_s: float = 30.0,
                 starting_grace_s: float = STARTING_GRACE_S, on_status: StatusHandler | None = None,
                 detect: Callable[[Any], bool] | None = None, detect_every_s: float = 0.3) -> None:
        self.source = source
        self._decode = decode
        self._detect = detect
        self._detect_every_s = detect_every_s
        self._detected_at = 0.0
        self._on_status = on_status
        self._feedback = fb.Feedback(state=fb.OFF if source is None else fb.OFFLINE)
        self._feedback_lock = threading.Lock()
        self._on_scan = on_scan
        self._now = now
        self._interval = 1.0 / fps if fps > 0 else 0.0
        self._dedup = Deduper(repeat_s)
        self._quality = jpeg_quality
        self._backoff_initial = backoff_initial_s
        self._backoff_max = backoff_max_s
        self._stop = threading.Event()
        self._frames: queue.Queue[tuple[Any, float]] = queue.Queue(maxsize=1)
        self._scans: queue.Queue[Scan] = queue.Queue(maxsize=16)
        self._latest: tuple[Any, float, datetime] | None = None
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._starting_grace_s = starting_grace_s
        self.state = "off" if source is None else "starting"  # then "ok" or "reconnecting"
        self._since = time.monotonic()
        self.last_error: str | None = None
        self.frames = 0
        self.scans = 0
        self.reconnects = 0

    # -- life cycle -------------------------------------------------------------------
    def start(self) -> None:
        if self.source is None or self._threads:
            return
        self._since = time.monotonic()
        for name, target in (("camera-capture", self._capture_loop), ("camera-decode", self._decode_loop),
                             ("camera-scans", self._scan_loop)):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout)
        self._threads = []
        if self.source is not None:
            self.source.close()

    # -- what others ask --------------------------------------------------------------
    def snapshot(self) -> tuple[bytes, datetime] | None:
        """A JPEG of the latest frame, if the camera delivered one in the last 2 s."""
        with self._lock:
            latest = self._latest
        if latest is None or time.monotonic() - latest[1] > SNAPSHOT_MAX_AGE_S:
            return None
        jpeg = self.encode_jpeg(latest[0])
        return (jpeg, latest[2]) if jpeg else None

    def encode_jpeg(self, frame: Any) -> bytes | None:
        import cv2

        ok, buf = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, int(self._quality)])
        return buf.tobytes() if ok else None

    @property
    def feedback(self) -> str:
        """What the kiosk's camera hint says now (`kiosk.devices.camera_feedback.STATES`)."""
        return self._feedback.state

    def health(self) -> DeviceHealth:
        details = {"source": self.source.name if self.source else "", "frames": self.frames, "scans": self.scans,
                   "reconnects": self.reconnects, "last_error": self.last_error}
        if self.source is None:
            return DeviceHealth("off", NOT_CONFIGURED, "camera.source is empty", details)
        if self.state == "reconnecting":
            return DeviceHealth("down", DISCONNECTED, self.last_error, details)
        if self._decode is None:
            return DeviceHealth("degraded", "no_decoder", self.last_error or "no QR decoder: codes are not read",
                                details)
        if self.state == "starting":
            return starting(self._since, time.monotonic(), grace_s=self._starting_grace_s, what="the camera",
                            details=details)
        return DeviceHealth("ok", details=details)

    # -- workers ----------------------------------------------------------------------
    def _capture_loop(self) -> None:
        source = self.source
        if source is None:  # start() runs no workers without a source
            return
        backoff = 0.0
        opened = False
        next_at = time.monotonic()
        while not self._stop.is_set():
            if not opened:
                try:
                    source.open()
                    opened, backoff = True, 0.0
                    self.state = "ok"
                    with self._feedback_lock:  # without a decoder no code is ever read
                        change = self._feedback.connected(self._decode is not None)
                    self._report(change)
                except Exception as exc:  # noqa: BLE001 - any driver failure means "retry later"
                    backoff = min(self._backoff_max, max(self._backoff_initial, backoff * 2))
                    self._failed(source, f"{exc}; retrying in {backoff:.1f} s")
                    self._stop.wait(backoff)
                    continue
            try:
                frame = source.read()
            except Exception as exc:  # noqa: BLE001
                source.close()
                opened = False
                self.reconnects += 1
                self._failed(source, str(exc))
                continue
            read_at = time.monotonic()
            with self._lock:
                self._latest = (frame, read_at, self._now())
            self.frames += 1
            with contextlib.suppress(queue.Empty):
                self._frames.get_nowait()  # drop the frame the decoder did not get to
            self._frames.put_nowait((frame, read_at))
            next_at = max(next_at + self._interval, read_at)
            self._stop.wait(max(0.0, next_at - time.monotonic()))

    def _failed(self, source: FrameSource, error: str) -> None:
        if self.state != "reconnecting" or error != self.last_error:
            log.warning("camera %s: %s", source.name, error)
        self.state = "reconnecting"
        self.last_error = error
        with self._feedback_lock:
            change = self._feedback.connected(False)
        self._report(change)

    def _report(self, state: str | None) -> None:
        if state is not None and self._on_status is not None:
            try:
                self._on_status(state)
            except Exception:
                log.exception("reporting the camera state %s failed", state)

    def _sight(self, gray: Any, payloads: list[str], read_at: float) -> str:
        if payloads:
            return fb.SAW_CODE
        if self._detect is None or read_at - self._detected_at < self._detect_every_s:
            return fb.SAW_NOTHING
        self._detected_at = read_at
        return fb.SAW_UNREADABLE if self._detect(gray) else fb.SAW_NOTHING

    def _decode_loop(self) -> None:
        import cv2

        while not self._stop.is_set():
            try:
                frame, read_at = self._frames.get(timeout=0.2)
            except queue.Empty:
                continue
            try:
                gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY) if frame.ndim == 3 else frame
                payloads = self._decode(gray) if self._decode else []
                sight = self._sight(gray, payloads, read_at)
            except Exception:
                log.exception("QR decoding failed")
                continue
            with self._feedback_lock:
                change = self._feedback.saw(sight, read_at)
            self._report(change)
            for payload in payloads:
                if payload and self._dedup.is_new(payload, read_at):
                    try:
                        self._scans.put(Scan(payload, frame, read_at), timeout=1.0)
                    except queue.Full:
                        log.warning("scan queue full; dropping a scan")

    def _scan_loop(self) -> None:
        while not self._stop.is_set():
            try:
                scan = self._scans.get(timeout=0.2)
            except queue.Empty:
                continue
            try:
                jpeg = self.encode_jpeg(scan.frame)
                self.scans += 1
                self._on_scan(scan.payload, jpeg, self._now())
            except Exception:
                log.exception("handling a scanned code failed")
