"""Benchmark: ticket issue and call-next → SSE latency over HTTP against `kiosk serve`.

Starts `kiosk serve` in its own process with a fresh data directory and the preview
printer, speech and the camera switched off (bench/qr_decode.py measures the camera),
then measures from a separate client process:
  1. ticket issue, 1 client: p50/p99 latency and throughput;
  2. ticket issue, 8 concurrent clients, each sending its next request as soon as the
     last is answered (closed loop): the most the server does, and the latency at that
     saturation, which by Little's law is about 8 / throughput; also the server's CPU
     time per ticket, which moves less than latency with what else the machine runs;
  3. ticket issue, 8 concurrent clients offering 300 tickets/s together (open loop,
     Poisson arrivals): latency is counted from when each request was due, so a slow
     answer that delays the client's next requests counts against them too;
  4. call-next → `ticket.called` SSE event latency as a display sees it: p50/p99.

    .venv/bin/python bench/ticket_issue.py [--issues 2000] [--calls 300] [--rate 300]

Targets on 2 cores (issue #2): issue p99 <= 25 ms, >= 300 tickets/s with 8 clients,
call-next -> display event p99 <= 50 ms.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from benchlib import Api, pct, process_cpu_s, record_sse_arrivals, served_kiosk


def issue_run(port: int, clients: int, total: int) -> dict:
    per_client = total // clients
    latencies: list[float] = []
    lock = threading.Lock()
    barrier = threading.Barrier(clients + 1)
    statuses: dict[str, int] = {}

    def worker(i: int) -> None:
        api = Api(port)
        mine = []
        barrier.wait()
        for n in range(per_client):
            t0 = time.perf_counter()
            status, body = api.post("/api/v1/tickets", {"service": "ABCDEF"[(i + n) % 6]})
            mine.append(time.perf_counter() - t0)
            assert status == 201, (status, body)
            with lock:
                statuses[body["print"]["status"]] = statuses.get(body["print"]["status"], 0) + 1
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    barrier.wait()
    start = time.perf_counter()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    return {"clients": clients, "tickets": len(latencies), "p50_ms": pct(latencies, 50) * 1000,
            "p99_ms": pct(latencies, 99) * 1000, "per_s": len(latencies) / elapsed, "print": statuses}


def paced_run(port: int, clients: int, rate: float, total: int) -> dict:
    """`clients` connections offering `rate` tickets/s together; latency from due time."""
    per_client = total // clients
    latencies: list[float] = []
    lock = threading.Lock()
    start = time.perf_counter() + 0.2

    def worker(i: int) -> None:
        api = Api(port)
        arrivals = random.Random(i)
        due = start
        mine = []
        for n in range(per_client):
            due += arrivals.expovariate(rate / clients)
            pause = due - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            status, body = api.post("/api/v1/tickets", {"service": "ABCDEF"[(i + n) % 6]})
            mine.append(time.perf_counter() - due)
            assert status == 201, (status, body)
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    return {"clients": clients, "rate": rate, "tickets": len(latencies), "p50_ms": pct(latencies, 50) * 1000,
            "p99_ms": pct(latencies, 99) * 1000, "per_s": len(latencies) / elapsed}


def sse_run(port: int, token: str, calls: int) -> dict:
    sent: dict[int, float] = {}
    received: dict[int, float] = {}
    ready = threading.Event()

    api = Api(port, token)
    for _ in range(calls):
        api.post("/api/v1/tickets", {"service": "A"})
    record_sse_arrivals(port, "ticket.called", received, time.perf_counter, ready)
    ready.wait()
    time.sleep(0.3)
    for _ in range(calls):
        t0 = time.perf_counter()
        status, body = api.post("/api/v1/counters/1/call-next")
        assert status == 200, status
        sent[body["id"]] = t0
    deadline = time.perf_counter() + 30
    while len(received) < calls and time.perf_counter() < deadline:
        time.sleep(0.05)
    lat = [received[k] - sent[k] for k in sent if k in received]
    return {"calls": calls, "events": len(lat), "p50_ms": pct(lat, 50) * 1000, "p99_ms": pct(lat, 99) * 1000,
            "mean_ms": statistics.mean(lat) * 1000}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--issues", type=int, default=2000)
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--rate", type=float, default=300.0, help="tickets/s offered in the paced run")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        served = served_kiosk(Path(tmp))
        port, token = served.port, served.token("receptionist")
        server = served.start().process
        assert server is not None
        try:
            issue_run(port, 1, 50)  # warm up
            results = []
            for clients, total in ((1, args.issues // 4), (8, args.issues)):
                cpu_before = process_cpu_s(server.pid)
                results.append(issue_run(port, clients, total))
                results[-1]["server_cpu_ms"] = (process_cpu_s(server.pid) - cpu_before) / total * 1000
            paced = paced_run(port, 8, args.rate, args.issues)
            sse = sse_run(port, token, args.calls)
        finally:
            served.stop()
    print(f"machine: {os.cpu_count()} cores, python {sys.version.split()[0]}")
    for r in results:
        print(f"ticket issue, {r['clients']} client(s): {r['tickets']} tickets, p50 {r['p50_ms']:.1f} ms, "
              f"p99 {r['p99_ms']:.1f} ms, {r['per_s']:.0f} tickets/s, server CPU {r['server_cpu_ms']:.2f} ms/ticket, "
              f"print {r['print']}")
    print(f"ticket issue, {paced['clients']} clients offering {paced['rate']:.0f}/s: {paced['tickets']} tickets, "
          f"p50 {paced['p50_ms']:.1f} ms, p99 {paced['p99_ms']:.1f} ms (from due time), {paced['per_s']:.0f} tickets/s")
    print(f"call-next -> SSE ticket.called: {sse['events']}/{sse['calls']} events, p50 {sse['p50_ms']:.1f} ms, "
          f"p99 {sse['p99_ms']:.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
