"""``segscope models WORKSPACE``: list the saved segmentation models."""

from __future__ import annotations

import argparse
import json
from typing import Any

from core.errors import SegscopeError, UsageError
from core.model import ModelError, model_from_json, model_to_json, rule_columns, validate_rules
from tui.commands.segment import open_workspace, render_table, seed_starter_models


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "models",
        help="list the segmentation models of a workspace",
        description=(
            "List the segmentation models saved in WORKSPACE with their dimensions.\n"
            "A workspace without any model first gets the starter models (ABC by revenue,\n"
            "RFM, Industry x Size, Sales logic, Revenue bridge, Value x Potential,\n"
            "Behaviour clusters). Value x Potential and Behaviour clusters need account\n"
            "firmographics (industry, employees, ...; buying driver, offer type, ...)."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("workspace", metavar="WORKSPACE", help="the workspace file")
    parser.add_argument("--json", action="store_true", help="print JSON (with each spec)")
    parser.add_argument(
        "--save", metavar="FILE",
        help="first save the model spec in FILE (JSON as in 'models --json'; '-' reads "
             "stdin) under its name, replacing a model of that name",
    )
    parser.epilog = (
        "examples:\n"
        "  segscope models ws.segscope --json\n"
        "  segscope models ws.segscope --save fresh-bins.json"
    )
    parser.set_defaults(handler=run)


def _read_spec(source: str) -> str:
    import sys
    from pathlib import Path

    if source == "-":
        return sys.stdin.read()
    path = Path(source).expanduser()
    if not path.is_file():
        raise UsageError(f"--save: no model file at {path}")
    try:
        return path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        # the file is there but its bytes are bad or unreadable: a data problem, exit 1
        raise SegscopeError(f"--save: cannot read {path}: {exc}") from None


def _known_columns(ws: Any) -> dict[str, Any] | None:
    """The columns of the workspace's per-account frame (computed on no rows: instant),
    or None while the workspace has no accounts (its columns are not known yet)."""
    import datetime as dt

    from core.frame import account_frame

    accounts = ws.load_accounts()
    if accounts.is_empty():
        return None
    empty = account_frame(accounts.head(0), ws.load_transactions().head(0),
                          as_of=dt.date.today())
    return rule_columns(empty.schema)


def run(args: argparse.Namespace) -> int:
    saved = None
    if args.save:
        text = _read_spec(args.save)
        model = model_from_json(text)  # ModelError names the dimension at fault
        saved = model.name
    with open_workspace(args.workspace) as ws:
        seeded = seed_starter_models(ws)
        if saved is not None:
            validate_rules(model, _known_columns(ws))  # names the dimension and rule at fault
            ws.save_model(saved, model_to_json(model))
        entries = []
        for name, updated_at in ws.list_models():
            spec = ws.get_model(name)
            try:
                model = model_from_json(spec)
                dims = [f"{d.name} ({d.kind})" for d in model.dimensions]
                problem = None
                min_size = model.min_segment_size
            except ModelError as exc:
                # one broken spec must not hide the others
                dims, problem, min_size = [], str(exc), None
            entries.append({"name": name, "updated_at": updated_at, "dimensions": dims,
                            "min_segment_size": min_size, "error": problem,
                            "spec": json.loads(spec)})  # fmt: skip
    if args.json:
        print(json.dumps({"models": entries, "seeded": seeded, "saved": saved}, indent=2,
                         ensure_ascii=False))
        return 0
    if seeded:
        print(f"(added {len(seeded)} starter models to an empty workspace)")
    if saved is not None:
        print(f"saved model {saved!r}")
    rows = [
        [
            e["name"],
            " × ".join(e["dimensions"]) if not e["error"] else f"INVALID: {e['error']}",
            "" if e["min_segment_size"] is None else str(e["min_segment_size"]),
            e["updated_at"] or "",
        ]  # fmt: skip
        for e in entries
    ]
    print(render_table(["Model", "Dimensions", "Min size", "Updated"], rows, right={2}))
    return 0
