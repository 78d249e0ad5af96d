"""The HTML playbook carries each chart inline (Pareto, segment bars, segments
over the frozen runs, targeting matrix, white-space heat map, KPI trends),
escapes the data's text inside them, prints cleanly, and the Markdown playbook
has the same numbers as tables."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from core.playbook import HeatMap, playbook_html, playbook_markdown
from tests.core.test_playbook import sample_input

EVIL = "<script>alert(1)</script>"
CHART_IDS = (
    "chart-pareto",
    "chart-segment-accounts",
    "chart-segment-revenue",
    "chart-trend-accounts",
    "chart-trend-revenue",
    "chart-targeting",
    "chart-whitespace",
    "chart-kpi-1",
)


def full_input(**overrides):
    base = sample_input()
    section = base.sections[0]
    kpis = [{**k, "id": i + 1} for i, k in enumerate(section.kpis)]
    trend = [
        {"point": "run 1 2025-07-01", "id": 1, "metric": "revenue", "actual": 900000.0},
        {"point": "run 2 2026-01-01", "id": 1, "metric": "revenue", "actual": 1234567.4},
    ]
    from dataclasses import replace

    values = dict(
        sections=[replace(section, kpis=kpis, kpi_trend=trend)],
        pareto_curve=[(0.1, 0.6), (0.2, 0.785), (0.5, 0.95), (1.0, 1.0)],
        segment_totals=[
            {"segment": "A · Complex", "accounts": 12, "revenue": 1234567.4},
            {"segment": EVIL, "accounts": 88, "revenue": 789433.1},
        ],
        segment_trend=[
            {"point": "run 1 2025-07-01", "segment": "A · Complex", "accounts": 10, "revenue": 9e5},
            {"point": "run 1 2025-07-01", "segment": EVIL, "accounts": 90, "revenue": 7e5},
            {
                "point": "run 2 2026-01-01",
                "segment": "A · Complex",
                "accounts": 12,
                "revenue": 1.2e6,
            },
            {"point": "run 2 2026-01-01", "segment": EVIL, "accounts": 88, "revenue": 8e5},
        ],
        targeting=[
            {"segment": "A · Complex", "attractiveness": 0.8, "position": 0.3},
            {"segment": EVIL, "attractiveness": 0.2, "position": None},
        ],
        whitespace=HeatMap(
            "White space: penetration by segment and product line",
            ["A · Complex", EVIL],
            ["Pumps", EVIL],
            [[0.75, 0.1], [0.0, None]],
            row_title="Segment",
            column_title="product line",
        ),
    )
    values.update(overrides)
    return replace(base, **values)


def svgs(page: str) -> dict[str, ET.Element]:
    found = {}
    for svg in re.findall(r"<svg .*?</svg>", page, flags=re.S):
        root = ET.fromstring(svg)  # every chart is well-formed XML on its own
        found[root.get("id")] = root
    return found


def test_the_html_playbook_carries_every_chart() -> None:
    page = playbook_html(full_input())
    charts = svgs(page)
    assert list(charts) == list(CHART_IDS)
    for root in charts.values():
        assert root.get("role") == "img"
        assert root.find("{http://www.w3.org/2000/svg}title").text
        assert root.find("{http://www.w3.org/2000/svg}desc").text
    assert page.count("<figure>") == len(CHART_IDS) == page.count("<figcaption>")


def test_chart_text_from_the_data_is_escaped() -> None:
    page = playbook_html(full_input())
    assert "<script" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_the_charts_show_the_numbers_of_the_tables() -> None:
    inp = full_input()
    md = playbook_markdown(inp)
    charts = svgs(playbook_html(inp))
    # the segment bars: 12 and 88 accounts, the longest bar is 88
    bars = charts["chart-segment-accounts"].findall(
        "{http://www.w3.org/2000/svg}rect[@class='bar']"
    )
    assert [float(b.get("width")) for b in bars] == [round(12 / 88 * 360, 2), 360.0]
    # the tables of the Markdown playbook hold the same figures
    assert "| run 2 2026-01-01 | A · Complex | 12 | 1,200,000 |" in md
    assert "| A · Complex | 80.0 % | 30.0 % |" in md
    assert "| A · Complex | 75.0 % | 10.0 % |" in md
    # a segment without a share of wallet is in the table, not placed on the matrix
    desc = charts["chart-targeting"].find("{http://www.w3.org/2000/svg}desc").text
    assert desc.startswith("A · Complex:") and "script" not in desc
    # the KPI trend draws the actuals and the target line
    kpi = charts["chart-kpi-1"]
    assert "900,000" in kpi.find("{http://www.w3.org/2000/svg}desc").text
    assert "target 1,500,000" in ET.tostring(kpi, encoding="unicode")
    # the Markdown playbook has no SVG
    assert "<svg" not in md


def test_print_stylesheet() -> None:
    page = playbook_html(full_input())
    css = re.search(r"<style>(.*)</style>", page, flags=re.S).group(1)
    assert "@media print" in css
    printed = css[css.index("@media print") :]
    assert "background:#fff" in printed and "color:#000" in printed
    assert "break-inside:avoid" in printed and "break-before:page" in printed
    assert "svg.chart{max-width:100%" in css  # charts shrink to the page width


def test_no_optional_data_no_optional_charts() -> None:
    page = playbook_html(sample_input())
    assert list(svgs(page)) == ["chart-pareto", "chart-segment-accounts", "chart-segment-revenue"]
    page = playbook_html(sample_input(pareto=[], segments=[]))
    assert "<svg" not in page


def test_without_share_of_wallet_the_targeting_chart_ranks_attractiveness() -> None:
    rows = [{"segment": "A", "attractiveness": 0.8, "position": None},
            {"segment": "B", "attractiveness": 0.4, "position": None}]  # fmt: skip
    charts = svgs(playbook_html(full_input(targeting=rows)))
    bars = charts["chart-targeting"].findall("{http://www.w3.org/2000/svg}rect[@class='bar']")
    assert [float(b.get("width")) for b in bars] == [360.0, 180.0]
