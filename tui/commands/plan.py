"""``segscope plan set|show|kpi-add|kpi-delete|kpis|export``: game plans and their KPIs.

Also home of ``segment_context`` (the model's segments on the current data,
with the revenue bridge), which the persona and playbook commands share.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from core.errors import UsageError
from core.model import SegmentationModel
from tui.commands._safety import ID_MAX, add_force, bounded_date, check_out, int_in, out_options
from tui.commands.segment import (
    build_frame,
    load_model,
    open_workspace,
    parse_date,
    plain,
    render_table,
    rows_as_json,
)

EPILOG = """examples:
  segscope plan set ws.segscope --model "Sales logic" --segment Complex --objective grow \\
      --coverage-model "key account manager" --owner "Ann Berg" --review-date 2026-06-30
  segscope plan kpi-add ws.segscope --model "Sales logic" --segment Complex \\
      --metric revenue --target 2500000 --deadline 2026-12-31
  segscope plan kpis ws.segscope --model "Sales logic" --trend
  segscope plan show ws.segscope --model "Sales logic" --json
  segscope plan export ws.segscope --out plans.xlsx
"""


@dataclass
class SegmentContext:
    """A model applied to the current data."""

    model: SegmentationModel
    frame: pl.DataFrame
    transactions: pl.DataFrame
    as_of: dt.date
    assignments: pl.DataFrame
    bridge_accounts: pl.DataFrame | None
    segments: list[str]


def segment_context(ws: Any, model_name: str, as_of: dt.date | None) -> SegmentContext:
    """Assign the model's segments on the current data; flags orphaned plans."""
    from core.segment import assign_segments, segment_order
    from storage.plans import flag_orphans
    from tui.commands.segment import bridge_accounts, with_forward_columns

    model, _ = load_model(ws, model_name)
    frame, transactions, as_of = build_frame(ws, as_of)
    # kept potential / CLV fits: the share-of-wallet and average-CLV KPIs
    frame = with_forward_columns(frame, transactions, as_of, model, ws)
    assignments = assign_segments(frame, model)
    segments = segment_order(assignments)
    flag_orphans(ws, model.name, segments)
    return SegmentContext(
        model,
        frame,
        transactions,
        as_of,
        assignments,
        bridge_accounts(transactions, as_of),
        segments,
    )


def check_segment(ctx: SegmentContext, segment: str) -> str:
    if segment not in ctx.segments:
        raise UsageError(
            f"model {ctx.model.name!r} has no segment {segment!r} on the current data; "
            f"segments: {', '.join(ctx.segments)}"
        )
    return segment


def kpi_actuals_for(
    ws: Any, ctx: SegmentContext, today: dt.date, segment: str | None = None
) -> pl.DataFrame:
    from core.kpi import kpi_actuals
    from storage.plans import list_kpis

    kpis = list_kpis(ws, ctx.model.name, segment)
    return kpi_actuals(
        ctx.frame, ctx.assignments, kpis, today=today, bridge_accounts=ctx.bridge_accounts
    )


def kpi_trend_for(ws: Any, ctx: SegmentContext, segment: str | None = None) -> pl.DataFrame:
    """Each KPI over the model's frozen runs (the run's assignments on the data
    as of the run's analysis date), oldest run first."""
    from core.frame import account_frame
    from core.kpi import kpi_trend
    from storage.plans import list_kpis
    from tui.commands.segment import bridge_accounts

    kpis = list_kpis(ws, ctx.model.name, segment)
    runs = ws.list_runs(ctx.model.name).sort("run_id")
    accounts = ws.load_accounts()
    points = []
    for run in runs.iter_rows(named=True):
        as_of = dt.date.fromisoformat(run["as_of"]) if run["as_of"] else ctx.as_of
        frame = account_frame(accounts, ctx.transactions, as_of=as_of)
        label = f"run {run['run_id']}" + (f" ({run['label']})" if run["label"] else "")
        points.append(
            (
                f"{label} {as_of.isoformat()}",
                frame,
                ws.load_run(run["run_id"]),
                bridge_accounts(ctx.transactions, as_of),
            )
        )
    return kpi_trend(points, kpis)


