"""Account potential, share of wallet and headroom (DOMAIN.md "Account potential").

"An account's wallet is what it could spend with us; what a top-performing
peer of the same profile spends is the standard estimate (high-quantile
modelling, Perlich, Rosset et al., KDD 2007). Fit a quantile model (default
q = 0.8) of window revenue on firmographics over active customers, with
out-of-fold predictions so that an account's own spend does not set its
potential. Then potential = max(prediction, revenue), share_of_wallet =
max(revenue, 0) / potential (always within 0-1; prospects 0), headroom =
potential - revenue. Prospects get a potential from the same model. TAM of a
segment = sum of potential over its accounts and prospects."

With enough customers the model is scikit-learn's HistGradientBoostingRegressor
with quantile loss;
categorical columns are passed as integer codes flagged categorical (the model
splits on them natively) and missing values go to the model's missing branch.
The target is log1p(revenue): quantiles commute with monotone transforms, so
expm1 of the predicted q-quantile of log1p(revenue) is the q-quantile of
revenue, and the log scale keeps a few huge accounts from dominating the fit.

With few customers (a fold trains on fewer than twice the trees' minimum leaf
size, so no tree can split: Maven CRM's 85 customers gave every account its
fold's training quantile) the model is a linear quantile regression on the log
features instead (DOMAIN.md's fallback): numbers >= 0 as log1p, others as
they are, missing values at the training median, text one-hot over its most
frequent categories, all standardised, with a small L1 penalty so that a
feature without signal gets no weight. The report names the features that
carry weight (a non-zero coefficient; for the trees, a feature whose shuffling
moves a prediction) and says plainly when none does: then the potential is a
flat peer quantile, not a model.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import polars as pl
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.linear_model import QuantileRegressor
from sklearn.metrics import mean_pinball_loss
from sklearn.model_selection import KFold
from threadpoolctl import threadpool_limits

from core.errors import SegscopeError, UsageError

# Firmographic and purchasing-behaviour attributes (docs/architecture.md,
# accounts frame) that describe an account without its spend with us.
FIRMOGRAPHIC_COLUMNS: tuple[str, ...] = (
    "industry",
    "country",
    "region",
    "employees",
    "annual_revenue",
    "founded_year",
    "legal_form",
    "ownership",
    "business_phase",
    "purchasing_organisation",
    "buying_driver",
    "offer_type",
    "buying_center_size",
    "collaboration",
    "touchpoint_preference",
)
MIN_CUSTOMERS = 10
# The trees' minimum leaf size (see _model): a fold with fewer than twice this
# many training rows cannot split, so the linear fallback is used.
MIN_SAMPLES_LEAF = 40
# L1 penalty of the linear fallback (standardised features, log1p target).
# Measured on Maven CRM (85 customers, 5 features), out-of-fold pinball loss
# (log1p) / calibration at q = 0.8: alpha 0 -> 0.093 / 0.71, 0.01 -> 0.088 /
# 0.74, 0.05 -> 0.080 / 0.80, 0.1 -> 0.079 / 0.77 (one feature left); the
# trees' flat quantile scored 0.104.
LINEAR_ALPHA = 0.05
# The linear fallback one-hot encodes at most this many categories per text column.
LINEAR_MAX_CATEGORIES = 20
MODEL_TREES = "gradient-boosting"
MODEL_LINEAR = "linear-quantile"
# HistGradientBoosting bins a categorical feature into at most 255 categories
# (one is kept for missing); rarer categories share one "other" code.
MAX_CATEGORIES = 250
# Above this many active customers each fold trains on a random subsample of
# this size (all customers still get out-of-fold predictions); it keeps the
# 1M-account fit within a minute on two cores.
MAX_FIT_ROWS = 100_000

Progress = Callable[[int, int], None]
# scikit-learn's OpenMP/BLAS work runs on one thread: the fits run in a TUI
# worker on a two-core laptop, where a second compute thread starves the UI,
# and on busy cores OpenMP threads spin (measured: k-means on 100k rows 3x and
# small boosting fits 4x slower with two threads than with one).
THREADS = 1


def default_features(frame: pl.DataFrame) -> list[str]:
    """The firmographic columns of ``frame`` that have at least one value."""
    present = [c for c in FIRMOGRAPHIC_COLUMNS if c in frame.columns]
    return [c for c in present if frame[c].null_count() < frame.height]


def encode_for_trees(
    frame: pl.DataFrame, features: Sequence[str]
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Numeric matrix for tree models: numbers as float, text as integer codes.

    Returns (X, categorical mask, notes). Nulls become NaN (the model's missing
    branch). Text categories beyond the MAX_CATEGORIES most frequent share one code.
    """
    cols = []
    mask = []
    notes = []
    for name in features:
        s = frame[name]
        if s.dtype.is_numeric() or s.dtype == pl.Boolean:
            cols.append(s.cast(pl.Float64).fill_nan(None).to_numpy().astype(float))
            mask.append(False)
            continue
        s = s.cast(pl.Utf8)
        counts = s.drop_nulls().value_counts(sort=True)
        keep = counts[s.name].head(MAX_CATEGORIES).to_list()
        if counts.height > MAX_CATEGORIES:
            notes.append(
                f"{name}: {counts.height - MAX_CATEGORIES} rare categories grouped as one"
            )
        codes = {v: i for i, v in enumerate(sorted(keep))}
        other = float(len(codes))
        mapped = s.replace_strict(codes, default=other, return_dtype=pl.Float64)
        mapped = pl.select(
            pl.when(s.is_null()).then(None).otherwise(mapped)
        ).to_series()
        cols.append(mapped.to_numpy().astype(float))
        mask.append(True)
    return np.column_stack(cols), np.array(mask, dtype=bool), notes


