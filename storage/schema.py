"""The workspace schema as numbered, forward-only migrations.

``PRAGMA user_version`` holds the number of the last migration applied and
``PRAGMA application_id`` marks the file as a segscope workspace. Migration N
runs in one ``BEGIN IMMEDIATE ... COMMIT`` transaction that also sets
``user_version = N`` (both pragmas live in the database header, which SQLite
writes transactionally), so a crash leaves the file at N-1 or at N, never
between. Never edit a migration that has shipped: add a new one.

Dates are INTEGER days since 1970-01-01 and timestamps ISO-8601 TEXT (UTC),
see docs/architecture.md "Workspace schema".
"""

from __future__ import annotations

# "SgSc" as a big-endian 32-bit integer; any non-zero value not used by a
# well-known format would do (see the SQLite docs on application_id).
APPLICATION_ID = 0x53675363

# Columns of the canonical accounts table in their stored order; anything else
# in the table (apart from import_id) is an attribute added by an import.
ACCOUNT_COLUMNS: dict[str, str] = {
    "account_id": "TEXT PRIMARY KEY",
    "name": "TEXT",
    "industry": "TEXT",
    "country": "TEXT",
    "region": "TEXT",
    "employees": "INTEGER",
    "annual_revenue": "REAL",
    "founded_year": "INTEGER",
    "legal_form": "TEXT",
    "ownership": "TEXT",
    "business_phase": "TEXT",
    "purchasing_organisation": "TEXT",
    "buying_driver": "TEXT",
    "offer_type": "TEXT",
    "buying_center_size": "INTEGER",
    "collaboration": "TEXT",
    "technologies": "TEXT",
    "touchpoint_preference": "TEXT",
    "is_customer": "INTEGER NULL",
}

# The transactions table as migration 1 created it (frozen: later columns come
# from their own migrations).
_TRANSACTION_COLUMNS_V1: dict[str, str] = {
    "account_id": "TEXT NOT NULL REFERENCES accounts(account_id)",
    "date": "INTEGER NOT NULL",
    "amount": "REAL NOT NULL",
    "margin": "REAL",
    "invoice_id": "TEXT",
    "product": "TEXT",
    "product_line": "TEXT",
    "channel": "TEXT",
    "quantity": "REAL",
    "unit_price": "REAL",
}

TRANSACTION_COLUMNS: dict[str, str] = {
    **_TRANSACTION_COLUMNS_V1,
    # A summary row's distinct positive invoices (migration 6); null on invoice lines.
    "orders": "INTEGER",
}

CONTACT_COLUMNS: dict[str, str] = {
    "contact_id": "TEXT PRIMARY KEY",
    "account_id": "TEXT NOT NULL REFERENCES accounts(account_id)",
    "name": "TEXT",
    "title": "TEXT",
    "function": "TEXT",
    "seniority": "TEXT",
    "decision_role": "TEXT",
    "preferred_channel": "TEXT",
    "email": "TEXT",
}


# Activities (migration 7): CRM calls, meetings, visits, e-mails, the sales
# effort behind DOMAIN.md "Coverage". ``duration_minutes`` is null where the
# export gives none (core.coverage then uses the type's default).
ACTIVITY_COLUMNS: dict[str, str] = {
    "account_id": "TEXT NOT NULL REFERENCES accounts(account_id)",
    "date": "INTEGER NOT NULL",
    "type": "TEXT",
    "owner": "TEXT",
    "duration_minutes": "REAL",
    "activity_id": "TEXT",
    "subject": "TEXT",
}


def _columns_sql(columns: dict[str, str]) -> str:
    return ",\n    ".join(f"{name} {decl}" for name, decl in columns.items())


