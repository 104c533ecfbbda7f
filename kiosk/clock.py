"""Injected time, so deadlines and the daily reset are tested without sleeping."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

#: The days a request may name (a report, a filter, a spot check, a due date): wide enough for
#: any site's records, and clear of datetime's own limits (years 1 and 9999), which the day
#: after, the day before or a time-zone shift would overflow.
FIRST_DAY = date(1900, 1, 1)
LAST_DAY = date(2999, 12, 31)


def day_in_range(day: date) -> bool:
    return FIRST_DAY <= day <= LAST_DAY


class Clock(Protocol):
    tz: ZoneInfo

    def now(self) -> datetime: ...


class SystemClock:
    def __init__(self, tz: str = "Asia/Shanghai") -> None:
        self.tz = ZoneInfo(tz)

    def now(self) -> datetime:
        return datetime.now(self.tz)


class FixedClock:
    """A clock tests set and advance by hand; thread-safe."""

    def __init__(self, start: datetime, tz: str = "Asia/Shanghai") -> None:
        self.tz = ZoneInfo(tz)
        self._now = start.astimezone(self.tz)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def set(self, when: datetime) -> None:
        with self._lock:
            self._now = when.astimezone(self.tz)

    def advance(self, **delta: float) -> datetime:
        with self._lock:
            self._now += timedelta(**delta)
            return self._now


def local_day(moment: datetime, tz: ZoneInfo) -> date:
    """The site's calendar day of `moment`; ticket numbers reset when it changes."""
    return moment.astimezone(tz).date()


def to_iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def utc_now() -> datetime:
    return datetime.now(UTC)


def db_time(moment: datetime) -> str:
    """How times are stored: UTC ISO 8601 with milliseconds, so text order is time order."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


def from_db_time(text: str | None, tz: ZoneInfo) -> datetime | None:
    return datetime.fromisoformat(text).astimezone(tz) if text else None
