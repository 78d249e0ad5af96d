"""``segscope clv WORKSPACE``: BG/NBD x Gamma-Gamma lifetime value per customer.

Prints the fitted parameters with standard errors and log-likelihoods (or the
simple-retention fallback and why), and writes the per-customer frame with
``--out``.
"""

from __future__ import annotations

import argparse
import json
import sys

from core.errors import SegscopeError, UsageError
from storage.errors import WorkspaceBusyError
from tui.commands._safety import MONTHS_MAX, add_force, check_out, finite_number, out_options

DESCRIPTION = """\
Fit BG/NBD (purchase counts) and Gamma-Gamma (spend per purchase) by maximum
likelihood on the transactions up to the calibration end (default: the last
transaction date), then compute per customer: P(alive), expected purchases and
expected spend over the horizon, and CLV = expected margin (revenue when the
transactions have no margin) over the horizon, discounted monthly.

Times are in weeks (days / 7); a month is 365.25 / 12 days. bgnbd_recency is
the BG/NBD "recency" (last minus first purchase), not the RFM recency_days.
With fewer than 30 repeat buyers, or a fit that does not converge, a clearly
labelled simple retention formula is used and the reason printed.

Amounts are netted per customer and day in integer cents; a day netting <= 0
is no purchase. --count-zero-orders counts a day netting exactly 0 (a free
sample, a $0 order) as a purchase, as the BG/NBD and Gamma-Gamma papers do on
CDNOW. --holdout-end validates the fit: expected against actual repeat
purchases between the calibration end and the holdout end, in total and by
number of calibration repeats (0..6, 7+).
"""

