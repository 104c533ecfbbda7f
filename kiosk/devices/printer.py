"""Receipt printer back-ends behind one small interface.

`send` takes one whole job (ESC/POS bytes from `ticket_layout`) and either delivers it
or raises `PrinterError` within the configured timeout; whatever the transport raises
(python-escpos' `DeviceNotFoundError`, socket timeouts, broken pipes, serial and USB
errors, python-escpos' bare `AssertionError`s) is turned into that one error here, so
the spooler above needs to know nothing about transports. Retrying is the spooler's job.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
import struct
import sys
import termios
import threading
import time
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

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
)


class PrinterError(Exception):
    """The printer did not take the job; the message says why, for the health page."""


class Printer(ABC):
    name: str

    @abstractmethod
    def send(self, data: bytes) -> None:
        """Deliver one whole job or raise `PrinterError`."""

    def close(self) -> None:  # noqa: B027 - optional: back-ends that hold nothing open need not close
        """Release the device; the next `send` opens it again."""


# -- preview (simulated) ---------------------------------------------------------------

class PreviewPrinter(Printer):
    """Writes each job to `<directory>/<UTC timestamp>-<seq>.bin` for the admin preview.

    It is also the simulated printer demos and tests use to see failures: `fail_next(n)`
    makes the next n jobs fail, `set_offline(True)` fails every job until switched back.
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

    def fail_next(self, n: int = 1) -> None:
        with self._lock:
            self._fail_next = max(0, n)

    def set_offline(self, offline: bool) -> None:
        with self._lock:
            self._offline = offline

    def send(self, data: bytes) -> None:
        with self._lock:
            if self._offline:
                raise PrinterError("preview printer is offline (simulated)")
            if self._fail_next:
                self._fail_next -= 1
                raise PrinterError("preview printer failed (simulated)")
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
    megabytes; on Linux `send` therefore also waits until the printer has acknowledged
    every byte, so a printer that accepts connections but takes no data (paper out with
    a full buffer, firmware hung) or drops the connection mid-job fails here instead of
    passing as printed.
    """

    def __init__(self, host: str, port: int = 9100, timeout: float = 3.0) -> None:
        self.host = host
        self.port = port
        self.timeout = timeout
        self.name = f"network {host}:{port}"
        self._lock = threading.Lock()

    def send(self, data: bytes) -> None:
        with self._lock:
            deadline = time.monotonic() + self.timeout
            device = escpos_printer.Network(self.host, self.port, timeout=self.timeout)
            try:
                device.open()
                sock = device.device
                sock.settimeout(max(0.01, deadline - time.monotonic()))
                device._raw(data)
                _wait_until_acknowledged(sock, deadline)
            except DEVICE_ERRORS as exc:
                _abort(device)
                raise PrinterError(f"{self.name}: {_describe(exc)}") from exc
            with contextlib.suppress(OSError):
                device.close()


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
    """A python-escpos device opened on the first job and kept open until an error or close."""

    def __init__(self) -> None:
        self._device: Any = None
        self._lock = threading.Lock()

    @abstractmethod
    def _open(self) -> Any:
        """Create and open the python-escpos device."""

    def send(self, data: bytes) -> None:
        with self._lock:
            try:
                if self._device is None:
                    self._device = self._open()
                self._device._raw(data)
            except DEVICE_ERRORS as exc:
                self._discard()
                raise PrinterError(f"{self.name}: {_describe(exc)}") from exc

    def close(self) -> None:
        with self._lock:
            device, self._device = self._device, None
            if device is not None:
                with contextlib.suppress(*DEVICE_ERRORS):
                    device.close()

    def _discard(self) -> None:
        device, self._device = self._device, None
        if device is not None:
            with contextlib.suppress(*DEVICE_ERRORS):
                device.close()
            device._device = False


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


class FilePrinter(_OpenDevicePrinter):
    """A device file such as /dev/usb/lp0 (or a plain file: jobs are appended while open)."""

    def __init__(self, path: Path | str) -> None:
        super().__init__()
        self.path = str(path)
        self.name = f"file {self.path}"

    def _open(self) -> Any:
        device = escpos_printer.File(self.path)
        device.open()
        return device


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
        return FilePrinter(cfg.path)
    raise ValueError(f"unknown printer backend {cfg.backend!r}")
