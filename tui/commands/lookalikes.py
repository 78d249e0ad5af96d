"""``segscope lookalikes WORKSPACE --ideal EXPR``: prospects that look like the ideal customers."""

from __future__ import annotations

import argparse
import json
import sys

from core.errors import SegscopeError, UsageError
from tui.commands._safety import TOP_MAX, add_force, check_out, out_options

DESCRIPTION = """\
The ideal customers are the customers for which the expression is true (the
filter language of the Accounts screen, e.g. "abc_class = 'A'"). A classifier
on the firmographics learns them against the other customers; its held-out
quality (cross-validated ROC AUC) is printed so a coin flip (AUC near 0.5) is
seen as one. Every prospect is scored and listed with its three nearest ideal
customers as the reason, best first.
"""

EPILOG = """examples:
  segscope lookalikes ws.segscope --ideal "abc_class = 'A'" --out lookalikes.csv
  segscope lookalikes ws.segscope --ideal "revenue > 50000 and industry = 'Chemicals'" --json
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "lookalikes",
        help="score prospects by likeness to the ideal customers, with reasons",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("workspace", metavar="WORKSPACE", help="the workspace file (.segscope)")
    parser.add_argument("--ideal", metavar="EXPR", required=True,
                        help="which customers are ideal, e.g. \"abc_class = 'A'\"")
    parser.add_argument("--as-of", metavar="DATE",
                        help="analysis date YYYY-MM-DD (default: day after the last transaction)")
    parser.add_argument("--potential", action="store_true",
                        help="also fit the potential model and add potential to the list")
    parser.add_argument("--top", metavar="N", type=int, default=10,
                        help="prospects to print (default 10; the file gets all)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    parser.add_argument("--out", metavar="FILE",
                        help="write the scored prospects (.csv, .xlsx or .parquet)")
    add_force(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from core.expr import compile_expression
    from core.lookalike import score_lookalikes
    from core.potential import fit_potential
    from storage.export import write_frame
    from tui.commands.segment import build_frame, open_workspace, parse_date, rows_as_json

    if not 0 <= args.top <= TOP_MAX:
        raise UsageError(f"--top must be from 0 to {TOP_MAX:,}, got {args.top}")
    check_out(args, args.out)
    with open_workspace(args.workspace) as ws:
        frame, _, as_of = build_frame(ws, parse_date(args.as_of))
        kept = None
        if args.potential:
            from storage.fits import load_fit

            kept = load_fit(ws, "potential", where={"as_of": as_of})
    if "is_customer" not in frame.columns or frame["is_customer"].null_count():
        known = frame["first_purchase"].is_not_null() if "first_purchase" in frame.columns \
            else None
        if known is not None:
            derived = known if "is_customer" not in frame.columns else \
                frame["is_customer"].fill_null(known)
            frame = frame.with_columns(derived.alias("is_customer"))
    expr = compile_expression(args.ideal, frame.schema)
    ideal = frame.select(expr.fill_null(False)).to_series()
    if "is_customer" in frame.columns and bool(frame["is_customer"].fill_null(True).all()):
        # nothing to rank (and core.lookalike cannot sort an empty id column)
        raise SegscopeError(
            f"no prospects to score: all {frame.height:,} accounts of {args.workspace} are "
            "customers; lookalikes rank accounts without purchases (import them as accounts)"
        )
    res = score_lookalikes(frame, ideal)
    out = res.frame
    if args.potential:
        # the potential kept by 'segscope potential' for this data and date, else a fit
        pot = (kept.frame if kept is not None else fit_potential(frame).frame).select(
            "account_id", "potential", "headroom")
        out = out.join(pot, on="account_id", how="left", maintain_order="left")
    if args.json:
        print(json.dumps({"as_of": as_of.isoformat(), "ideal": args.ideal, **res.as_dict(),
                          "top": rows_as_json(out.head(args.top))}, indent=2))
    else:
        print(f"ideal customers: {res.n_ideal:,} ({args.ideal}); other customers: "
              f"{res.n_other_customers:,}; prospects scored: {res.n_prospects:,}")
        folds = ", ".join(f"{a:.2f}" for a in res.cv_auc_folds)
        print(f"cross-validated ROC AUC: {res.cv_auc:.3f} (folds {folds})")
        for note in res.notes:
            print(f"note: {note}")
        for row in out.head(args.top).iter_rows(named=True):
            reasons = ", ".join(
                f"{row.get(f'nearest_{i}_name') or row[f'nearest_{i}_id']} "
                f"({row[f'nearest_{i}_distance']:.2f})"
                for i in (1, 2, 3) if row.get(f"nearest_{i}_id") is not None
            )
            # a prospect without a name shows its id, never "None"
            label = row.get("name") or row["account_id"]
            potential = (f"  potential {row['potential']:,.0f} (headroom {row['headroom']:,.0f})"
                         if row.get("potential") is not None else "")
            print(f"{row['lookalike_rank']:>4}. {label}  score {row['lookalike_score']:.3f}"
                  f"{potential}  like: {reasons}")
    if args.out:
        path = write_frame(out, args.out, **out_options(args))
        print(f"{out.height:,} prospects written to {path}", file=sys.stderr)
    return 0
