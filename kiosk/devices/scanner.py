"""Serial barcode scanners (pyserial): each code arrives as one line ended by CR, LF or
both. One worker thread reads lines and hands each code to a handler; an unplugged or
missing port is retried with back-off and shows in health, nothing crashes.
Keyboard-wedge scanners need none of this: the kiosk page tells their fast keystrokes
ending in Enter from typing (kiosk/web/static/js/checkin.js).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from kiosk.devices.health import DISCONNECTED, STARTING_GRACE_S, DeviceHealth, starting

log = logging.getLogger(__name__)

MAX_CODE = 512


class LineSplitter:
    """Bytes in, complete codes out: CR, LF or CRLF end a code; empty lines are dropped;
    an over-long line (noise, wrong baud rate) is discarded."""

    def __init__(self, max_len: int = MAX_CODE) -> None:
        self._buf = bytearray()
        self._max = max_len
        self._overflow = False

    def feed(self, data: bytes) -> list[str]:
        codes = []
        for byte in data:
            if byte in (0x0A, 0x0D):
                if self._buf and not self._overflow:
                    codes.append(self._buf.decode("utf-8", errors="replace").strip())
                self._buf.clear()
                self._overflow = False
            elif len(self._buf) >= self._max:
                self._overflow = True
            else:
                self._buf.append(byte)
        return [c for c in codes if c]


class SerialScanner:
    def __init__(self, port: str, on_code: Callable[[str], Any], *, baudrate: int = 9600,
                 backoff_initial_s: float = 0.5, backoff_max_s: float = 30.0,
                 starting_grace_s: float = STARTING_GRACE_S) -> None:
        self.port = port
        self.baudrate = baudrate
        self._on_code = on_code
        self._backoff_initial = backoff_initial_s
        self._backoff_max = backoff_max_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._starting_grace_s = starting_grace_s
        self.state = "starting"  # then "ok" or "reconnecting"
        self._since = time.monotonic()
        self.last_error: str | None = None
        self.codes = 0

    def start(self) -> None:
        self._since = time.monotonic()
        self._thread = threading.Thread(target=self._run, name="scanner", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout)

    def health(self) -> DeviceHealth:
        details = {"port": self.port, "codes": self.codes, "last_error": self.last_error}
        if self.state == "reconnecting":
            return DeviceHealth("down", DISCONNECTED, self.last_error, details)
        if self.state == "starting":
            return starting(self._since, time.monotonic(), grace_s=self._starting_grace_s, what="the scanner",
                            details=details)
        return DeviceHealth("ok", details=details)

    def _run(self) -> None:
        import serial

        backoff = 0.0
        while not self._stop.is_set():
            try:
                with serial.serial_for_url(self.port, baudrate=self.baudrate, timeout=0.2) as port:
                    port.reset_input_buffer()  # a pty keeps what was written while closed
                    self.state, backoff = "ok", 0.0
                    splitter = LineSplitter()
                    while not self._stop.is_set():
                        for code in splitter.feed(port.read(256)):
                            self.codes += 1
                            try:
                                self._on_code(code)
                            except Exception:
                                log.exception("handling scanned code failed")
            except (serial.SerialException, OSError) as exc:
                backoff = min(self._backoff_max, max(self._backoff_initial, backoff * 2))
                if self.last_error != str(exc):
                    log.warning("scanner %s: %s; retrying in %.1f s", self.port, exc, backoff)
                self.state, self.last_error = "reconnecting", str(exc)
                self._stop.wait(backoff)
