"""Helpers shared by the benchmarks (each is run as a script: `python bench/NAME.py`).

A benchmark's server is `tests/served.py: ServedKiosk` (a real `kiosk serve` with its own
config in a throw-away folder), the same the schemathesis run uses."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import socket
import sys
import threading
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.peers import free_port
from tests.served import ServedKiosk

__all__ = ["Api", "ServedKiosk", "free_port", "pct", "proc_status", "process_cpu_s", "record_sse_arrivals",
           "served_kiosk"]

#: Every benchmark's client is the one local kiosk, so the request limits are off
#: (tests/web/test_limits.py covers them).
BENCH_TOML = "[limits]\nenabled = false\n"


def served_kiosk(data_dir: Path, *, server_toml: str = "", extra_toml: str = "") -> ServedKiosk:
    """A benchmark's `kiosk serve` (not started): the preview printer with its default wait."""
    return ServedKiosk(data_dir, BENCH_TOML + extra_toml, server_toml=server_toml, printer_toml="")


class Api:
    """One keep-alive HTTP connection to the kiosk on 127.0.0.1; `retries` reconnects after a
    dropped connection (a long soak outlives some)."""

    def __init__(self, port: int, token: str | None = None, *, timeout: float = 30, retries: int = 0) -> None:
        self.port, self.timeout, self.retries = port, timeout, retries
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        self.headers = {"Content-Type": "application/json"}
        if token:
            self.headers["Authorization"] = f"Bearer {token}"

    def request(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict | None]:
        for attempt in range(self.retries + 1):
            try:
                self.conn.request(method, path, body=None if body is None else json.dumps(body),
                                  headers=self.headers)
                r = self.conn.getresponse()
                data = r.read()
                return r.status, (json.loads(data) if data else None)
            except (OSError, http.client.HTTPException):
                self.conn.close()
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
                if attempt == self.retries:
                    raise
        raise AssertionError("unreachable")

    def post(self, path: str, body: dict | None = None) -> tuple[int, dict | None]:
        return self.request("POST", path, body or {})


def process_cpu_s(pid: int) -> float:
    """User + system CPU seconds of process `pid` so far (Linux). Unlike latency, CPU per
    ticket hardly moves when other work shares the machine: the figure to track."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proc_status(pid: int, field: str) -> int:
    """A number from /proc/PID/status (VmRSS in kB, Threads)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def pct(values: list[float], p: float) -> float:
    """The p-th percentile by nearest rank."""
    values = sorted(values)
    return values[max(0, min(len(values) - 1, int(round(p / 100 * (len(values) - 1)))))]


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