def today_arg(text: str | None) -> dt.date:
    if text is None:
        return dt.date.today()
    return bounded_date(text, "--today")


# Far above any revenue target, and still exact in a float.
KPI_TARGET_MAX = 1e15

# ---------------------------------------------------------------- parser

_PLAN_OPTIONS = (
    ("objective", "grow / retain / maintain / lean service"),
    ("coverage_model", "key account manager / field / inside sales / partner / digital self-serve"),
    ("sales_logic", "traditional / complex"),
    ("offer", "standard / customised"),
    ("key_messages", "the key messages"),
    ("channels", "channels"),
    ("cadence", "contact cadence"),
    ("owner", "who owns the plan"),
    ("effort", "effort or budget"),
    ("review_date", "next review YYYY-MM-DD"),
    ("status", "plan status (free text, e.g. draft / agreed)"),
)


def _common(p: argparse.ArgumentParser, *, model: bool = True, as_of: bool = True) -> None:
    p.add_argument("workspace", metavar="WORKSPACE", help="the workspace file")
    if model:
        p.add_argument("--model", required=True, metavar="NAME", help="the segmentation model")
    if as_of:
        p.add_argument(
            "--as-of",
            metavar="DATE",
            help="analysis date YYYY-MM-DD (default: the day after the last transaction)",
        )


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "plan",
        help="game plans per segment and their KPIs (target vs live actual)",
        description=(
            "Game plans per segment of a model: objective, coverage model, sales logic,\n"
            "offer, messages, channels, cadence, owner, effort, review date, status; and\n"
            "KPIs (a metric, a target, a deadline) whose actual is computed from the\n"
            "current data. Plans of segments that vanished after a model change are kept\n"
            "and shown as orphaned. Every change can be undone with 'segscope undo'."
        ),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="plan_command", metavar="ACTION", required=True)

    p = sub.add_parser(
        "set",
        help="set fields of a segment's game plan ('' clears a field); a new plan needs a "
        "segment the model has on the current data",
    )
    _common(p, as_of=False)
    p.add_argument("--segment", required=True, help="the segment")
    for name, text in _PLAN_OPTIONS:
        p.add_argument(f"--{name.replace('_', '-')}", dest=name, metavar="TEXT", help=text)
    p.set_defaults(handler=run_set)

    p = sub.add_parser("show", help="the game plans of a model with their KPIs")
    _common(p)
    p.add_argument("--segment", help="only this segment")
    p.add_argument("--today", metavar="DATE", help="judge KPI progress as of DATE (default today)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=run_show)

    p = sub.add_parser("kpi-add", help="add a KPI (its current actual is kept as the baseline)")
    _common(p)
    p.add_argument("--segment", required=True, help="the segment")
    p.add_argument(
        "--metric",
        required=True,
        help="revenue, growth, nrr, grr, accounts, "
        "churned_accounts, margin_pct, avg_order_value, share_of_wallet, avg_clv",
    )
    p.add_argument(
        "--target",
        required=True,
        type=float,
        help="the target value (ratios as fractions: 1.05 = 105 %%)",
    )
    p.add_argument("--deadline", metavar="DATE", help="YYYY-MM-DD")
    p.add_argument(
        "--direction",
        choices=("at_least", "at_most"),
        default="at_least",
        help="at_least: higher is better (default); at_most: lower is better",
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=run_kpi_add)

    p = sub.add_parser("kpi-delete", help="delete a KPI by id")
    _common(p, model=False, as_of=False)
    p.add_argument("id", type=int_in(1, ID_MAX), help="the KPI id ('plan kpis' lists them)")
    p.set_defaults(handler=run_kpi_delete)

    p = sub.add_parser(
        "kpis", help="KPIs with live actuals and status (met / on track / off track)"
    )
    _common(p)
    p.add_argument("--segment", help="only this segment")
    p.add_argument("--today", metavar="DATE", help="judge progress as of DATE (default today)")
    p.add_argument("--trend", action="store_true", help="also each KPI over the frozen runs")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=run_kpis)

    p = sub.add_parser("export", help="personas, plans and KPIs to CSV / XLSX / Parquet")
    _common(p, model=False, as_of=False)
    p.add_argument(
        "--out",
        required=True,
        metavar="FILE",
        help=".xlsx (one sheet per table), "
        ".csv or .parquet (one file per table: FILE-personas.csv, ...)",
    )
    add_force(p)
    p.add_argument("--model", metavar="NAME", help="only this model")
    p.set_defaults(handler=run_export)


