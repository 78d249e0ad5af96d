"""core.svg_charts against hand-checked geometry: bar lengths proportional to the
values, Pareto points at the cumulative shares, every label escaped, valid XML."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from core import svg_charts as sc

NS = {"s": "http://www.w3.org/2000/svg"}


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # raises on anything that is not well-formed XML


def test_bar_lengths_are_proportional_to_the_values():
    svg = sc.bar_chart("b", "Revenue by segment", ["A", "B", "C"], [200.0, 100.0, 50.0])
    bars = parse(svg).findall("s:rect[@class='bar']", NS)
    widths = [float(b.get("width")) for b in bars]
    # the largest bar is BAR_WIDTH (360) long; the others 360 * 100/200 and 360 * 50/200
    assert widths == [360.0, 180.0, 90.0]
    texts = [t.text for t in parse(svg).findall("s:text", NS)]
    assert "200" in texts and "100" in texts and "50" in texts  # values as text, not colour alone


def test_missing_and_zero_values_draw_no_bar_and_say_so():
    svg = sc.bar_chart("b", "t", ["A", "B", "C"], [None, 0.0, 10.0])
    widths = [float(b.get("width")) for b in parse(svg).findall("s:rect[@class='bar']", NS)]
    assert widths == [0.0, 0.0, 360.0]
    assert "–" in svg
    with pytest.raises(ValueError):
        sc.bar_chart("b", "t", ["A"], [1.0, 2.0])


def test_every_chart_has_a_title_and_description():
    root = parse(sc.bar_chart("seg-bars", "Accounts by segment", ["A"], [3.0]))
    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == "seg-bars-title seg-bars-desc"
    assert root.find("s:title", NS).text == "Accounts by segment"
    assert root.find("s:desc", NS).text == "Accounts by segment: A 3"


def test_pareto_points_sit_at_the_cumulative_shares():
    # customers with revenue 50, 30, 20: the top third brings 50 %, two thirds 80 %
    points = [(1 / 3, 0.5), (2 / 3, 0.8), (1.0, 1.0)]
    root = parse(sc.pareto_chart("p", points))
    curve = root.find("s:polyline[@class='curve']", NS).get("points").split()
    # box: left 100, top 34, width 440, height 200 -> x = 100 + 440 a, y = 34 + 200 (1 - m)
    assert curve == ["100,234", "246.67,134", "393.33,74", "540,34"]
    circles = root.findall("s:circle[@class='point']", NS)
    assert [(c.get("cx"), c.get("cy")) for c in circles] == [
        ("246.67", "134"),
        ("393.33", "74"),
        ("540", "34"),
    ]
    assert "top 33.3 % of customers bring 50.0 % of revenue" in root.find("s:desc", NS).text


def test_labels_are_escaped():
    evil = "<script>alert('x')</script>"
    charts = [
        sc.bar_chart("b", evil, [evil], [1.0]),
        sc.line_chart("l", evil, [evil, "run 2"], {evil: [1.0, 2.0]}),
        sc.heat_map("h", evil, [evil], [evil], [[0.5]], fmt=lambda v: f"{v}"),
        sc.scatter_chart("s", evil, [(evil, 0.2, 0.7)], x_title=evil, y_title=evil),
        sc.pareto_chart("p", [(0.5, 0.9)], title=evil),
    ]
    for svg in charts:
        assert "<script" not in svg
        assert "&lt;script&gt;" in svg
        parse(svg)


def test_line_chart_scales_from_zero_and_breaks_at_missing_values():
    root = parse(sc.line_chart("l", "KPI", ["r1", "r2", "r3"], {"a": [100.0, None, 50.0]}))
    # y from 0 to 100: 100 -> top (34), 50 -> middle (134); x: 0, 0.5, 1 of the box
    assert root.findall("s:polyline[@class='series']", NS) == []  # no two neighbours
    points = [(c.get("cx"), c.get("cy")) for c in root.findall("s:circle[@class='point']", NS)]
    assert points[:2] == [("100", "34"), ("540", "134")]
    root = parse(sc.line_chart("l", "KPI", ["r1", "r2"], {"a": [10.0, 20.0], "b": [20.0, 0.0]}))
    lines = root.findall("s:polyline[@class='series']", NS)
    assert [ln.get("points") for ln in lines] == ["100,134 540,34", "100,34 540,234"]
    assert lines[1].get("stroke-dasharray")  # the second series differs by dash, not only colour


def test_heat_map_shades_by_value_and_prints_every_value():
    svg = sc.heat_map(
        "h",
        "Penetration",
        ["S1", "S2"],
        ["x", "y"],
        [[1.0, 0.5], [0.0, None]],
        fmt=lambda v: "–" if v is None else f"{v * 100:.0f} %",
    )
    root = parse(svg)
    fills = [c.get("fill") for c in root.findall("s:rect[@class='cell']", NS)]
    assert fills == ["rgb(55,55,55)", "rgb(155,155,155)", "rgb(255,255,255)", "rgb(255,255,255)"]
    texts = [t.text for t in root.findall("s:text", NS)]
    for value in ("100 %", "50 %", "0 %", "–"):
        assert value in texts


def test_scatter_points_and_quadrants():
    root = parse(
        sc.scatter_chart(
            "s",
            "Matrix",
            [("A", 0.25, 0.75), ("B", 1.5, -1.0)],
            x_title="share of wallet",
            y_title="attractiveness",
            quadrants=("grow", "defend", "lean", "maintain"),
        )
    )
    pts = [(c.get("cx"), c.get("cy")) for c in root.findall("s:circle[@class='point']", NS)]
    assert pts == [("210", "84"), ("540", "234")]  # B clamped into the box
    assert [q.text for q in root.findall("s:text[@class='quadrant']", NS)] == [
        "grow",
        "defend",
        "lean",
        "maintain",
    ]


def test_pareto_labels_only_the_chosen_points():
    root = parse(sc.pareto_chart("p", [(0.1, 0.5), (0.2, 0.7), (1.0, 1.0)], label_at=[0.2]))
    assert len(root.findall("s:circle[@class='point']", NS)) == 3
    labels = [t.text for t in root.findall("s:text", NS)]
    assert "70.0 %" in labels and "50.0 %" not in labels
