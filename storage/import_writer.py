"""Committing a prepared import: one transaction, the same statements wherever it runs.

``commit_import`` writes a ``PreparedImport`` (see ``storage.importer``) in ONE
``BEGIN IMMEDIATE`` transaction: the import record, every rejected row with its
reason, and the data. A crash, a kill or an exception at any moment leaves the
workspace as it was.

The statements run on a ``SqlTarget``: ``SqliteTarget`` wraps the workspace's
own ``sqlite3`` connection; ``storage.bulk_writer`` runs the same code in a
child process over ADBC's SQLite driver, whose Arrow ingest writes large
transaction files about twice as fast as ``executemany``.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

import polars as pl

from core.errors import SegscopeError
from storage import limits
from storage import validation as v
from storage.errors import WorkspaceError
from storage.readers import ROW, ImportFileError

if TYPE_CHECKING:
    from storage.importer import PreparedImport, Progress

# Dropping and rebuilding the transaction indexes pays off for loads larger
# than what is already stored.
REINDEX_MIN_ROWS = 200_000
INSERT_SLICE_ROWS = 100_000


class SqlTarget(Protocol):
    """What an import needs from a connection inside its transaction."""

    def run(self, sql: str, params: tuple = ()) -> int:
        """Execute one statement; the number of rows it changed."""

    def rows(self, sql: str, params: tuple = ()) -> list[tuple]:
        """Execute one query; all its rows."""

    def insert(
        self, table: str, frame: pl.DataFrame, extra: Mapping[str, int] | None = None
    ) -> None:
        """Append ``frame`` to ``table`` (``temp.NAME`` for a temporary table);
        ``extra`` columns hold one integer for every row."""


class SqliteTarget:
    """``SqlTarget`` over Python's ``sqlite3`` connection."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def run(self, sql: str, params: tuple = ()) -> int:
        return self.conn.execute(sql, params).rowcount

    def rows(self, sql: str, params: tuple = ()) -> list[tuple]:
        return self.conn.execute(sql, params).fetchall()

    def insert(
        self, table: str, frame: pl.DataFrame, extra: Mapping[str, int] | None = None
    ) -> None:
        _insert_frame(self.conn, table, frame, extra)


@dataclass
class ImportReport:
    """What ``commit_import`` did, JSON-ready through ``to_dict``."""

    kind: str
    file_name: str
    file_hash: str
    import_id: int | None
    no_op: bool = False
    previous_import_id: int | None = None
    rows_read: int = 0
    rows_accepted: int = 0
    rows_rejected: int = 0
    rejected_by_reason: dict[str, int] = field(default_factory=dict)
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    stub_accounts: int = 0
    invoices_replaced: int = 0
    lines_replaced: int = 0
    new_attributes: list[str] = field(default_factory=list)
    replaced_imports: list[int] = field(default_factory=list)  # --replace: imports undone
    rejected_at_commit: list[str] = field(default_factory=list)  # "row N: reason" lines
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class AlreadyImported(SegscopeError):
    def __init__(self, previous: int) -> None:
        self.previous = previous
        super().__init__(f"this file was already imported (import #{previous}); nothing to do")


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _insert_frame(
    conn: sqlite3.Connection,
    table: str,
    frame: pl.DataFrame,
    extra: Mapping[str, int] | None = None,
) -> None:
    """Bulk insert: executemany over tuples polars builds (no per-row dicts).

    ``extra`` columns hold one integer for every row (the import id) and go
    into the SQL as literals, not as a bound value per row.
    """
    if frame.height == 0:
        return
    extra = {k: int(v) for k, v in (extra or {}).items()}
    names = ", ".join(_q(c) for c in [*frame.columns, *extra])
    values = ", ".join(["?"] * frame.width + [str(v) for v in extra.values()])
    sql = f"INSERT INTO {table} ({names}) VALUES ({values})"
    # Slices keep the Python objects of only a slice alive at a time.
    for part in frame.iter_slices(INSERT_SLICE_ROWS):
        conn.executemany(sql, part.iter_rows())


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _one(db: SqlTarget, sql: str, params: tuple = ()) -> Any:
    return db.rows(sql, params)[0][0]