# ---------------------------------------------------------------- handlers


def run_set(args: argparse.Namespace) -> int:
    from storage.plans import get_plan, set_plan

    fields = {
        name: (None if getattr(args, name) == "" else getattr(args, name))
        for name, _ in _PLAN_OPTIONS
        if getattr(args, name) is not None
    }
    with open_workspace(args.workspace) as ws:
        load_model(ws, args.model)  # the model must exist
        if get_plan(ws, args.model, args.segment) is None:
            # a new plan needs a segment the model has now (a typo would make an orphan)
            check_segment(segment_context(ws, args.model, None), args.segment)
        set_plan(ws, args.model, args.segment, **fields)
        plan = get_plan(ws, args.model, args.segment)
    changed = ", ".join(fields) if fields else "nothing (plan created)"
    print(f"plan of segment {args.segment!r} (model {args.model!r}): set {changed}")
    if plan and plan["orphaned"]:
        print("note: this segment is not in the model's current results (orphaned plan)")
    return 0


def _plan_lines(plan: dict[str, Any]) -> list[str]:
    from core.playbook import PLAN_LABELS

    width = max(len(v) for v in PLAN_LABELS.values())
    return [
        f"  {label:<{width}}  {plan.get(key) or ''}".rstrip() for key, label in PLAN_LABELS.items()
    ]


def _kpi_table(actuals: pl.DataFrame) -> str:
    from core.kpi import KPI_LABELS
    from core.playbook import fmt_metric

    rows = [
        [
            str(r["id"]),
            r["segment"],
            KPI_LABELS.get(r["metric"], r["metric"]),
            ("≥ " if r["direction"] == "at_least" else "≤ ") + fmt_metric(r["metric"], r["target"]),
            fmt_metric(r["metric"], r["actual"]),
            fmt_metric(r["metric"], r["expected"]),
            r["deadline"] or "",
            r["status"],
            r["note"] or "",
        ]
        for r in actuals.to_dicts()
    ]
    headers = ["Id", "Segment", "KPI", "Target", "Actual", "Expected", "Deadline", "Status", "Note"]
    return render_table(headers, rows, right={0, 3, 4, 5})


def run_show(args: argparse.Namespace) -> int:
    from storage.plans import list_plans

    today = today_arg(args.today)
    with open_workspace(args.workspace) as ws:
        ctx = segment_context(ws, args.model, parse_date(args.as_of))
        plans = list_plans(ws, ctx.model.name)
        actuals = kpi_actuals_for(ws, ctx, today, args.segment)
    if args.segment is not None:
        plans = plans.filter(pl.col("segment") == args.segment)
    if args.json:
        payload = {
            "model": ctx.model.name,
            "as_of": ctx.as_of.isoformat(),
            "today": today.isoformat(),
            "plans": rows_as_json(plans),
            "kpis": rows_as_json(actuals),
        }
        print(json.dumps(payload, indent=2, ensure_ascii=False))
        return 0
    if plans.is_empty():
        print(f"no game plan for model {ctx.model.name!r} yet ('segscope plan set' writes one)")
    for plan in plans.to_dicts():
        flag = "  [orphaned: segment no longer in the model]" if plan["orphaned"] else ""
        print(f"segment {plan['segment']}{flag}")
        print("\n".join(_plan_lines(plan)))
        mine = actuals.filter(pl.col("segment") == plan["segment"])
        if not mine.is_empty():
            print(_kpi_table(mine))
        print()
    return 0


