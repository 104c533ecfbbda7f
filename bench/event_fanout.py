"""Benchmark: 500 live event streams open while tickets are issued and called.

Starts `kiosk serve` in its own process (fresh data directory, preview printer, speech and
camera off), then from separate client processes:
  - a reader process opens `--streams` public streams (`/api/v1/events?types=ticket.issued,
    ticket.called,ticket.updated`, what a hall display reads), 10 per loopback source address
    (127.0.0.2, 127.0.0.3, ...: the server allows 10 streams per address), all on one asyncio
    loop, and stamps when each `ticket.called` event reaches each stream;
  - `--issuers` clients issue tickets together at `--rate` tickets/s (Poisson arrivals; latency
    counted from when each request was due);
  - one client polls `/api/v1/board` 10 times a second;
  - one counter calls the next ticket every 0.25 s: call-next -> the event has reached all
    streams is the fan-out latency.
Reports p50/p99 of each, the server's RSS before the streams connect and at the end (streams
still open), and its thread count with every stream open.

    .venv/bin/python bench/event_fanout.py [--streams 500] [--issuers 8] [--rate 40] [--seconds 30]

Targets (2 cores): ticket issue p99 <= 50 ms, board p99 <= 50 ms, call-next -> event at all
streams p99 <= 250 ms, RSS growth <= 60 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from benchlib import Api, pct, proc_status, process_cpu_s, served_kiosk

CALLED = re.compile(rb"event: ticket\.called\ndata: \{\"id\":(\d+),")


# -- the reader process -----------------------------------------------------------------------
class _Reader(asyncio.Protocol):
    """One stream client; a Protocol rather than a StreamReader: the readers share the
    machine with the server, so each received chunk should cost them little."""

    def __init__(self, arrivals: dict[int, list[float]], ready: asyncio.Future) -> None:
        self.arrivals = arrivals
        self.ready = ready
        self.tail = b""
        self.started = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport.write(b"GET /api/v1/events?types=ticket.issued,ticket.called,ticket.updated HTTP/1.1\r\n"  # type: ignore[attr-defined]
                        b"Host: x\r\nAccept: text/event-stream\r\n\r\n")

    def data_received(self, chunk: bytes) -> None:
        now = time.monotonic()
        data = self.tail + chunk
        if not self.started:
            if b"\r\n\r\n" not in data:
                self.tail = data
                return
            if not data.startswith(b"HTTP/1.1 200"):
                self.ready.set_exception(SystemExit(f"stream refused: {data[:40]!r}"))
                return
            self.started = True
            self.ready.set_result(None)
        if b"ticket.called" in data:
            for match in CALLED.finditer(data):
                self.arrivals.setdefault(int(match.group(1)), []).append(now)
        self.tail = data[-200:]


async def _readers(port: int, streams: int, out: Path) -> None:
    loop = asyncio.get_running_loop()
    arrivals: dict[int, list[float]] = {}
    waiting = []
    for i in range(streams):
        ready = loop.create_future()
        await loop.create_connection(lambda ready=ready: _Reader(arrivals, ready), "127.0.0.1", port,
                                     local_addr=(f"127.0.0.{2 + i // 10}", 0))
        waiting.append(ready)
    await asyncio.gather(*waiting)
    print("ready", flush=True)
    await loop.run_in_executor(None, sys.stdin.readline)  # until told to stop
    out.write_text(json.dumps({str(k): v for k, v in arrivals.items()}))


# -- the driver -------------------------------------------------------------------------------
def drive(port: int, token: str, args: argparse.Namespace, stop_at: float) -> dict:
    issue_lat: list[float] = []
    board_lat: list[float] = []
    calls: dict[int, float] = {}
    lock = threading.Lock()

    def issuer(i: int) -> None:
        api, rng, due, mine = Api(port), random.Random(i), time.monotonic(), []
        while True:
            due += rng.expovariate(args.rate / args.issuers)
            if due > stop_at:
                break
            time.sleep(max(0.0, due - time.monotonic()))
            status, body = api.request("POST", "/api/v1/tickets", {"service": "ABCDEF"[i % 6]})
            mine.append(time.monotonic() - due)
            assert status == 201, (status, body)
        with lock:
            issue_lat.extend(mine)

    def board() -> None:
        api, due = Api(port), time.monotonic()
        while (due := due + 0.1) < stop_at:
            time.sleep(max(0.0, due - time.monotonic()))
            t0 = time.monotonic()
            status, _ = api.request("GET", "/api/v1/board")
            board_lat.append(time.monotonic() - t0)
            assert status == 200

    def caller() -> None:
        api, due = Api(port, token), time.monotonic() + 1.0
        while (due := due + 0.25) < stop_at - 1.0:
            time.sleep(max(0.0, due - time.monotonic()))
            t0 = time.monotonic()
            status, body = api.request("POST", "/api/v1/counters/1/call-next")
            if status == 200 and body:
                calls[body["id"]] = t0

    threads = [threading.Thread(target=issuer, args=(i,)) for i in range(args.issuers)]
    threads += [threading.Thread(target=board), threading.Thread(target=caller)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {"issue": issue_lat, "board": board_lat, "calls": calls}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, default=500)
    parser.add_argument("--issuers", type=int, default=8)
    parser.add_argument("--rate", type=float, default=40.0, help="tickets/s issued by all issuers together")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--reader", nargs=2, metavar=("PORT", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.reader:
        asyncio.run(_readers(int(args.reader[0]), args.streams, Path(args.reader[1])))
        return 0

    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        served = served_kiosk(Path(tmp))
        port, token = served.port, served.token("receptionist")
        server = served.start().process
        assert server is not None
        reader = None
        try:
            warm = Api(port)
            for n in range(200):
                warm.request("POST", "/api/v1/tickets", {"service": "ABCDEF"[n % 6]})
                warm.request("GET", "/api/v1/board")
            time.sleep(1.0)
            rss_before = proc_status(server.pid, "VmRSS")
            out = Path(tmp) / "arrivals.json"
            reader = subprocess.Popen([sys.executable, __file__, "--streams", str(args.streams),
                                       "--reader", str(port), str(out)],
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            assert reader.stdout is not None and reader.stdin is not None
            connect_start = time.monotonic()
            assert reader.stdout.readline().strip() == "ready"
            connect_s = time.monotonic() - connect_start
            threads_open = proc_status(server.pid, "Threads")
            cpu = (process_cpu_s(server.pid), process_cpu_s(reader.pid), time.monotonic())
            result = drive(port, token, args, time.monotonic() + args.seconds)
            time.sleep(1.0)  # the last events reach the streams
            wall = time.monotonic() - cpu[2]
            server_cpu, reader_cpu = process_cpu_s(server.pid) - cpu[0], process_cpu_s(reader.pid) - cpu[1]
            rss_after = proc_status(server.pid, "VmRSS")
            reader.stdin.write("stop\n")
            reader.stdin.flush()
            reader.wait(30)
            arrivals = {int(k): v for k, v in json.loads(out.read_text()).items()}
        finally:
            if reader is not None and reader.poll() is None:
                reader.kill()
            served.stop()
    fanout, complete = [], 0
    for ticket_id, sent in result["calls"].items():
        seen = arrivals.get(ticket_id, [])
        if len(seen) >= args.streams:
            complete += 1
            fanout.append(max(seen) - sent)
    issue, board = result["issue"], result["board"]
    print(f"machine: {os.cpu_count()} cores, python {sys.version.split()[0]}, load {load_before:.1f} before, "
          f"{os.getloadavg()[0]:.1f} after")
    print(f"{args.streams} streams connected in {connect_s:.1f} s; server threads with them open: {threads_open}")
    print(f"ticket issue ({args.issuers} clients, {args.rate:.0f}/s offered): {len(issue)} tickets, "
          f"p50 {pct(issue, 50) * 1000:.1f} ms, p99 {pct(issue, 99) * 1000:.1f} ms (from due time)")
    print(f"GET /api/v1/board: {len(board)} requests, p50 {pct(board, 50) * 1000:.1f} ms, "
          f"p99 {pct(board, 99) * 1000:.1f} ms")
    if fanout:
        print(f"call-next -> ticket.called at all {args.streams} streams: {complete}/{len(result['calls'])} calls, "
              f"p50 {pct(fanout, 50) * 1000:.1f} ms, p99 {pct(fanout, 99) * 1000:.1f} ms")
    else:
        print(f"call-next -> ticket.called: no call reached all {args.streams} streams")
    print(f"CPU during the run ({wall:.0f} s): server {server_cpu:.1f} s ({server_cpu / wall * 100:.0f} % of a core), "
          f"stream readers {reader_cpu:.1f} s; {len(issue) + len(result['calls'])} events fanned out to "
          f"{args.streams} streams")
    print(f"server RSS: {rss_before / 1024:.1f} MB before the streams, {rss_after / 1024:.1f} MB at the end "
          f"(+{(rss_after - rss_before) / 1024:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