def previous_import(db: SqlTarget, kind: str, file_hash: str) -> int | None:
    found = db.rows(
        "SELECT id FROM imports WHERE kind = ? AND file_hash = ? ORDER BY id LIMIT 1",
        (kind, file_hash),
    )
    return None if not found else int(found[0][0])


def commit_import(
    ws: Any, prepared: PreparedImport, progress: Progress | None = None, *, replace: bool = False
) -> ImportReport:
    """Write ``prepared`` into the workspace ``ws`` in one transaction (or not at all).

    ``replace`` (``--replace``): an earlier import of the very same file as
    the same kind is undone in the same transaction (see ``forget_imports``)
    and the file is imported again, with this mapping, instead of a no-op.
    A write that fails (a full disk, a read-only file, ...) raises
    ``WorkspaceError`` with one line; the workspace is as it was.
    """
    from storage import bulk_writer

    started = time.perf_counter()
    report = ImportReport(
        kind=prepared.kind,
        file_name=prepared.path.name,
        file_hash=prepared.file_hash,
        import_id=None,
        rows_read=prepared.rows_read,
        rows_accepted=prepared.rows_accepted,
        rows_rejected=prepared.rejected.height,
        rejected_by_reason=prepared.rejected_by_reason(),
        notes=list(prepared.notes),
    )
    previous = previous_import(SqliteTarget(ws.conn), prepared.kind, prepared.file_hash)
    if previous is not None and not replace:
        return _no_op(report, previous, started)
    try:
        if bulk_writer.worth_a_child(ws, prepared):
            bulk_writer.commit_in_child(ws, prepared, report, progress, replace=replace)
        else:
            conn: sqlite3.Connection = ws.conn
            with _bulk_settings(conn, prepared.kind), ws.write(what="the import"):
                write_import(SqliteTarget(conn), prepared, report, progress, replace=replace)
    except AlreadyImported as exc:
        return _no_op(report, exc.previous, started)
    except sqlite3.DatabaseError as exc:  # busy is raised by ws.write() already
        raise write_failed(ws.path, exc) from None
    except OSError as exc:  # the child writer's spilled lines on a full disk
        raise WorkspaceError(
            f"the import was not written to {ws.path}: {exc.strerror or exc}; nothing was changed"
        ) from None
    report.seconds = round(time.perf_counter() - started, 3)
    return report


