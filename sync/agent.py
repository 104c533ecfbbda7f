"""The sync agent: forwards the outbox to the central office in signed batches and
pulls the resident directory (DESIGN §6).

The decisions are pure (sync.protocol, sync.backoff); this module only reads a batch,
sends it, and settles its rows. At most one batch is held in memory. Rows leave the
outbox only after the central office answered for them, in one short transaction per
batch, so the agent can be killed at any point: what was not settled is sent again,
and the idempotency keys make the resend change nothing at the receiver.
"""

from __future__ import annotations

import logging
import random
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TextIO

import httpx

from kiosk.config import Config
from kiosk.store import sync_state as state
from kiosk.store.db import Database
from sync import protocol
from sync.backoff import Backoff
from sync.progress import Progress

log = logging.getLogger("kiosk.sync")

USER_AGENT = "kiosk-sync/1"
MAX_PULL_PAGES = 100_000


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class SyncStopped(Exception):
    """The central office refused our credentials (401/403): retrying cannot help."""


class GaveUp(Exception):
    """`once` met more consecutive transient failures than it was allowed."""


class Interrupted(Exception):
    """The stop event was set (SIGTERM, Ctrl-C) while waiting or between batches."""


class _PullRefused(Exception):
    """The directory request got a 4xx other than 401/403."""


