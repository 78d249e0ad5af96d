"""The playbook renders as well-formed Markdown (headings, tables with one cell
per column, escaped text) and as HTML with the same content."""

from __future__ import annotations

import datetime as dt
import re

from core.persona import Persona
from core.playbook import (
    PlaybookInput,
    SegmentSection,
    fmt_metric,
    fmt_money,
    fmt_pct,
    markdown_table,
    markdown_to_html,
    md_escape,
    playbook_markdown,
)

CELL_SPLIT = re.compile(r"(?<!\\)\|")


def tables(markdown: str) -> list[list[list[str]]]:
    """Every table as rows of cells (separator rows included)."""
    found, current = [], []
    for line in markdown.splitlines():
        if line.startswith("|"):
            current.append([c.strip() for c in CELL_SPLIT.split(line)[1:-1]])
        elif current:
            found.append(current)
            current = []
    if current:
        found.append(current)
    return found


def sample_input(**overrides) -> PlaybookInput:
    persona = Persona(
        "A · Complex", "Olga | the <script>alert(1)</script> engineer",
        {"industry": "Energy (40% of accounts)", "traits": ["x = 1", "y * 2"]},
        {"quote": "We buy partners,\nnot parts.", "goals": ["uptime", "fewer suppliers"]},
        frozenset({"business.industry"}),
    )  # fmt: skip
    section = SegmentSection(
        segment="A · Complex",
        label="Key accounts",
        status="target",
        notes="review in Q3",
        profile={"accounts": 12, "account_share": 0.12, "revenue": 1234567.4,
                 "revenue_share": 0.61, "margin_pct": 0.381, "avg_order_value": 8832.2,
                 "frequency": 4.75, "recency_days": 48.0, "growth": -0.022, "nrr": None},
        traits=["revenue median 3,163 vs 767 overall"],
        personas=[(7, persona, ["dominant industry was Energy, now Retail"])],
        plan={"objective": "grow", "owner": "Ann | Bo", "key_messages": "[uptime](x)"},
        kpis=[{"metric": "revenue", "target": 1.5e6, "actual": 1234567.4, "deadline": "2026-12-31",
               "direction": "at_least", "status": "on track", "note": ""},
              {"metric": "nrr", "target": 1.05, "actual": None, "deadline": None,
               "direction": "at_least", "status": "not available", "note": "no bridge"}],
    )  # fmt: skip
    values = dict(
        workspace="demo.segscope",
        model="Sales logic",
        as_of=dt.date(2026, 1, 1),
        overview={"accounts": 100, "customers": 60, "prospects": 40, "revenue": 2024000.5,
                  "segments": 2},
        abc=[{"abc_class": "A", "accounts": 10, "account_share": 0.1, "revenue": 1600000.0,
              "revenue_share": 0.8}],
        segments=[{**section.profile, "segment": "A · Complex", "status": "target"}],
        sections=[section],
        selection_note=None,
        orphaned_plans=[{"segment": "Gone", "objective": "retain", "owner": None}],
        generated_on=dt.date(2026, 11, 22),
        pareto=[(0.2, 0.785), (0.5, 0.95)],
    )  # fmt: skip
    values.update(overrides)
    return PlaybookInput(**values)


def test_formatting_helpers() -> None:
    assert fmt_money(1234567.5) == "1,234,568" and fmt_money(None) == "–"
    assert fmt_pct(0.1234) == "12.3 %" and fmt_pct(float("nan")) == "–"
    assert fmt_metric("nrr", 1.053) == "105.3 %" and fmt_metric("accounts", 12.0) == "12"
    assert fmt_metric("avg_order_value", 99.6) == "100"
    assert md_escape("a | b <c> *d* [e]") == r"a \| b \<c\> \*d\* \[e\]"
    assert md_escape("two\nlines") == "two lines" and md_escape(None) == "–"
    assert md_escape(["a", "b"]) == "a; b"
    table = markdown_table(["A", "B"], [["1", "2"]], right=[1])
    assert table.splitlines() == ["| A | B |", "| --- | ---: |", "| 1 | 2 |"]


