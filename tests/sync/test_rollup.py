"""The dashboard's counters kept at ingest (sync.central.rollup) against the figures
computed from the raw stored records, on both back-ends: after resent batches, versions
arriving out of order, newer versions superseding older ones, deletes (a PIPL erasure:
delete at V, then the anonymised version V+1) and older resends after a delete; and the
migration that builds the counters from rows stored before it."""

import math
import random
import sqlite3
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import psycopg
import pytest

from sync.central.migrations import MIGRATIONS
from sync.central.storage import Aggregates, facts, open_store

from .conftest import BACKENDS

pytestmark = pytest.mark.parametrize("backend", BACKENDS)

TZ = ZoneInfo("Asia/Shanghai")
DAY0 = datetime(2026, 11, 20, 8, 0, tzinfo=TZ)
SITES = ("s1", "s2", "s3")


def iso(t: datetime) -> str:
    return t.isoformat(timespec="seconds")


def ticket_versions(rng, i):
    issued = DAY0 + timedelta(days=rng.randrange(6), minutes=rng.randrange(600))
    day = issued.date().isoformat()
    base = {"id": i, "day": day, "issued_at": iso(issued), "called_at": None, "status": "waiting"}
    called = issued + timedelta(seconds=rng.choice([60, 120, 300, 300, 900, rng.randrange(3600)]))
    end = rng.choice(["done", "no_show", "done"])
    return [base, {**base, "status": "called", "called_at": iso(called)}, {**base, "status": end,
                                                                          "called_at": iso(called)}]


def case_versions(rng, i):
    created = DAY0 + timedelta(days=rng.randrange(6), minutes=rng.randrange(600))
    ctype = rng.choice(["inquiry", "complaint", "complaint", "repair"])
    due = created + (timedelta(minutes=5) if ctype == "inquiry" else timedelta(hours=24))
    base = {"id": i, "type": ctype, "status": "open", "category": rng.choice(["噪音", "停车", ""]),
            "created_at": iso(created), "due_at": iso(due), "first_answer_at": None, "feedback_at": None}
    stop = iso(created + timedelta(minutes=rng.choice([3, 8, 60 * 30])))
    answered = {**base, "status": "in_progress", "first_answer_at": stop if ctype == "inquiry" else None}
    return [base, answered, {**answered, "status": "closed", "feedback_at": stop}]


def rating_versions(rng, i):
    at = DAY0 + timedelta(days=rng.randrange(6), hours=7)
    return [{"id": i, "form": "rating", "score": rng.randint(1, 5), "created_at": iso(at)}]


MAKERS = {"ticket": ticket_versions, "case": case_versions, "survey": rating_versions}


def history(seed: int) -> list[tuple[str, dict]]:
    """(site, record) in a shuffled arrival order with resends, supersedes and erasures."""
    rng = random.Random(seed)
    out = []
    for site in SITES:
        for kind, maker in MAKERS.items():
            for i in range(1, 25):
                versions = maker(rng, i)
                upto = rng.randint(1, len(versions))
                for v, data in enumerate(versions[:upto], 1):
                    out.append((site, {"key": f"{site}:{kind}:{i}:{v}", "kind": kind, "op": "upsert",
                                       "occurred_at": data.get("created_at") or data["issued_at"],
                                       "data": {**data, "version": v}}))
                if rng.random() < 0.2:  # erased: delete at V, then the anonymised version V+1
                    v = upto + 1
                    out.append((site, {"key": f"{site}:{kind}:{i}:{v}", "kind": kind, "op": "delete",
                                       "occurred_at": iso(DAY0 + timedelta(days=7)), "data": {"id": i}}))
                    if rng.random() < 0.5:
                        anonymised = {**versions[upto - 1], "version": v + 1, "description": "—"}
                        out.append((site, {"key": f"{site}:{kind}:{i}:{v + 1}", "kind": kind, "op": "upsert",
                                           "occurred_at": iso(DAY0 + timedelta(days=7)), "data": anonymised}))
    rng.shuffle(out)
    out += rng.sample(out, len(out) // 3)  # resends, some after the delete that removed them
    return out


def reference(store, day_from: str, day_to: str, now_ts: float, site_id: str | None = None) -> Aggregates:
    """The console's figures recomputed from the stored records: each entity's highest
    stored upsert above its highest delete, with the definitions of sync.central.figures."""
    newest: dict[tuple[str, str, str], dict] = {}
    deleted: dict[tuple[str, str, str], int] = {}
    for site in SITES if site_id is None else (site_id,):
        for key in store.keys(site):
            r = store.record(key)
            entity = (site, r["kind"], r["local_id"])
            if r["op"] == "delete":
                deleted[entity] = max(deleted.get(entity, 0), r["version"])
            elif entity not in newest or newest[entity]["version"] < r["version"]:
                newest[entity] = r
    daily: dict[str, list] = {}
    waits: dict[str, list[float]] = {}
    open_cases: dict[str, int] = {}
    cases: dict[tuple[str, str], list[int]] = {}
    categories: dict[tuple[str, str], int] = {}
    ratings: dict[str, list[int]] = {}
    for entity, r in newest.items():
        if r["version"] <= deleted.get(entity, 0):
            continue
        site, kind, _ = entity
        status, wait, ctype, category, due, stop, score = facts(kind, r["data"])
        in_period = day_from <= r["day"] <= day_to
        if kind == "case" and status is not None and status != "closed":
            open_cases[site] = open_cases.get(site, 0) + 1
        if not in_period:
            continue
        if kind == "ticket":
            d = daily.setdefault(r["day"], [0, 0, 0, 0.0])
            d[0] += 1
            d[1] += status == "no_show"
            if wait is not None:
                d[2] += 1
                d[3] += wait
                waits.setdefault(r["day"], []).append(wait)
        elif kind == "case":
            c = cases.setdefault((site, ctype or ""), [0, 0])
            c[0] += 1
            c[1] += due is not None and (stop if stop is not None else now_ts) > due
            if ctype == "complaint":
                categories[(r["day"], category or "")] = categories.get((r["day"], category or ""), 0) + 1
        elif kind == "survey" and score is not None:
            s = ratings.setdefault(site, [0, 0, 0])
            s[0] += 1
            s[1] += score
            s[2] += score >= 4

    def p90(values):
        ordered = sorted(values)
        return ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)]

    p90s = {day: p90(w) for day, w in waits.items()}
    if waits:
        p90s[""] = p90([w for ws in waits.values() for w in ws])
    return Aggregates({d: tuple(v) for d, v in daily.items()}, p90s, open_cases,
                      {k: tuple(v) for k, v in cases.items()}, categories, {k: tuple(v) for k, v in ratings.items()})