def run_kpi_add(args: argparse.Namespace) -> int:
    from core.kpi import check_metric, segment_kpis
    from storage.plans import add_kpi

    check_metric(args.metric)
    if not math.isfinite(args.target) or abs(args.target) > KPI_TARGET_MAX:
        raise UsageError(
            f"--target {args.target!r} is out of range; use a finite number from"
            f" {-KPI_TARGET_MAX:g} to {KPI_TARGET_MAX:g}"
        )
    deadline = parse_deadline(args.deadline)
    with open_workspace(args.workspace) as ws:
        ctx = segment_context(ws, args.model, parse_date(args.as_of))
        check_segment(ctx, args.segment)
        table = segment_kpis(ctx.frame, ctx.assignments, bridge_accounts=ctx.bridge_accounts)
        row = table.filter(pl.col("segment") == args.segment).row(0, named=True)
        baseline = row[args.metric]
        kpi_id = add_kpi(
            ws,
            ctx.model.name,
            args.segment,
            args.metric,
            args.target,
            deadline,
            args.direction,
            None if baseline is None else float(baseline),
        )
    if args.json:
        print(json.dumps({"id": kpi_id, "baseline": plain(baseline)}))
    else:
        shown = "not available" if baseline is None else f"{baseline:,.4g}"
        print(
            f"KPI {kpi_id} added: {args.metric} of {args.segment!r} {args.direction} "
            f"{args.target:g}; current value (baseline) {shown}"
        )
    return 0


def parse_deadline(text: str | None) -> dt.date | None:
    if text is None:
        return None
    return bounded_date(text, "--deadline")


def run_kpi_delete(args: argparse.Namespace) -> int:
    from storage.plans import delete_kpi

    with open_workspace(args.workspace) as ws:
        delete_kpi(ws, args.id)
    print(f"KPI {args.id} deleted (segscope undo brings it back)")
    return 0


def run_kpis(args: argparse.Namespace) -> int:
    today = today_arg(args.today)
    with open_workspace(args.workspace) as ws:
        ctx = segment_context(ws, args.model, parse_date(args.as_of))
        actuals = kpi_actuals_for(ws, ctx, today, args.segment)
        trend = kpi_trend_for(ws, ctx, args.segment) if args.trend else None
    if args.json:
        payload: dict[str, Any] = {
            "model": ctx.model.name,
            "as_of": ctx.as_of.isoformat(),
            "today": today.isoformat(),
            "kpis": rows_as_json(actuals),
        }
        if trend is not None:
            payload["trend"] = rows_as_json(trend)
        print(json.dumps(payload, indent=2, ensure_ascii=False))
        return 0
    if actuals.is_empty():
        print(f"no KPIs for model {ctx.model.name!r} yet ('segscope plan kpi-add' adds one)")
        return 0
    print(
        f"model {ctx.model.name!r}, data as of {ctx.as_of.isoformat()}, "
        f"progress judged on {today.isoformat()}"
    )
    print(_kpi_table(actuals))
    if trend is not None:
        if trend.is_empty():
            print("\nno frozen runs of this model yet ('segscope run save' makes one)")
        else:
            from core.playbook import fmt_metric

            print("\ntrend over frozen runs:")
            rows = [
                [
                    r["point"],
                    str(r["id"]),
                    r["segment"],
                    r["metric"],
                    fmt_metric(r["metric"], r["actual"]),
                ]
                for r in trend.to_dicts()
            ]
            print(render_table(["Run", "Id", "Segment", "KPI", "Actual"], rows, right={1, 4}))
    return 0


def run_export(args: argparse.Namespace) -> int:
    from storage.export import write_frame, write_frames
    from storage.plans import list_kpis, list_plans, personas_frame

    out = Path(args.out).expanduser()
    targets = [out] if out.suffix.lower() == ".xlsx" else [
        out.with_name(f"{out.stem}-{name}{out.suffix}") for name in ("personas", "plans", "kpis")
    ]
    check_out(args, *targets)
    with open_workspace(args.workspace) as ws:
        tables = {
            "personas": personas_frame(ws, args.model),
            "plans": list_plans(ws, args.model),
            "kpis": list_kpis(ws, args.model),
        }
    if out.suffix.lower() == ".xlsx":
        write_frames(tables, out, **out_options(args))
        written = [out]
    else:
        written = [
            write_frame(df, out.with_name(f"{out.stem}-{name}{out.suffix}"), **out_options(args))
            for name, df in tables.items()
        ]
    for path in written:
        print(f"wrote {path}")
    counts = ", ".join(f"{df.height} {name}" for name, df in tables.items())
    print(f"({counts})")
    return 0
