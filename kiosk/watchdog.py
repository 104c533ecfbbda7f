"""systemd readiness and watchdog notifications for `kiosk serve`, without a dependency.

The unit runs with `Type=notify` and `WatchdogSec=`: systemd passes the address of its
notification socket in $NOTIFY_SOCKET (a path, or an abstract name written with a
leading '@') and the watchdog period in $WATCHDOG_USEC. We send `READY=1` once the web
server listens, then `WATCHDOG=1` every half period, but only while the database
answers (`Kiosk.health()["db"]["status"]` is "ok" or "degraded"). If the database stops
answering, or the process hangs, the pings stop and systemd kills and restarts the service.

"degraded" is a database that answers reads while writes fail for a storage reason
(disk full, read-only: `db.reason`). A restart cannot free space, and the service is
what tells people so (503 `storage_unavailable`, the kiosk's "tickets are paused"), so
the pings go on; the next write after space returns succeeds and health is ok again,
without a restart. `STATUS=` names the condition for `systemctl status`.

Outside systemd (no $NOTIFY_SOCKET) every call is a cheap no-op.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

Health = Callable[[], dict[str, Any]]


def _address(notify_socket: str) -> str | None:
    if notify_socket.startswith("@"):
        return "\0" + notify_socket[1:]          # abstract namespace socket
    if notify_socket.startswith("/"):
        return notify_socket
    return None                                  # e.g. vsock:… — not used on the kiosk box


def notify(message: str, notify_socket: str | None = None) -> bool:
    """Send one sd_notify datagram (e.g. "READY=1"); False when not under systemd or on error."""
    target = notify_socket if notify_socket is not None else os.environ.get("NOTIFY_SOCKET", "")
    address = _address(target) if target else None
    if address is None:
        return False
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.connect(address)
            sock.sendall(message.encode("utf-8"))
        return True
    except OSError as exc:
        log.warning("systemd notification %r failed: %s", message.split("\n", 1)[0], exc)
        return False


def watchdog_interval(environ: os._Environ | dict | None = None) -> float | None:
    """Seconds between pings (half of $WATCHDOG_USEC), or None when no watchdog is asked for.

    Like sd_watchdog_enabled(): $WATCHDOG_PID, when set, must be our pid."""
    env = os.environ if environ is None else environ
    try:
        usec = int(env.get("WATCHDOG_USEC", ""))
    except ValueError:
        return None
    if usec <= 0:
        return None
    pid = env.get("WATCHDOG_PID")
    if pid and pid != str(os.getpid()):
        return None
    return usec / 2 / 1_000_000


class Watchdog:
    """READY=1 at start, WATCHDOG=1 every interval while the database answers, STOPPING=1 at the end."""

    def __init__(self, health: Health, *, notify_socket: str | None, interval: float | None) -> None:
        self.health = health
        self.notify_socket = notify_socket
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._state: tuple[bool, str] | None = None  # the last (ping?, detail)

    @classmethod
    def from_env(cls, health: Health) -> Watchdog:
        return cls(health, notify_socket=os.environ.get("NOTIFY_SOCKET") or None, interval=watchdog_interval())

    @property
    def enabled(self) -> bool:
        return self.notify_socket is not None

    def _send(self, message: str) -> bool:
        return notify(message, self.notify_socket) if self.enabled else False

    def db_ok(self) -> tuple[bool, str]:
        """(ping?, what to show): the database answers (ok, or degraded by a storage failure)."""
        try:
            db = self.health()["db"]
        except Exception as exc:  # noqa: BLE001 - a broken health check is an unhealthy service
            return False, f"health check failed: {exc}"
        if db.get("status") == "ok":
            return True, "ok"
        if db.get("status") == "degraded":
            return True, f"degraded: {db.get('reason') or 'unknown'}"
        return False, str(db.get("error") or db.get("status"))

    def tick(self) -> bool:
        """One watchdog round: ping systemd if the database answers. True when pinged."""
        ok, detail = self.db_ok()
        if (ok, detail) != self._state:
            if ok and detail == "ok":
                self._send("STATUS=serving")
                if self._state is not None:
                    log.warning("database healthy again; watchdog pings go on")
            elif ok:
                log.warning("database %s; writes answer 503 storage_unavailable, watchdog pings go on "
                            "(a restart would not help)", detail)
                self._send(f"STATUS=serving; database {detail} (writes paused)")
            else:
                log.error("database unhealthy (%s); withholding watchdog pings so systemd restarts us", detail)
                self._send(f"STATUS=database unhealthy: {detail}")
            self._state = (ok, detail)
        return self._send("WATCHDOG=1") if ok else False

    def start(self) -> Watchdog:
        if not self.enabled:
            return self
        self._send("READY=1")
        if self.interval:
            self._thread = threading.Thread(target=self._run, name="systemd-watchdog", daemon=True)
            self._thread.start()
            log.info("systemd watchdog: pinging every %.3g s while the database answers", self.interval)
        return self

    def _run(self) -> None:
        while True:
            self.tick()
            if self._stop.wait(self.interval):
                return

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None
        self._send("STOPPING=1")
