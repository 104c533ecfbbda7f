"""The central database's schema as numbered migrations, one list for both back-ends.

Each migration has a number, a name and its statements for SQLite and for PostgreSQL
(the same tables and indexes in each dialect); a back-end applies, in one transaction
each, those whose number is above the highest in its `schema_migrations` table. A
migration may also name a Python step (`backfill`) that the back-end runs after its
statements in the same transaction. Append new ones with the next number; never edit
one that has shipped.
"""

from __future__ import annotations

from dataclasses import dataclass

from sync.central.rollup import MIGRATION_POSTGRES, MIGRATION_SQLITE


@dataclass(frozen=True)
class Migration:
    number: int
    name: str
    sqlite: tuple[str, ...]
    postgres: tuple[str, ...]
    backfill: str | None = None


_BASE_SQLITE = (
    """CREATE TABLE IF NOT EXISTS sites (
        id TEXT PRIMARY KEY, secret TEXT NOT NULL, name TEXT NOT NULL DEFAULT '', created_at TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS site_stats (
        site_id TEXT PRIMARY KEY, batches INTEGER NOT NULL DEFAULT 0, received INTEGER NOT NULL DEFAULT 0,
        duplicates INTEGER NOT NULL DEFAULT 0, rejected INTEGER NOT NULL DEFAULT 0, last_batch_at TEXT,
        backlog INTEGER, last_pull_at TEXT, auth_failures INTEGER NOT NULL DEFAULT 0, last_auth_failure TEXT,
        last_auth_failure_at TEXT)""",
    """CREATE TABLE IF NOT EXISTS records (
        seq INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE, site_id TEXT NOT NULL, kind TEXT NOT NULL,
        op TEXT NOT NULL, occurred_at TEXT NOT NULL, data TEXT NOT NULL, batch_id TEXT, received_at TEXT NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS records_site_kind ON records (site_id, kind)",
    """CREATE TABLE IF NOT EXISTS rejections (
        site_id TEXT NOT NULL, key TEXT NOT NULL, error TEXT NOT NULL, batch_id TEXT, at TEXT NOT NULL,
        PRIMARY KEY (site_id, key))""",
    """CREATE TABLE IF NOT EXISTS residents (
        id TEXT PRIMARY KEY, name TEXT NOT NULL, unit TEXT NOT NULL DEFAULT '', phone TEXT NOT NULL DEFAULT '',
        id_hash TEXT, active INTEGER NOT NULL DEFAULT 1, seq INTEGER NOT NULL, updated_at TEXT NOT NULL)""",
    "CREATE UNIQUE INDEX IF NOT EXISTS residents_seq ON residents (seq)",
    "CREATE TABLE IF NOT EXISTS settings (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
)

_BASE_POSTGRES = (
    """CREATE TABLE sites (
        id TEXT PRIMARY KEY, secret TEXT NOT NULL, name TEXT NOT NULL DEFAULT '', created_at TEXT NOT NULL)""",
    """CREATE TABLE site_stats (
        site_id TEXT PRIMARY KEY, batches BIGINT NOT NULL DEFAULT 0, received BIGINT NOT NULL DEFAULT 0,
        duplicates BIGINT NOT NULL DEFAULT 0, rejected BIGINT NOT NULL DEFAULT 0, last_batch_at TEXT,
        backlog BIGINT, last_pull_at TEXT, auth_failures BIGINT NOT NULL DEFAULT 0, last_auth_failure TEXT,
        last_auth_failure_at TEXT)""",
    """CREATE TABLE records (
        seq BIGSERIAL PRIMARY KEY, key TEXT NOT NULL UNIQUE, site_id TEXT NOT NULL, kind TEXT NOT NULL,
        op TEXT NOT NULL, occurred_at TEXT NOT NULL, data TEXT NOT NULL, batch_id TEXT, received_at TEXT NOT NULL)""",
    "CREATE INDEX records_site_kind ON records (site_id, kind)",
    """CREATE TABLE rejections (
        site_id TEXT NOT NULL, key TEXT NOT NULL, error TEXT NOT NULL, batch_id TEXT, at TEXT NOT NULL,
        PRIMARY KEY (site_id, key))""",
    """CREATE TABLE residents (
        id TEXT PRIMARY KEY, name TEXT NOT NULL, unit TEXT NOT NULL DEFAULT '', phone TEXT NOT NULL DEFAULT '',
        id_hash TEXT, active INTEGER NOT NULL DEFAULT 1, seq BIGINT NOT NULL, updated_at TEXT NOT NULL)""",
    "CREATE UNIQUE INDEX residents_seq ON residents (seq)",
    "CREATE TABLE settings (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
)

# 2: what the console and deletes need. `records` gains the entity (local_id, version) and the
# site's local day; `latest` holds the newest version of each entity for the dashboard;
# `tombstones` remembers deleted entities so a late older upsert cannot bring one back.
_ENTITY_SQLITE = (
    "ALTER TABLE records ADD COLUMN local_id TEXT NOT NULL DEFAULT ''",
    "ALTER TABLE records ADD COLUMN version INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE records ADD COLUMN day TEXT NOT NULL DEFAULT ''",
)
_ENTITY_POSTGRES = (
    "ALTER TABLE records ADD COLUMN local_id TEXT NOT NULL DEFAULT ''",
    "ALTER TABLE records ADD COLUMN version BIGINT NOT NULL DEFAULT 0",
    "ALTER TABLE records ADD COLUMN day TEXT NOT NULL DEFAULT ''",
)
_CONSOLE_COMMON = (
    "CREATE INDEX records_entity ON records (site_id, kind, local_id)",
    "CREATE INDEX records_site_kind_day ON records (site_id, kind, day)",
    "CREATE INDEX records_kind_day ON records (kind, day)",
    """CREATE TABLE latest (
        site_id TEXT NOT NULL, kind TEXT NOT NULL, local_id TEXT NOT NULL, version BIGINT NOT NULL,
        day TEXT NOT NULL, occurred_at TEXT NOT NULL, data TEXT NOT NULL,
        PRIMARY KEY (site_id, kind, local_id))""",
    "CREATE INDEX latest_kind_day ON latest (kind, day, site_id)",
    """CREATE TABLE tombstones (
        site_id TEXT NOT NULL, kind TEXT NOT NULL, local_id TEXT NOT NULL, version BIGINT NOT NULL,
        deleted_at TEXT NOT NULL, PRIMARY KEY (site_id, kind, local_id))""",
    """CREATE TABLE users (
        name TEXT PRIMARY KEY, role TEXT NOT NULL, password_hash TEXT NOT NULL, active INTEGER NOT NULL DEFAULT 1,
        created_at TEXT NOT NULL)""",
    """CREATE TABLE sessions (
        id_hash TEXT PRIMARY KEY, user_name TEXT NOT NULL, csrf TEXT NOT NULL, created_at DOUBLE PRECISION NOT NULL,
        seen_at DOUBLE PRECISION NOT NULL)""",
    "CREATE INDEX sessions_user ON sessions (user_name)",
    "ALTER TABLE site_stats ADD COLUMN agent TEXT",
)
_AUDIT_SQLITE = (
    """CREATE TABLE audit (
        id INTEGER PRIMARY KEY, at TEXT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
        target TEXT NOT NULL DEFAULT '', detail TEXT NOT NULL DEFAULT '')""",
)
_AUDIT_POSTGRES = (
    """CREATE TABLE audit (
        id BIGSERIAL PRIMARY KEY, at TEXT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
        target TEXT NOT NULL DEFAULT '', detail TEXT NOT NULL DEFAULT '')""",
)

# 3: the console's figures aggregated in SQL: each entity's few facts beside its JSON, and
# the records held per site and kind kept as counters instead of counted each time.
_FACTS_SQLITE = (
    "ALTER TABLE latest ADD COLUMN status TEXT",
    "ALTER TABLE latest ADD COLUMN wait_s REAL",
    "ALTER TABLE latest ADD COLUMN ctype TEXT",
    "ALTER TABLE latest ADD COLUMN category TEXT",
    "ALTER TABLE latest ADD COLUMN due_ts REAL",
    "ALTER TABLE latest ADD COLUMN stop_ts REAL",
    "ALTER TABLE latest ADD COLUMN score INTEGER",
    "CREATE INDEX latest_kind_status ON latest (kind, status, site_id)",
    """CREATE TABLE site_counts (
        site_id TEXT NOT NULL, kind TEXT NOT NULL, n BIGINT NOT NULL DEFAULT 0, PRIMARY KEY (site_id, kind))""",
    "INSERT INTO site_counts (site_id, kind, n) SELECT site_id, kind, COUNT(*) FROM records GROUP BY site_id, kind",
)
_FACTS_POSTGRES = tuple(s.replace(" REAL", " DOUBLE PRECISION") for s in _FACTS_SQLITE)

# 5: a resident's history (the console's directory page) read by target instead of from
# the newest audit entries, and the two day indexes of `records` that no query uses
# any more (the console reads `latest` and the counters) dropped: fewer to keep up at ingest.
_AUDIT_TARGET = (
    "CREATE INDEX audit_target ON audit (target, id)",
    "DROP INDEX IF EXISTS records_site_kind_day",
    "DROP INDEX IF EXISTS records_kind_day",
)

# 4: the dashboard's counters kept at ingest (sync.central.rollup), filled from `latest`.
MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "base", _BASE_SQLITE, _BASE_POSTGRES),
    Migration(2, "entities, latest state, tombstones, console users and audit",
              _ENTITY_SQLITE + _CONSOLE_COMMON + _AUDIT_SQLITE,
              _ENTITY_POSTGRES + _CONSOLE_COMMON + _AUDIT_POSTGRES, backfill="entities"),
    Migration(3, "facts of the newest versions for the console", _FACTS_SQLITE, _FACTS_POSTGRES, backfill="facts"),
    Migration(4, "dashboard counters per site and day", MIGRATION_SQLITE, MIGRATION_POSTGRES, backfill="rollup"),
    Migration(5, "audit by target; unused day indexes of records dropped", _AUDIT_TARGET, _AUDIT_TARGET),
)
