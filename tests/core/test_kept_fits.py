"""Fitted potential and CLV kept in the workspace (storage.fits, migration 5) and
used by segment, export profiles, plan KPIs and runs without a refit (issue 13
item 9). The workspace is built from the seeded sample generator (400 accounts)
through the real `init` and `import` commands."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import polars as pl
import pytest

import core.clv
import core.potential
from sample_data.generate import GeneratorConfig, generate
from storage.fits import load_fit, params_key, save_fit
from storage.workspace import Workspace
from tui.cli import main

MODEL = "ABC by revenue"


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Path:
    root: Path = tmp_path_factory.mktemp("kept")
    generate(GeneratorConfig(accounts=400, seed=7), root / "data")
    ws = root / "kept.segscope"
    assert main(["init", str(ws)]) == 0
    for kind, name in (("accounts", "accounts.csv"), ("transactions", "transactions.csv")):
        assert main(["import", str(ws), str(root / "data" / name), "--kind", kind,
                     "--quiet"]) == 0
    return ws


def _segment_json(ws: Path, capsys) -> dict:
    capsys.readouterr()
    assert main(["segment", str(ws), "--model", MODEL, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_fits_are_kept_and_used_without_a_refit(workspace, tmp_path, capsys,
                                                monkeypatch) -> None:
    before = _segment_json(workspace, capsys)
    assert "share_of_wallet" not in before["total"] and "clv" not in before["total"]
    assert main(["potential", str(workspace), "--json"]) == 0
    assert main(["clv", str(workspace), "--json"]) == 0

    def no_refit(*_a, **_k):
        raise AssertionError("refitted although a fit is kept")

    monkeypatch.setattr(core.potential, "fit_potential", no_refit)
    monkeypatch.setattr(core.clv, "customer_lifetime_value", no_refit)
    after = _segment_json(workspace, capsys)
    for row in [*after["segments"], after["total"]]:
        assert 0.0 <= row["share_of_wallet"] <= 1.0
        assert row["tam"] >= row["headroom"] >= 0
    assert after["total"]["clv"] > 0
    # text output shows the forward columns too
    assert main(["segment", str(workspace), "--model", MODEL]) == 0
    text = capsys.readouterr().out
    assert "SoW" in text and "Avg CLV" in text and "TAM" in text
    # export profiles
    out = tmp_path / "profiles.csv"
    assert main(["export", str(workspace), "profiles", "--model", MODEL, "--out",
                 str(out)]) == 0
    profiles = pl.read_csv(out)
    assert {"share_of_wallet", "headroom", "clv", "tam"} <= set(profiles.columns)
    # the KPIs no longer say "run the potential model"
    capsys.readouterr()
    segment = after["segments"][0]["segment"]
    for metric in ("share_of_wallet", "avg_clv"):
        assert main(["plan", "kpi-add", str(workspace), "--model", MODEL, "--segment", segment,
                     "--metric", metric, "--target", "0.5", "--json"]) == 0
        assert json.loads(capsys.readouterr().out)["baseline"] is not None


def test_fits_of_other_data_are_not_used(tmp_path) -> None:
    with Workspace.create(tmp_path / "w.segscope", cache=False) as ws:
        frame = pl.DataFrame({"account_id": ["a", "b"], "clv": [1.0, 2.0],
                              "p_alive": [0.5, 0.9]})
        params = {"calibration_end": dt.date(2025, 1, 31), "horizon_months": 24}
        save_fit(ws, "clv", params, {"method": "x"}, frame)
        version = ws.data_version()
        kept = load_fit(ws, "clv", params)
        assert kept is not None and kept.frame.equals(frame) and kept.report == {"method": "x"}
        assert kept.params["calibration_end"] == "2025-01-31"
        assert ws.data_version() == version  # keeping a fit is no data change
        assert load_fit(ws, "clv", where={"calibration_end": dt.date(2025, 1, 31)}) is not None
        assert load_fit(ws, "clv", where={"calibration_end": dt.date(2025, 2, 1)}) is None
        assert load_fit(ws, "potential") is None
        with ws.write():  # any data write gives a new data version
            pass
        assert load_fit(ws, "clv", params) is None
        save_fit(ws, "clv", params, {}, frame)
        assert ws.conn.execute("SELECT count(*) FROM fits").fetchone()[0] == 1


def test_params_key_is_canonical() -> None:
    assert params_key({"b": 1, "a": dt.date(2024, 1, 2)}) == '{"a":"2024-01-02","b":1}'
