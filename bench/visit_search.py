"""Benchmark: the security review's search over a year of visits (200,000 rows).

Fills a fresh database through the real migrations (trigram index and triggers
included) with 200,000 visits spread over 365 days, then times the visit service's
search (the count plus the first page of 25, as the security page asks) for the
filters the page offers: one day, a week by unit, a 1-character surname over the whole
year (LIKE), 3+ character text (trigram index), a phone fragment, a method.

    .venv/bin/python bench/visit_search.py [--rows 200000] [--repeat 30]

Target (issue #3): well under 100 ms per search.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kiosk.clock import FixedClock, db_time
from kiosk.config import Config
from kiosk.events import EventBus
from kiosk.services.visits import VisitService
from kiosk.store import open_database

from benchlib import pct

TZ = ZoneInfo("Asia/Shanghai")
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰涛明超秀霞平刚桂英"



def fill(db, rows: int, end: datetime) -> None:
    rnd = random.Random(7)
    start = end - timedelta(days=365)
    step = timedelta(days=365) / rows
    batch = []
    for i in range(rows):
        at = start + step * i
        kind = "resident" if rnd.random() < 0.6 else "visitor"
        unit = f"{rnd.randint(1, 12)}-{rnd.randint(1, 4)}-{rnd.randint(1, 33)}{rnd.randint(1, 4):02d}"
        name = rnd.choice(SURNAMES) + ("女士" if rnd.random() < 0.3 else rnd.choice(GIVEN) + rnd.choice(GIVEN))
        phone = f"13{rnd.randint(0, 9)}{rnd.randint(10_000_000, 99_999_999)}"
        method = "qr" if kind == "resident" and rnd.random() < 0.7 else ("id" if kind == "resident" else "manual")
        batch.append((kind, method, name, phone, phone, unit, "探亲访友" if kind == "visitor" else "",
                      at.astimezone(TZ).date().isoformat(), db_time(at), db_time(at)))
    with db.write() as conn:
        conn.executemany(
            "INSERT INTO visits (kind, method, name, phone, phone_norm, unit, purpose, day, checked_in_at, "
            "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", batch)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        cfg = Config()
        cfg.database.path = f"{tmp}/kiosk.db"
        db = open_database(cfg.database.path)
        now = datetime(2026, 11, 27, 18, 0, tzinfo=TZ)
        t0 = time.perf_counter()
        fill(db, args.rows, now)
        print(f"{args.rows} visits over 365 days written in {time.perf_counter() - t0:.1f} s "
              f"(with the trigram index)")
        service = VisitService(db, cfg, FixedClock(now), EventBus(), b"k" * 32)
        today = now.date()
        sample = db.query_one("SELECT name, unit, phone FROM visits ORDER BY id DESC LIMIT 1 OFFSET 5000")
        cases = [
            ("one day (the default list)", {"day_from": today, "day_to": today}),
            ("one week, a unit", {"day_from": today - timedelta(days=6), "day_to": today, "unit": sample["unit"]}),
            ("year, 1-char surname 张 (index prefix)", {"q": "张"}),
            ("year, 2-char name (index prefix)", {"q": sample["name"][:2]}),
            ("year, full name 3+ chars (trigram)", {"q": sample["name"] if len(sample["name"]) >= 3
                                                     else sample["name"] + "女"}),
            ("year, unit text (trigram)", {"q": sample["unit"]}),
            ("year, phone fragment (trigram)", {"q": sample["phone"][-6:]}),
            ("month, method=id", {"day_from": today - timedelta(days=30), "day_to": today, "method": "id"}),
            ("year, no match 4 chars (trigram)", {"q": "不存在的"}),
            ("year, unit prefix 12 (index prefix)", {"q": "12"}),
        ]
        print(f"\nsearch = COUNT(*) + first page of 25, {args.repeat} runs each")
        print(f"{'filter':<38} {'matches':>8} {'p50 ms':>8} {'p95 ms':>8}")
        for label, kwargs in cases:
            times = []
            for _ in range(args.repeat):
                t = time.perf_counter()
                _rows, total = service.search(**kwargs, limit=25)
                times.append((time.perf_counter() - t) * 1000)
            print(f"{label:<38} {total:>8} {pct(times, 50):8.1f} {pct(times, 95):8.1f}")
        db.close()


if __name__ == "__main__":
    main()
