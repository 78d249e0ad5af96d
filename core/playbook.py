"""The playbook: one Markdown document (and the same content as HTML) with the
overview figures and, per target segment, its profile, traits, personas, game
plan and KPIs (DOMAIN.md "Game plans": "Plans export as Markdown for
sharing"; issue 6 "Exports").

Pure: everything is passed in a :class:`PlaybookInput`; the result is text.
Numbers are formatted the way the CLI tables show them: money with thousands
separators and no decimals, shares and ratios as percentages with one
decimal. Text from the analyst or the data is escaped so it can never break
a table or inject markup (the HTML renderer also refuses raw HTML).
"""

from __future__ import annotations

import datetime as dt
import html
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

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


def _overview(inp: PlaybookInput) -> list[str]:
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


def _section(s: SegmentSection) -> list[str]:
    title = md_escape(s.segment)
    if s.label:
        title += f" — {md_escape(s.label)}"
    out = [f"## Segment: {title}", ""]
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
    else:
        out += ["No KPIs yet.", ""]
    return out


def playbook_markdown(inp: PlaybookInput) -> str:
    """The playbook as one Markdown document."""
    out = [f"# Playbook: {md_escape(inp.model)}", ""]
    meta = [f"Workspace {md_escape(inp.workspace)}", f"analysis date {inp.as_of.isoformat()}"]
    if inp.generated_on is not None:
        meta.append(f"written {inp.generated_on.isoformat()}")
    out += [", ".join(meta) + ".", ""]
    out += _overview(inp)
    out += _segments_table(inp)
    if inp.selection_note:
        out += [f"*{md_escape(inp.selection_note)}*", ""]
    for section in inp.sections:
        out += _section(section)
    if inp.orphaned_plans:
        out += ["## Plans of segments no longer in the model", ""]
        rows = [[md_escape(p["segment"]), md_escape(p.get("objective")), md_escape(p.get("owner"))]
                for p in inp.orphaned_plans]  # fmt: skip
        out += [markdown_table(["Segment", "Objective", "Owner"], rows), ""]
    return "\n".join(out).rstrip() + "\n"


_CSS = (
    "body{font-family:system-ui,sans-serif;max-width:60em;margin:2em auto;padding:0 1em;"
    "line-height:1.45}table{border-collapse:collapse;margin:.5em 0 1em}"
    "th,td{border:1px solid #bbb;padding:.25em .6em;vertical-align:top}"
    "th{background:#eee}blockquote{border-left:4px solid #d80;margin:0;padding:.2em 1em}"
)


def markdown_to_html(markdown: str, title: str) -> str:
    """The same content as a standalone HTML page (CommonMark + tables; raw HTML
    in the Markdown is escaped, never passed through)."""
    from markdown_it import MarkdownIt

    body = MarkdownIt("commonmark", {"html": False}).enable("table").render(markdown)
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(title)}</title>\n<style>{_CSS}</style>\n</head>\n"
        f"<body>\n{body}</body>\n</html>\n"
    )
