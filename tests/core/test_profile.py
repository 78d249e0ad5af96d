"""Segment profiles and traits: by hand on a tiny frame, and against pandas."""

from __future__ import annotations

import math
from statistics import median

import numpy as np
import polars as pl
import pytest

from core.model import BinsDimension, CategoryDimension, SegmentationModel
from core.profile import PROFILE_COLUMNS, distinguishing_traits, segment_profiles
from core.segment import assign_segments

FRAME = pl.DataFrame(
    {
        "account_id": ["a1", "a2", "a3", "a4", "a5", "a6"],
        "revenue": [100.0, 50.0, 0.0, 300.0, 100.0, None],
        "margin": [30.0, 10.0, 0.0, 60.0, 40.0, None],
        "orders": [4, 1, 0, 3, 1, 0],
        "frequency": [4, 1, 0, 3, 1, 0],
        "recency_days": [10, 40, None, 5, 100, None],
        "revenue_prev": [50.0, 50.0, 20.0, 300.0, 0.0, 0.0],
        "bridge_prev_revenue": [80.0, 0.0, 20.0, 200.0, 50.0, 0.0],
        "bridge_revenue": [100.0, 50.0, 0.0, 300.0, -10.0, 0.0],
    }
)
ASSIGN = pl.DataFrame(
    {"account_id": ["a1", "a2", "a3", "a4", "a5", "a6"],
     "segment": ["S1", "S1", "S1", "S2", "S2", "S3"]}
)  # fmt: skip


def as_dict(profiles: pl.DataFrame) -> dict[str, dict]:
    return {r["segment"]: r for r in profiles.to_dicts()}


def test_profiles_by_hand() -> None:
    out = segment_profiles(FRAME, ASSIGN, total=True)
    assert out.columns == list(PROFILE_COLUMNS)
    assert out["segment"].to_list() == ["S1", "S2", "S3", "All accounts"]
    p = as_dict(out)
    s1, s2, s3, tot = p["S1"], p["S2"], p["S3"], p["All accounts"]
    assert s1["accounts"] == 3 and s1["account_share"] == pytest.approx(0.5)
    assert s1["revenue"] == 150 and s1["revenue_share"] == pytest.approx(150 / 550)
    assert s1["margin_pct"] == pytest.approx(40 / 150)
    assert s1["avg_order_value"] == pytest.approx(30.0)
    assert s1["frequency"] == pytest.approx(5 / 3)
    assert s1["recency_days"] == pytest.approx(25.0)
    assert s1["growth"] == pytest.approx(0.25)
    assert s1["nrr"] == pytest.approx(1.0)  # a1 80 -> 100, a3 20 -> churn
    assert s2["margin_pct"] == pytest.approx(0.25) and s2["avg_order_value"] == 100
    assert s2["recency_days"] == pytest.approx(52.5)
    assert s2["growth"] == pytest.approx(1 / 3)
    assert s2["nrr"] == pytest.approx(300 / 250)  # a5 went negative: churn
    assert s3["revenue"] == 0 and s3["margin_pct"] is None and s3["avg_order_value"] is None
    assert s3["recency_days"] is None and s3["growth"] is None and s3["nrr"] is None
    assert tot["accounts"] == 6 and tot["revenue"] == 550 and tot["revenue_share"] == 1
    assert tot["nrr"] == pytest.approx((100 + 300) / (80 + 20 + 200 + 50))
    assert sum(out.filter(pl.col("segment") != "All accounts")["account_share"]) == pytest.approx(1)


def test_profiles_without_optional_columns() -> None:
    frame = FRAME.select("account_id", "revenue")
    p = as_dict(segment_profiles(frame, ASSIGN))
    assert p["S1"]["growth"] is None and p["S1"]["nrr"] is None
    assert p["S1"]["margin_pct"] is None and p["S1"]["frequency"] is None


def test_profiles_join_when_rows_differ() -> None:
    shuffled = ASSIGN.reverse()
    assert segment_profiles(FRAME, shuffled).equals(segment_profiles(FRAME, ASSIGN))
    partial = ASSIGN.head(4)
    p = as_dict(segment_profiles(FRAME, partial))
    assert p["(unassigned)"]["accounts"] == 2


