"""Lookalike prospects (DOMAIN.md "Targeting").

"Lookalikes: a classifier trained on firmographics of the ideal customers
(chosen by the analyst: a segment, class A, top CLV) scores prospects, with
the nearest existing customers shown as the reason."

The classifier is a logistic regression on the same scaled numeric + one-hot
design matrix as the cluster dimension (``core.cluster.design_matrix``),
trained on customers: ideal = 1, every other customer = 0. Its held-out
quality is the ROC AUC of stratified k-fold cross-validation, reported so a
coin flip (AUC near 0.5) is visible as one. Every prospect gets the predicted
probability of being "ideal-like" and its ``n_neighbors`` nearest ideal
customers in that same scaled space (Euclidean distance) as the reason.

At scale (see the limits below) the classifier learns from a stratified,
class-weighted sample of the customers, and the reasons are listed for the
best-scored prospects against a sample of the ideal customers; the result's
notes say which limits applied.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import polars as pl
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold
from sklearn.neighbors import NearestNeighbors
from threadpoolctl import threadpool_limits

from core.cluster import THREADS, design_matrix
from core.errors import SegscopeError, UsageError
from core.potential import FIRMOGRAPHIC_COLUMNS, default_features

MIN_PER_CLASS = 10
# The classifier is cross-validated and fitted on a stratified subsample of
# the customers above TRAIN_LIMIT of them: the ideal class is kept whole up to
# IDEAL_LIMIT, the other customers fill the rest. A logistic regression on a
# few dozen columns gains nothing measurable from more rows (the tests check
# the subsampled AUC against the full fit) and five CV fits on 600k customers
# would take a minute. Sample weights (class size / rows taken) keep the
# scores on the scale of the full customer base. Every prospect is scored.
TRAIN_LIMIT = 50_000
IDEAL_LIMIT = 25_000
# The reasons (nearest ideal customers) are an exact brute-force search,
# prospects x ideal customers x matrix columns. Measured at 1M accounts (89
# columns, 10k ideal references, one core): ~3 ms per 10 prospects, so all
# 400k prospects would take minutes, and k-d/ball trees or a PCA projection
# were slower or missed most true neighbours (the one-hot columns spread the
# variance). Reasons are therefore listed for the best-scored REASON_LIMIT
# prospects, the ones anybody acts on, against at most REFERENCE_LIMIT ideal
# customers (a seeded random sample); the notes and the result say so whenever
# either limit applies.
REASON_LIMIT = 50_000
REFERENCE_LIMIT = 10_000
# An AUC below this is reported as "no better than chance" in the notes.
WEAK_AUC = 0.6


@dataclass(frozen=True)
class LookalikeResult:
    """Scored prospects with their nearest ideal customers, and the model quality."""

    frame: pl.DataFrame
    cv_auc: float
    cv_auc_folds: tuple[float, ...]
    n_ideal: int
    n_other_customers: int
    n_prospects: int
    features: tuple[str, ...]
    notes: tuple[str, ...] = field(default_factory=tuple)
    train_ideal: int = 0  # ideal customers the classifier was fitted on
    train_other: int = 0  # other customers the classifier was fitted on
    n_reasons: int = 0  # best-scored prospects that have nearest ideal customers
    n_reference: int = 0  # ideal customers searched for those neighbours
    timings: dict[str, float] = field(default_factory=dict)  # seconds per step
    # the fitted classifier, for explanations (core.explain): logit = intercept +
    # sum(coefficients x design-matrix row), columns named as core.cluster.design_matrix
    design_columns: tuple[str, ...] = ()
    coefficients: tuple[float, ...] = ()
    intercept: float = 0.0

    def as_dict(self) -> dict[str, object]:
        return {
            "cv_auc": self.cv_auc,
            "cv_auc_folds": list(self.cv_auc_folds),
            "n_ideal": self.n_ideal,
            "n_other_customers": self.n_other_customers,
            "n_prospects": self.n_prospects,
            "features": list(self.features),
            "notes": list(self.notes),
            "train_ideal": self.train_ideal,
            "train_other": self.train_other,
            "n_reasons": self.n_reasons,
            "n_reference": self.n_reference,
        }


def _customers(frame: pl.DataFrame) -> np.ndarray:
    if "is_customer" in frame.columns:
        return frame["is_customer"].fill_null(False).cast(pl.Boolean).to_numpy()
    if "revenue" in frame.columns:
        return (frame["revenue"].fill_null(0) > 0).to_numpy()
    raise SegscopeError("lookalikes need an is_customer or revenue column to tell customers "
                        "from prospects")


def score_lookalikes(
    frame: pl.DataFrame,
    ideal_mask: pl.Series | Sequence[bool] | np.ndarray,
    *,
    features: Sequence[str] | None = None,
    seed: int = 0,
    n_splits: int = 5,
    n_neighbors: int = 3,
    reason_limit: int | None = REASON_LIMIT,
    reference_limit: int | None = REFERENCE_LIMIT,
    train_limit: int | None = TRAIN_LIMIT,
    ideal_limit: int | None = IDEAL_LIMIT,
) -> LookalikeResult:
    """Score every prospect by its likeness to the ideal customers.

    DOMAIN.md "Targeting": "a classifier trained on firmographics of the ideal
    customers (chosen by the analyst: a segment, class A, top CLV) scores
    prospects, with the nearest existing customers shown as the reason."

    ``ideal_mask`` is aligned with ``frame`` (True = ideal customer; True on a
    prospect is ignored). Customers are ``is_customer`` (else revenue > 0).
    ``features`` default to the firmographic columns present.

    Above ``train_limit`` customers the classifier is cross-validated and
    fitted on a stratified, seeded subsample (ideal customers kept whole up to
    ``ideal_limit``), weighted back to the class sizes; every prospect is
    scored by that one model. ``None`` disables a limit.

    Frame columns (one row per prospect, best first): account_id, name (when
    the frame has it), lookalike_score (0-1), lookalike_rank, and for
    i = 1..n_neighbors: nearest_<i>_id, nearest_<i>_name, nearest_<i>_distance
    (Euclidean in the scaled design matrix; null beyond the best
    ``reason_limit`` prospects; the nearest among a random ``reference_limit``
    ideal customers when there are more). Every limit that applied is said in
    ``notes`` and counted in the result.
    """
    timings: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(step: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[step] = round(now - clock, 3)
        clock = now

    if "account_id" not in frame.columns:
        raise UsageError("lookalikes need an account_id column")
    ideal = np.asarray(
        ideal_mask.fill_null(False).to_numpy() if isinstance(ideal_mask, pl.Series)
        else ideal_mask,
        dtype=bool,
    )
    if ideal.shape != (frame.height,):
        raise UsageError(f"the ideal mask has {ideal.size} values for {frame.height} accounts")
    if features is None:
        features = default_features(frame)
        if not features:
            raise SegscopeError(
                "lookalikes need firmographic columns; the accounts have none of: "
                + ", ".join(FIRMOGRAPHIC_COLUMNS)
            )
    customers = _customers(frame)
    positive = ideal & customers
    negative = customers & ~ideal
    n_pos, n_neg = int(positive.sum()), int(negative.sum())
    if n_pos < MIN_PER_CLASS or n_neg < MIN_PER_CLASS:
        raise SegscopeError(
            f"lookalikes need at least {MIN_PER_CLASS} ideal customers and {MIN_PER_CLASS} "
            f"other customers to learn from; there are {n_pos} ideal and {n_neg} other"
        )
    prospects = ~customers
    dm = design_matrix(frame, features)
    X = dm.X
    lap("design_matrix")
    rng = np.random.default_rng(seed)
    notes: list[str] = []
    pos_idx, neg_idx = training_sample(n_pos, n_neg, train_limit, ideal_limit, rng)
    pos_idx = np.flatnonzero(positive)[pos_idx]
    neg_idx = np.flatnonzero(negative)[neg_idx]
    if pos_idx.size < n_pos or neg_idx.size < n_neg:
        notes.append(
            f"classifier cross-validated and fitted on a stratified sample of "
            f"{pos_idx.size + neg_idx.size} of the {n_pos + n_neg} customers "
            f"({pos_idx.size} of {n_pos} ideal, {neg_idx.size} of {n_neg} other; "
            f"training limit {train_limit}, ideal customers kept whole up to {ideal_limit}), "
            "weighted back to the class sizes"
        )
    train = np.sort(np.concatenate([pos_idx, neg_idx]))
    y = positive[train].astype(int)
    # weight = class size / rows taken, scaled to mean 1 (1 everywhere without sampling)
    w = np.where(y == 1, n_pos / pos_idx.size, n_neg / neg_idx.size)
    w = w / w.mean()
    Xt = X[train]
    # One compute thread (see core.cluster.THREADS).
    with threadpool_limits(limits=THREADS):
        folds: list[float] = []
        splitter = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=seed)
        for tr, te in splitter.split(Xt, y):
            model = _classifier(seed).fit(Xt[tr], y[tr], sample_weight=w[tr])
            folds.append(float(roc_auc_score(y[te], model.predict_proba(Xt[te])[:, 1])))
        lap("cross_validation")
        model = _classifier(seed).fit(Xt, y, sample_weight=w)
        p_idx = np.flatnonzero(prospects)
        scores = model.predict_proba(X[p_idx])[:, 1] if p_idx.size else np.empty(0)
    lap("fit_and_score")
    ids = frame["account_id"].cast(pl.Utf8).to_numpy()
    order = (  # best score first, ties by account id
        pl.DataFrame(  # typed, so an empty prospect set still sorts
            {
                "s": pl.Series(scores, dtype=pl.Float64),
                "id": pl.Series(ids[p_idx], dtype=pl.Utf8),
            }
        )
        .with_row_index("i")
        .sort(["s", "id"], descending=[True, False])["i"]
        .to_numpy()
    )
    p_idx, scores = p_idx[order], scores[order]
    lap("rank")
    ideal_idx = np.flatnonzero(positive)
    if reference_limit is not None and ideal_idx.size > reference_limit:
        ideal_idx = np.sort(rng.choice(ideal_idx, reference_limit, replace=False))
        notes.append(f"reasons: nearest among a random {reference_limit} of the {n_pos} ideal "
                     "customers")
    n_reasons = p_idx.size if reason_limit is None else min(p_idx.size, reason_limit)
    if n_reasons < p_idx.size:
        notes.append(f"reasons listed for the best {n_reasons} of {p_idx.size} prospects "
                     f"(reason limit {reason_limit}); the others have none")
    k = min(n_neighbors, ideal_idx.size)
    dist, nbr = nearest(X[p_idx[:n_reasons]], X[ideal_idx], k)
    lap("reasons")
    auc = float(np.mean(folds))
    if auc < WEAK_AUC:
        notes.append(
            f"cross-validated ROC AUC {auc:.2f} is close to a coin flip (0.5): the features "
            "do not tell ideal customers apart; do not rely on these scores"
        )
    names = frame["name"].cast(pl.Utf8).to_numpy() if "name" in frame.columns else None
    pad = p_idx.size - n_reasons
    cols: list[pl.Series] = [pl.Series("account_id", ids[p_idx], dtype=pl.Utf8)]
    if names is not None:
        cols.append(pl.Series("name", names[p_idx], dtype=pl.Utf8))
    cols.append(pl.Series("lookalike_score", scores, dtype=pl.Float64))
    cols.append(pl.Series("lookalike_rank", np.arange(1, p_idx.size + 1), dtype=pl.Int64))
    def padded(name: str, values: np.ndarray, dtype: type[pl.DataType]) -> pl.Series:
        head = pl.Series(name, values, dtype=dtype)
        return head.extend(pl.repeat(None, pad, dtype=dtype, eager=True)) if pad else head

    for i in range(k):
        who = ideal_idx[nbr[:, i]]
        cols.append(padded(f"nearest_{i + 1}_id", ids[who], pl.Utf8))
        if names is not None:
            cols.append(padded(f"nearest_{i + 1}_name", names[who], pl.Utf8))
        cols.append(padded(f"nearest_{i + 1}_distance", dist[:, i], pl.Float64))
    out = pl.DataFrame(cols)
    lap("frame")
    return LookalikeResult(
        frame=out,
        cv_auc=auc,
        cv_auc_folds=tuple(folds),
        n_ideal=n_pos,
        n_other_customers=n_neg,
        n_prospects=int(p_idx.size),
        features=tuple(features),
        notes=tuple(notes),
        train_ideal=int(pos_idx.size),
        train_other=int(neg_idx.size),
        n_reasons=int(n_reasons),
        n_reference=int(ideal_idx.size),
        timings=timings,
        design_columns=dm.columns,
        coefficients=tuple(float(c) for c in model.coef_[0]),
        intercept=float(model.intercept_[0]),
    )


def training_sample(
    n_pos: int, n_neg: int, train_limit: int | None, ideal_limit: int | None,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Positions (sorted) of the ideal and other customers to train on.

    Everything when ``n_pos + n_neg <= train_limit``; else ``min(n_pos,
    ideal_limit)`` ideal customers and the other customers up to
    ``train_limit`` in total (at least MIN_PER_CLASS of each), drawn at random.
    """
    if train_limit is None or n_pos + n_neg <= train_limit:
        return np.arange(n_pos), np.arange(n_neg)
    take_pos = n_pos if ideal_limit is None else min(n_pos, ideal_limit)
    take_pos = max(MIN_PER_CLASS, min(take_pos, train_limit - MIN_PER_CLASS))
    take_neg = max(MIN_PER_CLASS, min(n_neg, train_limit - take_pos))
    pos = np.sort(rng.choice(n_pos, take_pos, replace=False))
    neg = np.sort(rng.choice(n_neg, take_neg, replace=False))
    return pos, neg


def nearest(queries: np.ndarray, reference: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` nearest reference rows of each query row: (distances, indices).

    Exact Euclidean search: scikit-learn's brute-force k-neighbours in float32
    (half the memory traffic of float64), then the distances of the k found are
    recomputed in float64 and the k re-sorted, so reported distances are exact
    (an exact duplicate is 0.0, not a rounding residue).
    """
    if queries.shape[0] == 0 or k == 0:
        return np.empty((queries.shape[0], k)), np.empty((queries.shape[0], k), dtype=int)
    with threadpool_limits(limits=THREADS):
        nn = NearestNeighbors(n_neighbors=k, algorithm="brute")
        nn.fit(reference.astype(np.float32))
        _, nbr = nn.kneighbors(queries.astype(np.float32))
    dist = np.empty(nbr.shape)
    for i in range(k):
        dist[:, i] = np.sqrt(((queries - reference[nbr[:, i]]) ** 2).sum(axis=1))
    o = np.argsort(dist, axis=1, kind="stable")
    return np.take_along_axis(dist, o, axis=1), np.take_along_axis(nbr, o, axis=1)


def _classifier(seed: int) -> LogisticRegression:
    return LogisticRegression(C=1.0, max_iter=500, random_state=seed)
