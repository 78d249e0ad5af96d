"""core.potential: planted quantiles, out-of-fold property, hand-worked TAM."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from scipy.stats import norm

from core.errors import SegscopeError
from core.potential import default_features, fit_potential, tam_by_segment

SIGMA = 0.6
INDUSTRY_EFFECT = {"chemicals": 1.0, "retail": 0.0, "machinery": 0.5}


def planted(n: int = 2000, prospects: int = 300, seed: int = 0) -> pl.DataFrame:
    """log revenue = 2 + 0.8 log(employees) + industry effect + N(0, SIGMA^2)."""
    rng = np.random.default_rng(seed)
    m = n + prospects
    employees = np.exp(rng.uniform(np.log(5), np.log(5000), m)).round().astype(np.int64)
    industry = rng.choice(list(INDUSTRY_EFFECT), m)
    mu = 2 + 0.8 * np.log(employees) + np.array([INDUSTRY_EFFECT[i] for i in industry])
    revenue = np.exp(mu + rng.normal(0, SIGMA, m))
    revenue[n:] = 0.0  # prospects
    return pl.DataFrame(
        {
            "account_id": [f"a{i:05d}" for i in range(m)],
            "employees": employees,
            "industry": industry,
            # noise, with nulls
            "region": pl.Series([[None, "north", "south"][k] for k in rng.integers(0, 3, m)],
                                dtype=pl.Utf8),
            "revenue": revenue,
            "true_q80": np.exp(mu + SIGMA * norm.ppf(0.8)),
        }
    )


@pytest.fixture(scope="module")
def fitted() -> tuple[pl.DataFrame, object]:
    frame = planted()
    res = fit_potential(frame, quantile=0.8, seed=0)
    return frame, res


def test_calibration_is_near_the_quantile(fitted) -> None:
    frame, res = fitted
    rep = res.report
    assert rep.n_customers == 2000 and rep.n_prospects == 300
    assert set(rep.features) == {"employees", "industry", "region"}
    assert abs(rep.calibration - 0.8) < 0.04, rep.calibration
    # Independent recomputation of calibration and pinball loss from the frame.
    f = res.frame.filter(pl.col("out_of_fold"))
    y, p = f["revenue"].to_numpy(), f["predicted"].to_numpy()
    assert rep.calibration == pytest.approx(np.mean(y <= p))
    d = y - p
    assert rep.pinball_loss == pytest.approx(np.mean(np.maximum(0.8 * d, -0.2 * d)))


def test_predictions_track_the_planted_quantile(fitted) -> None:
    frame, res = fitted
    ratio = res.frame["predicted"].to_numpy() / frame["true_q80"].to_numpy()
    assert abs(np.median(np.log(ratio))) < 0.1  # unbiased on the log scale
    assert np.quantile(np.abs(np.log(ratio)), 0.9) < 0.5
    # prospects get predictions from the full model too
    prospects = res.frame.filter(~pl.col("out_of_fold"))
    assert prospects.height == 300 and prospects["potential"].min() > 0


def test_potential_share_and_headroom_identities(fitted) -> None:
    _, res = fitted
    f = res.frame
    assert (f["potential"] >= f["revenue"]).all()
    np.testing.assert_allclose(f["potential"], np.maximum(f["predicted"], f["revenue"]))
    np.testing.assert_allclose(f["headroom"], f["potential"] - f["revenue"])
    np.testing.assert_allclose(f["share_of_wallet"], f["revenue"] / f["potential"])
    assert f.filter(~pl.col("out_of_fold"))["share_of_wallet"].max() == 0.0


def test_own_spend_does_not_set_own_prediction() -> None:
    frame = planted(n=300, prospects=0, seed=1)
    base = fit_potential(frame, seed=0).frame
    bumped = frame.with_columns(
        pl.when(pl.col("account_id") == "a00007").then(pl.col("revenue") * 1000)
        .otherwise(pl.col("revenue")).alias("revenue")
    )
    after = fit_potential(bumped, seed=0).frame
    row = pl.col("account_id") == "a00007"
    assert after.filter(row)["predicted"][0] == pytest.approx(base.filter(row)["predicted"][0])
    assert after.filter(row)["share_of_wallet"][0] == 1.0  # potential = its own revenue


def test_progress_is_reported() -> None:
    calls: list[tuple[int, int]] = []
    fit_potential(planted(n=200, prospects=10), n_splits=3,
                  progress=lambda d, t: calls.append((d, t)))
    assert calls[-1] == (4, 4) and len(calls) == 4


def test_clear_errors() -> None:
    frame = planted(n=8, prospects=5)
    with pytest.raises(SegscopeError, match="at least 10 customers.*there are 8"):
        fit_potential(frame)
    bare = planted(n=100).select("account_id", "revenue")
    assert default_features(bare) == []
    with pytest.raises(SegscopeError, match="needs firmographic columns"):
        fit_potential(bare)
    with pytest.raises(SegscopeError, match="unknown feature columns: nope"):
        fit_potential(planted(n=100), features=["employees", "nope"])


def test_tam_by_segment_by_hand() -> None:
    potential = pl.DataFrame(
        {
            "account_id": ["a", "b", "c", "d"],
            "revenue": [10.0, 0.0, 30.0, 5.0],
            "potential": [40.0, 20.0, 30.0, 10.0],
            "headroom": [30.0, 20.0, 0.0, 5.0],
        }
    )
    seg = pl.DataFrame({"account_id": ["a", "b", "c", "d"], "segment": ["X", "X", "Y", "Y"]})
    got = tam_by_segment(potential, seg)
    assert got.rows() == [("X", 2, 10.0, 60.0, 50.0, 10 / 60), ("Y", 2, 35.0, 40.0, 5.0, 35 / 40)]


def test_small_data_falls_back_to_a_linear_quantile_model() -> None:
    """40 customers: no tree can split a 32-row fold; the linear quantile model on
    log employees and industry recovers the planted effects (issue 13 item 4)."""
    frame = planted(n=40, prospects=20, seed=3).drop("region")
    res = fit_potential(frame, quantile=0.8, seed=0)
    rep = res.report
    assert rep.model == "linear-quantile" and not rep.flat
    assert "employees" in rep.features and set(rep.features) <= set(rep.candidate_features)
    assert any("linear quantile regression" in n for n in rep.notes)
    out = res.frame.with_columns(frame["employees"], frame["industry"])
    prospects = out.filter(~pl.col("out_of_fold"))
    # prospects of different size get different potentials, larger for larger ones
    assert prospects["predicted"].n_unique() == prospects.height
    retail = prospects.filter(pl.col("industry") == "retail").sort("employees")
    assert retail["predicted"].is_sorted()
    assert out["share_of_wallet"].is_between(0.0, 1.0).all()


def test_no_feature_with_weight_is_said_plainly() -> None:
    """A feature unrelated to revenue gets no weight: the report says the potential
    is a flat peer quantile and names no feature."""
    rng = np.random.default_rng(1)
    n = 60
    frame = pl.DataFrame({
        "account_id": [f"a{i}" for i in range(n)],
        "founded_year": np.full(n, 1990),
        "revenue": np.exp(rng.normal(8, 0.5, n)),
    })
    rep = fit_potential(frame).report
    assert rep.flat and rep.features == ()
    assert any("no feature carries weight" in n and "flat" in n for n in rep.notes)
    assert rep.as_dict()["flat"] is True


def test_share_of_wallet_is_zero_for_net_returns() -> None:
    """DOMAIN.md: share_of_wallet = max(revenue, 0) / potential, within 0-1."""
    frame = planted(n=200, prospects=10).with_columns(
        pl.when(pl.col("account_id") == "a00000").then(-500.0).otherwise(pl.col("revenue"))
        .alias("revenue"))
    out = fit_potential(frame).frame
    row = out.filter(pl.col("account_id") == "a00000").row(0, named=True)
    assert row["share_of_wallet"] == 0.0 and row["headroom"] == row["potential"] + 500.0
    assert out["share_of_wallet"].is_between(0.0, 1.0).all()
