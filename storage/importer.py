"""Importing accounts, transactions and contacts: prepare (read, map, validate), then commit.

``prepare_import`` reads and validates a whole file and writes nothing; the
result can be shown (mapping, preview, accepted/rejected counts by reason)
before ``commit_import`` writes it in ONE ``BEGIN IMMEDIATE`` transaction:
the import record, every rejected row with its reason, and the data. A crash,
a kill or an exception at any moment leaves the workspace as it was.

Rules (docs/architecture.md "Import rules"):

- A file whose SHA-256 was already imported as the same kind is a no-op.
- Accounts upsert by ``account_id``: new ids are inserted, rows whose values
  differ in the file's columns are updated, the others are left untouched
  (columns the file does not have are never touched). Unknown columns become
  account attributes (``ALTER TABLE ADD COLUMN``, REAL when every value is a
  number, else TEXT; recorded in ``account_attributes``).
- Transactions: a transaction whose account is unknown creates a stub account
  (id only), counted in the report. When the file has invoice ids, the stored
  lines of every invoice in the file are replaced (deleted, then the file's
  lines inserted), so re-exporting an overlapping period never counts twice.
  Lines without an invoice id are appended.
- Contacts upsert by ``contact_id``; a contact whose account is not in the
  workspace is rejected (import the accounts first).

Large transaction files are streamed: ``prepare_import`` validates them batch
by batch and spills the accepted batches to Arrow IPC files in a temporary
directory (removed with the ``PreparedImport``), so memory holds one batch at
a time; ``commit_import`` writes them batch by batch inside its one
transaction.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import shutil
import sqlite3
import tempfile
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from core.errors import SegscopeError, UsageError
from storage import validation as v
from storage.mapping import (
    ROW_SOURCE,
    check_kind,
    check_required,
    guess_mapping,
    resolve_mapping,
    targets,
)
from storage.readers import (
    ROW,
    ImportFileError,
    SourceInfo,
    file_sha256,
    iter_batches,
    read_source,
    read_whole,
    sniff_source,
)
from storage.schema import ACCOUNT_COLUMNS, CONTACT_COLUMNS, TRANSACTION_COLUMNS

__all__ = [
    "ImportFileError",
    "already_imported",
    "ImportReport",
    "PreparedImport",
    "commit_import",
    "prepare_import",
    "guess_mapping",
    "read_source",
]

BATCH_ROWS = 1_000_000
# Dropping and rebuilding the transaction indexes pays off for loads larger
# than what is already stored.
REINDEX_MIN_ROWS = 200_000
INSERT_SLICE_ROWS = 100_000
Progress = Callable[[int, int], None]


# -- prepared import -------------------------------------------------------------


@dataclass
class PreparedImport:
    """A validated file, nothing written. ``commit_import`` writes it."""

    path: Path
    kind: str
    source: SourceInfo
    file_hash: str
    mapping: dict[str, str]
    ignored: list[str]
    rules: v.FileRules
    rows_read: int
    rows_accepted: int
    rejected: pl.DataFrame  # ROW, raw_json, reason, rule
    notes: list[str] = field(default_factory=list)
    attribute_dtypes: dict[str, str] = field(default_factory=dict)  # accounts: name -> TEXT|REAL
    account_ids: pl.Series | None = None  # distinct account ids of accepted lines (transactions)
    _accepted: pl.DataFrame | None = None
    _raw: pl.DataFrame | None = None  # contacts: raw rows, for reasons found at commit
    _spill: list[Path] = field(default_factory=list)  # streamed: accepted batches, Arrow IPC

    def __post_init__(self) -> None:
        if self._spill:
            # The spilled batches live as long as this object.
            weakref.finalize(self, shutil.rmtree, self._spill[0].parent, True)

    @property
    def accepted(self) -> pl.DataFrame:
        """The accepted rows in canonical columns (streamed files are read again)."""
        if self._accepted is not None:
            return self._accepted
        return pl.concat(list(self.iter_accepted()), how="vertical")

    @property
    def streamed(self) -> bool:
        return self._accepted is None

    def iter_accepted(self, batch_size: int = BATCH_ROWS) -> Iterator[pl.DataFrame]:
        if self._accepted is not None:
            for offset in range(0, self._accepted.height, batch_size):
                yield self._accepted.slice(offset, batch_size)
            return
        for part in self._spill:
            yield pl.read_ipc(part)

    def invoice_ids(self) -> pl.Series | None:
        """Distinct invoice ids of the accepted lines (None without an invoice column).

        Computed on demand: only an import into a workspace that already holds
        invoices needs them.
        """
        if self.kind != "transactions" or "invoice_id" not in self.mapping.values():
            return None
        parts = [b["invoice_id"].drop_nulls().unique() for b in self.iter_accepted()]
        return pl.concat(parts).unique() if parts else None

    def rejected_by_reason(self) -> dict[str, int]:
        if self.rejected.height == 0:
            return {}
        counts = (
            self.rejected.group_by("rule").len().sort(["len", "rule"], descending=[True, False])
        )
        return {r: int(n) for r, n in counts.iter_rows()}

    def report(self) -> dict[str, Any]:
        """Counts by reason and the decisions taken, JSON-ready."""
        return {
            "file": str(self.path),
            "kind": self.kind,
            "format": self.source.describe(),
            "mapping": dict(self.mapping),
            "ignored_columns": list(self.ignored),
            "rows_read": self.rows_read,
            "rows_accepted": self.rows_accepted,
            "rows_rejected": self.rejected.height,
            "rejected_by_reason": self.rejected_by_reason(),
            "notes": list(self.notes),
        }

    def preview(self, n: int = 20) -> pl.DataFrame:
        """The first ``n`` accepted rows."""
        if self._accepted is not None:
            return self._accepted.head(n)
        return next(self.iter_accepted(max(n, 1)), pl.DataFrame()).head(n)

    def rejected_preview(self, n: int = 20) -> list[str]:
        """``row 17: date '31/02/2024' is not a valid date`` lines."""
        return [
            f"row {r}: {reason}"
            for r, reason in self.rejected.head(n).select(ROW, "reason").iter_rows()
        ]


def _source_columns(info: SourceInfo, frame: pl.DataFrame | None) -> list[str]:
    if frame is not None:
        return [c for c in frame.columns if c != ROW]
    return list(info.columns)


def _zero_amounts(accepted: pl.DataFrame, kind: str) -> int:
    if kind != "transactions" or "amount" not in accepted.columns:
        return 0
    return int((accepted["amount"] == 0).sum())


def prepare_import(
    path: str | Path,
    kind: str,
    mapping: Mapping[str, str] | None = None,
    sheet: str | None = None,
    *,
    overrides: Mapping[str, str | None] | None = None,
    batch_size: int = BATCH_ROWS,
    progress: Progress | None = None,
) -> PreparedImport:
    """Read, map and validate ``path`` as ``kind``; write nothing.

    ``mapping`` ({source: target}) replaces the guessed mapping entirely (the
    TUI passes the mapping the analyst confirmed); ``overrides`` (``--map``)
    adjust the guess. ``progress(rows_read, 0)`` is called after each batch
    of a streamed file (the total is not known before the end). Raises
    ``ImportFileError`` for unreadable files or a missing id column,
    ``UsageError`` for a bad mapping.
    """
    check_kind(kind)
    path = Path(path).expanduser()
    info = sniff_source(path, sheet)
    file_hash = _hash_in_background(info)
    stream = info.streamable and kind == "transactions"
    frame = None if stream else read_whole(info)
    columns = _source_columns(info, frame)
    if frame is not None and frame.height == 0:
        raise ImportFileError(f"{path} has a header but no data rows")
    if ROW_SOURCE in (overrides or {}) or ROW_SOURCE in (mapping or {}):
        if frame is None:
            raise UsageError(
                f"--map '{ROW_SOURCE}=...' numbers the rows of a file read whole; "
                f"{path} is a large CSV read in batches"
            )
        if ROW_SOURCE in columns:
            raise UsageError(f"{path} has a column named '{ROW_SOURCE}' already")
        frame = frame.with_columns(pl.col(ROW).cast(pl.Utf8).alias(ROW_SOURCE))
        columns.append(ROW_SOURCE)
    if stream:
        import polars as _pl

        # The sniffed header is stripped; the streamed frames use the same names.
        columns = [
            c.strip().lstrip("\ufeff")
            for c in _pl.scan_csv(path, separator=info.separator, infer_schema=False)
            .collect_schema()
            .names()
        ]
        info = SourceInfo(**{**info.__dict__, "columns": tuple(columns)})
    if mapping is not None:
        final = _check_mapping(mapping, columns, kind)
    else:
        final = resolve_mapping(columns, kind, overrides)
    check_required(columns, kind, final, path, sheet=info.sheet)
    ignored = [c for c in columns if c not in final]

    number_targets = set(v.INT_TARGETS[kind]) | set(v.FLOAT_TARGETS[kind])
    number_sources = {s: t for s, t in final.items() if t in number_targets}
    canonical = set(targets(kind))
    attribute_sources = (
        {s: t for s, t in final.items() if t not in canonical} if kind == "accounts" else {}
    )
    date_sources = {s: t for s, t in final.items() if t in v.DATE_TARGETS[kind]}
    numeric = [*number_sources, *attribute_sources]
    separator = info.separator if info.format == "csv" else ","
    evidence = v.Evidence(separator=separator)
    rows_read = 0
    rows_accepted = 0
    zero_amounts = 0
    rejected_parts: list[pl.DataFrame] = []
    account_parts: list[pl.Series] = []
    accepted: pl.DataFrame | None = None
    spill: list[Path] = []
    notes = [f"read as {info.describe()}"]
    if frame is not None:
        evidence.add(frame, numeric, list(date_sources), list(attribute_sources))
        rules = v.decide_rules(evidence, separator, number_sources, attribute_sources, date_sources)
        result = v.validate(frame, kind, final, rules, columns)
        rows_read = frame.height
        accepted = result.accepted
        rows_accepted = accepted.height
        zero_amounts = _zero_amounts(accepted, kind)
        rejected_parts.append(result.rejected)
    else:
        batches = iter_batches(info, batch_size, columns=list(final))
        first = next(batches, None)
        if first is None or first.height == 0:
            raise ImportFileError(f"{path} has a header but no data rows")
        # Decimal separators are decided on the first batch (a million rows say
        # enough); a date order the first batch leaves open is settled by a pass
        # over the whole date column.
        evidence.add(first, numeric, list(date_sources), list(attribute_sources))
        undecided = [s for s, (dm, md, n) in evidence.dates.items() if n and not dm and not md]
        if undecided:
            whole = v.Evidence(separator=separator)
            for batch in iter_batches(info, batch_size, columns=undecided):
                whole.add(batch, [], undecided)
            evidence.dates.update(whole.dates)
        rules = v.decide_rules(evidence, separator, number_sources, attribute_sources, date_sources)
        notes.append(
            f"a large file: streamed in batches of {batch_size:,} rows; decimal separators "
            "decided on the first batch"
        )
        spill_dir = Path(tempfile.mkdtemp(prefix="segscope-import-"))
        try:
            for i, batch in enumerate(itertools.chain([first], batches)):
                result = v.validate(batch, kind, final, rules, columns)
                rows_read += batch.height
                rows_accepted += result.accepted.height
                zero_amounts += _zero_amounts(result.accepted, kind)
                rejected_parts.append(result.rejected)
                account_parts.append(result.accepted["account_id"].unique())
                part = spill_dir / f"{i:05d}.arrow"
                result.accepted.write_ipc(part)
                spill.append(part)
                if progress is not None:
                    progress(rows_read, 0)
        except BaseException:
            shutil.rmtree(spill_dir, ignore_errors=True)
            raise
    notes[1:1] = (
        ["amount = quantity x unit_price (the file has no amount column)"]
        if kind == "transactions" and "amount" not in final.values()
        else []
    )
    notes += list(rules.notes)
    if zero_amounts:
        # e.g. the lost opportunities of a CRM pipeline (close value 0): kept, but
        # the analyst should know they are there and that they change nothing
        notes.append(
            f"{zero_amounts:,} accepted line(s) have amount 0: stored, but they are neither "
            "purchases nor revenue (metrics count lines with a positive net only)"
        )
    rejected = (
        pl.concat(rejected_parts) if rejected_parts else pl.DataFrame(schema=v.REJECTED_SCHEMA)
    )

    account_ids = None
    if kind == "transactions":
        if accepted is not None:
            account_ids = accepted["account_id"].unique()
        else:
            account_ids = pl.concat(account_parts).unique()
    attribute_dtypes = {
        t: ("REAL" if t in rules.numeric_attributes else "TEXT") for t in attribute_sources.values()
    }
    return PreparedImport(
        path=path,
        kind=kind,
        source=info,
        file_hash=file_hash(),
        mapping=final,
        ignored=ignored,
        rules=rules,
        rows_read=rows_read,
        rows_accepted=rows_accepted,
        rejected=rejected,
        notes=notes,
        attribute_dtypes=attribute_dtypes,
        account_ids=account_ids,
        _accepted=accepted,
        _raw=frame if kind == "contacts" else None,
        _spill=spill,
    )


def _hash_in_background(info: SourceInfo) -> Callable[[], str]:
    """Start hashing the file beside the reading (hashlib lets go of the GIL);
    the returned function waits for the digest. A daemon thread, so an import
    that fails early does not wait for the hash of a big file."""
    result: list[str | BaseException] = []

    def work() -> None:
        try:
            result.append(import_key(info))
        except BaseException as exc:  # handed to the caller below
            result.append(exc)

    thread = threading.Thread(target=work, name="segscope-hash", daemon=True)
    thread.start()

    def wait() -> str:
        thread.join()
        if isinstance(result[0], BaseException):
            raise result[0]
        return result[0]

    return wait


def _check_mapping(mapping: Mapping[str, str], columns: list[str], kind: str) -> dict[str, str]:
    from storage.mapping import attribute_name

    allowed = set(targets(kind))
    out: dict[str, str] = {}
    seen: set[str] = set()
    for source, target in mapping.items():
        if not target:
            continue
        if source not in columns:
            raise SegscopeError(
                f"the mapping names column '{source}', which the file does not have"
            )
        if target not in allowed and (kind != "accounts" or target != attribute_name(target)):
            raise SegscopeError(f"the mapping target '{target}' is not a {kind} column")
        if target in seen:
            raise SegscopeError(f"two columns are mapped to '{target}'")
        seen.add(target)
        out[source] = target
    return out


# -- commit ----------------------------------------------------------------------------


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
    rejected_at_commit: list[str] = field(default_factory=list)  # "row N: reason" lines
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


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


def _previous_import(conn: sqlite3.Connection, kind: str, file_hash: str) -> int | None:
    row = conn.execute(
        "SELECT id FROM imports WHERE kind = ? AND file_hash = ? ORDER BY id LIMIT 1",
        (kind, file_hash),
    ).fetchone()
    return None if row is None else int(row[0])


def import_key(info: SourceInfo) -> str:
    """What makes two imports "the same file": its SHA-256 (and the sheet of a workbook)."""
    digest = file_sha256(info.path)
    return f"{digest}:{info.sheet}" if info.format == "xlsx" else digest


def already_imported(ws: Any, path: str | Path, kind: str, sheet: str | None = None) -> int | None:
    """The id of an earlier import of this very file (same SHA-256, same sheet) as ``kind``.

    Costs one hash of the file: callers can skip ``prepare_import`` for a
    no-op. Unreadable files return None (``prepare_import`` explains them).
    """
    try:
        info = sniff_source(path, sheet)
    except ImportFileError:
        return None
    return _previous_import(ws.conn, kind, import_key(info))


def commit_import(
    ws: Any, prepared: PreparedImport, progress: Progress | None = None
) -> ImportReport:
    """Write ``prepared`` into the workspace ``ws`` in one transaction (or not at all)."""
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
    conn: sqlite3.Connection = ws.conn
    previous = _previous_import(conn, prepared.kind, prepared.file_hash)
    if previous is not None:
        return _no_op(report, previous, started)
    try:
        _write(ws, conn, prepared, report, progress)
    except _AlreadyImported as exc:
        return _no_op(report, exc.previous, started)
    report.seconds = round(time.perf_counter() - started, 3)
    return report


def _write(
    ws: Any,
    conn: sqlite3.Connection,
    prepared: PreparedImport,
    report: ImportReport,
    progress: Progress | None,
) -> None:
    with _bulk_settings(conn, prepared.kind), ws.write():
        # Another process may have imported the same file since the check above.
        previous = _previous_import(conn, prepared.kind, prepared.file_hash)
        if previous is not None:
            raise _AlreadyImported(previous)
        mapping_json = json.dumps(
            {
                "mapping": prepared.mapping,
                "source": prepared.source.describe(),
                "decimal": dict(prepared.rules.decimal),
                "date_order": dict(prepared.rules.date_order),
            },
            ensure_ascii=False,
        )
        cur = conn.execute(
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
        import_id = int(cur.lastrowid)
        report.import_id = import_id
        rejected = prepared.rejected
        if prepared.kind == "accounts":
            _commit_accounts(conn, prepared, import_id, report, progress)
        elif prepared.kind == "transactions":
            _commit_transactions(conn, prepared, import_id, report, progress)
        else:
            extra = _commit_contacts(conn, prepared, import_id, report, progress)
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
                conn.execute(
                    "UPDATE imports SET rows_accepted = ?, rows_rejected = ? WHERE id = ?",
                    (report.rows_accepted, report.rows_rejected, import_id),
                )
        _insert_frame(
            conn,
            "rejected_rows",
            rejected.select(pl.col(ROW).alias("row_number"), "raw_json", "reason"),
            {"import_id": import_id},
        )


class _AlreadyImported(SegscopeError):
    def __init__(self, previous: int) -> None:
        self.previous = previous
        super().__init__(f"this file was already imported (import #{previous}); nothing to do")


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
    holds by construction.
    """
    old_cache = conn.execute("PRAGMA cache_size").fetchone()[0]
    old_fk = conn.execute("PRAGMA foreign_keys").fetchone()[0]
    old_sync = conn.execute("PRAGMA synchronous").fetchone()[0]
    conn.execute("PRAGMA cache_size = -262144")
    # WAL with synchronous=NORMAL stays atomic (a commit whose WAL frames did not
    # all reach the disk is ignored on recovery); it only skips the fsync at
    # commit, so a power cut right after an import may undo it, never half of it.
    conn.execute("PRAGMA synchronous = NORMAL")
    if kind == "transactions":
        conn.execute("PRAGMA foreign_keys = OFF")
    try:
        yield
    finally:
        with contextlib.suppress(sqlite3.Error):
            conn.execute(f"PRAGMA cache_size = {int(old_cache)}")
            conn.execute(f"PRAGMA foreign_keys = {int(old_fk)}")
            conn.execute(f"PRAGMA synchronous = {int(old_sync)}")


