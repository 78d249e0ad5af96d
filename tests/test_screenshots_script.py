"""docs/screenshots/render.py (`make screenshots`): finds a browser through
$CHROMIUM, and cuts the README's chart page out of a playbook page."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def load():
    spec = importlib.util.spec_from_file_location("render", ROOT / "docs/screenshots/render.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_chromium_from_the_environment(monkeypatch, tmp_path: Path) -> None:
    render = load()
    monkeypatch.setenv("CHROMIUM", str(tmp_path / "missing"))
    assert render.find_chromium() is None  # then the script says so and writes HTML only
    fake = tmp_path / "chrome"
    fake.write_text("#!/bin/sh\n")
    monkeypatch.setenv("CHROMIUM", str(fake))
    assert render.find_chromium() == str(fake)


def test_charts_page_keeps_the_readme_charts_in_order() -> None:
    render = load()
    page = (
        "<html><head><style>x</style></head><body><h1>t</h1>"
        '<figure>\n<svg class="chart" id="chart-whitespace"></svg></figure>'
        '<figure>\n<svg class="chart" id="chart-kpi-1"></svg></figure>'
        '<figure>\n<svg class="chart" id="chart-pareto"></svg></figure></body></html>'
    )
    out = render.charts_page(page)
    assert out.startswith("<html><head><style>x</style></head>")
    assert out.index("chart-pareto") < out.index("chart-whitespace")
    assert "chart-kpi-1" not in out and "<h1>" not in out
