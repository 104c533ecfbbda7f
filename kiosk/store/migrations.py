"""Numbered schema migrations, applied in order at start-up.

Each migration is a list of SQL statements run in one write transaction together with
its row in `schema_migrations`, so several processes starting at once apply each
migration exactly once. Never edit a released migration: append a new one.

Migrations run with foreign-key enforcement off, because rebuilding a table (the only
way SQLite adds a constraint to one) drops the table other tables refer to. A statement
that returns rows is a check: `PRAGMA foreign_key_check(table)` at the end of such a
migration returns the rows that break a constraint, and any row fails the migration.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

from kiosk.store.cases_schema import MIGRATION_0005_CASES, MIGRATION_0011_CASE_FOREIGN_KEYS

# The parts of migration 0009's triggers (released: never change these).
_QUEUE_KEYS = "status, day, service, priority, transferred"
_WHEN_NEW_QUEUED = "WHEN NEW.status IN ('waiting', 'transferred')"
_WHEN_OLD_QUEUED = "WHEN OLD.status IN ('waiting', 'transferred')"
_COUNT_NEW = """BEGIN
            INSERT INTO queue_counts (day, service, priority, transferred, n)
            VALUES (NEW.day, NEW.service, NEW.priority, NEW.transferred, 1)
            ON CONFLICT DO UPDATE SET n = n + 1;
        END"""
_UNCOUNT_OLD = """BEGIN
            UPDATE queue_counts SET n = n - 1 WHERE day = OLD.day AND service = OLD.service
                AND priority = OLD.priority AND transferred = OLD.transferred;
        END"""

MIGRATIONS: list[tuple[str, list[str]]] = [
    ("0001_queue_core", [
        """CREATE TABLE tickets (
            id INTEGER PRIMARY KEY,
            number TEXT NOT NULL,
            service TEXT NOT NULL,
            origin_service TEXT NOT NULL,
            day TEXT NOT NULL,
            seq INTEGER NOT NULL,
            status TEXT NOT NULL CHECK (status IN
                ('waiting','called','serving','done','no_show','transferred','cancelled')),
            priority INTEGER NOT NULL DEFAULT 0,
            transferred INTEGER NOT NULL DEFAULT 0,
            counter TEXT,
            recalls INTEGER NOT NULL DEFAULT 0,
            resident_id TEXT,
            visit_id INTEGER,
            issued_at TEXT NOT NULL,
            called_at TEXT,
            started_at TEXT,
            finished_at TEXT,
            no_show_at TEXT,
            updated_at TEXT NOT NULL,
            version INTEGER NOT NULL DEFAULT 1,
            UNIQUE (origin_service, day, seq)
        )""",
        "CREATE INDEX tickets_queue ON tickets (day, status, service)",
        "CREATE INDEX tickets_counter ON tickets (counter, status)",
        "CREATE INDEX tickets_finished ON tickets (service, finished_at)",
        """CREATE TABLE ticket_numbers (
            service TEXT NOT NULL,
            day TEXT NOT NULL,
            last INTEGER NOT NULL,
            PRIMARY KEY (service, day)
        )""",
        """CREATE TABLE ticket_events (
            id INTEGER PRIMARY KEY,
            ticket_id INTEGER NOT NULL REFERENCES tickets(id),
            at TEXT NOT NULL,
            action TEXT NOT NULL,
            from_status TEXT,
            to_status TEXT NOT NULL,
            counter TEXT,
            actor TEXT,
            detail TEXT
        )""",
        "CREATE INDEX ticket_events_ticket ON ticket_events (ticket_id)",
        """CREATE TABLE outbox (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            key TEXT NOT NULL UNIQUE,
            kind TEXT NOT NULL,
            op TEXT NOT NULL CHECK (op IN ('upsert','delete')),
            occurred_at TEXT NOT NULL,
            data TEXT NOT NULL
        )""",
        """CREATE TABLE print_jobs (
            id INTEGER PRIMARY KEY,
            ticket_id INTEGER REFERENCES tickets(id),
            kind TEXT NOT NULL,
            payload TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('pending','printed','failed','skipped')),
            attempts INTEGER NOT NULL DEFAULT 0,
            last_error TEXT,
            created_at TEXT NOT NULL,
            printed_at TEXT
        )""",
        "CREATE INDEX print_jobs_pending ON print_jobs (status, id)",
        """CREATE TABLE users (
            id INTEGER PRIMARY KEY,
            username TEXT NOT NULL UNIQUE,
            display_name TEXT NOT NULL,
            role TEXT NOT NULL,
            password_hash TEXT NOT NULL,
            active INTEGER NOT NULL DEFAULT 1,
            created_at TEXT NOT NULL
        )""",
        """CREATE TABLE api_tokens (
            id INTEGER PRIMARY KEY,
            token_hash TEXT NOT NULL UNIQUE,
            role TEXT NOT NULL,
            name TEXT NOT NULL,
            created_at TEXT NOT NULL,
            revoked INTEGER NOT NULL DEFAULT 0
        )""",
    ]),
    ("0002_residents", [
        """CREATE TABLE residents (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            unit TEXT NOT NULL DEFAULT '',
            phone TEXT NOT NULL DEFAULT '',
            phone_norm TEXT NOT NULL DEFAULT '',
            id_hash TEXT,
            id_masked TEXT,
            active INTEGER NOT NULL DEFAULT 1,
            source TEXT NOT NULL DEFAULT 'local',
            updated_at TEXT NOT NULL
        )""",
        "CREATE INDEX residents_phone ON residents (phone_norm)",
        "CREATE INDEX residents_id_hash ON residents (id_hash)",
        "CREATE INDEX residents_unit ON residents (unit)",
    ]),
    ("0003_sync", [
        # outbox rows the central office refused (or that could not be sent), with why
        """CREATE TABLE sync_dead_letters (
            id INTEGER PRIMARY KEY,
            key TEXT NOT NULL,
            kind TEXT NOT NULL,
            op TEXT NOT NULL,
            occurred_at TEXT NOT NULL,
            data TEXT NOT NULL,
            error TEXT NOT NULL,
            batch_id TEXT,
            failed_at TEXT NOT NULL
        )""",
        "CREATE INDEX sync_dead_letters_key ON sync_dead_letters (key)",
        # the sync agent's one row of state, read by `kiosk-sync status` and /healthz
        """CREATE TABLE sync_state (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            last_success_at TEXT,
            last_error TEXT,
            last_error_at TEXT,
            stopped_reason TEXT,
            stopped_at TEXT,
            residents_cursor TEXT,
            residents_pulled_at TEXT,
            sent_total INTEGER NOT NULL DEFAULT 0,
            agent_seen_at TEXT
        )""",
        "INSERT INTO sync_state (id) VALUES (1)",
    ]),
    ("0004_visits", [
        # one row per check-in: a resident (card, ID number) or a registered visitor
        """CREATE TABLE visits (
            id INTEGER PRIMARY KEY,
            kind TEXT NOT NULL CHECK (kind IN ('resident','visitor')),
            method TEXT NOT NULL CHECK (method IN ('qr','id','manual')),
            resident_id TEXT,
            name TEXT NOT NULL DEFAULT '',
            phone TEXT NOT NULL DEFAULT '',
            phone_norm TEXT NOT NULL DEFAULT '',
            unit TEXT NOT NULL DEFAULT '',
            purpose TEXT NOT NULL DEFAULT '',
            id_hash TEXT,
            id_masked TEXT,
            source TEXT NOT NULL DEFAULT 'kiosk',
            day TEXT NOT NULL,
            checked_in_at TEXT NOT NULL,
            checked_out_at TEXT,
            snapshot_path TEXT,
            snapshot_sha256 TEXT,
            ticket_id INTEGER,
            updated_at TEXT NOT NULL,
            version INTEGER NOT NULL DEFAULT 1
        )""",
        "CREATE INDEX visits_checked_in ON visits (checked_in_at)",
        "CREATE INDEX visits_method ON visits (method, checked_in_at)",
        "CREATE INDEX visits_unit ON visits (unit, checked_in_at)",
        "CREATE INDEX visits_name ON visits (name, checked_in_at)",
        "CREATE INDEX visits_resident ON visits (resident_id)",
        "CREATE INDEX visits_snapshot ON visits (checked_in_at) WHERE snapshot_path IS NOT NULL",
        # substring search over name, unit and phone (3+ characters; shorter queries use LIKE)
        """CREATE VIRTUAL TABLE visits_fts USING fts5(name, unit, phone, content='visits', content_rowid='id',
            tokenize='trigram')""",
        """CREATE TRIGGER visits_fts_ins AFTER INSERT ON visits BEGIN
            INSERT INTO visits_fts (rowid, name, unit, phone) VALUES (new.id, new.name, new.unit, new.phone);
        END""",
        """CREATE TRIGGER visits_fts_del AFTER DELETE ON visits BEGIN
            INSERT INTO visits_fts (visits_fts, rowid, name, unit, phone)
            VALUES ('delete', old.id, old.name, old.unit, old.phone);
        END""",
        """CREATE TRIGGER visits_fts_upd AFTER UPDATE OF name, unit, phone ON visits BEGIN
            INSERT INTO visits_fts (visits_fts, rowid, name, unit, phone)
            VALUES ('delete', old.id, old.name, old.unit, old.phone);
            INSERT INTO visits_fts (rowid, name, unit, phone) VALUES (new.id, new.name, new.unit, new.phone);
        END""",
        # who viewed or exported what on the security and admin pages
        """CREATE TABLE audit_log (
            id INTEGER PRIMARY KEY,
            at TEXT NOT NULL,
            actor TEXT NOT NULL,
            role TEXT NOT NULL DEFAULT '',
            action TEXT NOT NULL,
            target TEXT NOT NULL DEFAULT '',
            detail TEXT NOT NULL DEFAULT ''
        )""",
        "CREATE INDEX audit_log_at ON audit_log (at)",
        # resident cards withdrawn before they expire (by signature)
        """CREATE TABLE revoked_tokens (
            sig TEXT PRIMARY KEY,
            resident_id TEXT NOT NULL,
            revoked_at TEXT NOT NULL,
            reason TEXT NOT NULL DEFAULT ''
        )""",
        # cards issued (not the payloads: they are secrets of the holder), for listing and revoking
        """CREATE TABLE resident_cards (
            sig TEXT PRIMARY KEY,
            resident_id TEXT NOT NULL,
            issued_at TEXT NOT NULL,
            expires_at TEXT NOT NULL,
            issued_by TEXT NOT NULL DEFAULT ''
        )""",
        "CREATE INDEX resident_cards_resident ON resident_cards (resident_id)",
    ]),
    ("0005_cases", MIGRATION_0005_CASES),
    ("0006_calls", [
        # one row per incoming call seen by the caller-ID modem (kiosk/devices/phone.py)
        """CREATE TABLE calls (
            id INTEGER PRIMARY KEY,
            number TEXT NOT NULL DEFAULT '',
            number_norm TEXT NOT NULL DEFAULT '',
            name TEXT NOT NULL DEFAULT '',
            kind TEXT NOT NULL CHECK (kind IN ('normal','private','out_of_area')),
            resident_id TEXT,
            modem_stamp TEXT,
            started_at TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'missed' CHECK (status IN ('missed','handled')),
            handled_by TEXT,
            handled_at TEXT,
            case_id INTEGER,
            updated_at TEXT NOT NULL,
            version INTEGER NOT NULL DEFAULT 1
        )""",
        "CREATE INDEX calls_started ON calls (started_at)",
        "CREATE INDEX calls_status ON calls (status, started_at)",
        "CREATE INDEX calls_resident ON calls (resident_id)",
        "CREATE INDEX calls_case ON calls (case_id)",
    ]),
    ("0007_ticket_called_at", [
        # the wait estimate asks "which counters called somebody in the last 30 minutes"
        # on every ticket issued; without this it reads every ticket ever called
        "CREATE INDEX tickets_called ON tickets (called_at)",
    ]),
    ("0008_ticket_queue_order", [
        # "how many are ahead of this ticket" runs inside every issue's write transaction;
        # with the ordering columns in the index it is counted from the index alone
        "DROP INDEX tickets_queue",
        "CREATE INDEX tickets_queue ON tickets (day, service, status, priority, transferred, issued_at)",
    ]),
    ("0009_queue_counts", [
        # How many tickets wait in each (day, service, priority, transferred), kept by
        # triggers so that every change, from any process or tool, keeps it true. Counting
        # the queue instead cost time in proportion to its length inside every issue's
        # write transaction.
        """CREATE TABLE queue_counts (
            day TEXT NOT NULL,
            service TEXT NOT NULL,
            priority INTEGER NOT NULL,
            transferred INTEGER NOT NULL,
            n INTEGER NOT NULL,
            PRIMARY KEY (day, service, priority, transferred)
        ) WITHOUT ROWID""",
        """INSERT INTO queue_counts (day, service, priority, transferred, n)
            SELECT day, service, priority, transferred, COUNT(*) FROM tickets
            WHERE status IN ('waiting', 'transferred') GROUP BY day, service, priority, transferred""",
        f"CREATE TRIGGER queue_counts_insert AFTER INSERT ON tickets {_WHEN_NEW_QUEUED} {_COUNT_NEW}",
        f"CREATE TRIGGER queue_counts_leave AFTER UPDATE OF {_QUEUE_KEYS} ON tickets {_WHEN_OLD_QUEUED} {_UNCOUNT_OLD}",
        f"CREATE TRIGGER queue_counts_enter AFTER UPDATE OF {_QUEUE_KEYS} ON tickets {_WHEN_NEW_QUEUED} {_COUNT_NEW}",
        f"CREATE TRIGGER queue_counts_delete AFTER DELETE ON tickets {_WHEN_OLD_QUEUED} {_UNCOUNT_OLD}",
    ]),
    ("0010_partial_ticket_indexes", [
        # A new ticket has no counter, call or finish time yet: indexes on those columns
        # hold only the tickets that have them, so issuing a ticket writes fewer pages
        # and each query on them names the column.
        "DROP INDEX tickets_counter",
        "CREATE INDEX tickets_counter ON tickets (counter, status) WHERE counter IS NOT NULL",
        "DROP INDEX tickets_finished",
        "CREATE INDEX tickets_finished ON tickets (service, finished_at) WHERE finished_at IS NOT NULL",
        "DROP INDEX tickets_called",
        "CREATE INDEX tickets_called ON tickets (called_at) WHERE called_at IS NOT NULL",
        "DROP INDEX reports_tickets_finished",
        """CREATE INDEX reports_tickets_finished ON tickets (finished_at, status, started_at, called_at)
            WHERE finished_at IS NOT NULL""",
    ]),
    ("0011_case_foreign_keys", MIGRATION_0011_CASE_FOREIGN_KEYS),
    ("0012_devices", [
        # Enrolled screens: only hashes of the one-time pairing token and of the device
        # credential are stored; a revoked device keeps its row (revoked_at) for the record.
        """CREATE TABLE devices (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL,
            kind TEXT NOT NULL CHECK (kind IN ('kiosk', 'display', 'tablet')),
            pairing_hash TEXT UNIQUE,
            pairing_expires_at TEXT,
            credential_hash TEXT UNIQUE,
            created_at TEXT NOT NULL,
            created_by TEXT NOT NULL DEFAULT '',
            paired_at TEXT,
            last_seen_at TEXT,
            revoked_at TEXT
        )""",
        "CREATE UNIQUE INDEX devices_active_name ON devices (name) WHERE revoked_at IS NULL",
    ]),
    ("0013_staff_sessions", [
        """CREATE TABLE staff_sessions (
            id INTEGER PRIMARY KEY,
            session_hash TEXT NOT NULL UNIQUE,
            username TEXT NOT NULL,
            created_at TEXT NOT NULL,
            last_seen_at TEXT NOT NULL,
            remote_addr TEXT NOT NULL DEFAULT '',
            ended_at TEXT,
            ended_reason TEXT
        )""",
        "CREATE INDEX staff_sessions_user ON staff_sessions (username) WHERE ended_at IS NULL",
    ]),
    ("0014_user_password_changed", [
        "ALTER TABLE users ADD COLUMN password_changed_at TEXT",
    ]),
    ("0015_checkin_tokens", [
        # A check-in's single-use token, stored as its SHA-256 only; bound to the caller
        # (device or staff login) that made the check-in.
        """CREATE TABLE checkin_tokens (
            token_hash TEXT PRIMARY KEY,
            visit_id INTEGER NOT NULL REFERENCES visits (id) ON DELETE CASCADE,
            holder TEXT NOT NULL,
            created_at TEXT NOT NULL,
            expires_at TEXT NOT NULL,
            used_at TEXT
        )""",
        "CREATE INDEX checkin_tokens_expires ON checkin_tokens (expires_at)",
        "CREATE INDEX checkin_tokens_visit ON checkin_tokens (visit_id)",
    ]),
    ("0016_counter_last_finished", [
        # the ticket a counter finished last: what its rating tablet offers
        "CREATE INDEX tickets_counter_finished ON tickets (counter, finished_at) WHERE finished_at IS NOT NULL",
    ]),
    ("0017_retired_ids", [
        # The highest id ever deleted per table. SQLite hands the largest rowid + 1 to a new
        # row, so deleting the newest visit or call (an erasure, a purge) would give its id
        # to the next one; the central office would take that for the deleted record.
        # Inserts take the next id above both (`NEXT_VISIT_ID` in kiosk/store/visits.py,
        # `_NEXT_ID` in kiosk/store/calls.py).
        """CREATE TABLE retired_ids (
            tbl TEXT PRIMARY KEY,
            last_id INTEGER NOT NULL
        ) WITHOUT ROWID""",
        """CREATE TRIGGER visits_retire_id AFTER DELETE ON visits BEGIN
            INSERT INTO retired_ids (tbl, last_id) VALUES ('visits', OLD.id)
            ON CONFLICT (tbl) DO UPDATE SET last_id = MAX(last_id, excluded.last_id);
        END""",
        """CREATE TRIGGER calls_retire_id AFTER DELETE ON calls BEGIN
            INSERT INTO retired_ids (tbl, last_id) VALUES ('calls', OLD.id)
            ON CONFLICT (tbl) DO UPDATE SET last_id = MAX(last_id, excluded.last_id);
        END""",
    ]),
    ("0019_ticket_capabilities", [
        # The phone page of a ticket (/t/<cap>): only the capability's SHA-256 is kept
        # (kiosk/capability.py), one per ticket, gone with the ticket.
        """CREATE TABLE ticket_capabilities (
            digest BLOB PRIMARY KEY,
            ticket_id INTEGER NOT NULL UNIQUE REFERENCES tickets (id) ON DELETE CASCADE
        ) WITHOUT ROWID""",
    ]),
    ("0020_case_capabilities", [
        # The phone page of a case (/c/<cap>), printed on the case slip.
        """CREATE TABLE case_capabilities (
            digest BLOB PRIMARY KEY,
            case_id INTEGER NOT NULL UNIQUE REFERENCES cases (id) ON DELETE CASCADE
        ) WITHOUT ROWID""",
    ]),
    ("0021_display_notices", [
        """CREATE TABLE display_notices (
            id INTEGER PRIMARY KEY,
            position INTEGER NOT NULL,
            text TEXT NOT NULL CHECK (length(text) BETWEEN 1 AND 200),
            updated_at TEXT NOT NULL,
            updated_by TEXT NOT NULL DEFAULT ''
        )""",
    ]),
]


def apply_migrations(conn: sqlite3.Connection) -> list[str]:
    """Apply the pending migrations; returns the names applied now."""
    conn.execute("CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
    enforced = conn.execute("PRAGMA foreign_keys").fetchone()[0]
    conn.execute("PRAGMA foreign_keys=OFF")  # a no-op inside a transaction, so set before the first BEGIN
    applied_now = []
    try:
        for name, statements in MIGRATIONS:
            conn.execute("BEGIN IMMEDIATE")
            try:
                if conn.execute("SELECT 1 FROM schema_migrations WHERE name = ?", (name,)).fetchone():
                    conn.execute("COMMIT")
                    continue
                for statement in statements:
                    found = [tuple(row) for row in conn.execute(statement)]
                    if found:
                        raise sqlite3.IntegrityError(f"migration {name}: {statement} found {found}")
                conn.execute("INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)",
                             (name, datetime.now(UTC).isoformat()))
                conn.execute("COMMIT")
                applied_now.append(name)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
    finally:
        conn.execute(f"PRAGMA foreign_keys={'ON' if enforced else 'OFF'}")
    return applied_now
