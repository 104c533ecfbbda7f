"""Schema of migration 0005_cases: cases and their history, satisfaction surveys, the
periodic questionnaire, spot checks and improvement actions, and the once-only alerts
of waiting inquiry tickets; and of migration 0011, which rebuilds `cases` to make its
visit and call links foreign keys."""

MIGRATION_0005_CASES: list[str] = [
    """CREATE TABLE cases (
        id INTEGER PRIMARY KEY,
        type TEXT NOT NULL CHECK (type IN ('inquiry','complaint','repair','other')),
        channel TEXT NOT NULL CHECK (channel IN ('counter','phone','kiosk','app')),
        status TEXT NOT NULL CHECK (status IN ('open','in_progress','feedback_given','closed')),
        category TEXT NOT NULL DEFAULT '',
        description TEXT NOT NULL,
        resident_id TEXT,
        contact_name TEXT NOT NULL DEFAULT '',
        contact_phone TEXT NOT NULL DEFAULT '',
        unit TEXT NOT NULL DEFAULT '',
        ticket_id INTEGER,
        call_id INTEGER,
        visit_id INTEGER,
        team TEXT,
        assignee TEXT,
        created_by TEXT,
        clock_start TEXT NOT NULL,
        due_at TEXT NOT NULL,
        first_answer_at TEXT,
        first_answer TEXT,
        feedback_at TEXT,
        feedback_text TEXT,
        feedback_method TEXT,
        closed_at TEXT,
        closed_by TEXT,
        due_soon_at TEXT,
        overdue_at TEXT,
        escalated_at TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        version INTEGER NOT NULL DEFAULT 1
    )""",
    "CREATE INDEX cases_status_due ON cases (status, due_at)",
    "CREATE INDEX cases_created ON cases (created_at)",
    "CREATE INDEX cases_resident ON cases (resident_id)",
    "CREATE INDEX cases_ticket ON cases (ticket_id)",
    "CREATE INDEX cases_call ON cases (call_id)",
    "CREATE INDEX cases_visit ON cases (visit_id)",
    """CREATE TABLE case_history (
        id INTEGER PRIMARY KEY,
        case_id INTEGER NOT NULL REFERENCES cases(id),
        at TEXT NOT NULL,
        actor TEXT,
        action TEXT NOT NULL,
        from_status TEXT,
        to_status TEXT NOT NULL,
        detail TEXT
    )""",
    "CREATE INDEX case_history_case ON case_history (case_id, id)",
    """CREATE TABLE surveys (
        id INTEGER PRIMARY KEY,
        ticket_id INTEGER UNIQUE,
        case_id INTEGER UNIQUE REFERENCES cases(id),
        score INTEGER NOT NULL CHECK (score BETWEEN 1 AND 5),
        comment TEXT NOT NULL DEFAULT '',
        channel TEXT NOT NULL DEFAULT 'kiosk',
        resident_id TEXT,
        created_at TEXT NOT NULL,
        CHECK ((ticket_id IS NULL) <> (case_id IS NULL))
    )""",
    "CREATE INDEX surveys_created ON surveys (created_at)",
    """CREATE TABLE questionnaire_answers (
        id INTEGER PRIMARY KEY,
        questionnaire_id TEXT NOT NULL,
        answers TEXT NOT NULL,
        comment TEXT NOT NULL DEFAULT '',
        created_at TEXT NOT NULL
    )""",
    "CREATE INDEX questionnaire_answers_q ON questionnaire_answers (questionnaire_id, created_at)",
    """CREATE TABLE spot_checks (
        id INTEGER PRIMARY KEY,
        period_from TEXT NOT NULL,
        period_to TEXT NOT NULL,
        seed INTEGER NOT NULL,
        size INTEGER NOT NULL,
        created_by TEXT,
        created_at TEXT NOT NULL
    )""",
    """CREATE TABLE spot_check_items (
        id INTEGER PRIMARY KEY,
        spot_check_id INTEGER NOT NULL REFERENCES spot_checks(id),
        item_kind TEXT NOT NULL CHECK (item_kind IN ('ticket','case')),
        item_id INTEGER NOT NULL,
        verdict TEXT CHECK (verdict IN ('good','acceptable','poor')),
        remark TEXT NOT NULL DEFAULT '',
        checked_by TEXT,
        checked_at TEXT,
        UNIQUE (spot_check_id, item_kind, item_id)
    )""",
    """CREATE TABLE improvement_actions (
        id INTEGER PRIMARY KEY,
        month TEXT NOT NULL,
        finding TEXT NOT NULL,
        action TEXT NOT NULL,
        owner TEXT NOT NULL,
        due_date TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('open','in_progress','done')),
        progress TEXT NOT NULL DEFAULT '',
        created_by TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    )""",
    "CREATE INDEX improvement_actions_month ON improvement_actions (month, status)",
    # the reports read tickets, cases, ratings and closings by time range
    # (covering indexes: the monthly report of 20,000 tickets reads them without touching the rows)
    "CREATE INDEX reports_tickets_issued ON tickets (issued_at, origin_service, status, called_at)",
    "CREATE INDEX reports_tickets_finished ON tickets (finished_at, status, started_at, called_at)",
    "CREATE INDEX cases_closed ON cases (closed_at)",
    "CREATE INDEX reports_ticket_callers ON ticket_events (action, ticket_id, actor)",
    """CREATE TABLE ticket_sla_alerts (
        ticket_id INTEGER NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('due_soon','overdue')),
        at TEXT NOT NULL,
        PRIMARY KEY (ticket_id, kind)
    )""",
]

