"""Customer lifetime value from transactions (DOMAIN.md "Customer lifetime value").

Non-contractual repeat buying: BG/NBD for the number of future purchases,
Gamma-Gamma for the spend per purchase (see ``core.clv_models``), fitted on the
calibration summary; CLV = expected margin (revenue when there is no margin)
over the horizon, discounted monthly. With too few repeat buyers, or a fit that
does not converge, a clearly labelled simple retention formula is used instead
(``method = "simple-retention"``).

Time units are explicit. Durations are days / 7 in weeks (``time_unit="W"``)
or days (``"D"``); a month is the mean Gregorian month, 365.25 / 12 days
(= 4.348 weeks), never a 30-day shortcut.

Naming: the BG/NBD *recency* is the age at the last purchase (last minus first
purchase); segscope calls it ``bgnbd_recency`` and the customer's age ``t_age``
so neither is mistaken for the RFM ``recency_days`` (time since last purchase).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from core.clv_models import (
    ClvFitError,
    ModelFit,
    bgnbd_p_alive,
    bgnbd_purchase_front,
    fit_bgnbd,
    fit_gamma_gamma,
    gamma_gamma_expected_spend,
)
from core.errors import SegscopeError, UsageError
from core.metrics import cents

DAYS_PER_MONTH = 365.25 / 12
UNIT_DAYS = {"W": 7.0, "D": 1.0}
METHOD_MODEL = "bgnbd-gamma-gamma"
METHOD_SIMPLE = "simple-retention"

SUMMARY_SCHEMA = {
    "account_id": pl.Utf8,
    "purchase_days": pl.Int64,
    "repeat_frequency": pl.Int64,
    "bgnbd_recency": pl.Float64,
    "t_age": pl.Float64,
    "monetary_value": pl.Float64,
    "first_purchase": pl.Date,
    "last_purchase": pl.Date,
    "calibration_revenue": pl.Float64,
    "calibration_margin": pl.Float64,
    "margin_base": pl.Float64,
}


def _unit_days(time_unit: str) -> float:
    try:
        return UNIT_DAYS[time_unit]
    except KeyError:
        raise UsageError(
            f"time_unit {time_unit!r} is not supported: use 'W' (weeks, days/7) or 'D' (days)"
        ) from None


def _check_transactions(transactions: pl.DataFrame) -> None:
    missing = [c for c in ("account_id", "date", "amount") if c not in transactions.columns]
    if missing:
        raise SegscopeError(
            f"CLV needs transactions with columns account_id, date, amount; missing: "
            f"{', '.join(missing)}"
        )


def default_calibration_end(transactions: pl.DataFrame) -> dt.date:
    """The last transaction date (the calibration period includes its end day)."""
    _check_transactions(transactions)
    last = transactions["date"].max()
    if last is None:
        raise SegscopeError("CLV: the workspace has no transactions")
    return last  # type: ignore[return-value]


def calibration_summary(
    transactions: pl.DataFrame,
    calibration_end: dt.date | None = None,
    *,
    time_unit: str = "W",
    zero_amount_is_purchase: bool = False,
) -> pl.DataFrame:
    """Per-account calibration summary for BG/NBD and Gamma-Gamma.

    DOMAIN.md: "frequency = repeat purchase days, recency = last minus first
    purchase, T = calibration end minus first purchase, in weeks; same-day
    purchases merged; Gamma-Gamma on each repeat buyer's average spend over its
    repeat purchase days, the first purchase excluded, as in the papers."

    Transactions dated after ``calibration_end`` (inclusive end; default: the
    last transaction date) are ignored. Amounts are netted per account and day
    in integer cents (each amount rounded once, as in ``core.metrics``);
    a day whose net amount is <= 0 (returns only) is not a purchase day. With
    ``zero_amount_is_purchase=True`` a day netting exactly 0 counts as a purchase
    (free goods: the CDNOW data has eight $0.00 first orders that the papers
    count as customers).

    Columns: ``account_id``, ``purchase_days``, ``repeat_frequency`` (x),
    ``bgnbd_recency`` (tx, age at last purchase), ``t_age`` (T), both in
    ``time_unit``; ``monetary_value`` (mean net amount over repeat purchase
    days, null when x = 0), ``first_purchase``, ``last_purchase``,
    ``calibration_revenue`` (net amount over purchase days),
    ``calibration_margin`` (margin over the same days where known, else null)
    and ``margin_base`` (the revenue of those days, for a margin ratio).
    Accounts without a purchase day up to the calibration end are absent.
    """
    _check_transactions(transactions)
    unit = _unit_days(time_unit)
    if calibration_end is None:
        calibration_end = default_calibration_end(transactions)
    days = _account_days(transactions, calibration_end)
    return _summarise(days, calibration_end, unit, zero_amount_is_purchase)


def _is_purchase(zero_amount_is_purchase: bool) -> pl.Expr:
    return pl.col("amount") >= 0 if zero_amount_is_purchase else pl.col("amount") > 0


def _account_days(transactions: pl.DataFrame, calibration_end: dt.date) -> pl.DataFrame:
    """Net amount (and known margin) per account and day up to the calibration end."""
    has_margin = "margin" in transactions.columns
    # Integer cents, as the metrics and the bridge: a float sum of an order and
    # its cancellation can leave +1e-14, which would count as a purchase.
    margin_col = cents("margin") if has_margin else pl.lit(None, dtype=pl.Int64)
    return (
        transactions.lazy()
        .filter(pl.col("date") <= calibration_end)
        .select("account_id", "date", cents("amount").alias("amount"),
                margin_col.alias("margin"))
        .group_by("account_id", "date")
        .agg(
            pl.col("amount").sum(),
            pl.col("margin").sum().alias("margin"),
            pl.col("amount").filter(pl.col("margin").is_not_null()).sum().alias("margin_base"),
            pl.col("margin").is_not_null().any().alias("has_margin"),
        )
        .with_columns((pl.col(c) / 100).alias(c) for c in ("amount", "margin", "margin_base"))
        .collect()
    )


def _exact_cents(column: str) -> pl.Expr:
    return (pl.col(column) * 100).round(0).cast(pl.Int64)


def _summarise(
    days: pl.DataFrame, calibration_end: dt.date, unit: float, zero_amount_is_purchase: bool
) -> pl.DataFrame:
    days = days.lazy().filter(_is_purchase(zero_amount_is_purchase))
    end_days = (calibration_end - dt.date(1970, 1, 1)).days
    summary = (
        days.group_by("account_id")
        .agg(
            pl.len().cast(pl.Int64).alias("purchase_days"),
            pl.col("date").min().alias("first_purchase"),
            pl.col("date").max().alias("last_purchase"),
            # summed in integer cents: a float sum's last bits depend on the
            # order threads add them, and the Gamma-Gamma fit on a flat ridge
            # then stopped differently from run to run
            (_exact_cents("amount").sum() / 100).alias("calibration_revenue"),
            pl.col("amount").get(pl.col("date").arg_min()).alias("_first_amount"),
            pl.when(pl.col("has_margin").any())
            .then(_exact_cents("margin").filter(pl.col("has_margin")).sum() / 100)
            .alias("calibration_margin"),
            pl.col("margin_base").sum(),
        )
        .with_columns(
            (pl.col("purchase_days") - 1).alias("repeat_frequency"),
            (
                (pl.col("last_purchase") - pl.col("first_purchase")).dt.total_days() / unit
            ).alias("bgnbd_recency"),
            ((end_days - pl.col("first_purchase").cast(pl.Int64)) / unit).alias("t_age"),
        )
        .with_columns(
            pl.when(pl.col("repeat_frequency") > 0)
            .then(
                (pl.col("calibration_revenue") - pl.col("_first_amount"))
                / pl.col("repeat_frequency")
            )
            .alias("monetary_value")
        )
        .select(list(SUMMARY_SCHEMA))
        .sort("account_id")
        .collect()
    )
    return summary.cast(SUMMARY_SCHEMA)  # type: ignore[arg-type]


@dataclass(frozen=True)
class ClvResult:
    """CLV per account plus how it was obtained (method, basis, fits, notes)."""

    frame: pl.DataFrame
    method: str
    basis: str
    calibration_end: dt.date
    horizon_months: int
    annual_discount_rate: float
    time_unit: str
    bgnbd: ModelFit | None = None
    gamma_gamma: ModelFit | None = None
    retention_monthly: float | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)
    zero_amount_is_purchase: bool = False

    def describe(self) -> dict[str, object]:
        """A JSON-ready description (parameters, SEs, log-likelihoods, notes)."""
        return {
            "method": self.method,
            "basis": self.basis,
            "calibration_end": self.calibration_end.isoformat(),
            "horizon_months": self.horizon_months,
            "annual_discount_rate": self.annual_discount_rate,
            "time_unit": self.time_unit,
            "bgnbd": self.bgnbd.as_dict() if self.bgnbd else None,
            "gamma_gamma": self.gamma_gamma.as_dict() if self.gamma_gamma else None,
            "retention_monthly": self.retention_monthly,
            "count_zero_orders": self.zero_amount_is_purchase,
            "accounts": self.frame.height,
            "total_clv": float(self.frame["clv"].sum()),
            "notes": list(self.notes),
        }


def monthly_discount_rate(annual_discount_rate: float) -> float:
    """(1 + annual)^(1/12) - 1: the monthly rate compounding to the annual one."""
    return (1.0 + annual_discount_rate) ** (1.0 / 12.0) - 1.0


def _margin_ratio(summary: pl.DataFrame) -> tuple[np.ndarray, str]:
    """Per-account margin / revenue (the overall ratio when an account's is unknown)."""
    known = summary.filter(
        pl.col("calibration_margin").is_not_null() & (pl.col("margin_base") > 0)
    )
    if known.height == 0:
        return np.ones(summary.height), "revenue"
    overall = float(known["calibration_margin"].sum()) / float(known["margin_base"].sum())
    ratio = summary.select(
        pl.when(pl.col("calibration_margin").is_not_null() & (pl.col("margin_base") > 0))
        .then(pl.col("calibration_margin") / pl.col("margin_base"))
        .otherwise(overall)
    ).to_series()
    return ratio.to_numpy().astype(float), "margin"


def _discounted_expected_purchases(
    params: tuple[float, float, float, float],
    x: np.ndarray,
    tx: np.ndarray,
    T: np.ndarray,
    horizon_months: int,
    month_units: float,
    monthly_rate: float,
) -> tuple[np.ndarray, np.ndarray]:
    """(sum_k (E[Y(k)] - E[Y(k-1)]) / (1+d)^k over months k, E[Y(horizon)]).

    Purchases expected in month k are discounted by k months (end of month).
    E[Y(t)] = front(t; x, T) * P(alive | x, tx, T): the hypergeometric front
    is computed once per distinct (x, T) and mapped back.
    """
    stacked = np.column_stack([x, T])
    uniq, inverse = np.unique(stacked, axis=0, return_inverse=True)
    ux, uT = uniq[:, 0], uniq[:, 1]
    total = np.zeros(ux.size)
    previous = np.zeros(ux.size)
    for k in range(1, horizon_months + 1):
        cumulative = bgnbd_purchase_front(params, k * month_units, ux, uT)
        total += (cumulative - previous) / (1.0 + monthly_rate) ** k
        previous = cumulative
    inverse = inverse.ravel()
    alive = bgnbd_p_alive(params, x, tx, T)
    return total[inverse] * alive, previous[inverse] * alive


def _year_before(day: dt.date) -> dt.date:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year - 1, day=28)


