"""The caller-ID modem: a worker thread that owns the serial port (DESIGN §7, Phone).

It opens `phone.port` (a device path or any pyserial URL; `sim` = the simulated modem
below), flushes what the line kept while nobody listened, sends each `phone.init`
command and waits for `OK` (`ATZ` first: it switches caller ID off again and turns echo
on, so the echo is skipped), then reads lines and hands them to the pure
`kiosk.devices.callerid.CallerIdParser`. Each call it completes goes to `on_call` (the call
service: store, match, publish). A port that is missing or vanishes (USB unplugged,
pty closed) and a modem that never answers `OK` are retried with exponential back-off;
`health()` says what is wrong: a stable reason and the words. Nothing here ever raises into the web service.

pyserial opens device paths with O_NOCTTY, so an unplug never sends SIGHUP to us.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

from kiosk.devices.callerid import CallerId, CallerIdParser, clean_line, format_block, reply_kind
from kiosk.devices.health import DISCONNECTED, NOT_CONFIGURED, STARTING_GRACE_S, DeviceHealth, starting

log = logging.getLogger(__name__)

SIM = "sim"
MAX_LINE = 512

NOT_RESPONDING = "not_responding"
INIT_REJECTED = "init_rejected"


class PhoneError(Exception):
    """The modem could not be opened or did not answer its init commands; `reason` is the
    health reason (disconnected, not_responding, init_rejected)."""

    def __init__(self, message: str, reason: str = DISCONNECTED) -> None:
        super().__init__(message)
        self.reason = reason


class Port(Protocol):
    """The part of a pyserial port the worker uses (the simulated modem has the same)."""

    timeout: float | None

    def write(self, data: bytes) -> int | None: ...
    def read(self, size: int = 1) -> bytes: ...
    @property
    def in_waiting(self) -> int: ...
    def reset_input_buffer(self) -> None: ...
    def close(self) -> None: ...


def _serial_exception(message: str) -> Exception:
    import serial

    return serial.SerialException(message)


class SimModem:
    """A Hayes modem in memory, OctoPrint-virtual-printer style: answers AT commands with
    echo + OK, plays a caller-ID block on `ring()`, and fails on demand: `unplugged`
    (opening and reading raise like a vanished USB port) or `silent` (never says OK)."""

    def __init__(self) -> None:
        self.timeout: float | None = 0.1
        self.commands: list[str] = []
        self.unplugged = False
        self.silent = False
        self._buf = bytearray()
        self._pending_cmd = bytearray()
        self._cond = threading.Condition()
        self.is_open = False

    # -- the device side, driven by the manager page and tests --------------------
    def ring(self, number: str, name: str = "", *, date: str = "", time_: str = "") -> None:
        now = time.localtime()
        block = format_block(number, name, date=date or time.strftime("%m%d", now),
                             time=time_ or time.strftime("%H%M", now))
        with self._cond:
            self._buf += block
            self._cond.notify_all()

    # -- the port side, used by the worker -----------------------------------------
    def open(self) -> SimModem:
        if self.unplugged:
            raise _serial_exception("[Errno 2] could not open port sim: No such file or directory")
        with self._cond:
            self.is_open = True
            self._pending_cmd.clear()
        return self

    def write(self, data: bytes) -> int:
        self._check()
        with self._cond:
            self._pending_cmd += data
            while b"\r" in self._pending_cmd:
                raw, _, rest = bytes(self._pending_cmd).partition(b"\r")
                self._pending_cmd = bytearray(rest)
                command = raw.decode("ascii", "replace").strip()
                if not command:
                    continue
                self.commands.append(command)
                self._buf += command.encode() + b"\r\r\n"          # echo is on (after ATZ)
                if not self.silent:
                    self._buf += b"OK\r\n" if command.upper().startswith("AT") else b"ERROR\r\n"
            self._cond.notify_all()
        return len(data)

    def read(self, size: int = 1) -> bytes:
        self._check()
        with self._cond:
            if not self._buf:
                self._cond.wait(self.timeout)
            self._check()
            data = bytes(self._buf[:size])
            del self._buf[:size]
            return data

    @property
    def in_waiting(self) -> int:
        with self._cond:
            return len(self._buf)

    def reset_input_buffer(self) -> None:
        with self._cond:
            self._buf.clear()

    def close(self) -> None:
        with self._cond:
            self.is_open = False
            self._cond.notify_all()

    def _check(self) -> None:
        if self.unplugged:
            raise _serial_exception("device reports readiness to read but returned no data "
                                    "(device disconnected or multiple access on port?)")
        if not self.is_open:
            raise _serial_exception("port not open")


def open_serial(port: str, baudrate: int, timeout: float) -> Port:
    """A real port: a device path or any pyserial URL (socket://, rfc2217://, loop://)."""
    import serial

    try:
        return serial.serial_for_url(port, baudrate=baudrate, timeout=timeout, write_timeout=2)
    except (serial.SerialException, OSError, ValueError) as exc:
        raise PhoneError(f"cannot open {port}: {exc}") from exc


class PhoneWorker:
    """One thread that owns the modem; `on_call` runs in it for every caller-ID block."""

    def __init__(self, port: str, *, on_call: Callable[[CallerId], Any], baudrate: int = 9600,
                 init: list[str] | None = None, ok_timeout_s: float = 3.0, retry_min_s: float = 0.25,
                 retry_max_s: float = 30.0, poll_s: float = 0.05,
                 opener: Callable[[], Port] | None = None, starting_grace_s: float = STARTING_GRACE_S) -> None:
        self.port = port
        self.baudrate = baudrate
        self.init = list(init if init is not None else ["ATZ", "AT+VCID=1"])
        self.on_call = on_call
        self.ok_timeout_s = ok_timeout_s
        self.retry_min_s = retry_min_s
        self.retry_max_s = retry_max_s
        self.poll_s = poll_s
        self.sim: SimModem | None = SimModem() if port == SIM else None
        self._opener = opener
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._starting_grace_s = starting_grace_s
        # (phase, reason, detail): phase is "starting", "ok" or "down"
        self._state: tuple[str, str | None, str] = ("starting", None, "opening the port")
        self._since = time.monotonic()
        self._connected_once = False
        self.calls_seen = 0
        self.reconnects = 0
        self.parser = CallerIdParser()

    # -- lifecycle -------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._since = time.monotonic()
            self._thread = threading.Thread(target=self._run, name="phone-modem", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self.sim is not None:
            self.sim.close()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

    def health(self) -> DeviceHealth:
        with self._lock:
            phase, reason, detail = self._state
        details = {"port": self.port, "calls": self.calls_seen, "reconnects": self.reconnects,
                   "simulated": self.sim is not None}
        if phase == "starting":
            return starting(self._since, time.monotonic(), grace_s=self._starting_grace_s, what="the modem",
                            details=details)
        if phase == "ok":
            return DeviceHealth("ok", None, detail, details)
        return DeviceHealth("down", reason, detail, details)

    def simulate_call(self, number: str, name: str = "") -> None:
        """Make the simulated modem ring with this caller ID (`P`/`O` for private/out of area)."""
        if self.sim is None:
            raise PhoneError("only the simulated modem (phone.port = \"sim\") can simulate calls")
        self.sim.ring(number, name)

    # -- the thread ------------------------------------------------------------------
    def _set(self, phase: str, detail: str, reason: str | None = None) -> None:
        with self._lock:
            changed = self._state != (phase, reason, detail)
            self._state = (phase, reason, detail)
        if changed:
            (log.info if phase == "ok" else log.warning)("phone %s: %s", reason or phase, detail)

    def _open(self) -> Port:
        if self._opener is not None:
            return self._opener()
        if self.sim is not None:
            try:
                return self.sim.open()
            except Exception as exc:
                raise PhoneError(f"cannot open {self.port}: {exc}") from exc
        return open_serial(self.port, self.baudrate, self.poll_s)

    def _run(self) -> None:
        delay = self.retry_min_s
        while not self._stop.is_set():
            port: Port | None = None
            try:
                port = self._open()
                port.reset_input_buffer()     # what the line kept while closed (pyserial's posix open does too)
                self._handshake(port)
                if self._connected_once:
                    self.reconnects += 1
                self._connected_once = True
                self._set("ok", f"modem ready on {self.port}")
                delay = self.retry_min_s
                self._read_loop(port)
            except PhoneError as exc:
                self._set("down", str(exc), exc.reason)
            except Exception as exc:  # noqa: BLE001 - SerialException, OSError: the port vanished
                if self._stop.is_set():
                    break
                self._set("down", f"lost the modem on {self.port} ({exc}); reconnecting", DISCONNECTED)
            finally:
                if port is not None:
                    with contextlib.suppress(Exception):
                        port.close()
            if self._stop.wait(delay):
                break
            delay = min(delay * 2, self.retry_max_s)

    def _handshake(self, port: Port) -> None:
        self._pending = bytearray()
        for command in self.init:
            port.write(command.encode("ascii") + b"\r")
            deadline = time.monotonic() + self.ok_timeout_s
            answered = False
            while not answered:
                if self._stop.is_set():
                    raise PhoneError("stopping")
                if time.monotonic() >= deadline:
                    raise PhoneError(f"the modem on {self.port} did not answer OK to {command} "
                                     f"within {self.ok_timeout_s:g} s", NOT_RESPONDING)
                for line in self._read_lines(port):
                    kind = reply_kind(line, command) if not answered else "other"
                    if kind == "ok":
                        answered = True
                    elif kind == "error":
                        raise PhoneError(f"the modem on {self.port} answered {clean_line(line)} to {command} "
                                         "(check phone.init: some chipsets want AT#CID=1 instead of AT+VCID=1)",
                                         INIT_REJECTED)
                    elif kind == "other":     # a RING or caller ID arriving meanwhile
                        self._deliver(self.parser.feed(line, time.monotonic()))

    def _read_lines(self, port: Port) -> list[bytes]:
        """Whatever complete lines have arrived (waits at most the port's timeout)."""
        waiting = port.in_waiting
        chunk = port.read(waiting if waiting > 0 else 1)
        if chunk:
            self._pending += chunk
        lines: list[bytes] = []
        while True:
            cut = min((i for i in (self._pending.find(b"\r"), self._pending.find(b"\n")) if i >= 0), default=-1)
            if cut < 0:
                break
            lines.append(bytes(self._pending[:cut]))
            del self._pending[:cut + 1]
        if len(self._pending) > MAX_LINE:       # a line that never ends is noise
            lines.append(bytes(self._pending))
            self._pending.clear()
        return [line for line in lines if line.strip()]

    def _read_loop(self, port: Port) -> None:
        while not self._stop.is_set():
            lines = self._read_lines(port)
            now = time.monotonic()
            calls = []
            for line in lines:
                calls += self.parser.feed(line, now)
            calls += self.parser.tick(now)
            self._deliver(calls)

    def _deliver(self, calls: list[CallerId]) -> None:
        for call in calls:
            self.calls_seen += 1
            try:
                self.on_call(call)
            except Exception:
                log.exception("storing the call from %s failed", call.number or call.kind)


class PhoneOff:
    """`phone.port = ""`: no modem."""

    sim = None

    def start(self) -> None: ...
    def stop(self) -> None: ...

    def health(self) -> DeviceHealth:
        return DeviceHealth("off", NOT_CONFIGURED, "phone.port is empty", {"port": "", "simulated": False})

    def simulate_call(self, number: str, name: str = "") -> None:
        raise PhoneError("no modem is configured (phone.port is empty)")


def create_phone(config: Any, on_call: Callable[[CallerId], Any]) -> PhoneWorker | PhoneOff:
    if not config.port:
        return PhoneOff()
    return PhoneWorker(config.port, on_call=on_call, baudrate=config.baudrate, init=list(config.init),
                       ok_timeout_s=config.ok_timeout_s, retry_max_s=config.retry_max_s)