_CASE_COLUMNS = ("id, type, channel, status, category, description, resident_id, contact_name, contact_phone, "
                 "unit, ticket_id, call_id, visit_id, team, assignee, created_by, clock_start, due_at, "
                 "first_answer_at, first_answer, feedback_at, feedback_text, feedback_method, closed_at, "
                 "closed_by, due_soon_at, overdue_at, escalated_at, created_at, updated_at, version")

# SQLite adds a constraint to a table only by rebuilding it
# (https://www.sqlite.org/lang_altertable.html#otheralter): a new table, the rows copied,
# the old one dropped, the new one renamed, its indexes made again. apply_migrations runs
# it with foreign-key enforcement off, as that procedure requires, and the last statement
# fails the migration if a row breaks a constraint. Ids are kept, so case_history,
# surveys and calls still point at the same cases. A case outlives the visit retention
# purges: its link becomes NULL, and links that earlier purges left dangling are cleared.
MIGRATION_0011_CASE_FOREIGN_KEYS: list[str] = [
    """CREATE TABLE cases_new (
        id INTEGER PRIMARY KEY,
        type TEXT NOT NULL CHECK (type IN ('inquiry','complaint','repair','other')),
        channel TEXT NOT NULL CHECK (channel IN ('counter','phone','kiosk','app')),
        status TEXT NOT NULL CHECK (status IN ('open','in_progress','feedback_given','closed')),
        category TEXT NOT NULL DEFAULT '',
        description TEXT NOT NULL,
        resident_id TEXT,
        contact_name TEXT NOT NULL DEFAULT '',
        contact_phone TEXT NOT NULL DEFAULT '',
        unit TEXT NOT NULL DEFAULT '',
        ticket_id INTEGER,
        call_id INTEGER REFERENCES calls(id) ON DELETE SET NULL,
        visit_id INTEGER REFERENCES visits(id) ON DELETE SET NULL,
        team TEXT,
        assignee TEXT,
        created_by TEXT,
        clock_start TEXT NOT NULL,
        due_at TEXT NOT NULL,
        first_answer_at TEXT,
        first_answer TEXT,
        feedback_at TEXT,
        feedback_text TEXT,
        feedback_method TEXT,
        closed_at TEXT,
        closed_by TEXT,
        due_soon_at TEXT,
        overdue_at TEXT,
        escalated_at TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        version INTEGER NOT NULL DEFAULT 1
    )""",
    f"INSERT INTO cases_new ({_CASE_COLUMNS}) SELECT {_CASE_COLUMNS} FROM cases",
    "UPDATE cases_new SET visit_id = NULL WHERE visit_id NOT IN (SELECT id FROM visits)",
    "UPDATE cases_new SET call_id = NULL WHERE call_id NOT IN (SELECT id FROM calls)",
    "DROP TABLE cases",
    "ALTER TABLE cases_new RENAME TO cases",
    "CREATE INDEX cases_status_due ON cases (status, due_at)",
    "CREATE INDEX cases_created ON cases (created_at)",
    "CREATE INDEX cases_resident ON cases (resident_id)",
    "CREATE INDEX cases_ticket ON cases (ticket_id)",
    "CREATE INDEX cases_call ON cases (call_id)",
    "CREATE INDEX cases_visit ON cases (visit_id)",
    "CREATE INDEX cases_closed ON cases (closed_at)",
    "PRAGMA foreign_key_check(cases)",
]
