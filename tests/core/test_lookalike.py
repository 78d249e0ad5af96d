"""core.lookalike: signal vs noise AUC, nearest ideal customers by hand."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest
from sklearn.metrics import roc_auc_score

from core.errors import SegscopeError
from core.lookalike import nearest, score_lookalikes, training_sample


def population(n_customers: int = 1500, n_prospects: int = 300, seed: int = 0) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    n = n_customers + n_prospects
    return pl.DataFrame(
        {
            "account_id": [f"a{i:05d}" for i in range(n)],
            "name": [f"Company {i}" for i in range(n)],
            "industry": rng.choice(["chemicals", "retail", "machinery", "food"], n),
            "employees": np.exp(rng.uniform(np.log(5), np.log(5000), n)).round().astype(int),
            "region": rng.choice(["north", "south", "east"], n),
            "is_customer": np.arange(n) < n_customers,
        }
    )


def test_auc_is_high_on_signal() -> None:
    frame = population()
    rng = np.random.default_rng(1)
    ideal = (frame["industry"] == "chemicals") & (frame["employees"] > 300)
    ideal = ideal.to_numpy() ^ (rng.random(frame.height) < 0.03)  # a little label noise
    res = score_lookalikes(frame, ideal, seed=0)
    print(f"signal AUC = {res.cv_auc:.3f} folds {np.round(res.cv_auc_folds, 3)}")
    assert res.cv_auc > 0.85
    assert res.n_prospects == 300 and res.frame.height == 300
    assert set(res.features) == {"industry", "employees", "region"}
    top = res.frame.head(30).join(frame, on="account_id")
    # the best-scored prospects look like the ideal: big chemicals companies
    assert (top["industry"] == "chemicals").mean() > 0.8
    assert res.frame["lookalike_score"].is_sorted(descending=True)
    assert res.frame["lookalike_rank"].to_list() == list(range(1, 301))
    assert not any("coin flip" in n for n in res.notes)


def test_auc_is_a_coin_flip_on_noise() -> None:
    frame = population(seed=2)
    ideal = np.random.default_rng(3).random(frame.height) < 0.3
    res = score_lookalikes(frame, ideal, seed=0)
    print(f"noise AUC = {res.cv_auc:.3f}")
    assert abs(res.cv_auc - 0.5) < 0.06
    assert any("coin flip" in n for n in res.notes)


def test_nearest_ideal_customers_by_hand() -> None:
    # 10 ideal customers on a line y = 0, 10 other customers on y = 10, 2 prospects.
    xs = [float(i) for i in range(10)]
    rows = [(f"I{i}", f"Ideal {i}", x, 0.0, True) for i, x in enumerate(xs)]
    rows += [(f"O{i}", f"Other {i}", x, 10.0, True) for i, x in enumerate(xs)]
    rows += [("P1", "Prospect 1", 3.0, 0.0, False), ("P2", "Prospect 2", 8.6, 1.0, False)]
    frame = pl.DataFrame(rows, schema=["account_id", "name", "x", "y", "is_customer"],
                         orient="row")
    ideal = frame["account_id"].str.starts_with("I")
    res = score_lookalikes(frame, ideal, features=["x", "y"], n_splits=2)
    got = {r["account_id"]: r for r in res.frame.iter_rows(named=True)}
    # P1 sits exactly on I3; next are I2 and I4 at one x-step (tie broken by index order).
    assert got["P1"]["nearest_1_id"] == "I3" and got["P1"]["nearest_1_distance"] == 0.0
    assert {got["P1"]["nearest_2_id"], got["P1"]["nearest_3_id"]} == {"I2", "I4"}
    assert got["P1"]["nearest_1_name"] == "Ideal 3"
    # Independent brute force in the standardised space (population sd over 22 accounts).
    x = frame["x"].to_numpy()
    y = frame["y"].to_numpy()
    sx, sy = x.std(), y.std()
    px, py = 8.6, 1.0
    dists = sorted((math.hypot((px - xi) / sx, (py - 0.0) / sy), f"I{i}")
                   for i, xi in enumerate(xs))
    assert [got["P2"][f"nearest_{j}_id"] for j in (1, 2, 3)] == [d[1] for d in dists[:3]]
    assert [got["P2"][f"nearest_{j}_distance"] for j in (1, 2, 3)] == pytest.approx(
        [d[0] for d in dists[:3]])
    # prospects on the ideal line score higher than the one off it
    assert got["P1"]["lookalike_score"] > 0.5


def test_needs_enough_of_each_class() -> None:
    frame = population(n_customers=100, n_prospects=10)
    ideal = np.zeros(frame.height, dtype=bool)
    ideal[:5] = True
    with pytest.raises(SegscopeError, match="at least 10 ideal.*there are 5 ideal and 95 other"):
        score_lookalikes(frame, ideal)


def test_reason_limits_are_applied_and_said() -> None:
    frame = population(n_customers=400, n_prospects=60, seed=5)
    ideal = (frame["employees"] > 1000).to_numpy()
    res = score_lookalikes(frame, ideal, reason_limit=20, reference_limit=15)
    f = res.frame
    assert f["nearest_1_id"].head(20).null_count() == 0
    assert f["nearest_1_id"].tail(40).null_count() == 40
    assert any("best 20 of 60 prospects" in n for n in res.notes)
    assert any("random 15 of the" in n for n in res.notes)
    assert (res.n_reasons, res.n_reference) == (20, 15)
    assert f["nearest_3_distance"].head(20).min() >= f["nearest_1_distance"].head(20).min()


def planted(n_customers: int, n_prospects: int, seed: int) -> tuple[pl.DataFrame, np.ndarray]:
    """Ideal with probability rising with size and in chemicals: a noisy planted rule."""
    frame = population(n_customers, n_prospects, seed=seed)
    rng = np.random.default_rng(seed + 100)
    logit = (1.6 * (frame["industry"] == "chemicals").to_numpy()
             + 1.2 * (np.log(frame["employees"].to_numpy()) - np.log(300)) / 2 - 2.5)
    ideal = rng.random(frame.height) < 1 / (1 + np.exp(-logit))
    return frame, ideal


def test_subsampled_fit_ranks_like_the_full_fit() -> None:
    frame, ideal = planted(8000, 2000, seed=7)
    full = score_lookalikes(frame, ideal, train_limit=None, reason_limit=10)
    sub = score_lookalikes(frame, ideal, train_limit=1500, ideal_limit=500, reason_limit=10)
    n_pos = int(ideal[:8000].sum())
    assert (full.train_ideal, full.train_other) == (n_pos, 8000 - n_pos)
    assert (sub.train_ideal, sub.train_other) == (500, 1000)
    assert any(f"stratified sample of 1500 of the 8000 customers (500 of {n_pos} ideal" in n
               for n in sub.notes)
    assert not any("stratified" in n for n in full.notes)
    # Held-out quality: CV AUC, and the AUC of the prospect scores against the
    # planted labels of the prospects (never seen by either fit).
    print(f"CV AUC full {full.cv_auc:.3f} sub {sub.cv_auc:.3f}")
    assert abs(full.cv_auc - sub.cv_auc) < 0.03
    truth = dict(zip(frame["account_id"].to_list()[8000:], ideal[8000:], strict=True))

    def prospect_auc(res) -> float:  # noqa: ANN001
        y = [truth[a] for a in res.frame["account_id"].to_list()]
        return roc_auc_score(y, res.frame["lookalike_score"].to_numpy())

    a_full, a_sub = prospect_auc(full), prospect_auc(sub)
    print(f"prospect AUC full {a_full:.3f} sub {a_sub:.3f}")
    assert a_full > 0.7
    assert abs(a_full - a_sub) < 0.02
    # The class weights keep the scores on the full base's scale: the mean
    # score matches the full fit's (an unweighted 1:2 sample would inflate it).
    m_full, m_sub = full.frame["lookalike_score"].mean(), sub.frame["lookalike_score"].mean()
    assert abs(m_full - m_sub) < 0.03
    assert abs(m_full - ideal[:8000].mean()) < 0.05


def test_training_sample_counts_by_hand() -> None:
    rng = np.random.default_rng(0)
    pos, neg = training_sample(100, 900, 200, 50, rng)
    assert (pos.size, neg.size) == (50, 150)
    assert np.all(np.diff(pos) > 0) and np.all(np.diff(neg) > 0)  # sorted, no repeats
    assert pos.max() < 100 and neg.max() < 900
    pos, neg = training_sample(30, 900, 200, 50, rng)  # ideal class kept whole
    assert (pos.size, neg.size) == (30, 170)
    pos, neg = training_sample(30, 100, 200, 50, rng)  # under the limit: everything
    assert pos.tolist() == list(range(30)) and neg.tolist() == list(range(100))
    pos, neg = training_sample(5000, 20, 200, None, rng)  # keeps MIN_PER_CLASS others
    assert (pos.size, neg.size) == (190, 10)


def test_nearest_matches_a_plain_distance_matrix() -> None:
    rng = np.random.default_rng(4)
    q = rng.normal(size=(200, 7))
    ref = np.vstack([rng.normal(size=(300, 7)), q[:5]])  # 5 exact duplicates
    dist, nbr = nearest(q, ref, 3)
    full = np.sqrt(((q[:, None, :] - ref[None, :, :]) ** 2).sum(axis=2))
    want = np.argsort(full, axis=1)[:, :3]
    assert (nbr == want).all()
    assert dist == pytest.approx(np.take_along_axis(full, want, axis=1), rel=1e-12)
    assert (dist[:5, 0] == 0.0).all() and (nbr[:5, 0] == np.arange(300, 305)).all()
    empty_d, empty_i = nearest(q[:0], ref, 3)
    assert empty_d.shape == (0, 3) and empty_i.shape == (0, 3)


def test_no_reason_limit_lists_reasons_for_every_prospect() -> None:
    frame = population(n_customers=400, n_prospects=60, seed=5)
    ideal = (frame["employees"] > 1000).to_numpy()
    res = score_lookalikes(frame, ideal, reason_limit=None, reference_limit=None)
    assert res.frame["nearest_3_id"].null_count() == 0
    assert res.n_reasons == 60 and res.n_reference == int(ideal[:400].sum())
    assert not any("reason" in n for n in res.notes)


def test_no_prospects_gives_an_empty_list_not_a_crash() -> None:
    frame = population(n_customers=600, n_prospects=0)
    ideal = (frame["industry"] == "chemicals").to_numpy()
    res = score_lookalikes(frame, ideal, seed=0)
    assert res.n_prospects == 0 and res.frame.height == 0
    assert "account_id" in res.frame.columns
