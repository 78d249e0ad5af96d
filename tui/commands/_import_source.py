"""``segscope import WS SOURCE`` for sources other than one file (issue 14).

Folders, globs, ``-`` (standard input), DuckDB databases and PostgreSQL URLs,
with ``--table``/``--query`` for databases and ``--summarise`` to summarise
the lines where they live. ``storage.sources`` turns the source into one
Parquet file; from there the import is the file import's: the same mapping,
validation, reject report and one-transaction commit. Any failure before the
commit (unreachable server, refused password, missing table, failing query, a
column of the wrong type) is one line and leaves the workspace as it was.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from core.errors import UsageError
from storage.mapping import parse_overrides


class SourceLabel(str):
    """What an import record names as its file: the source's label (a URL
    without password, a folder, a glob), not the temporary Parquet file."""

    @property
    def name(self) -> str:
        return str(self)


def run_source(args: argparse.Namespace) -> int:
    from storage.importer import commit_import, prepare_import
    from storage.sources import classify, materialise, overlap_notes
    from storage.workspace import Workspace
    from tui.commands.import_file import SHOW_REJECTED, _emit, _Progress

    summarise = bool(getattr(args, "summarise", False))
    if summarise and args.kind != "transactions":
        raise UsageError("--summarise summarises invoice lines: use it with --kind transactions")
    source = classify(args.file)
    overrides = parse_overrides(args.map)
    show = not args.quiet and sys.stderr.isatty()
    with Workspace.open(args.workspace) as ws:
        with materialise(
            source,
            table=args.table,
            query=args.query,
            summarise=summarise,
            overrides=overrides,
        ) as pulled:
            checking = _Progress(show, "reading and checking rows")
            try:
                prepared = prepare_import(
                    pulled.path,
                    args.kind,
                    pulled.mapping,
                    sheet=args.sheet,
                    # a summary has canonical names already: --map applied in the engine
                    overrides=None if pulled.summarised else overrides,
                    progress=checking,
                    # the text encoding applies to a CSV given on standard input
                    encoding=None if pulled.engine else args.encoding,
                )
            finally:
                checking.close()
            prepared.path = SourceLabel(pulled.label)  # type: ignore[assignment]
            prepared.notes[1:1] = pulled.notes
            prepared.notes += overlap_notes(ws.conn, pulled.summarised)
            if args.dry_run:
                summary: dict[str, Any] = prepared.report()
                summary["format"] = pulled.describe() or summary["format"]
                summary["dry_run"] = True
                summary["rejected_rows"] = prepared.rejected_preview(SHOW_REJECTED)
                _emit(args, summary, dry_run=True)
                return 0
            progress = _Progress(show, f"writing {prepared.kind}", "committing")
            try:
                report = commit_import(ws, prepared, progress=progress, replace=args.replace)
            finally:
                progress.close()
    summary = {**prepared.report(), **report.to_dict()}
    summary["format"] = pulled.describe() or summary["format"]
    summary["workspace"] = str(args.workspace)
    summary["summarised"] = summarise
    summary["rejected_rows"] = [] if report.no_op else prepared.rejected_preview(SHOW_REJECTED)
    if not report.no_op:
        summary["rejected_rows"] += report.rejected_at_commit[:SHOW_REJECTED]
    _emit(args, summary, dry_run=False)
    return 0