MIGRATION_1 = [
    # meta: workspace identity and the data version that keys derived caches.
    """CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value TEXT
)""",
    """CREATE TABLE imports (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    file_name TEXT,
    file_hash TEXT,
    mapping_json TEXT,
    rows_read INTEGER,
    rows_accepted INTEGER,
    rows_rejected INTEGER,
    created_at TEXT
)""",
    "CREATE INDEX imports_kind_hash ON imports(kind, file_hash)",
    """CREATE TABLE rejected_rows (
    id INTEGER PRIMARY KEY,
    import_id INTEGER NOT NULL REFERENCES imports(id) ON DELETE CASCADE,
    row_number INTEGER,
    raw_json TEXT,
    reason TEXT
)""",
    "CREATE INDEX rejected_rows_import ON rejected_rows(import_id)",
    f"""CREATE TABLE accounts (
    {_columns_sql(ACCOUNT_COLUMNS)},
    import_id INTEGER
)""",
    """CREATE TABLE account_attributes (
    name TEXT PRIMARY KEY,
    dtype TEXT NOT NULL CHECK (dtype IN ('TEXT', 'REAL')),
    import_id INTEGER
)""",
    f"""CREATE TABLE transactions (
    id INTEGER PRIMARY KEY,
    {_columns_sql(_TRANSACTION_COLUMNS_V1)},
    import_id INTEGER
)""",
    "CREATE INDEX transactions_account ON transactions(account_id)",
    "CREATE INDEX transactions_invoice ON transactions(invoice_id)",
    f"""CREATE TABLE contacts (
    {_columns_sql(CONTACT_COLUMNS)},
    import_id INTEGER
)""",
    "CREATE INDEX contacts_account ON contacts(account_id)",
    "INSERT INTO meta(key, value) VALUES ('application', 'segscope')",
    "INSERT INTO meta(key, value) VALUES ('workspace_id', lower(hex(randomblob(16))))",
    "INSERT INTO meta(key, value) VALUES ('data_version', lower(hex(randomblob(16))))",
    "INSERT INTO meta(key, value) VALUES ('created_at', strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))",
    f"PRAGMA application_id = {APPLICATION_ID}",
]

MIGRATION_2 = [
    """CREATE TABLE models (
    name TEXT PRIMARY KEY,
    spec_json TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
)""",
    """CREATE TABLE runs (
    id INTEGER PRIMARY KEY,
    model_name TEXT NOT NULL,
    spec_json TEXT NOT NULL,
    as_of TEXT,
    created_at TEXT NOT NULL,
    label TEXT
)""",
    "CREATE INDEX runs_model ON runs(model_name)",
    """CREATE TABLE assignments (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    account_id TEXT NOT NULL,
    segment TEXT,
    revenue REAL,
    PRIMARY KEY (run_id, account_id)
) WITHOUT ROWID""",
    """CREATE TABLE segments (
    model_name TEXT NOT NULL,
    segment TEXT NOT NULL,
    label TEXT,
    notes TEXT,
    status TEXT CHECK (status IN ('target', 'maintain', 'lean') OR status IS NULL),
    scores_json TEXT,
    PRIMARY KEY (model_name, segment)
)""",
    """CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value_json TEXT
)""",
]

