"""QA of the headless CLI on situations real data produced: one-line errors, no tracebacks."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from core.cluster import fit_clusters
from core.errors import UsageError
from tui.cli import main

REAL = Path(__file__).parent / "data" / "real"


def _frame(**cols) -> pl.DataFrame:
    n = len(next(iter(cols.values())))
    return pl.DataFrame({"account_id": [f"A{i}" for i in range(n)], **cols})


def test_cluster_on_features_without_values_is_a_usage_error():
    frame = _frame(buying_driver=pl.Series([None] * 20, dtype=pl.Utf8),
                   employees=pl.Series([None] * 20, dtype=pl.Int64))
    with pytest.raises(UsageError, match="no value in any of the 20 accounts"):
        fit_clusters(frame, ["buying_driver", "employees"])


def test_cluster_on_a_constant_feature_is_a_usage_error():
    frame = _frame(offer_type=["standard"] * 20)
    with pytest.raises(UsageError, match="same value for every account"):
        fit_clusters(frame, ["offer_type"])


def test_cluster_k_search_stops_at_the_distinct_points_without_warnings():
    # 3 distinct values: k = 4..6 cannot be formed; sklearn would warn for each
    frame = _frame(x=[1.0, 5.0, 9.0] * 10)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = fit_clusters(frame, ["x"], k_range=(2, 6))
    assert set(res.silhouette) <= {2, 3}
    assert res.k == 3  # three well separated points: perfect silhouette
    assert sorted(res.sizes.values()) == [10, 10, 10]
    with pytest.raises(UsageError, match="only 3 distinct"):
        fit_clusters(frame, ["x"], k=4)
    with pytest.raises(UsageError, match="only 3 distinct"):
        fit_clusters(frame, ["x"], k_range=(4, 6))


def test_cluster_labels_follow_the_points():
    frame = _frame(x=np.repeat([0.0, 100.0], 10).tolist())
    res = fit_clusters(frame, ["x"], k=2)
    ids = res.frame["cluster_id"].to_list()
    assert len(set(ids[:10])) == 1 and len(set(ids[10:])) == 1 and ids[0] != ids[10]


@pytest.fixture(scope="module")
def crm(tmp_path_factory) -> Path:
    """Maven CRM slice: every account has closed deals, so there are no prospects."""
    ws = tmp_path_factory.mktemp("crm") / "crm.segscope"
    assert main(["init", str(ws)]) == 0
    assert main(["import", str(ws), str(REAL / "maven_pipeline.csv"), "--kind",
                 "transactions", "--quiet"]) == 0
    return ws


def test_lookalikes_without_prospects_is_one_line(crm, capsys):
    capsys.readouterr()
    assert main(["lookalikes", str(crm), "--ideal", "revenue > 0"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "no prospects to score" in err


def test_segment_behaviour_clusters_without_firmographics_is_one_line(crm, capsys):
    capsys.readouterr()
    assert main(["segment", str(crm), "--model", "Behaviour clusters"]) == 2
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1
    assert "dimension 'Behaviour' (cluster)" in captured.err
    assert "no value in any of the" in captured.err
    assert "ConvergenceWarning" not in captured.err


def _tx_workspace(tmp_path: Path, lines: str) -> Path:
    ws = tmp_path / "t.segscope"
    (tmp_path / "tx.csv").write_text("account_id,date,amount\n" + lines)
    assert main(["init", str(ws)]) == 0
    assert main(["import", str(ws), str(tmp_path / "tx.csv"), "--kind", "transactions",
                 "--quiet"]) == 0
    return ws


def test_bridge_and_segment_say_when_p0_is_partly_before_the_data(tmp_path, capsys):
    # as_of 2025-01-01 (day after the last line): P0 = 2023-01-01 .. 2023-12-31 (365 days);
    # the data starts 2023-07-02, 183 days before 2024-01-01: 183/365 = 50 %
    ws = _tx_workspace(tmp_path, "A,2023-07-02,10\nA,2024-12-31,30\nB,2024-05-01,5\n")
    capsys.readouterr()
    assert main(["bridge", str(ws)]) == 0
    out = capsys.readouterr().out
    assert ("note: the data starts 2023-07-02, so P0 (2023-01-01 .. 2023-12-31) is only "
            "50% covered") in out
    assert main(["segment", str(ws), "--model", "ABC by revenue", "--json"]) == 0
    import json

    notes = json.loads(capsys.readouterr().out)["notes"]
    assert len(notes) == 1 and "previous year (2023-01-01 .. 2023-12-31) is only 50%" in notes[0]


def test_no_note_when_the_data_covers_p0(tmp_path, capsys):
    ws = _tx_workspace(tmp_path, "A,2023-01-01,10\nA,2024-12-31,30\n")
    capsys.readouterr()
    assert main(["bridge", str(ws)]) == 0
    assert "note:" not in capsys.readouterr().out


def test_data_after_p0_says_nothing_to_compare(tmp_path, capsys):
    ws = _tx_workspace(tmp_path, "A,2024-03-01,10\nA,2024-12-31,30\n")
    capsys.readouterr()
    assert main(["bridge", str(ws)]) == 0
    assert "after P0 (2023-01-01 .. 2023-12-31): there is nothing to compare with" in \
        capsys.readouterr().out


OTHERS = {"persona", "plan"}  # in progress elsewhere; reported


def test_every_command_and_argument_has_help_text():
    import argparse

    from tui.cli import build_parser

    parser, _ = build_parser()
    missing: list[str] = []

    def walk(p: argparse.ArgumentParser, path: list[str]) -> None:
        for action in p._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    if path[:1] and path[0] in OTHERS or name in OTHERS:
                        continue
                    if not sub.description:
                        missing.append(" ".join([*path, name]) + ": description")
                    walk(sub, [*path, name])
            elif not action.help and not isinstance(action, argparse._HelpAction):
                missing.append(" ".join(path) + f": {action.dest}")

    walk(parser, [])
    assert missing == []


def test_models_help_names_every_starter_model(capsys):
    from core.starter_models import STARTER_MODELS

    with pytest.raises(SystemExit):
        main(["models", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for model in STARTER_MODELS:
        assert model.name in text


def test_models_save_a_bins_model_over_an_imported_attribute(tmp_path, capsys):
    ws = tmp_path / "w.segscope"
    assert main(["init", str(ws)]) == 0
    assert main(["import", str(ws), str(REAL / "wholesale.csv"), "--kind", "accounts",
                 "--map", "#row=account_id", "--quiet"]) == 0
    spec = {"format": 1, "name": "Fresh spend", "dimensions": [
        {"kind": "bins", "name": "Fresh", "column": "fresh", "cuts": [10000],
         "labels": ["small", "large"]}]}
    (tmp_path / "m.json").write_text(json.dumps(spec))
    capsys.readouterr()
    assert main(["models", str(ws), "--save", str(tmp_path / "m.json")]) == 0
    assert "saved model 'Fresh spend'" in capsys.readouterr().out
    assert main(["export", str(ws), "assignments", "--model", "Fresh spend", "--out",
                 str(tmp_path / "a.csv")]) == 0
    got = dict(pl.read_csv(tmp_path / "a.csv", schema_overrides={"account_id": pl.Utf8})
               .select("account_id", "segment").iter_rows())
    # by hand: Fresh 12669, 7057, 6353, 13265, 22615, 9413 on rows 2..7; cut at 10,000
    assert got == {"2": "large", "3": "small", "4": "small", "5": "large", "6": "large",
                   "7": "small"}


def test_models_save_bad_spec_is_one_line(tmp_path, capsys):
    ws = tmp_path / "w.segscope"
    assert main(["init", str(ws)]) == 0
    (tmp_path / "bad.json").write_text('{"format": 1, "name": "x", "dimensions": '
                                       '[{"kind": "bins", "name": "B"}]}')
    capsys.readouterr()
    assert main(["models", str(ws), "--save", str(tmp_path / "bad.json")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "dimension 'B' (bins)" in err
    assert main(["models", str(ws), "--save", str(tmp_path / "missing.json")]) == 2


def test_clv_names_zero_value_lines_not_only_returns(crm, capsys):
    capsys.readouterr()
    assert main(["clv", str(crm), "--json"]) == 0
    notes = json.loads(capsys.readouterr().out)["notes"]
    # the 5 lost deals (value 0) fall on 5 account-days without a won deal
    assert "5 account-days with a net amount <= 0 (returns, zero-value lines) are not " \
        "purchases and are left out of frequency and spend" in notes
