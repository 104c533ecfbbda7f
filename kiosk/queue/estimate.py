"""Wait estimates from recent service times and the counters at work."""

from __future__ import annotations

import math
from statistics import median


def service_time(recent_durations_s: list[float], default_s: float) -> float:
    """Typical time at the counter: the median of recent durations, robust to one long case."""
    usable = [d for d in recent_durations_s if d > 0]
    return median(usable) if usable else default_s


def estimate_wait(people_ahead: int, typical_s: float, active_counters: int) -> int:
    """Seconds until a ticket with `people_ahead` is called, rounded up to a whole minute."""
    if people_ahead <= 0:
        return 0
    seconds = people_ahead * typical_s / max(1, active_counters)
    return int(math.ceil(seconds / 60.0) * 60)
