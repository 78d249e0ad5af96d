"""``segscope export WORKSPACE assignments --model NAME --out FILE``."""

from __future__ import annotations

import argparse

import polars as pl

from tui.commands.segment import build_frame, load_model, open_workspace, parse_date

EXPORT_KINDS = ("assignments",)
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
            "Write one row per account: account_id, the level of each dimension of model\n"
            "NAME, its segment and the account metrics. The format follows the extension\n"
            "of FILE (.csv, .xlsx, .parquet); spreadsheet formulas are neutralised."
        ),
        epilog="example:\n  segscope export ws.segscope assignments --model RFM --out rfm.xlsx",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("workspace", metavar="WORKSPACE", help="the workspace file")
    parser.add_argument("what", choices=EXPORT_KINDS, help="what to export")
    parser.add_argument("--model", required=True, metavar="NAME", help="the model to apply")
    parser.add_argument("--out", required=True, metavar="FILE", help="output .csv/.xlsx/.parquet")
    parser.add_argument("--as-of", metavar="DATE", help="analysis date YYYY-MM-DD")
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
    with open_workspace(args.workspace) as ws:
        model, _ = load_model(ws, args.model)
        frame, _, as_of = build_frame(ws, as_of)
    table = assignments_table(frame, assign_segments(frame, model))
    path = write_frame(table, args.out)
    print(path)
    return 0
