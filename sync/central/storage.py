"""The central store: one interface (`CentralStore`), two back-ends.

`open_store(target)` picks the back-end from `--db` / `$KIOSK_CENTRAL_DB`: a
`postgresql://` (or `postgres://`) URL opens `sync.central.pg.PostgresStore`, anything
else is a file path for the embedded `sync.central.store.SQLiteStore`. Both derive from
`SqlStore`, which holds every rule in SQL both dialects accept; a back-end supplies the
connection handling, the migrations' dialect and its fastest way to ingest a batch.

Records and deletes. Each stored record is one key (`{site}:{kind}:{local_id}:{version}`),
stored once. `latest` keeps the newest version of each entity (site, kind, local_id) for
the console. A `delete` record (a PIPL erasure or a retention purge at the site) with
version V removes every stored upsert of that entity below V (and its `latest` row when
that is older than V), and leaves a tombstone at V: an upsert of that entity with a
version at or below the tombstone that arrives later (an older resend, a batch that
overtook another) is accepted, so the agent lets it go, but not stored. A newer version
is stored: an erasure that anonymises a case sends the delete, then the anonymised case. The delete record
itself is stored (its key, like any other, once), so resending it changes nothing.
"""

from __future__ import annotations

import json
import re
import secrets as secrets_mod
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol, runtime_checkable

from sync.central import rollup
from sync.central.directory import Entry
from sync.central.rollup import FACTS, Deltas, State, nearest_rank

ROLES = ("office_manager", "auditor")
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def is_postgres_url(target: str) -> bool:
    return target.startswith(("postgresql://", "postgres://"))


@dataclass(frozen=True)
class Row:
    """One accepted record as it is stored."""
    key: str
    site_id: str
    kind: str
    op: str
    occurred_at: str
    data: str
    local_id: str
    version: int
    day: str
    obj: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)  # `data` decoded

    @property
    def entity(self) -> tuple[str, str]:
        return self.kind, self.local_id


def to_row(site_id: str, record: dict[str, Any]) -> Row:
    """A record that passed `protocol.check_record` as a row of `records`."""
    _, kind, local_id, version = record["key"].split(":")
    data = record["data"]
    day = record["occurred_at"][:10]
    for name in ("day", "created_at", "started_at"):  # the entity's own day, the same in every version
        value = data.get(name)
        if isinstance(value, str) and _DAY.fullmatch(value[:10]):
            day = value[:10]
            break
    return Row(record["key"], site_id, kind, record["op"], record["occurred_at"],
               json.dumps(data, ensure_ascii=False, separators=(",", ":")), local_id, int(version), day, data)


def plan_batch(rows: Sequence[Row], tombstones: dict[tuple[str, str], int]) -> tuple[list[Row], list[Row]]:
    """(upserts to store, deletes to apply) for one batch, given the tombstones already
    held for the batch's entities. An upsert at or below its entity's tombstone, or below
    a delete of the same entity in the same batch, is dropped."""
    deleted_to = dict(tombstones)
    deletes = [r for r in rows if r.op == "delete"]
    for d in deletes:
        deleted_to[d.entity] = max(deleted_to.get(d.entity, 0), d.version)
    upserts = [r for r in rows if r.op != "delete" and r.version > deleted_to.get(r.entity, 0)]
    return upserts, deletes


def _ts(value: Any) -> float | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value).timestamp()
    except ValueError:
        return None


def facts(kind: str, data: dict[str, Any]) -> tuple[Any, ...]:
    """The few facts of an entity's newest version the console aggregates in SQL (see
    `rollup.FACTS`): a ticket's status and wait (called - issued, seconds), a case's type,
    category and clock (due, and when it stopped: the first answer of an inquiry, the
    feedback of anything else, as epoch seconds), a rating's score."""
    status = data.get("status") if isinstance(data.get("status"), str) else None
    if kind == "ticket":
        issued, called = _ts(data.get("issued_at")), _ts(data.get("called_at"))
        wait = called - issued if issued is not None and called is not None else None
        return status, wait, None, None, None, None, None
    if kind == "case":
        ctype = data.get("type") if isinstance(data.get("type"), str) else None
        stop = data.get("first_answer_at") if ctype == "inquiry" else data.get("feedback_at")
        category = data.get("category") if isinstance(data.get("category"), str) else ""
        return status, None, ctype, category, _ts(data.get("due_at")), _ts(stop), None
    if kind == "survey" and data.get("form") == "rating":
        score = data.get("score")
        return status, None, None, None, None, None, score if isinstance(score, int) and 1 <= score <= 5 else None
    return status, None, None, None, None, None, None