def check(store):
    for day_from, day_to in (("2026-11-20", "2026-11-25"), ("2026-11-22", "2026-11-22"), ("2026-12-01", "2026-12-02")):
        for site_id in (None, "s2"):
            for now in (DAY0 + timedelta(days=1), DAY0 + timedelta(days=30)):
                got = store.aggregates(day_from, day_to, now.timestamp(), site_id)
                assert got == reference(store, day_from, day_to, now.timestamp(), site_id), (day_from, site_id)


@pytest.fixture
def store(central_db):
    s = open_store(central_db)
    yield s
    s.close()


def test_counters_equal_the_figures_from_the_raw_records_after_resends_supersedes_and_deletes(store):
    arrivals = history(18)
    assert any(r["op"] == "delete" for _, r in arrivals)
    batches: list[tuple[str, list]] = []
    for site, record in arrivals:
        if not batches or batches[-1][0] != site or len(batches[-1][1]) >= 7:
            batches.append((site, []))
        if record["key"] not in {r["key"] for r in batches[-1][1]}:
            batches[-1][1].append(record)
    for n, (site, records) in enumerate(batches):
        store.store_batch(site, f"b{n}", records, [], 0)
        if n % 40 == 0:
            check(store)
    check(store)
    agg = store.aggregates("2026-11-20", "2026-11-25", (DAY0 + timedelta(days=30)).timestamp())
    assert agg.daily and agg.p90_s and agg.cases and agg.categories and agg.ratings and agg.open_cases
    for n, (site, records) in enumerate(batches):  # the whole history resent changes nothing
        assert store.store_batch(site, f"again{n}", records, [], 0) == 0
    assert store.aggregates("2026-11-20", "2026-11-25", (DAY0 + timedelta(days=30)).timestamp()) == agg


def _sql(central_db: str, backend: str, statements: list[str]) -> None:
    if backend == "postgres":
        with psycopg.connect(central_db, autocommit=True) as conn:
            for s in statements:
                conn.execute(s)  # type: ignore[arg-type]
    else:
        conn = sqlite3.connect(central_db)
        with conn:
            for s in statements:
                conn.execute(s)
        conn.close()


def test_migration_4_builds_the_counters_from_the_rows_stored_before_it(central_db, backend):
    store = open_store(central_db)
    for n, (site, record) in enumerate(history(7)):
        store.store_batch(site, f"b{n}", [record], [], 0)
    expected = store.aggregates("2026-11-20", "2026-11-25", (DAY0 + timedelta(days=2)).timestamp())
    store.close()
    tables = ["agg_tickets", "agg_waits", "agg_cases", "agg_case_due", "agg_open_cases", "agg_ratings"]
    # back to the schema of migration 3: without what 4 and 5 made
    _sql(central_db, backend, [f"DROP TABLE {t}" for t in tables]
         + ["DROP INDEX audit_target", "DELETE FROM schema_migrations WHERE number >= 4"])
    store = open_store(central_db)
    try:
        assert store.schema_version == MIGRATIONS[-1].number
        assert store.aggregates("2026-11-20", "2026-11-25", (DAY0 + timedelta(days=2)).timestamp()) == expected
        assert expected == reference(store, "2026-11-20", "2026-11-25", (DAY0 + timedelta(days=2)).timestamp())
    finally:
        store.close()
