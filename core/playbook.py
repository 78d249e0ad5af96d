"""The playbook: one Markdown document (and the same content as HTML) with the
overview figures and, per target segment, its profile, traits, personas, game
plan and KPIs (DOMAIN.md "Game plans": "Plans export as Markdown for
sharing"; issue 6 "Exports").

Pure: everything is passed in a :class:`PlaybookInput`; the result is text.
Numbers are formatted the way the CLI tables show them: money with thousands
separators and no decimals, shares and ratios as percentages with one
decimal. Text from the analyst or the data is escaped so it can never break
a table or inject markup (the HTML renderer also refuses raw HTML).

The HTML playbook (:func:`playbook_html`) is the same Markdown rendered in
pieces with inline SVG charts (``core.svg_charts``) between them: the Pareto
curve, segment bars (accounts and revenue), segments over the frozen runs,
the targeting matrix, the white-space heat map and each KPI over the frozen
runs. Every chart sits next to the table with the same numbers, and a print
stylesheet starts each segment on a new page and keeps charts and tables whole.
"""

from __future__ import annotations

import datetime as dt
import html
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from core import svg_charts
from core.kpi import KPI_LABELS, PERCENT_METRICS
from core.persona import BUSINESS_FIELDS, PEOPLE_FIELDS, Persona

__all__ = [
    "PlaybookInput",
    "SegmentSection",
    "fmt_money",
    "fmt_pct",
    "fmt_number",
    "fmt_metric",
    "md_escape",
    "markdown_table",
    "playbook_markdown",
    "markdown_to_html",
    "playbook_html",
    "Figure",
    "HeatMap",
]

PLAN_LABELS = {
    "objective": "Objective",
    "coverage_model": "Coverage model",
    "sales_logic": "Sales logic",
    "offer": "Offer",
    "key_messages": "Key messages",
    "channels": "Channels",
    "cadence": "Cadence",
    "owner": "Owner",
    "effort": "Effort / budget",
    "review_date": "Review date",
    "status": "Status",
}
# Profile columns shown per segment: (column, label, kind)
PROFILE_ROWS = (
    ("accounts", "Accounts", "count"),
    ("account_share", "% of accounts", "pct"),
    ("revenue", "Revenue", "money"),
    ("revenue_share", "% of revenue", "pct"),
    ("margin_pct", "Margin %", "pct"),
    ("avg_order_value", "Average order value", "money"),
    ("frequency", "Purchase days per account", "number"),
    ("recency_days", "Median days since last purchase", "int"),
    ("growth", "Growth", "pct"),
    ("nrr", "NRR", "pct"),
)
_ESCAPE = str.maketrans({c: "\\" + c for c in "\\`*[]<>|"})


def fmt_money(x: float | None) -> str:
    return "–" if _missing(x) else f"{x:,.0f}"


def fmt_pct(x: float | None) -> str:
    return "–" if _missing(x) else f"{x * 100:.1f} %"


def fmt_number(x: float | None, digits: int = 1) -> str:
    return "–" if _missing(x) else f"{x:,.{digits}f}"


def _missing(x: Any) -> bool:
    return x is None or (isinstance(x, float) and not math.isfinite(x))


def _fmt(value: Any, kind: str) -> str:
    if kind == "money":
        return fmt_money(value)
    if kind == "pct":
        return fmt_pct(value)
    if kind == "count":
        return "–" if _missing(value) else f"{int(value):,}"
    if kind == "int":
        return fmt_number(value, 0)
    return fmt_number(value)


def fmt_metric(metric: str, value: float | None) -> str:
    """A KPI value: percentages for ratios, counts whole, money without decimals."""
    if metric in PERCENT_METRICS:
        return fmt_pct(value)
    if metric in ("accounts", "churned_accounts"):
        return _fmt(value, "count")
    return fmt_money(value)