@dataclass
class Aggregates:
    """What the console's figures are made of (sync.central.figures), summed in SQL from the
    counters kept at ingest (sync.central.rollup).
    daily: day -> (tickets, no-shows, waits counted, sum of waits in s); p90_s: day ->
    nearest-rank 90th percentile wait in s, "" for the whole period; open_cases: site ->
    n; cases: (site, type) -> (n, breaches); categories: (day, category) -> n; ratings:
    site -> (n, sum of scores, 4s and 5s)."""
    daily: dict[str, tuple[int, int, int, float]]
    p90_s: dict[str, float]
    open_cases: dict[str, int]
    cases: dict[tuple[str, str], tuple[int, int]]
    categories: dict[tuple[str, str], int]
    ratings: dict[str, tuple[int, int, int]]


class Tx(Protocol):
    """A transaction on either back-end, with `?` placeholders."""

    def run(self, sql: str, params: Sequence[Any] = ()) -> int: ...
    def many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None: ...
    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]: ...


@runtime_checkable
class CentralStore(Protocol):
    """What the receiver, the console and the command line need of a central database."""

    target: str

    def close(self) -> None: ...
    def ping(self) -> None: ...
    # sites
    def add_site(self, site_id: str, secret: str | None = None, name: str = "") -> str: ...
    def remove_site(self, site_id: str) -> bool: ...
    def site_secret(self, site_id: str) -> str | None: ...
    def sites(self) -> list[dict[str, Any]]: ...
    # records
    def store_batch(self, site_id: str, batch_id: str, records: list[dict], rejected: list[tuple[str, str]],
                    backlog: int | None, agent: str | None = None, at: str | None = None) -> int: ...
    def note_auth_failure(self, site_id: str, reason: str) -> None: ...
    def note_pull(self, site_id: str, at: str | None = None) -> None: ...
    def record_count(self, site_id: str | None = None) -> int: ...
    def keys(self, site_id: str) -> list[str]: ...
    def record(self, key: str) -> dict[str, Any] | None: ...
    def rejections(self, site_id: str) -> list[dict[str, Any]]: ...
    def tombstone(self, site_id: str, kind: str, local_id: str) -> int | None: ...
    def summary(self, known_sites: Iterable[str] = ()) -> list[dict[str, Any]]: ...
    def latest(self, kinds: Sequence[str], day_from: str, day_to: str,
               site_id: str | None = None) -> list[dict[str, Any]]: ...
    def aggregates(self, day_from: str, day_to: str, now_ts: float, site_id: str | None = None) -> Aggregates: ...
    # the directory
    def id_key(self) -> bytes: ...
    def import_residents(self, entries: list[Entry], replace: bool = False,
                         actor: str = "cli") -> dict[str, int]: ...
    def save_resident(self, entry: Entry, actor: str) -> str: ...
    def remove_residents(self, ids: Iterable[str], actor: str = "cli") -> int: ...
    def directory_since(self, since: int, limit: int) -> tuple[list[dict[str, Any]], int]: ...
    def residents(self, q: str = "", limit: int = 200) -> list[dict[str, Any]]: ...
    def resident(self, rid: str) -> dict[str, Any] | None: ...
    def active_residents(self) -> int: ...
    # console accounts, sessions and the audit log
    def add_user(self, name: str, role: str, password_hash: str) -> None: ...
    def user(self, name: str) -> dict[str, Any] | None: ...
    def disable_user(self, name: str) -> bool: ...
    def users(self) -> list[dict[str, Any]]: ...
    def create_session(self, id_hash: str, user_name: str, csrf: str, now: float) -> None: ...
    def session(self, id_hash: str) -> dict[str, Any] | None: ...
    def touch_session(self, id_hash: str, now: float) -> None: ...
    def end_session(self, id_hash: str) -> None: ...
    def audit(self, actor: str, action: str, target: str = "", detail: str = "") -> None: ...
    def audit_log(self, limit: int = 200, action_prefix: str = "",
                  target: str | None = None) -> list[dict[str, Any]]: ...


