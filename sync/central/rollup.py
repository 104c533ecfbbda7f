"""The dashboard's pre-aggregated tables, kept at ingest so the console's figures read a
few thousand counter rows instead of every entity.

Each entity's newest version (the `latest` row) contributes to counters keyed by its
site and its own day: a ticket to `agg_tickets` (tickets, no-shows, waits counted, waits
summed in milliseconds so that adding and taking away stays exact) and, when it was
called, to the wait histogram `agg_waits` (one row per exact wait, so the nearest-rank
p90 is the same as over the raw waits); a case to `agg_cases` (per type and category:
cases, and breaches whose clock has stopped after its due time), to `agg_case_due` while
its clock runs (per due time, so "breached by now" is a range sum at query time) and,
while not closed, to `agg_open_cases` (per site, whatever the day); a rating to
`agg_ratings`.

When a batch changes an entity's newest version (a newer upsert supersedes it, a delete
removes it) the old version's contribution is taken away and the new one's added, as
one signed delta per counter row for the whole batch (`Deltas`), applied with one
additive upsert per table. Batches of one site are serialised (`SqlStore._lock_site`), so
reading the old contributions and writing the deltas cannot interleave with another batch
of the same entities.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

#: An entity's facts, in this order: the columns of `latest` beside its JSON
#: (sync.central.storage.facts) and the fields of `State`.
FACTS = ("status", "wait_s", "ctype", "category", "due_ts", "stop_ts", "score")

#: table -> (key columns, counter columns)
TABLES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "agg_tickets": (("site_id", "day"), ("tickets", "no_shows", "waits_n", "waits_ms")),
    "agg_waits": (("site_id", "day", "wait_s"), ("n",)),
    "agg_cases": (("site_id", "day", "ctype", "category"), ("cases", "breached")),
    "agg_case_due": (("site_id", "day", "ctype", "due_ts"), ("n",)),
    "agg_open_cases": (("site_id",), ("n",)),
    "agg_ratings": (("site_id", "day"), ("ratings", "total", "good")),
}


@dataclass(frozen=True)
class State:
    """An entity's newest version as far as the counters care: where it counts and its facts."""
    site_id: str
    kind: str
    day: str
    status: str | None
    wait_s: float | None
    ctype: str | None
    category: str | None
    due_ts: float | None
    stop_ts: float | None
    score: int | None

    @classmethod
    def of(cls, site_id: str, kind: str, day: str, facts: Sequence[Any]) -> State:
        status, wait_s, ctype, category, due_ts, stop_ts, score = facts
        return cls(site_id, kind, day, status, None if wait_s is None else float(wait_s), ctype, category,
                   None if due_ts is None else float(due_ts), None if stop_ts is None else float(stop_ts),
                   None if score is None else int(score))


def _ms(seconds: float | None) -> int:
    return 0 if seconds is None else round(seconds * 1000)


def contributions(s: State) -> list[tuple[str, tuple[Any, ...], tuple[int, ...]]]:
    """(table, key, counters) rows this state adds."""
    out: list[tuple[str, tuple[Any, ...], tuple[int, ...]]] = []
    if s.kind == "ticket":
        waited = s.wait_s is not None
        out.append(("agg_tickets", (s.site_id, s.day),
                    (1, int(s.status == "no_show"), int(waited), _ms(s.wait_s) if waited else 0)))
        if waited:
            out.append(("agg_waits", (s.site_id, s.day, s.wait_s), (1,)))
    elif s.kind == "case":
        ctype = s.ctype or ""
        stopped_late = s.due_ts is not None and s.stop_ts is not None and s.stop_ts > s.due_ts
        out.append(("agg_cases", (s.site_id, s.day, ctype, s.category or ""), (1, int(stopped_late))))
        if s.due_ts is not None and s.stop_ts is None:
            out.append(("agg_case_due", (s.site_id, s.day, ctype, s.due_ts), (1,)))
        if s.status is not None and s.status != "closed":
            out.append(("agg_open_cases", (s.site_id,), (1,)))
    elif s.kind == "survey" and s.score is not None:
        out.append(("agg_ratings", (s.site_id, s.day), (1, s.score, int(s.score >= 4))))
    return out