@dataclass(frozen=True)
class PotentialReport:
    """How the potential model was fitted and how well it is calibrated."""

    quantile: float
    features: tuple[str, ...]  # the features that carry weight in the fitted model
    n_customers: int
    n_prospects: int
    n_splits: int
    fit_rows_per_fold: int
    calibration: float
    pinball_loss: float
    pinball_loss_log: float
    notes: tuple[str, ...] = field(default_factory=tuple)
    model: str = MODEL_TREES
    candidate_features: tuple[str, ...] = ()  # the features offered to the model

    @property
    def flat(self) -> bool:
        """True when no feature carries weight: the potential is a flat peer quantile."""
        return not self.features

    def as_dict(self) -> dict[str, object]:
        return {
            "quantile": self.quantile,
            "model": self.model,
            "features": list(self.features),
            "candidate_features": list(self.candidate_features),
            "flat": self.flat,
            "n_customers": self.n_customers,
            "n_prospects": self.n_prospects,
            "n_splits": self.n_splits,
            "fit_rows_per_fold": self.fit_rows_per_fold,
            "calibration": self.calibration,
            "pinball_loss": self.pinball_loss,
            "pinball_loss_log": self.pinball_loss_log,
            "notes": list(self.notes),
        }


@dataclass(frozen=True)
class PotentialResult:
    """Per-account potential frame plus the fit report."""

    frame: pl.DataFrame
    report: PotentialReport


def _model(quantile: float, seed: int) -> HistGradientBoostingRegressor:
    # Deliberately conservative: a quantile fit that follows its training data
    # closely under-covers out of fold. On the demo workspace (1,040 customers,
    # 15 features) sklearn's defaults gave calibration 0.69 for q = 0.8; these
    # settings give 0.76 with a lower out-of-fold pinball loss (0.318 vs 0.334).
    return HistGradientBoostingRegressor(
        loss="quantile",
        quantile=quantile,
        max_iter=100,
        learning_rate=0.05,
        max_leaf_nodes=15,
        min_samples_leaf=MIN_SAMPLES_LEAF,
        l2_regularization=1.0,
        early_stopping=False,
        random_state=seed,
    )


