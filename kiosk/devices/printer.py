"""Receipt printer back-ends behind one small interface.

`send` takes one whole job (ESC/POS bytes from `ticket_layout`) and either delivers it
or raises `PrinterError` within the configured timeout; whatever the transport raises
(python-escpos' `DeviceNotFoundError`, socket timeouts, broken pipes, serial and USB
errors, python-escpos' bare `AssertionError`s) is turned into that one error here, with
a health reason (`offline`: refused, reset, missing; `not_responding`: a write or an
answer that did not come in time), so the spooler above needs to know nothing about
transports. Retrying is the spooler's job.

Bytes accepted are not paper out. With `status_timeout`, `send` asks the printer its
real-time status (`DLE EOT 1..4`) on the same connection before the job (a printer out
of paper, with its cover open or in error is not sent the job at all, so it cannot print
it later as well as the spooler's retry) and again after it, and returns the decoded
answer; no answer within `status_timeout` raises `PrinterError` with `not_responding`.
`query_status` asks without a job (the spooler's poll while the printer is down).
`decode_status` is the pure decoder of the answer bytes.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import select
import socket
import stat
import struct
import sys
import termios
import threading
import time
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from escpos import exceptions as escpos_exceptions
from escpos import printer as escpos_printer

from kiosk.config import PrinterConfig

#: Everything a transport is known to raise when the device is absent, busy or gone.
DEVICE_ERRORS: tuple[type[BaseException], ...] = (
    escpos_exceptions.Error,  # DeviceNotFoundError, USBNotFoundError
    OSError,  # TimeoutError, BrokenPipeError, ConnectionError, SerialException, USBError
    AssertionError,  # python-escpos writes through `assert self.device`
    RuntimeError,  # python-escpos when pyserial/pyusb is missing
    ValueError,  # pyserial bad settings, pyusb NoBackendError
    termios.error,  # pyserial's flush/tcdrain on a tty whose other end is gone
)


# -- real-time status (DLE EOT) ------------------------------------------------------------

#: The four real-time status requests `DLE EOT n` (10 04 n, n = 1..4) sent as one write; the
#: printer answers each with one byte, in order, ahead of any print data it still holds.
STATUS_QUERY = b"\x10\x04\x01\x10\x04\x02\x10\x04\x03\x10\x04\x04"
STATUS_ANSWER_LEN = 4

# Health reasons of the printer (DeviceHealth.reason), shared with the spooler and pages.
PAPER_OUT = "paper_out"
PAPER_LOW = "paper_low"
COVER_OPEN = "cover_open"
OFFLINE = "offline"
NOT_RESPONDING = "not_responding"
PRINTER_ERROR = "printer_error"
UNCONFIRMED = "unconfirmed"


@dataclass(frozen=True, slots=True)
class PrinterState:
    """What the printer said about itself: the decoded `DLE EOT 1..4` answer."""

    offline: bool = False
    cover_open: bool = False
    paper_end: bool = False
    paper_near_end: bool = False
    error: bool = False

    @property
    def reason(self) -> str | None:
        """The health reason this state gives, the most useful to staff first; None = clean."""
        if self.paper_end:
            return PAPER_OUT
        if self.cover_open:
            return COVER_OPEN
        if self.error:
            return PRINTER_ERROR
        if self.offline:
            return OFFLINE
        if self.paper_near_end:
            return PAPER_LOW
        return None

    @property
    def prints(self) -> bool:
        """True when a job sent now comes out on paper (clean, or only paper near end)."""
        return self.reason in (None, PAPER_LOW)


#: The state a printer that answered with nothing wrong is in.
CLEAN = PrinterState()


def _is_status_byte(b: int) -> bool:
    """Every DLE EOT answer byte has bit 0 = 0, bit 1 = 1, bit 4 = 1, bit 7 = 0."""
    return b & 0x93 == 0x12


def decode_status(answer: bytes) -> PrinterState:
    """Decode the answer to `STATUS_QUERY` (one byte per `DLE EOT n`, n = 1..4).

    n=1 printer status: bit 3 offline. n=2 offline cause: bit 2 cover open, bit 5 printing
    stopped by paper end, bit 6 error. n=3 error cause: bit 2 mechanical, bit 3 auto-cutter,
    bit 5 unrecoverable, bit 6 auto-recoverable error. n=4 roll paper sensor: bits 2-3 near
    end, bits 5-6 paper end. A printer that answers fewer bytes (no `DLE EOT 4` on some
    older models) is decoded from what it sent. Raises ValueError for bytes that are not a
    status answer (their fixed bits are wrong) or an empty answer.
    """
    if not answer:
        raise ValueError("no status answer")
    if len(answer) > STATUS_ANSWER_LEN or not all(_is_status_byte(b) for b in answer):
        raise ValueError(f"not a DLE EOT status answer: {answer.hex(' ')}")
    n1, n2, n3, n4 = (list(answer) + [0x12] * STATUS_ANSWER_LEN)[:STATUS_ANSWER_LEN]
    return PrinterState(
        offline=bool(n1 & 0x08),
        cover_open=bool(n2 & 0x04),
        paper_end=bool(n2 & 0x20 or n4 & 0x60),
        paper_near_end=bool(n4 & 0x0C),
        error=bool(n2 & 0x40 or n3 & 0x6C),
    )


def encode_status(state: PrinterState) -> bytes:
    """The four bytes a printer in `state` answers to `STATUS_QUERY` (emulators, the preview)."""
    n1 = 0x12 | (0x08 if state.offline or state.paper_end or state.cover_open or state.error else 0)
    n2 = 0x12 | (0x04 if state.cover_open else 0) | (0x20 if state.paper_end else 0) | (0x40 if state.error else 0)
    n3 = 0x12 | (0x20 if state.error else 0)
    n4 = 0x12 | (0x0C if state.paper_near_end or state.paper_end else 0) | (0x60 if state.paper_end else 0)
    return bytes((n1, n2, n3, n4))


def describe_state(state: PrinterState, answer: bytes | None = None) -> str:
    """A log line for a state (the raw answer in hex for the record)."""
    flags = [name for name in ("offline", "cover_open", "paper_end", "paper_near_end", "error")
             if getattr(state, name)]
    text = "status " + (", ".join(flags) or "ok")
    return f"{text} ({answer.hex(' ')})" if answer else text


class PrinterError(Exception):
    """The printer did not take the job or did not answer; the message (the transport's own
    words, for the log and the health page's `last_error`) says why, `reason` is the health
    reason: `offline` or `not_responding`."""

    def __init__(self, message: str, reason: str = OFFLINE) -> None:
        super().__init__(message)
        self.reason = reason


class NoStatusAnswer(PrinterError):
    """The printer took the request but sent no (or no valid) status answer in time."""

    def __init__(self, message: str) -> None:
        super().__init__(message, NOT_RESPONDING)


class Printer(ABC):
    name: str

    @abstractmethod
    def send(self, data: bytes, *, status_timeout: float | None = None) -> PrinterState | None:
        """Deliver one whole job or raise `PrinterError`.

        Without `status_timeout`: the bytes were accepted, None. With it: the printer's
        state, asked before the job (not sent when `not state.prints`) and after it."""

    @abstractmethod
    def query_status(self, timeout: float) -> PrinterState:
        """The printer's state now (`DLE EOT 1..4`, no job); `PrinterError` when it cannot
        be reached, `NoStatusAnswer` when it sends nothing within `timeout`."""

    def can_query_status(self) -> bool:
        """False when this back-end cannot read answers from the printer at all."""
        return True

    def close(self) -> None:  # noqa: B027 - optional: back-ends that hold nothing open need not close
        """Release the device; the next `send` opens it again."""


#: What a session with the printer may end in: the transports' errors and our own.
_SESSION_ERRORS: tuple[type[BaseException], ...] = (*DEVICE_ERRORS, PrinterError)
_T = TypeVar("_T")


class _Channel(ABC):
    """One open connection to the printer: write bytes, read an answer."""

    @abstractmethod
    def write(self, data: bytes) -> None: ...

    @abstractmethod
    def read_some(self, n: int, timeout: float) -> bytes:
        """Up to `n` bytes, waiting at most `timeout` for the first; b"" if none came."""

    def discard_input(self) -> None:  # noqa: B027 - optional: nothing stale on a fresh connection
        """Drop bytes the printer sent unasked, so they are not read as the next answer."""


def _ask(channel: _Channel, timeout: float, job: bytes = b"") -> PrinterState:
    """Send `job` and `STATUS_QUERY` in one write (a second small write would wait for the
    first one's delayed ACK: 40 ms) and decode the answer, waiting at most `timeout` for it."""
    channel.discard_input()
    channel.write(job + STATUS_QUERY)
    deadline = time.monotonic() + timeout
    answer = b""
    while len(answer) < STATUS_ANSWER_LEN:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        answer += channel.read_some(STATUS_ANSWER_LEN - len(answer), left)
    if not answer:
        raise NoStatusAnswer(f"no status answer within {timeout:g} s")
    try:
        return decode_status(answer)
    except ValueError as exc:
        raise NoStatusAnswer(str(exc)) from None


def _exchange(channel: _Channel, data: bytes, status_timeout: float | None) -> PrinterState | None:
    """The job on one open channel, framed by status queries when `status_timeout` is set."""
    if status_timeout is None:
        channel.write(data)
        return None
    before = _ask(channel, status_timeout)
    if not before.prints:
        return before  # not sent: a printer that cannot print now must not print it later too
    return _ask(channel, status_timeout, data)


def _reason_of(exc: BaseException) -> str:
    """`not_responding` for timeouts (a write that blocks, a silent printer), else `offline`."""
    if isinstance(exc, PrinterError):
        return exc.reason
    if isinstance(exc, TimeoutError) or "Timeout" in type(exc).__name__:
        return NOT_RESPONDING
    return OFFLINE


def _error(name: str, exc: BaseException) -> PrinterError:
    if isinstance(exc, NoStatusAnswer):
        return NoStatusAnswer(f"{name}: {exc}")
    return PrinterError(f"{name}: {_describe(exc)}", _reason_of(exc))


# -- preview (simulated) ---------------------------------------------------------------

#: The faults the preview printer can play (`PreviewPrinter.set_fault`) and what it answers.
PREVIEW_FAULTS: dict[str, PrinterState | None] = {
    PAPER_OUT: PrinterState(offline=True, paper_end=True, paper_near_end=True),
    PAPER_LOW: PrinterState(paper_near_end=True),
    COVER_OPEN: PrinterState(offline=True, cover_open=True),
    PRINTER_ERROR: PrinterState(offline=True, error=True),
    NOT_RESPONDING: None,  # takes the bytes, prints nothing, answers nothing
}


class PreviewPrinter(Printer):
    """Writes each job to `<directory>/<UTC timestamp>-<seq>.bin` for the admin preview.

    It is also the simulated printer demos and tests use to see failures: `fail_next(n)`
    makes the next n jobs fail, `set_offline(True)` fails every job until switched back,
    `set_fault(...)` plays a printer that takes the bytes but prints nothing (`paper_out`,
    `cover_open`, `printer_error`, `not_responding`) or prints and warns (`paper_low`).
    Its status answer is a constant: asking costs nothing.
    """

    def __init__(self, directory: Path | str, *, keep: int = 1000,
                 now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.directory = Path(directory)
        self._dir = str(self.directory)
        self.name = f"preview {self.directory}"
        self.keep = keep
        self._now = now
        self._lock = threading.Lock()
        self._seq = 0
        self._kept: deque[str] | None = None  # file names, oldest first
        self._fail_next = 0
        self._offline = False
        self._fault: str | None = None
        self.status_queries = 0

    def fail_next(self, n: int = 1) -> None:
        with self._lock:
            self._fail_next = max(0, n)

    def set_offline(self, offline: bool) -> None:
        with self._lock:
            self._offline = offline

    def set_fault(self, fault: str | None) -> None:
        """One of `PREVIEW_FAULTS` (paper_out, paper_low, cover_open, printer_error,
        not_responding), or None for a printer with nothing wrong."""
        if fault is not None and fault not in PREVIEW_FAULTS:
            raise ValueError(f"unknown preview printer fault {fault!r}; one of {', '.join(PREVIEW_FAULTS)}")
        with self._lock:
            self._fault = fault

    @property
    def fault(self) -> str | None:
        return self._fault

    def _state(self) -> PrinterState:
        """The answer to a status query now (the lock is held)."""
        self.status_queries += 1
        if self._offline:
            raise PrinterError("preview printer is offline (simulated)")
        if self._fault is None:
            return CLEAN
        state = PREVIEW_FAULTS[self._fault]
        if state is None:
            raise NoStatusAnswer("preview printer does not answer (simulated)")
        return state

    def query_status(self, timeout: float) -> PrinterState:
        with self._lock:
            return self._state()

    def send(self, data: bytes, *, status_timeout: float | None = None) -> PrinterState | None:
        with self._lock:
            if self._offline:
                raise PrinterError("preview printer is offline (simulated)")
            if self._fail_next:
                self._fail_next -= 1
                raise PrinterError("preview printer failed (simulated)")
            state = self._state() if status_timeout is not None else None
            if state is not None and not state.prints:
                return state
            if self._fault is not None and self._fault != PAPER_LOW:
                return state  # takes the bytes, prints nothing (without status: "printed" all the same)
            self._seq += 1
            name = f"{self._now().astimezone(UTC):%Y%m%d-%H%M%S-%f}-{self._seq:06d}.bin"
            try:
                try:
                    _write_atomically(self._dir, name, data)
                except FileNotFoundError:
                    self.directory.mkdir(parents=True, exist_ok=True)
                    _write_atomically(self._dir, name, data)
                self._keep_only_newest(name)
            except OSError as exc:
                raise PrinterError(f"preview printer cannot write to {self.directory}: {exc}") from exc
            return state

    def list_jobs(self, limit: int = 20) -> list[Path]:
        """The newest job files first."""
        if not self.directory.is_dir():
            return []
        return sorted(self.directory.glob("*.bin"), reverse=True)[:max(0, limit)]

    def _keep_only_newest(self, written: str) -> None:
        """Delete the oldest jobs beyond `keep`; the folder is listed once, not per job."""
        if self._kept is None:
            self._kept = deque(sorted(n for n in os.listdir(self._dir) if n.endswith(".bin")))
        else:
            self._kept.append(written)
        while len(self._kept) > self.keep:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(os.path.join(self._dir, self._kept.popleft()))


def _write_atomically(directory: str, name: str, data: bytes) -> None:
    """Whole or absent, never half a file; not fsynced: a preview is paper, not a record.
    Plain os calls and string paths: the print worker writes one per ticket, and `open()`
    and `pathlib` took more time than the writing."""
    tmp = os.path.join(directory, f".{name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o640)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    finally:
        os.close(fd)
    os.replace(tmp, os.path.join(directory, name))


# -- network ---------------------------------------------------------------------------

class NetworkPrinter(Printer):
    """A raw TCP printer (port 9100): one connection per job, closed to end the job.

    `sendall` returning only means the bytes reached our own socket buffer, which holds
    megabytes; on Linux `send` without status therefore also waits until the printer has
    acknowledged every byte, so a printer that takes no data or drops the connection
    mid-job fails here. That is still not paper out (the printer's own buffer takes a
    ticket): with `status_timeout` the answer to the status query after the job, read on
    the same connection, is the proof (the printer reads it only after the job's bytes).
    """

    def __init__(self, host: str, port: int = 9100, timeout: float = 3.0) -> None:
        self.host = host
        self.port = port
        self.timeout = timeout
        self.name = f"network {host}:{port}"
        self._lock = threading.Lock()

    def send(self, data: bytes, *, status_timeout: float | None = None) -> PrinterState | None:
        with self._lock:
            return self._session(lambda channel: _exchange(channel, data, status_timeout),
                                 acknowledge=status_timeout is None)

    def query_status(self, timeout: float) -> PrinterState:
        with self._lock:
            return self._session(lambda channel: _ask(channel, timeout), acknowledge=False)

    def _session(self, work: Callable[[_Channel], _T], *, acknowledge: bool) -> _T:
        device = escpos_printer.Network(self.host, self.port, timeout=self.timeout)
        try:
            device.open()
            channel = _SocketChannel(device, self.timeout, acknowledge=acknowledge)
            result = work(channel)
        except _SESSION_ERRORS as exc:
            _abort(device)
            raise _error(self.name, exc) from exc
        with contextlib.suppress(OSError):
            device.close()
        return result


class _SocketChannel(_Channel):
    def __init__(self, device: Any, timeout: float, *, acknowledge: bool) -> None:
        self._device = device
        self._sock: socket.socket = device.device
        self._timeout = timeout
        self._acknowledge = acknowledge
        with contextlib.suppress(OSError):  # each write is a whole request: send it at once
            self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def write(self, data: bytes) -> None:
        deadline = time.monotonic() + self._timeout
        self._sock.settimeout(self._timeout)
        self._device._raw(data)
        if self._acknowledge:
            _wait_until_acknowledged(self._sock, deadline)

    def read_some(self, n: int, timeout: float) -> bytes:
        self._sock.settimeout(max(0.001, timeout))
        try:
            chunk = self._sock.recv(n)
        except TimeoutError:
            return b""
        if not chunk:
            raise ConnectionResetError("the printer closed the connection")
        return chunk

    def discard_input(self) -> None:
        self._sock.setblocking(False)
        try:
            while self._sock.recv(256):
                pass
        except BlockingIOError:
            pass
        finally:
            self._sock.settimeout(self._timeout)


def _wait_until_acknowledged(sock: socket.socket, deadline: float) -> None:
    """Poll the kernel's count of unacknowledged bytes until it is zero (Linux only)."""
    if not sys.platform.startswith("linux"):
        return
    pause = 0.001
    while True:
        pending = struct.unpack("i", fcntl.ioctl(sock.fileno(), termios.TIOCOUTQ, b"\0" * 4))[0]
        error = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if error:
            raise ConnectionError(error, os.strerror(error))
        if pending == 0:
            return
        if time.monotonic() >= deadline:
            raise TimeoutError(f"printer took no more data ({pending} bytes not acknowledged)")
        time.sleep(pause)
        pause = min(pause * 2, 0.05)


def _abort(device: Any) -> None:
    """Drop the connection with a reset so unsent bytes are discarded, not sent later."""
    sock = getattr(device, "_device", None)
    if isinstance(sock, socket.socket):
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.close()
        except OSError:
            pass
    device._device = False


# -- devices kept open between jobs ------------------------------------------------------

class _OpenDevicePrinter(Printer):
    """A device opened on the first job and kept open until an error or close."""

    def __init__(self) -> None:
        self._device: Any = None
        self._lock = threading.Lock()

    @abstractmethod
    def _open(self) -> Any:
        """Create and open the device."""

    @abstractmethod
    def _channel(self, device: Any) -> _Channel:
        """Writing to and reading from the open device."""

    def send(self, data: bytes, *, status_timeout: float | None = None) -> PrinterState | None:
        with self._lock:
            return self._session(lambda channel: _exchange(channel, data, status_timeout))

    def query_status(self, timeout: float) -> PrinterState:
        with self._lock:
            return self._session(lambda channel: _ask(channel, timeout))

    def _session(self, work: Callable[[_Channel], _T]) -> _T:
        try:
            if self._device is None:
                self._device = self._open()
            return work(self._channel(self._device))
        except _SESSION_ERRORS as exc:
            if not isinstance(exc, NoStatusAnswer):  # a silent printer keeps its open port
                self._discard()
            raise _error(self.name, exc) from exc

    def close(self) -> None:
        with self._lock:
            self._discard()

    def _discard(self) -> None:
        device, self._device = self._device, None
        if device is not None:
            try:
                device.close()
            except DEVICE_ERRORS:  # a tty whose other end is gone fails to drain: close the port itself
                port = getattr(device, "_device", None)
                with contextlib.suppress(*DEVICE_ERRORS, AttributeError):
                    port.close()  # type: ignore[union-attr]
            device._device = False


class _EscposChannel(_Channel):
    """Writes through python-escpos' `_raw`; reading is the transport's own."""

    def __init__(self, device: Any) -> None:
        self.device = device

    def write(self, data: bytes) -> None:
        self.device._raw(data)

    def read_some(self, n: int, timeout: float) -> bytes:
        raise NoStatusAnswer("this back-end cannot read answers from the printer")


class _SerialChannel(_EscposChannel):
    def read_some(self, n: int, timeout: float) -> bytes:
        port = self.device.device
        port.timeout = max(0.001, timeout)
        return bytes(port.read(n))

    def discard_input(self) -> None:
        self.device.device.reset_input_buffer()


class _UsbChannel(_EscposChannel):
    """The printer's IN endpoint (python-escpos' `_read` with our own timeout)."""

    def read_some(self, n: int, timeout: float) -> bytes:
        try:
            return bytes(self.device.device.read(self.device.in_ep, 64, timeout=max(1, int(timeout * 1000))))[:n]
        except OSError as exc:  # usb.core.USBTimeoutError is a USBError, an OSError
            if "Timeout" in type(exc).__name__:
                return b""
            raise

    def discard_input(self) -> None:
        with contextlib.suppress(OSError):
            while self.device.device.read(self.device.in_ep, 64, timeout=1):
                pass


class SerialPrinter(_OpenDevicePrinter):
    def __init__(self, device: str, baudrate: int = 19200, timeout: float = 3.0) -> None:
        super().__init__()
        self.device_path = device
        self.baudrate = baudrate
        self.timeout = timeout
        self.name = f"serial {device}"

    def _open(self) -> Any:
        device = escpos_printer.Serial(self.device_path, baudrate=self.baudrate, timeout=self.timeout)
        device.open()
        device.device.write_timeout = self.timeout
        return device

    def _channel(self, device: Any) -> _Channel:
        return _SerialChannel(device)

    def _discard(self) -> None:
        """Throw away queued output first: closing a tty waits for it to drain."""
        port = getattr(self._device, "_device", None)
        try:
            if port:
                port.reset_output_buffer()
        except DEVICE_ERRORS:
            pass
        super()._discard()


class UsbPrinter(_OpenDevicePrinter):
    def __init__(self, vendor_id: int, product_id: int, timeout: float = 3.0) -> None:
        super().__init__()
        self.vendor_id = vendor_id
        self.product_id = product_id
        self.timeout = timeout
        self.name = f"usb {vendor_id:04x}:{product_id:04x}"

    def _open(self) -> Any:
        from escpos.printer import usb as escpos_usb

        if not escpos_usb.is_usable():
            raise RuntimeError("USB printing needs pyusb and libusb (pip install pyusb)")
        device = escpos_printer.Usb(self.vendor_id, self.product_id, timeout=int(self.timeout * 1000))
        device.open()
        return device

    def _channel(self, device: Any) -> _Channel:
        return _UsbChannel(device)


class FilePrinter(_OpenDevicePrinter):
    """A device file such as /dev/usb/lp0 (or a plain file: jobs are appended while open).

    A character device (usblp's /dev/usb/lp0, a tty) is opened read-write and non-blocking:
    writes wait for the device with select() up to `timeout`, and the status answer is read
    from the same descriptor (usblp reads from bidirectional printers). A plain file, or a
    device that cannot be opened for reading, cannot answer status queries.
    """

    def __init__(self, path: Path | str, timeout: float = 3.0) -> None:
        super().__init__()
        self.path = str(path)
        self.timeout = timeout
        self.name = f"file {self.path}"

    def can_query_status(self) -> bool:
        try:
            return stat.S_ISCHR(os.stat(self.path).st_mode)
        except OSError:
            return True  # missing now (unplugged): it is a device when it comes back

    def _open(self) -> Any:
        try:
            is_device = stat.S_ISCHR(os.stat(self.path).st_mode)
        except FileNotFoundError:
            if self.path.startswith("/dev/"):  # unplugged: never create a plain file in its place
                raise FileNotFoundError(f"{self.path} is not there (printer unplugged or off?)") from None
            is_device = False
        if is_device:
            return _DeviceFile(self.path, self.timeout)
        device = escpos_printer.File(self.path)
        device.open()
        return device

    def _channel(self, device: Any) -> _Channel:
        if isinstance(device, _DeviceFile):
            return device
        return _EscposChannel(device)


class _DeviceFile(_Channel):
    """A character device opened O_RDWR | O_NONBLOCK | O_NOCTTY, bytes as python-escpos sends them."""

    def __init__(self, path: str, timeout: float) -> None:
        self.timeout = timeout
        self._fd = os.open(path, os.O_RDWR | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
        self._device = True

    def write(self, data: bytes) -> None:
        deadline = time.monotonic() + self.timeout
        view = memoryview(data)
        while view:
            try:
                view = view[os.write(self._fd, view):]
                continue
            except BlockingIOError:
                pass
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([], [self._fd], [], left)[1]:
                raise TimeoutError(f"the device took no more data ({len(view)} bytes not written)")

    def read_some(self, n: int, timeout: float) -> bytes:
        if not select.select([self._fd], [], [], max(0.0, timeout))[0]:
            return b""
        try:
            return os.read(self._fd, n)
        except BlockingIOError:
            return b""

    def discard_input(self) -> None:
        try:
            while os.read(self._fd, 256):
                pass
        except BlockingIOError:
            pass

    def close(self) -> None:
        fd, self._fd = self._fd, -1
        if fd >= 0:
            os.close(fd)


def _describe(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def create_printer(cfg: PrinterConfig, data_dir: Path) -> Printer:
    """The back-end `cfg.backend` names; nothing is opened until the first job."""
    if cfg.backend == "preview":
        return PreviewPrinter(Path(data_dir) / "prints")
    if cfg.backend == "network":
        return NetworkPrinter(cfg.host, cfg.port, cfg.timeout_s)
    if cfg.backend == "serial":
        return SerialPrinter(cfg.device, cfg.baudrate, cfg.timeout_s)
    if cfg.backend == "usb":
        return UsbPrinter(cfg.usb_vendor_id, cfg.usb_product_id, cfg.timeout_s)
    if cfg.backend == "file":
        return FilePrinter(cfg.path, cfg.timeout_s)
    raise ValueError(f"unknown printer backend {cfg.backend!r}")
