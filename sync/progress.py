"""A one-line progress bar with the rate, drawn on stderr while a backlog drains.

Only used when the stream is a terminal; `render` is pure and tested on its own.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TextIO


def _clock(seconds: float | None) -> str:
    if seconds is None:
        return "--:--"
    seconds = int(seconds)
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"


def render(done: int, total: int, elapsed_s: float, width: int = 28) -> str:
    total = max(total, done)
    fraction = done / total if total else 1.0
    filled = round(fraction * width)
    rate = done / elapsed_s if elapsed_s > 0 else 0.0
    eta = (total - done) / rate if rate > 0 else None
    return (f"sync [{'#' * filled}{'.' * (width - filled)}] {done:,}/{total:,} {fraction:4.0%} "
            f"{rate:,.0f} rec/s  ETA {_clock(eta)}")


class Progress:
    def __init__(self, stream: TextIO, total: int, *, monotonic: Callable[[], float] = time.monotonic,
                 min_interval_s: float = 0.1) -> None:
        self.stream = stream
        self.total = total
        self.done = 0
        self._monotonic = monotonic
        self._start = monotonic()
        self._last_draw = float("-inf")
        self._min_interval_s = min_interval_s

    @classmethod
    def for_stream(cls, stream: TextIO, total: int) -> Progress | None:
        """A bar when `stream` is a terminal, else None."""
        try:
            return cls(stream, total) if stream.isatty() else None
        except (AttributeError, ValueError):
            return None

    def update(self, done: int, total: int | None = None) -> None:
        self.done = done
        if total is not None:
            self.total = total
        now = self._monotonic()
        if now - self._last_draw >= self._min_interval_s:
            self._draw(now)

    def _draw(self, now: float) -> None:
        self._last_draw = now
        self.stream.write("\r" + render(self.done, self.total, now - self._start) + "\x1b[K")
        self.stream.flush()

    def close(self) -> None:
        self._draw(self._monotonic())
        self.stream.write("\n")
        self.stream.flush()