def write_failed(path: Any, exc: BaseException) -> WorkspaceError:
    """One line for a write SQLite refused; the transaction was rolled back."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    lower = text.lower()
    if "disk is full" in lower or "disk full" in lower:
        why = "the disk is full"
    elif "readonly" in lower or "read-only" in lower:
        why = "the workspace is read-only"
    elif "too many columns" in lower:
        why = f"the accounts table would have too many columns ({text})"
    else:
        why = text
    return WorkspaceError(f"the import was not written to {path}: {why}; nothing was changed")


def write_import(
    db: SqlTarget,
    prepared: PreparedImport,
    report: ImportReport,
    progress: Progress | None,
    *,
    replace: bool = False,
) -> None:
    """Every statement of the import, inside a write transaction the caller holds."""
    # Another process may have imported the same file since the caller's check.
    previous = previous_import(db, prepared.kind, prepared.file_hash)
    if previous is not None and not replace:
        raise AlreadyImported(previous)
    mapping_json = json.dumps(
        {
            "mapping": prepared.mapping,
            "source": prepared.source.describe(),
            "decimal": dict(prepared.rules.decimal),
            "date_order": dict(prepared.rules.date_order),
        },
        ensure_ascii=False,
    )
    db.run(
        "INSERT INTO imports (kind, file_name, file_hash, mapping_json, rows_read,"
        " rows_accepted, rows_rejected, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            prepared.kind,
            str(prepared.path),
            prepared.file_hash,
            mapping_json,
            prepared.rows_read,
            prepared.rows_accepted,
            prepared.rejected.height,
            _now(),
        ),
    )
    import_id = int(_one(db, "SELECT last_insert_rowid()"))
    report.import_id = import_id
    if previous is not None:  # --replace: after the new record, so that its id is new
        forget_imports(db, prepared, report, import_id)
    rejected = prepared.rejected
    if prepared.kind == "accounts":
        _commit_accounts(db, prepared, import_id, report, progress)
    elif prepared.kind == "transactions":
        _commit_transactions(db, prepared, import_id, report, progress)
    else:
        commit = _commit_contacts if prepared.kind == "contacts" else _commit_activities
        extra = commit(db, prepared, import_id, report, progress)
        if extra.height:
            rejected = pl.concat([rejected, extra])
            report.rejected_at_commit = [
                f"row {r}: {reason}" for r, reason in extra.select(ROW, "reason").iter_rows()
            ]
            report.rows_accepted -= extra.height
            report.rows_rejected += extra.height
            counts = report.rejected_by_reason
            for rule, n in extra.group_by("rule").len().iter_rows():
                counts[rule] = counts.get(rule, 0) + int(n)
            db.run(
                "UPDATE imports SET rows_accepted = ?, rows_rejected = ? WHERE id = ?",
                (report.rows_accepted, report.rows_rejected, import_id),
            )
    db.insert(
        "rejected_rows",
        rejected.select(pl.col(ROW).alias("row_number"), "raw_json", "reason"),
        {"import_id": import_id},
    )


def forget_imports(
    db: SqlTarget, prepared: PreparedImport, report: ImportReport, new_import_id: int
) -> None:
    """Undo the earlier imports of this very file as this kind (``--replace``).

    Removed: their transaction lines and contacts, their import records and
    rejected rows, and the accounts they wrote last that nothing references
    any more and that the new import does not bring again (stubs, or ids of
    a wrong id column). Accounts the file brings again are upserted as
    usual; attribute columns an earlier mapping added stay (empty for the
    accounts not in the file).
    """
    ids = [
        int(r[0])
        for r in db.rows(
            "SELECT id FROM imports WHERE kind = ? AND file_hash = ? AND id != ? ORDER BY id",
            (prepared.kind, prepared.file_hash, new_import_id),
        )
    ]
    if not ids:
        return
    marks = ", ".join("?" * len(ids))
    params = tuple(ids)
    lines = db.run(f"DELETE FROM transactions WHERE import_id IN ({marks})", params)
    contacts = db.run(f"DELETE FROM contacts WHERE import_id IN ({marks})", params)
    activities = db.run(f"DELETE FROM activities WHERE import_id IN ({marks})", params)
    accounts = 0
    if prepared.kind in ("accounts", "transactions"):
        if prepared.kind == "accounts":
            keep = prepared.accepted.get_column("account_id").unique()
        else:
            keep = prepared.account_ids if prepared.account_ids is not None else pl.Series([])
        db.run("DROP TABLE IF EXISTS temp._keep_ids")
        db.run("CREATE TEMP TABLE _keep_ids (account_id TEXT PRIMARY KEY)")
        db.insert("temp._keep_ids", keep.cast(pl.String).to_frame("account_id"))
        accounts = db.run(
            f"DELETE FROM accounts WHERE import_id IN ({marks})"
            " AND account_id NOT IN (SELECT account_id FROM temp._keep_ids)"
            " AND account_id NOT IN (SELECT account_id FROM transactions)"
            " AND account_id NOT IN (SELECT account_id FROM contacts)"
            " AND account_id NOT IN (SELECT account_id FROM activities)",
            params,
        )
        db.run("DROP TABLE temp._keep_ids")
    db.run(f"DELETE FROM rejected_rows WHERE import_id IN ({marks})", params)
    db.run(f"DELETE FROM imports WHERE id IN ({marks})", params)
    report.replaced_imports = ids
    listed = ", ".join(f"#{i}" for i in ids)
    report.notes.append(
        f"replaces import {listed} of the same file: removed {lines:,} line(s), "
        f"{contacts:,} contact(s), {activities:,} activity row(s) and {accounts:,} account(s) "
        "no longer referenced"
    )


def _no_op(report: ImportReport, previous: int, started: float) -> ImportReport:
    report.no_op = True
    report.previous_import_id = previous
    report.rows_accepted = report.rows_rejected = 0
    report.rejected_by_reason = {}
    report.notes.append(f"identical to import #{previous} (same file, same kind); nothing written")
    report.seconds = round(time.perf_counter() - started, 3)
    return report


@contextlib.contextmanager
def _bulk_settings(conn: sqlite3.Connection, kind: str) -> Iterator[None]:
    """Connection settings for a bulk load, restored afterwards.

    A 256 MB page cache keeps index pages in memory. For transactions the
    per-row foreign-key lookup is switched off (it can only be changed outside
    a transaction): the import itself creates every missing parent (stub
    accounts) in the same transaction before the lines, so the constraint
    holds by construction. Inside a caller's open transaction (a nested
    ``ws.write()``) nothing is changed: these settings cannot change there.
    """
    if conn.in_transaction:
        yield
        return
    old_cache = conn.execute("PRAGMA cache_size").fetchone()[0]
    old_fk = conn.execute("PRAGMA foreign_keys").fetchone()[0]
    old_sync = conn.execute("PRAGMA synchronous").fetchone()[0]
    for pragma in bulk_pragmas(kind):
        conn.execute(pragma)
    try:
        yield
    finally:
        with contextlib.suppress(sqlite3.Error):
            conn.execute(f"PRAGMA cache_size = {int(old_cache)}")
            conn.execute(f"PRAGMA foreign_keys = {int(old_fk)}")
            conn.execute(f"PRAGMA synchronous = {int(old_sync)}")


def bulk_pragmas(kind: str) -> list[str]:
    """The settings of a bulk load (outside the transaction: some cannot change inside)."""
    # WAL with synchronous=NORMAL stays atomic (a commit whose WAL frames did not
    # all reach the disk is ignored on recovery); it only skips the fsync at
    # commit, so a power cut right after an import may undo it, never half of it.
    pragmas = ["PRAGMA cache_size = -262144", "PRAGMA synchronous = NORMAL"]
    if kind == "transactions":
        pragmas.append("PRAGMA foreign_keys = OFF")
    return pragmas


def _table_columns(db: SqlTarget, table: str) -> dict[str, str]:
    return {r[1]: (r[2] or "").upper() for r in db.rows(f"PRAGMA table_info({table})")}


def _upsert(
    db: SqlTarget,
    table: str,
    key: str,
    frame: pl.DataFrame,
    import_id: int,
    report: ImportReport,
) -> None:
    """Insert new keys, update rows whose values differ, leave the others untouched."""
    cols = frame.columns
    # In key order every insert appends to the primary-key index instead of
    # splitting pages all over it.
    if not frame.get_column(key).is_sorted():  # exports are often in key order already
        frame = frame.sort(key)
    if _one(db, f"SELECT EXISTS (SELECT 1 FROM {table})") == 0:
        db.insert(table, frame, {"import_id": import_id})
        report.inserted = frame.height
        return
    stage = f"_stage_{table}"
    db.run(f"DROP TABLE IF EXISTS temp.{stage}")
    db.run(f"CREATE TEMP TABLE {stage} AS SELECT {', '.join(map(_q, cols))} FROM {table} WHERE 0")
    db.insert(f"temp.{stage}", frame)
    report.inserted = int(
        _one(
            db, f"SELECT count(*) FROM temp.{stage} WHERE {key} NOT IN (SELECT {key} FROM {table})"
        )
    )
    others = [c for c in cols if c != key]
    col_list = ", ".join(map(_q, cols))
    if others:
        sets = ", ".join(f"{_q(c)} = excluded.{_q(c)}" for c in others)
        differs = " OR ".join(f"{table}.{_q(c)} IS NOT excluded.{_q(c)}" for c in others)
        conflict = f"DO UPDATE SET {sets}, import_id = excluded.import_id WHERE {differs}"
    else:
        conflict = "DO NOTHING"
    changed = db.run(
        f"INSERT INTO {table} ({col_list}, import_id) SELECT {col_list}, ? FROM temp.{stage} "
        f"WHERE true ON CONFLICT({key}) {conflict}",
        (import_id,),
    )
    report.updated = max(changed - report.inserted, 0)
    report.unchanged = frame.height - report.inserted - report.updated
    db.run(f"DROP TABLE temp.{stage}")


def _commit_accounts(
    db: SqlTarget,
    prepared: PreparedImport,
    import_id: int,
    report: ImportReport,
    progress: Progress | None,
) -> None:
    existing = _table_columns(db, "accounts")
    new = [n for n in prepared.attribute_dtypes if n not in existing]
    if len(existing) + len(new) > limits.SQLITE_MAX_COLUMNS:
        raise ImportFileError(
            f"{prepared.path}: its {len(new):,} new account attribute(s) would make the accounts "
            f"table {len(existing) + len(new):,} columns wide; SQLite allows "
            f"{limits.SQLITE_MAX_COLUMNS:,} and the workspace has {len(existing):,}. "
            "Leave columns out with --map 'COLUMN='"
        )
    for name, dtype in prepared.attribute_dtypes.items():
        if name not in existing:
            db.run(f"ALTER TABLE accounts ADD COLUMN {_q(name)} {dtype}")
            db.run(
                "INSERT OR REPLACE INTO account_attributes (name, dtype, import_id)"
                " VALUES (?, ?, ?)",
                (name, dtype, import_id),
            )
            report.new_attributes.append(name)
        elif existing[name] == "REAL" and dtype == "TEXT":
            # Text arrived in a numeric attribute: widen it; the numbers stay readable.
            db.run("UPDATE account_attributes SET dtype = 'TEXT' WHERE name = ?", (name,))
    frame = prepared.accepted.drop(ROW)
    _upsert(db, "accounts", "account_id", frame, import_id, report)
    if progress is not None:
        progress(prepared.rows_accepted, prepared.rows_accepted)


def _replace_invoices(db: SqlTarget, prepared: PreparedImport, report: ImportReport) -> None:
    """Delete the stored lines of every invoice the file has (its lines come in anew)."""
    if not _one(db, "SELECT EXISTS (SELECT 1 FROM transactions WHERE invoice_id IS NOT NULL)"):
        return
    invoice_ids = prepared.invoice_ids()
    if invoice_ids is None or invoice_ids.len() == 0:
        return
    db.run("DROP TABLE IF EXISTS temp._import_invoices")
    db.run("CREATE TEMP TABLE _import_invoices (invoice_id TEXT PRIMARY KEY)")
    db.insert("temp._import_invoices", invoice_ids.to_frame("invoice_id"))
    # One scan of the stored lines: there is no index on invoice_id (schema
    # migration 4), which every large import would otherwise have to rebuild.
    db.run("DROP TABLE IF EXISTS temp._replaced")
    db.run(
        "CREATE TEMP TABLE _replaced AS SELECT id, invoice_id FROM transactions"
        " WHERE invoice_id IN (SELECT invoice_id FROM temp._import_invoices)"
    )
    report.invoices_replaced = int(
        _one(db, "SELECT count(DISTINCT invoice_id) FROM temp._replaced")
    )
    if report.invoices_replaced:
        report.lines_replaced = db.run(
            "DELETE FROM transactions WHERE id IN (SELECT id FROM temp._replaced)"
        )
    db.run("DROP TABLE temp._replaced")
    db.run("DROP TABLE temp._import_invoices")


def _commit_transactions(
    db: SqlTarget,
    prepared: PreparedImport,
    import_id: int,
    report: ImportReport,
    progress: Progress | None,
) -> None:
    _replace_invoices(db, prepared, report)
    stored = int(_one(db, "SELECT coalesce(max(rowid), 0) FROM transactions"))
    reindex = prepared.rows_accepted >= REINDEX_MIN_ROWS and prepared.rows_accepted > stored
    indexes = []
    if reindex:
        indexes = db.rows(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index'"
            " AND tbl_name = 'transactions' AND sql IS NOT NULL"
        )
        for name, _sql in indexes:
            db.run(f"DROP INDEX {_q(name)}")

    # Stub accounts first, all at once: every line's parent exists before the lines
    # (in id order: the same rowids however the distinct ids came out).
    db.run("DROP TABLE IF EXISTS temp._import_ids")
    db.run("CREATE TEMP TABLE _import_ids (account_id TEXT PRIMARY KEY)")
    db.insert("temp._import_ids", prepared.account_ids.to_frame("account_id"))
    report.stub_accounts = db.run(
        "INSERT OR IGNORE INTO accounts (account_id, import_id)"
        " SELECT account_id, ? FROM temp._import_ids ORDER BY account_id",
        (import_id,),
    )
    db.run("DROP TABLE temp._import_ids")
    done = 0
    for batch in prepared.iter_accepted():
        db.insert("transactions", batch.drop(ROW), {"import_id": import_id})
        done += batch.height
        if progress is not None:
            progress(done, prepared.rows_accepted)
    for _name, sql in indexes:
        db.run(sql)
    report.inserted = done
    if report.stub_accounts:
        report.notes.append(
            f"{report.stub_accounts} account(s) were not in the workspace and were created "
            "as stubs (id only); import their accounts file to fill them in"
        )


def _commit_contacts(
    db: SqlTarget,
    prepared: PreparedImport,
    import_id: int,
    report: ImportReport,
    progress: Progress | None,
) -> pl.DataFrame:
    """Upsert contacts of known accounts; return the rejected rows of unknown accounts."""
    keep, extra = _known_accounts_only(db, prepared)
    _upsert(db, "contacts", "contact_id", keep.drop(ROW), import_id, report)
    if progress is not None:
        progress(keep.height, keep.height)
    return extra


def _commit_activities(
    db: SqlTarget,
    prepared: PreparedImport,
    import_id: int,
    report: ImportReport,
    progress: Progress | None,
) -> pl.DataFrame:
    """Append the activities of known accounts; return the rejected rows of unknown
    accounts (a Salesforce WhatId may name an opportunity, not an account)."""
    keep, extra = _known_accounts_only(db, prepared)
    if keep.height:
        db.insert("activities", keep.drop(ROW), {"import_id": import_id})
    report.inserted = keep.height
    if progress is not None:
        progress(keep.height, keep.height)
    return extra


def _known_accounts_only(
    db: SqlTarget, prepared: PreparedImport
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(accepted rows whose account is in the workspace, rejected rows of the others)."""
    frame = prepared.accepted
    db.run("DROP TABLE IF EXISTS temp._import_ids")
    db.run("CREATE TEMP TABLE _import_ids (account_id TEXT PRIMARY KEY)")
    db.insert("temp._import_ids", frame.select(pl.col("account_id").unique()))
    unknown = [
        r[0]
        for r in db.rows(
            "SELECT account_id FROM temp._import_ids"
            " WHERE account_id NOT IN (SELECT account_id FROM accounts)"
        )
    ]
    db.run("DROP TABLE temp._import_ids")
    missing = frame.filter(pl.col("account_id").is_in(unknown))
    keep = frame.filter(~pl.col("account_id").is_in(unknown))
    extra = pl.DataFrame(schema=v.REJECTED_SCHEMA)
    if missing.height:
        raw = prepared._raw
        src_cols = (
            list(prepared.source.columns) if raw is None else [c for c in raw.columns if c != ROW]
        )
        rows = missing.select(ROW, "account_id")
        if raw is not None:
            rows = rows.join(raw, on=ROW, how="left")
            raw_json = pl.struct(src_cols).struct.json_encode()
        else:
            raw_json = pl.struct("account_id").struct.json_encode()
        extra = rows.select(
            pl.col(ROW),
            raw_json.alias("raw_json"),
            pl.format(
                "account_id '{}' is not in the workspace (import the accounts first)",
                pl.col("account_id"),
            ).alias("reason"),
            pl.lit("account_id is not in the workspace").alias("rule"),
        )
    return keep, extra
