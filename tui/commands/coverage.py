"""``segscope coverage WORKSPACE``: sales effort against potential, over- and under-coverage."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import polars as pl

from core.errors import UsageError
from tui.commands._safety import add_force, check_out, out_options

DESCRIPTION = """\
Where the sales effort goes, against where the potential is (DOMAIN.md
"Coverage: sales effort against potential"). Effort = minutes of the imported
activities in the 12 months before the analysis date (the activity's duration,
else its type's default: visit 120, meeting 60, call 15, e-mail 5, other 0;
--minutes changes them). Coverage ratio = share of effort / share of headroom
(potential - revenue, from the potential fit kept by 'segscope potential', or
fitted here and kept). Over-covered: ratio > 2 and headroom in the lower half;
under-covered: ratio < 0.5 and headroom in the top quarter (--over-ratio,
--under-ratio). Per account, per segment (--model), per owner (the owner with
most minutes on the account), a coverage x headroom matrix, and a reallocation
of the effort above fair share on over-covered accounts to under-covered ones.
The revenue uplift of that reallocation rests on --response, an assumption
(share of an account's headroom won per hour added), labelled as such.
"""

EPILOG = """examples:
  segscope import ws.segscope activities.csv --kind activities
  segscope coverage ws.segscope
  segscope coverage ws.segscope --model "ABC by revenue" --top 20
  segscope coverage ws.segscope --minutes call=10,email=2 --response 0.01 --json
  segscope coverage ws.segscope --out coverage.xlsx

--out: .xlsx gets six sheets (accounts, segments, owners, matrix, reallocation,
released); .csv and .parquet get the accounts.
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "coverage",
        help="coverage: sales effort (activities) against headroom, over- and under-covered "
             "accounts, owners, reallocation",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("workspace", metavar="WORKSPACE", help="the workspace file (.segscope)")
    parser.add_argument("--model", metavar="NAME",
                        help="a segmentation model: coverage per segment")
    parser.add_argument("--as-of", metavar="DATE",
                        help="analysis date YYYY-MM-DD (default: day after the last transaction)")
    parser.add_argument("--scope", choices=("book", "all"), default="book",
                        help="accounts compared: with revenue or effort in the window (book, "
                             "default) or every account with a potential (all)")
    parser.add_argument("--minutes", metavar="TYPE=N,...",
                        help="default minutes per activity type without a duration "
                             "(visit, meeting, call, email, other)")
    parser.add_argument("--over-ratio", metavar="X", type=float, default=2.0,
                        help="over-covered above this ratio, in the lower half of headroom "
                             "(default 2)")
    parser.add_argument("--under-ratio", metavar="X", type=float, default=0.5,
                        help="under-covered below this ratio, in the top quarter of headroom "
                             "(default 0.5)")
    parser.add_argument("--response", metavar="SHARE", type=float, default=0.002,
                        help="ASSUMPTION for the uplift: share of an account's headroom won per "
                             "hour added (default 0.002)")
    parser.add_argument("--top", metavar="N", type=int, default=10,
                        help="rows per list printed (default 10; the file gets all)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    parser.add_argument("--out", metavar="FILE",
                        help="write the results (.xlsx: all tables; .csv/.parquet: accounts)")
    add_force(parser)
    parser.set_defaults(handler=run)


def parse_minutes(text: str | None) -> dict[str, float]:
    """``'call=10,email=2'`` -> ``{'call': 10.0, 'email': 2.0}``."""
    if not text:
        return {}
    out: dict[str, float] = {}
    for item in text.split(","):
        name, sep, value = item.partition("=")
        try:
            out[name.strip().lower().replace("-", "")] = float(value)
        except ValueError:
            sep = ""
        if not sep:
            raise UsageError(f"--minutes '{item}' is not TYPE=MINUTES (e.g. call=10)")
    return out


def potential_frame(ws: Any, frame: pl.DataFrame, as_of: Any) -> tuple[pl.DataFrame, str]:
    """account_id, revenue, potential, headroom: the kept potential fit, else a fit
    made here (and kept); and a sentence saying which."""
    from tui.commands.segment import keep_potential, with_kept_fits

    kept = with_kept_fits(ws, frame, as_of)
    if "headroom" in kept.columns and kept["headroom"].is_not_null().any():
        source = "the potential fit kept in the workspace"
        out = kept
    else:
        from core.errors import SegscopeError
        from core.potential import fit_potential

        res = fit_potential(frame)
        try:
            keep_potential(ws, res, as_of, res.report.quantile)
        except SegscopeError:  # busy or read-only: the fit is still used
            pass
        source = "a potential fit made now (q 0.8, out-of-fold)"
        out = frame.join(res.frame.select(pl.col("account_id").cast(frame["account_id"].dtype),
                                          "potential", "headroom"),
                         on="account_id", how="left", maintain_order="left")
    return out.select("account_id", pl.col("revenue").fill_null(0.0), "potential",
                      "headroom"), source


def compute(ws: Any, args: argparse.Namespace) -> tuple[Any, pl.DataFrame, str]:
    """The ``Coverage`` result, the per-account frame (for names) and the potential's source."""
    from core.coverage import CoverageSettings, coverage
    from core.periods import shift_months
    from storage.activities import activity_count, activity_summary
    from tui.commands.segment import build_frame, load_model, parse_date

    settings = CoverageSettings(minutes={**parse_minutes(args.minutes)},
                                over_ratio=args.over_ratio, under_ratio=args.under_ratio,
                                response_per_hour=args.response)
    if activity_count(ws) == 0:
        raise UsageError(f"{ws.path} has no activities: import a CRM activity export with "
                         "'segscope import WS FILE --kind activities'")
    frame, transactions, as_of = build_frame(ws, parse_date(args.as_of))
    if transactions.is_empty():
        raise UsageError(f"{ws.path} has no transactions: there is no revenue to fit a "
                         "potential on")
    assignments = None
    if args.model:
        from core.segment import assign_segments
        from tui.commands.segment import with_forward_columns

        model, _ = load_model(ws, args.model)
        seg_frame = with_forward_columns(frame, transactions, as_of, model, ws)
        assignments = assign_segments(seg_frame, model).select("account_id", "segment")
    potential, source = potential_frame(ws, frame, as_of)
    activities = activity_summary(ws, shift_months(as_of, -12), as_of)
    result = coverage(activities, potential, as_of=as_of, window_months=12,
                      assignments=assignments, settings=settings, scope=args.scope)
    return result, frame, source


def with_names(df: pl.DataFrame, frame: pl.DataFrame) -> pl.DataFrame:
    if "name" not in frame.columns or "account_id" not in df.columns:
        return df
    names = frame.select(pl.col("account_id").cast(pl.String), "name")
    out = df.join(names, on="account_id", how="left", maintain_order="left")
    return out.select("account_id", "name", *[c for c in out.columns
                                              if c not in ("account_id", "name")])


def _hours(minutes: float) -> str:
    return f"{minutes / 60:,.1f} h"


def _ratio(x: float | None) -> str:
    return "no headroom" if x is None else f"{x:.2f}"


def run(args: argparse.Namespace) -> int:
    from storage.export import write_frame, write_frames
    from tui.commands.segment import fmt_money, open_workspace, render_table, rows_as_json

    if args.top < 0:
        raise UsageError(f"--top must be 0 or more, got {args.top}")
    check_out(args, args.out)
    with open_workspace(args.workspace) as ws:
        result, frame, source = compute(ws, args)
    accounts = with_names(result.accounts, frame)
    over = accounts.filter(pl.col("status") == "over").sort(
        ["effort_minutes", "account_id"], descending=[True, False])
    under = accounts.filter(pl.col("status") == "under").sort(
        ["headroom", "account_id"], descending=[True, False])
    realloc = with_names(result.reallocation, frame)
    s = result.summary
    if args.json:
        print(json.dumps({
            "as_of": result.as_of.isoformat(), "window_months": result.window_months,
            "scope": result.scope, "model": args.model, "potential": source,
            "summary": {k: v for k, v in s.items()},
            "notes": list(result.notes),
            "segments": rows_as_json(result.segments),
            "owners": rows_as_json(result.owners),
            "matrix": rows_as_json(result.matrix),
            "over_covered": rows_as_json(over.head(args.top)),
            "under_covered": rows_as_json(under.head(args.top)),
            "reallocation": rows_as_json(realloc.head(args.top)),
        }, indent=2, ensure_ascii=False))
    else:
        print(f"as of {result.as_of.isoformat()}, {result.window_months} months; "
              f"headroom from {source}; scope: {result.scope}")
        print(f"{s['accounts']:,} accounts, {s['activities']:,} activities, "
              f"{s['effort_hours']:,.1f} hours of effort against {fmt_money(s['headroom'])} "
              "headroom")
        th = s["thresholds"]
        print(f"over-covered (ratio > {th['over_ratio']:g}, headroom <= "
              f"{fmt_money(th['over_headroom_at_most'])}): {s['over_covered']:,} accounts, "
              f"{s['over_effort_hours']:,.1f} hours")
        print(f"under-covered (ratio < {th['under_ratio']:g}, headroom >= "
              f"{fmt_money(th['under_headroom_at_least'])}): {s['under_covered']:,} accounts, "
              f"{fmt_money(s['under_headroom'])} headroom")
        for note in result.notes:
            print(f"note: {note}")
        print("\ncoverage x headroom (accounts):")
        from core.coverage import COVERAGE_BANDS, HEADROOM_BANDS

        cells = {(r["coverage_band"], r["headroom_band"]): r["accounts"]
                 for r in result.matrix.to_dicts()}
        rows = [[band, *[f"{cells[(band, h)]:,}" for h in HEADROOM_BANDS]]
                for band in COVERAGE_BANDS]
        print(render_table(["Ratio \\ headroom", *HEADROOM_BANDS], rows, right={1, 2, 3, 4}))
        if args.model:
            print(f"\nper segment of {args.model!r}:")
            rows = [[str(r["segment"]), f"{r['accounts']:,}", _hours(r["effort_minutes"]),
                     fmt_money(r["headroom"]), _ratio(r["ratio"]), f"{r['over']:,}",
                     f"{r['under']:,}"] for r in result.segments.to_dicts()]
            print(render_table(["Segment", "Accounts", "Effort", "Headroom", "Ratio", "Over",
                                "Under"], rows, right={1, 2, 3, 4, 5, 6}))
        print("\nper owner (effort against the headroom of the accounts they own):")
        rows = [[str(r["owner"]), f"{r['accounts']:,}", _hours(r["effort_minutes"]),
                 fmt_money(r["headroom"]), _ratio(r["ratio"]), f"{r['over']:,}",
                 f"{r['under']:,}"] for r in result.owners.head(max(args.top, 1) * 3).to_dicts()]
        print(render_table(["Owner", "Accounts", "Effort", "Headroom", "Ratio", "Over", "Under"],
                           rows, right={1, 2, 3, 4, 5, 6}))
        label = "name" if "name" in accounts.columns else "account_id"
        for title, part in (("over-covered, most effort first", over),
                            ("under-covered, most headroom first", under)):
            if part.height:
                print(f"\n{title} (top {min(args.top, part.height)} of {part.height:,}):")
            for r in part.head(args.top).iter_rows(named=True):
                print(f"  {r[label] or r['account_id']}: {_hours(r['effort_minutes'])}, "
                      f"headroom {fmt_money(r['headroom'])}, ratio {_ratio(r['ratio'])}, "
                      f"owner {r['owner'] or '-'}")
        print(f"\nreallocation: {s['hours_freed']:,.1f} hours above fair share on over-covered "
              f"accounts; {s['hours_moved']:,.1f} hours placed on "
              f"{result.reallocation.height:,} under-covered accounts with "
              f"{fmt_money(s['headroom_reached'])} headroom")
        for r in realloc.head(args.top).iter_rows(named=True):
            name = r.get("name") or r["account_id"]
            print(f"  {name}: +{_hours(r['minutes_added'])} -> ratio "
                  f"{_ratio(r['ratio'])} to {_ratio(r['ratio_after'])}, headroom "
                  f"{fmt_money(r['headroom'])}, assumed uplift {fmt_money(r['assumed_uplift'])}")
        print(f"assumed uplift {fmt_money(s['assumed_uplift'])}: {s['response_assumption']} "
              "(--response)")
    if args.out:
        from pathlib import Path

        if Path(args.out).suffix.lower() == ".xlsx":
            path = write_frames({"accounts": accounts, "segments": result.segments,
                                 "owners": result.owners, "matrix": result.matrix,
                                 "reallocation": realloc,
                                 "released": with_names(result.released, frame)},
                                args.out, **out_options(args))
        else:
            path = write_frame(accounts, args.out, **out_options(args))
        print(f"coverage written to {path}", file=sys.stderr)
    return 0
