"""`segscope playbook --out F.html` on a small generated workspace with frozen
runs and KPIs: the page carries every chart, and the segments-over-runs table
of the Markdown playbook matches the frozen runs counted by hand."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import polars as pl
import pytest

from sample_data.generate import GeneratorConfig, generate
from storage.importer import commit_import, prepare_import
from storage.workspace import Workspace
from tui.cli import main

MODEL = "Sales logic"


@pytest.fixture(scope="module")
def ws_path(tmp_path_factory) -> Path:
    data = tmp_path_factory.mktemp("charts")
    generate(GeneratorConfig(accounts=240, seed=11, transactions_per_customer=8), data)
    path = data / "ws.segscope"
    with Workspace.create(path) as ws:
        for kind in ("accounts", "transactions"):
            commit_import(ws, prepare_import(data / f"{kind}.csv", kind))
    for as_of in ("2025-07-01", "2026-01-01"):
        assert main(["run", "save", str(path), "--model", MODEL, "--as-of", as_of]) == 0
    assert main(["plan", "kpi-add", str(path), "--model", MODEL, "--segment", "Complex",
                 "--metric", "revenue", "--target", "1000000"]) == 0  # fmt: skip
    return path


def test_html_playbook_has_every_chart(ws_path: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "playbook.html"
    assert main(["playbook", str(ws_path), "--model", MODEL, "--out", str(out),
                 "--today", "2026-06-01"]) == 0  # fmt: skip
    page = out.read_text(encoding="utf-8")
    ids = [ET.fromstring(svg).get("id") for svg in re.findall(r"<svg .*?</svg>", page, re.S)]
    assert ids == ["chart-pareto", "chart-segment-accounts", "chart-segment-revenue",
                   "chart-trend-accounts", "chart-trend-revenue", "chart-targeting",
                   "chart-whitespace", "chart-kpi-1"]  # fmt: skip
    assert "@media print" in page


def test_markdown_has_the_segments_over_runs(ws_path: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "playbook.md"
    assert main(["playbook", str(ws_path), "--model", MODEL, "--out", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    assert "<svg" not in text and "### Segments over the frozen runs" in text
    with Workspace.open(ws_path) as ws:
        runs = ws.list_runs(MODEL).sort("run_id")
        for run in runs.iter_rows(named=True):
            frozen = ws.load_run(run["run_id"])
            for seg in ("Complex", "Traditional"):
                part = frozen.filter(pl.col("segment") == seg)
                revenue = f"{part['revenue'].fill_null(0).sum():,.0f}"
                row = (f"| run {run['run_id']} {run['as_of']} | {seg} | {part.height:,} | "
                       f"{revenue} |")  # fmt: skip
                assert row in text
