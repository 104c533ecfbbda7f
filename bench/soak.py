"""Soak: memory of a long-running `kiosk serve` over many tickets.

Starts `kiosk serve` in its own process (fresh data directory, the preview printer, speech
and camera off) and talks only HTTP to it, as the front desk does all day:
  - `--clients` kiosks issue `--tickets` tickets in all, each followed by a counter's
    call-next (which finishes the counter's last ticket), so the queue stays short;
  - every `--checkin-every`th ticket also checks a visitor in (a printed pass);
  - `--streams` event-stream clients (displays, consoles, phones) connect to
    /api/v1/events, read for 0.2-3 s, leave and come back, all run long;
  - the board, the services and one ticket are read now and then, as the screens do.
The server's resident set size (VmRSS from /proc) is sampled every `--sample-s` seconds.
The warm-up is the first `--warmup` tickets; the run passes when RSS at the end is at most
`--limit-mb` above RSS at the end of the warm-up (issue target: 10 MB). After the run the
server idles `--idle-s` seconds and is sampled once more.

    .venv/bin/python bench/soak.py [--tickets 100000] [--warmup 10000] [--clients 8] [--streams 4]
    .venv/bin/python bench/soak.py --tickets 20000 --trace   # tracemalloc: what grew (kiosk/memory.py)

Exit status 0 when the growth is within the limit, 1 otherwise. Ctrl-C (SIGINT) stops
issuing and reports the figures reached so far.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

from benchlib import Api, proc_status, served_kiosk


def rss_mb(pid: int) -> float:
    return proc_status(pid, "VmRSS") / 1024


class Load:
    """The desk's traffic, shared counters, and the failures seen."""

    def __init__(self, port: int, token: str, tickets: int, checkin_every: int) -> None:
        self.port = port
        self.token = token
        self.total = tickets
        self.checkin_every = checkin_every
        self.issued = 0
        self.calls = 0
        self.checkins = 0
        self.streams_opened = 0
        self.failures: dict[str, int] = {}
        self.lock = threading.Lock()
        self.done = threading.Event()

    def _fail(self, what: str) -> None:
        with self.lock:
            self.failures[what] = self.failures.get(what, 0) + 1

    def _next(self) -> int | None:
        with self.lock:
            if self.issued >= self.total:
                return None
            self.issued += 1
            return self.issued

    def kiosk(self, i: int) -> None:
        kiosk, desk = Api(self.port, timeout=60, retries=2), Api(self.port, self.token, timeout=60, retries=2)
        rng = random.Random(i)
        while (n := self._next()) is not None:
            status, body = kiosk.request("POST", "/api/v1/tickets", {"service": "ABCDEF"[n % 6]})
            if status != 201:
                self._fail(f"issue {status}")
                continue
            if n % self.checkin_every == 0:
                status, _ = kiosk.request("POST", "/api/v1/checkins", {"method": "manual", "visitor": {
                    "name": f"Visitor {n}", "phone": f"139{n % 100_000_000:08d}", "unit": f"{n % 30}-{n % 6}01",
                    "purpose": "soak"}})
                if status == 201:
                    with self.lock:
                        self.checkins += 1
                else:
                    self._fail(f"checkin {status}")
            status, _ = desk.request("POST", f"/api/v1/counters/{1 + n % 2}/call-next")
            if status in (200, 204):
                with self.lock:
                    self.calls += status == 200
            else:
                self._fail(f"call-next {status}")
            if rng.random() < 0.05:
                for path in ("/api/v1/board", "/api/v1/services", f"/api/v1/tickets/{body['id']}"):
                    status, _ = kiosk.request("GET", path)
                    if status != 200:
                        self._fail(f"GET {path.split('/')[3]} {status}")

    def stream_client(self, i: int) -> None:
        rng = random.Random(1000 + i)
        while not self.done.is_set():
            try:
                sock = socket.create_connection(("127.0.0.1", self.port), timeout=5)
                sock.sendall(b"GET /api/v1/events HTTP/1.1\r\nHost: soak\r\nAccept: text/event-stream\r\n\r\n")
                with self.lock:
                    self.streams_opened += 1
                until = time.monotonic() + rng.uniform(0.2, 3.0)
                sock.settimeout(0.5)
                while time.monotonic() < until and not self.done.is_set():
                    try:
                        if not sock.recv(65536):
                            break
                    except TimeoutError:
                        pass
                sock.close()
            except OSError:
                self._fail("stream")
                time.sleep(0.5)
            time.sleep(rng.uniform(0.0, 0.5))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--warmup", type=int, default=None, help="tickets of warm-up (default: a tenth)")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--streams", type=int, default=4, help="event-stream clients coming and going")
    parser.add_argument("--checkin-every", type=int, default=20)
    parser.add_argument("--sample-s", type=float, default=2.0)
    parser.add_argument("--idle-s", type=float, default=20.0)
    parser.add_argument("--limit-mb", type=float, default=10.0)
    parser.add_argument("--trace", action="store_true", help="tracemalloc in the server; print what grew")
    parser.add_argument("--keep", help="keep the server's data directory here (log, snapshots)")
    args = parser.parse_args()
    # also when started in the background, where a shell leaves SIGINT ignored
    signal.signal(signal.SIGINT, signal.default_int_handler)
    warmup = args.warmup if args.warmup is not None else args.tickets // 10
    tmp_holder = None if args.keep else tempfile.TemporaryDirectory()
    tmp = Path(args.keep or tmp_holder.name)  # type: ignore[union-attr]
    served = served_kiosk(tmp)
    if args.trace:
        served.env["KIOSK_TRACEMALLOC"] = str(tmp / "tracemalloc")
    port, token = served.port, served.token("receptionist")
    server = served.start().process
    assert server is not None
    samples: list[tuple[float, int, float]] = []
    marks: dict[str, tuple[float, int, float]] = {}
    try:
        load = Load(port, token, args.tickets, args.checkin_every)
        start = time.monotonic()
        sampler_stop = threading.Event()

        def sample() -> tuple[float, int, float]:
            point = (time.monotonic() - start, load.issued, rss_mb(server.pid))
            samples.append(point)
            return point

        def sampler() -> None:
            while not sampler_stop.wait(args.sample_s):
                point = sample()
                if "warmup" not in marks and point[1] >= warmup:
                    marks["warmup"] = point
                    if args.trace:
                        server.send_signal(signal.SIGUSR1)

        sample()
        threads = [threading.Thread(target=sampler, daemon=True)]
        threads += [threading.Thread(target=load.stream_client, args=(i,), daemon=True) for i in range(args.streams)]
        workers = [threading.Thread(target=load.kiosk, args=(i,)) for i in range(args.clients)]
        for t in threads + workers:
            t.start()
        last_report = 0
        try:
            while any(t.is_alive() for t in workers):
                time.sleep(1)
                if load.issued - last_report >= max(1, args.tickets // 10):
                    last_report = load.issued
                    print(f"  {load.issued:>7} tickets  {time.monotonic() - start:7.0f} s  "
                          f"RSS {rss_mb(server.pid):6.1f} MB", flush=True)
        except KeyboardInterrupt:  # Ctrl-C (SIGINT): stop issuing, report what was reached
            with load.lock:
                load.total = load.issued
            print(f"  interrupted at {load.issued} tickets", flush=True)
        for t in workers:
            t.join()
        load.done.set()
        sampler_stop.set()
        elapsed = time.monotonic() - start
        marks.setdefault("warmup", samples[0])
        marks["end"] = sample()
        if args.trace:
            server.send_signal(signal.SIGUSR1)
            time.sleep(10)
        time.sleep(args.idle_s)
        marks["idle"] = sample()
    finally:
        served.stop()
    warm, end, idle = marks["warmup"], marks["end"], marks["idle"]
    growth = end[2] - warm[2]
    print(f"machine: {os.cpu_count()} cores, python {sys.version.split()[0]}; "
          "measured while other work shared the host")
    print(f"load: {load.issued} tickets ({load.issued / elapsed:.0f}/s), {load.calls} called, "
          f"{load.checkins} check-ins, {load.streams_opened} event streams opened and closed, "
          f"{args.clients} clients, {elapsed:.0f} s")
    print(f"failures: {load.failures or 'none'}")
    print("samples (s, tickets, RSS MB), every tenth:")
    step = max(1, len(samples) // 10)
    for t, n, mb in samples[::step] + [samples[-1]]:
        print(f"  {t:7.0f} s  {n:>7} tickets  {mb:6.1f} MB")
    print(f"RSS after warm-up ({warm[1]} tickets): {warm[2]:.1f} MB; at the end ({end[1]} tickets): {end[2]:.1f} MB; "
          f"growth {growth:+.1f} MB (limit {args.limit_mb:.0f} MB); after {args.idle_s:.0f} s idle: {idle[2]:.1f} MB; "
          f"peak {max(s[2] for s in samples):.1f} MB")
    if args.trace:
        reports = sorted((tmp / "tracemalloc").glob("growth-*.txt"))
        print(reports[-1].read_text()[:6000] if reports else "no tracemalloc report from the server")
    if tmp_holder is not None:
        tmp_holder.cleanup()
    return 0 if growth <= args.limit_mb and not load.failures else 1


if __name__ == "__main__":
    sys.exit(main())
