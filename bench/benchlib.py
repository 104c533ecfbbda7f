"""Helpers shared by the benchmarks (each is run as a script: `python bench/NAME.py`)."""

from __future__ import annotations

import socket


def pct(values: list[float], p: float) -> float:
    """The p-th percentile by nearest rank."""
    values = sorted(values)
    return values[max(0, min(len(values) - 1, int(round(p / 100 * (len(values) - 1)))))]


def free_port() -> int:
    """A loopback port where nothing listens yet."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
