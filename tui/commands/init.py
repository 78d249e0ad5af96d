"""``segscope init PATH [--force]``: create an empty workspace."""

from __future__ import annotations

import argparse
from pathlib import Path

from storage.workspace import Workspace, check_replaceable


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "init",
        help="create an empty workspace file",
        description=(
            "Create an empty segscope workspace (a SQLite file) at PATH and print its path.\n"
            "Import data into it with 'segscope import PATH FILE --kind ...'."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("path", metavar="PATH", help="the workspace file to create")
    parser.add_argument(
        "--force",
        action="store_true",
        help="replace an existing workspace at PATH (everything in it is lost)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    path = Path(args.path).expanduser()
    # --force replaces segscope workspaces only (regular files with the marker),
    # so a typo cannot wipe a data file, a device or a FIFO
    check_replaceable(path, args.force, what="create a workspace at")
    from tui.commands.segment import seed_starter_models

    with Workspace.create(path, overwrite=args.force) as ws:
        seed_starter_models(ws)  # a new workspace starts with useful models
        print(ws.path.resolve())
    return 0
