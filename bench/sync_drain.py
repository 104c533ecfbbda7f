"""Benchmark: drain a 100,000-record outbox backlog to kiosk-central on loopback.

Fills a fresh kiosk database's outbox with ticket records (the data of a real ticket
made by the queue service, repeated with new ids and versions), starts
`kiosk-central serve` in its own process, then times `kiosk-sync once --no-pull` as a
subprocess and reads the agent's peak RSS from wait4()'s ru_maxrss.

    .venv/bin/python bench/sync_drain.py [--records 100000] [--batch-size 500]

Targets (issue #6): >= 3,000 records/s, agent peak RSS <= 80 MB.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kiosk.clock import FixedClock
from kiosk.config import Config
from kiosk.events import EventBus
from kiosk.services.queue import QueueService
from kiosk.store import open_database, outbox

from benchlib import free_port

BIN = Path(sys.executable).parent
SITE, SECRET = "bench-site", "bench-secret"



def fill_outbox(db_path: str, records: int) -> None:
    cfg = Config()
    cfg.site.id = SITE
    cfg.database.path = db_path
    db = open_database(db_path)
    clock = FixedClock(datetime(2026, 11, 27, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai")))
    QueueService(db, cfg, clock, EventBus()).issue("A")  # one real ticket record as the template
    template = json.loads(db.scalar("SELECT data FROM outbox"))
    occurred = db.scalar("SELECT occurred_at FROM outbox")
    with db.write() as conn:
        conn.execute("DELETE FROM outbox")
    chunk = 10_000
    for start in range(0, records, chunk):
        with db.write() as conn:
            for i in range(start, min(records, start + chunk)):
                local_id, version = divmod(i, 4)
                data = {**template, "id": local_id + 1, "version": version + 1, "number": f"A{local_id % 999 + 1:03d}"}
                outbox.add(conn, site_id=SITE, kind="ticket", local_id=local_id + 1, version=version + 1,
                           occurred_at=occurred, data=data)
    db.close()


def wait_http(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--batch-size", type=int, default=500)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="sync-bench-") as tmp:
        db_path = str(Path(tmp) / "var" / "kiosk.db")
        port = free_port()
        config = Path(tmp) / "kiosk.toml"
        config.write_text(f'[site]\nid = "{SITE}"\n[database]\npath = "{db_path}"\n'
                          f'[sync]\nurl = "http://127.0.0.1:{port}"\nsecret = "{SECRET}"\n'
                          f"batch_size = {args.batch_size}\n")
        t0 = time.perf_counter()
        fill_outbox(db_path, args.records)
        print(f"outbox filled with {args.records:,} records in {time.perf_counter() - t0:.1f} s", file=sys.stderr)

        env = {**os.environ, "KIOSK_CONFIG": str(config)}
        central = subprocess.Popen([str(BIN / "kiosk-central"), "serve", "--db", str(Path(tmp) / "central.db")],
                                   env=env, stderr=subprocess.DEVNULL)
        try:
            wait_http(f"http://127.0.0.1:{port}/healthz")
            start = time.perf_counter()
            agent = subprocess.Popen([str(BIN / "kiosk-sync"), "once", "--no-pull"], env=env,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            _, status, usage = os.wait4(agent.pid, 0)
            seconds = time.perf_counter() - start
            agent.returncode = os.waitstatus_to_exitcode(status)
            err = agent.stderr.read().decode()
            if agent.returncode != 0:
                print(err, file=sys.stderr)
                return 1
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/sites") as r:
                held = json.load(r)["sites"][0]["total"]
        finally:
            central.terminate()
            central.wait(30)

    rate = args.records / seconds
    rss_mb = usage.ru_maxrss / 1024  # KiB on Linux
    ok_rate, ok_rss, ok_count = rate >= 3000, rss_mb <= 80, held == args.records
    print(f"records        {args.records:,} (central holds {held:,})")
    print(f"batch size     {args.batch_size}")
    print(f"drain time     {seconds:.2f} s (agent process start to exit)")
    print(f"throughput     {rate:,.0f} records/s   target >= 3,000   {'PASS' if ok_rate else 'FAIL'}")
    print(f"agent peak RSS {rss_mb:.1f} MB   target <= 80 MB   {'PASS' if ok_rss else 'FAIL'}")
    return 0 if ok_rate and ok_rss and ok_count else 1


if __name__ == "__main__":
    sys.exit(main())