def simple_retention_clv(
    transactions: pl.DataFrame,
    summary: pl.DataFrame,
    calibration_end: dt.date,
    *,
    horizon_months: int,
    annual_discount_rate: float,
    margin_ratio: np.ndarray,
    zero_amount_is_purchase: bool = False,
) -> tuple[np.ndarray, float, str]:
    """Fallback CLV = v * sum_{k=1..H} (r / (1+d))^k, labelled "simple-retention".

    v = the account's calibration revenue (x margin ratio) per month of age
    (t_age in months, at least 1); d = monthly discount rate; r = monthly
    retention = r_year^(1/12), where r_year is the share of accounts buying in
    the year before last that bought again in the last year (calendar years
    back from the calibration end), or, when nobody bought in the year before
    last, the share of customers with a repeat purchase day.
    Returns (clv per summary row, r, how r was estimated).
    """
    end = calibration_end
    start_last = _year_before(end)
    start_prev = _year_before(start_last)
    positive = pl.col("amount") >= 0 if zero_amount_is_purchase else pl.col("amount") > 0
    days = _account_days(transactions, end).filter(positive)
    prev = set(
        days.filter((pl.col("date") > start_prev) & (pl.col("date") <= start_last))[
            "account_id"
        ].to_list()
    )
    if prev:
        last = set(days.filter(pl.col("date") > start_last)["account_id"].to_list())
        r_year = len(prev & last) / len(prev)
        how = (
            f"annual retention {r_year:.3f}: share of the {len(prev)} accounts buying in "
            f"{start_prev + dt.timedelta(days=1)}..{start_last} that bought again by {end}"
        )
    else:
        r_year = float((summary["repeat_frequency"] > 0).mean())
        how = f"annual retention {r_year:.3f} taken from the repeat-buyer share (less than 2 years)"
    r = r_year ** (1.0 / 12.0)
    d = monthly_discount_rate(annual_discount_rate)
    factor = sum((r / (1.0 + d)) ** k for k in range(1, horizon_months + 1))
    age_months = np.maximum(
        (end - summary["first_purchase"]).dt.total_days().to_numpy() / DAYS_PER_MONTH, 1.0
    )
    monthly_value = summary["calibration_revenue"].to_numpy() * margin_ratio / age_months
    return monthly_value * factor, r, how


