"""``segscope export WORKSPACE assignments|profiles|traits --model NAME --out FILE``."""

from __future__ import annotations

import argparse

import polars as pl

from tui.commands._safety import add_force, check_out, out_options
from tui.commands.segment import (
    build_frame,
    load_model,
    open_workspace,
    parse_date,
    with_forward_columns,
)

EXPORT_KINDS = ("assignments", "profiles", "traits")
# Per-account columns exported beside the segment, when the frame has them.
METRIC_COLUMNS = (
    "name", "revenue", "margin", "margin_pct", "recency_days", "frequency", "orders",
    "avg_order_value", "product_breadth", "tenure_days", "growth", "revenue_prev",
    "abc_class", "r_score", "f_score", "m_score", "rfm_segment", "bridge_class",
)  # fmt: skip


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "export",
        help="write account-level results to CSV, XLSX or Parquet",
        description=(
            "assignments: one row per account: account_id, the level of each dimension of\n"
            "  model NAME, its segment and the account metrics;\n"
            "profiles: one row per segment (accounts, revenue, margin %, growth, NRR, ...);\n"
            "traits: the distinguishing traits of every segment, strongest first.\n"
            "The format follows the extension of FILE (.csv, .xlsx, .parquet); spreadsheet\n"
            "formulas are neutralised."
        ),
        epilog="example:\n  segscope export ws.segscope assignments --model RFM --out rfm.xlsx",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("workspace", metavar="WORKSPACE", help="the workspace file")
    parser.add_argument("what", choices=EXPORT_KINDS, help="what to export")
    parser.add_argument("--model", required=True, metavar="NAME", help="the model to apply")
    parser.add_argument("--out", required=True, metavar="FILE", help="output .csv/.xlsx/.parquet")
    parser.add_argument("--as-of", metavar="DATE", help="analysis date YYYY-MM-DD")
    add_force(parser)
    parser.set_defaults(handler=run)


def assignments_table(frame: pl.DataFrame, assignments: pl.DataFrame) -> pl.DataFrame:
    """Assignments (levels and segment as text) beside the account metrics."""
    extra = [c for c in METRIC_COLUMNS if c in frame.columns and c not in assignments.columns]
    return pl.concat(
        [
            assignments.with_columns(pl.exclude("account_id").cast(pl.String)),
            frame.select(extra),
        ],
        how="horizontal",
    )


def run(args: argparse.Namespace) -> int:
    from core.segment import assign_segments
    from storage.export import write_frame

    as_of = parse_date(args.as_of)
    check_out(args, args.out)
    if args.what == "assignments":
        with open_workspace(args.workspace) as ws:
            model, _ = load_model(ws, args.model)
            frame, transactions, as_of = build_frame(ws, as_of)
            frame = with_forward_columns(frame, transactions, as_of, model, ws)
        table = assignments_table(frame, assign_segments(frame, model))
    else:
        from core.profile import segment_traits
        from tui.commands.segment import compute_profiles

        with open_workspace(args.workspace) as ws:
            result = compute_profiles(ws, args.model, as_of)
        if args.what == "profiles":
            table = result["profiles"]
        else:
            own = {c for d in result["model"].dimensions for c in d.columns()}
            table = segment_traits(result["frame"], result["assignments"], exclude=own, limit=10)
    path = write_frame(table, args.out, **out_options(args))
    print(path)
    return 0