def test_headings_in_reading_order() -> None:
    md = playbook_markdown(sample_input())
    headings = [line for line in md.splitlines() if line.startswith("#")]
    assert headings == [
        "# Playbook: Sales logic",
        "## Overview",
        "### ABC classes (by revenue)",
        "### Pareto curve (customers with revenue, best first)",
        "## All segments",
        "## Segment: A · Complex — Key accounts",
        "### Profile",
        "### Distinguishing traits",
        "### Personas",
        r"#### Olga \| the \<script\>alert(1)\</script\> engineer (persona 7)",
        "### Game plan",
        "### KPIs",
        "## Plans of segments no longer in the model",
    ]
    assert "Workspace demo.segscope, analysis date 2026-01-01, written 2026-11-22." in md


def test_every_table_is_well_formed_and_numbers_are_the_inputs() -> None:
    md = playbook_markdown(sample_input())
    found = tables(md)
    assert len(found) == 10
    for table in found:
        width = len(table[0])
        assert all(len(row) == width for row in table), table
        assert all(re.fullmatch(r"-{3}:?", c) for c in table[1])
    assert found[2][2:] == [["top 20.0 %", "78.5 %"], ["top 50.0 %", "95.0 %"]]
    overview = dict(tuple(r) for r in found[0][2:])
    assert overview["Revenue (12 months)"] == "2,024,000" and overview["Accounts"] == "100"
    profile = dict(tuple(r) for r in found[4][2:])
    assert profile["Revenue"] == "1,234,567" and profile["Accounts"] == "12"
    assert profile["Margin %"] == "38.1 %" and profile["Growth"] == "-2.2 %"
    assert profile["NRR"] == "–" and profile["Average order value"] == "8,832"
    business = dict(tuple(r) for r in found[5][2:])
    # drafted fields are marked, the analyst's are not
    assert business["Industry (draft)"] == "Energy (40% of accounts)"
    assert business["Traits"] == r"x = 1; y \* 2"
    people = dict(tuple(r) for r in found[6][2:])
    assert people["Quote"] == "We buy partners, not parts."
    plan = dict(tuple(r) for r in found[7][2:])
    assert plan["Owner"] == r"Ann \| Bo" and plan["Offer"] == "–"
    kpis = found[8][2:]
    assert kpis[0][:5] == ["Revenue", "≥ 1,500,000", "1,234,567", "2026-12-31", "on track"]
    assert kpis[1][1:3] == ["≥ 105.0 %", "–"]
    assert "> **The data has moved away from this persona's draft:**" in md


def test_selection_note_and_no_personas_or_plan() -> None:
    bare = SegmentSection(segment="B", profile={"accounts": 3})
    inp = sample_input(sections=[bare], segments=[], orphaned_plans=(),
                       selection_note="No segment is marked as target.")  # fmt: skip
    md = playbook_markdown(inp)
    assert "*No segment is marked as target.*" in md
    assert "No persona yet" in md and "No game plan yet." in md and "No KPIs yet." in md
    assert "## All segments" not in md and "no longer in the model" not in md


def test_html_has_the_same_content_and_no_raw_markup() -> None:
    md = playbook_markdown(sample_input())
    page = markdown_to_html(md, "Playbook: <Sales>")
    assert page.startswith("<!DOCTYPE html>") and "<title>Playbook: &lt;Sales&gt;</title>" in page
    assert page.count("<table>") == len(tables(md)) == 10
    assert "<h2>Segment: A · Complex — Key accounts</h2>" in page
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<td>Ann | Bo</td>" in page
    assert '<a href="x">' not in page  # escaped, not a link
    assert "<td style=\"text-align:right\">1,234,567</td>" in page