def md_escape(text: Any) -> str:
    """``text`` safe inside a Markdown paragraph or table cell (one line)."""
    if text is None:
        return "–"
    if isinstance(text, list | tuple):
        text = "; ".join(str(t) for t in text)
    flat = " ".join(str(text).split())
    return flat.translate(_ESCAPE) if flat else "–"


def markdown_table(
    headers: Sequence[str], rows: Sequence[Sequence[str]], right: Sequence[int] = ()
) -> str:
    """A GitHub-flavoured Markdown table; cells are used as given (escape them first)."""
    align = ["---:" if i in right else "---" for i in range(len(headers))]
    lines = ["| " + " | ".join(headers) + " |", "| " + " | ".join(align) + " |"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


@dataclass(frozen=True)
class Figure:
    """An SVG chart between two Markdown blocks (HTML only; the Markdown
    playbook has the same numbers in the table next to it)."""

    svg: str
    caption: str


@dataclass(frozen=True)
class HeatMap:
    """A row x column grid of values (e.g. segment x product line penetration)."""

    title: str
    rows: Sequence[str]
    columns: Sequence[str]
    values: Sequence[Sequence[float | None]]
    row_title: str = ""
    column_title: str = ""
    note: str | None = None


Block = str | Figure


@dataclass(frozen=True)
class SegmentSection:
    """What the playbook shows for one segment."""

    segment: str
    profile: Mapping[str, Any]
    label: str | None = None
    status: str | None = None
    notes: str | None = None
    traits: Sequence[str] = ()
    # (stored id or None, persona, drift notes)
    personas: Sequence[tuple[int | None, Persona, Sequence[str]]] = ()
    plan: Mapping[str, Any] | None = None
    kpis: Sequence[Mapping[str, Any]] = ()
    # each KPI over the frozen runs: rows ``point, id, metric, actual`` (oldest first)
    kpi_trend: Sequence[Mapping[str, Any]] = ()


@dataclass(frozen=True)
class PlaybookInput:
    """Everything the playbook shows. ``abc``: rows ``abc_class, accounts,
    account_share, revenue, revenue_share``; ``segments``: profile rows of
    every segment (with ``status``), for the summary table (empty: omitted)."""

    workspace: str
    model: str
    as_of: dt.date
    overview: Mapping[str, Any]
    abc: Sequence[Mapping[str, Any]] = ()
    segments: Sequence[Mapping[str, Any]] = ()
    sections: Sequence[SegmentSection] = ()
    selection_note: str | None = None
    orphaned_plans: Sequence[Mapping[str, Any]] = field(default_factory=tuple)
    generated_on: dt.date | None = None
    # the Pareto curve as (share of buying customers, best first; share of revenue)
    pareto: Sequence[tuple[float, float]] = ()
    # the same curve at more points, for the chart (default: ``pareto``)
    pareto_curve: Sequence[tuple[float, float]] = ()
    # accounts and revenue of every segment (``segment, accounts, revenue``), for the bars
    segment_totals: Sequence[Mapping[str, Any]] = ()
    # segments over the model's frozen runs: ``point, segment, accounts, revenue``
    segment_trend: Sequence[Mapping[str, Any]] = ()
    # the targeting matrix: ``segment, attractiveness, position`` (both 0-1; position
    # = share of wallet, None when unknown)
    targeting: Sequence[Mapping[str, Any]] = ()
    targeting_note: str | None = None
    whitespace: HeatMap | None = None


def _overview(inp: PlaybookInput) -> list[Block]:
    o = inp.overview
    rows = [
        ["Accounts", _fmt(o.get("accounts"), "count")],
        ["Customers", _fmt(o.get("customers"), "count")],
        ["Prospects", _fmt(o.get("prospects"), "count")],
        ["Revenue (12 months)", fmt_money(o.get("revenue"))],
        ["Segments", _fmt(o.get("segments"), "count")],
    ]
    out = ["## Overview", "", markdown_table(["Figure", "Value"], rows, right=[1]), ""]
    if inp.abc:
        out += ["### ABC classes (by revenue)", ""]
        abc_rows = [
            [md_escape(r["abc_class"]), _fmt(r["accounts"], "count"), fmt_pct(r["account_share"]),
             fmt_money(r["revenue"]), fmt_pct(r["revenue_share"])]
            for r in inp.abc
        ]  # fmt: skip
        out += [markdown_table(["Class", "Accounts", "% of accounts", "Revenue", "% of revenue"],
                               abc_rows, right=[1, 2, 3, 4]), ""]  # fmt: skip
    if inp.pareto:
        out += ["### Pareto curve (customers with revenue, best first)", ""]
        rows = [[f"top {fmt_pct(a)}", fmt_pct(m)] for a, m in inp.pareto]
        out += [markdown_table(["Customers", "% of revenue"], rows, right=[1]), ""]
        curve = inp.pareto_curve or inp.pareto
        labels = [a for a, _ in inp.pareto]
        out.append(Figure(svg_charts.pareto_chart("chart-pareto", curve, label_at=labels),
                          "Pareto curve: the dashed diagonal is equal shares."))  # fmt: skip
    return out


def _segment_figures(inp: PlaybookInput) -> list[Block]:
    """Segment bars, segments over the frozen runs, the targeting matrix and the
    white-space heat map (HTML figures; their numbers are in the tables)."""
    out: list[Block] = []
    totals = inp.segment_totals or inp.segments
    if totals:
        labels = [str(r["segment"]) for r in totals]
        count = lambda v: _fmt(v, "count")  # noqa: E731
        out.append(Figure(svg_charts.bar_chart(
            "chart-segment-accounts", "Accounts by segment", labels,
            [r.get("accounts") for r in totals], fmt=count), "Accounts by segment."))  # fmt: skip
        out.append(Figure(svg_charts.bar_chart(
            "chart-segment-revenue", "Revenue by segment (12 months)", labels,
            [r.get("revenue") for r in totals], fmt=fmt_money), "Revenue by segment."))  # fmt: skip
    if inp.segment_trend:
        out += _segment_trend(inp.segment_trend)
    if inp.targeting:
        out += _targeting(inp)
    if inp.whitespace is not None:
        out += _whitespace(inp.whitespace)
    return out


def _points(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    points: list[str] = []
    for r in rows:
        if r["point"] not in points:
            points.append(r["point"])
    return points


def _segment_trend(rows: Sequence[Mapping[str, Any]]) -> list[Block]:
    points = _points(rows)
    segments = list(dict.fromkeys(str(r["segment"]) for r in rows))
    value = {(r["point"], str(r["segment"])): r for r in rows}
    table = [[md_escape(p), md_escape(s), _fmt(value[p, s].get("accounts"), "count"),
              fmt_money(value[p, s].get("revenue"))]
             for p in points for s in segments if (p, s) in value]  # fmt: skip
    out: list[Block] = ["### Segments over the frozen runs", "",
                        markdown_table(["Run", "Segment", "Accounts", "Revenue"], table,
                                       right=[2, 3]), ""]  # fmt: skip
    for measure, title, fmt in (("accounts", "Accounts", lambda v: _fmt(v, "count")),
                                ("revenue", "Revenue", fmt_money)):  # fmt: skip
        series = {s: [(value.get((p, s)) or {}).get(measure) for p in points] for s in segments}
        svg = svg_charts.line_chart(f"chart-trend-{measure}", f"{title} per segment over the "
                                    "frozen runs", points, series, y_title=title.lower(),
                                    fmt=fmt)  # fmt: skip
        out.append(Figure(svg, f"{title} per segment at each frozen run, oldest first."))
    return out


def _targeting(inp: PlaybookInput) -> list[Block]:
    rows = [[md_escape(r["segment"]), fmt_pct(r.get("attractiveness")),
             fmt_pct(r.get("position"))] for r in inp.targeting]  # fmt: skip
    out: list[Block] = ["### Targeting matrix", "",
                        markdown_table(["Segment", "Attractiveness", "Share of wallet"], rows,
                                       right=[1, 2]), ""]  # fmt: skip
    if inp.targeting_note:
        out += [f"*{md_escape(inp.targeting_note)}*", ""]
    placed = [
        (str(r["segment"]), float(r["position"]), float(r["attractiveness"]))
        for r in inp.targeting
        if not (_missing(r.get("position")) or _missing(r.get("attractiveness")))
    ]
    if placed:
        svg = svg_charts.scatter_chart(
            "chart-targeting", "Targeting matrix: attractiveness x share of wallet", placed,
            x_title="share of wallet (current position)", y_title="attractiveness",
            quadrants=("attractive, weak position", "attractive, strong position",
                       "less attractive, weak position", "less attractive, strong position"),
        )  # fmt: skip
        out.append(Figure(svg, "Each segment by attractiveness (0-1 across segments) and share "
                               "of wallet; the dashed lines are the 50 % marks."))  # fmt: skip
    else:  # no position known: the attractiveness ranking alone
        svg = svg_charts.bar_chart(
            "chart-targeting", "Attractiveness by segment (0-100 % across segments)",
            [str(r["segment"]) for r in inp.targeting],
            [r.get("attractiveness") for r in inp.targeting], fmt=fmt_pct,
        )  # fmt: skip
        out.append(Figure(svg, "Attractiveness of each segment; share of wallet is not known "
                               "yet, so the segments are not placed on the matrix."))  # fmt: skip
    return out


def _whitespace(heat: HeatMap) -> list[Block]:
    out: list[Block] = [f"### {md_escape(heat.title)}", ""]
    if heat.note:
        out += [f"*{md_escape(heat.note)}*", ""]
    if heat.rows and heat.columns:
        rows = [[md_escape(r), *(fmt_pct(v) for v in vs)]
                for r, vs in zip(heat.rows, heat.values, strict=True)]  # fmt: skip
        headers = [heat.row_title or "", *(md_escape(c) for c in heat.columns)]
        out += [markdown_table(headers, rows, right=range(1, len(headers))), ""]
        svg = svg_charts.heat_map("chart-whitespace", heat.title, heat.rows, heat.columns,
                                  heat.values, fmt=fmt_pct, row_title=heat.row_title,
                                  column_title=heat.column_title)  # fmt: skip
        out.append(Figure(svg, "Darker cells: a larger share of the segment's customers buy "
                               "the line; light cells are white space."))  # fmt: skip
    return out


def _segments_table(inp: PlaybookInput) -> list[str]:
    if not inp.segments:
        return []
    rows = [
        [md_escape(r["segment"]), md_escape(r.get("status")), _fmt(r["accounts"], "count"),
         fmt_pct(r["account_share"]), fmt_money(r["revenue"]), fmt_pct(r["revenue_share"]),
         fmt_pct(r.get("margin_pct")), fmt_pct(r.get("growth"))]
        for r in inp.segments
    ]  # fmt: skip
    headers = ["Segment", "Status", "Accounts", "% of accounts", "Revenue", "% of revenue",
               "Margin %", "Growth"]  # fmt: skip
    return ["## All segments", "", markdown_table(headers, rows, right=range(2, 8)), ""]


def _persona(pid: int | None, p: Persona, drift: Sequence[str]) -> list[str]:
    title = md_escape(p.name) + (f" (persona {pid})" if pid is not None else "")
    out = [f"#### {title}", ""]
    if drift:
        out += ["> **The data has moved away from this persona's draft:** "
                + md_escape("; ".join(drift)), ""]  # fmt: skip

    def rows(section: str, fields: Sequence[str]) -> list[list[str]]:
        values = getattr(p, section)
        keys = [k for k in fields if k in values] + [k for k in values if k not in fields]
        result = []
        for key in keys:
            mark = " (draft)" if p.is_drafted(f"{section}.{key}") else ""
            result.append([key.replace("_", " ").capitalize() + mark, md_escape(values[key])])
        return result

    business = rows("business", BUSINESS_FIELDS)
    people = rows("people", PEOPLE_FIELDS)
    if business:
        out += ["The business:", "", markdown_table(["Field", "Value"], business), ""]
    if people:
        out += ["The people:", "", markdown_table(["Field", "Value"], people), ""]
    return out


def _kpi_rows(kpis: Sequence[Mapping[str, Any]]) -> list[list[str]]:
    rows = []
    for k in kpis:
        metric = k["metric"]
        direction = "≥" if k.get("direction", "at_least") == "at_least" else "≤"
        rows.append([
            md_escape(KPI_LABELS.get(metric, metric)),
            f"{direction} {fmt_metric(metric, k.get('target'))}",
            fmt_metric(metric, k.get("actual")),
            md_escape(k.get("deadline")),
            md_escape(k.get("status")),
            md_escape(k.get("note") or ""),
        ])  # fmt: skip
    return rows


def _kpi_trend(s: SegmentSection) -> list[Block]:
    out: list[Block] = []
    ids = list(dict.fromkeys(r["id"] for r in s.kpi_trend))
    for kpi_id in ids:
        rows = [r for r in s.kpi_trend if r["id"] == kpi_id]
        metric = rows[0]["metric"]
        name = KPI_LABELS.get(metric, metric)
        target = next((k.get("target") for k in s.kpis if k.get("id") == kpi_id), None)
        series: dict[str, list[float | None]] = {name: [r.get("actual") for r in rows]}
        if not _missing(target):
            series[f"target {fmt_metric(metric, target)}"] = [target] * len(rows)
        svg = svg_charts.line_chart(
            f"chart-kpi-{kpi_id}", f"{s.segment}: {name} over the frozen runs",
            [r["point"] for r in rows], series, y_title=name,
            fmt=lambda v, m=metric: fmt_metric(m, v),
        )  # fmt: skip
        out.append(Figure(svg, f"{name} of {s.segment} at each frozen run, oldest first."))
    return out


def _section(s: SegmentSection) -> list[Block]:
    title = md_escape(s.segment)
    if s.label:
        title += f" — {md_escape(s.label)}"
    out: list[Block] = [f"## Segment: {title}", ""]
    facts = []
    if s.status:
        facts.append(f"Status: **{md_escape(s.status)}**")
    if s.notes:
        facts.append(f"Notes: {md_escape(s.notes)}")
    if facts:
        out += ["  \n".join(facts), ""]
    out += ["### Profile", ""]
    rows = [[label, _fmt(s.profile.get(col), kind)] for col, label, kind in PROFILE_ROWS]
    out += [markdown_table(["Metric", "Value"], rows, right=[1]), ""]
    out += ["### Distinguishing traits", ""]
    out += [f"- {md_escape(t)}" for t in s.traits] if s.traits else ["None stand out."]
    out += ["", "### Personas", ""]
    if s.personas:
        for pid, persona, drift in s.personas:
            out += _persona(pid, persona, drift)
    else:
        out += ["No persona yet (`segscope persona draft` drafts one from the data).", ""]
    out += ["### Game plan", ""]
    if s.plan:
        rows = [[label, md_escape(s.plan.get(key))] for key, label in PLAN_LABELS.items()]
        out += [markdown_table(["Field", "Value"], rows), ""]
    else:
        out += ["No game plan yet.", ""]
    out += ["### KPIs", ""]
    if s.kpis:
        headers = ["KPI", "Target", "Actual", "Deadline", "Status", "Note"]
        out += [markdown_table(headers, _kpi_rows(s.kpis), right=[1, 2]), ""]
        out += _kpi_trend(s)
    else:
        out += ["No KPIs yet.", ""]
    return out


def playbook_markdown(inp: PlaybookInput) -> str:
    """The playbook as one Markdown document."""
    text = [b for b in _blocks(inp) if isinstance(b, str)]
    return "\n".join(text).rstrip() + "\n"


def _blocks(inp: PlaybookInput) -> list[Block]:
    out: list[Block] = [f"# Playbook: {md_escape(inp.model)}", ""]
    meta = [f"Workspace {md_escape(inp.workspace)}", f"analysis date {inp.as_of.isoformat()}"]
    if inp.generated_on is not None:
        meta.append(f"written {inp.generated_on.isoformat()}")
    out += [", ".join(meta) + ".", ""]
    out += _overview(inp)
    out += _segments_table(inp)
    out += _segment_figures(inp)
    if inp.selection_note:
        out += [f"*{md_escape(inp.selection_note)}*", ""]
    for section in inp.sections:
        out += _section(section)
    if inp.orphaned_plans:
        out += ["## Plans of segments no longer in the model", ""]
        rows = [[md_escape(p["segment"]), md_escape(p.get("objective")), md_escape(p.get("owner"))]
                for p in inp.orphaned_plans]  # fmt: skip
        out += [markdown_table(["Segment", "Objective", "Owner"], rows), ""]
    return out


_CSS = (
    "body{font-family:system-ui,sans-serif;max-width:60em;margin:2em auto;padding:0 1em;"
    "line-height:1.45}table{border-collapse:collapse;margin:.5em 0 1em}"
    "th,td{border:1px solid #bbb;padding:.25em .6em;vertical-align:top}"
    "th{background:#eee}blockquote{border-left:4px solid #d80;margin:0;padding:.2em 1em}"
    "figure{margin:1em 0}svg.chart{max-width:100%;height:auto;border:1px solid #ddd}"
    "figcaption{font-size:.9em;color:#444}"
    # print: black on white, no page cut through a chart or a table, a segment per page
    "@page{margin:1.5cm}"
    "@media print{body{max-width:none;margin:0;padding:0;color:#000;background:#fff;"
    "font-size:10.5pt}th{background:#fff;font-weight:bold}svg.chart{border:none}"
    "table,figure,blockquote{break-inside:avoid;page-break-inside:avoid}"
    "h2,h3,h4{break-after:avoid;page-break-after:avoid}"
    "h2{break-before:page;page-break-before:always}"
    "h2:first-of-type{break-before:auto;page-break-before:auto}"
    "a{color:#000;text-decoration:none}}"
)


def _page(title: str, body: str) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(title)}</title>\n<style>{_CSS}</style>\n</head>\n"
        f"<body>\n{body}</body>\n</html>\n"
    )


def _renderer() -> Any:
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": False}).enable("table")


def markdown_to_html(markdown: str, title: str) -> str:
    """The same content as a standalone HTML page (CommonMark + tables; raw HTML
    in the Markdown is escaped, never passed through)."""
    return _page(title, _renderer().render(markdown))


def playbook_html(inp: PlaybookInput) -> str:
    """The playbook as a standalone HTML page: the Markdown content (raw HTML
    escaped) with the inline SVG charts between its blocks. The charts are
    built by ``core.svg_charts``, which escapes every text it is given."""
    md = _renderer()
    parts: list[str] = []
    pending: list[str] = []
    for block in _blocks(inp):
        if isinstance(block, str):
            pending.append(block)
            continue
        parts.append(md.render("\n".join(pending)))
        pending = []
        parts.append(f'<figure>\n{block.svg}\n<figcaption>{html.escape(block.caption)}'
                     "</figcaption>\n</figure>\n")  # fmt: skip
    parts.append(md.render("\n".join(pending)))
    return _page(f"Playbook: {inp.model}", "".join(parts))
