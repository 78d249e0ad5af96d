"""``segscope run save|list|compare|delete``: frozen segmentation runs."""

from __future__ import annotations

import argparse
import json

import polars as pl

from tui.commands._safety import ID_MAX, int_in
from tui.commands.segment import (
    build_frame,
    fmt_money,
    fmt_pct,
    load_model,
    open_workspace,
    parse_date,
    render_table,
    rows_as_json,
    with_forward_columns,
)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "run",
        help="freeze, list and compare segmentation runs",
        description=(
            "A run freezes every account's segment under a model at a date; two runs give\n"
            "a migration matrix (who moved where)."
        ),
        epilog=(
            "examples:\n"
            "  segscope run save ws.segscope --model RFM --label 'Q1 review'\n"
            "  segscope run list ws.segscope\n"
            "  segscope run compare ws.segscope 1 2 --by revenue\n"
            "  segscope run delete ws.segscope 1"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="run_command", metavar="ACTION", required=True)

    ws_help = "the workspace file (.segscope)"
    raw = argparse.RawDescriptionHelpFormatter
    save = sub.add_parser(
        "save", help="freeze the current segments of a model", formatter_class=raw,
        description=(
            "Assign every account to a segment of model NAME at the analysis date and\n"
            "store the result (account, segment, window revenue) as a new run; print its id."
        ),
    )
    save.add_argument("workspace", metavar="WORKSPACE", help=ws_help)
    save.add_argument("--model", required=True, metavar="NAME",
                      help="the model to apply ('segscope models WORKSPACE' lists them)")
    save.add_argument("--label", metavar="L", help="a label for the run")
    save.add_argument("--as-of", metavar="DATE",
                      help="analysis date YYYY-MM-DD (default: day after the last transaction)")
    save.add_argument("--json", action="store_true", help="print the new run as JSON")
    save.set_defaults(handler=run_save)

    lst = sub.add_parser(
        "list", help="list saved runs, newest first", formatter_class=raw,
        description="List the saved runs of WORKSPACE, newest first: id, model, label,\n"
                    "analysis date, when it was saved and how many accounts it holds.",
    )
    lst.add_argument("workspace", metavar="WORKSPACE", help=ws_help)
    lst.add_argument("--model", metavar="NAME", help="only runs of this model")
    lst.add_argument("--json", action="store_true", help="print JSON instead of a table")
    lst.set_defaults(handler=run_list)

    cmp_ = sub.add_parser(
        "compare", help="migration matrix from run A to run B", formatter_class=raw,
        description=(
            "Print the migration matrix from run A to run B: rows are the segments in A,\n"
            "columns the segments in B, cells the accounts (or their revenue frozen in B;\n"
            "in A for accounts gone) that moved; '(new)' and '(gone)' hold accounts\n"
            "found in one run only."
        ),
    )
    cmp_.add_argument("workspace", metavar="WORKSPACE", help=ws_help)
    cmp_.add_argument("run_a", metavar="RUN_A", type=int_in(1, ID_MAX), help="earlier run id")
    cmp_.add_argument("run_b", metavar="RUN_B", type=int_in(1, ID_MAX), help="later run id")
    cmp_.add_argument("--by", choices=("accounts", "revenue"), default="accounts",
                      help="what the table counts (default accounts)")  # fmt: skip
    cmp_.add_argument("--json", action="store_true", help="print JSON instead of a table")
    cmp_.set_defaults(handler=run_compare)

    delete = sub.add_parser(
        "delete", help="delete a saved run", formatter_class=raw,
        description="Delete run RUN and its frozen assignments from WORKSPACE (other runs,\n"
                    "models and data are untouched).",
    )
    delete.add_argument("workspace", metavar="WORKSPACE", help=ws_help)
    delete.add_argument("run_id", metavar="RUN", type=int_in(1, ID_MAX),
                        help="the run id ('run list' shows them)")
    delete.set_defaults(handler=run_delete)


