"""The retry schedule: exponential back-off with jitter, capped at five minutes.

Pure: the random draw is an argument, so the schedule is tested without sleeping and
the agent passes `random.random()`.
"""

from __future__ import annotations

from dataclasses import dataclass

CAP_S = 300.0


@dataclass(frozen=True)
class Backoff:
    base_s: float = 1.0      # the ceiling of the first delay
    factor: float = 2.0      # the ceiling grows by this per consecutive failure
    cap_s: float = CAP_S     # no delay is ever longer

    def ceiling(self, attempt: int) -> float:
        """min(cap, base * factor**(attempt-1)) for the attempt-th consecutive failure (1-based)."""
        exponent = max(0, attempt - 1)
        if exponent > 64:  # factor**exponent would overflow long before; the cap wins anyway
            return self.cap_s
        return min(self.cap_s, self.base_s * self.factor ** exponent)

    def delay(self, attempt: int, rand: float, retry_after_s: float | None = None) -> float:
        """Seconds to wait after the attempt-th consecutive failure.

        "Equal jitter": half the ceiling plus a random share of the other half, so the
        wait still grows while agents of many sites do not retry in step. A server's
        Retry-After is honoured as a floor, still within the cap.
        """
        ceiling = self.ceiling(attempt)
        wait = ceiling / 2 + ceiling / 2 * min(max(rand, 0.0), 1.0)
        if retry_after_s is not None:
            wait = max(wait, retry_after_s)
        return min(wait, self.cap_s)