def _fit(
    X: np.ndarray, y: np.ndarray, cat: np.ndarray, quantile: float, seed: int,
    rng: np.random.Generator, max_rows: int,
) -> HistGradientBoostingRegressor:
    if len(y) > max_rows:
        idx = rng.choice(len(y), size=max_rows, replace=False)
        X, y = X[idx], y[idx]
    model = _model(quantile, seed)
    model.set_params(categorical_features=cat if cat.any() else None)
    return model.fit(X, y)


def _cross_fit(
    X: np.ndarray, y: np.ndarray, active: np.ndarray, n_splits: int, seed: int,
    progress: Progress | None, fit: Callable[[np.ndarray, np.ndarray], object],
) -> tuple[np.ndarray, object]:
    """Out-of-fold predictions for active rows, full-fit predictions for the rest.

    Returns the predictions and the model fitted on all active customers (or,
    when there is no other row to predict, the last fold's model, which saves a
    fit on large data): its weights are what the report shows."""
    total_steps = n_splits + 1
    pred = np.empty(len(y))
    cust_idx = np.flatnonzero(active)
    folds = KFold(n_splits=n_splits, shuffle=True, random_state=seed)
    model: object = None
    for step, (train, test) in enumerate(folds.split(cust_idx), start=1):
        model = fit(X[cust_idx[train]], y[cust_idx[train]])
        pred[cust_idx[test]] = model.predict(X[cust_idx[test]])  # type: ignore[attr-defined]
        if progress:
            progress(step, total_steps)
    full = model
    others = np.flatnonzero(~active)
    if others.size:
        full = fit(X[cust_idx], y[cust_idx])
        pred[others] = full.predict(X[others])  # type: ignore[attr-defined]
    if progress:
        progress(total_steps, total_steps)
    return pred, full


def encode_linear(
    frame: pl.DataFrame, features: Sequence[str]
) -> tuple[np.ndarray, list[str]]:
    """The design of the linear fallback: one or more columns per feature, and
    for each column the feature it comes from.

    Numbers that are never negative enter as log1p (employees, revenue: the
    "log features"), other numbers as they are, missing values as NaN (imputed
    per fold); text is one-hot over its LINEAR_MAX_CATEGORIES most frequent
    categories (a missing or rarer value is all zeros)."""
    cols: list[np.ndarray] = []
    owners: list[str] = []
    for name in features:
        s = frame[name]
        if s.dtype.is_numeric() or s.dtype == pl.Boolean:
            v = s.cast(pl.Float64).fill_nan(None).to_numpy().astype(float)
            finite = v[np.isfinite(v)]
            if finite.size and finite.min() >= 0:
                v = np.log1p(v)
            cols.append(v)
            owners.append(name)
            continue
        s = s.cast(pl.Utf8)
        top = s.drop_nulls().value_counts(sort=True)[s.name].head(LINEAR_MAX_CATEGORIES)
        for value in sorted(top.to_list()):
            cols.append((s == value).fill_null(False).to_numpy().astype(float))
            owners.append(name)
    return np.column_stack(cols), owners


class _LinearQuantile:
    """Median imputation, standardisation and an L1-penalised linear quantile
    regression, fitted on the training rows only."""

    def __init__(self, quantile: float, alpha: float = LINEAR_ALPHA) -> None:
        self.quantile = quantile
        self.alpha = alpha

    def fit(self, X: np.ndarray, y: np.ndarray) -> _LinearQuantile:
        with np.errstate(all="ignore"):
            self.fill = np.nan_to_num(np.nanmedian(X, axis=0)) if len(X) else np.zeros(X.shape[1])
        Z = self._filled(X)
        self.mean = Z.mean(axis=0)
        scale = Z.std(axis=0)
        self.scale = np.where(scale > 0, scale, 1.0)
        self.model = QuantileRegressor(quantile=self.quantile, alpha=self.alpha, solver="highs")
        self.model.fit((Z - self.mean) / self.scale, y)
        return self

    def _filled(self, X: np.ndarray) -> np.ndarray:
        return np.where(np.isnan(X), self.fill, X)

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.model.predict((self._filled(X) - self.mean) / self.scale)

    @property
    def coef(self) -> np.ndarray:
        return self.model.coef_


