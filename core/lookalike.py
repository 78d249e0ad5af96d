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
"""

from __future__ import annotations

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
# Training rows for the classifier: a random subsample of the customers above
# this size (the 1M benchmark); every prospect is still scored.
MAX_TRAIN_ROWS = 100_000
# The reasons (nearest ideal customers) are a brute-force neighbour search,
# prospects x ideal customers x features: at 1M accounts it would take minutes.
# They are computed for the best-scored REASON_LIMIT prospects against at most
# REFERENCE_LIMIT ideal customers (a seeded random sample); the notes say so
# whenever either limit applies.
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

    def as_dict(self) -> dict[str, object]:
        return {
            "cv_auc": self.cv_auc,
            "cv_auc_folds": list(self.cv_auc_folds),
            "n_ideal": self.n_ideal,
            "n_other_customers": self.n_other_customers,
            "n_prospects": self.n_prospects,
            "features": list(self.features),
            "notes": list(self.notes),
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
    reason_limit: int = REASON_LIMIT,
    reference_limit: int = REFERENCE_LIMIT,
) -> LookalikeResult:
    """Score every prospect by its likeness to the ideal customers.

    ``ideal_mask`` is aligned with ``frame`` (True = ideal customer; True on a
    prospect is ignored). Customers are ``is_customer`` (else revenue > 0).
    ``features`` default to the firmographic columns present.

    Frame columns (one row per prospect, best first): account_id, name (when
    the frame has it), lookalike_score (0-1), lookalike_rank, and for
    i = 1..n_neighbors: nearest_<i>_id, nearest_<i>_name, nearest_<i>_distance
    (null beyond the best ``reason_limit`` prospects; the nearest among a random
    ``reference_limit`` ideal customers when there are more).
    """
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
    rng = np.random.default_rng(seed)
    train = np.flatnonzero(customers)
    notes: list[str] = []
    if train.size > MAX_TRAIN_ROWS:
        train = np.sort(rng.choice(train, MAX_TRAIN_ROWS, replace=False))
        notes.append(f"classifier trained on a random {MAX_TRAIN_ROWS} of the customers")
    y = positive[train].astype(int)
    # One compute thread (see core.cluster.THREADS).
    with threadpool_limits(limits=THREADS):
        folds: list[float] = []
        splitter = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=seed)
        for tr, te in splitter.split(X[train], y):
            model = _classifier(seed).fit(X[train][tr], y[tr])
            folds.append(float(roc_auc_score(y[te], model.predict_proba(X[train][te])[:, 1])))
        model = _classifier(seed).fit(X[train], y)
        p_idx = np.flatnonzero(prospects)
        scores = model.predict_proba(X[p_idx])[:, 1] if p_idx.size else np.empty(0)
    ids_all = frame["account_id"].cast(pl.Utf8).to_numpy()
    order = (  # best score first, ties by account id
        pl.DataFrame({"s": scores, "id": ids_all[p_idx]})
        .with_row_index("i")
        .sort(["s", "id"], descending=[True, False])["i"]
        .to_numpy()
    )
    p_idx, scores = p_idx[order], scores[order]
    ideal_idx = np.flatnonzero(positive)
    if ideal_idx.size > reference_limit:
        ideal_idx = np.sort(rng.choice(ideal_idx, reference_limit, replace=False))
        notes.append(f"reasons: nearest among a random {reference_limit} of the {n_pos} ideal "
                     "customers")
    n_reasons = min(p_idx.size, reason_limit)
    if p_idx.size > reason_limit:
        notes.append(f"reasons listed for the best {reason_limit} of {p_idx.size} prospects")
    k = min(n_neighbors, ideal_idx.size)
    nn = NearestNeighbors(n_neighbors=k, algorithm="brute").fit(X[ideal_idx])
    if n_reasons:
        with threadpool_limits(limits=THREADS):
            dist, nbr = nn.kneighbors(X[p_idx[:n_reasons]])
    else:
        dist, nbr = np.empty((0, k)), np.empty((0, k), dtype=int)
    auc = float(np.mean(folds))
    if auc < WEAK_AUC:
        notes.append(
            f"cross-validated ROC AUC {auc:.2f} is close to a coin flip (0.5): the features "
            "do not tell ideal customers apart; do not rely on these scores"
        )
    ids = ids_all
    names = frame["name"].cast(pl.Utf8).to_numpy() if "name" in frame.columns else None
    pad = p_idx.size - n_reasons
    cols: list[pl.Series] = [pl.Series("account_id", ids[p_idx], dtype=pl.Utf8)]
    if names is not None:
        cols.append(pl.Series("name", names[p_idx], dtype=pl.Utf8))
    cols.append(pl.Series("lookalike_score", scores, dtype=pl.Float64))
    cols.append(pl.Series("lookalike_rank", np.arange(1, p_idx.size + 1), dtype=pl.Int64))
    for i in range(k):
        who = ideal_idx[nbr[:, i]]
        cols.append(pl.Series(f"nearest_{i + 1}_id", list(ids[who]) + [None] * pad,
                              dtype=pl.Utf8))
        if names is not None:
            cols.append(pl.Series(f"nearest_{i + 1}_name", list(names[who]) + [None] * pad,
                                  dtype=pl.Utf8))
        cols.append(pl.Series(f"nearest_{i + 1}_distance", list(dist[:, i]) + [None] * pad,
                              dtype=pl.Float64))
    out = pl.DataFrame(cols)
    return LookalikeResult(
        frame=out,
        cv_auc=auc,
        cv_auc_folds=tuple(folds),
        n_ideal=n_pos,
        n_other_customers=n_neg,
        n_prospects=int(p_idx.size),
        features=tuple(features),
        notes=tuple(notes),
    )


def _classifier(seed: int) -> LogisticRegression:
    return LogisticRegression(C=1.0, max_iter=500, random_state=seed)