def _table_columns(conn: sqlite3.Connection, table: str) -> dict[str, str]:
    return {r[1]: (r[2] or "").upper() for r in conn.execute(f"PRAGMA table_info({table})")}


def _count(conn: sqlite3.Connection, sql: str, params: tuple = ()) -> int:
    return int(conn.execute(sql, params).fetchone()[0])


def _upsert(
    conn: sqlite3.Connection,
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
    if _count(conn, f"SELECT EXISTS (SELECT 1 FROM {table})") == 0:
        _insert_frame(conn, table, frame, {"import_id": import_id})
        report.inserted = frame.height
        return
    stage = f"_stage_{table}"
    conn.execute(f"DROP TABLE IF EXISTS temp.{stage}")
    conn.execute(
        f"CREATE TEMP TABLE {stage} AS SELECT {', '.join(map(_q, cols))} FROM {table} WHERE 0"
    )
    _insert_frame(conn, f"temp.{stage}", frame)
    report.inserted = _count(
        conn, f"SELECT count(*) FROM temp.{stage} WHERE {key} NOT IN (SELECT {key} FROM {table})"
    )
    others = [c for c in cols if c != key]
    col_list = ", ".join(map(_q, cols))
    if others:
        sets = ", ".join(f"{_q(c)} = excluded.{_q(c)}" for c in others)
        differs = " OR ".join(f"{table}.{_q(c)} IS NOT excluded.{_q(c)}" for c in others)
        conflict = f"DO UPDATE SET {sets}, import_id = excluded.import_id WHERE {differs}"
    else:
        conflict = "DO NOTHING"
    cur = conn.execute(
        f"INSERT INTO {table} ({col_list}, import_id) SELECT {col_list}, ? FROM temp.{stage} "
        f"WHERE true ON CONFLICT({key}) {conflict}",
        (import_id,),
    )
    report.updated = max(cur.rowcount - report.inserted, 0)
    report.unchanged = frame.height - report.inserted - report.updated
    conn.execute(f"DROP TABLE temp.{stage}")


def _commit_accounts(
    conn: sqlite3.Connection,
    prepared: PreparedImport,
    import_id: int,
    report: ImportReport,
    progress: Progress | None,
) -> None:
    existing = _table_columns(conn, "accounts")
    for name, dtype in prepared.attribute_dtypes.items():
        if name not in existing:
            conn.execute(f"ALTER TABLE accounts ADD COLUMN {_q(name)} {dtype}")
            conn.execute(
                "INSERT OR REPLACE INTO account_attributes (name, dtype, import_id)"
                " VALUES (?, ?, ?)",
                (name, dtype, import_id),
            )
            report.new_attributes.append(name)
        elif existing[name] == "REAL" and dtype == "TEXT":
            # Text arrived in a numeric attribute: widen it; the numbers stay readable.
            conn.execute("UPDATE account_attributes SET dtype = 'TEXT' WHERE name = ?", (name,))
    frame = prepared.accepted.drop(ROW)
    _upsert(conn, "accounts", "account_id", frame, import_id, report)
    if progress is not None:
        progress(prepared.rows_accepted, prepared.rows_accepted)


def _commit_transactions(
    conn: sqlite3.Connection,
    prepared: PreparedImport,
    import_id: int,
    report: ImportReport,
    progress: Progress | None,
) -> None:
    has_invoices = _count(
        conn, "SELECT EXISTS (SELECT 1 FROM transactions WHERE invoice_id IS NOT NULL)"
    )
    invoice_ids = prepared.invoice_ids() if has_invoices else None
    if invoice_ids is not None and invoice_ids.len():
        conn.execute("DROP TABLE IF EXISTS temp._import_invoices")
        conn.execute("CREATE TEMP TABLE _import_invoices (invoice_id TEXT PRIMARY KEY)")
        _insert_frame(conn, "temp._import_invoices", invoice_ids.to_frame("invoice_id"))
        report.invoices_replaced = _count(
            conn,
            "SELECT count(DISTINCT invoice_id) FROM transactions"
            " WHERE invoice_id IN (SELECT invoice_id FROM temp._import_invoices)",
        )
        if report.invoices_replaced:
            cur = conn.execute(
                "DELETE FROM transactions"
                " WHERE invoice_id IN (SELECT invoice_id FROM temp._import_invoices)"
            )
            report.lines_replaced = cur.rowcount
        conn.execute("DROP TABLE temp._import_invoices")

    stored = _count(conn, "SELECT coalesce(max(rowid), 0) FROM transactions")
    reindex = prepared.rows_accepted >= REINDEX_MIN_ROWS and prepared.rows_accepted > stored
    indexes = []
    if reindex:
        indexes = [
            r
            for r in conn.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index'"
                " AND tbl_name = 'transactions' AND sql IS NOT NULL"
            )
        ]
        for name, _sql in indexes:
            conn.execute(f"DROP INDEX {_q(name)}")

    # Stub accounts first, all at once: every line's parent exists before the lines.
    conn.execute("DROP TABLE IF EXISTS temp._import_ids")
    conn.execute("CREATE TEMP TABLE _import_ids (account_id TEXT PRIMARY KEY)")
    _insert_frame(conn, "temp._import_ids", prepared.account_ids.to_frame("account_id"))
    cur = conn.execute(
        "INSERT OR IGNORE INTO accounts (account_id, import_id)"
        " SELECT account_id, ? FROM temp._import_ids",
        (import_id,),
    )
    report.stub_accounts = cur.rowcount
    conn.execute("DROP TABLE temp._import_ids")
    done = 0
    for batch in prepared.iter_accepted():
        _insert_frame(conn, "transactions", batch.drop(ROW), {"import_id": import_id})
        done += batch.height
        if progress is not None:
            progress(done, prepared.rows_accepted)
    for _name, sql in indexes:
        conn.execute(sql)
    report.inserted = done
    if report.stub_accounts:
        report.notes.append(
            f"{report.stub_accounts} account(s) were not in the workspace and were created "
            "as stubs (id only); import their accounts file to fill them in"
        )


