"""The daily purge: once a day, at `retention.purge_hour` local time (or at the first
chance after it), the visit service deletes snapshots and visits past retention."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import date, datetime

log = logging.getLogger(__name__)


def purge_due(now: datetime, last_day: date | None, hour: int) -> bool:
    """Whether the daily purge should run now (pure)."""
    return now.hour >= hour and last_day != now.date()


class RetentionWorker:
    def __init__(self, purge: Callable[[], dict[str, int]], now: Callable[[], datetime], hour: int,
                 interval_s: float = 300.0) -> None:
        self._purge = purge
        self._now = now
        self._hour = hour
        self._interval = interval_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.last_day: date | None = None
        self.last_result: dict[str, int] | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="retention", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            now = self._now()
            if purge_due(now, self.last_day, self._hour):
                try:
                    self.last_result = self._purge()
                    self.last_day = now.date()
                    log.info("retention purge: %s", self.last_result)
                except Exception:
                    log.exception("retention purge failed")
