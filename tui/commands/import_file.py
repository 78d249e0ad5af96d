"""``segscope import WORKSPACE FILE --kind KIND``: import a CSV, XLSX or Parquet file.

The file is read, mapped and validated first (nothing written); then every
accepted row, every rejected row with its reason and the import record are
committed in one transaction. Exit codes: 0 imported (rows may have been
rejected: see the report), 1 unreadable file / no id column / workspace
problem, 2 usage error, 3 workspace busy.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from storage.mapping import KINDS, parse_overrides

DESCRIPTION = """\
Import accounts, transactions, contacts or activities into a workspace.

FILE may be CSV (delimiter , ; tab or | sniffed; UTF-8 with or without BOM,
or cp1252/latin-1; decimal comma understood), gzip-compressed CSV, XLSX (first
sheet, or --sheet) or Parquet. Columns of common CRM and ERP exports are
recognised (Salesforce, HubSpot, invoice lines, CRM activity exports such as
Salesforce tasks/events and HubSpot engagements); --map fixes the rest.

SOURCE may also be a folder or glob of Parquet/CSV files (hive partitions
become columns), '-' (standard input), a DuckDB database or a postgresql://
URL (--table or --query; the password from PGPASSWORD or ~/.pgpass).
--summarise summarises invoice lines where they live, per account x day x
product line, and imports the summary: the same metrics, only it travels.

The whole file is committed in one transaction or not at all. Rows that fail
validation are stored with their reason and reported; good rows are kept.
Re-importing an identical file does nothing (--replace imports it again, with
a new --map, in place of the earlier import); an updated accounts file updates
accounts by id; a transactions file replaces the stored lines of the invoices
it contains.
"""

EPILOG = """\
examples:
  segscope import ws.segscope accounts.csv --kind accounts
  segscope import ws.segscope lines.csv.gz --kind transactions --map "Kunde=account_id"
  segscope import ws.segscope export.xlsx --kind contacts --sheet Contacts --json
  segscope import ws.segscope accounts.csv --kind accounts --map "Notes=" --dry-run
  segscope import ws.segscope 'sales/**/*.parquet' --kind transactions --summarise
  segscope import ws.segscope postgresql://me@db/erp --table sales.lines --kind transactions
  segscope import ws.segscope accounts.csv --kind accounts --map "Org=name" --replace
  segscope import ws.segscope kunden.csv --kind accounts --encoding shift_jis
  segscope import ws.segscope tasks.csv --kind activities