def _tree_weighted(model: HistGradientBoostingRegressor, X: np.ndarray,
                   features: Sequence[str], seed: int) -> list[str]:
    """The features whose shuffling (over up to 2,000 rows) moves a prediction."""
    rng = np.random.default_rng(seed)
    rows = X if len(X) <= 2000 else X[rng.choice(len(X), size=2000, replace=False)]
    base = model.predict(rows)
    used = []
    for j, name in enumerate(features):
        shuffled = rows.copy()
        shuffled[:, j] = rng.permutation(shuffled[:, j])
        if np.max(np.abs(model.predict(shuffled) - base)) > 1e-9:
            used.append(name)
    return used


def fit_potential(
    frame: pl.DataFrame,
    *,
    quantile: float = 0.8,
    features: Sequence[str] | None = None,
    n_splits: int = 5,
    seed: int = 0,
    progress: Progress | None = None,
    max_fit_rows: int = MAX_FIT_ROWS,
) -> PotentialResult:
    """Potential, share of wallet and headroom per account (DOMAIN.md "Account potential").

    ``frame`` is the per-account frame (account_id, revenue in the window and
    firmographic columns). Active customers (revenue > 0) get out-of-fold
    predictions from ``n_splits``-fold cross-fitting; every other account
    (prospects, lapsed customers) gets the prediction of a model fitted on all
    active customers. ``progress(done, total)`` is called after each fit.

    Output columns: account_id, revenue (null read as 0), predicted (the
    model's q-quantile), potential, share_of_wallet, headroom, out_of_fold
    (True where the prediction is out-of-fold).
    The report gives the calibration (share of customers with revenue <= their
    out-of-fold prediction, which should be near ``quantile``) and the pinball
    loss of the out-of-fold predictions, in revenue and in log1p units.
    """
    if not 0.0 < quantile < 1.0:
        raise UsageError(f"potential quantile must be between 0 and 1 (got {quantile})")
    if n_splits < 2:
        raise UsageError(f"potential needs at least 2 folds (got {n_splits})")
    for col in ("account_id", "revenue"):
        if col not in frame.columns:
            raise SegscopeError(f"potential: the account frame has no {col!r} column")
    if features is None:
        features = default_features(frame)
        if not features:
            raise SegscopeError(
                "potential needs firmographic columns (e.g. employees, annual_revenue, "
                "industry, region); the accounts have none of: "
                + ", ".join(FIRMOGRAPHIC_COLUMNS)
            )
    else:
        missing = [f for f in features if f not in frame.columns]
        if missing:
            raise UsageError(f"potential: unknown feature columns: {', '.join(missing)}")
        if not features:
            raise UsageError("potential: the feature list is empty")
    revenue = frame["revenue"].cast(pl.Float64).fill_null(0.0).to_numpy()
    active = revenue > 0
    n_customers = int(active.sum())
    if n_customers < MIN_CUSTOMERS:
        raise SegscopeError(
            f"potential needs at least {MIN_CUSTOMERS} customers with revenue in the window "
            f"to fit a model; there are {n_customers}"
        )
    y = np.log1p(np.maximum(revenue, 0.0))  # only active (revenue > 0) rows are fitted
    fold_rows = min(max_fit_rows, n_customers - -(-n_customers // n_splits))
    notes: list[str] = []
    with threadpool_limits(limits=THREADS):
        if fold_rows >= 2 * MIN_SAMPLES_LEAF:
            model_kind = MODEL_TREES
            X, cat, notes = encode_for_trees(frame, features)
            rng = np.random.default_rng(seed)
            pred, full = _cross_fit(
                X, y, active, n_splits, seed, progress,
                lambda Xt, yt: _fit(Xt, yt, cat, quantile, seed, rng, max_fit_rows),
            )
            weighted = _tree_weighted(full, X[active], features, seed)  # type: ignore[arg-type]
        else:
            model_kind = MODEL_LINEAR
            X, owners = encode_linear(frame, features)
            pred, full = _cross_fit(
                X, y, active, n_splits, seed, progress,
                lambda Xt, yt: _LinearQuantile(quantile).fit(Xt, yt),
            )
            coef = full.coef  # type: ignore[attr-defined]
            weighted = [f for f in features
                        if any(abs(c) > 1e-8 for c, o in zip(coef, owners, strict=True) if o == f)]
            notes.append(
                f"{n_customers} customers: too few for the tree model (a fold trains on "
                f"{fold_rows} < {2 * MIN_SAMPLES_LEAF}), so a linear quantile regression on "
                "the log features is used"
            )
    if not weighted:
        notes.append(
            f"no feature carries weight: the potential is the flat q{quantile:g} of customer "
            "revenue (a peer quantile), not a model of the firmographics"
        )
    predicted = np.expm1(pred)
    oof = predicted[active]
    calibration = float(np.mean(revenue[active] <= oof))
    pinball = float(mean_pinball_loss(revenue[active], oof, alpha=quantile))
    pinball_log = float(mean_pinball_loss(y[active], pred[active], alpha=quantile))
    if n_customers > max_fit_rows:
        notes.append(
            f"each fit used a random subsample of {max_fit_rows} of the "
            f"{n_customers} active customers"
        )
    potential = np.maximum(predicted, revenue)
    # max(revenue, 0): net returns give a share of 0, never a negative one
    share = np.divide(np.maximum(revenue, 0.0), potential, out=np.zeros_like(revenue),
                      where=potential > 0)
    out = pl.DataFrame(
        {
            "account_id": frame["account_id"],
            "revenue": revenue,
            "predicted": predicted,
            "potential": potential,
            "share_of_wallet": share,
            "headroom": potential - revenue,
            "out_of_fold": active,
        }
    )
    report = PotentialReport(
        quantile=quantile,
        features=tuple(weighted),
        model=model_kind,
        candidate_features=tuple(features),
        n_customers=n_customers,
        n_prospects=int((~active).sum()),
        n_splits=n_splits,
        fit_rows_per_fold=fold_rows,
        calibration=calibration,
        pinball_loss=pinball,
        pinball_loss_log=pinball_log,
        notes=tuple(notes),
    )
    return PotentialResult(frame=out, report=report)


def tam_by_segment(potential: pl.DataFrame, assignments: pl.DataFrame) -> pl.DataFrame:
    """TAM per segment: "sum of potential over its accounts and prospects".

    ``potential`` is ``fit_potential(...).frame``; ``assignments`` has
    account_id and segment. Columns: segment, accounts, revenue, tam,
    headroom, share_of_wallet (= sum of max(revenue, 0) / tam), sorted by tam descending.
    Accounts without a potential are left out; segment comes back as text
    (an Enum segment column is cast).
    """
    return (
        assignments.select("account_id", pl.col("segment").cast(pl.Utf8))
        .join(potential.select("account_id", "revenue", "potential", "headroom"),
              on="account_id", how="inner")
        .group_by("segment")
        .agg(
            pl.len().alias("accounts"),
            pl.col("revenue").sum(),
            pl.col("revenue").clip(lower_bound=0.0).sum().alias("_bought"),
            pl.col("potential").sum().alias("tam"),
            pl.col("headroom").sum(),
        )
        .with_columns(
            pl.when(pl.col("tam") > 0).then(pl.col("_bought") / pl.col("tam")).otherwise(0.0)
            .alias("share_of_wallet")
        )
        .drop("_bought")
        .sort(["tam", "segment"], descending=[True, False])
    )
