"""Print jobs: the one owner of the `print_jobs` table and the spooler that prints them.

A service prints by building the job's payload (a dataclass from `kiosk.devices.layouts`),
calling `enqueue` inside the write transaction of the change it prints, and after the
commit `PrintSpooler.print_and_wait`, which wakes the printer and answers `printed`,
`failed` or `queued` within the configured `printer.wait_s`.

One worker owns the printer; jobs are rows, nothing is lost. A job row is written in the
same transaction as the ticket it prints, so a crash between "ticket issued" and "ticket
printed" leaves a pending job that is printed when the service comes back. Jobs whose
ticket has meanwhile been served or cancelled are skipped rather than printed late. Each
job is rendered by the layout its kind is registered with (`kiosk.devices.layouts`).

"Printed" means paper came out (`printer.status`):
- `dle_eot`: every job is framed by real-time status queries (`DLE EOT 1..4`) on its own
  connection; it counts as printed only when the answer after it arrives within
  `printer.status_timeout_s` and is clean (paper near end: printed, health degraded
  `paper_low`). No answer, a reset, paper out, cover open or an error: the job stays
  pending and the printer is down with that reason (`kiosk.devices.printer`'s reasons).
- `none`: the old rule, bytes accepted = printed; health ok with reason `unconfirmed`.
- `auto` (default): the printer is asked once (a bare `DLE EOT`) at start and, until it has
  answered, again whenever it comes back after a failure; a printer that answered once is
  treated as `dle_eot` for the run, one that stayed silent while taking bytes as `none`.
  Back-ends that cannot read answers (a plain file) are `none`.
While the printer is down the worker asks its status every `POLL_S` seconds (no job;
`none`: it retries the oldest job), so printing resumes within seconds of its return
however long it was away; while it is up and idle it asks every `IDLE_POLL_S` so a cover
opened or paper run out between tickets shows at once.

Printing and bookkeeping are two threads: the printer thread never waits for the
database's write lock (which the issuing requests queue for); it hands each attempt's
outcome to the marks thread, which writes them in batches. Within one run the printer
thread remembers the highest job it has finished, so a job printed but not yet marked is
never picked up again; after a crash such a job is printed once more (a second copy,
nothing lost).
"""

from __future__ import annotations

import contextlib
import json
import logging
import sqlite3
import threading
import time
from typing import Any

from kiosk.clock import Clock, db_time, local_day
from kiosk.config import PrinterConfig
from kiosk.devices import layouts
from kiosk.devices.health import DeviceHealth, Status
from kiosk.devices.layouts import PrintPayload
from kiosk.devices.printer import (
    COVER_OPEN,
    NOT_RESPONDING,
    OFFLINE,
    PAPER_LOW,
    PAPER_OUT,
    PRINTER_ERROR,
    UNCONFIRMED,
    NoStatusAnswer,
    Printer,
    PrinterError,
    PrinterState,
    describe_state,
)
from kiosk.events import EventBus, PrinterStatus
from kiosk.queue.rules import Status as TicketStatus
from kiosk.queue.rules import effective_status
from kiosk.store import print_jobs as store
from kiosk.store.db import Database

log = logging.getLogger(__name__)