def run_save(args: argparse.Namespace) -> int:
    from core.segment import assign_segments

    as_of = parse_date(args.as_of)
    with open_workspace(args.workspace) as ws:
        model, spec = load_model(ws, args.model)
        frame, transactions, as_of = build_frame(ws, as_of)
        frame = with_forward_columns(frame, transactions, as_of, model, ws)
        assignments = assign_segments(frame, model)
        rows = assignments.select("account_id", "segment").with_columns(
            frame.get_column("revenue") if "revenue" in frame.columns else pl.lit(None)
        )
        run_id = ws.save_run(model.name, spec, as_of, rows, label=args.label)
    segments = assignments["segment"].n_unique()
    if args.json:
        print(
            json.dumps(
                {
                    "run_id": run_id,
                    "model": model.name,
                    "as_of": as_of.isoformat(),
                    "accounts": rows.height,
                    "segments": segments,
                    "label": args.label,
                }
            )
        )
    else:
        print(f"saved run {run_id}: model {model.name!r}, as of {as_of.isoformat()}, "
              f"{rows.height:,} accounts in {segments} segments")  # fmt: skip
    return 0


def run_delete(args: argparse.Namespace) -> int:
    with open_workspace(args.workspace) as ws:
        info = ws.run_info(args.run_id)  # a clear error when there is no such run
        ws.delete_run(args.run_id)
    label = f" ({info['label']})" if info.get("label") else ""
    print(f"deleted run {args.run_id}{label} of model {info['model_name']!r}")
    return 0


def run_list(args: argparse.Namespace) -> int:
    with open_workspace(args.workspace) as ws:
        runs = ws.list_runs(args.model)
    if args.json:
        print(json.dumps({"runs": rows_as_json(runs)}, indent=2, ensure_ascii=False))
        return 0
    rows = [
        [
            str(r["run_id"]),
            r["model_name"],
            r["label"] or "",
            r["as_of"] or "",
            r["created_at"] or "",
            f"{r['accounts']:,}",
        ]  # fmt: skip
        for r in runs.to_dicts()
    ]
    print(render_table(["Run", "Model", "Label", "As of", "Created", "Accounts"], rows,
                       right={0, 5}))  # fmt: skip
    return 0


def run_compare(args: argparse.Namespace) -> int:
    from core.runs import migration_matrix

    with open_workspace(args.workspace) as ws:
        info_a, info_b = ws.run_info(args.run_a), ws.run_info(args.run_b)
        run_a, run_b = ws.load_run(args.run_a), ws.load_run(args.run_b)
    m = migration_matrix(run_a, run_b)
    wide = m.wide(args.by)
    if args.json:
        describe = {k: info_a[k] for k in ("run_id", "model_name", "as_of", "label")}
        payload = {
            "run_a": describe,
            "run_b": {k: info_b[k] for k in ("run_id", "model_name", "as_of", "label")},
            "by": args.by,
            "stayed_share": m.stayed_share,
            "long": rows_as_json(m.long),
            "wide": rows_as_json(wide),
        }
        print(json.dumps(payload, indent=2, ensure_ascii=False))
        return 0
    print(f"run {args.run_a} ({info_a['model_name']}, {info_a['as_of']}) -> "
          f"run {args.run_b} ({info_b['model_name']}, {info_b['as_of']}), {args.by}; "
          f"rows: from, columns: to")  # fmt: skip
    headers = ["from \\ to", *wide.columns[1:]]
    cell = (lambda v: f"{v:,}") if args.by == "accounts" else fmt_money
    rows = [[r[0], *(cell(v) for v in r[1:])] for r in wide.rows()]
    print(render_table(headers, rows, right=set(range(1, len(headers)))))
    if m.stayed_share is not None:
        print(f"accounts in both runs that kept their segment: {fmt_pct(m.stayed_share)}")
    return 0