"""

SHOW_REJECTED = 10


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "import",
        help="import accounts, transactions, contacts or activities (CSV, XLSX, Parquet)",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("workspace", metavar="WORKSPACE", help="the workspace file (.segscope)")
    parser.add_argument(
        "file",
        metavar="SOURCE",
        help="a file; or a folder or glob of Parquet/CSV files, '-' (standard input), a DuckDB "
        "database or a postgresql:// URL (README: Sources)",
    )
    parser.add_argument("--kind", required=True, choices=KINDS, help="what the file holds")
    parser.add_argument(
        "--map",
        action="append",
        default=[],
        metavar="SOURCE=TARGET",
        help="map column SOURCE to TARGET (repeatable); 'SOURCE=' ignores the column",
    )
    parser.add_argument("--sheet", metavar="NAME", help="XLSX sheet to read (default: the first)")
    parser.add_argument(
        "--encoding",
        metavar="NAME",
        help="text encoding of a CSV file (default: UTF-8, else detected: cp1252, latin-1, "
        "Shift-JIS), e.g. cp1252, shift_jis, gbk",
    )
    parser.add_argument(
        "--replace",
        action="store_true",
        help="import a file imported before again (e.g. with another --map), in place of the "
        "earlier import, in one transaction",
    )
    # Sources beyond one file (tui/commands/_import_source.py, issue 14).
    parser.add_argument("--table", metavar="NAME", help="a database source's table to read")
    parser.add_argument("--query", metavar="SQL", help="a database source's query to read")
    parser.add_argument(
        "--summarise",
        action="store_true",
        help="summarise the lines where they live (per account x day x product line) and "
        "import the summary: the same metrics, only the summary travels",
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument(
        "--dry-run", action="store_true", help="read and validate only; write nothing"
    )
    parser.set_defaults(handler=run)


class _Progress:
    """A rich progress bar on stderr that appears only after a second of work.

    Once every row is done the label becomes ``finishing`` (when given): the
    index build and the commit of a large file still take a while.
    """

    def __init__(self, enabled: bool, label: str, finishing: str | None = None) -> None:
        self.enabled = enabled
        self.label = label
        self.finishing = finishing
        self.started = time.monotonic()
        self._progress: Any = None
        self._task: Any = None

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled:
            return
        if self._progress is None:
            if time.monotonic() - self.started < 1.0:
                return
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
            )

            self._progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=Console(stderr=True),
                transient=True,
            )
            self._progress.start()
            self._task = self._progress.add_task(self.label, total=total or None)
        finished = bool(total) and done >= total and self.finishing
        self._progress.update(
            self._task,
            completed=done,
            total=total or None,
            description=self.finishing if finished else self.label,
        )

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()


def run(args: argparse.Namespace) -> int:
    from storage import tempfiles

    # SIGTERM unwinds like ^C, so the spilled batches of a large file are removed
    with tempfiles.removed_on_signals():
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    from storage.importer import already_imported, commit_import, prepare_import
    from storage.sources import needs_source_path
    from storage.workspace import Workspace

    if needs_source_path(args.file, table=args.table, query=args.query, summarise=args.summarise):
        from tui.commands._import_source import run_source

        return run_source(args)
    overrides = parse_overrides(args.map)
    show = not args.quiet and sys.stderr.isatty()
    with Workspace.open(args.workspace) as ws:
        previous = already_imported(ws, args.file, args.kind, args.sheet, args.encoding)
        if previous is not None and not args.replace:
            # Same bytes, same kind: nothing to read or validate.
            summary = {
                "file": args.file,
                "kind": args.kind,
                "workspace": str(args.workspace),
                "no_op": True,
                "previous_import_id": previous,
                "dry_run": bool(args.dry_run),
            }
            if args.json:
                print(json.dumps(summary, indent=2))
            else:
                print(_nothing_to_do(args.file, args.kind, previous))
            return 0
        checking = _Progress(show, "reading and checking rows")
        try:
            prepared = prepare_import(
                args.file,
                args.kind,
                sheet=args.sheet,
                overrides=overrides,
                progress=checking,
                encoding=args.encoding,
            )
        finally:
            checking.close()
        if args.dry_run:
            summary = prepared.report()
            summary["dry_run"] = True
            summary["rejected_rows"] = prepared.rejected_preview(SHOW_REJECTED)
            _emit(args, summary, dry_run=True)
            return 0
        finishing = (
            "building the account index and committing"
            if prepared.kind == "transactions"
            else "committing"
        )
        progress = _Progress(show, f"writing {prepared.kind}", finishing)
        try:
            report = commit_import(ws, prepared, progress=progress, replace=args.replace)
        finally:
            progress.close()
    summary = {**prepared.report(), **report.to_dict()}
    summary["workspace"] = str(args.workspace)
    summary["rejected_rows"] = [] if report.no_op else prepared.rejected_preview(SHOW_REJECTED)
    if not report.no_op:
        summary["rejected_rows"] += report.rejected_at_commit[:SHOW_REJECTED]
    _emit(args, summary, dry_run=False)
    return 0


def _nothing_to_do(name: str, kind: str, previous: int) -> str:
    return (
        f"Nothing to do: {name} was already imported as {kind} (import #{previous}); "
        "to import it again with another mapping, add --replace"
    )


def _emit(args: argparse.Namespace, summary: dict[str, Any], *, dry_run: bool) -> None:
    if args.json:
        print(json.dumps(summary, indent=2, ensure_ascii=False, default=str))
        return
    out: list[str] = []
    kind, name = summary["kind"], summary["file"]
    if dry_run:
        out.append(f"Dry run: {kind} from {name} (nothing written)")
    elif summary.get("no_op"):
        out.append(_nothing_to_do(name, kind, summary["previous_import_id"]))
        print("\n".join(out))
        return
    else:
        out.append(f"Imported {kind} from {name} (import #{summary['import_id']})")
    out.append(f"  format     {summary['format']}")
    width = len(f"{summary['rows_read']:,}")
    out.append(f"  read       {summary['rows_read']:>{width},} rows")
    out.append(f"  accepted   {summary['rows_accepted']:>{width},}")
    out.append(f"  rejected   {summary['rows_rejected']:>{width},}")
    for reason, count in summary["rejected_by_reason"].items():
        out.append(f"    {count:>{width},}  {reason}")
    if not dry_run:
        for key, label in (
            ("inserted", "inserted"),
            ("updated", "updated"),
            ("unchanged", "unchanged"),
            ("stub_accounts", "stub accounts created"),
            ("invoices_replaced", "invoices replaced"),
            ("lines_replaced", "stored lines replaced"),
        ):
            if summary.get(key):
                out.append(f"  {label}: {summary[key]:,}")
        if summary.get("replaced_imports"):
            listed = ", ".join(f"#{i}" for i in summary["replaced_imports"])
            out.append(f"  replaces   import {listed}")
        if summary.get("new_attributes"):
            out.append(f"  new account attributes: {', '.join(summary['new_attributes'])}")
    mapped = ", ".join(f"{s} -> {t}" for s, t in summary["mapping"].items())
    out.append(f"  mapping    {mapped}")
    if summary["ignored_columns"]:
        out.append(f"  ignored    {', '.join(summary['ignored_columns'])}")
    if summary["rejected_rows"]:
        out.append("First rejected rows:")
        out += [f"  {line}" for line in summary["rejected_rows"]]
    notes = [n for n in summary["notes"] if not n.startswith("read as ")]
    if notes:
        out.append("Notes:")
        out += [f"  - {n}" for n in notes]
    print("\n".join(out))
