"""core.clv / core.clv_models: hand-worked values and independent references."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import polars as pl
import pytest
from scipy.optimize import check_grad

from core.clv import (
    DAYS_PER_MONTH,
    calibration_summary,
    customer_lifetime_value,
    monthly_discount_rate,
)
from core.clv_models import (
    ClvFitError,
    _bgnbd_neg_ll_and_grad,
    _gg_neg_ll_and_grad,
    bgnbd_expected_purchases,
    bgnbd_log_likelihood_terms,
    bgnbd_p_alive,
    bgnbd_unconditional_expected,
    fit_bgnbd,
    fit_gamma_gamma,
    gamma_gamma_expected_spend,
    gamma_gamma_log_likelihood_terms,
)
from core.errors import UsageError

D = dt.date


def tiny() -> pl.DataFrame:
    rows = [
        # A: two lines on 01-01 (merged: 150), 01-08, a returns-only day, a netted day, a late day
        ("A", D(2024, 1, 1), 100.0, 30.0),
        ("A", D(2024, 1, 1), 50.0, None),
        ("A", D(2024, 1, 8), 40.0, 10.0),
        ("A", D(2024, 1, 15), -40.0, -10.0),
        ("A", D(2024, 1, 22), 60.0, 15.0),
        ("A", D(2024, 1, 22), -10.0, -2.0),
        ("A", D(2024, 2, 5), 999.0, 1.0),
        ("B", D(2024, 1, 15), 80.0, None),
        ("C", D(2024, 1, 10), -20.0, None),
        ("D", D(2024, 1, 29), 10.0, None),
    ]
    return pl.DataFrame(
        rows,
        schema={"account_id": pl.Utf8, "date": pl.Date, "amount": pl.Float64,
                "margin": pl.Float64},
        orient="row",
    )


def test_calibration_summary_by_hand() -> None:
    s = calibration_summary(tiny(), D(2024, 1, 29))
    assert s["account_id"].to_list() == ["A", "B", "D"]  # C only returned goods
    a, b, d = s.rows(named=True)
    # A: purchase days 01-01 (150), 01-08 (40), 01-22 (50); 01-15 nets -40; 02-05 is late.
    assert a["purchase_days"] == 3 and a["repeat_frequency"] == 2
    assert a["bgnbd_recency"] == 21 / 7 and a["t_age"] == 28 / 7
    assert a["monetary_value"] == (40 + 50) / 2
    assert a["calibration_revenue"] == 240.0
    assert a["calibration_margin"] == 30 + 10 + 15 - 2  # known margins on purchase days
    assert a["margin_base"] == 100 + 40 + 60 - 10
    assert (b["repeat_frequency"], b["bgnbd_recency"], b["t_age"]) == (0, 0.0, 2.0)
    assert b["monetary_value"] is None and b["calibration_margin"] is None
    assert (d["repeat_frequency"], d["t_age"]) == (0, 0.0)  # the end day is included


def test_calibration_summary_in_days() -> None:
    s = calibration_summary(tiny(), D(2024, 1, 29), time_unit="D")
    assert s.filter(pl.col("account_id") == "A")[["bgnbd_recency", "t_age"]].row(0) == (21, 28)
    with pytest.raises(UsageError, match="time_unit"):
        calibration_summary(tiny(), D(2024, 1, 29), time_unit="M")


def _pandas_summary(tr: pd.DataFrame, end: pd.Timestamp) -> pd.DataFrame:
    """Straightforward pandas reference for the calibration summary (weeks)."""
    t = tr[tr["date"] <= end]
    days = t.groupby(["account_id", "date"], as_index=False)["amount"].sum()
    days = days[days["amount"] > 0].sort_values(["account_id", "date"])
    out = []
    for acc, g in days.groupby("account_id"):
        first, last = g["date"].iloc[0], g["date"].iloc[-1]
        x = len(g) - 1
        out.append(
            {
                "account_id": acc,
                "repeat_frequency": x,
                "bgnbd_recency": (last - first).days / 7,
                "t_age": (end - first).days / 7,
                "monetary_value": g["amount"].iloc[1:].mean() if x else np.nan,
            }
        )
    return pd.DataFrame(out)


def test_calibration_summary_matches_pandas_reference() -> None:
    rng = np.random.default_rng(7)
    n = 3000
    tr = pd.DataFrame(
        {
            "account_id": [f"c{i:03d}" for i in rng.integers(0, 300, n)],
            "date": pd.Timestamp("2023-01-01")
            + pd.to_timedelta(rng.integers(0, 500, n), unit="D"),
            "amount": np.round(rng.normal(50, 60, n), 2),
        }
    )
    end = pd.Timestamp("2024-03-31")
    ref = _pandas_summary(tr, end).set_index("account_id").sort_index()
    got = calibration_summary(
        pl.from_pandas(tr).with_columns(pl.col("date").cast(pl.Date)), end.date()
    ).to_pandas().set_index("account_id")
    assert list(got.index) == list(ref.index)
    for col in ["repeat_frequency", "bgnbd_recency", "t_age", "monetary_value"]:
        np.testing.assert_allclose(got[col].to_numpy(float), ref[col].to_numpy(float),
                                   rtol=1e-12, equal_nan=True)


def _ref_bgnbd_ll(r: float, alpha: float, a: float, b: float, x: int, tx: float,
                  T: float) -> float:
    """FHL 2005 eq. (6) term by term with math.lgamma (no log-sum-exp tricks)."""
    def lbeta(u: float, v: float) -> float:
        return math.lgamma(u) + math.lgamma(v) - math.lgamma(u + v)

    common = math.lgamma(r + x) + r * math.log(alpha) - math.lgamma(r)
    first = math.exp(lbeta(a, b + x) - lbeta(a, b) + common - (r + x) * math.log(alpha + T))
    second = 0.0
    if x > 0:
        second = math.exp(
            lbeta(a + 1, b + x - 1) - lbeta(a, b) + common - (r + x) * math.log(alpha + tx)
        )
    return math.log(first + second)


def test_bgnbd_log_likelihood_matches_reference() -> None:
    params = (0.7, 5.0, 1.3, 2.2)
    x = np.array([0, 1, 2, 5, 12])
    tx = np.array([0.0, 3.0, 10.5, 20.0, 35.0])
    T = np.array([10.0, 12.0, 30.0, 20.0, 40.0])
    got = bgnbd_log_likelihood_terms(params, x, tx, T)
    ref = [_ref_bgnbd_ll(*params, int(xi), ti, Ti) for xi, ti, Ti in zip(x, tx, T, strict=True)]
    np.testing.assert_allclose(got, ref, rtol=1e-12)


def test_gamma_gamma_log_likelihood_matches_reference() -> None:
    p, q, g = 6.0, 4.0, 15.0
    m = np.array([10.0, 35.5, 120.0])
    x = np.array([1, 3, 7])
    got = gamma_gamma_log_likelihood_terms((p, q, g), m, x)
    ref = [
        math.lgamma(p * xi + q) - math.lgamma(p * xi) - math.lgamma(q) + q * math.log(g)
        + (p * xi - 1) * math.log(mi) + p * xi * math.log(xi)
        - (p * xi + q) * math.log(g + mi * xi)
        for mi, xi in zip(m, x, strict=True)
    ]
    np.testing.assert_allclose(got, ref, rtol=1e-12)


def test_analytic_gradients_match_finite_differences() -> None:
    rng = np.random.default_rng(1)
    x = rng.integers(0, 6, 200).astype(float)
    T = rng.uniform(5, 40, 200)
    tx = np.where(x > 0, rng.uniform(0, 1, 200) * T, 0.0)
    w = np.ones(200)
    theta = np.log([0.6, 4.0, 0.9, 2.0])
    err = check_grad(lambda t: _bgnbd_neg_ll_and_grad(t, x, tx, T, w)[0],
                     lambda t: _bgnbd_neg_ll_and_grad(t, x, tx, T, w)[1], theta)
    assert err < 1e-4
    m = rng.gamma(3, 10, 200)
    xg = np.maximum(x, 1)
    theta = np.log([5.0, 3.0, 12.0])
    err = check_grad(lambda t: _gg_neg_ll_and_grad(t, m, xg, w)[0],
                     lambda t: _gg_neg_ll_and_grad(t, m, xg, w)[1], theta)
    assert err < 1e-4


def _hyp2f1_series(a: float, b: float, c: float, z: float) -> float:
    total, term, n = 1.0, 1.0, 0
    while abs(term) > 1e-15 * abs(total):
        term *= (a + n) * (b + n) / ((c + n) * (n + 1)) * z
        total += term
        n += 1
    return total


def test_expected_purchases_matches_direct_formula() -> None:
    """FHL 2005 eq. (10) evaluated directly (plain series, no Euler transform)."""
    r, alpha, a, b = 0.243, 4.414, 0.793, 2.426
    for x, tx, T, t in [(0, 0.0, 30.0, 39.0), (2, 30.43, 38.86, 39.0), (4, 20.0, 35.0, 10.0)]:
        z = t / (alpha + T + t)
        bracket = 1 - ((alpha + T) / (alpha + T + t)) ** (r + x) * _hyp2f1_series(
            r + x, b + x, a + b + x - 1, z
        )
        alive = 1.0 if x == 0 else 1 / (1 + a / (b + x - 1) * ((alpha + T) / (alpha + tx)) ** (
            r + x))
        ref = (a + b + x - 1) / (a - 1) * bracket * alive
        got = float(bgnbd_expected_purchases((r, alpha, a, b), t, x, tx, T))
        assert got == pytest.approx(ref, rel=1e-10)
        assert float(bgnbd_p_alive((r, alpha, a, b), x, tx, T)) == pytest.approx(alive)


def test_new_customer_conditional_equals_unconditional() -> None:
    params = (0.5, 6.0, 1.4, 3.0)
    for t in (1.0, 13.0, 52.0):
        assert float(bgnbd_expected_purchases(params, t, 0, 0.0, 0.0)) == pytest.approx(
            float(bgnbd_unconditional_expected(params, t)), rel=1e-10
        )


def test_expected_purchases_stable_for_heavy_buyers() -> None:
    ey = bgnbd_expected_purchases((0.8, 3.0, 0.6, 4.0), 52.0, 400.0, 150.0, 152.0)
    # below the purchase rate so far (400 in 150 weeks) times 52 weeks, and far from 0
    assert np.isfinite(ey) and 50 < float(ey) < 400 / 150 * 52


def test_gamma_gamma_expected_spend_by_hand() -> None:
    p, q, g = 6.0, 4.0, 15.0
    # x = 0: population mean p*g/(q-1) = 30
    assert float(gamma_gamma_expected_spend((p, q, g), np.nan, 0)) == pytest.approx(30.0)
    # x = 2, m = 50: weights (q-1)/(px+q-1) = 3/15, px/(px+q-1) = 12/15
    assert float(gamma_gamma_expected_spend((p, q, g), 50.0, 2)) == pytest.approx(
        3 / 15 * 30 + 12 / 15 * 50
    )


def _simulate_bgnbd(params: tuple[float, float, float, float], n: int,
                    seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r, alpha, a, b = params
    rng = np.random.default_rng(seed)
    lam = rng.gamma(r, 1 / alpha, n)
    p = rng.beta(a, b, n)
    T = rng.uniform(20, 52, n)
    x = np.zeros(n)
    tx = np.zeros(n)
    for i in range(n):
        t = 0.0
        while True:  # FHL 2005: the customer may drop out right after each REPEAT purchase
            t += rng.exponential(1 / lam[i])
            if t > T[i]:
                break
            x[i] += 1
            tx[i] = t
            if rng.random() < p[i]:
                break
    return x, tx, T


def test_bgnbd_fit_recovers_simulated_parameters() -> None:
    true = (0.6, 5.0, 0.9, 2.5)
    fit = fit_bgnbd(*_simulate_bgnbd(true, 6000, seed=3))
    for name, value in zip(("r", "alpha", "a", "b"), true, strict=True):
        assert abs(fit.params[name] - value) < 3 * fit.std_errors[name], name


def test_degenerate_fit_raises_clear_error() -> None:
    with pytest.raises(ClvFitError, match="BG/NBD fit on 50 customers is degenerate"):
        fit_bgnbd(np.zeros(50), np.zeros(50), np.linspace(1, 30, 50))
    with pytest.raises(ClvFitError, match="no repeat buyers"):
        fit_gamma_gamma(np.full(5, np.nan), np.zeros(5))


def test_time_unit_only_rescales_alpha() -> None:
    x, tx, T = _simulate_bgnbd((0.6, 5.0, 0.9, 2.5), 1500, seed=5)
    weeks = fit_bgnbd(x, tx, T)
    days = fit_bgnbd(x, tx * 7, T * 7)
    assert days.params["alpha"] == pytest.approx(7 * weeks.params["alpha"], rel=1e-4)
    for k in ("r", "a", "b"):
        assert days.params[k] == pytest.approx(weeks.params[k], rel=1e-4)
    assert days.log_likelihood == pytest.approx(weeks.log_likelihood - x.sum() * math.log(7),
                                                rel=1e-8)


def test_monthly_discount_rate() -> None:
    assert monthly_discount_rate(0.10) == pytest.approx(1.1 ** (1 / 12) - 1)
    assert (1 + monthly_discount_rate(0.10)) ** 12 == pytest.approx(1.10)
    assert DAYS_PER_MONTH == 30.4375


def _simulated_transactions(n: int = 600, seed: int = 11,
                            spend_heterogeneity: bool = True) -> pl.DataFrame:
    x, tx, T = _simulate_bgnbd((0.8, 4.0, 0.7, 3.0), n, seed)
    end = D(2024, 12, 31)
    rng = np.random.default_rng(seed)
    # Gamma-Gamma: spend ~ Gamma(p=4, rate nu_i), nu_i ~ Gamma(q=5, rate gamma=120)
    nu = rng.gamma(5.0, 1 / 120.0, n) if spend_heterogeneity else np.full(n, 0.1)
    rows = []
    for i in range(n):
        first = end - dt.timedelta(days=int(round(T[i] * 7)))
        dates = [first] + sorted(
            first + dt.timedelta(days=int(d)) for d in rng.integers(1, max(int(tx[i] * 7), 1) + 1,
                                                                      int(x[i]))
        )
        for day in dates:
            rows.append((f"a{i:04d}", day, float(rng.gamma(4, 1 / nu[i]))))
    return pl.DataFrame(rows, schema={"account_id": pl.Utf8, "date": pl.Date,
                                      "amount": pl.Float64}, orient="row")


def test_clv_discounting_and_month_length() -> None:
    tr = _simulated_transactions()
    end = D(2024, 12, 31)
    res = customer_lifetime_value(tr, end, horizon_months=24, annual_discount_rate=0.10)
    assert res.method == "bgnbd-gamma-gamma" and res.basis == "revenue"
    params = tuple(res.bgnbd.params.values())
    f = res.frame.head(20)
    x, tx, T = (f[c].to_numpy().astype(float) for c in ("repeat_frequency", "bgnbd_recency",
                                                         "t_age"))
    d = 1.1 ** (1 / 12) - 1
    month_weeks = 365.25 / 12 / 7
    expected = np.zeros(len(f))
    prev = np.zeros(len(f))
    for k in range(1, 25):
        cum = bgnbd_expected_purchases(params, k * month_weeks, x, tx, T)
        expected += (cum - prev) / (1 + d) ** k
        prev = cum
    np.testing.assert_allclose(f["clv"].to_numpy(), f["expected_spend"].to_numpy() * expected,
                               rtol=1e-10)
    np.testing.assert_allclose(f["expected_purchases"].to_numpy(), prev, rtol=1e-10)
    # Without discounting the monthly sum telescopes to spend x E[Y(24 months)].
    flat = customer_lifetime_value(tr, end, annual_discount_rate=0.0).frame.head(20)
    np.testing.assert_allclose(flat["clv"].to_numpy(),
                               (flat["expected_spend"] * flat["expected_purchases"]).to_numpy(),
                               rtol=1e-10)


def test_clv_on_margin_when_margin_is_known() -> None:
    tr = _simulated_transactions()
    end = D(2024, 12, 31)
    rev = customer_lifetime_value(tr, end)
    mar = customer_lifetime_value(tr.with_columns((pl.col("amount") * 0.3).alias("margin")), end)
    assert mar.basis == "margin" and any("margin" in n for n in mar.notes)
    # margins are rounded to cents line by line, so each account's ratio is 0.3
    # to within a cent per line, and the CLV is the revenue CLV times that ratio
    ratio = mar.frame["margin_ratio"].to_numpy()
    np.testing.assert_allclose(ratio, 0.3, rtol=1e-3)
    np.testing.assert_allclose(mar.frame["clv"].to_numpy(), ratio * rev.frame["clv"].to_numpy(),
                               rtol=1e-6)


def test_homogeneous_spend_is_a_ridge_not_a_failure() -> None:
    """Spend with no customer heterogeneity: q, gamma -> infinity with gamma/q fixed.

    The optimiser may stop anywhere on that ridge (or at the bound) depending on
    the last bits of the sums; the outcome must not: the fit is kept with a
    note, and the expected spend is the common mean 4 x 10 = 40 either way.
    """
    tr = _simulated_transactions(spend_heterogeneity=False)
    res = customer_lifetime_value(tr, D(2024, 12, 31))
    assert res.method == "bgnbd-gamma-gamma"
    assert any("q, gamma not identified" in n for n in res.notes)
    assert res.describe()["gamma_gamma"]["std_errors"]["q"] is None  # JSON-safe
    s = calibration_summary(tr, D(2024, 12, 31))
    m = s["monetary_value"].to_numpy().astype(float)
    x = s["repeat_frequency"].to_numpy()
    rng = np.random.default_rng(0)
    for _ in range(4):
        fit = fit_gamma_gamma(m * (1 + 1e-12 * rng.standard_normal(m.size)), x)
        assert "q, gamma not identified" in fit.notes[0]
        mean = fit["p"] * fit["gamma"] / (fit["q"] - 1)
        assert mean == pytest.approx(np.nanmean(m), rel=0.05)


def test_simple_retention_fallback_by_hand() -> None:
    end = D(2024, 12, 31)
    rows = [
        ("P1", D(2023, 1, 1), 100.0), ("P1", D(2024, 6, 1), 100.0),
        ("P2", D(2023, 3, 1), 50.0), ("P2", D(2024, 2, 1), 50.0),
        ("P3", D(2023, 5, 1), 80.0),
        ("P4", D(2023, 7, 1), 40.0),
        ("P5", D(2024, 12, 1), 30.0),
    ]
    tr = pl.DataFrame(rows, schema={"account_id": pl.Utf8, "date": pl.Date,
                                    "amount": pl.Float64}, orient="row")
    res = customer_lifetime_value(tr, end, horizon_months=24, annual_discount_rate=0.10)
    assert res.method == "simple-retention" and res.bgnbd is None
    assert "only 2 repeat buyers" in res.notes[0]
    # P1..P4 bought in 2023, P1 and P2 again in 2024: yearly retention 1/2.
    r = 0.5 ** (1 / 12)
    assert res.retention_monthly == pytest.approx(r)
    d = 1.1 ** (1 / 12) - 1
    factor = sum((r / (1 + d)) ** k for k in range(1, 25))
    p1 = 200 / ((end - D(2023, 1, 1)).days / 30.4375) * factor
    p5 = 30 / 1.0 * factor  # a month-old account counts one month of age
    clv = dict(res.frame.select("account_id", "clv").iter_rows())
    assert clv["P1"] == pytest.approx(p1) and clv["P5"] == pytest.approx(p5)
    assert res.frame["p_alive"].null_count() == res.frame.height


def test_clv_rejects_bad_arguments() -> None:
    with pytest.raises(UsageError, match="horizon"):
        customer_lifetime_value(tiny(), horizon_months=0)
