"""End to end: `segscope metrics` and `segscope bridge` on a tiny workspace built here."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from tui.cli import main

ACCOUNTS = """account_id,name,industry,employees
A1,One,Retail,10
A2,Two,Retail,20
A3,Three,Health,30
A4,Four,Health,40
"""
# As of 2025-01-01 (the day after the last line): trailing year P1 = 2024, P0 = 2023.
# A1: P0 100, P1 600 (incl. a return) -> Expansion 500
# A2: P0 20, nothing in P1 -> Churned 20
# A3: first purchase in P1 -> New 125; A4 is a prospect.
TRANSACTIONS = """invoice_id,date,account_id,amount,margin,product_line
I1,2023-03-10,A1,100.00,30,X
I2,2024-02-01,A1,250.00,60,X
I3,2024-06-15,A1,300.00,90,Z
I4,2024-06-20,A1,-50.00,-10,Y
I5,2024-12-31,A1,100.00,,X
J1,2023-07-01,A2,20.00,5,X
K1,2024-03-01,A3,25.00,5,Y
K2,2024-11-30,A3,100.00,20,Y
"""


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Path:
    """Built once for the module; the tests only read it (one saves a model)."""
    tmp_path: Path = tmp_path_factory.mktemp("cli")
    (tmp_path / "accounts.csv").write_text(ACCOUNTS)
    (tmp_path / "transactions.csv").write_text(TRANSACTIONS)
    ws = tmp_path / "tiny.segscope"
    assert main(["init", str(ws)]) == 0
    assert main(["import", str(ws), str(tmp_path / "accounts.csv"), "--kind", "accounts"]) == 0
    assert main(["import", str(ws), str(tmp_path / "transactions.csv"),
                 "--kind", "transactions"]) == 0
    return ws


@pytest.mark.parametrize("ext", ["csv", "parquet", "xlsx"])
def test_metrics_writes_one_row_per_account(workspace, tmp_path, ext, capsys):
    out = tmp_path / f"metrics.{ext}"
    assert main(["metrics", str(workspace), "--out", str(out)]) == 0
    assert "4 accounts as of 2025-01-01" in capsys.readouterr().err
    if ext == "csv":
        df = pl.read_csv(out)
    elif ext == "parquet":
        df = pl.read_parquet(out)
    else:
        df = pl.read_excel(out)
    assert df.columns[:13] == [
        "account_id", "revenue", "margin", "margin_pct", "recency_days", "frequency", "orders",
        "avg_order_value", "product_breadth", "tenure_days", "growth", "first_purchase",
        "last_purchase"]
    for col in ("abc_class", "r_score", "f_score", "m_score", "rfm_segment"):
        assert col in df.columns
    rows = {r["account_id"]: r for r in df.iter_rows(named=True)}
    assert set(rows) == {"A1", "A2", "A3", "A4"}
    assert rows["A1"]["revenue"] == 600.0  # 250 + 300 - 50 + 100
    assert rows["A1"]["frequency"] == 3  # 06-20 is a return-only day
    assert rows["A1"]["growth"] == pytest.approx(5.0)  # 600 / 100 - 1
    assert rows["A3"]["revenue"] == 125.0
    assert rows["A1"]["abc_class"] == "A"
    assert rows["A3"]["abc_class"] == "B"  # 600 of 725 above it (82.8 %)
    assert rows["A4"]["revenue"] == 0.0 and rows["A4"]["r_score"] is None


def test_metrics_window_and_as_of(workspace, tmp_path):
    out = tmp_path / "m.csv"
    assert main(["metrics", str(workspace), "--as-of", "2024-07-01", "--window-months", "6",
                 "--out", str(out)]) == 0
    rows = {r["account_id"]: r for r in pl.read_csv(out).iter_rows(named=True)}
    # window [2024-01-01, 2024-07-01): A1 250 + 300 - 50 = 500; A3 25
    assert rows["A1"]["revenue"] == 500.0
    assert rows["A3"]["revenue"] == 25.0


def test_metrics_errors(workspace, tmp_path, capsys):
    assert main(["metrics", str(workspace), "--as-of", "yesterday", "--out",
                 str(tmp_path / "x.csv")]) == 2
    assert "--as-of 'yesterday' is not a date" in capsys.readouterr().err
    assert main(["metrics", str(tmp_path / "missing.segscope"), "--out",
                 str(tmp_path / "x.csv")]) == 1
    err = capsys.readouterr().err
    assert "no workspace" in err and "Traceback" not in err


def test_bridge_table(workspace, capsys):
    assert main(["bridge", str(workspace)]) == 0
    out = capsys.readouterr().out
    assert "P0 2023-01-01 .. 2023-12-31, P1 2024-01-01 .. 2024-12-31" in out
    lines = {}
    for line in out.splitlines():
        label, _, value = line.partition("  ")
        lines[label.strip()] = value.strip()
    assert lines["P0 revenue"] == "120.00"  # A1 100 + A2 20
    assert lines["+ Expansion"] == "500.00"
    assert lines["- Churn"] == "20.00"
    assert lines["+ New"] == "125.00"
    assert lines["= P1 revenue"] == "725.00"  # 120 + 125 + 500 - 20
    assert lines["NRR"] == "500.0 %"  # (120 - 20 + 500) / 120


def test_bridge_json_and_model(workspace, capsys):
    from core.model import AbcDimension, SegmentationModel, model_to_json
    from storage.workspace import Workspace

    with Workspace.open(workspace) as ws:
        ws.save_model("Value", model_to_json(
            SegmentationModel("Value", (AbcDimension("ABC", measure="revenue"),))))
    assert main(["bridge", str(workspace), "--period", "quarter", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["period"] == "quarter"
    # trailing quarter: P1 = Q4 2024 (A1 100 + A3 100), P0 = Q3 2024 (nothing)
    assert data["totals"][0]["p1"] == 200.0 and data["totals"][0]["p0"] == 0.0
    assert main(["bridge", str(workspace), "--model", "Value", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    groups = [t["segment"] for t in data["totals"]]
    assert groups[0] == "All" and len(groups) > 2
    p1 = {t["segment"]: t["p1"] for t in data["totals"]}
    assert sum(v for k, v in p1.items() if k != "All") == pytest.approx(p1["All"])
    assert main(["bridge", str(workspace), "--model", "Nope"]) == 1
    assert "Nope" in capsys.readouterr().err


def test_format_bridge_one_row_per_segment_when_many():
    import datetime as dt

    from core.bridge import revenue_bridge
    from tui.commands.bridge import format_bridge

    tx = pl.DataFrame({
        "account_id": ["a", "b", "c", "d", "e", "a", "b"],
        "date": [dt.date(2023, 5, 1)] * 5 + [dt.date(2024, 5, 1)] * 2,
        "amount": [100.0, 200.0, 300.0, 400.0, 500.0, 150.0, 1234.5],
    })
    segments = pl.DataFrame({"account_id": list("abcde"), "segment": list("VWXYZ")})
    text = format_bridge(revenue_bridge(tx, as_of=dt.date(2025, 1, 1), segments=segments))
    lines = text.splitlines()
    header = next(line for line in lines if line.startswith("Segment"))
    assert "P0 revenue" in header and "NRR" in header
    rows = {line.split()[0]: line.split() for line in lines if line and line[0] in "AVWXYZ"}
    # All: P0 1,500 -> P1 150 + 1,234.50 (whole units, half to even); W: 200 -> 1,234
    assert rows["All"][1] == "1,500" and rows["All"][8] == "1,384"
    assert rows["W"][1] == "200" and rows["W"][8] == "1,234"
    assert rows["Z"][6] == "500"  # churn
