"""Levels per dimension kind (by hand), segments against a plain-Python
reference, min-size folding, and the per-dimension cache."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import polars as pl
import pytest

from core.cache import LruCache
from core.dimensions import DimensionError
from core.expr import ExpressionError
from core.model import (
    AbcDimension,
    BinsDimension,
    CategoryDimension,
    PerformanceDimension,
    RfmDimension,
    RuleDimension,
    SalesLogicDimension,
    SegmentationModel,
)
from core.segment import assign_segments, segment_order


def levels(frame: pl.DataFrame, dim) -> list[str]:
    lv = dim.levels(frame)
    assert lv.codes.dtype == pl.UInt32 and lv.codes.len() == frame.height
    assert lv.codes.null_count() == 0
    return [lv.labels[c] for c in lv.codes.to_list()]


TINY = pl.DataFrame(
    {
        "account_id": ["a1", "a2", "a3", "a4", "a5", "a6"],
        "employees": [5, 10, None, 100, 99, 1000],
        "revenue": [5.0, 10.0, float("nan"), 100.0, 99.9, -3.0],
        "industry": ["it", "pharma", None, "it", "hospital", "retail"],
        "abc_class": ["A", "A", "B", None, "C", "C"],
        "r_score": [5, 4, None, 1, 2, 3],
        "f_score": [5, 1, None, 1, 2, 3],
        "m_score": [5, 2, None, 1, 1, 3],
        "rfm_segment": ["Champions", "New", None, "Lost", "Hibernating", "Need attention"],
        "bridge_class": ["new", "churn", None, "expansion", "retention", "contraction"],
        "offer_type": ["customised", "standard", "standard", None, "Standard", "standard"],
        "buying_center_size": [1, 2, 7, 2, None, 1],
        "collaboration": ["low", "medium", "low", "HIGH", "low", None],
    }
)


class TestLevelsByHand:
    def test_bins_left_closed_default(self) -> None:
        dim = BinsDimension("Size", "employees", cuts=(10, 100))
        assert levels(TINY, dim) == ["< 10", "10–100", "Unknown", "≥ 100", "10–100", "≥ 100"]

    def test_bins_right_closed_with_nan(self) -> None:
        dim = BinsDimension(
            "Rev",
            "revenue",
            cuts=(10, 99.9),
            right_closed=True,
            labels=("low", "mid", "high"),
            missing_label="?",
        )
        assert levels(TINY, dim) == ["low", "low", "?", "high", "mid", "low"]

    def test_bins_repeated_label_merges(self) -> None:
        dim = BinsDimension("Size", "employees", cuts=(10, 100, 500),
                            labels=("Small", "Small", "Big", "Big"))  # fmt: skip
        assert levels(TINY, dim) == ["Small", "Small", "Unknown", "Big", "Small", "Big"]
        assert dim.levels(TINY).labels == ("Small", "Big", "Unknown")

    def test_bins_quantiles_linear(self) -> None:
        frame = pl.DataFrame({"account_id": list("abcdefgh"), "x": [8, 1, 2, 3, 4, 5, 6, 7]})
        # n=8, linear: q25 = 2.75, q50 = 4.5, q75 = 6.25
        dim = BinsDimension("Q", "x", quantiles=4)
        assert levels(frame, dim) == ["Q4", "Q1", "Q1", "Q2", "Q2", "Q3", "Q3", "Q4"]
        dim = BinsDimension("Q", "x", quantiles=(0.5,), labels=("low", "high"))
        assert levels(frame, dim) == ["high", "low", "low", "low", "low", "high", "high", "high"]
        assert np.quantile(np.arange(1, 9), [0.25, 0.5, 0.75]).tolist() == [2.75, 4.5, 6.25]

    def test_bins_quantiles_with_ties_collapse(self) -> None:
        frame = pl.DataFrame({"account_id": list("abcde"), "x": [0, 0, 0, 0, 9]})
        dim = BinsDimension("Q", "x", quantiles=4, labels=("a", "b", "c", "d"))
        # q25 = q50 = q75 = 0 -> one cut at 0: below vs at-or-above
        assert levels(frame, dim) == ["Q2"] * 5

    def test_category_identity_groups_and_top(self) -> None:
        assert levels(TINY, CategoryDimension("I", "industry")) == [
            "it",
            "pharma",
            "Other",
            "it",
            "hospital",
            "retail",
        ]
        grouped = CategoryDimension(
            "I",
            "industry",
            groups={"Health": ["pharma", "hospital"]},
            keep_top=1,
            missing_label="n/a",
        )
        assert levels(TINY, grouped) == ["it", "Health", "n/a", "it", "Health", "Other"]
        assert grouped.levels(TINY).labels == ("Health", "it", "Other", "n/a")
        only_groups = CategoryDimension("I", "industry", groups={"IT": ["it"]}, keep_top=0)
        assert levels(TINY, only_groups) == ["IT", "Other", "Other", "IT", "Other", "Other"]

    def test_rule_first_match_wins_and_null_does_not_match(self) -> None:
        dim = RuleDimension(
            "V",
            (("Big", "revenue >= 99.9"), ("Mid", "revenue > 5"), ("Big", "employees = 5")),
            default="Small",
        )
        assert levels(TINY, dim) == ["Big", "Mid", "Small", "Big", "Big", "Small"]
        assert dim.levels(TINY).labels == ("Big", "Mid", "Small")

    def test_sales_logic_default_rules(self) -> None:
        # complex: customised offer, buying centre >= 5, or high collaboration
        assert levels(TINY, SalesLogicDimension()) == [
            "Complex",
            "Traditional",
            "Complex",
            "Complex",
            "Traditional",
            "Traditional",
        ]

    def test_abc_from_frame_column(self) -> None:
        dim = AbcDimension()
        assert levels(TINY, dim) == ["A", "A", "B", "C", "C", "C"]
        assert dim.levels(TINY).labels == ("A", "B", "C")

    def test_rfm_uses(self) -> None:
        assert levels(TINY, RfmDimension()) == [
            "Champions",
            "New",
            "No purchases",
            "Lost",
            "Hibernating",
            "Need attention",
        ]
        assert levels(TINY, RfmDimension(use="r")) == ["R5", "R4", "No purchases", "R1", "R2", "R3"]
        assert levels(TINY, RfmDimension(use="rf"))[:2] == ["R5F5", "R4F1"]
        assert RfmDimension(use="m").levels(TINY).labels[:5] == ("M5", "M4", "M3", "M2", "M1")

    def test_performance(self) -> None:
        lv = PerformanceDimension().levels(TINY)
        assert [lv.labels[c] for c in lv.codes.to_list()] == [
            "new",
            "churn",
            "No activity",
            "expansion",
            "retention",
            "contraction",
        ]
        assert lv.labels == ("new", "expansion", "contraction", "retention", "churn", "No activity")

    def test_errors_name_the_dimension(self) -> None:
        with pytest.raises(
            DimensionError,
            match="dimension 'Size': unknown column 'employes'; did you mean 'employees'",
        ):
            BinsDimension("Size", "employes", cuts=(1,)).levels(TINY)
        with pytest.raises(DimensionError, match="bins need a numeric column"):
            BinsDimension("Size", "industry", cuts=(1,)).levels(TINY)
        with pytest.raises(ExpressionError) as exc:
            RuleDimension("V", (("Big", "revenue > 1"), ("Odd", "industry > 3"))).levels(TINY)
        assert str(exc.value).startswith("dimension 'V', rule 2 ('Odd'): at position 9:")
        assert exc.value.position == 9


def test_abc_with_other_thresholds_calls_core_abc() -> None:
    abc = pytest.importorskip("core.abc")
    frame = pl.DataFrame({"account_id": ["x", "y", "z", "w"], "revenue": [10.0, 60.0, 30.0, 0.0]})
    want = abc.abc_classes(frame, measure="revenue", a=0.5, b=0.9)
    want_map = dict(zip(want["account_id"], want["abc_class"], strict=True))
    got = levels(frame, AbcDimension(a=0.5, b=0.9))
    assert got == [want_map[a] for a in frame["account_id"]]
    # by hand: y (0.6) before=0 -> A; z before=0.6 -> B; x before=0.9 -> C; w zero -> C
    assert got == ["C", "A", "B", "C"]


# ---------------------------------------------------------------- segments


def random_frame(n: int, seed: int = 7) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    industries = np.array(["it", "pharma", "retail", "energy", "logistics", None], dtype=object)
    return pl.DataFrame(
        {
            "account_id": [f"A{i:05d}" for i in range(n)],
            "industry": list(industries[rng.integers(0, 6, n)]),
            "employees": rng.integers(1, 2000, n),
            "revenue": np.round(rng.gamma(1.2, 500, n), 2),
        },
        schema_overrides={"industry": pl.String},
    )


def reference_segments(frame: pl.DataFrame, min_size: int) -> list[str]:
    """Plain-Python: industry (top 3 + Other) · size bins [<50, 50–500, ≥500] · value rule."""
    rows = frame.to_dicts()
    counts = Counter(r["industry"] for r in rows if r["industry"] is not None)
    top = sorted(counts, key=lambda v: (-counts[v], v))[:3]

    def level(r: dict) -> str:
        ind = r["industry"] if r["industry"] in top else "Other"
        e = r["employees"]
        size = "< 50" if e < 50 else ("50–500" if e < 500 else "≥ 500")
        value = "High" if r["revenue"] > 1000 else ("Low" if r["revenue"] < 100 else "Mid")
        return f"{ind} · {size} · {value}"

    labels = [level(r) for r in rows]
    cell = Counter(labels)
    return [lab if cell[lab] >= min_size else "Other" for lab in labels]


MODEL = SegmentationModel(
    "Ref",
    (
        CategoryDimension("Industry", "industry", keep_top=3),
        BinsDimension("Size", "employees", cuts=(50, 500)),
        RuleDimension("Value", (("High", "revenue > 1000"), ("Low", "revenue < 100")), "Mid"),
    ),
)


@pytest.mark.parametrize("min_size", [0, 30, 120])
def test_segments_match_reference(min_size: int) -> None:
    frame = random_frame(3000)
    model = SegmentationModel(MODEL.name, MODEL.dimensions, min_segment_size=min_size)
    out = assign_segments(frame, model)
    assert out.columns == ["account_id", "Industry", "Size", "Value", "segment"]
    assert out["account_id"].to_list() == frame["account_id"].to_list()
    got = out["segment"].cast(pl.String).to_list()
    assert got == reference_segments(frame, min_size)
    if min_size == 120:
        assert "Other" in got and segment_order(out)[-1] == "Other"


def test_segment_label_and_order_by_hand() -> None:
    frame = pl.DataFrame(
        {
            "account_id": ["a", "b", "c", "d", "e"],
            "x": [1, 20, 20, 5, 30],
            "t": ["p", "q", "q", "p", "p"],
        }
    )
    model = SegmentationModel(
        "m",
        (BinsDimension("X", "x", cuts=(10,), labels=("lo", "hi")), CategoryDimension("T", "t")),
        min_segment_size=2,
    )
    out = assign_segments(frame, model)
    assert out["segment"].cast(pl.String).to_list() == [
        "lo · p",
        "hi · q",
        "hi · q",
        "lo · p",
        "Other",
    ]
    assert out["X"].cast(pl.String).to_list() == ["lo", "hi", "hi", "lo", "hi"]  # kept
    assert segment_order(out) == ["lo · p", "hi · q", "Other"]


def test_empty_frame() -> None:
    frame = random_frame(0)
    out = assign_segments(frame, MODEL)
    assert out.height == 0 and out.columns[-1] == "segment"


def test_many_cells_take_the_sparse_path(monkeypatch: pytest.MonkeyPatch) -> None:
    import core.segment as seg

    frame = random_frame(2000)
    dense = assign_segments(frame, MODEL)
    monkeypatch.setattr(seg, "_DENSE_CELLS", 1)
    sparse = assign_segments(frame, MODEL)
    assert dense["segment"].cast(pl.String).to_list() == sparse["segment"].cast(pl.String).to_list()


def test_cache_recomputes_only_the_changed_dimension() -> None:
    frame = random_frame(500)
    cache: LruCache = LruCache(16)
    assign_segments(frame, MODEL, cache=cache, frame_token="v1")
    # 3 level entries + the prepared industry and employees columns (a rule has none)
    assert (cache.hits, cache.misses) == (0, 5)
    changed = MODEL.replace_dimension(1, BinsDimension("Size", "employees", cuts=(100, 500)))
    out = assign_segments(frame, changed, cache=cache, frame_token="v1")
    # industry and value levels hit; size levels miss but reuse the prepared column
    assert (cache.hits, cache.misses) == (3, 6)
    uncached = assign_segments(frame, changed)
    assert out["Size"].cast(pl.String).to_list() == uncached["Size"].cast(pl.String).to_list()
    assert out["segment"].cast(pl.String).to_list() == uncached["segment"].cast(pl.String).to_list()
    regrouped = changed.replace_dimension(
        0, CategoryDimension("Industry", "industry", groups={"Tech": ["it", "energy"]}, keep_top=0)
    )
    out = assign_segments(frame, regrouped, cache=cache, frame_token="v1")
    assert (cache.hits, cache.misses) == (6, 7)
    assert out["Industry"].cast(pl.String).to_list() == [
        "Tech" if v in ("it", "energy") else "Other" for v in frame["industry"].to_list()
    ]
    assign_segments(frame, changed, cache=cache, frame_token="v2")  # new data: all recomputed
    assert cache.misses == 12
    # no token: no caching at all
    assign_segments(frame, changed, cache=cache)
    assert cache.misses == 12


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_abc_thresholds_match_core_abc(seed: int) -> None:
    from core.abc import abc_classes

    rng = np.random.default_rng(seed)
    n = 400
    # cent amounts with many ties, zeros, negatives and nulls
    revenue = rng.choice([0.0, -5.0, 10.0, 10.0, 25.5, 100.0, 99.99, 1000.0], n)
    frame = pl.DataFrame(
        {"account_id": [f"x{rng.integers(0, 10**6):07d}-{i}" for i in range(n)],
         "revenue": revenue},
    ).with_columns(pl.when(pl.col("revenue") == 25.5).then(None).otherwise(pl.col("revenue"))
                   .alias("revenue"))  # fmt: skip
    dim0 = AbcDimension(a=0.5, b=0.9)
    prepared = dim0.prepare(frame)
    for a, b in [(0.5, 0.9), (0.8, 0.95), (0.2, 0.3), (0.7, 1.0), (0.01, 0.99)]:
        dim = AbcDimension(a=a, b=b)
        want = abc_classes(frame, measure="revenue", a=a, b=b)
        want_map = dict(zip(want["account_id"], want["abc_class"], strict=True))
        got = dim.levels_from(frame, prepared)
        assert [got.labels[c] for c in got.codes.to_list()] == [
            want_map[x] for x in frame["account_id"]
        ], (a, b)


def test_lru_evicts_oldest() -> None:
    cache: LruCache[int] = LruCache(2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1
    cache.put("c", 3)
    assert "b" not in cache and "a" in cache and "c" in cache
    assert cache.get_or_compute("d", lambda: 4) == 4 and len(cache) == 2
    assert math.isclose(cache.get_or_compute("d", lambda: 5), 4)


def test_lru_computes_a_key_once_for_concurrent_callers() -> None:
    import threading

    cache: LruCache[int] = LruCache(4)
    started, release = threading.Event(), threading.Event()
    calls: list[str] = []

    def slow() -> int:
        calls.append("slow")
        started.set()
        release.wait(5)
        return 7

    results: list[int] = []
    first = threading.Thread(target=lambda: results.append(cache.get_or_compute("k", slow)))
    first.start()
    assert started.wait(5)
    def again() -> int:
        calls.append("again")
        return 8

    second = threading.Thread(target=lambda: results.append(cache.get_or_compute("k", again)))
    second.start()
    second.join(0.2)
    assert second.is_alive()  # waiting for the first computation, not computing
    release.set()
    first.join(5)
    second.join(5)
    assert results == [7, 7] and calls == ["slow"]
    # a failed computation is not cached and does not block the next caller
    def boom() -> int:
        raise RuntimeError("no")

    try:
        cache.get_or_compute("e", boom)
    except RuntimeError:
        pass
    assert cache.get_or_compute("e", lambda: 3) == 3


def test_rfm_with_custom_grid_calls_core_rfm() -> None:
    from core.model import model_from_json, model_to_json
    from core.rfm import RfmGrid, RfmGridRow, rfm_scores

    grid = RfmGrid(rows=(RfmGridRow("Top", (4, 5), (1, 5)),), default="Rest")
    frame = pl.DataFrame(
        {
            "account_id": [f"a{i}" for i in range(10)],
            "recency_days": [1, 2, 3, 4, 5, 6, 7, 8, 9, None],
            "frequency": [1] * 10,
            "revenue": [1.0] * 10,
        }
    )
    dim = RfmDimension("Mine", grid=grid)
    got = levels(frame, dim)
    # 9 scored: the 4 most recent get R5/R4 -> Top (ranks 1..4 of 9: buckets 0,1 -> R 5,4)
    want = rfm_scores(frame, grid=grid)["rfm_segment"].fill_null("No purchases").to_list()
    assert got == want
    assert got[:4] == ["Top"] * 4 and got[4:9] == ["Rest"] * 5 and got[9] == "No purchases"
    assert dim.levels(frame).labels == ("Top", "Rest", "No purchases")
    model = SegmentationModel("m", (dim,))
    assert model_from_json(model_to_json(model)) == model


def test_quantile_cuts_match_numpy() -> None:
    from core.dimensions import quantile_cuts

    rng = np.random.default_rng(9)
    values = rng.normal(100, 30, 1001)
    values[::17] = np.nan
    series = pl.Series(values).fill_nan(None)
    probs = [0.1, 0.33, 0.5, 0.9]
    want = np.quantile(values[~np.isnan(values)], probs)
    assert quantile_cuts(series, probs) == pytest.approx(want.tolist())
    assert quantile_cuts(series, 4) == pytest.approx(
        np.quantile(values[~np.isnan(values)], [0.25, 0.5, 0.75]).tolist()
    )


def test_frame_without_account_id_and_broken_dimension() -> None:
    from dataclasses import dataclass
    from typing import ClassVar

    from core.dimensions import Levels
    from core.model import Dimension

    with pytest.raises(DimensionError, match="no 'account_id' column"):
        assign_segments(pl.DataFrame({"x": [1]}), MODEL)

    @dataclass(frozen=True)
    class Broken(Dimension):
        kind: ClassVar[str] = "broken"
        name: str = "Broken"

        def levels(self, frame: pl.DataFrame) -> Levels:
            return Levels(pl.Series([0, 5], dtype=pl.UInt32), ("only",))

    with pytest.raises(DimensionError, match=r"dimension 'Broken' \(broken\) produced 2 levels"):
        assign_segments(
            pl.DataFrame({"account_id": ["a", "b"]}), SegmentationModel("m", (Broken(),))
        )


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_category_and_bins_match_plain_python(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 600
    pool = np.array(["a", "b", "c", "d", "e", "f", "g", None], dtype=object)
    values = pool[rng.integers(0, 8, n)].tolist()
    x = rng.integers(0, 50, n).astype(float)
    x[rng.random(n) < 0.05] = np.nan
    frame = pl.DataFrame({"account_id": [str(i) for i in range(n)], "t": values, "x": x},
                         schema_overrides={"t": pl.String})  # fmt: skip
    groups = {"AB": ["a", "b"], "G": ["g", "zz"]}
    top = int(rng.integers(0, 4))
    dim = CategoryDimension("T", "t", groups=groups, keep_top=top, missing_label="none")
    counts = Counter(v for v in values if v is not None and v not in ("a", "b", "g"))
    kept = set(sorted(counts, key=lambda v: (-counts[v], v))[:top])

    def want_category(v: str | None) -> str:
        if v is None:
            return "none"
        if v in ("a", "b"):
            return "AB"
        if v == "g":
            return "G"
        return v if v in kept else "Other"

    assert levels(frame, dim) == [want_category(v) for v in values]

    cuts = sorted(rng.choice(np.arange(1, 49), 3, replace=False).tolist())
    for right_closed in (False, True):
        got = levels(frame, BinsDimension("X", "x", cuts=tuple(cuts), right_closed=right_closed,
                                          labels=("q0", "q1", "q2", "q3")))  # fmt: skip

        def want_bin(v: float, right_closed: bool = right_closed) -> str:
            if math.isnan(v):
                return "Unknown"
            above = sum(v > c if right_closed else v >= c for c in cuts)
            return f"q{above}"

        assert got == [want_bin(v) for v in x.tolist()]


def test_performance_follows_core_bridge_class_order() -> None:
    from core.bridge import BRIDGE_CLASSES

    frame = pl.DataFrame({"account_id": [str(i) for i in range(7)],
                          "bridge_class": list(reversed(BRIDGE_CLASSES))})  # fmt: skip
    assert PerformanceDimension().levels(frame).labels == tuple(BRIDGE_CLASSES)
