"""core.trends.segment_trend against counts and sums done by hand."""

from __future__ import annotations

import polars as pl

from core.trends import segment_trend


def test_accounts_and_revenue_per_segment_per_run():
    run1 = pl.DataFrame({"account_id": ["a", "b", "c"], "segment": ["X", "Y", "X"],
                         "revenue": [10.0, None, 5.5]})  # fmt: skip
    run2 = pl.DataFrame({"account_id": ["a", "b", "c", "d"], "segment": ["Z", "Y", "X", "Y"],
                         "revenue": [1.0, 2.0, 3.0, 4.0]})  # fmt: skip
    out = segment_trend([("run 1", run1), ("run 2", run2)])
    assert out.rows() == [
        ("run 1", "X", 2, 15.5),
        ("run 1", "Y", 1, 0.0),  # a missing frozen revenue counts as 0
        ("run 2", "X", 1, 3.0),
        ("run 2", "Y", 2, 6.0),
        ("run 2", "Z", 1, 1.0),  # a new segment comes after the ones seen before
    ]


def test_no_revenue_column_and_no_runs():
    out = segment_trend([("r", pl.DataFrame({"account_id": ["a"], "segment": ["X"]}))])
    assert out.rows() == [("r", "X", 1, None)]
    assert segment_trend([]).columns == ["point", "segment", "accounts", "revenue"]
