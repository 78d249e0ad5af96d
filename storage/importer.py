"""Importing accounts, transactions, contacts and activities: prepare (read, map,
validate), then commit.

``prepare_import`` reads and validates a whole file and writes nothing; the
result can be shown (mapping, preview, accepted/rejected counts by reason)
before ``commit_import`` (``storage.import_writer``) writes it in ONE
``BEGIN IMMEDIATE`` transaction: the import record, every rejected row with
its reason, and the data. A crash, a kill or an exception at any moment leaves
the workspace as it was.

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

import itertools
import shutil
import tempfile
import threading
import weakref
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from core.errors import SegscopeError, UsageError
from storage import tempfiles
from storage import validation as v
from storage.import_writer import (
    ImportReport,
    SqliteTarget,
    commit_import,
    previous_import,
)
from storage.mapping import (
    ROW_SOURCE,
    check_kind,
    check_required,
    guess_mapping,
    mapping_notes,
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
from storage.schema import (
    ACCOUNT_COLUMNS,
    ACTIVITY_COLUMNS,
    CONTACT_COLUMNS,
    TRANSACTION_COLUMNS,
)

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
    # contacts, activities: raw rows, for reasons found at commit
    _raw: pl.DataFrame | None = None
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
    encoding: str | None = None,
) -> PreparedImport:
    """Read, map and validate ``path`` as ``kind``; write nothing.

    ``mapping`` ({source: target}) replaces the guessed mapping entirely (the
    TUI passes the mapping the analyst confirmed); ``overrides`` (``--map``)
    adjust the guess. ``progress(rows_read, 0)`` is called after each batch
    of a streamed file (the total is not known before the end). ``encoding``
    (``--encoding``) names a CSV file's text encoding. Raises
    ``ImportFileError`` for unreadable files or a missing id column,
    ``UsageError`` for a bad mapping.
    """
    check_kind(kind)
    path = Path(path).expanduser()
    info = sniff_source(path, sheet, encoding)
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
            raise ImportFileError(f"{path} has a column named '{ROW_SOURCE}' already")
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
        # pid-tagged, so a later import sweeps what a killed one left (issue 11)
        spill_parent = Path(tempfile.gettempdir())
        tempfiles.sweep(spill_parent, "segscope-import-*")
        spill_dir = tempfiles.make_dir(spill_parent, "segscope-import")
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
        except OSError as exc:  # a full disk under the spilled batches
            shutil.rmtree(spill_dir, ignore_errors=True)
            raise ImportFileError(
                f"cannot set aside the checked rows of {path} in {spill_dir.parent}: "
                f"{exc.strerror or exc}"
            ) from None
        except BaseException:
            shutil.rmtree(spill_dir, ignore_errors=True)
            raise
    notes[1:1] = (
        ["amount = quantity x unit_price (the file has no amount column)"]
        if kind == "transactions" and "amount" not in final.values()
        else []
    )
    notes += list(rules.notes) + mapping_notes(columns, final, kind)
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
        _raw=frame if kind in ("contacts", "activities") else None,
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


# -- the same file? ------------------------------------------------------------------


def import_key(info: SourceInfo) -> str:
    """What makes two imports "the same file": its SHA-256 (and the sheet of a workbook)."""
    digest = file_sha256(info.path)
    return f"{digest}:{info.sheet}" if info.format == "xlsx" else digest


def already_imported(
    ws: Any, path: str | Path, kind: str, sheet: str | None = None, encoding: str | None = None
) -> int | None:
    """The id of an earlier import of this very file (same SHA-256, same sheet) as ``kind``.

    Costs one hash of the file: callers can skip ``prepare_import`` for a
    no-op. Unreadable files return None (``prepare_import`` explains them).
    """
    try:
        info = sniff_source(path, sheet, encoding)
    except ImportFileError:
        return None
    return previous_import(SqliteTarget(ws.conn), kind, import_key(info))


# Stored column names, for the loaders' benefit and the tests.
STORED_COLUMNS = {
    "accounts": tuple(ACCOUNT_COLUMNS),
    "transactions": tuple(TRANSACTION_COLUMNS),
    "contacts": tuple(CONTACT_COLUMNS),
    "activities": tuple(ACTIVITY_COLUMNS),
}
