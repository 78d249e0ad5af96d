"""core.rfm: the quintile formula, ties by account id, the grid, pandas qcut parity."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import polars as pl
import pytest
from metric_frames import random_data
from pandas_reference import reference_rfm

from core.errors import UsageError
from core.metrics import account_metrics
from core.rfm import DEFAULT_RFM_GRID, RfmGrid, RfmGridRow, quintile_bucket, rfm_scores


def metrics_frame(rows: list[tuple[str, int | None, int, float]]) -> pl.DataFrame:
    return pl.DataFrame(
        rows,
        schema={"account_id": pl.Utf8, "recency_days": pl.Int64, "frequency": pl.Int64,
                "revenue": pl.Float64},
        orient="row",
    )


@pytest.mark.parametrize("n", [2, 3, 5, 6, 7, 10, 11, 99, 101, 1234])
def test_bucket_formula_is_pandas_qcut_of_ranks(n):
    ranks = pl.Series("r", range(1, n + 1), dtype=pl.Int64)
    ours = pl.select(quintile_bucket(pl.lit(ranks), pl.lit(n, pl.Int64))).to_series().to_list()
    theirs = pd.qcut(pd.Series(np.arange(1, n + 1), dtype=float), 5, labels=False).tolist()
    assert ours == theirs


def test_hand_scores_with_ties():
    # Ten customers and one prospect. Sorted by account id, ties keep id order.
    m = metrics_frame([
        ("c01", 10, 1, 100.0),
        ("c02", 10, 1, 100.0),
        ("c03", 30, 2, 50.0),
        ("c04", 5, 9, 900.0),
        ("c05", 400, 0, 0.0),
        ("c06", 30, 2, 50.0),
        ("c07", 1, 4, 300.0),
        ("c08", 60, 3, 10.0),
        ("c09", 200, 1, 20.0),
        ("c10", 10, 5, 500.0),
        ("p01", None, 0, 0.0),
    ])
    out = rfm_scores(m)
    # n = 10: bucket(r) = ceil(5 (r - 1) / 9) - 1 clipped -> ranks 1,2 -> 0; 3,4 -> 1;
    # 5,6 -> 2; 7,8 -> 3; 9,10 -> 4.
    # Recency ascending (ties by id): c07 1, c04 5, c01 10, c02 10, c10 10, c03 30,
    # c06 30, c08 60, c09 200, c05 400 -> R = 5 - bucket
    r = dict(zip(out["account_id"], out["r_score"], strict=True))
    assert [r[k] for k in ["c07", "c04", "c01", "c02", "c10", "c03", "c06", "c08", "c09", "c05"]] \
        == [5, 5, 4, 4, 3, 3, 2, 2, 1, 1]
    # Frequency ascending: c05 0, c01 1, c02 1, c09 1, c03 2, c06 2, c08 3, c07 4,
    # c10 5, c04 9 -> F = bucket + 1
    f = dict(zip(out["account_id"], out["f_score"], strict=True))
    assert [f[k] for k in ["c05", "c01", "c02", "c09", "c03", "c06", "c08", "c07", "c10", "c04"]] \
        == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    # Revenue ascending: c05 0, c08 10, c09 20, c03 50, c06 50, c01 100, c02 100,
    # c07 300, c10 500, c04 900
    mm = dict(zip(out["account_id"], out["m_score"], strict=True))
    assert [mm[k] for k in ["c05", "c08", "c09", "c03", "c06", "c01", "c02", "c07", "c10", "c04"]] \
        == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    # Segments from (R, F): c04 (5, 5) Champions; c05 (1, 1) Lost; c09 (1, 2) Hibernating;
    # c07 (5, 4) Champions; c01 (4, 1) Promising; c10 (3, 5) Loyal; c03 (3, 3) Need attention.
    seg = dict(zip(out["account_id"], out["rfm_segment"], strict=True))
    assert seg["c04"] == "Champions"
    assert seg["c05"] == "Lost"
    assert seg["c09"] == "Hibernating"
    assert seg["c07"] == "Champions"
    assert seg["c01"] == "Promising"
    assert seg["c10"] == "Loyal"
    assert seg["c03"] == "Need attention"
    # The prospect is not scored; output keeps the input order.
    assert out["account_id"].to_list() == m["account_id"].to_list()
    assert out.filter(pl.col("account_id") == "p01").row(0)[1:] == (None, None, None, None)


def test_single_customer_scores_three():
    out = rfm_scores(metrics_frame([("a", 3, 1, 5.0), ("p", None, 0, 0.0)]))
    assert out.row(0) == ("a", 3, 3, 3, "Need attention")


def test_input_order_does_not_matter():
    accounts, tx = random_data(4, n_accounts=500, n_tx=4000)
    m = account_metrics(accounts, tx, as_of=dt.date(2024, 10, 15))
    a = rfm_scores(m).sort("account_id")
    b = rfm_scores(m.sample(fraction=1.0, shuffle=True, seed=9)).sort("account_id")
    assert a.equals(b)


@pytest.mark.parametrize("seed", [5, 6])
def test_matches_pandas_qcut_rank_first(seed):
    accounts, tx = random_data(seed)
    m = account_metrics(accounts, tx, as_of=dt.date(2024, 10, 15))
    ours = rfm_scores(m).drop_nulls("r_score").sort("account_id")
    ref = reference_rfm(m.select("account_id", "recency_days", "frequency", "revenue")
                        .to_pandas())
    ref = pl.from_pandas(ref).sort("account_id")
    assert ours["account_id"].to_list() == ref["account_id"].to_list()
    for col in ("r_score", "f_score", "m_score"):
        assert ours[col].cast(pl.Int64).to_list() == ref[col].cast(pl.Int64).to_list(), col
    # ties really occur in this data
    assert m.filter(pl.col("recency_days").is_not_null())["frequency"].n_unique() < 30


def test_grid_covers_every_cell_and_lists_eleven_segments():
    cells = DEFAULT_RFM_GRID.cells()
    assert cells.height == 25
    assert "Other" not in cells["rfm_segment"].to_list()
    assert set(cells["rfm_segment"]) == {
        "Champions", "Loyal", "Potential loyalists", "New", "Promising", "Need attention",
        "About to sleep", "At risk", "Can't lose", "Hibernating", "Lost"}
    assert DEFAULT_RFM_GRID.segment_of(5, 1) == "New"
    assert DEFAULT_RFM_GRID.segment_of(1, 5) == "Can't lose"
    assert DEFAULT_RFM_GRID.segment_of(2, 2) == "Hibernating"


def test_grid_json_round_trip_and_editing():
    text = DEFAULT_RFM_GRID.to_json()
    assert RfmGrid.from_json(text) == DEFAULT_RFM_GRID
    json.loads(text)  # plain JSON
    custom = RfmGrid(rows=(RfmGridRow("Top", (4, 5), (4, 5)),), default="Rest")
    m = metrics_frame([(f"a{i}", i, i, float(i)) for i in range(1, 11)])
    out = rfm_scores(m, grid=custom)
    # a1 is most recent (R5) but least frequent (F1) -> Rest; nobody is R>=4 and F>=4
    assert set(out["rfm_segment"]) == {"Rest"}
    # a dict (as read from a saved model) is accepted too
    assert rfm_scores(m, grid=custom.to_dict()).equals(out)


def test_bad_grid():
    with pytest.raises(UsageError):
        RfmGrid.from_dict({"rows": [{"segment": "x", "r": [0, 9], "f": [1, 2]}]})
    with pytest.raises(UsageError):
        RfmGrid.from_json("{not json")