class SqlStore:
    """Every store rule in SQL that SQLite and PostgreSQL both accept (`?` placeholders).
    Subclasses supply `_tx` (a write transaction), `_read` (rows outside one),
    `_entities_in` (tombstones for a batch) and `_insert_records`."""

    target: str

    # -- primitives the back-ends provide ------------------------------------------------
    def _tx(self) -> AbstractContextManager[Tx]:
        raise NotImplementedError

    def _read(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        raise NotImplementedError

    def _insert_records(self, tx: Tx, rows: list[Row], batch_id: str, at: str) -> list[Row]:
        """Insert rows that are not stored yet (ON CONFLICT DO NOTHING); return the new ones."""
        raise NotImplementedError

    def _lock_directory(self, tx: Tx) -> None:
        """Serialise directory changes (their sequence numbers) between processes."""

    def close(self) -> None:
        raise NotImplementedError

    # -- helpers -------------------------------------------------------------------------
    def _one(self, sql: str, params: Sequence[Any] = ()) -> dict[str, Any] | None:
        rows = self._read(sql, params)
        return rows[0] if rows else None

    def _scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        row = self._one(sql, params)
        return next(iter(row.values())) if row else None

    def ping(self) -> None:
        self._read("SELECT 1 AS one")

    # -- sites ---------------------------------------------------------------------------
    def add_site(self, site_id: str, secret: str | None = None, name: str = "") -> str:
        secret = secret or secrets_mod.token_urlsafe(32)
        with self._tx() as tx:
            tx.run("INSERT INTO sites (id, secret, name, created_at) VALUES (?, ?, ?, ?) "
                   "ON CONFLICT (id) DO UPDATE SET secret = excluded.secret, name = excluded.name",
                   (site_id, secret, name, utc_now()))
        return secret

    def remove_site(self, site_id: str) -> bool:
        with self._tx() as tx:
            return tx.run("DELETE FROM sites WHERE id = ?", (site_id,)) > 0

    def site_secret(self, site_id: str) -> str | None:
        return self._scalar("SELECT secret FROM sites WHERE id = ?", (site_id,))

    def sites(self) -> list[dict[str, Any]]:
        return self._read("SELECT id, name, created_at FROM sites ORDER BY id")

    # -- records -------------------------------------------------------------------------
    def store_batch(self, site_id: str, batch_id: str, records: list[dict], rejected: list[tuple[str, str]],
                    backlog: int | None, agent: str | None = None, at: str | None = None) -> int:
        """Store the accepted records once each, apply deletes, count the batch; returns
        how many keys were new. `at` (UTC ISO 8601) is when it was received, default now."""
        at = at or utc_now()
        rows = [to_row(site_id, r) for r in records]
        with self._tx() as tx:
            self._lock_site(tx, site_id)
            tombstones = self._tombstones_for(tx, site_id, rows)
            upserts, deletes = plan_batch(rows, tombstones)
            kept = {r.key for r in upserts}
            dropped = [r for r in rows if r.op != "delete" and r.key not in kept]
            stored = [r for r in rows if r.op == "delete" or r.key in kept]  # in the batch's order
            new_rows = self._insert_records(tx, stored, batch_id, at) if stored else []
            new_upserts = [r for r in new_rows if r.op != "delete"]
            new_deletes = [r for r in new_rows if r.op == "delete"]
            newest = self._newest(new_upserts)
            self._roll_up(tx, site_id, newest, new_deletes)
            if newest:
                self._update_latest(tx, newest)
            held: Counter[str] = Counter(r.kind for r in new_upserts + new_deletes)
            for d in new_deletes:
                held[d.kind] -= self._apply_delete(tx, d, at)
            if any(held.values()):
                tx.many("INSERT INTO site_counts (site_id, kind, n) VALUES (?, ?, ?) ON CONFLICT (site_id, kind) "
                        "DO UPDATE SET n = site_counts.n + excluded.n",
                        [(site_id, kind, n) for kind, n in sorted(held.items()) if n])
            new = len(new_upserts) + len(new_deletes)
            if rejected:
                tx.many("INSERT INTO rejections (site_id, key, error, batch_id, at) VALUES (?, ?, ?, ?, ?) "
                        "ON CONFLICT (site_id, key) DO UPDATE SET error = excluded.error, "
                        "batch_id = excluded.batch_id, at = excluded.at",
                        [(site_id, k, e, batch_id, at) for k, e in rejected])
            tx.run(
                "INSERT INTO site_stats (site_id, batches, received, duplicates, rejected, last_batch_at, backlog, "
                "agent) VALUES (?, 1, ?, ?, ?, ?, ?, ?) ON CONFLICT (site_id) DO UPDATE SET "
                "batches = site_stats.batches + 1, received = site_stats.received + excluded.received, "
                "duplicates = site_stats.duplicates + excluded.duplicates, "
                "rejected = site_stats.rejected + excluded.rejected, last_batch_at = excluded.last_batch_at, "
                "backlog = excluded.backlog, agent = COALESCE(excluded.agent, site_stats.agent)",
                (site_id, new, len(rows) - new - len(dropped), len(rejected), at, backlog, agent))
        return new

    def _lock_site(self, tx: Tx, site_id: str) -> None:
        """Serialise the batches of one site (the dashboard counters read, then add)."""

    def _by_kind(self, tx: Tx, columns: str, table: str, site_id: str,
                 entities: Iterable[tuple[str, str]]) -> list[dict[str, Any]]:
        """Rows of `table` (keyed site, kind, local_id) for `entities`, one query per kind."""
        ids: dict[str, set[str]] = {}
        for kind, local_id in entities:
            ids.setdefault(kind, set()).add(local_id)
        out: list[dict[str, Any]] = []
        for kind, wanted in sorted(ids.items()):
            for chunk in iter_chunks(sorted(wanted), 5000):
                out += tx.rows(f"SELECT kind, local_id, {columns} FROM {table} WHERE site_id = ? AND kind = ? "
                               "AND local_id IN (" + ",".join("?" * len(chunk)) + ")", (site_id, kind, *chunk))
        return out

    def _tombstones_for(self, tx: Tx, site_id: str, rows: Sequence[Row]) -> dict[tuple[str, str], int]:
        found = self._by_kind(tx, "version", "tombstones", site_id, {r.entity for r in rows})
        return {(t["kind"], t["local_id"]): int(t["version"]) for t in found}

    @staticmethod
    def _newest(rows: list[Row]) -> dict[tuple[str, str], tuple[Row, tuple[Any, ...]]]:
        """The highest version of each entity among `rows`, with its facts."""
        newest: dict[tuple[str, str], Row] = {}
        for r in rows:
            if r.entity not in newest or newest[r.entity].version < r.version:
                newest[r.entity] = r
        return {e: (r, facts(r.kind, r.obj or json.loads(r.data))) for e, r in newest.items()}

    def _roll_up(self, tx: Tx, site_id: str, newest: dict[tuple[str, str], tuple[Row, tuple[Any, ...]]],
                 deletes: list[Row]) -> None:
        """Move the dashboard counters (sync.central.rollup) from each touched entity's
        stored newest version to what it is after this batch."""
        touched = set(newest) | {d.entity for d in deletes}
        if not touched:
            return
        before: dict[tuple[str, str], tuple[int, State]] = {
            (r["kind"], r["local_id"]): (int(r["version"]), State.of(site_id, r["kind"], r["day"],
                                                                     [r[c] for c in FACTS]))
            for r in self._by_kind(tx, "version, day, " + ", ".join(FACTS), "latest", site_id, touched)}
        after = dict(before)
        for entity, (r, f) in newest.items():
            if entity not in after or after[entity][0] < r.version:
                after[entity] = (r.version, State.of(site_id, r.kind, r.day, f))
        for d in deletes:
            if d.entity in after and after[d.entity][0] < d.version:
                del after[d.entity]
        deltas = Deltas()
        for entity in touched:
            old, new = before.get(entity), after.get(entity)
            deltas.move(old[1] if old else None, new[1] if new else None)
        for sql, rows in deltas.statements():
            tx.many(sql, rows)

    def _update_latest(self, tx: Tx, newest: dict[tuple[str, str], tuple[Row, tuple[Any, ...]]]) -> None:
        tx.many("INSERT INTO latest (site_id, kind, local_id, version, day, occurred_at, data, status, wait_s, "
                "ctype, category, due_ts, stop_ts, score) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (site_id, kind, local_id) DO UPDATE SET "
                "version = excluded.version, day = excluded.day, occurred_at = excluded.occurred_at, "
                "data = excluded.data, status = excluded.status, wait_s = excluded.wait_s, ctype = excluded.ctype, "
                "category = excluded.category, due_ts = excluded.due_ts, stop_ts = excluded.stop_ts, "
                "score = excluded.score WHERE latest.version < excluded.version",
                [(r.site_id, r.kind, r.local_id, r.version, r.day, r.occurred_at, r.data, *f)
                 for r, f in newest.values()])

    def _apply_delete(self, tx: Tx, d: Row, at: str) -> int:
        """Apply one new delete record (every version below its own goes); returns how many
        stored records it removed."""
        top = d.version
        removed = tx.run("DELETE FROM records WHERE site_id = ? AND kind = ? AND local_id = ? AND op = 'upsert' "
                         "AND version < ?", (d.site_id, d.kind, d.local_id, d.version))
        tx.run("DELETE FROM latest WHERE site_id = ? AND kind = ? AND local_id = ? AND version < ?",
               (d.site_id, d.kind, d.local_id, d.version))
        tx.run("INSERT INTO tombstones (site_id, kind, local_id, version, deleted_at) VALUES (?, ?, ?, ?, ?) "
               "ON CONFLICT (site_id, kind, local_id) DO UPDATE SET "
               "version = CASE WHEN tombstones.version > excluded.version THEN tombstones.version "
               "ELSE excluded.version END, deleted_at = excluded.deleted_at",
               (d.site_id, d.kind, d.local_id, top, at))
        return removed

    def note_auth_failure(self, site_id: str, reason: str) -> None:
        with self._tx() as tx:
            tx.run("INSERT INTO site_stats (site_id, auth_failures, last_auth_failure, last_auth_failure_at) "
                   "VALUES (?, 1, ?, ?) ON CONFLICT (site_id) DO UPDATE SET "
                   "auth_failures = site_stats.auth_failures + 1, last_auth_failure = excluded.last_auth_failure, "
                   "last_auth_failure_at = excluded.last_auth_failure_at", (site_id, reason, utc_now()))

    def note_pull(self, site_id: str, at: str | None = None) -> None:
        with self._tx() as tx:
            tx.run("INSERT INTO site_stats (site_id, last_pull_at) VALUES (?, ?) ON CONFLICT (site_id) "
                   "DO UPDATE SET last_pull_at = excluded.last_pull_at", (site_id, at or utc_now()))

    def record_count(self, site_id: str | None = None) -> int:
        if site_id is None:
            return int(self._scalar("SELECT COUNT(*) AS n FROM records"))
        return int(self._scalar("SELECT COUNT(*) AS n FROM records WHERE site_id = ?", (site_id,)))

    def keys(self, site_id: str) -> list[str]:
        return [r["key"] for r in self._read("SELECT key FROM records WHERE site_id = ? ORDER BY seq", (site_id,))]

    def record(self, key: str) -> dict[str, Any] | None:
        row = self._one("SELECT key, site_id, kind, op, occurred_at, data, batch_id, received_at, local_id, "
                        "version, day FROM records WHERE key = ?", (key,))
        if row:
            row["data"] = json.loads(row["data"])
        return row

    def rejections(self, site_id: str) -> list[dict[str, Any]]:
        return self._read("SELECT key, error, batch_id, at FROM rejections WHERE site_id = ? ORDER BY at",
                          (site_id,))

    def tombstone(self, site_id: str, kind: str, local_id: str) -> int | None:
        v = self._scalar("SELECT version FROM tombstones WHERE site_id = ? AND kind = ? AND local_id = ?",
                         (site_id, kind, local_id))
        return None if v is None else int(v)

    def summary(self, known_sites: Iterable[str] = ()) -> list[dict[str, Any]]:
        """Per site: record counts by kind, totals, last batch and the backlog the agent reported."""
        counts: dict[str, dict[str, int]] = {}
        for r in self._read("SELECT site_id, kind, n FROM site_counts WHERE n <> 0"):
            counts.setdefault(r["site_id"], {})[r["kind"]] = int(r["n"])
        stats = {r["site_id"]: r for r in self._read("SELECT * FROM site_stats")}
        names = {s["id"]: s["name"] for s in self.sites()}
        site_ids = sorted({*known_sites, *names, *counts, *stats})
        out = []
        for sid in site_ids:
            st = stats.get(sid, {})
            by_kind = counts.get(sid, {})
            out.append({"site_id": sid, "name": names.get(sid, ""), "counts": by_kind,
                        "total": sum(by_kind.values()),
                        "batches": int(st.get("batches") or 0), "duplicates": int(st.get("duplicates") or 0),
                        "rejected": int(st.get("rejected") or 0), "last_batch_at": st.get("last_batch_at"),
                        "backlog": None if st.get("backlog") is None else int(st["backlog"]),
                        "last_pull_at": st.get("last_pull_at"),
                        "auth_failures": int(st.get("auth_failures") or 0),
                        "last_auth_failure": st.get("last_auth_failure"),
                        "last_auth_failure_at": st.get("last_auth_failure_at"), "agent": st.get("agent")})
        return out

    def latest(self, kinds: Sequence[str], day_from: str, day_to: str,
               site_id: str | None = None) -> list[dict[str, Any]]:
        """The newest version of every entity of `kinds` whose day is in [day_from, day_to],
        with `data` decoded."""
        marks = ",".join("?" * len(kinds))
        sql = (f"SELECT site_id, kind, local_id, version, day, occurred_at, data FROM latest "
               f"WHERE kind IN ({marks}) AND day >= ? AND day <= ?")
        params: list[Any] = [*kinds, day_from, day_to]
        if site_id is not None:
            sql += " AND site_id = ?"
            params.append(site_id)
        out = self._read(sql, params)
        for r in out:
            r["data"] = json.loads(r["data"])
        return out

    def _ranged(self, table: str, site_id: str | None, day_from: str, day_to: str) -> tuple[str, list[Any]]:
        where = f"{table}.day >= ? AND {table}.day <= ?"
        return (where + " AND site_id = ?", [day_from, day_to, site_id]) if site_id is not None \
            else (where, [day_from, day_to])

    def _waits_p90(self, day_from: str, day_to: str, site_id: str | None) -> dict[str, float]:
        """Nearest-rank p90 of ticket waits per day and ("") for the period, from the histogram."""
        where, params = self._ranged("agg_waits", site_id, day_from, day_to)
        by_day: dict[str, list[tuple[float, int]]] = {}
        for r in self._read(f"SELECT day, wait_s, SUM(n) AS n FROM agg_waits WHERE {where} AND n <> 0 "
                            "GROUP BY day, wait_s", params):
            by_day.setdefault(r["day"], []).append((float(r["wait_s"]), int(r["n"])))
        out = {d: v for d, v in ((d, nearest_rank(h)) for d, h in by_day.items()) if v is not None}
        overall = nearest_rank([p for h in by_day.values() for p in h])
        if overall is not None:
            out[""] = overall
        return out

    def aggregates(self, day_from: str, day_to: str, now_ts: float, site_id: str | None = None) -> Aggregates:
        """The console's figures from the counters kept at ingest (sync.central.rollup)."""
        def ranged(table: str) -> tuple[str, list[Any]]:
            return self._ranged(table, site_id, day_from, day_to)

        where, params = ranged("agg_tickets")
        daily = {r["day"]: (int(r["n"]), int(r["ns"]), int(r["nw"]), int(r["ms"]) / 1000) for r in self._read(
            "SELECT day, SUM(tickets) AS n, SUM(no_shows) AS ns, SUM(waits_n) AS nw, SUM(waits_ms) AS ms "
            f"FROM agg_tickets WHERE {where} GROUP BY day HAVING SUM(tickets) <> 0", params)}
        site_filter, site_params = ("WHERE site_id = ?", [site_id]) if site_id is not None else ("", [])
        open_cases = {r["site_id"]: int(r["n"]) for r in self._read(
            f"SELECT site_id, n FROM agg_open_cases {site_filter}", site_params) if int(r["n"])}
        where, params = ranged("agg_cases")
        counted = {(r["site_id"], r["ctype"]): (int(r["n"]), int(r["b"])) for r in self._read(
            f"SELECT site_id, ctype, SUM(cases) AS n, SUM(breached) AS b FROM agg_cases WHERE {where} "
            "GROUP BY site_id, ctype HAVING SUM(cases) <> 0", params)}
        where, params = ranged("agg_case_due")
        overdue = {(r["site_id"], r["ctype"]): int(r["n"]) for r in self._read(
            f"SELECT site_id, ctype, SUM(n) AS n FROM agg_case_due WHERE {where} AND due_ts < ? "
            "GROUP BY site_id, ctype", [*params, now_ts])}
        cases = {k: (n, b + overdue.get(k, 0)) for k, (n, b) in counted.items()}
        where, params = ranged("agg_cases")
        categories = {(r["day"], r["category"]): int(r["n"]) for r in self._read(
            f"SELECT day, category, SUM(cases) AS n FROM agg_cases WHERE {where} AND ctype = 'complaint' "
            "GROUP BY day, category HAVING SUM(cases) <> 0", params)}
        where, params = ranged("agg_ratings")
        ratings = {r["site_id"]: (int(r["n"]), int(r["s"]), int(r["good"])) for r in self._read(
            "SELECT site_id, SUM(ratings) AS n, SUM(total) AS s, SUM(good) AS good "
            f"FROM agg_ratings WHERE {where} GROUP BY site_id HAVING SUM(ratings) <> 0", params)}
        return Aggregates(daily, self._waits_p90(day_from, day_to, site_id), open_cases, cases, categories,
                          ratings)

    # -- the directory -------------------------------------------------------------------
    def id_key(self) -> bytes:
        """The key ID numbers are hashed with; made once and kept in this database."""
        with self._tx() as tx:
            tx.run("INSERT INTO settings (name, value) VALUES ('id_key', ?) ON CONFLICT (name) DO NOTHING",
                   (secrets_mod.token_hex(32),))
            value = tx.rows("SELECT value FROM settings WHERE name = 'id_key'")[0]["value"]
        return str(value).encode("ascii")

    def _next_seq(self, tx: Tx) -> int:
        return int(tx.rows("SELECT COALESCE(MAX(seq), 0) + 1 AS n FROM residents")[0]["n"])

    def _audit(self, tx: Tx, actor: str, action: str, target: str, detail: str = "") -> None:
        tx.run("INSERT INTO audit (at, actor, action, target, detail) VALUES (?, ?, ?, ?, ?)",
               (utc_now(), actor, action, target, detail))

    def _upsert_resident(self, tx: Tx, e: Entry, at: str, actor: str) -> str:
        """'added', 'updated' or 'unchanged'; an ID hash missing from `e` keeps the stored one."""
        found = tx.rows("SELECT name, unit, phone, id_hash, active FROM residents WHERE id = ?", (e.id,))
        old = found[0] if found else None
        new_hash = e.id_hash if e.id_hash is not None else (old["id_hash"] if old else None)
        if old is not None and (old["name"], old["unit"], old["phone"], old["id_hash"], int(old["active"])) == \
                (e.name, e.unit, e.phone, new_hash, 1):
            return "unchanged"
        tx.run("INSERT INTO residents (id, name, unit, phone, id_hash, active, seq, updated_at) "
               "VALUES (?, ?, ?, ?, ?, 1, ?, ?) ON CONFLICT (id) DO UPDATE SET name = excluded.name, "
               "unit = excluded.unit, phone = excluded.phone, id_hash = excluded.id_hash, active = 1, "
               "seq = excluded.seq, updated_at = excluded.updated_at",
               (e.id, e.name, e.unit, e.phone, new_hash, self._next_seq(tx), at))
        if old is None:
            change = "added"
            detail = ""
        else:
            change = "updated"
            fields = [f for f, a, b in (("name", old["name"], e.name), ("unit", old["unit"], e.unit),
                                        ("phone", old["phone"], e.phone), ("id_hash", old["id_hash"], new_hash))
                      if a != b]
            if not int(old["active"]):
                fields.append("active")
            detail = "changed: " + ", ".join(fields)
        self._audit(tx, actor, f"resident.{change}", f"resident:{e.id}", detail)
        return change

    def import_residents(self, entries: list[Entry], replace: bool = False, actor: str = "cli") -> dict[str, int]:
        """Upsert entries (each change gets the next sequence number and an audit entry);
        with `replace`, residents missing from `entries` are marked removed. One transaction."""
        result = {"added": 0, "updated": 0, "unchanged": 0, "removed": 0}
        at = utc_now()
        with self._tx() as tx:
            self._lock_directory(tx)
            for e in entries:
                result[self._upsert_resident(tx, e, at, actor)] += 1
            if replace:
                keep = {e.id for e in entries}
                gone = [r["id"] for r in tx.rows("SELECT id FROM residents WHERE active = 1 ORDER BY id")
                        if r["id"] not in keep]
                result["removed"] = self._deactivate(tx, gone, at, actor)
        return result

    def save_resident(self, entry: Entry, actor: str) -> str:
        with self._tx() as tx:
            self._lock_directory(tx)
            return self._upsert_resident(tx, entry, utc_now(), actor)

    def _deactivate(self, tx: Tx, ids: Iterable[str], at: str, actor: str) -> int:
        n = 0
        for rid in ids:
            changed = tx.run("UPDATE residents SET active = 0, seq = ?, updated_at = ? WHERE id = ? AND active = 1",
                             (self._next_seq(tx), at, rid))
            if changed:
                self._audit(tx, actor, "resident.deactivated", f"resident:{rid}")
            n += changed
        return n

    def remove_residents(self, ids: Iterable[str], actor: str = "cli") -> int:
        """Mark residents removed: the next pull makes them inactive at every site."""
        with self._tx() as tx:
            self._lock_directory(tx)
            return self._deactivate(tx, ids, utc_now(), actor)

    def directory_since(self, since: int, limit: int) -> tuple[list[dict[str, Any]], int]:
        rows = self._read("SELECT id, name, unit, phone, id_hash, active, seq FROM residents WHERE seq > ? "
                          "ORDER BY seq LIMIT ?", (since, limit))
        cursor = int(rows[-1]["seq"]) if rows else since
        out = []
        for r in rows:
            entry = {"id": r["id"], "name": r["name"], "unit": r["unit"], "phone": r["phone"],
                     "active": bool(r["active"])}
            if r["id_hash"]:
                entry["id_hash"] = r["id_hash"]
            out.append(entry)
        return out, cursor

    def residents(self, q: str = "", limit: int = 200) -> list[dict[str, Any]]:
        if q:
            like = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            return self._read("SELECT id, name, unit, phone, id_hash, active, updated_at FROM residents "
                              "WHERE id LIKE ? ESCAPE '\\' OR name LIKE ? ESCAPE '\\' OR unit LIKE ? ESCAPE '\\' "
                              "OR phone LIKE ? ESCAPE '\\' ORDER BY id LIMIT ?", (like, like, like, like, limit))
        return self._read("SELECT id, name, unit, phone, id_hash, active, updated_at FROM residents "
                          "ORDER BY id LIMIT ?", (limit,))

    def resident(self, rid: str) -> dict[str, Any] | None:
        return self._one("SELECT id, name, unit, phone, id_hash, active, updated_at FROM residents WHERE id = ?",
                         (rid,))

    def active_residents(self) -> int:
        return int(self._scalar("SELECT COUNT(*) AS n FROM residents WHERE active = 1"))

    # -- console accounts, sessions, audit -----------------------------------------------
    def add_user(self, name: str, role: str, password_hash: str) -> None:
        if role not in ROLES:
            raise ValueError(f"role must be one of {', '.join(ROLES)}")
        with self._tx() as tx:
            tx.run("INSERT INTO users (name, role, password_hash, active, created_at) VALUES (?, ?, ?, 1, ?) "
                   "ON CONFLICT (name) DO UPDATE SET role = excluded.role, password_hash = excluded.password_hash, "
                   "active = 1", (name, role, password_hash, utc_now()))
            tx.run("DELETE FROM sessions WHERE user_name = ?", (name,))
            self._audit(tx, "cli", "user.saved", f"user:{name}", f"role {role}")

    def disable_user(self, name: str) -> bool:
        with self._tx() as tx:
            n = tx.run("UPDATE users SET active = 0 WHERE name = ?", (name,))
            tx.run("DELETE FROM sessions WHERE user_name = ?", (name,))
            if n:
                self._audit(tx, "cli", "user.disabled", f"user:{name}")
            return n > 0

    def user(self, name: str) -> dict[str, Any] | None:
        return self._one("SELECT name, role, password_hash, active FROM users WHERE name = ?", (name,))

    def users(self) -> list[dict[str, Any]]:
        return self._read("SELECT name, role, active, created_at FROM users ORDER BY name")

    def create_session(self, id_hash: str, user_name: str, csrf: str, now: float) -> None:
        with self._tx() as tx:
            tx.run("INSERT INTO sessions (id_hash, user_name, csrf, created_at, seen_at) VALUES (?, ?, ?, ?, ?)",
                   (id_hash, user_name, csrf, now, now))

    def session(self, id_hash: str) -> dict[str, Any] | None:
        return self._one("SELECT s.id_hash, s.user_name, s.csrf, s.created_at, s.seen_at, u.role, u.active "
                         "FROM sessions s JOIN users u ON u.name = s.user_name WHERE s.id_hash = ?", (id_hash,))

    def touch_session(self, id_hash: str, now: float) -> None:
        with self._tx() as tx:
            tx.run("UPDATE sessions SET seen_at = ? WHERE id_hash = ?", (now, id_hash))

    def end_session(self, id_hash: str) -> None:
        with self._tx() as tx:
            tx.run("DELETE FROM sessions WHERE id_hash = ?", (id_hash,))

    def audit(self, actor: str, action: str, target: str = "", detail: str = "") -> None:
        with self._tx() as tx:
            self._audit(tx, actor, action, target, detail)

    def audit_log(self, limit: int = 200, action_prefix: str = "",
                  target: str | None = None) -> list[dict[str, Any]]:
        """The newest `limit` entries whose action starts with `action_prefix`, of one
        `target` (e.g. "resident:r1", read through the index on (target, id)) when given."""
        sql = "SELECT id, at, actor, action, target, detail FROM audit WHERE action LIKE ?"
        params: list[Any] = [action_prefix.replace("%", "") + "%"]
        if target is not None:
            sql += " AND target = ?"
            params.append(target)
        return self._read(sql + " ORDER BY id DESC LIMIT ?", [*params, limit])


def backfill_entities(tx: Tx) -> None:
    """Migration 2's step: fill local_id, version and day of records stored before it and
    build `latest` from them."""
    rows = tx.rows("SELECT seq, key, site_id, kind, op, occurred_at, data FROM records WHERE local_id = ''")
    parsed: list[Row] = []
    for r in rows:
        try:
            row = to_row(r["site_id"], {"key": r["key"], "op": r["op"], "occurred_at": r["occurred_at"],
                                        "data": json.loads(r["data"])})
        except (ValueError, TypeError, AttributeError):
            continue
        parsed.append(row)
        tx.run("UPDATE records SET local_id = ?, version = ?, day = ? WHERE seq = ?",
               (row.local_id, row.version, row.day, r["seq"]))
    newest: dict[tuple[str, str, str], Row] = {}
    for p in parsed:
        k = (p.site_id, p.kind, p.local_id)
        if p.op == "upsert" and (k not in newest or newest[k].version < p.version):
            newest[k] = p
    tx.many("INSERT INTO latest (site_id, kind, local_id, version, day, occurred_at, data) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (site_id, kind, local_id) DO NOTHING",
            [(p.site_id, p.kind, p.local_id, p.version, p.day, p.occurred_at, p.data) for p in newest.values()])


def backfill_facts(tx: Tx) -> None:
    """Migration 3's step: the facts of the newest versions stored before it."""
    rows = tx.rows("SELECT site_id, kind, local_id, data FROM latest")
    tx.many("UPDATE latest SET status = ?, wait_s = ?, ctype = ?, category = ?, due_ts = ?, stop_ts = ?, score = ? "
            "WHERE site_id = ? AND kind = ? AND local_id = ?",
            [(*facts(r["kind"], json.loads(r["data"])), r["site_id"], r["kind"], r["local_id"]) for r in rows])


def run_migrations(tx_factory: Any, dialect: str, current: int) -> int:
    """Apply the migrations above `current` (each in its own transaction from `tx_factory`);
    returns the new schema version."""
    from sync.central.migrations import MIGRATIONS

    for m in MIGRATIONS:
        if m.number <= current:
            continue
        with tx_factory() as tx:
            for statement in (m.sqlite if dialect == "sqlite" else m.postgres):
                tx.run(statement)
            if m.backfill == "entities":
                backfill_entities(tx)
            elif m.backfill == "facts":
                backfill_facts(tx)
            elif m.backfill == "rollup":
                rollup.backfill(tx)
            tx.run("INSERT INTO schema_migrations (number, name, applied_at) VALUES (?, ?, ?)",
                   (m.number, m.name, utc_now()))
        current = m.number
    return current


def open_store(target: str) -> CentralStore:
    """The store for `--db`: a PostgreSQL URL or an SQLite file path."""
    if is_postgres_url(target):
        from sync.central.pg import PostgresStore

        return PostgresStore(target)
    from sync.central.store import SQLiteStore

    return SQLiteStore(target)


def iter_chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]
