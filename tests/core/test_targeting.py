"""core.targeting: a 3-segment example worked by hand and a plain-Python reference."""

from __future__ import annotations

import random

import polars as pl
import pytest

from core.errors import UsageError
from core.targeting import account_priority, segment_attractiveness, suggest_status


def profiles() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "segment": ["A", "B", "C"],
            "accounts": [100, 50, 10],
            "growth": [0.10, 0.30, None],
            "margin_pct": [0.2, 0.2, 0.2],
            "headroom": [1000.0, 5000.0, 3000.0],
            "share_of_wallet": [0.7, 0.2, 0.4],
        }
    )


SCORES = {"A": {"fit": 5, "accessibility": 3}, "B": {"fit": 1, "accessibility": 5},
          "C": {"accessibility": 1}}
WEIGHTS = {"size": 1, "growth": 1, "profitability": 1, "headroom": 2, "accessibility": 1,
           "competitive_intensity": 0, "fit": 1}


def test_three_segments_by_hand() -> None:
    got = segment_attractiveness(profiles(), WEIGHTS, SCORES)
    # no revenue column: size = accounts (100, 50, 10) -> 1, 40/90, 0;
    # growth (0.1, 0.3, null) -> 0, 1, null (C has no growth: left out of C's score);
    # profitability constant -> 0.5; headroom (1000, 5000, 3000) -> 0, 1, 0.5;
    # accessibility 3, 5, 1 -> 0.5, 1, 0; fit 5, 1, missing -> 1, 0, 0.5;
    # total weight 7 (6 for C, whose weights are renormalised without growth).
    assert got["score_size"].to_list() == pytest.approx([1, 40 / 90, 0])
    growth = got["score_growth"].to_list()
    assert growth[:2] == pytest.approx([0.0, 1.0]) and growth[2] is None
    assert got["score_profitability"].to_list() == [0.5, 0.5, 0.5]
    assert got["score_headroom"].to_list() == [0.0, 1.0, 0.5]
    assert got["score_accessibility"].to_list() == [0.5, 1.0, 0.0]
    assert got["score_fit"].to_list() == [1.0, 0.0, 0.5]
    assert "score_competitive_intensity" not in got.columns  # weight 0
    a = (1 + 0 + 0.5 + 2 * 0 + 0.5 + 1) / 7
    b = (40 / 90 + 1 + 0.5 + 2 * 1 + 1 + 0) / 7
    c = (0 + 0.5 + 2 * 0.5 + 0 + 0.5) / 6
    assert got["attractiveness"].to_list() == pytest.approx([a, b, c])
    assert got["missing"].to_list() == [None, None, "growth"]
    assert got["rank"].to_list() == [2, 1, 3]
    assert got["position"].to_list() == [0.7, 0.2, 0.4]
    # A: unattractive but strong -> maintain; B: attractive, weak -> target; C -> lean
    assert got["suggested_status"].to_list() == ["maintain", "target", "lean"]


def test_ranking_follows_the_weights() -> None:
    w = dict(WEIGHTS, headroom=0, fit=5)
    got = segment_attractiveness(profiles(), w, SCORES)
    # A: (1 + 0 + .5 + .5 + 5) / 9; B: (40/90 + 1 + .5 + 1 + 0) / 9;
    # C (no growth, weight 8): (0 + .5 + 0 + 2.5) / 8
    assert got["attractiveness"].to_list() == pytest.approx(
        [7 / 9, (40 / 90 + 2.5) / 9, 3 / 8]
    )
    assert got["rank"].to_list() == [1, 3, 2]


def _reference(rows: list[dict], weights: dict, scores: dict) -> list[float]:
    crit = {"size": "accounts", "growth": "growth", "profitability": "margin_pct",
            "headroom": "headroom"}
    out = [0.0] * len(rows)
    total = [0.0] * len(rows)
    for name, col in crit.items():
        w = weights.get(name, 0)
        if w <= 0:
            continue
        vals = [r[col] for r in rows]
        known = [v for v in vals if v is not None]
        if not known:
            continue
        lo, hi = min(known), max(known)
        for i, v in enumerate(vals):
            if v is None:  # no data: left out of this segment's score
                continue
            out[i] += w * (0.5 if hi == lo else (v - lo) / (hi - lo))
            total[i] += w
    for name in ("accessibility", "competitive_intensity", "fit"):
        w = weights.get(name, 0)
        if w <= 0:
            continue
        for i, r in enumerate(rows):
            s = scores.get(r["segment"], {}).get(name)
            out[i] += w * (0.5 if s is None else (s - 1) / 4)
            total[i] += w
    return [o / t for o, t in zip(out, total, strict=True)]


def test_matches_plain_python_reference() -> None:
    rng = random.Random(4)
    for _ in range(20):
        n = rng.randint(2, 8)
        rows = [
            {"segment": f"s{i}", "accounts": rng.randint(1, 500),
             "growth": rng.choice([None, rng.uniform(-0.5, 0.5)]),
             "margin_pct": rng.uniform(0, 0.5), "headroom": rng.uniform(0, 1e6)}
            for i in range(n)
        ]
        weights = {k: rng.choice([0, 0.5, 1, 3]) for k in
                   ("size", "growth", "profitability", "headroom", "accessibility",
                    "competitive_intensity", "fit")}
        weights["size"] = 1
        scores = {r["segment"]: {"fit": rng.randint(1, 5)} for r in rows if rng.random() < 0.7}
        got = segment_attractiveness(pl.DataFrame(rows), weights, scores)
        assert got["attractiveness"].to_list() == pytest.approx(_reference(rows, weights, scores))


