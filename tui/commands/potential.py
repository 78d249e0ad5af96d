"""``segscope potential WORKSPACE``: account potential, share of wallet and headroom."""

from __future__ import annotations

import argparse
import json
import sys

from core.errors import UsageError
from storage.errors import WorkspaceBusyError
from tui.commands._safety import add_force, check_out, out_options

DESCRIPTION = """\
Fit a high-quantile model (default q = 0.8) of window revenue on the accounts'
firmographics (gradient boosting with quantile loss; categorical and missing
values handled) with out-of-fold predictions for customers, so an account's own
spend never sets its potential. With few customers (too few for the trees to
split a fold) a linear quantile regression on the log features is used
instead. potential = max(prediction, revenue), share_of_wallet = max(revenue, 0)
/ potential (always within 0-1), headroom = potential - revenue. Prospects get
a potential from the model fitted on all customers.

The report names the model and the features that carry weight in it (and says
so plainly when none does: the potential is then a flat peer quantile), the
calibration (share of customers at or below their out-of-fold potential; it
should be near the quantile) and the pinball loss.
"""

EPILOG = """examples:
  segscope potential ws.segscope
  segscope potential ws.segscope --quantile 0.9 --out potential.xlsx
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "potential",
        help="account potential, share of wallet and headroom (quantile model)",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("workspace", metavar="WORKSPACE", help="the workspace file (.segscope)")
    parser.add_argument("--quantile", metavar="Q", type=float, default=0.8,
                        help="the quantile of peer revenue used as potential (default 0.8)")
    parser.add_argument("--as-of", metavar="DATE",
                        help="analysis date YYYY-MM-DD (default: day after the last transaction)")
    parser.add_argument("--json", action="store_true", help="print the fit report as JSON")
    parser.add_argument("--out", metavar="FILE",
                        help="write the per-account frame (.csv, .xlsx or .parquet)")
    add_force(parser)
    parser.set_defaults(handler=run)


def progress_bar(label: str):  # noqa: ANN201
    """A progress callback drawing ``label [#####-----] 3/6`` on stderr."""

    def draw(done: int, total: int) -> None:
        width = 20
        filled = int(width * done / max(total, 1))
        end = "\n" if done >= total else ""
        print(f"\r{label} [{'#' * filled}{'-' * (width - filled)}] {done}/{total}", end=end,
              file=sys.stderr, flush=True)

    return draw


def report_text(rep: object, total_headroom: float, accounts: int) -> str:
    d = rep.as_dict()  # type: ignore[attr-defined]
    lines = [
        f"potential = q{d['quantile']:g} of peer revenue, {d['n_splits']}-fold out-of-fold for "
        f"{d['n_customers']:,} customers, full fit for {d['n_prospects']:,} other accounts",
        f"model: {d['model']}",
        (f"features carrying weight: {', '.join(d['features'])}"
         + (f" (offered: {', '.join(d['candidate_features'])})"
            if d["candidate_features"] != d["features"] else "")
         if d["features"] else
         f"features carrying weight: none of {', '.join(d['candidate_features'])}: the "
         "potential is a flat peer quantile, not a model"),
        f"calibration: {d['calibration']:.3f} of customers at or below their potential "
        f"(target {d['quantile']:g})",
        f"pinball loss: {d['pinball_loss']:,.2f} (revenue), {d['pinball_loss_log']:.4f} (log1p)",
        f"accounts: {accounts:,}   total headroom: {total_headroom:,.2f}",
    ]
    lines += [f"note: {n}" for n in d["notes"]]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from core.potential import fit_potential
    from storage.export import write_frame
    from tui.commands.segment import build_frame, keep_potential, open_workspace, parse_date

    if not 0 < args.quantile < 1:
        raise UsageError(f"--quantile must be between 0 and 1, got {args.quantile}")
    check_out(args, args.out)
    with open_workspace(args.workspace) as ws:
        version = ws.data_version()
        frame, _, as_of = build_frame(ws, parse_date(args.as_of))
    res = fit_potential(frame, quantile=args.quantile,
                        progress=None if args.json else progress_bar("fitting"))
    try:
        with open_workspace(args.workspace) as ws:
            # segment, export, KPIs and runs use it without a refit
            keep_potential(ws, res, as_of, args.quantile, version)
    except WorkspaceBusyError:
        print(f"note: {args.workspace} is busy; the potential fit was not kept",
              file=sys.stderr)
    if args.json:
        print(json.dumps({"as_of": as_of.isoformat(), **res.report.as_dict(),
                          "total_headroom": float(res.frame["headroom"].sum())}, indent=2))
    else:
        print(report_text(res.report, float(res.frame["headroom"].sum()), res.frame.height))
    if args.out:
        out = res.frame
        if "name" in frame.columns:
            out = out.join(frame.select("account_id", "name"), on="account_id", how="left",
                           maintain_order="left").select("account_id", "name",
                                                         *out.columns[1:])
        path = write_frame(out, args.out, **out_options(args))
        print(f"{out.height:,} accounts written to {path}", file=sys.stderr)
    return 0
