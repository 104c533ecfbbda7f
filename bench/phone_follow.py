"""Benchmark: residents' phones following their tickets while kiosks issue and desks call.

Starts `kiosk serve` in its own process (fresh data directory, preview printer, speech
and camera off), issues the tickets the phones follow, then at the same time:
  - N phones (default 300), in a separate process on one asyncio loop, each doing what
    the ticket page (kiosk/web/static/js/follow.js) does: read its ticket once
    (`GET /api/v1/t/<cap>`), hold the public event stream
    `/api/v1/events?types=ticket.called,ticket.updated`, and when another ticket of its
    service is called read its ticket again after a random 0.1-1.0 s (the page's spread);
  - 8 kiosk clients issuing tickets, together offering `--rate` tickets/s (Poisson
    arrivals; latency counted from when each request was due, and as answered);
  - 2 desks each pressing "call next" every `--interval` s until `--calls` calls.
Then, `--baseline` seconds of the same issue load with the phones gone, so that the
figures under load can be told apart from what the (shared) host gives at the moment.
Measures, for every call, the time from the desk sending call-next to the phone that
follows the called ticket receiving its `ticket.called` event (CLOCK_MONOTONIC, shared
by the processes), and the ticket issue latency under that load.

    .venv/bin/python bench/phone_follow.py [--phones 300] [--calls 120] [--rate 50] [--interval 1.0]

Targets (issue 17): each call reaches its phone p99 <= 500 ms; ticket issue p99 <= 50 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import random
import sys
import tempfile
import threading
import time
from pathlib import Path

from benchlib import Api, pct, served_kiosk

STREAM = "/api/v1/events?types=ticket.called,ticket.updated"


# -- the phones (own process) ---------------------------------------------------------------

async def _get_json(port: int, path: str) -> tuple[int, dict | None]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
    await writer.drain()
    raw = await reader.read()
    writer.close()
    head, _, body = raw.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    if b"chunked" in head.lower():
        out, rest = b"", body
        while rest:
            size_line, _, rest = rest.partition(b"\r\n")
            size = int(size_line, 16)
            if size == 0:
                break
            out, rest = out + rest[:size], rest[size + 2:]
        body = out
    return status, (json.loads(body) if body else None)


async def _phone(port: int, cap: str, arrivals: dict, stats: dict, connected: asyncio.Event, counter: list) -> None:
    status, ticket = await _get_json(port, f"/api/v1/t/{cap}")
    assert status == 200 and ticket, status
    number, service = ticket["number"], ticket["service"]
    refresh_due: list[asyncio.Task] = []

    async def refresh() -> None:
        await asyncio.sleep(0.1 + random.random() * 0.9)
        code, fresh = await _get_json(port, f"/api/v1/t/{cap}")
        stats["refreshes"] += 1
        if code != 200:
            stats["refresh_errors"] += 1
        elif fresh:
            ticket.update(fresh)
        refresh_due.clear()

    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET {STREAM} HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n".encode())
    await writer.drain()
    counter[0] += 1
    if counter[0] == stats["phones"]:
        connected.set()
    buf = b""
    while chunk := await reader.read(65536):
        now = time.monotonic()
        buf += chunk
        while b"\n\n" in buf:
            block, buf = buf.split(b"\n\n", 1)
            name = data = None
            for line in block.split(b"\n"):
                if line.startswith(b"event:"):
                    name = line[6:].strip().decode()
                elif line.startswith(b"data:"):
                    data = line[5:]
            if data is None or name is None:
                continue
            try:
                fact = json.loads(data)
            except ValueError:
                continue
            stats["events"] += 1
            if fact.get("number") == number:
                if name == "ticket.called" and number not in arrivals:
                    arrivals[number] = now
            elif fact.get("service") == service and ticket["status"] in ("waiting", "transferred") \
                    and not refresh_due:
                refresh_due.append(asyncio.create_task(refresh()))


def phones_process(port: int, caps: list[str], out: mp.Queue, ready: mp.Event, stop: mp.Event) -> None:
    async def main() -> None:
        arrivals: dict[str, float] = {}
        stats = {"phones": len(caps), "events": 0, "refreshes": 0, "refresh_errors": 0}
        connected = asyncio.Event()
        counter = [0]
        tasks = []
        for i, cap in enumerate(caps):
            tasks.append(asyncio.create_task(_phone(port, cap, arrivals, stats, connected, counter)))
            if i % 25 == 24:
                await asyncio.sleep(0.05)  # phones arrive over a moment, not in one instant
        await connected.wait()
        await asyncio.sleep(1.0)
        ready.set()
        while not stop.is_set():
            await asyncio.sleep(0.1)
        await asyncio.sleep(1.0)
        failed = [t for t in tasks if t.done() and t.exception()]
        stats["phone_errors"] = len(failed)
        out.put((arrivals, stats))
        for t in tasks:
            t.cancel()

    asyncio.run(main())


# -- kiosks and desks -----------------------------------------------------------------------

def issuers(port: int, clients: int, rate: float, stop: threading.Event, results: list) -> list[threading.Thread]:
    start = time.monotonic()

    def worker(i: int) -> None:
        api = Api(port)
        arrivals = random.Random(i)
        due = start
        while not stop.is_set():
            due += arrivals.expovariate(rate / clients)
            pause = due - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            t0 = time.monotonic()
            status, body = api.post("/api/v1/tickets", {"service": "F"})
            done = time.monotonic()
            assert status == 201, (status, body)
            results.append((done - due, done - t0))

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(clients)]
    for t in threads:
        t.start()
    return threads


def desk(port: int, token: str, counter: str, calls: int, interval: float, sent: dict, offset: float) -> None:
    api = Api(port, token)
    time.sleep(offset)
    next_at = time.monotonic()
    for _ in range(calls):
        pause = next_at - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        next_at += interval
        t0 = time.monotonic()
        status, body = api.post(f"/api/v1/counters/{counter}/call-next")
        assert status == 200, (status, body)
        sent[body["number"]] = t0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--phones", type=int, default=300)
    parser.add_argument("--calls", type=int, default=120, help="calls in all (two desks share them)")
    parser.add_argument("--rate", type=float, default=50.0, help="tickets/s the 8 kiosk clients offer together")
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between one desk's calls")
    parser.add_argument("--baseline", type=float, default=15.0,
                        help="seconds of the same ticket issue load after the phones left (0: skip)")
    args = parser.parse_args()
    calls = min(args.calls, args.phones)
    with tempfile.TemporaryDirectory() as tmp:
        # every phone here shares 127.0.0.1: lift the per-address stream cap above them
        served = served_kiosk(Path(tmp), server_toml=f"streams_per_address = {args.phones + 50}\n",
                              extra_toml='[phone]\nport = ""\n[site]\npublic_url = "http://127.0.0.1"\n')
        port, token = served.port, served.token("receptionist")
        server = served.start().process
        assert server is not None
        try:
            api = Api(port)
            caps = []
            for i in range(args.phones):  # the followed tickets, in services A-E (the kiosks issue F)
                status, body = api.post("/api/v1/tickets", {"service": "ABCDE"[i % 5], "paperless": True})
                assert status == 201, (status, body)
                caps.append(body["phone_url"].rsplit("/", 1)[1])
            out: mp.Queue = mp.Queue()
            ready, stop_phones = mp.Event(), mp.Event()
            phones = mp.Process(target=phones_process, args=(port, caps, out, ready, stop_phones), daemon=True)
            phones.start()
            if not ready.wait(120):
                raise SystemExit("the phones did not all connect within 120 s")
            issued: list[tuple[float, float]] = []
            stop_issuing = threading.Event()
            issuing = issuers(port, 8, args.rate, stop_issuing, issued)
            sent: dict[str, float] = {}
            desks = [threading.Thread(target=desk, args=(port, token, c, n, args.interval, sent, off))
                     for c, n, off in (("1", (calls + 1) // 2, 0.0), ("2", calls // 2, args.interval / 2))]
            started = time.monotonic()
            for d in desks:
                d.start()
            for d in desks:
                d.join()
            time.sleep(2.0)
            stop_issuing.set()
            for t in issuing:
                t.join(30)
            elapsed = time.monotonic() - started
            stop_phones.set()
            arrivals, stats = out.get(timeout=60)
            phones.join(10)
            base: list[tuple[float, float]] = []
            if args.baseline > 0:  # the same issue load, the phones gone: what the host gives now
                time.sleep(1.0)
                stop_base = threading.Event()
                base_threads = issuers(port, 8, args.rate, stop_base, base)
                time.sleep(args.baseline)
                stop_base.set()
                for t in base_threads:
                    t.join(30)
        finally:
            if server.poll() is not None:
                print(f"kiosk serve exited with {server.returncode}:", file=sys.stderr)
                sys.stderr.write(served.log.read_text(errors="replace")[-3000:])
            served.stop()
    lat = [arrivals[n] - t0 for n, t0 in sent.items() if n in arrivals]
    from_due = [d for d, _ in issued]
    answered = [a for _, a in issued]
    print(f"machine: {os.cpu_count()} cores, python {sys.version.split()[0]}")
    print(f"{args.phones} phones following tickets, 8 kiosk clients offering {args.rate:.0f} tickets/s, "
          f"2 desks calling every {args.interval:.2f} s each, {elapsed:.0f} s")
    if lat:
        print(f"call -> its phone: {len(lat)}/{len(sent)} calls reached their phone, p50 {pct(lat, 50) * 1000:.1f} ms, "
              f"p99 {pct(lat, 99) * 1000:.1f} ms, max {max(lat) * 1000:.1f} ms")
    else:
        print(f"call -> its phone: none of {len(sent)} calls reached its phone")
    print(f"ticket issue under that load: {len(issued)} tickets ({len(issued) / elapsed:.0f}/s), "
          f"p50 {pct(answered, 50) * 1000:.1f} ms, p99 {pct(answered, 99) * 1000:.1f} ms as answered; "
          f"from due time p99 {pct(from_due, 99) * 1000:.1f} ms")
    if base:
        print(f"ticket issue with no phone connected ({args.baseline:.0f} s after): {len(base)} tickets, "
              f"p50 {pct([a for _, a in base], 50) * 1000:.1f} ms, p99 {pct([a for _, a in base], 99) * 1000:.1f} ms "
              f"as answered; from due time p99 {pct([d for d, _ in base], 99) * 1000:.1f} ms")
    print(f"phones: {stats['events']} events received, {stats['refreshes']} ticket re-reads "
          f"({stats['refresh_errors']} failed), {stats['phone_errors']} phones failed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
