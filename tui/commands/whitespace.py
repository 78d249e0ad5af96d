"""``segscope whitespace WORKSPACE --model NAME``: white space and next best lines."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import polars as pl

from core.errors import UsageError

DESCRIPTION = """\
What each account's peers buy that it does not (DOMAIN.md "White space and
cross-sell"). Over the window, the account x product line revenue matrix
(product when the lines carry no product line); the penetration of each line
in each segment of the model (share of the segment's customers buying it);
and per account its white-space lines with their expected value = peer
penetration x median peer revenue on the line. Peers are the other customers
of the account's segment (--peers segment), or its K nearest customers by
profile (--peers nearest: log employees, log annual revenue, industry,
region; standardised, ties by account id). Next best lines are the top
white-space lines of an account; a segment's white space is the sum over its
accounts.
"""

EPILOG = """examples:
  segscope whitespace ws.segscope --model "ABC by revenue"
  segscope whitespace ws.segscope --model RFM --peers nearest --k 25 --top 20
  segscope whitespace ws.segscope --model RFM --json --out whitespace.xlsx

--out: .xlsx gets four sheets (accounts, lines, penetration, segments);
.csv and .parquet get the white-space lines (one row per account and line).
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "whitespace",
        help="white space: lines an account's peers buy and it does not, with expected value",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("workspace", metavar="WORKSPACE", help="the workspace file (.segscope)")
    parser.add_argument("--model", metavar="NAME", required=True,
                        help="the segmentation model whose segments define peers and penetration")
    parser.add_argument("--peers", choices=("segment", "nearest"), default="segment",
                        help="peers: the other customers of the segment (default), or the "
                             "k nearest customers by profile")
    parser.add_argument("--k", metavar="N", type=int, default=25,
                        help="nearest peers per account with --peers nearest (default 25)")
    parser.add_argument("--top", metavar="N", type=int, default=10,
                        help="accounts to print, and next best lines per account (default 10; "
                             "the file gets all)")
    parser.add_argument("--as-of", metavar="DATE",
                        help="analysis date YYYY-MM-DD (default: day after the last transaction)")
    parser.add_argument("--window-months", metavar="N", type=int, default=12,
                        help="months of revenue the matrix covers (default 12)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    parser.add_argument("--out", metavar="FILE",
                        help="write the results (.xlsx: all tables; .csv/.parquet: the lines)")
    parser.set_defaults(handler=run)


def compute(ws: Any, args: argparse.Namespace) -> tuple[Any, pl.DataFrame]:
    """The ``WhiteSpace`` result and the per-account frame (for names)."""
    from core.segment import assign_segments
    from core.whitespace import white_space
    from tui.commands.segment import build_frame, load_model, parse_date, with_forward_columns

    model, _ = load_model(ws, args.model)
    frame, transactions, as_of = build_frame(ws, parse_date(args.as_of))
    if transactions.is_empty():
        raise UsageError(f"{ws.path} has no transactions: there is nothing bought to compare")
    frame = with_forward_columns(frame, transactions, as_of, model)
    assignments = assign_segments(frame, model).select("account_id", "segment")
    result = white_space(transactions, assignments, frame=frame, as_of=as_of,
                         window_months=args.window_months, peers=args.peers, k=args.k,
                         top=args.top)
    return result, frame


def _accounts_out(result: Any, frame: pl.DataFrame) -> pl.DataFrame:
    acc = result.accounts.with_columns(pl.col("next_best_lines").list.join("; "))
    if "name" in frame.columns:
        names = frame.select(pl.col("account_id").cast(pl.String), "name")
        acc = acc.join(names, on="account_id", how="left", maintain_order="left")
        acc = acc.select("account_id", "name", *[c for c in acc.columns
                                                  if c not in ("account_id", "name")])
    return acc


def run(args: argparse.Namespace) -> int:
    from storage.export import write_frame, write_frames
    from tui.commands.segment import fmt_money, fmt_pct, open_workspace, render_table, rows_as_json

    if args.top < 0:
        raise UsageError(f"--top must be 0 or more, got {args.top}")
    if args.k < 1:
        raise UsageError(f"--k must be 1 or more, got {args.k}")
    if args.window_months < 1:
        raise UsageError(f"--window-months must be 1 or more, got {args.window_months}")
    with open_workspace(args.workspace) as ws:
        result, frame = compute(ws, args)
    accounts = _accounts_out(result, frame)
    head = accounts.head(args.top)
    lines_top = result.lines.filter(pl.col("rank") <= args.top)
    if args.json:
        per_account: dict[str, list[dict[str, Any]]] = {}
        for row in rows_as_json(lines_top.join(head.select("account_id"), on="account_id",
                                               how="semi")):
            per_account.setdefault(row.pop("account_id"), []).append(row)
        top_rows = rows_as_json(head)
        for row in top_rows:
            row["next_best_lines"] = per_account.get(row["account_id"], [])
        print(json.dumps({
            "model": args.model, "as_of": result.as_of.isoformat(),
            "window_months": result.window_months, "line_column": result.line_column,
            "peers": result.peers, "k": result.k, "profile": list(result.profile),
            "accounts": result.accounts.height,
            "white_space_value": float(result.accounts["white_space_value"].sum()),
            "segments": rows_as_json(result.segments),
            "penetration": rows_as_json(result.penetration),
            "top": top_rows,
        }, indent=2, ensure_ascii=False))
    else:
        what = "product line" if result.line_column == "product_line" else "product"
        peers = ("the other customers of its segment" if result.peers == "segment"
                 else f"its {result.k} nearest customers by {', '.join(result.profile)}")
        print(f"model {args.model!r}, as of {result.as_of.isoformat()}, "
              f"{result.window_months} months; lines are by {what}; peers: {peers}")
        total = float(result.accounts["white_space_value"].sum())
        print(f"white space: {fmt_money(total)} over {result.accounts.height:,} accounts "
              "(expected value = peer penetration x median peer revenue)")
        rows = [[r["segment"], f"{r['accounts']:,}", f"{r['customers']:,}",
                 fmt_money(r["white_space_value"])] for r in result.segments.to_dicts()]
        print(render_table(["Segment", "Accounts", "Customers", "White space"], rows,
                           right={1, 2, 3}))
        label = "name" if "name" in head.columns else "account_id"
        if head.height:
            print(f"\ntop {head.height} accounts by white-space value, next best lines "
                  "(peer penetration x median peer revenue):")
        for rank, row in enumerate(head.iter_rows(named=True), start=1):
            print(f"{rank:>4}. {row[label] or row['account_id']} ({row['segment']})  "
                  f"{fmt_money(row['white_space_value'])} over {row['white_space_lines']:,} "
                  f"lines, {row['peers']:,} peers")
            mine = lines_top.filter(pl.col("account_id") == row["account_id"]).sort("rank")
            for ln in mine.iter_rows(named=True):
                print(f"        {ln['line']}: {fmt_pct(ln['peer_penetration'], 0)} x "
                      f"{fmt_money(ln['median_peer_revenue'])} = "
                      f"{fmt_money(ln['expected_value'])}")
    if args.out:
        from pathlib import Path

        if Path(args.out).suffix.lower() == ".xlsx":
            path = write_frames({"accounts": accounts, "lines": result.lines,
                                 "penetration": result.penetration,
                                 "segments": result.segments}, args.out)
        else:
            path = write_frame(result.lines, args.out)
        print(f"white space written to {path}", file=sys.stderr)
    return 0
