"""The staff login throttle of the kiosk and of the central console: wrong passwords are
counted per user name and per address; from the `login_free_failures`-th in a row (4x that
per address) each further one locks that name (or address) out for twice as long as the
last time, from `login_lockout_s` up to `login_lockout_max_s` (`LimitsConfig`). A right
password clears the name's count. Counters live in the process's memory; a restart forgets
them. The callers check one password hash on every attempt, locked or not, so the answer
takes the same time whether the user exists or not."""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass

from kiosk.config import LimitsConfig
from kiosk.errors import TooMany

MAX_TRACKED = 10_000
ADDRESS_FACTOR = 4


@dataclass
class _Failures:
    count: int = 0
    locked_until: float = 0.0
    last: float = 0.0


class LoginThrottle:
    """Times are seconds on any one clock (`check`, `failed`: `now`)."""

    def __init__(self, limits: LimitsConfig | None = None) -> None:
        self.limits = limits or LimitsConfig()
        self._failures: dict[tuple[str, str], _Failures] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _keys(name: str, address: str) -> list[tuple[str, str]]:
        return [("user", name[:150].casefold()), ("addr", address)]

    def check(self, name: str, address: str, now: float) -> None:
        """Raise `TooMany("login_locked")` (with seconds to wait) while the name or the address is locked."""
        with self._lock:
            wait = max((f.locked_until - now for k in self._keys(name, address) if (f := self._failures.get(k))),
                       default=0.0)
        if wait > 0:
            raise TooMany("login_locked", "too many wrong passwords: try again later", math.ceil(wait))

    def succeeded(self, name: str) -> None:
        with self._lock:
            self._failures.pop(self._keys(name, "")[0], None)

    def failed(self, name: str, address: str, now: float) -> None:
        limits = self.limits
        with self._lock:
            if len(self._failures) > MAX_TRACKED:
                stale = now - limits.login_lockout_max_s
                for key in [k for k, f in self._failures.items() if f.last < stale and f.locked_until < now]:
                    del self._failures[key]
            for key in self._keys(name, address):
                free = limits.login_free_failures * (1 if key[0] == "user" else ADDRESS_FACTOR)
                entry = self._failures.setdefault(key, _Failures())
                entry.count += 1
                entry.last = now
                if entry.count >= free:
                    lock = min(limits.login_lockout_s * 2 ** min(entry.count - free, 30), limits.login_lockout_max_s)
                    entry.locked_until = now + lock
