"""End to end: `segscope whitespace` and `segscope explain` on a generated workspace.

The workspace is built once from the seeded sample generator (300 accounts)
through the real `init` and `import` commands.
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from sample_data.generate import GeneratorConfig, generate
from tui.cli import main


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Path:
    root: Path = tmp_path_factory.mktemp("ws15")
    generate(GeneratorConfig(accounts=300, seed=7), root / "data")
    ws = root / "w.segscope"
    assert main(["init", str(ws)]) == 0
    for kind, name in (("accounts", "accounts.csv"), ("transactions", "transactions.csv")):
        assert main(["import", str(ws), str(root / "data" / name), "--kind", kind,
                     "--quiet"]) == 0
    return ws


def test_whitespace_json_and_lines_file(workspace, tmp_path, capsys) -> None:
    capsys.readouterr()
    out = tmp_path / "lines.csv"
    assert main(["whitespace", str(workspace), "--model", "ABC by revenue", "--json",
                 "--top", "3", "--out", str(out)]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["line_column"] == "product_line" and d["peers"] == "segment"
    assert {s["segment"] for s in d["segments"]} == {"A", "B", "C"}
    assert sum(s["white_space_value"] for s in d["segments"]) == pytest.approx(
        d["white_space_value"])
    values = [row["white_space_value"] for row in d["top"]]
    assert values == sorted(values, reverse=True) and len(values) == 3
    first = d["top"][0]
    assert len(first["next_best_lines"]) <= 3
    assert sum(x["expected_value"] for x in first["next_best_lines"]) <= \
        first["white_space_value"] + 1e-6
    for x in first["next_best_lines"]:
        assert x["expected_value"] == pytest.approx(
            x["peer_penetration"] * x["median_peer_revenue"])
    lines = pl.read_csv(out)
    # the file carries money rounded to the cent
    assert lines["expected_value"].sum() == pytest.approx(
        d["white_space_value"], abs=0.005 * lines.height)


def test_whitespace_text_nearest_peers(workspace, capsys) -> None:
    capsys.readouterr()
    assert main(["whitespace", str(workspace), "--model", "RFM", "--peers", "nearest",
                 "--k", "10", "--top", "2"]) == 0
    text = capsys.readouterr().out
    assert "its 10 nearest customers by employees, annual_revenue, industry, region" in text
    assert "top 2 accounts by white-space value" in text and " x " in text


def test_whitespace_usage_errors(workspace, capsys) -> None:
    assert main(["whitespace", str(workspace), "--model", "RFM", "--k", "0"]) == 2
    assert "--k must be 1 or more" in capsys.readouterr().err
    assert main(["whitespace", str(workspace), "--model", "No such"]) == 1
    assert "no model named 'No such'" in capsys.readouterr().err


def test_explain_json_agrees_with_the_assigned_segment(workspace, capsys) -> None:
    capsys.readouterr()
    assert main(["segment", str(workspace), "--model", "Industry x Size", "--json"]) == 0
    capsys.readouterr()
    assert main(["explain", str(workspace), "ACC-0000006", "--model", "Industry x Size",
                 "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["account_id"] == "ACC-0000006" and d["model"] == "Industry x Size"
    assert [x["kind"] for x in d["dimensions"]] == ["category", "bins"]
    assert all(x["agrees"] for x in d["dimensions"])
    levels = " · ".join(x["level"] for x in d["dimensions"])
    assert d["segment"] in (levels, "Other")
    size = d["dimensions"][1]["facts"]
    assert size["lower"] is None or size["value"] >= size["lower"]
    assert size["upper"] is None or size["value"] < size["upper"]


def test_explain_text_for_rules_and_clusters(workspace, capsys) -> None:
    capsys.readouterr()
    assert main(["explain", str(workspace), "ACC-0000006", "--model", "Sales logic"]) == 0
    text = capsys.readouterr().out
    assert "Sales logic (sales_logic)" in text
    assert "rule 1 matched" in text or "no rule matched" in text
    assert main(["explain", str(workspace), "ACC-0000006", "--model",
                 "Behaviour clusters"]) == 0
    text = capsys.readouterr().out
    assert "nearest centre" in text and "pull" in text and "note:" not in text


def test_explain_unknown_account_suggests_ids(workspace, capsys) -> None:
    capsys.readouterr()
    assert main(["explain", str(workspace), "ACC-000006"]) == 1
    err = capsys.readouterr().err
    assert "no account 'ACC-000006'" in err and "did you mean" in err


def test_explain_lookalike_score_is_the_lookalikes_score(workspace, tmp_path, capsys) -> None:
    out = tmp_path / "la.csv"
    assert main(["lookalikes", str(workspace), "--ideal", "abc_class = 'A'",
                 "--out", str(out)]) == 0
    best = pl.read_csv(out).row(0, named=True)
    capsys.readouterr()
    assert main(["explain", str(workspace), best["account_id"], "--ideal", "abc_class = 'A'",
                 "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    # the file carries scores to 6 decimals
    assert d["lookalike"]["facts"]["score"] == pytest.approx(best["lookalike_score"], abs=5e-7)
    contributions = [f["contribution"] for f in d["lookalike"]["features"]]
    assert d["lookalike"]["facts"]["intercept"] + sum(contributions) == pytest.approx(
        d["lookalike"]["facts"]["logit"])