PRINTED, QUEUED, FAILED = "printed", "queued", "failed"
#: The plain words of each health reason (`message`; the driver's own words are `last_error`).
MESSAGES = {
    PAPER_OUT: "The printer is out of paper: tickets are issued but not printed.",
    PAPER_LOW: "The paper roll is nearly used up: load a new roll soon.",
    COVER_OPEN: "The printer's cover is open: tickets are issued but not printed.",
    OFFLINE: "The printer cannot be reached (off, unplugged or not connected).",
    NOT_RESPONDING: "The printer does not answer: tickets are issued but not printed.",
    PRINTER_ERROR: "The printer reports an error: tickets are issued but not printed.",
    UNCONFIRMED: "The printer cannot answer status queries: printing cannot be confirmed.",
}
#: Reasons that leave the printer working (still printing).
_WORKING: dict[str | None, Status] = {None: "ok", UNCONFIRMED: "ok", PAPER_LOW: "degraded"}
#: Seconds between status polls while the printer is down, and while it is up and idle.
POLL_S = 2.0
IDLE_POLL_S = 5.0
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
                 *, poll_s: float = POLL_S, idle_poll_s: float = IDLE_POLL_S) -> None:
        """`config` gives the layouts their profile, QR mode and cut, `print_and_wait` its
        `wait_s`, and the status rule (`status`, `status_timeout_s`); all are read at each
        job, so a changed config applies at once."""
        self._db = db
        self._printer = printer
        self._config = config
        self._bus = bus
        self._clock = clock
        self._poll_s = poll_s
        self._idle_poll_s = idle_poll_s
        self._next_poll = 0.0
        self._force = False
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._outcomes: dict[int, str] = {}
        self._waiters: dict[int, threading.Lock] = {}  # held; released once, by whoever pops it
        self._online = True
        self._status: Status = "ok"
        self._reason: str | None = None
        self._last_error: str | None = None
        self._answers: bool | None = None  # auto: has the printer answered a status query?
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

    def release_waiters(self) -> None:
        """Answer every request waiting for its print now (`queued`: the job stays and prints
        later): the service is stopping and must not hold answers for the printer."""
        with self._lock:
            waiters = list(self._waiters.values())
            self._waiters.clear()
        for done in waiters:
            with contextlib.suppress(RuntimeError):
                done.release()

    def retry_now(self) -> None:
        """Ask the printer now rather than at the next poll (the operator says it is back)."""
        self._force = True
        self._wake.set()

    def state(self) -> DeviceHealth:
        """The printer's health as last seen, without touching the database (cheap: for
        screens that show whether tickets print)."""
        return self._health({"backend": self._printer.name, "printed": self._printed,
                             "confirm": self._confirm_mode(), "last_error": self._last_error})

    def pending_count(self) -> int:
        """Jobs not printed yet (one indexed count)."""
        return store.count_pending(self._db.conn, self._done_through)

    def health(self) -> DeviceHealth:
        """`state()` with the count of pending jobs: ok (reason None, or `unconfirmed` when
        printing cannot be confirmed), degraded `paper_low`, or down with the reason."""
        try:
            pending = store.count_pending(self._db.conn, self._done_through)
        except Exception:  # noqa: BLE001 - health reports the printer even when the database fails
            pending = None
        return self._health({"backend": self._printer.name, "pending": pending, "printed": self._printed,
                             "confirm": self._confirm_mode(), "last_error": self._last_error})

    def _health(self, details: dict[str, Any]) -> DeviceHealth:
        with self._lock:
            status, reason = self._status, self._reason
        message = MESSAGES.get(reason) if reason else None
        if status == "down" and message is None:
            message = "The printer does not take jobs."
        return DeviceHealth(status, reason, message, details)

    def _confirm_mode(self) -> str:
        """How printing is confirmed now: dle_eot, none, or probing (auto, not yet known)."""
        if self._confirming():
            return "dle_eot" if self._config.status == "dle_eot" or self._answers else "probing"
        return "none"

    # -- worker ----------------------------------------------------------------------
    def _run(self) -> None:
        self._round(check=True)
        while not self._stop.is_set():
            if self._online:
                woken = self._wake.wait(timeout=self._idle_poll_s)
            else:
                woken = self._wake.wait(timeout=max(0.0, self._next_poll - time.monotonic()))
            if self._stop.is_set():
                break
            self._wake.clear()
            due = time.monotonic() >= self._next_poll
            if not self._online and not due and not self._force:
                continue  # new tickets while down wait for the next poll
            force, self._force = self._force, False
            self._round(check=not self._online or force or (not woken and self._confirming()))

    def _round(self, *, check: bool) -> None:
        try:
            if check:
                self._next_poll = time.monotonic() + self._poll_s
                if not self._check():
                    return
            self._drain()
        except Exception:
            log.exception("print spooler round failed")

    def _confirming(self) -> bool:
        """Whether jobs are framed by status queries (auto: until the printer stayed silent)."""
        mode = self._config.status
        if mode == "none" or not self._printer.can_query_status():
            return False
        return mode == "dle_eot" or self._answers is not False

    def _status_now(self) -> PrinterState | None:
        """The printer's state (a bare `DLE EOT`), or None when it is not asked (`none`, or
        auto found a printer that takes bytes but never answers). Raises `PrinterError`."""
        if not self._confirming():
            return None
        try:
            state = self._printer.query_status(self._config.status_timeout_s)
        except NoStatusAnswer:
            if self._config.status == "auto" and self._answers is None:
                self._answers = False
                log.warning("%s does not answer status queries: printing cannot be confirmed",
                            self._printer.name)
                return None
            raise
        if not self._answers:
            self._answers = True
        return state

    def _check(self) -> bool:
        """Ask the printer how it is (at start, while it is down, when idle); True when jobs
        may be tried now."""
        try:
            state = self._status_now()
        except PrinterError as exc:
            self._set_state(exc.reason, str(exc))
            return False
        if state is None:  # nothing to ask: trying the oldest job is the probe
            if self._online:
                self._set_state(UNCONFIRMED)
            return True
        if not state.prints:
            self._set_state(state.reason, describe_state(state))
            return False
        self._set_state(state.reason)
        return True

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
        if job["ticket_status"] is not None:
            status = effective_status(job["ticket_status"], job["ticket_day"],
                                      local_day(self._clock.now(), self._clock.tz).isoformat())
            if status is TicketStatus.EXPIRED or (status not in _STILL_USEFUL and job["attempts"]):
                return "skipped", None  # yesterday's ticket, or one served meanwhile: too late to print
        try:
            data = layouts.render(layouts.payload_from_dict(json.loads(job["payload"])), self._config)
        except Exception as exc:
            log.exception("print job %s cannot be rendered", job["id"])
            self._announce(job["id"], FAILED)
            return "failed", f"render: {exc}"
        try:
            if self._config.status == "auto" and self._answers is None and self._confirming():
                probed = self._status_now()  # the printer came back: does it answer?
                if probed is not None and not probed.prints:
                    self._failed_attempt(job["id"], probed.reason, describe_state(probed))
                    return None
            timeout = self._config.status_timeout_s if self._confirming() else None
            state = self._printer.send(data, status_timeout=timeout)
        except PrinterError as exc:
            self._failed_attempt(job["id"], exc.reason, str(exc))
            return None
        if state is not None and not state.prints:
            self._failed_attempt(job["id"], state.reason, describe_state(state))
            return None
        self._printed += 1
        self._set_state(UNCONFIRMED if state is None else state.reason)
        self._announce(job["id"], PRINTED)
        return "printed", None

    def _failed_attempt(self, job_id: int, reason: str | None, error: str) -> None:
        self._mark(job_id, "pending", error)  # still to print: counted, not finished
        if self._answers is False:
            self._answers = None  # auto: ask again whether it answers once it is back
        self._next_poll = time.monotonic() + self._poll_s
        self._set_state(reason or PRINTER_ERROR, error)

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

    def _set_state(self, reason: str | None, error: str | None = None) -> None:
        """Record the printer's state; the `printer.status` event (status, reason, and the
        reason's plain words as `error` while down) on every change of status or reason.
        Reasons other than None, `unconfirmed` and `paper_low` are "down"."""
        status: Status = _WORKING.get(reason, "down")
        online = status != "down"
        with self._lock:
            changed = (status, reason) != (self._status, self._reason)
            self._status, self._reason, self._online = status, reason, online
            if error:
                self._last_error = error
            stranded = [] if online else list(self._waiters.values())
            if stranded:
                self._waiters.clear()
        for done in stranded:  # the printer is down: their tickets answer "queued" now
            done.release()
        if changed:
            if online:
                log.info("printer %s%s", status, f" ({reason})" if reason else "")
            else:
                log.warning("printer down (%s): %s; asking again every %.0f s", reason, error, self._poll_s)
            # The event goes to the public stream too: the plain words, never the driver's
            # text (it names the printer's address); that stays in health's `last_error`.
            self._bus.publish(PrinterStatus(status, reason, None if online else MESSAGES.get(reason or "")))
