"""End to end: `segscope clv | potential | targets | lookalikes` on a generated workspace.

The workspace is built once from the project's seeded sample generator (600
accounts) through the real `init` and `import` commands.
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
    root: Path = tmp_path_factory.mktemp("fwd")
    generate(GeneratorConfig(accounts=600, seed=5), root / "data")
    ws = root / "fwd.segscope"
    assert main(["init", str(ws)]) == 0
    for kind, name in (("accounts", "accounts.csv"), ("transactions", "transactions.csv")):
        assert main(["import", str(ws), str(root / "data" / name), "--kind", kind,
                     "--quiet"]) == 0
    return ws


def test_clv_prints_parameters_and_writes_frame(workspace, tmp_path, capsys) -> None:
    capsys.readouterr()
    out = tmp_path / "clv.csv"
    assert main(["clv", str(workspace), "--json", "--out", str(out)]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["method"] == "bgnbd-gamma-gamma" and d["basis"] == "margin"
    assert set(d["bgnbd"]["params"]) == {"r", "alpha", "a", "b"}
    se = d["bgnbd"]["std_errors"]
    assert se["r"] > 0 and se["alpha"] > 0
    # the generator's churn is nearly the same for everyone: a, b are on a ridge
    assert all(v is None or v > 0 for v in se.values())
    assert d["bgnbd"]["log_likelihood"] < 0
    frame = pl.read_csv(out)
    assert frame.height == d["accounts"] and "clv" in frame.columns
    assert frame["clv"].sum() == pytest.approx(d["total_clv"], rel=1e-6)
    assert main(["clv", str(workspace), "--horizon-months", "12"]) == 0
    text = capsys.readouterr().out
    assert "BG/NBD" in text and "(SE " in text and "log-likelihood" in text


def test_clv_bad_date_is_one_line(workspace, capsys) -> None:
    capsys.readouterr()
    assert main(["clv", str(workspace), "--calibration-end", "2025-13-01"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "--calibration-end '2025-13-01' is not a date" in err


def test_potential_report_and_file(workspace, tmp_path, capsys) -> None:
    capsys.readouterr()
    out = tmp_path / "pot.parquet"
    assert main(["potential", str(workspace), "--json", "--out", str(out)]) == 0
    d = json.loads(capsys.readouterr().out)
    assert 0.65 < d["calibration"] < 0.95 and d["quantile"] == 0.8
    frame = pl.read_parquet(out)
    assert frame.height == 600
    assert (frame["potential"] >= frame["revenue"]).all()


def test_lookalikes_list_with_reasons(workspace, tmp_path, capsys) -> None:
    capsys.readouterr()
    out = tmp_path / "lk.csv"
    assert main(["lookalikes", str(workspace), "--ideal", "abc_class = 'A'", "--out",
                 str(out)]) == 0
    text = capsys.readouterr().out
    assert "cross-validated ROC AUC" in text and "like:" in text
    frame = pl.read_csv(out)
    assert frame.height > 0 and frame["nearest_1_id"].null_count() == 0
    assert frame["lookalike_rank"].to_list() == list(range(1, frame.height + 1))
    assert main(["lookalikes", str(workspace), "--ideal", "abc_class ="]) == 2


def test_targets_ranking_weights_and_target_list(workspace, tmp_path, capsys) -> None:
    capsys.readouterr()
    assert main(["targets", str(workspace), "--model", "RFM", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    ranks = [s["rank"] for s in d["segments"]]
    assert ranks == sorted(ranks) and ranks[0] == 1
    assert all(0 <= s["attractiveness"] <= 1 for s in d["segments"])
    assert main(["targets", str(workspace), "--model", "RFM", "--weights",
                 "growth=5,headroom=0", "--save-weights", "--json"]) == 0
    d2 = json.loads(capsys.readouterr().out)
    assert d2["weights"]["growth"] == 5 and d2["weights"]["headroom"] == 0
    assert main(["targets", str(workspace), "--model", "RFM", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["weights"]["growth"] == 5  # saved
    out = tmp_path / "targets.csv"
    assert main(["targets", str(workspace), "--model", "RFM", "--out", str(out)]) == 0
    frame = pl.read_csv(out)
    assert frame["priority_rank"].to_list() == list(range(1, frame.height + 1))
    assert main(["targets", str(workspace), "--model", "RFM", "--weights", "bogus=1"]) == 2


def test_segment_a_clv_model_fits_clv_on_the_command_line(workspace, tmp_path, capsys) -> None:
    from core.forward_dimensions import ClvDimension
    from core.model import SegmentationModel, model_to_json
    from storage.workspace import Workspace

    with Workspace.open(workspace) as ws:
        ws.save_model("By CLV", model_to_json(SegmentationModel("By CLV", (ClvDimension(),))))
    capsys.readouterr()
    assert main(["segment", str(workspace), "--model", "By CLV", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    segments = {row["segment"]: row["accounts"] for row in data["segments"]}
    # tertiles of CLV over the customers with a value; prospects have none
    assert {"Low", "Medium", "High", "No CLV"} <= set(segments)
    out = tmp_path / "by_clv.csv"
    assert main(["export", str(workspace), "assignments", "--model", "By CLV",
                 "--out", str(out)]) == 0  # fmt: skip
    table = pl.read_csv(out)
    assert table.height == 600
    assert set(table["CLV"].unique()) == {"Low", "Medium", "High", "No CLV"}


def test_potential_through_the_console_entry_point(workspace) -> None:
    """The real `segscope` process keeps pandas out (tui.launch.skip_optional_pandas);
    scikit-learn's fits must still work there (a None in sys.modules broke them)."""
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-c",
         "import sys; from tui.cli import main; sys.argv = ['segscope', *sys.argv[1:]]; "
         "code = main(); import sys as s; assert 'pandas' not in s.modules; sys.exit(code)",
         "potential", str(workspace), "--json"],
        capture_output=True, text=True, cwd=root, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert 0.65 < json.loads(done.stdout)["calibration"] < 0.95
