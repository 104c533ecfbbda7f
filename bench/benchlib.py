"""Helpers shared by the benchmarks (each is run as a script: `python bench/NAME.py`)."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from collections.abc import Callable


def pct(values: list[float], p: float) -> float:
    """The p-th percentile by nearest rank."""
    values = sorted(values)
    return values[max(0, min(len(values) - 1, int(round(p / 100 * (len(values) - 1)))))]


def free_port() -> int:
    """A loopback port where nothing listens yet."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def record_sse_arrivals(port: int, types: str, arrivals: dict, clock: Callable[[], float],
                        ready: threading.Event | None = None) -> threading.Thread:
    """Read /api/v1/events?types=… on a daemon thread; arrivals[event data "id"] = clock()
    when the event's data line arrives (stamped per received chunk, as a display would)."""

    def listen() -> None:
        sock = socket.create_connection(("127.0.0.1", port))
        sock.sendall(f"GET /api/v1/events?types={types} HTTP/1.1\r\nHost: x\r\n"
                     "Accept: text/event-stream\r\n\r\n".encode())
        if ready is not None:
            ready.set()
        buf = b""
        while chunk := sock.recv(65536):
            now = clock()
            buf += chunk
            while b"\n\n" in buf:
                block, buf = buf.split(b"\n\n", 1)
                for line in block.split(b"\n"):
                    if line.startswith(b"data:"):
                        with contextlib.suppress(ValueError, KeyError, TypeError):
                            arrivals[json.loads(line[5:])["id"]] = now

    thread = threading.Thread(target=listen, daemon=True)
    thread.start()
    return thread