def random_frame(n: int, seed: int = 3) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    revenue = np.round(rng.gamma(1.1, 400, n), 2)
    revenue[rng.random(n) < 0.1] = 0.0
    orders = rng.integers(0, 20, n)
    return pl.DataFrame(
        {
            "account_id": [f"C{i}" for i in range(n)],
            "name": [f"Company {i}" for i in range(n)],
            "industry": rng.choice(["it", "health", "retail", "energy"], n).tolist(),
            "employees": rng.integers(1, 5000, n),
            "revenue": revenue,
            "margin": np.where(
                rng.random(n) < 0.2, None, np.round(revenue * rng.uniform(0.05, 0.4, n), 2)
            ).tolist(),
            "orders": orders,
            "frequency": orders,
            "recency_days": np.where(orders > 0, rng.integers(1, 365, n), None).tolist(),
            "revenue_prev": np.round(rng.gamma(1.1, 400, n), 2),
        },
        schema_overrides={"recency_days": pl.Int64, "margin": pl.Float64},
    )


def test_profiles_match_pandas_reference() -> None:
    frame = random_frame(2000)
    model = SegmentationModel(
        "m", (CategoryDimension("I", "industry"), BinsDimension("S", "employees", cuts=(100, 1000)))
    )
    assignments = assign_segments(frame, model)
    got = as_dict(segment_profiles(frame, assignments))

    pdf = frame.to_pandas()
    pdf["segment"] = assignments["segment"].cast(pl.String).to_list()
    total_rev = pdf["revenue"].sum()
    for seg, g in pdf.groupby("segment"):
        row = got[seg]
        assert row["accounts"] == len(g)
        assert row["revenue"] == pytest.approx(g["revenue"].sum())
        assert row["revenue_share"] == pytest.approx(g["revenue"].sum() / total_rev)
        known = g["margin"].notna()
        assert row["margin_pct"] == pytest.approx(g["margin"].sum() / g.loc[known, "revenue"].sum())
        assert row["avg_order_value"] == pytest.approx(g["revenue"].sum() / g["orders"].sum())
        assert row["frequency"] == pytest.approx(g["frequency"].mean())
        assert row["recency_days"] == pytest.approx(g["recency_days"].dropna().median())
        assert row["growth"] == pytest.approx(g["revenue"].sum() / g["revenue_prev"].sum() - 1)
    assert len(got) == pdf["segment"].nunique()


# ---------------------------------------------------------------- traits

TRAIT_FRAME = pl.DataFrame(
    {
        "account_id": [f"a{i}" for i in range(10)],
        "name": ["n"] * 10,
        "industry": ["health", "health", "health", "it", "it", "it", "retail", "retail",
                     "health", "it"],
        "employees": [1000, 1200, 1400, 1600, 10, 20, 30, 40, 50, 60],
        "is_customer": [True] * 4 + [False] * 6,
    }
)  # fmt: skip
TRAIT_ASSIGN = pl.DataFrame(
    {"account_id": TRAIT_FRAME["account_id"], "segment": ["X"] * 4 + ["Y"] * 6}
)


def test_traits_by_hand() -> None:
    t = distinguishing_traits(TRAIT_FRAME, TRAIT_ASSIGN, "X", min_count=1, min_support=0.2)
    rows = {(r["column"], r["value"]): r for r in t.to_dicts()}
    assert "account_id" not in t["column"].to_list() and "name" not in t["column"].to_list()
    emp = rows[("employees", None)]
    # overall median 55, MAD 40 -> scale 59.304; segment median 1300
    assert emp["segment_value"] == 1300 and emp["overall_value"] == 55
    assert emp["z"] == pytest.approx((1300 - 55) / (1.4826 * 40))
    assert emp["phrase"] == "employees median 1,300 vs 55 overall"
    health = rows[("industry", "health")]
    assert health["lift"] == pytest.approx(0.75 / 0.4)
    assert health["z"] == pytest.approx(0.35 / math.sqrt(0.4 * 0.6))
    assert health["phrase"] == "industry = health (lift 1.9, 75 % of segment)"
    cust = rows[("is_customer", "true")]
    assert cust["lift"] == pytest.approx(2.5) and cust["support"] == 4
    # it is 25 % of X vs 40 % overall: under-represented, not a trait
    assert ("industry", "it") not in rows
    assert t["strength"].to_list() == sorted(t["strength"].to_list(), reverse=True)
    assert t["column"][0] == "employees"


def test_traits_support_threshold_and_empty_segment() -> None:
    t = distinguishing_traits(TRAIT_FRAME, TRAIT_ASSIGN, "X", min_count=4)
    assert ("industry", "health") not in set(zip(t["column"], t["value"], strict=True))
    assert distinguishing_traits(TRAIT_FRAME, TRAIT_ASSIGN, "nope").height == 0


