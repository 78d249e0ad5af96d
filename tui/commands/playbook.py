"""``segscope playbook WORKSPACE --model NAME --out FILE.md|FILE.html``.

One document for sharing: the overview figures (accounts, customers, revenue,
ABC classes) as tables, every segment's key figures, then per target segment
(status "target" in the segment annotations; every segment when none is
marked, and the playbook says so) its profile, traits, personas, game plan
and KPIs with live actuals. The HTML file has the same content with inline
SVG charts (``core.playbook.playbook_html``): the Pareto curve, segment bars,
segments and KPIs over the model's frozen runs, the targeting matrix and the
white-space heat map; it prints cleanly (a print stylesheet).
"""

from __future__ import annotations

import argparse
import datetime as dt
from collections import defaultdict
from pathlib import Path
from typing import Any

import polars as pl

from core.errors import UsageError
from tui.commands._safety import add_force, check_out, out_options
from tui.commands.segment import open_workspace, parse_date

EPILOG = """examples:
  segscope playbook ws.segscope --model "Sales logic" --out playbook.md
  segscope playbook ws.segscope --model "Sales logic" --out playbook.html --targets-only
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "playbook",
        help="write the playbook (Markdown or HTML): overview, target segments, personas, plans",
        description=(
            "Write one Markdown (.md) or HTML (.html) file with the overview figures and,\n"
            "per target segment of model NAME, its profile, distinguishing traits,\n"
            "personas, game plan and KPIs with live actuals. Segments are targets when\n"
            "their status is 'target'; with none marked, every segment is shown."
        ),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("workspace", metavar="WORKSPACE", help="the workspace file")
    parser.add_argument("--model", required=True, metavar="NAME", help="the segmentation model")
    parser.add_argument("--out", required=True, metavar="FILE", help="FILE.md or FILE.html")
    add_force(parser)
    parser.add_argument(
        "--targets-only",
        action="store_true",
        help="only the target segments (no table of all segments); an error if none is marked",
    )
    parser.add_argument("--as-of", metavar="DATE", help="analysis date YYYY-MM-DD")
    parser.add_argument(
        "--today", metavar="DATE", help="judge KPI progress as of DATE (default: today)"
    )
    parser.set_defaults(handler=run)


def _overview(frame: pl.DataFrame, segments: int) -> dict[str, Any]:
    accounts = frame.height
    customers = (
        int(frame["first_purchase"].is_not_null().sum()) if "first_purchase" in frame.columns else 0
    )
    revenue = float(frame["revenue"].fill_null(0).sum()) if "revenue" in frame.columns else None
    return {
        "accounts": accounts,
        "customers": customers,
        "prospects": accounts - customers,
        "revenue": revenue,
        "segments": segments,
    }


def _abc(frame: pl.DataFrame) -> list[dict[str, Any]]:
    if "abc_class" not in frame.columns:
        return []
    total_accounts = frame.height
    total_revenue = float(frame["revenue"].fill_null(0).sum())
    rows = (
        frame.group_by("abc_class")
        .agg(pl.len().alias("accounts"), pl.col("revenue").fill_null(0).sum().alias("revenue"))
        .sort("abc_class")
    )
    return [
        {
            "abc_class": r["abc_class"],
            "accounts": r["accounts"],
            "account_share": r["accounts"] / total_accounts if total_accounts else None,
            "revenue": r["revenue"],
            "revenue_share": r["revenue"] / total_revenue if total_revenue else None,
        }
        for r in rows.to_dicts()
    ]


PARETO_POINTS = (0.01, 0.05, 0.10, 0.20, 0.50)
# the chart's points: every 5 % of the customers
PARETO_CURVE_POINTS = tuple(i / 20 for i in range(1, 21))
# the white-space heat map shows at most this many lines (the most bought ones)
HEAT_MAP_LINES = 8


def _pareto(
    frame: pl.DataFrame, shares: tuple[float, ...] = PARETO_POINTS
) -> list[tuple[float, float]]:
    """Share of revenue of the top 1 / 5 / 10 / 20 / 50 % of buying customers
    (the first point of ``core.abc.pareto_curve`` at or beyond each share)."""
    from core.abc import pareto_curve

    if "revenue" not in frame.columns:
        return []
    curve = pareto_curve(frame)
    if curve.height < 2:
        return []
    out = []
    for p in shares:
        row = curve.filter(pl.col("account_share") >= p - 1e-12).head(1)
        if row.height:
            out.append((p, float(row["measure_share"][0])))
    return out


def run_label(run: dict[str, Any], as_of: dt.date) -> str:
    """How a frozen run is named on the charts (as ``plan kpis --trend`` names it)."""
    label = f"run {run['run_id']}" + (f" ({run['label']})" if run["label"] else "")
    return f"{label} {as_of.isoformat()}"


def segment_trend_for(ws: Any, model_name: str) -> pl.DataFrame:
    """Accounts and frozen revenue per segment at each frozen run of the model,
    oldest first (``core.trends.segment_trend``)."""
    from core.trends import segment_trend

    points = []
    for run in ws.list_runs(model_name).sort("run_id").iter_rows(named=True):
        as_of = run["as_of"] or run["created_at"][:10]
        points.append((run_label(run, dt.date.fromisoformat(as_of)), ws.load_run(run["run_id"])))
    return segment_trend(points)


def _in_segment_order(trend: pl.DataFrame, segments: list[str]) -> list[dict[str, Any]]:
    """Each run's segments in the model's order (segments no longer in it last)."""
    order = {s: i for i, s in enumerate(segments)}
    points = {p: i for i, p in enumerate(dict.fromkeys(trend["point"].to_list()))}
    rows = trend.to_dicts()
    return sorted(rows, key=lambda r: (points[r["point"]], order.get(r["segment"], len(order))))


def _targeting(ws: Any, name: str, profiles: pl.DataFrame) -> tuple[list[dict], str | None]:
    """Attractiveness (saved weights and analyst scores, as ``segscope targets``)
    and share of wallet of the kept potential fit, per segment."""
    from core.targeting import DEFAULT_WEIGHTS, segment_attractiveness
    from tui.commands.targets import analyst_scores, weights_key

    profiles = profiles.with_columns(pl.col("segment").cast(pl.Utf8)).filter(
        pl.col("segment") != "All accounts"
    )
    if profiles.is_empty():
        return [], None
    weights = dict(DEFAULT_WEIGHTS, **(ws.get_setting(weights_key(name)) or {}))
    scores, _ = analyst_scores(ws, name)
    known = set(profiles["segment"].to_list())
    ranking = segment_attractiveness(
        profiles, weights, {s: v for s, v in scores.items() if s in known}
    )
    rows = [
        {"segment": r["segment"], "attractiveness": r["attractiveness"],
         "position": r["position"]}
        for r in ranking.iter_rows(named=True)
    ]  # fmt: skip
    note = None
    if all(r["position"] is None for r in rows):
        note = (
            "Share of wallet needs a kept potential fit (Targeting screen, or segscope "
            "potential); until then the segments are listed, not placed on the matrix."
        )
    return rows, note


def _whitespace(ctx: Any) -> Any:
    """The segment x line penetration heat map (``core.whitespace``), the
    ``HEAT_MAP_LINES`` lines with the most buyers; None without product lines."""
    from core.errors import SegscopeError
    from core.playbook import HeatMap
    from core.whitespace import white_space

    if ctx.transactions.is_empty():
        return None
    try:
        result = white_space(
            ctx.transactions, ctx.assignments.select("account_id", "segment"),
            frame=ctx.frame, as_of=ctx.as_of,
        )  # fmt: skip
    except SegscopeError:
        return None
    pen = result.penetration
    if pen.is_empty():
        return None
    ranked = (
        pen.group_by("line")
        .agg(pl.col("buyers").sum())
        .sort(["buyers", "line"], descending=[True, False])
    )
    lines = ranked["line"].head(HEAT_MAP_LINES).cast(pl.Utf8).to_list()
    value = {(str(r["segment"]), str(r["line"])): r["penetration"] for r in pen.to_dicts()}
    segments = [s for s in ctx.segments if any((s, ln) in value for ln in lines)]
    note = None
    if ranked.height > len(lines):
        note = f"The {len(lines)} of {ranked.height} lines with the most buyers."
    what = "product line" if result.line_column == "product_line" else "product"
    return HeatMap(
        f"White space: share of each segment's customers buying each {what}",
        segments, lines, [[value.get((s, ln), 0.0) for ln in lines] for s in segments],
        row_title="Segment", column_title=what, note=note,
    )  # fmt: skip


def build_playbook(
    ws: Any, model_name: str, as_of: dt.date | None, today: dt.date, targets_only: bool
) -> Any:
    """The ``core.playbook.PlaybookInput`` of a model on the current data."""
    from core.persona import draft_drift, draft_persona
    from core.playbook import PlaybookInput, SegmentSection
    from core.profile import segment_profiles, segment_traits
    from storage.plans import get_plan, list_personas, list_plans
    from tui.commands.plan import kpi_actuals_for, kpi_trend_for, segment_context

    ctx = segment_context(ws, model_name, as_of)
    name = ctx.model.name
    profiles = segment_profiles(ctx.frame, ctx.assignments, bridge_accounts=ctx.bridge_accounts)
    by_segment = {r["segment"]: r for r in profiles.to_dicts()}
    notes = {r["segment"]: r for r in ws.get_segment_annotations(name).to_dicts()}
    targets = [s for s in ctx.segments if (notes.get(s) or {}).get("status") == "target"]
    note = None
    if targets:
        chosen = targets
    elif targets_only:
        raise UsageError(
            f"no segment of model {name!r} is marked as target; mark one (Segments screen, "
            "status target) or leave out --targets-only"
        )
    else:
        chosen = list(ctx.segments)
        note = (
            "No segment of this model is marked as target, so every segment is shown. "
            "Mark targets on the Segments screen (status target)."
        )

    own = {c for d in ctx.model.dimensions for c in d.columns()}
    traits: dict[str, list[str]] = defaultdict(list)
    for seg, phrase in (
        segment_traits(ctx.frame, ctx.assignments, exclude=own, limit=5)
        .select("segment", "phrase")
        .iter_rows()
    ):
        traits[seg].append(phrase)
    actuals = kpi_actuals_for(ws, ctx, today)
    trend = kpi_trend_for(ws, ctx)
    contacts = ws.load_contacts()
    sections = []
    for seg in chosen:
        personas = []
        for stored in list_personas(ws, name, seg):
            draft = draft_persona(ctx.frame, ctx.assignments, seg, contacts, exclude=own)
            personas.append((stored.id, stored.persona, draft_drift(stored.persona, draft)))
        ann = notes.get(seg) or {}
        sections.append(
            SegmentSection(
                segment=seg,
                profile=by_segment[seg],
                label=ann.get("label"),
                status=ann.get("status"),
                notes=ann.get("notes"),
                traits=traits.get(seg, []),
                personas=personas,
                plan=get_plan(ws, name, seg),
                kpis=actuals.filter(pl.col("segment") == seg).to_dicts(),
                kpi_trend=trend.filter(pl.col("segment") == seg).to_dicts(),
            )
        )
    summary = []
    if not targets_only:
        summary = [
            {**by_segment[s], "status": (notes.get(s) or {}).get("status")} for s in ctx.segments
        ]
    orphans = list_plans(ws, name).filter(pl.col("orphaned")).to_dicts()
    targeting, targeting_note = _targeting(ws, name, profiles)
    return PlaybookInput(
        workspace=Path(ws.path).name,
        model=name,
        as_of=ctx.as_of,
        overview=_overview(ctx.frame, len(ctx.segments)),
        abc=_abc(ctx.frame),
        segments=summary,
        sections=sections,
        selection_note=note,
        orphaned_plans=orphans,
        generated_on=today, pareto=_pareto(ctx.frame),
        pareto_curve=_pareto(ctx.frame, PARETO_CURVE_POINTS),
        segment_totals=[
            {"segment": s, "accounts": by_segment[s]["accounts"],
             "revenue": by_segment[s]["revenue"]}
            for s in ctx.segments
        ],
        segment_trend=_in_segment_order(segment_trend_for(ws, name), ctx.segments),
        targeting=targeting,
        targeting_note=targeting_note,
        whitespace=_whitespace(ctx),
    )  # fmt: skip


def run(args: argparse.Namespace) -> int:
    from core.playbook import playbook_html, playbook_markdown
    from tui.commands.plan import today_arg

    out = Path(args.out).expanduser()
    kind = out.suffix.lower()
    if kind not in (".md", ".markdown", ".html", ".htm"):
        raise UsageError(f"--out {args.out!r}: write the playbook to a .md or .html file")
    if out.is_dir():
        raise UsageError(f"--out {args.out!r} is a directory; give a file name")
    today = today_arg(args.today)
    check_out(args, out)
    with open_workspace(args.workspace) as ws:
        inp = build_playbook(ws, args.model, parse_date(args.as_of), today, args.targets_only)
    text = playbook_html(inp) if kind in (".html", ".htm") else playbook_markdown(inp)
    from storage.export import write_text_atomic

    write_text_atomic(out, text, **out_options(args))
    print(f"wrote {out} ({len(inp.sections)} segment(s), model {inp.model!r})")
    return 0