EPILOG = """examples:
  segscope clv ws.segscope
  segscope clv ws.segscope --calibration-end 2025-06-30 --horizon-months 36 --out clv.csv
  segscope clv ws.segscope --json
  segscope clv cdnow.segscope --calibration-end 1997-09-30 --count-zero-orders \\
      --holdout-end 1998-06-30
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "clv",
        help="customer lifetime value (BG/NBD x Gamma-Gamma) with fitted parameters",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("workspace", metavar="WORKSPACE", help="the workspace file (.segscope)")
    parser.add_argument("--calibration-end", metavar="DATE",
                        help="last day of the calibration period YYYY-MM-DD "
                             "(default: last transaction date)")
    parser.add_argument("--horizon-months", metavar="N", type=int, default=24,
                        help="CLV horizon in months (default 24)")
    parser.add_argument("--discount-rate", metavar="R", type=float, default=0.10,
                        help="annual discount rate, e.g. 0.10 for 10%% (default 0.10)")
    parser.add_argument("--count-zero-orders", action="store_true",
                        help="count a day whose net amount is exactly 0 as a purchase "
                             "(the papers' CDNOW convention; default: not a purchase)")
    parser.add_argument("--holdout-end", metavar="DATE",
                        help="last day of a holdout period YYYY-MM-DD after the calibration "
                             "end: compare expected and actual repeat purchases in it")
    parser.add_argument("--json", action="store_true",
                        help="print the fit and totals as JSON instead of text")
    parser.add_argument("--out", metavar="FILE",
                        help="write the per-customer frame (.csv, .xlsx or .parquet)")
    add_force(parser)
    parser.set_defaults(handler=run)


def _fit_lines(name: str, fit: object, who: str = "customers") -> list[str]:
    out = [f"{name} ({fit.n_customers:,} {who}, log-likelihood "  # type: ignore[attr-defined]
           f"{fit.log_likelihood:,.2f}):"]  # type: ignore[attr-defined]
    for k, v in fit.params.items():  # type: ignore[attr-defined]
        se = fit.std_errors.get(k)  # type: ignore[attr-defined]
        se_text = f"{se:.4f}" if se is not None and se == se else "n/a: not identified"
        out.append(f"  {k:<6} {v:12.4f}   (SE {se_text})")
    return out


def describe_text(res: object) -> str:
    d = res.describe()  # type: ignore[attr-defined]
    lines = [
        f"CLV method: {d['method']}   basis: {d['basis']}   calibration end: "
        f"{d['calibration_end']}",
        f"horizon {d['horizon_months']} months, discount {d['annual_discount_rate']:.1%} a year "
        "(monthly compounding), times in weeks",
    ]
    if res.bgnbd is not None:  # type: ignore[attr-defined]
        lines += _fit_lines("BG/NBD", res.bgnbd)  # type: ignore[attr-defined]
        lines += _fit_lines("Gamma-Gamma", res.gamma_gamma,  # type: ignore[attr-defined]
                            "repeat buyers")
    else:
        lines.append(f"monthly retention {d['retention_monthly']:.4f}")
    frame = res.frame  # type: ignore[attr-defined]
    lines.append(f"customers: {frame.height:,}   total CLV: {d['total_clv']:,.2f}   "
                 f"mean CLV: {frame['clv'].mean():,.2f}")
    lines += [f"note: {n}" for n in d["notes"]]
    return "\n".join(lines)


def holdout_text(h: object) -> str:
    """The papers' validation as text: totals, then per number of calibration repeats."""
    d = h.as_dict()  # type: ignore[attr-defined]
    unit = "weeks" if d["time_unit"] == "W" else "days"
    lines = [
        f"holdout {d['calibration_end']} .. {d['holdout_end']} ({d['holdout_length']:.1f} "
        f"{unit}), {d['customers']:,} customers: expected {d['expected_total']:,.1f} repeat "
        f"purchases, actual {d['actual_total']:,}",
        "  calibration repeats   customers   expected   actual   (per customer)",
    ]
    for row in d["by_calibration_repeats"]:
        lines.append(f"  {row['repeats']:>19}   {row['customers']:>9,}   "
                     f"{row['expected']:>8.2f}   {row['actual']:>6.2f}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from core.clv import customer_lifetime_value, holdout_comparison
    from storage.export import write_frame
    from tui.commands.metrics import parse_date
    from tui.commands.segment import keep_clv, open_workspace

    cal_end = parse_date(args.calibration_end, "--calibration-end") if args.calibration_end \
        else None
    holdout_end = parse_date(args.holdout_end, "--holdout-end") if args.holdout_end else None
    if holdout_end is not None and cal_end is not None and holdout_end <= cal_end:
        raise UsageError(f"--holdout-end {holdout_end} must be after --calibration-end {cal_end}")
    if not 1 <= args.horizon_months <= MONTHS_MAX:
        raise UsageError(
            f"--horizon-months must be from 1 to {MONTHS_MAX}, got {args.horizon_months}"
        )
    finite_number("--discount-rate", args.discount_rate, low=0.0, high=10.0)
    check_out(args, args.out)
    with open_workspace(args.workspace) as ws:
        version = ws.data_version()
        transactions = ws.load_transactions()
    if transactions.is_empty():
        # the workspace's data, not the flags, is what is missing: exit 1
        raise SegscopeError(f"{args.workspace} has no transactions; import some first")
    res = customer_lifetime_value(
        transactions,
        cal_end,
        horizon_months=args.horizon_months,
        annual_discount_rate=args.discount_rate,
        zero_amount_is_purchase=args.count_zero_orders,
    )
    try:
        with open_workspace(args.workspace) as ws:
            keep_clv(ws, res, version)  # segment, export, KPIs and runs use it without a refit
    except WorkspaceBusyError:
        print(f"note: {args.workspace} is busy; the CLV fit was not kept", file=sys.stderr)
    holdout = None
    if holdout_end is not None:
        if holdout_end <= res.calibration_end:
            raise UsageError(f"--holdout-end {holdout_end} must be after the calibration end "
                             f"{res.calibration_end}")
        holdout = holdout_comparison(transactions, res, holdout_end)
    if args.json:
        d = res.describe()
        if holdout is not None:
            d["holdout"] = holdout.as_dict()
        print(json.dumps(d, indent=2))
    else:
        print(describe_text(res))
        if holdout is not None:
            print(holdout_text(holdout))
    if args.out:
        path = write_frame(res.frame, args.out, **out_options(args))
        print(f"{res.frame.height:,} customers written to {path}", file=sys.stderr)
    return 0