def test_traits_match_plain_python() -> None:
    frame = random_frame(1500, seed=11)
    seg = np.where(frame["employees"].to_numpy() > 3000, "big", "small")
    # plant a category skew in "big"
    industry = np.where(
        (seg == "big") & (np.arange(1500) % 2 == 0), "health", frame["industry"].to_numpy()
    )
    frame = frame.with_columns(pl.Series("industry", industry))
    assign = pl.DataFrame({"account_id": frame["account_id"], "segment": seg})
    t = distinguishing_traits(frame, assign, "big", limit=None, min_z=0.0, min_lift=1.0)
    rows = {(r["column"], r["value"]): r for r in t.to_dicts()}

    ind = frame["industry"].to_list()
    in_seg = [i for i, s in zip(ind, seg, strict=True) if s == "big"]
    for value in set(ind):
        p_seg = in_seg.count(value) / len(in_seg)
        p_all = ind.count(value) / len(ind)
        key = ("industry", value)
        if p_seg >= 0.10 and p_seg / p_all >= 1.0 and in_seg.count(value) >= 5:
            assert rows[key]["lift"] == pytest.approx(p_seg / p_all)
        else:
            assert key not in rows
    emp = frame["employees"].to_list()
    med = median(emp)
    mad = median(abs(e - med) for e in emp)
    seg_med = median(e for e, s in zip(emp, seg, strict=True) if s == "big")
    assert rows[("employees", None)]["z"] == pytest.approx((seg_med - med) / (1.4826 * mad))
    assert rows[("industry", "health")]["lift"] > 1.5
    assert not any(c in ("account_id", "name") for c, _ in rows)


def test_nrr_from_bridge_accounts_matches_core_bridge() -> None:
    import datetime as dt

    from core.bridge import revenue_bridge

    d = dt.date
    tx = pl.DataFrame(
        {
            "account_id": ["a1", "a1", "a2", "a3", "a4", "a4", "a5"],
            "date": [d(2023, 3, 1), d(2024, 3, 1), d(2023, 5, 1), d(2024, 6, 1), d(2023, 7, 1),
                     d(2024, 7, 1), d(2023, 8, 1)],
            "amount": [100.0, 150.0, 80.0, 40.0, 200.0, 50.0, 30.0],
        }
    )  # fmt: skip
    frame = pl.DataFrame({"account_id": ["a1", "a2", "a3", "a4", "a5"],
                          "revenue": [150.0, 0.0, 40.0, 50.0, 0.0]})  # fmt: skip
    assign = pl.DataFrame({"account_id": frame["account_id"],
                           "segment": ["S", "S", "T", "T", "T"]})  # fmt: skip
    bridge = revenue_bridge(tx, as_of=d(2025, 1, 1), segments=assign)
    p = as_dict(segment_profiles(frame, assign, bridge_accounts=bridge.accounts, total=True))
    # by hand: S: a1 100 -> 150, a2 80 -> churn: 150 / 180; T: a4 200 -> 50, a5 churn: 50 / 230
    assert p["S"]["nrr"] == pytest.approx(150 / 180)
    assert p["T"]["nrr"] == pytest.approx(50 / 230)
    totals = {r["segment"]: r["nrr"] for r in bridge.totals.to_dicts()}
    assert p["S"]["nrr"] == pytest.approx(totals["S"])
    assert p["T"]["nrr"] == pytest.approx(totals["T"])
    assert p["All accounts"]["nrr"] == pytest.approx(totals["All"])


def test_margin_pct_only_over_known_margins() -> None:
    frame = pl.DataFrame({"account_id": ["a", "b", "c"], "revenue": [100.0, 50.0, 0.0],
                          "margin": [30.0, None, 0.0]})  # fmt: skip
    assign = pl.DataFrame({"account_id": ["a", "b", "c"], "segment": ["S", "S", "T"]})
    p = as_dict(segment_profiles(frame, assign))
    assert p["S"]["margin_pct"] == pytest.approx(0.30)  # b's revenue has no margin: left out
    assert p["T"]["margin_pct"] is None  # known margin but no revenue


def test_segment_traits_equal_per_segment_traits() -> None:
    from core.profile import segment_traits

    frame = random_frame(1200, seed=5)
    model = SegmentationModel("m", (BinsDimension("S", "employees", cuts=(500, 2500)),))
    assign = assign_segments(frame, model)
    together = segment_traits(frame, assign, limit=4, min_z=0.3)
    assert together["segment"].unique(maintain_order=True).to_list() == [
        s for s in ["< 500", "500–2,500", "≥ 2,500"] if s in set(together["segment"])
    ]
    for seg in ["< 500", "500–2,500", "≥ 2,500"]:
        alone = distinguishing_traits(frame, assign, seg, limit=4, min_z=0.3)
        assert together.filter(pl.col("segment") == seg).drop("segment").equals(alone)
    # employees defines the segments, so it is the strongest trait of the extremes
    assert together.filter(pl.col("segment") == "≥ 2,500")["column"][0] == "employees"