def _commit_contacts(
    conn: sqlite3.Connection,
    prepared: PreparedImport,
    import_id: int,
    report: ImportReport,
    progress: Progress | None,
) -> pl.DataFrame:
    """Upsert contacts of known accounts; return the rejected rows of unknown accounts."""
    frame = prepared.accepted
    conn.execute("DROP TABLE IF EXISTS temp._import_ids")
    conn.execute("CREATE TEMP TABLE _import_ids (account_id TEXT PRIMARY KEY)")
    _insert_frame(conn, "temp._import_ids", frame.select(pl.col("account_id").unique()))
    unknown = [
        r[0]
        for r in conn.execute(
            "SELECT account_id FROM temp._import_ids"
            " WHERE account_id NOT IN (SELECT account_id FROM accounts)"
        )
    ]
    conn.execute("DROP TABLE temp._import_ids")
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
    _upsert(conn, "contacts", "contact_id", keep.drop(ROW), import_id, report)
    if progress is not None:
        progress(keep.height, keep.height)
    return extra


# Stored column names, for the loaders' benefit and the tests.
STORED_COLUMNS = {
    "accounts": tuple(ACCOUNT_COLUMNS),
    "transactions": tuple(TRANSACTION_COLUMNS),
    "contacts": tuple(CONTACT_COLUMNS),
}
