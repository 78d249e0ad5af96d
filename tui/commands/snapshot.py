"""``segscope snapshot export | restore | diff | info``: whole-workspace snapshot files."""

from __future__ import annotations

import argparse
import json
import sys
import time

DESCRIPTION = """\
A snapshot is one portable file (a zip with manifest.json and workspace.sqlite)
holding everything in a workspace: data, models, runs, annotations, personas,
plans. The derived cache (<workspace>.cache/) is left out.

  export   copy a workspace into a snapshot (safe while the TUI has it open)
  restore  validate a snapshot and restore it as a workspace file
  diff     what changed between two snapshots, or a snapshot and a workspace
  info     print a snapshot's manifest
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "snapshot",
        help="export, restore, compare and inspect whole-workspace snapshot files",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=(
            "examples:\n"
            "  segscope snapshot export ws.segscope ws-2026-11-22.segsnap\n"
            "  segscope snapshot restore ws-2026-11-22.segsnap copy.segscope\n"
            "  segscope snapshot diff ws-2026-11-22.segsnap ws.segscope"
        ),
    )
    parser.set_defaults(handler=lambda _args: _usage(parser))
    sub = parser.add_subparsers(dest="snapshot_command", metavar="ACTION")

    p = sub.add_parser(
        "export",
        help="write a snapshot of a workspace",
        description=(
            "Copy WORKSPACE into the snapshot file OUT, consistently even while another\n"
            "process (the TUI) is writing to it. The workspace itself is not changed."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("workspace", metavar="WORKSPACE", help="the workspace file (.segscope)")
    p.add_argument("out", metavar="OUT", help="the snapshot file to write")
    p.add_argument("--force", action="store_true", help="replace OUT if it exists")
    p.add_argument("--store", action="store_true", help="do not compress (faster, bigger file)")
    p.set_defaults(handler=run_export)

    p = sub.add_parser(
        "restore",
        help="restore a snapshot as a workspace file",
        description=(
            "Validate SNAPSHOT (manifest, SHA-256 checksum, schema version, SQLite integrity,\n"
            "row counts) and write it as the workspace WORKSPACE, upgrading an older schema.\n"
            "A damaged or foreign file is rejected and nothing is written. An existing\n"
            "WORKSPACE is replaced only with --force (atomically, and only if no other\n"
            "process has it open)."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("snapshot", metavar="SNAPSHOT", help="the snapshot file")
    p.add_argument("workspace", metavar="WORKSPACE", help="the workspace file to write")
    p.add_argument(
        "--force",
        action="store_true",
        help="replace an existing workspace at WORKSPACE (everything in it is lost)",
    )
    p.set_defaults(handler=run_restore)

    p = sub.add_parser(
        "diff",
        help="what changed between two snapshots (or a snapshot and a workspace)",
        description=(
            "Compare A and B (each a snapshot or a workspace file): rows added, removed and\n"
            "changed per table (matched by primary key), models, segment annotations, runs,\n"
            "and any plans or personas, listed by key."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("a", metavar="A", help="the earlier snapshot or workspace")
    p.add_argument("b", metavar="B", help="the later snapshot or workspace")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.set_defaults(handler=run_diff)

    p = sub.add_parser(
        "info", help="print a snapshot's manifest", description="Print the manifest of SNAPSHOT."
    )
    p.add_argument("snapshot", metavar="SNAPSHOT", help="the snapshot file")
    p.add_argument("--json", action="store_true", help="print the manifest as JSON")
    p.add_argument(
        "--verify",
        action="store_true",
        help="also check the checksum, the SQLite integrity and the row counts",
    )
    p.set_defaults(handler=run_info)


def _progress():
    """Step messages on stderr for a person watching (never in pipes or tests)."""
    if not sys.stderr.isatty():
        return None
    return lambda text: print(f"segscope snapshot: {text} ...", file=sys.stderr, flush=True)


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_usage(sys.stderr)
    print("segscope snapshot: choose an action: export, restore, diff or info", file=sys.stderr)
    return 2


def _size(n: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:,} {unit}" if unit == "bytes" else f"{n:,.1f} {unit}"
        n /= 1024
    return str(n)


def format_manifest(manifest) -> str:
    lines = [
        f"format version   {manifest.format_version}",
        f"segscope version {manifest.segscope_version}",
        f"schema version   {manifest.schema_version}",
        f"created          {manifest.created}",
        f"source           {manifest.source}",
        f"workspace id     {manifest.workspace_id or '-'}",
        f"content          {_size(manifest.size)}, sha256 {manifest.sha256}",
        "tables:",
    ]
    width = max((len(t) for t in manifest.tables), default=0)
    for name, rows in sorted(manifest.tables.items()):
        lines.append(f"  {name.ljust(width)}  {rows:>12,}")
    return "\n".join(lines)


def run_export(args: argparse.Namespace) -> int:
    from pathlib import Path

    from storage.snapshot import export_snapshot

    start = time.perf_counter()
    manifest = export_snapshot(
        args.workspace,
        args.out,
        overwrite=args.force,
        compress=not args.store,
        progress=_progress(),
    )
    size = Path(args.out).expanduser().stat().st_size
    rows = sum(manifest.tables.values())
    print(
        f"wrote {args.out}: schema version {manifest.schema_version}, "
        f"{len(manifest.tables)} tables, {rows:,} rows, {_size(size)} "
        f"({time.perf_counter() - start:.1f} s)"
    )
    return 0


def run_restore(args: argparse.Namespace) -> int:
    from storage.schema import LATEST_VERSION
    from storage.snapshot import read_manifest, restore_snapshot

    manifest = read_manifest(args.snapshot)
    path = restore_snapshot(args.snapshot, args.workspace, force=args.force, progress=_progress())
    upgraded = (
        f", upgraded from schema version {manifest.schema_version} to {LATEST_VERSION}"
        if manifest.schema_version < LATEST_VERSION
        else ""
    )
    print(
        f"restored {path} from {args.snapshot} (created {manifest.created}, "
        f"{sum(manifest.tables.values()):,} rows{upgraded})"
    )
    return 0


def run_diff(args: argparse.Namespace) -> int:
    from storage.snapshot_diff import diff_snapshots, format_diff

    diff = diff_snapshots(args.a, args.b)
    if args.json:
        print(json.dumps(diff.to_dict(), indent=2))
    else:
        print(format_diff(diff))
    return 0


def run_info(args: argparse.Namespace) -> int:
    from storage.snapshot import read_manifest, validate_snapshot

    manifest = validate_snapshot(args.snapshot) if args.verify else read_manifest(args.snapshot)
    if args.json:
        print(json.dumps(manifest.to_dict(), indent=2))
    else:
        print(format_manifest(manifest))
        if args.verify:
            print("verified: checksum, integrity and row counts match the manifest")
    return 0