def customer_lifetime_value(
    transactions: pl.DataFrame,
    calibration_end: dt.date | None = None,
    *,
    horizon_months: int = 24,
    annual_discount_rate: float = 0.10,
    time_unit: str = "W",
    min_repeat_buyers: int = 30,
    zero_amount_is_purchase: bool = False,
) -> ClvResult:
    """CLV per customer: BG/NBD x Gamma-Gamma, discounted monthly, with a labelled fallback.

    DOMAIN.md: "CLV = expected margin over the horizon (default 24 months)
    discounted monthly (default 10 % a year) ... With too few repeat buyers to
    fit, fall back to a simple, clearly labelled retention formula and say so."

    CLV_i = E[spend_i] * margin_ratio_i * sum_{k=1..H} (E[Y_i(k m)] - E[Y_i((k-1) m)]) / (1+d)^k
    with m = one month in ``time_unit`` (365.25/12 days), d = (1+annual)^(1/12) - 1,
    E[Y] the BG/NBD conditional expectation and E[spend] the Gamma-Gamma
    conditional mean. margin_ratio is the account's calibration margin /
    revenue (the overall ratio where unknown); without any margin data it is 1
    and ``basis`` is "revenue". Gamma-Gamma is fitted on spend (revenue).

    Frame columns: account_id, repeat_frequency, bgnbd_recency, t_age,
    monetary_value, p_alive, expected_purchases (over the horizon),
    expected_spend, margin_ratio, clv (p_alive, expected_* are null under the
    fallback).
    """
    if horizon_months < 1:
        raise UsageError(f"horizon must be at least 1 month (got {horizon_months})")
    if not -1.0 < annual_discount_rate < 10.0:
        raise UsageError(f"annual discount rate {annual_discount_rate} is out of range")
    unit = _unit_days(time_unit)
    if calibration_end is None:
        calibration_end = default_calibration_end(transactions)
    _check_transactions(transactions)
    days = _account_days(transactions, calibration_end)
    summary = _summarise(days, calibration_end, unit, zero_amount_is_purchase)
    if summary.height == 0:
        raise SegscopeError(f"CLV: no purchase days on or before {calibration_end}")
    notes: list[str] = []
    returns = days.height - days.filter(_is_purchase(zero_amount_is_purchase)).height
    if returns:
        notes.append(
            f"{returns:,} account-days with a net amount <= 0 (returns, zero-value lines) "
            "are not purchases and "
            "are left out of frequency and spend"
        )
    ratio, basis = _margin_ratio(summary)
    notes.append(
        "CLV on contribution margin" if basis == "margin" else
        "CLV on revenue: the transactions have no margin"
    )
    x = summary["repeat_frequency"].to_numpy().astype(float)
    tx = summary["bgnbd_recency"].to_numpy()
    T = summary["t_age"].to_numpy()
    m = summary["monetary_value"].to_numpy().astype(float)
    repeat_buyers = int((x > 0).sum())
    month_units = DAYS_PER_MONTH / unit
    monthly_rate = monthly_discount_rate(annual_discount_rate)
    common = {
        "calibration_end": calibration_end,
        "horizon_months": horizon_months,
        "annual_discount_rate": annual_discount_rate,
        "time_unit": time_unit,
        "basis": basis,
        "zero_amount_is_purchase": zero_amount_is_purchase,
    }
    fallback_reason = None
    if repeat_buyers < min_repeat_buyers:
        fallback_reason = (
            f"only {repeat_buyers} repeat buyers (at least {min_repeat_buyers} needed to fit "
            "BG/NBD and Gamma-Gamma)"
        )
    else:
        try:
            bg = fit_bgnbd(x, tx, T)
            gg = fit_gamma_gamma(m, x)
        except ClvFitError as exc:
            fallback_reason = str(exc)
    if fallback_reason is not None:
        clv, r, how = simple_retention_clv(
            transactions,
            summary,
            calibration_end,
            horizon_months=horizon_months,
            annual_discount_rate=annual_discount_rate,
            margin_ratio=ratio,
            zero_amount_is_purchase=zero_amount_is_purchase,
        )
        notes.insert(0, f"simple retention formula used: {fallback_reason}; {how}")
        frame = summary.select(
            "account_id", "repeat_frequency", "bgnbd_recency", "t_age", "monetary_value"
        ).with_columns(
            pl.lit(None, dtype=pl.Float64).alias("p_alive"),
            pl.lit(None, dtype=pl.Float64).alias("expected_purchases"),
            pl.lit(None, dtype=pl.Float64).alias("expected_spend"),
            pl.Series("margin_ratio", ratio),
            pl.Series("clv", clv),
        )
        return ClvResult(
            frame=frame,
            method=METHOD_SIMPLE,
            retention_monthly=r,
            notes=tuple(notes),
            **common,  # type: ignore[arg-type]
        )
    bg_params = (bg["r"], bg["alpha"], bg["a"], bg["b"])
    gg_params = (gg["p"], gg["q"], gg["gamma"])
    discounted, expected = _discounted_expected_purchases(
        bg_params, x, tx, T, horizon_months, month_units, monthly_rate
    )
    spend = gamma_gamma_expected_spend(gg_params, m, x)
    notes.extend(bg.notes + gg.notes)
    frame = summary.select(
        "account_id", "repeat_frequency", "bgnbd_recency", "t_age", "monetary_value"
    ).with_columns(
        pl.Series("p_alive", bgnbd_p_alive(bg_params, x, tx, T)),
        pl.Series("expected_purchases", expected),
        pl.Series("expected_spend", spend),
        pl.Series("margin_ratio", ratio),
        pl.Series("clv", spend * ratio * discounted),
    )
    return ClvResult(
        frame=frame,
        method=METHOD_MODEL,
        bgnbd=bg,
        gamma_gamma=gg,
        notes=tuple(notes),
        **common,  # type: ignore[arg-type]
    )