# Migration 3: what the analyst builds on segments (personas, game plans, KPIs)
# and the edits log behind undo/redo (storage/plans.py, storage/history.py).
MIGRATION_3 = [
    """CREATE TABLE personas (
    id INTEGER PRIMARY KEY,
    model_name TEXT NOT NULL,
    segment TEXT NOT NULL,
    name TEXT,
    business_json TEXT,
    people_json TEXT,
    drafted_fields_json TEXT,
    draft_basis_json TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
)""",
    "CREATE INDEX personas_segment ON personas(model_name, segment)",
    """CREATE TABLE plans (
    model_name TEXT NOT NULL,
    segment TEXT NOT NULL,
    objective TEXT CHECK (objective IN ('grow', 'retain', 'maintain', 'lean service')
        OR objective IS NULL),
    coverage_model TEXT,
    sales_logic TEXT,
    offer TEXT,
    key_messages TEXT,
    channels TEXT,
    cadence TEXT,
    owner TEXT,
    effort TEXT,
    review_date TEXT,
    status TEXT,
    orphaned INTEGER NOT NULL DEFAULT 0,
    updated_at TEXT,
    PRIMARY KEY (model_name, segment)
)""",
    """CREATE TABLE kpis (
    id INTEGER PRIMARY KEY,
    model_name TEXT NOT NULL,
    segment TEXT NOT NULL,
    metric TEXT NOT NULL,
    target REAL,
    deadline TEXT,
    direction TEXT NOT NULL DEFAULT 'at_least' CHECK (direction IN ('at_least', 'at_most')),
    baseline REAL,
    created_at TEXT NOT NULL
)""",
    "CREATE INDEX kpis_segment ON kpis(model_name, segment)",
    """CREATE TABLE edits (
    id INTEGER PRIMARY KEY,
    created_at TEXT NOT NULL,
    entity TEXT NOT NULL,
    key_json TEXT NOT NULL,
    before_json TEXT,
    after_json TEXT,
    undone INTEGER NOT NULL DEFAULT 0
)""",
]

# Migration 4: no index on transactions(invoice_id). Only a re-import used it
# (to find the stored lines of the invoices in the file), and one scan of the
# table does that; keeping the index up costs every large import a second sort
# of all its lines (13-16 s for 20M lines) and ~15 % of the file.
MIGRATION_4 = ["DROP INDEX IF EXISTS transactions_invoice"]

# Migration 5: fitted potential and CLV kept in the workspace (storage.fits),
# keyed on the data version they were fitted on and their parameters (canonical
# JSON), so profiles, KPIs, exports and runs use them without a refit. The
# per-account frame is one Parquet blob: a million accounts load in a fraction of
# a second, where a million rows of SQL inserts took seconds.
MIGRATION_5 = [
    """CREATE TABLE fits (
    kind TEXT NOT NULL CHECK (kind IN ('potential', 'clv')),
    data_version TEXT NOT NULL,
    params_json TEXT NOT NULL,
    report_json TEXT NOT NULL,
    frame_parquet BLOB NOT NULL,
    accounts INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (kind, data_version, params_json)
)""",
]

# Migration 6: a summary imported from where the lines live (storage.sources,
# --summarise) is one row per account x day x product line; ``orders`` carries
# the distinct positive invoices of the row so that core.metrics counts orders
# exactly as from the lines. Null on ordinary lines.
MIGRATION_6 = ["ALTER TABLE transactions ADD COLUMN orders INTEGER"]

# Migration 7: activities, the fourth import kind (storage.activities reads
# them; core.coverage turns them into effort against potential).
MIGRATION_7 = [
    f"""CREATE TABLE activities (
    id INTEGER PRIMARY KEY,
    {_columns_sql(ACTIVITY_COLUMNS)},
    import_id INTEGER
)""",
    "CREATE INDEX activities_account ON activities(account_id)",
]

# MIGRATIONS[i] brings a workspace from version i to version i + 1.
MIGRATIONS: list[list[str]] = [MIGRATION_1, MIGRATION_2, MIGRATION_3, MIGRATION_4,
                               MIGRATION_5, MIGRATION_6, MIGRATION_7]
LATEST_VERSION = len(MIGRATIONS)


def migrate(conn, target: int = LATEST_VERSION) -> int:
    """Apply migrations on ``conn`` (autocommit mode) up to ``target``; return the version reached.

    Each step takes the write lock with BEGIN IMMEDIATE, re-reads the version
    (another process may have migrated meanwhile) and commits the step and its
    ``user_version`` together. sqlite3 errors (for instance SQLITE_BUSY) are
    left to the caller to translate.
    """
    while True:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version >= target:
            return version
        conn.execute("BEGIN IMMEDIATE")
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version < target:
                for statement in MIGRATIONS[version]:
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {version + 1}")
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
