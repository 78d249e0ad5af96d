"""core.abc: ABC classes by hand, the 0.80 boundary, ties, and a plain-Python reference."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from metric_frames import random_data
from pandas_reference import reference_abc

from core.abc import abc_classes, pareto_curve
from core.errors import UsageError
from core.metrics import account_metrics


def frame(values: dict[str, float | None], column: str = "revenue") -> pl.DataFrame:
    return pl.DataFrame(
        {"account_id": list(values), column: list(values.values())},
        schema={"account_id": pl.Utf8, column: pl.Float64},
    )


def classes(df: pl.DataFrame, **kw) -> dict[str, str]:
    out = abc_classes(df, **kw)
    return dict(zip(out["account_id"], out["abc_class"], strict=True))


def test_boundary_exactly_at_080():
    # Ranked: a 70, b 10, c 15, d 5 -> order a(70), c(15), b(10), d(5); total 100.
    # before: a 0 -> A; c 0.70 -> A; b 0.85 -> B (>= 0.80); d 0.95 -> C (not < 0.95).
    got = classes(frame({"a": 70, "b": 10, "c": 15, "d": 5}))
    assert got == {"a": "A", "c": "A", "b": "B", "d": "C"}


def test_boundary_when_floats_would_round_below():
    # 70/100 + 10/100 is 0.7999999999999999 in floats; the account after them
    # has exactly 80 % above it and must be B, not A.
    got = classes(frame({"x1": 70, "x2": 10, "x3": 10, "x4": 10}))
    # order x1 70, x2 10, x3 10, x4 10 (ties by id); before: 0, .70, .80, .90
    assert got == {"x1": "A", "x2": "A", "x3": "B", "x4": "B"}


def test_ties_by_account_id():
    # Four equal accounts: 25 % each; before 0, .25, .50, .75 -> all A;
    # the id decides the order, which matters at the boundary:
    got = classes(frame({"b": 25, "a": 25, "d": 25, "c": 25}), a=0.5, b=0.75)
    # order a, b, c, d; before 0, .25 -> A, .50 -> B, .75 -> C
    assert got == {"a": "A", "b": "A", "c": "B", "d": "C"}


def test_zero_negative_and_null_are_c():
    got = classes(frame({"a": 100, "z": 0, "n": -5, "u": None}))
    assert got == {"a": "A", "z": "C", "n": "C", "u": "C"}


def test_output_order_share_and_cum_share():
    out = abc_classes(frame({"a": 30, "b": 60, "c": 10, "n": -5}))
    assert out["account_id"].to_list() == ["b", "a", "c", "n"]
    assert out["share"].to_list() == pytest.approx([0.6, 0.3, 0.1, 0.0])
    assert out["cum_share"].to_list() == pytest.approx([0.6, 0.9, 1.0, 1.0])
    # b: before 0 -> A; a: before .6 -> A; c: before .9 -> B
    assert out["abc_class"].to_list() == ["A", "A", "B", "C"]


def test_margin_measure_and_thresholds():
    df = pl.DataFrame({"account_id": ["a", "b"], "revenue": [1.0, 100.0], "margin": [50.0, 1.0]})
    assert classes(df, measure="margin") == {"a": "A", "b": "C"}
    with pytest.raises(UsageError, match="not a column"):
        abc_classes(df, measure="profit")
    with pytest.raises(UsageError):
        abc_classes(df, a=0.9, b=0.8)


def test_all_zero():
    got = classes(frame({"a": 0, "b": 0}))
    assert got == {"a": "C", "b": "C"}


@pytest.mark.parametrize("measure", ["revenue", "margin"])
def test_random_against_reference_and_shares_sum_to_one(measure):
    accounts, tx = random_data(3)
    m = account_metrics(accounts, tx, as_of=dt.date(2024, 10, 15))
    out = abc_classes(m, measure=measure)
    want = reference_abc(dict(zip(m["account_id"], m[measure], strict=True)))
    assert dict(zip(out["account_id"], out["abc_class"], strict=True)) == want
    per_class = out.group_by("abc_class").agg(pl.col("share").sum())
    assert per_class["share"].sum() == pytest.approx(1.0)
    assert set(per_class["abc_class"]) == {"A", "B", "C"}
    # the A accounts carry at least 80 % of the measure, A+B at least 95 %
    shares = dict(zip(per_class["abc_class"], per_class["share"], strict=True))
    assert shares["A"] >= 0.80
    assert shares["A"] + shares["B"] >= 0.95


def test_pareto_curve():
    curve = pareto_curve(frame({"a": 30, "b": 60, "c": 10, "p": 0}))
    # origin, then positive accounts best first: b 60 %, a 90 %, c 100 %
    assert curve["account_share"].to_list() == pytest.approx([0, 1 / 3, 2 / 3, 1])
    assert curve["measure_share"].to_list() == pytest.approx([0, 0.6, 0.9, 1.0])
    full = pareto_curve(frame({"a": 30, "b": 60, "c": 10, "p": 0}), include_nonpositive=True)
    assert full["account_share"].to_list() == pytest.approx([0, 0.25, 0.5, 0.75, 1])
    assert full["measure_share"].to_list()[-1] == pytest.approx(1.0)


def test_pareto_curve_thinned():
    df = frame({f"a{i:04d}": float(i + 1) for i in range(1000)})
    curve = pareto_curve(df, max_points=50)
    assert curve.height == 50
    assert curve.row(0) == (0.0, 0.0)
    assert curve.row(-1) == pytest.approx((1.0, 1.0))
    assert curve["measure_share"].is_sorted()