HOLDOUT_TOP_BUCKET = 7  # the papers group calibration repeats as 0, 1, ..., 6, 7+


@dataclass(frozen=True)
class HoldoutComparison:
    """Expected against actual repeat purchases in a holdout period (the papers'
    validation: FHL 2005, figures 1-3 and the conditional-expectation table)."""

    calibration_end: dt.date
    holdout_end: dt.date
    holdout_length: float
    time_unit: str
    customers: int
    expected_total: float
    actual_total: int
    by_repeats: pl.DataFrame  # repeats (label), customers, expected, actual (per customer)

    def as_dict(self) -> dict[str, object]:
        return {
            "calibration_end": self.calibration_end.isoformat(),
            "holdout_end": self.holdout_end.isoformat(),
            "holdout_length": self.holdout_length,
            "time_unit": self.time_unit,
            "customers": self.customers,
            "expected_total": self.expected_total,
            "actual_total": self.actual_total,
            "by_calibration_repeats": self.by_repeats.to_dicts(),
        }


def holdout_comparison(
    transactions: pl.DataFrame,
    result: ClvResult,
    holdout_end: dt.date,
) -> HoldoutComparison:
    """Expected vs actual repeat purchases in the holdout (calibration end, holdout end].

    DOMAIN.md: "When a holdout period is given, show expected against actual
    repeat purchases in the holdout, in total and by number of calibration
    repeats (the papers' validation)". The customers are those of the
    calibration summary; actual = their purchase days in the holdout (netted
    per day in cents, the same purchase rule as the fit, zero-value days
    included when the fit counted them); expected =
    E[Y(t) | x, tx, T] with t the holdout length. ``by_repeats`` groups by
    calibration repeat purchases 0..6 and "7+", with the mean expected and
    actual per customer, as the papers' conditional-expectation figure.
    Needs the BG/NBD fit (not the simple-retention fallback).
    """
    if result.bgnbd is None:
        raise SegscopeError(
            "CLV holdout: the simple retention formula was used (no BG/NBD fit), so there "
            "are no expected purchases to compare"
        )
    cal_end = result.calibration_end
    if holdout_end <= cal_end:
        raise UsageError(
            f"holdout end {holdout_end} must be after the calibration end {cal_end}"
        )
    unit = _unit_days(result.time_unit)
    frame = result.frame
    in_holdout = transactions.filter(
        (pl.col("date") > cal_end) & (pl.col("date") <= holdout_end)
    )
    days = _account_days(in_holdout, holdout_end).filter(
        _is_purchase(result.zero_amount_is_purchase)
    )
    actual = days.group_by("account_id").agg(pl.len().cast(pl.Int64).alias("actual"))
    length = (holdout_end - cal_end).days / unit
    params = tuple(result.bgnbd.params[k] for k in ("r", "alpha", "a", "b"))
    expected = bgnbd_expected_purchases_of(params, length, frame)
    per = (
        frame.select("account_id", "repeat_frequency")
        .with_columns(pl.Series("expected", expected))
        .join(actual, on="account_id", how="left", maintain_order="left")
        .with_columns(pl.col("actual").fill_null(0))
    )
    top = HOLDOUT_TOP_BUCKET
    by = (
        per.with_columns(pl.col("repeat_frequency").clip(upper_bound=top).alias("_x"))
        .group_by("_x")
        .agg(
            pl.len().cast(pl.Int64).alias("customers"),
            pl.col("expected").mean(),
            pl.col("actual").cast(pl.Float64).mean(),
        )
        .sort("_x")
        .with_columns(
            pl.when(pl.col("_x") >= top).then(pl.lit(f"{top}+"))
            .otherwise(pl.col("_x").cast(pl.Utf8)).alias("repeats")
        )
        .select("repeats", "customers", "expected", "actual")
    )
    return HoldoutComparison(
        calibration_end=cal_end,
        holdout_end=holdout_end,
        holdout_length=length,
        time_unit=result.time_unit,
        customers=per.height,
        expected_total=float(per["expected"].sum()),
        actual_total=int(per["actual"].sum()),
        by_repeats=by,
    )


def bgnbd_expected_purchases_of(
    params: tuple[float, ...], t: float, frame: pl.DataFrame
) -> np.ndarray:
    """E[Y(t) | x, tx, T] for every row of a CLV frame (repeat_frequency,
    bgnbd_recency, t_age)."""
    from core.clv_models import bgnbd_expected_purchases

    return bgnbd_expected_purchases(
        params, t,
        frame["repeat_frequency"].to_numpy().astype(float),
        frame["bgnbd_recency"].to_numpy().astype(float),
        frame["t_age"].to_numpy().astype(float),
    )
