"""Print jobs: the one owner of the `print_jobs` table and the spooler that prints them.

A service prints by building the job's payload (a dataclass from `kiosk.devices.layouts`),
calling `enqueue` inside the write transaction of the change it prints, and after the
commit `PrintSpooler.print_and_wait`, which wakes the printer and answers `printed`,
`failed` or `queued` within the configured `printer.wait_s`.

One worker owns the printer; jobs are rows, nothing is lost. A job row is written in the
same transaction as the ticket it prints, so a crash between "ticket issued" and "ticket
printed" leaves a pending job that is printed when the service comes back. While the
printer is down the worker retries the oldest pending job with back-off; jobs whose
ticket has meanwhile been served or cancelled are skipped rather than printed late. Each
job is rendered by the layout its kind is registered with (`kiosk.devices.layouts`).

Printing and bookkeeping are two threads: the printer thread never waits for the
database's write lock (which the issuing requests queue for); it hands each attempt's
outcome to the marks thread, which writes them in batches. Within one run the printer
thread remembers the highest job it has finished, so a job printed but not yet marked is
never picked up again; after a crash such a job is printed once more (a second copy,
nothing lost).
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from typing import Any

from kiosk.clock import Clock, db_time
from kiosk.config import PrinterConfig
from kiosk.devices import layouts
from kiosk.devices.health import DeviceHealth
from kiosk.devices.layouts import PrintPayload
from kiosk.devices.printer import Printer, PrinterError
from kiosk.events import EventBus, PrinterStatus
from kiosk.store import print_jobs as store
from kiosk.store.db import Database

log = logging.getLogger(__name__)

PRINTED, QUEUED, FAILED = "printed", "queued", "failed"
#: The health reason while the printer refuses jobs.
OFFLINE = "offline"
#: Ticket states in which a late print is still useful to the resident.
_STILL_USEFUL = ("waiting", "transferred", "called", "serving")

#: Pending jobs read at a time.
BATCH = 20
#: How long printed jobs wait to be marked together (losing marks costs a second copy only).
MARK_DELAY_S = 0.2


def enqueue(conn: sqlite3.Connection, job: PrintPayload, *, at: str, ticket_id: int | None = None) -> int:
    """Add `job` to the print queue inside the caller's open write transaction; its id.

    `at` is the row's `created_at` (a `db_time`); `ticket_id` names the ticket a job
    prints, so the spooler can skip it once that ticket is served. After the commit,
    `PrintSpooler.print_and_wait` wakes the printer for it (else it waits for the
    spooler's next round).
    """
    layouts.layout(job.kind)  # a kind no layout prints is refused here, not by the spooler later
    return store.insert(conn, kind=job.kind, payload=json.dumps(job.to_dict(), ensure_ascii=False),
                        created_at=at, ticket_id=ticket_id)


class PrintSpooler:
    def __init__(self, db: Database, printer: Printer, config: PrinterConfig, bus: EventBus, clock: Clock,
                 *, backoff_initial_s: float = 1.0, backoff_max_s: float = 30.0) -> None:
        """`config` gives the layouts their profile, QR mode and cut, and `print_and_wait`
        its `wait_s`; both are read at each job, so a changed config applies at once."""
        self._db = db
        self._printer = printer
        self._config = config
        self._bus = bus
        self._clock = clock
        self._backoff_initial = backoff_initial_s
        self._backoff_max = backoff_max_s
        self._backoff = 0.0
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._outcomes: dict[int, str] = {}
        self._waiters: dict[int, threading.Lock] = {}  # held; released once, by whoever pops it
        self._online = True
        self._last_error: str | None = None
        self._printed = 0
        self._thread: threading.Thread | None = None
        self._done_through = 0  # every job up to this id has an outcome (this run)
        self._marks: list[store.Mark] = []
        self._mark_wake = threading.Event()
        self._marks_stop = threading.Event()
        self._marker: threading.Thread | None = None

    # -- public ----------------------------------------------------------------------
    def start(self) -> None:
        self._marker = threading.Thread(target=self._mark_loop, name="print-marks", daemon=True)
        self._marker.start()
        self._thread = threading.Thread(target=self._run, name="print-spooler", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread:
            self._thread.join(timeout)
        self._marks_stop.set()
        self._mark_wake.set()
        if self._marker:
            self._marker.join(timeout)
        self._printer.close()

    def print_and_wait(self, job_id: int) -> str:
        """Wake the printer for the committed job `job_id` and wait for it: `printed`,
        `failed`, or `queued` if not printed within `printer.wait_s` (or the printer is down)."""
        self._wake.set()
        return self._wait(job_id, self._config.wait_s)

    def _wait(self, job_id: int, timeout: float) -> str:
        """Each waiter has its own lock, so a finished job wakes only the request waiting for
        it. A bare lock rather than an `Event`: one C call to wait and one to wake, where
        an `Event` runs a `Condition` in Python on both sides, once per ticket.
        """
        with self._lock:
            if self._thread is None or not self._online:
                return QUEUED
            if job_id in self._outcomes:
                return self._outcomes.pop(job_id)
            done = self._waiters[job_id] = threading.Lock()
            done.acquire()
        done.acquire(timeout=timeout)
        with self._lock:
            self._waiters.pop(job_id, None)
            return self._outcomes.pop(job_id, QUEUED)

    def retry_now(self) -> None:
        """Skip the back-off wait (the operator says the printer is back)."""
        self._backoff = 0.0
        self._wake.set()

    def health(self) -> DeviceHealth:
        """ok, or down with reason `offline` after the printer refused a job (until one prints)."""
        try:
            pending = store.count_pending(self._db.conn, self._done_through)
        except Exception:  # noqa: BLE001 - health reports the printer even when the database fails
            pending = None
        details = {"backend": self._printer.name, "pending": pending, "printed": self._printed,
                   "last_error": self._last_error}
        return _printer_health(self._online, self._last_error, details)

    # -- worker ----------------------------------------------------------------------
    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(timeout=self._backoff or 5.0)
            self._wake.clear()
            if self._stop.is_set():
                break
            try:
                self._drain()
            except Exception:
                log.exception("print spooler round failed")

    def _drain(self) -> None:
        """Print the pending jobs oldest first until none is left or the printer fails.

        Each waiting request hears of its job as soon as it is printed. Jobs are taken in
        id order and the first printer failure ends the round, so the finished jobs are
        always a prefix: `_done_through` is enough to skip those not yet marked. A short
        batch was everything pending, and a job added meanwhile has woken the worker
        again, so the round ends without asking once more (a query per ticket saved)."""
        while not self._stop.is_set():
            jobs = store.pending(self._db.conn, self._done_through, BATCH)
            for job in jobs:
                outcome = self._print_one(job)
                if outcome is None:
                    return
                self._mark(job["id"], *outcome)
            if len(jobs) < BATCH:
                return

    def _print_one(self, job: dict[str, Any]) -> tuple[str, str | None] | None:
        """(row status, error) for one job, or None when the printer failed (stop here)."""
        if job["ticket_status"] is not None and job["ticket_status"] not in _STILL_USEFUL and job["attempts"]:
            return "skipped", None
        try:
            data = layouts.render(layouts.payload_from_dict(json.loads(job["payload"])), self._config)
        except Exception as exc:
            log.exception("print job %s cannot be rendered", job["id"])
            self._announce(job["id"], FAILED)
            return "failed", f"render: {exc}"
        try:
            self._printer.send(data)
        except PrinterError as exc:
            self._failed_attempt(job["id"], str(exc))
            return None
        self._printed += 1
        self._set_online(True, None)
        self._announce(job["id"], PRINTED)
        return "printed", None

    def _failed_attempt(self, job_id: int, error: str) -> None:
        self._mark(job_id, "pending", error)  # still to print: counted, not finished
        self._backoff = min(self._backoff_max, max(self._backoff_initial, self._backoff * 2))
        log.warning("printer failed (%s); retrying in %.0f s", error, self._backoff)
        self._set_online(False, error)

    def _mark(self, job_id: int, status: str, error: str | None) -> None:
        """Record an attempt's outcome for the marks thread; `pending` = try again later."""
        printed_at = db_time(self._clock.now()) if status == PRINTED else None
        with self._lock:
            self._marks.append((status, error, printed_at, job_id))
            if status != "pending":
                self._done_through = max(self._done_through, job_id)
        self._mark_wake.set()

    def _mark_loop(self) -> None:
        while not self._marks_stop.is_set():
            self._mark_wake.wait(timeout=5.0)
            # Gather a burst's marks into one transaction rather than queueing for the
            # write lock once per ticket.
            self._marks_stop.wait(MARK_DELAY_S)
            self._mark_wake.clear()
            self._write_marks()
        self._write_marks()

    def _write_marks(self) -> None:
        with self._lock:
            marks, self._marks = self._marks, []
        if not marks:
            return
        try:
            # Not durable: a power cut right after printing costs at most a second copy.
            with self._db.write(durable=False) as conn:
                store.mark(conn, marks)
        except Exception:
            log.exception("cannot mark %d print jobs; trying again", len(marks))
            with self._lock:
                self._marks[:0] = marks
            self._marks_stop.wait(1.0)
            self._mark_wake.set()

    def _announce(self, job_id: int, outcome: str) -> None:
        with self._lock:
            self._outcomes[job_id] = outcome
            if len(self._outcomes) > 1000:
                self._outcomes.pop(next(iter(self._outcomes)))
            done = self._waiters.pop(job_id, None)
        if done is not None:
            done.release()

    def _set_online(self, online: bool, error: str | None) -> None:
        if online:
            self._backoff = 0.0
        with self._lock:
            changed = online != self._online
            self._online = online
            self._last_error = error if error else self._last_error
            stranded = [] if online else list(self._waiters.values())
            if stranded:
                self._waiters.clear()
        for done in stranded:  # the printer is down: their tickets answer "queued" now
            done.release()
        if changed:
            health = _printer_health(online, error)
            self._bus.publish(PrinterStatus(health.status, health.reason, error))


def _printer_health(online: bool, error: str | None, details: dict[str, Any] | None = None) -> DeviceHealth:
    if online:
        return DeviceHealth("ok", details=details or {})
    return DeviceHealth("down", OFFLINE, error or "the printer does not take jobs", details or {})
