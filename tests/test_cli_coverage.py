"""End to end: `segscope import --kind activities` and `segscope coverage` on a generated
workspace (300 accounts, built once through the real `init` and `import` commands)."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from sample_data.generate import GeneratorConfig, generate
from tui.cli import main


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Path:
    root: Path = tmp_path_factory.mktemp("cov15")
    generate(GeneratorConfig(accounts=300, seed=7), root / "data")
    ws = root / "w.segscope"
    assert main(["init", str(ws)]) == 0
    for kind in ("accounts", "transactions", "activities"):
        assert main(["import", str(ws), str(root / "data" / f"{kind}.csv"), "--kind", kind,
                     "--quiet"]) == 0
    return ws


def test_coverage_json_by_segment_and_file(workspace, tmp_path, capsys) -> None:
    capsys.readouterr()
    out = tmp_path / "coverage.xlsx"
    assert main(["coverage", str(workspace), "--model", "ABC by revenue", "--json",
                 "--top", "3", "--out", str(out)]) == 0
    d = json.loads(capsys.readouterr().out)
    s = d["summary"]
    assert {x["segment"] for x in d["segments"]} <= {"A", "B", "C"}
    assert sum(x["accounts"] for x in d["segments"]) == s["accounts"]
    assert sum(x["effort_minutes"] for x in d["segments"]) == pytest.approx(
        s["effort_hours"] * 60)
    assert sum(x["accounts"] for x in d["matrix"]) == s["accounts"] and len(d["matrix"]) == 16
    assert sum(x["over"] for x in d["owners"]) == s["over_covered"]
    assert "ASSUMPTION" in s["response_assumption"]
    efforts = [x["effort_minutes"] for x in d["over_covered"]]
    assert efforts == sorted(efforts, reverse=True) and len(efforts) <= 3
    for row in d["reallocation"]:
        assert row["assumed_uplift"] == pytest.approx(
            row["minutes_added"] / 60 * 0.002 * row["headroom"])
    sheets = pl.read_excel(out, sheet_id=0)
    assert set(sheets) == {"accounts", "segments", "owners", "matrix", "reallocation",
                           "released"}
    assert sheets["accounts"].height == s["accounts"]


def test_coverage_text_and_edited_defaults(workspace, capsys) -> None:
    capsys.readouterr()
    assert main(["coverage", str(workspace), "--top", "2"]) == 0
    text = capsys.readouterr().out
    assert "coverage x headroom (accounts):" in text and "per owner" in text
    assert "ASSUMPTION (not measured)" in text and "reallocation:" in text
    assert main(["coverage", str(workspace), "--json", "--minutes", "email=0,call=30",
                 "--response", "0"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["summary"]["minutes"]["email"] == 0 and d["summary"]["minutes"]["call"] == 30
    assert d["summary"]["assumed_uplift"] == 0


def test_coverage_usage_errors(workspace, tmp_path, capsys) -> None:
    assert main(["coverage", str(workspace), "--minutes", "lunch=90"]) == 2
    assert "unknown activity type(s) lunch" in capsys.readouterr().err
    assert main(["coverage", str(workspace), "--minutes", "call"]) == 2
    empty = tmp_path / "e.segscope"
    assert main(["init", str(empty)]) == 0
    capsys.readouterr()
    assert main(["coverage", str(empty)]) == 2
    assert "has no activities" in capsys.readouterr().err