class Deltas:
    """Signed counter changes for one batch."""

    def __init__(self) -> None:
        self.rows: dict[tuple[str, tuple[Any, ...]], list[int]] = {}

    def add(self, state: State | None, sign: int) -> None:
        if state is None:
            return
        for table, key, counters in contributions(state):
            acc = self.rows.setdefault((table, key), [0] * len(counters))
            for i, c in enumerate(counters):
                acc[i] += sign * c

    def move(self, old: State | None, new: State | None) -> None:
        if old != new:
            self.add(old, -1)
            self.add(new, 1)

    def statements(self) -> list[tuple[str, list[tuple[Any, ...]]]]:
        """(SQL, rows) per table with a non-zero change, rows in key order (a fixed lock order)."""
        by_table: dict[str, list[tuple[Any, ...]]] = {}
        for (table, key), change in sorted(self.rows.items(), key=lambda kv: (kv[0][0], kv[0][1])):
            if any(change):
                by_table.setdefault(table, []).append((*key, *change))
        out = []
        for table, rows in by_table.items():
            keys, counters = TABLES[table]
            cols = (*keys, *counters)
            sql = (f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))}) "
                   f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET "
                   + ", ".join(f"{c} = {table}.{c} + excluded.{c}" for c in counters))
            out.append((sql, rows))
        return out


def nearest_rank(histogram: Sequence[tuple[float, int]], q: float = 0.9) -> float | None:
    """The nearest-rank q-quantile of a histogram of (value, count)."""
    total = sum(n for _, n in histogram if n > 0)
    if not total:
        return None
    rank = max(1, math.ceil(q * total))
    seen = 0
    for value, n in sorted(histogram):
        if n <= 0:
            continue
        seen += n
        if seen >= rank:
            return value
    return None


def _migration_sql(real: str) -> tuple[str, ...]:
    """Migration 4's statements in one dialect (`real`: its double type): the tables and
    their day indexes (`backfill` fills them), and two indexes no query needs any more
    dropped (fewer to keep up at ingest)."""
    return (
        """CREATE TABLE agg_tickets (site_id TEXT NOT NULL, day TEXT NOT NULL, tickets BIGINT NOT NULL DEFAULT 0,
            no_shows BIGINT NOT NULL DEFAULT 0, waits_n BIGINT NOT NULL DEFAULT 0, waits_ms BIGINT NOT NULL DEFAULT 0,
            PRIMARY KEY (site_id, day))""",
        f"""CREATE TABLE agg_waits (site_id TEXT NOT NULL, day TEXT NOT NULL, wait_s {real} NOT NULL,
            n BIGINT NOT NULL DEFAULT 0, PRIMARY KEY (site_id, day, wait_s))""",
        """CREATE TABLE agg_cases (site_id TEXT NOT NULL, day TEXT NOT NULL, ctype TEXT NOT NULL,
            category TEXT NOT NULL, cases BIGINT NOT NULL DEFAULT 0, breached BIGINT NOT NULL DEFAULT 0,
            PRIMARY KEY (site_id, day, ctype, category))""",
        f"""CREATE TABLE agg_case_due (site_id TEXT NOT NULL, day TEXT NOT NULL, ctype TEXT NOT NULL,
            due_ts {real} NOT NULL, n BIGINT NOT NULL DEFAULT 0, PRIMARY KEY (site_id, day, ctype, due_ts))""",
        "CREATE TABLE agg_open_cases (site_id TEXT PRIMARY KEY, n BIGINT NOT NULL DEFAULT 0)",
        """CREATE TABLE agg_ratings (site_id TEXT NOT NULL, day TEXT NOT NULL, ratings BIGINT NOT NULL DEFAULT 0,
            total BIGINT NOT NULL DEFAULT 0, good BIGINT NOT NULL DEFAULT 0, PRIMARY KEY (site_id, day))""",
        "CREATE INDEX agg_tickets_day ON agg_tickets (day)",
        "CREATE INDEX agg_waits_day ON agg_waits (day)",
        "CREATE INDEX agg_cases_day ON agg_cases (day, ctype)",
        "CREATE INDEX agg_case_due_day ON agg_case_due (day, due_ts)",
        "CREATE INDEX agg_ratings_day ON agg_ratings (day)",
        "DROP INDEX IF EXISTS latest_kind_status",  # served the open-cases count, now agg_open_cases
        "DROP INDEX IF EXISTS records_site_kind",  # a prefix of records_entity and records_site_kind_day
    )


def backfill(tx: Any) -> None:
    """Migration 4's step: the counters of the entities stored before it, site by site
    through the same `Deltas` as ingest."""
    for site in [r["site_id"] for r in tx.rows("SELECT DISTINCT site_id FROM latest ORDER BY site_id")]:
        deltas = Deltas()
        for r in tx.rows("SELECT kind, day, status, wait_s, ctype, category, due_ts, stop_ts, score FROM latest "
                         "WHERE site_id = ?", (site,)):
            deltas.add(State.of(site, r["kind"], r["day"], [r[c] for c in FACTS]), 1)
        for sql, rows in deltas.statements():
            tx.many(sql, rows)


MIGRATION_SQLITE = _migration_sql("REAL")
MIGRATION_POSTGRES = _migration_sql("DOUBLE PRECISION")
