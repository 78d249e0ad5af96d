"""End to end: models / segment / export / run on a tiny workspace (numbers by hand).

Data (written by the test): a1 buys 400 + 300, a2 200, a3 100, a4 is a
prospect. Default analysis date = 2024-07-01, so ABC by revenue: a1 700 (70 %,
before 0 -> A), a2 200 (before 70 % -> A), a3 100 (before 90 % -> B), a4 C.
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from storage.importer import commit_import, prepare_import
from storage.workspace import Workspace
from tui.cli import main


@pytest.fixture()
def workspace(tmp_path: Path) -> Path:
    accounts = tmp_path / "accounts.csv"
    accounts.write_text(
        "account_id,name,industry,employees\n"
        "a1,Alpha GmbH,Retail,20\na2,Beta AB,Retail,300\na3,Gamma SA,Energy,5\n"
        'a4,=HYPERLINK("x"),Energy,\n',
        encoding="utf-8",
    )
    tx = tmp_path / "transactions.csv"
    tx.write_text(
        "account_id,date,amount,invoice_id\n"
        "a1,2024-03-01,400,i1\na1,2024-06-01,300,i2\na2,2024-05-01,200,i3\n"
        "a3,2024-06-30,100,i4\n",
        encoding="utf-8",
    )
    path = tmp_path / "ws.segscope"
    with Workspace.create(path) as ws:
        commit_import(ws, prepare_import(accounts, "accounts"))
        commit_import(ws, prepare_import(tx, "transactions"))
    return path


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_models_seeds_starters_once(workspace: Path, capsys) -> None:
    code, out, _ = cli(capsys, "models", str(workspace), "--json")
    data = json.loads(out)
    assert code == 0 and len(data["seeded"]) == 7
    names = [m["name"] for m in data["models"]]
    assert names == sorted(["ABC by revenue", "RFM", "Industry x Size", "Sales logic",
                            "Revenue bridge", "Value x Potential",
                            "Behaviour clusters"])  # fmt: skip
    code, out, _ = cli(capsys, "models", str(workspace))
    assert code == 0 and "added" not in out and "Industry (category) × Size (bins)" in out


def test_segment_profiles_by_hand(workspace: Path, capsys) -> None:
    code, out, _ = cli(capsys, "segment", str(workspace), "--model", "ABC by revenue", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["as_of"] == "2024-07-01" and data["accounts"] == 4
    seg = {s["segment"]: s for s in data["segments"]}
    assert list(seg) == ["A", "B", "C"]
    assert (seg["A"]["accounts"], seg["A"]["revenue"]) == (2, 900.0)
    assert seg["A"]["revenue_share"] == pytest.approx(0.9)
    assert seg["A"]["avg_order_value"] == pytest.approx(300.0)  # 900 over 3 invoices
    assert (seg["B"]["accounts"], seg["B"]["revenue"]) == (1, 100.0)
    assert (seg["C"]["accounts"], seg["C"]["revenue"]) == (1, 0.0)
    assert data["total"]["accounts"] == 4 and data["total"]["revenue"] == 900 + 100

    code, out, _ = cli(capsys, "segment", str(workspace), "--model", "Sales logic", "--json",
                       "--traits", "2")  # fmt: skip
    rows = json.loads(out)["segments"]
    assert code == 0 and all(isinstance(r["traits"], list) for r in rows)
    assert all(len(r["traits"]) <= 2 for r in rows)

    code, out, _ = cli(capsys, "segment", str(workspace), "--model", "ABC by revenue")
    assert code == 0 and out.splitlines()[0] == "model 'ABC by revenue', as of 2024-07-01"
    assert any(line.startswith("A ") and " 900 " in line for line in out.splitlines())


def test_export_assignments(workspace: Path, tmp_path: Path, capsys) -> None:
    target = tmp_path / "out.csv"
    code, out, _ = cli(capsys, "export", str(workspace), "assignments", "--model",
                       "Industry x Size", "--out", str(target))  # fmt: skip
    assert code == 0 and out.strip().endswith("out.csv")
    df = pl.read_csv(target)
    assert df.columns[:4] == ["account_id", "Industry", "Size", "segment"]
    assert "revenue" in df.columns and "abc_class" in df.columns
    levels = dict(zip(df["account_id"], df["Size"], strict=True))
    assert levels == {"a1": "10–49", "a2": "250–999", "a3": "1–9", "a4": "Unknown"}
    assert df["segment"].to_list() == ["Other"] * 4  # min size 5 folds every cell
    assert df.filter(pl.col("account_id") == "a4")["name"][0].startswith("'=")  # neutralised

    profiles = tmp_path / "profiles.xlsx"
    assert cli(capsys, "export", str(workspace), "profiles", "--model", "ABC by revenue",
               "--out", str(profiles))[0] == 0  # fmt: skip
    table = pl.read_excel(profiles)
    assert table["segment"].to_list() == ["A", "B", "C", "All accounts"]
    assert table["accounts"].to_list() == [2, 1, 1, 4]
    traits = tmp_path / "traits.csv"
    assert cli(capsys, "export", str(workspace), "traits", "--model", "ABC by revenue",
               "--out", str(traits))[0] == 0  # fmt: skip
    assert pl.read_csv(traits).columns[:3] == ["segment", "column", "kind"]

    parquet = tmp_path / "out.parquet"
    assert cli(capsys, "export", str(workspace), "assignments", "--model", "RFM",
               "--out", str(parquet))[0] == 0  # fmt: skip
    assert pl.read_parquet(parquet).height == 4


def test_runs_save_list_compare(workspace: Path, capsys) -> None:
    ws = str(workspace)
    code, out, _ = cli(capsys, "run", "save", ws, "--model", "ABC by revenue", "--json")
    first = json.loads(out)
    assert code == 0 and first["accounts"] == 4 and first["as_of"] == "2024-07-01"
    # as of 2024-05-15: a1 400, a2 200 -> both A; a3 has nothing yet -> C
    code, out, _ = cli(capsys, "run", "save", ws, "--model", "ABC by revenue",
                       "--as-of", "2024-05-15", "--label", "earlier", "--json")  # fmt: skip
    second = json.loads(out)
    code, out, _ = cli(capsys, "run", "list", ws, "--json")
    runs = json.loads(out)["runs"]
    assert [r["run_id"] for r in runs] == [second["run_id"], first["run_id"]]
    assert runs[0]["label"] == "earlier"

    code, out, _ = cli(capsys, "run", "compare", ws, str(second["run_id"]),
                       str(first["run_id"]), "--json")  # fmt: skip
    data = json.loads(out)
    moves = {(r["from_segment"], r["to_segment"]): r["accounts"] for r in data["long"]}
    assert moves == {("A", "A"): 2, ("C", "B"): 1, ("C", "C"): 1}
    assert data["stayed_share"] == pytest.approx(3 / 4)
    code, out, _ = cli(capsys, "run", "compare", ws, str(second["run_id"]),
                       str(first["run_id"]), "--by", "revenue")  # fmt: skip
    assert code == 0 and "from \\ to" in out

    code, out, _ = cli(capsys, "run", "delete", ws, str(second["run_id"]))
    assert code == 0 and out.startswith(f"deleted run {second['run_id']} (earlier)")
    code, out, _ = cli(capsys, "run", "list", ws, "--json")
    assert [r["run_id"] for r in json.loads(out)["runs"]] == [first["run_id"]]
    code, _, err = cli(capsys, "run", "delete", ws, str(second["run_id"]))
    assert code == 1 and f"no run with id {second['run_id']}" in err


def test_errors_are_one_line(workspace: Path, capsys) -> None:
    code, _, err = cli(capsys, "segment", str(workspace), "--model", "Nope")
    assert code == 1 and err.startswith("segscope segment: no model named 'Nope'")
    code, _, err = cli(capsys, "segment", str(workspace), "--model", "RFM", "--as-of", "2024-02-30")
    assert code == 2 and "is not a date" in err
    code, _, err = cli(capsys, "run", "compare", str(workspace), "1", "2")
    assert code == 1 and "no run with id 1" in err
    assert "Traceback" not in err
