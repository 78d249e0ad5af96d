"""``segscope playbook WORKSPACE --model NAME --out FILE.md|FILE.html``.

One document for sharing: the overview figures (accounts, customers, revenue,
ABC classes) as tables, every segment's key figures, then per target segment
(status "target" in the segment annotations; every segment when none is
marked, and the playbook says so) its profile, traits, personas, game plan
and KPIs with live actuals. The HTML file has the same content.
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


def _pareto(frame: pl.DataFrame) -> list[tuple[float, float]]:
    """Share of revenue of the top 1 / 5 / 10 / 20 / 50 % of buying customers
    (the first point of ``core.abc.pareto_curve`` at or beyond each share)."""
    from core.abc import pareto_curve

    if "revenue" not in frame.columns:
        return []
    curve = pareto_curve(frame)
    if curve.height < 2:
        return []
    out = []
    for p in PARETO_POINTS:
        row = curve.filter(pl.col("account_share") >= p - 1e-12).head(1)
        if row.height:
            out.append((p, float(row["measure_share"][0])))
    return out


def build_playbook(
    ws: Any, model_name: str, as_of: dt.date | None, today: dt.date, targets_only: bool
) -> Any:
    """The ``core.playbook.PlaybookInput`` of a model on the current data."""
    from core.persona import draft_drift, draft_persona
    from core.playbook import PlaybookInput, SegmentSection
    from core.profile import segment_profiles, segment_traits
    from storage.plans import get_plan, list_personas, list_plans
    from tui.commands.plan import kpi_actuals_for, segment_context

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
            )
        )
    summary = []
    if not targets_only:
        summary = [
            {**by_segment[s], "status": (notes.get(s) or {}).get("status")} for s in ctx.segments
        ]
    orphans = list_plans(ws, name).filter(pl.col("orphaned")).to_dicts()
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
    )


def run(args: argparse.Namespace) -> int:
    from core.playbook import markdown_to_html, playbook_markdown
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
    text = playbook_markdown(inp)
    if kind in (".html", ".htm"):
        text = markdown_to_html(text, f"Playbook: {inp.model}")
    from storage.export import write_text_atomic

    write_text_atomic(out, text, **out_options(args))
    print(f"wrote {out} ({len(inp.sections)} segment(s), model {inp.model!r})")
    return 0
