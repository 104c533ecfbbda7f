"""Benchmark: many sites sending concurrently into kiosk-central on PostgreSQL, then the
cross-site dashboard over what was stored.

Starts a throw-away PostgreSQL server (tests/pgserver.py: initdb in a temporary folder,
a free loopback port; as `nobody` under root) and `kiosk-central serve --db
postgresql://…` in its own process. Then `--sites` simulated sites (threads spread over
`--procs` client processes, so the clients do not share the receiver's interpreter) each
send `--batches` signed batches of `--batch-size` ticket/case/survey records, as
`kiosk-sync` does, and the stored records per second are reported (counted in the
database, so what was stored, not what was sent). Then the dashboard: `--seed` more
records are stored through the store's own ingest (big batches), and the console's
`/api/v1/dashboard` (7 days, all sites) is timed `--runs` times with a logged-in session.

    .venv/bin/python bench/central_ingest.py [--sites 100] [--batches 20] [--batch-size 500]
                                             [--seed 2000000] [--runs 20]

Targets (issue 18): >= 5,000 records/s stored from 100 concurrent sites; the dashboard
over 2,000,000 records p95 <= 500 ms.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import re
import subprocess
import sys
import threading
import time
from datetime import date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx

from sync import protocol
from tests.pgserver import PgServer

from benchlib import free_port, pct

BIN = Path(sys.executable).parent
DAY0 = date(2026, 11, 1)


def records_for(site: str, start: int, n: int, days: int = 30) -> list[dict]:
    """n records of a site: tickets (two versions; waits to the second, so the dashboard's
    wait histogram has about as many rows as tickets), cases (three) and ratings, spread
    over `days`."""
    out = []
    i = start
    while len(out) < n:
        day = DAY0 + timedelta(days=(i // 40) % days)
        d = day.isoformat()
        kind_pick = i % 10
        if kind_pick < 7:
            local, version = divmod(i, 2)
            issued = f"{d}T09:{i % 60:02d}:00+08:00"
            called = f"{d}T{10 + i % 2}:{i * 13 % 60:02d}:{i * 31 % 60:02d}+08:00"  # waits of 1 s to 3 h
            data = {"id": local, "number": f"A{local % 999:03d}", "service": "A", "origin_service": "A", "day": d,
                    "status": "done" if version else "waiting", "counter": "1", "recalls": 0,
                    "resident_id": None, "visit_id": None, "version": version + 1, "priority": False,
                    "transferred": False, "issued_at": issued, "called_at": called if version else None,
                    "started_at": None, "finished_at": None, "no_show_at": None}
            out.append({"key": f"{site}:ticket:{local}:{version + 1}", "kind": "ticket", "op": "upsert",
                        "occurred_at": issued, "data": data})
        elif kind_pick < 9:
            local, version = divmod(i, 3)
            created = f"{d}T11:00:00+08:00"
            data = {"id": local, "type": "complaint" if local % 2 else "inquiry", "channel": "counter",
                    "status": "closed" if version == 2 else "open", "category": ["噪音", "停车", "维修"][local % 3],
                    "description": "x" * 40, "created_at": created, "clock_start": created,
                    "due_at": f"{d}T11:05:00+08:00", "first_answer_at": None, "feedback_at": None,
                    "version": version + 1}
            out.append({"key": f"{site}:case:{local}:{version + 1}", "kind": "case", "op": "upsert",
                        "occurred_at": created, "data": data})
        else:
            data = {"id": i, "form": "rating", "ticket_id": i, "score": i % 5 + 1, "comment": "",
                    "channel": "kiosk", "created_at": f"{d}T15:00:00+08:00"}
            out.append({"key": f"{site}:survey:{i}:1", "kind": "survey", "op": "upsert",
                        "occurred_at": data["created_at"], "data": data})
        i += 1
    return out


def load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def client_process(url: str, sites: list[str], secret: str, batches: int, batch_size: int, go: float) -> None:
    def one_site(site: str) -> None:
        with httpx.Client(timeout=120) as client:
            for b in range(batches):
                body = json.dumps({"batch_id": f"{site}-{b}", "records": records_for(site, b * batch_size,
                                                                                     batch_size)}).encode()
                for _ in range(50):
                    headers = protocol.signed_headers(site, secret, int(time.time()), body,
                                                      {protocol.H_AGENT: "bench/1"})
                    try:
                        r = client.post(f"{url}/api/v1/sites/{site}/batches", content=body, headers=headers)
                    except httpx.HTTPError:
                        time.sleep(0.2)
                        continue
                    if r.status_code == 200:
                        break
                    time.sleep(0.2)

    while time.time() < go:
        time.sleep(0.01)
    threads = [threading.Thread(target=one_site, args=(s,)) for s in sites]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sites", type=int, default=100)
    ap.add_argument("--batches", type=int, default=20)
    ap.add_argument("--batch-size", type=int, default=500)
    ap.add_argument("--procs", type=int, default=2)
    ap.add_argument("--threads", type=int, default=8, help="receiver threads (waitress)")
    ap.add_argument("--seed", type=int, default=2_000_000, help="records in the database for the dashboard")
    ap.add_argument("--runs", type=int, default=20)
    args = ap.parse_args()

    pg = PgServer()
    receiver = None
    try:
        db = pg.new_database()
        port = free_port()
        secret = "bench-secret"
        sites = [f"site-{n:03d}" for n in range(args.sites)]
        env = {**os.environ, "KIOSK_CENTRAL_SITES": ",".join(f"{s}={secret}" for s in sites),
               "KIOSK_CENTRAL_DB": db}
        env.pop("KIOSK_CONFIG", None)
        receiver = subprocess.Popen([str(BIN / "kiosk-central"), "serve", "--port", str(port), "--threads",
                                     str(args.threads)], env=env, stderr=subprocess.DEVNULL)
        url = f"http://127.0.0.1:{port}"
        for _ in range(200):
            try:
                httpx.get(url + "/healthz", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)

        from sync.central.storage import open_store

        store = open_store(db)
        expected = args.sites * args.batches * args.batch_size
        go = time.time() + 1.0
        procs = [multiprocessing.Process(target=client_process,
                                         args=(url, sites[i::args.procs], secret, args.batches, args.batch_size, go))
                 for i in range(args.procs)]
        for p in procs:
            p.start()
        for p in procs:
            p.join()
        elapsed = time.time() - go
        stored = store.record_count()
        print(f"ingest: {args.sites} sites x {args.batches} batches x {args.batch_size} records, "
              f"{args.procs} client processes, receiver threads {args.threads}")
        print(f"  stored {stored:,} of {expected:,} in {elapsed:.1f} s = {stored / elapsed:,.0f} records/s "
              f"(load average {load()})")

        # the dashboard over --seed records
        t0 = time.time()
        chunk = 20_000
        todo = list(range(max(0, args.seed - stored) // chunk))

        def seed_worker() -> None:
            while todo:
                try:
                    n = todo.pop()
                except IndexError:
                    return
                site = sites[n % len(sites)]
                store.store_batch(site, f"seed-{n}", records_for(site, 10_000_000 + (n // len(sites)) * chunk, chunk,
                                                                 days=60), [], 0)

        workers = [threading.Thread(target=seed_worker) for _ in range(3)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        seeded = time.time() - t0
        import psycopg

        with psycopg.connect(db, autocommit=True) as conn:
            conn.execute("ANALYZE")  # what autovacuum does after a bulk load; the planner needs the statistics
        total = store.record_count()
        if seeded > 0.5:
            print(f"seeded to {total:,} records through the store's ingest in {seeded:.0f} s "
                  f"({(total - stored) / seeded:,.0f} records/s, 3 threads of one process, batches of {chunk:,})")
        from sync.central.console import hash_password

        store.add_user("bench", "office_manager", hash_password("bench-password"))
        client = httpx.Client(timeout=120)
        form = client.get(url + "/login").text
        token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
        client.post(url + "/login", data={"csrf_token": token, "username": "bench", "password": "bench-password"})
        to = DAY0 + timedelta(days=29)
        params = {"from": (to - timedelta(days=6)).isoformat(), "to": to.isoformat()}
        times = []
        for _ in range(args.runs):
            t = time.perf_counter()
            r = client.get(url + "/api/v1/dashboard", params=params)
            times.append((time.perf_counter() - t) * 1000)
            assert r.status_code == 200, r.text[:200]
        k = r.json()["kpis"]
        print(f"dashboard over {total:,} records (7 days, {args.sites} sites; {k['tickets']:,} tickets, "
              f"{k['open_cases']:,} open cases): median {pct(times, 50):.0f} ms, p95 {pct(times, 95):.0f} ms "
              f"({args.runs} runs; load average {load()})")
        store.close()
        print(f"measured {datetime.now().isoformat(timespec='seconds')} while other work shared the host")
    finally:
        if receiver is not None:
            receiver.terminate()
            receiver.wait(30)
        pg.stop()


if __name__ == "__main__":
    main()