def test_suggest_status_rule() -> None:
    assert suggest_status(0.8, 0.1) == "target"
    assert suggest_status(0.8, None) == "target"
    assert suggest_status(0.8, 0.6) == "maintain"
    assert suggest_status(0.2, 0.6) == "maintain"
    assert suggest_status(0.2, 0.1) == "lean"
    assert suggest_status(0.5, 0.5) == "maintain"  # thresholds are inclusive


def test_bad_weights_and_scores() -> None:
    with pytest.raises(UsageError, match=">= 0"):
        segment_attractiveness(profiles(), {"size": -1})
    with pytest.raises(UsageError, match="positive weight"):
        segment_attractiveness(profiles(), {"size": 0})
    with pytest.raises(UsageError, match="must be 1-5"):
        segment_attractiveness(profiles(), {"fit": 1}, {"A": {"fit": 7}})
    with pytest.raises(UsageError, match="unknown segments: Z"):
        segment_attractiveness(profiles(), None, {"Z": {"fit": 2}})


def test_account_priority_by_hand() -> None:
    frame = pl.DataFrame({"account_id": ["x", "y", "z", "w"],
                          "headroom": [100.0, 400.0, None, 50.0],
                          "fit": [0.9, 0.2, 1.0, 0.9]})
    got = account_priority(frame)
    assert got["account_id"].to_list() == ["x", "y", "w", "z"]
    assert got["priority"].to_list() == pytest.approx([90.0, 80.0, 45.0, 0.0])
    assert got["priority_rank"].to_list() == [1, 2, 3, 4]


def three_with_prospects() -> pl.DataFrame:
    return pl.DataFrame({
        "segment": ["Top", "Mid", "No purchases"],
        "accounts": [10, 40, 800],
        "revenue": [900.0, 100.0, 0.0],
        "growth": [0.2, -0.1, None],
        "margin_pct": [0.3, 0.1, None],
        "headroom": [100.0, 300.0, 500.0],
    })


DATA_ONLY = {"size": 1, "growth": 1, "profitability": 1, "headroom": 1,
             "accessibility": 0, "competitive_intensity": 0, "fit": 0}


def test_prospect_segment_is_scored_on_the_criteria_it_has() -> None:
    got = segment_attractiveness(three_with_prospects(), DATA_ONLY)
    # size = revenue (900, 100, 0) -> 1, 1/9, 0 (the 800 prospects count for nothing);
    # growth (.2, -.1, null) -> 1, 0, null; margin (.3, .1, null) -> 1, 0, null;
    # headroom (100, 300, 500) -> 0, .5, 1.
    # Top (1 + 1 + 1 + 0) / 4; Mid (1/9 + 0 + 0 + .5) / 4; prospects (0 + 1) / 2, not 0.5-filled
    assert got["score_size"].to_list() == pytest.approx([1, 1 / 9, 0])
    assert got["attractiveness"].to_list() == pytest.approx([0.75, (1 / 9 + 0.5) / 4, 0.5])
    assert got["missing"].to_list() == [None, None, "growth, profitability"]
    assert got["prospects_only"].to_list() == [False, False, True]
    assert got["rank"].to_list() == [1, 3, 2]


def test_prospects_do_not_rank_first_on_their_head_count() -> None:
    # with the default weights the 800 prospects are not first: size is revenue, not accounts
    got = segment_attractiveness(three_with_prospects())
    assert got.sort("rank")["segment"][0] == "Top"


def test_skipped_criterion_leaves_every_score() -> None:
    got = segment_attractiveness(three_with_prospects(), DATA_ONLY,
                                 skip={"growth": "earlier window 2% covered"})
    assert "score_growth" not in got.columns
    # Top (1 + 1 + 0) / 3; Mid (1/9 + 0 + .5) / 3; prospects (0 + 1) / 2
    assert got["attractiveness"].to_list() == pytest.approx(
        [2 / 3, (1 / 9 + 0.5) / 3, 0.5])
    assert got["missing"].to_list() == [None, None, "profitability"]


def test_top_revenue_class_is_not_lean_for_a_thin_growth_window() -> None:
    # Online Retail shape: A carries 80 % of revenue, B/C grew "2,800 %" against a 2 %-covered
    # window, there is no margin (null everywhere) and no potential.
    profiles = pl.DataFrame({
        "segment": ["A", "B", "C"],
        "accounts": [1170, 1426, 1776],
        "revenue": [8000.0, 1500.0, 500.0],
        "growth": [28.2, 34.8, 6.4],
        "margin_pct": [None, None, None],
    })
    got = segment_attractiveness(profiles, skip={"growth": "earlier window 2% covered"})
    # size (8000, 1500, 500) -> 1, 2/15, 0; analyst scores unset -> 0.5 at weight .5+.5+1;
    # margin null for every segment: not a criterion at all (not "missing" per segment)
    assert "score_profitability" not in got.columns
    assert got["attractiveness"].to_list() == pytest.approx(
        [(1 + 1) / 3, (2 / 15 + 1) / 3, 1 / 3])
    assert got["missing"].to_list() == [None, None, None]
    assert got["suggested_status"].to_list() == ["target", "lean", "lean"]
