"""``segscope metrics WORKSPACE [--as-of DATE] [--window-months N] --out FILE``.

Writes one row per account: ``account_id``, the metric columns of
``core.metrics.account_metrics``, ``abc_class`` (revenue, 80/95 %), ``r_score``,
``f_score``, ``m_score`` and ``rfm_segment`` (default grid). CSV, XLSX or
Parquet, chosen by the extension of FILE.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys

from tui.commands._safety import MONTHS_MAX, add_force, check_out, int_in, out_options

DESCRIPTION = """\
Compute the per-account metric frame and write it to FILE (CSV, XLSX or Parquet,
by extension): one row per account with revenue, margin, margin_pct,
recency_days, frequency, orders, avg_order_value, product_breadth, tenure_days,
growth, first_purchase, last_purchase, revenue_prev, abc_class, r_score,
f_score, m_score and rfm_segment.

The analysis date defaults to the day after the last transaction; the window
is the N calendar months before it (default 12). Transactions on or after the
analysis date are ignored.

growth = revenue / revenue_prev - 1 is empty (null) when the earlier window's
revenue is <= 0, also when returns exceed purchases there: there is nothing to
grow from. avg_order_value is empty where revenue is <= 0. product_breadth
counts distinct product lines bought, or distinct products where the lines
carry no product line.
"""


def parse_date(text: str, flag: str = "--as-of") -> dt.date:
    """An ISO date (YYYY-MM-DD) from a flag, or a UsageError saying which flag."""
    from tui.commands._safety import bounded_date

    return bounded_date(text, flag)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "metrics",
        help="write per-account metrics, ABC class and RFM scores to a file",
        description=DESCRIPTION,
        epilog="example:\n  segscope metrics ws.segscope --window-months 6 --out metrics.xlsx",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("workspace", metavar="WORKSPACE", help="the workspace file (.segscope)")
    parser.add_argument("--as-of", metavar="DATE",
                        help="analysis date YYYY-MM-DD (default: day after the last transaction)")
    parser.add_argument("--window-months", metavar="N", type=int_in(1, MONTHS_MAX), default=12,
                        help=f"window length in calendar months, 1 to {MONTHS_MAX} (default 12)")
    parser.add_argument("--out", metavar="FILE", required=True,
                        help="output file: .csv, .xlsx or .parquet")
    add_force(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from core.abc import abc_classes
    from core.metrics import account_metrics, default_as_of
    from core.rfm import rfm_scores
    from storage.export import write_frame
    from storage.workspace import Workspace

    as_of = parse_date(args.as_of) if args.as_of else None
    check_out(args, args.out)
    with Workspace.open(args.workspace) as ws:
        accounts = ws.load_accounts()
        transactions = ws.load_transactions()
    if as_of is None:
        as_of = default_as_of(transactions)
    metrics = account_metrics(accounts, transactions, as_of=as_of,
                              window_months=args.window_months)
    abc = abc_classes(metrics).select("account_id", "abc_class")
    rfm = rfm_scores(metrics)
    out = metrics.join(abc, on="account_id", how="left", maintain_order="left").join(
        rfm, on="account_id", how="left", maintain_order="left"
    )
    path = write_frame(out, args.out, **out_options(args))
    print(f"{out.height:,} accounts as of {as_of.isoformat()} "
          f"({args.window_months}-month window) written to {path}", file=sys.stderr)
    return 0
