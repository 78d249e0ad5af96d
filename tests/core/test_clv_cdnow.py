"""CLV fits reproduce the published CDNOW estimates (tests/data/cdnow/PROVENANCE.md).

BG/NBD (Fader, Hardie & Lee 2005, Marketing Science, table/section 5): 39-week
calibration period from 1997-01-01 (so the calibration end is 1997-09-30, T
measured to that day), r = 0.243, alpha = 4.414, a = 0.793, b = 2.426,
LL = -9582.4; customer 0001 (x = 2, tx = 30.43, T = 38.86) has E[Y(39)] = 1.226.
Gamma-Gamma (FHL 2005 JMR; Fader & Hardie note 025): 946 repeat buyers,
p = 6.25, q = 3.74, gamma = 15.44.

Data prep that matters: customers are the sample_id column; same-day
transactions are merged (177 customer-days have more than one line); the eight
customers whose only order is $0.00 are customers in the papers, which is what
``zero_amount_is_purchase=True`` reproduces. Under the DOMAIN.md default (a day
netting <= 0 is not a purchase) those eight drop out and r moves to 0.244.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from core.clv import calibration_summary, customer_lifetime_value
from core.clv_models import bgnbd_expected_purchases, fit_bgnbd, fit_gamma_gamma

DATA = Path(__file__).resolve().parents[1] / "data" / "cdnow" / "CDNOW_sample.txt"
CAL_END = dt.date(1997, 9, 30)


@pytest.fixture(scope="module")
def cdnow() -> pl.DataFrame:
    rows = [line.split() for line in DATA.read_text().splitlines() if line.strip()]
    return pl.DataFrame(
        {
            "account_id": [r[1] for r in rows],
            "date": [r[2] for r in rows],
            "amount": [float(r[4]) for r in rows],
        }
    ).with_columns(pl.col("date").str.to_date("%Y%m%d"))


@pytest.fixture(scope="module")
def summary(cdnow: pl.DataFrame) -> pl.DataFrame:
    return calibration_summary(cdnow, CAL_END, zero_amount_is_purchase=True)


def test_calibration_period_is_39_weeks_from_1997_01_01() -> None:
    assert (CAL_END - dt.date(1997, 1, 1)).days + 1 == 39 * 7


def test_sample_shape(cdnow: pl.DataFrame, summary: pl.DataFrame) -> None:
    assert cdnow.height == 6919
    assert summary.height == 2357
    assert int((summary["repeat_frequency"] > 0).sum()) == 946


def test_bgnbd_reproduces_published_estimates(summary: pl.DataFrame) -> None:
    fit = fit_bgnbd(
        summary["repeat_frequency"].to_numpy(),
        summary["bgnbd_recency"].to_numpy(),
        summary["t_age"].to_numpy(),
    )
    got = {k: round(v, 3) for k, v in fit.params.items()}
    assert got == {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    assert round(fit.log_likelihood, 1) == -9582.4
    assert all(np.isfinite(v) and v > 0 for v in fit.std_errors.values())
    # The paper's worked example: customer 0001 over the next 39 weeks.
    row = summary.filter(pl.col("account_id") == "0001")
    assert (row["repeat_frequency"][0], round(row["bgnbd_recency"][0], 2),
            round(row["t_age"][0], 2)) == (2, 30.43, 38.86)
    params = tuple(fit.params.values())
    ey = bgnbd_expected_purchases(params, 39.0, 2.0, row["bgnbd_recency"][0], row["t_age"][0])
    assert round(float(ey), 3) == 1.226


def test_gamma_gamma_reproduces_published_estimates(summary: pl.DataFrame) -> None:
    fit = fit_gamma_gamma(
        summary["monetary_value"].to_numpy(), summary["repeat_frequency"].to_numpy()
    )
    assert fit.n_customers == 946
    got = {k: round(v, 2) for k, v in fit.params.items()}
    assert got == {"p": 6.25, "q": 3.74, "gamma": 15.44}


def test_domain_default_drops_the_zero_dollar_customers(cdnow: pl.DataFrame) -> None:
    strict = calibration_summary(cdnow, CAL_END)
    assert strict.height == 2357 - 8
    fit = fit_bgnbd(
        strict["repeat_frequency"].to_numpy(),
        strict["bgnbd_recency"].to_numpy(),
        strict["t_age"].to_numpy(),
    )
    assert round(fit.params["r"], 3) == 0.244  # not the published 0.243


def test_clv_end_to_end_on_cdnow(cdnow: pl.DataFrame) -> None:
    res = customer_lifetime_value(cdnow, CAL_END, zero_amount_is_purchase=True)
    assert res.method == "bgnbd-gamma-gamma"
    assert res.basis == "revenue"
    assert round(res.bgnbd["r"], 3) == 0.243 and round(res.gamma_gamma["q"], 2) == 3.74
    assert res.frame.height == 2357
    assert res.frame["clv"].min() > 0
    assert any("revenue" in n for n in res.notes)
