"""``segscope undo WORKSPACE`` / ``segscope redo WORKSPACE``: step through the edits log.

Edits of models, segment annotations, personas, plans and KPIs are recorded in
the workspace (storage.history), so undo works across sessions and screens.
"""

from __future__ import annotations

import argparse
import json

from tui.commands.segment import open_workspace


def register(subparsers: argparse._SubParsersAction) -> None:
    for name, verb in (("undo", "undo the latest edit"), ("redo", "redo the last undone edit")):
        parser = subparsers.add_parser(
            name,
            help=f"{verb} (models, segment annotations, personas, plans, KPIs)",
            description=(
                f"{verb.capitalize()} of WORKSPACE. Recorded edits: models (save, rename,\n"
                "delete), segment annotations, personas, game plans and KPIs. A new edit\n"
                "after an undo discards what could be redone. Exit 0 also when there is\n"
                "nothing to " + name + ' (the message says so; --json has "done": false).'
            ),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        parser.add_argument("workspace", metavar="WORKSPACE", help="the workspace file")
        parser.add_argument("--json", action="store_true", help="print JSON")
        parser.add_argument(
            "--list", action="store_true", help="list the latest edits instead (newest first)"
        )
        parser.set_defaults(handler=run, redo=name == "redo")


def run(args: argparse.Namespace) -> int:
    from storage import history

    verb = "redo" if args.redo else "undo"
    with open_workspace(args.workspace) as ws:
        if args.list:
            edits = history.list_edits(ws, limit=20)
            if args.json:
                print(
                    json.dumps(
                        [
                            {
                                "id": e.id,
                                "entity": e.entity,
                                "key": e.key,
                                "created_at": e.created_at,
                                "undone": e.undone,
                            }
                            for e in edits
                        ],
                        indent=2,
                        ensure_ascii=False,
                    )
                )
            else:
                for e in edits:
                    undone = "(undone) " if e.undone else ""
                    print(f"{e.id:>5}  {e.created_at}  {undone}{e.summary}")
            return 0
        edit = history.redo(ws) if args.redo else history.undo(ws)
        remaining = history.can_redo(ws) if args.redo else history.can_undo(ws)
    if args.json:
        payload = {"done": edit is not None, "more": remaining}
        if edit is not None:
            payload.update({"id": edit.id, "entity": edit.entity, "key": edit.key})
        print(json.dumps(payload, ensure_ascii=False))
    elif edit is None:
        print(f"nothing to {verb}")
    else:
        print(f"{'redid' if args.redo else 'undid'}: {edit.summary}")
    return 0