class _Transient(Exception):
    def __init__(self, message: str, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


@dataclass
class AgentSettings:
    site_id: str
    url: str
    secret: str
    batch_size: int = 500
    interval_s: float = 5.0
    timeout_s: float = 30.0
    pull_interval_s: float = 60.0
    backoff: Backoff = field(default_factory=Backoff)

    @classmethod
    def from_config(cls, config: Config, **overrides) -> AgentSettings:
        s = config.sync
        return cls(site_id=config.site.id, url=s.url.rstrip("/"), secret=s.secret,
                   batch_size=max(1, s.batch_size), interval_s=max(0.05, s.interval_s), **overrides)


@dataclass
class DrainReport:
    accepted: int = 0
    rejected: int = 0
    batches: int = 0
    seconds: float = 0.0

    @property
    def rate(self) -> float:
        return (self.accepted + self.rejected) / self.seconds if self.seconds > 0 else 0.0


class SyncAgent:
    def __init__(self, db: Database, settings: AgentSettings, *, client: httpx.Client | None = None,
                 stop: threading.Event | None = None, wall: Callable[[], float] = time.time,
                 rand: Callable[[], float] = random.random, progress_stream: TextIO | None = None) -> None:
        self.db = db
        self.settings = settings
        self.stop = stop or threading.Event()
        self._wall = wall
        self._rand = rand
        self._progress_stream = progress_stream if progress_stream is not None else sys.stderr
        self._own_client = client is None
        self.client = client or httpx.Client(
            base_url=settings.url, headers={"User-Agent": USER_AGENT},
            timeout=httpx.Timeout(settings.timeout_s, connect=min(10.0, settings.timeout_s)))
        self.failures = 0  # consecutive transient failures, drives the back-off
        self.clock_offset_s = 0.0  # learnt from the receiver's Date header after a timestamp_skew 401

    def close(self) -> None:
        if self._own_client:
            self.client.close()

    # -- one exchange each ---------------------------------------------------------------
    def _signed(self, body: bytes, extra: dict[str, str] | None = None) -> dict[str, str]:
        s = self.settings
        return protocol.signed_headers(s.site_id, s.secret, int(self._wall() + self.clock_offset_s), body, extra)

    def _request(self, method: str, path: str, body: bytes = b"", extra: dict[str, str] | None = None,
                 params: dict | None = None) -> tuple[int | None, bytes, str | None, str | None]:
        for attempt in (1, 2):
            headers = self._signed(body, extra)
            if body:
                headers["Content-Type"] = "application/json"
            try:
                r = self.client.request(method, path, content=body, headers=headers, params=params)
            except httpx.TransportError as exc:
                return None, b"", None, f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            offset = protocol.clock_offset(r.status_code, r.content, r.headers.get("Date"), self._wall())
            if attempt == 1 and offset is not None:
                log.warning("sync: our clock is %+.0f s off the central office's; signing with its time", -offset)
                self.clock_offset_s = offset
                continue
            break
        return r.status_code, r.content, r.headers.get("Retry-After"), None

    def send_next_batch(self) -> tuple[int, int] | None:
        """Send the oldest batch and settle it: (accepted, rejected), or None if the outbox is empty.

        Raises _Transient (retry later), SyncStopped (401/403)."""
        rows = state.next_rows(self.db, self.settings.batch_size)
        if not rows:
            return None
        backlog = state.backlog(self.db)
        batch = protocol.build_batch(str(uuid.uuid4()), rows)
        del rows
        now = utc_now()
        if batch.unsendable:  # corrupt stored data can never be sent: dead-letter it here
            state.settle(self.db, accepted_ids=[], rejected=[(i, e) for i, _, e in batch.unsendable],
                         batch_id=batch.batch_id, at=now, success=False)
        if not batch.ids_by_key:
            return 0, len(batch.unsendable)
        status, body, retry_after, transport_error = self._request(
            "POST", protocol.batches_path(self.settings.site_id), batch.body,
            {protocol.H_BACKLOG: str(backlog), protocol.H_AGENT: USER_AGENT})
        decision = protocol.classify(status, body, sent_keys=batch.ids_by_key, transport_error=transport_error,
                                     retry_after=retry_after)
        now = utc_now()
        if decision.action == protocol.STOP:
            raise SyncStopped(decision.error)
        if decision.action == protocol.RETRY:
            raise _Transient(decision.reason, decision.retry_after_s)
        ids = batch.ids_by_key
        if decision.action == protocol.DEAD_LETTER:
            log.warning("central refused batch %s (%s): %d records moved to dead letters",
                        batch.batch_id, decision.error, len(ids))
            state.settle(self.db, accepted_ids=[], rejected=[(i, decision.reason) for i in ids.values()],
                         batch_id=batch.batch_id, at=now, success=False, error=decision.error)
            return 0, len(ids) + len(batch.unsendable)
        accepted_keys = dict.fromkeys(decision.accepted)
        accepted = [ids[k] for k in accepted_keys]
        rejected_keys = {k: e for k, e in decision.rejected if k not in accepted_keys}
        rejected = [(ids[k], e) for k, e in rejected_keys.items()]
        if not accepted and not rejected:
            raise _Transient(f"central answered for none of the {len(ids)} records sent")
        for key, error in rejected_keys.items():
            log.warning("central rejected %s: %s", key, error)
        state.settle(self.db, accepted_ids=accepted, rejected=rejected, batch_id=batch.batch_id, at=now,
                     error=decision.error)
        return len(accepted), len(rejected) + len(batch.unsendable)

    def pull_page(self) -> int:
        """Fetch and apply one page of directory changes after the stored cursor; returns its size."""
        cursor = state.residents_cursor(self.db)
        status, body, retry_after, transport_error = self._request(
            "GET", protocol.residents_path(self.settings.site_id), params={"since": cursor or ""})
        if status == 200:
            try:
                entries, new_cursor = protocol.parse_directory(body)
            except ValueError as exc:
                raise _Transient(f"directory answer not understood: {exc}") from None
            rows = [r for r in map(protocol.directory_row, entries) if r is not None]
            state.apply_directory_page(self.db, rows, new_cursor, utc_now())
            skipped = len(entries) - len(rows)
            if skipped:
                log.warning("directory: skipped %d entries without an id or name", skipped)
            return len(entries) if new_cursor != cursor else 0
        decision = protocol.classify(status, body, transport_error=transport_error, retry_after=retry_after)
        if decision.action == protocol.STOP:
            raise SyncStopped(decision.error)
        if decision.action == protocol.DEAD_LETTER:  # another 4xx: asking again at once will not help
            raise _PullRefused(decision.error)
        raise _Transient(decision.reason, decision.retry_after_s)

    # -- with retries ---------------------------------------------------------------------
    def _retrying(self, step: Callable, max_failures: int | None):
        while True:
            if self.stop.is_set():
                raise Interrupted()
            try:
                result = step()
            except _Transient as exc:
                self.failures += 1
                state.note_error(self.db, str(exc), utc_now())
                if max_failures is not None and self.failures > max_failures:
                    raise GaveUp(str(exc)) from None
                delay = self.settings.backoff.delay(self.failures, self._rand(), exc.retry_after_s)
                log.warning("sync: %s; retry %d in %.2f s", exc, self.failures, delay)
                if self.stop.wait(delay):
                    raise Interrupted() from None
                continue
            except SyncStopped as exc:
                state.note_stopped(self.db, str(exc), utc_now())
                raise
            self.failures = 0
            return result

    def drain(self, max_failures: int | None = None) -> DrainReport:
        """Send batches until the outbox is empty, backing off on transient failures."""
        report = DrainReport()
        started = time.monotonic()
        total = state.backlog(self.db)
        progress = Progress.for_stream(self._progress_stream, total) if total > self.settings.batch_size else None
        try:
            while True:
                result = self._retrying(self.send_next_batch, max_failures)
                if result is None:
                    break
                report.accepted += result[0]
                report.rejected += result[1]
                report.batches += 1
                if progress is not None:
                    done = report.accepted + report.rejected
                    progress.update(done, done + state.backlog(self.db))
        finally:
            report.seconds = time.monotonic() - started
            if progress is not None:
                progress.close()
        return report

    def pull(self, max_failures: int | None = None) -> int:
        """Bring the local directory up to date, page by page from the stored cursor."""
        total = 0
        for _ in range(MAX_PULL_PAGES):
            try:
                n = self._retrying(self.pull_page, max_failures)
            except _PullRefused as exc:
                log.warning("sync: directory pull refused: %s", exc)
                state.note_error(self.db, f"directory pull: {exc}", utc_now())
                break
            total += n
            if n == 0:
                break
        return total

    def once(self, max_failures: int | None = 5, pull: bool = True) -> DrainReport:
        report = self.drain(max_failures)
        if pull:
            self.pull(max_failures)
        return report

    def run(self) -> None:
        """Forward continuously until the stop event is set; raises SyncStopped on 401/403."""
        next_pull = 0.0
        while not self.stop.is_set():
            try:
                state.note_seen(self.db, utc_now())
                report = self.drain()
                if report.batches:
                    log.info("sync: sent %d records (%d rejected) in %d batches, %.0f rec/s",
                             report.accepted, report.rejected, report.batches, report.rate)
                if time.monotonic() >= next_pull:
                    # one try per interval: a failing directory must not hold back the records
                    next_pull = time.monotonic() + self.settings.pull_interval_s
                    try:
                        pulled = self.pull(max_failures=0)
                    except GaveUp:
                        pulled = 0
                    if pulled:
                        log.info("sync: %d directory changes applied", pulled)
            except Interrupted:
                break
            self.stop.wait(self.settings.interval_s)
