"""Results computed and now shown (issue 13 item 10): the silhouette per k and
the chosen k of a cluster dimension, its clusters' traits in `segment` output
(text and JSON); lookalike lines name a prospect or give its id (never "None")
and show its potential."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from sample_data.generate import GeneratorConfig, generate
from tui.cli import main


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Path:
    root: Path = tmp_path_factory.mktemp("shown")
    generate(GeneratorConfig(accounts=400, seed=7), root / "data")
    accounts = pl.read_csv(root / "data" / "accounts.csv", infer_schema_length=0)
    # every prospect without a name: the list must show ids
    customers = set(pl.read_csv(root / "data" / "transactions.csv",
                                infer_schema_length=0)["account_id"])
    accounts = accounts.with_columns(
        pl.when(pl.col("account_id").is_in(list(customers))).then(pl.col("name"))
        .alias("name"))
    accounts.write_csv(root / "data" / "accounts.csv")
    ws = root / "shown.segscope"
    assert main(["init", str(ws)]) == 0
    for kind, name in (("accounts", "accounts.csv"), ("transactions", "transactions.csv")):
        assert main(["import", str(ws), str(root / "data" / name), "--kind", kind,
                     "--quiet"]) == 0
    return ws


def test_segment_shows_silhouette_chosen_k_and_cluster_traits(workspace, capsys) -> None:
    capsys.readouterr()
    assert main(["segment", str(workspace), "--model", "Behaviour clusters", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    (rep,) = d["clusters"]
    assert rep["dimension"] == "Behaviour" and rep["chosen_by"] == "silhouette"
    assert set(rep["silhouette"]) == {"2", "3", "4", "5", "6"}
    best = max(rep["silhouette"], key=rep["silhouette"].get)
    assert rep["k"] == int(best) == len(rep["clusters"])
    assert all(c["traits"] for c in rep["clusters"])
    assert sum(c["size"] for c in rep["clusters"]) == d["accounts"]
    assert main(["segment", str(workspace), "--model", "Behaviour clusters"]) == 0
    text = capsys.readouterr().out
    assert f"cluster dimension 'Behaviour': k = {rep['k']} (k with the best silhouette)" in text
    assert "silhouette k=2: " in text
    first = rep["clusters"][0]
    assert f"  {first['name']} ({first['size']:,}): {'; '.join(first['traits'])}" in text


def test_lookalikes_name_or_id_and_potential(workspace, capsys) -> None:
    capsys.readouterr()
    assert main(["lookalikes", str(workspace), "--ideal", "abc_class = 'A'", "--potential",
                 "--top", "5"]) == 0
    text = capsys.readouterr().out
    ranked = [line for line in text.splitlines() if "  score " in line]
    assert len(ranked) == 5
    assert not any(" None " in line for line in ranked)
    assert all(". ACC-" in line and "  potential " in line and "(headroom " in line
               for line in ranked)
