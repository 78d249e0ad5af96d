"""Cluster dimension: scikit-learn clustering over chosen features.

DOMAIN.md, "Multi-dimensional segmentation": "cluster: scikit-learn clustering
over chosen features (scaled numeric, one-hot categorical), k chosen or
suggested by silhouette; clusters are named by their most distinguishing
traits."

Feature preparation (``design_matrix``, shared with the lookalike scorer):

- numeric columns: money and head-count columns (``LOG_COLUMNS``) and any
  other non-negative column with skewness > 2 go through log1p first (a few
  huge accounts would otherwise decide every cluster); nulls take the column
  median; then StandardScaler (mean 0, sd 1);
- text columns: one-hot, a missing value is its own category, categories
  beyond the ``MAX_LEVELS`` most frequent share an "(other)" column; the 0/1
  columns are not rescaled.

KMeans (``MiniBatchKMeans`` above ``MINIBATCH_ABOVE`` accounts) or a Gaussian
mixture (fitted on at most ``GMM_FIT_ROWS`` sampled accounts, then applied to
all). With ``k=None`` every k in ``k_range`` is fitted on a sample of
``sample_size`` accounts and the k with the best silhouette (on at most
``SILHOUETTE_ROWS`` of them) is used. Results
are cached by a hash of the feature matrix and the parameters.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import polars as pl
from sklearn.cluster import KMeans, MiniBatchKMeans
from sklearn.metrics import silhouette_score
from sklearn.mixture import GaussianMixture
from threadpoolctl import threadpool_limits

from core.cache import LruCache
from core.errors import UsageError

LOG_COLUMNS = frozenset(
    {
        "revenue",
        "margin",
        "annual_revenue",
        "employees",
        "avg_order_value",
        "potential",
        "headroom",
        "clv",
        "tam",
        "orders",
        "frequency",
    }
)
SKEW_LOG_THRESHOLD = 2.0
MAX_LEVELS = 20
MINIBATCH_ABOVE = 200_000
GMM_FIT_ROWS = 200_000
# Silhouette is O(n^2); it is computed on at most this many of the sampled
# accounts (its sampling error at 4,000 points is far below the gaps between k).
SILHOUETTE_ROWS = 4_000
# scikit-learn's OpenMP/BLAS work runs on one thread: the fits run in a TUI
# worker on a two-core laptop, where a second compute thread starves the UI,
# and on busy cores OpenMP threads spin (measured: k-means on 100k rows 3x and
# small boosting fits 4x slower with two threads than with one).
THREADS = 1
# A trait must be at least this many standard deviations from the overall
# mean (numeric) or this far in standardised share (category) to name a cluster.
TRAIT_MIN_SCORE = 0.3
# Category values that mean nothing without their column ("high" what?).
GENERIC_VALUES = frozenset(
    {"low", "medium", "high", "yes", "no", "true", "false", "none", "small", "large", "other"}
)


@dataclass(frozen=True)
class DesignMatrix:
    """Encoded features: matrix, its column names and where each came from."""

    X: np.ndarray
    columns: tuple[str, ...]
    sources: tuple[str, ...]  # the frame column each matrix column came from
    levels: tuple[str | None, ...]  # the category of a one-hot column, None for numeric
    logged: tuple[str, ...]  # numeric features that went through log1p


def _skewness(v: np.ndarray) -> float:
    v = v[np.isfinite(v)]
    if v.size < 3 or v.std() == 0:
        return 0.0
    return float(np.mean(((v - v.mean()) / v.std()) ** 3))


def design_matrix(frame: pl.DataFrame, features: Sequence[str]) -> DesignMatrix:
    """Scaled numeric + one-hot categorical matrix (see the module docstring)."""
    if not features:
        raise UsageError("clustering needs at least one feature column")
    missing = [f for f in features if f not in frame.columns]
    if missing:
        raise UsageError(
            f"unknown feature columns: {', '.join(missing)} (the account frame has "
            f"{', '.join(frame.columns[:12])}{' ...' if frame.width > 12 else ''})"
        )
    blocks: list[np.ndarray] = []
    columns: list[str] = []
    sources: list[str] = []
    levels: list[str | None] = []
    logged: list[str] = []
    for name in features:
        s = frame[name]
        if s.dtype.is_numeric() or s.dtype == pl.Boolean:
            v = s.cast(pl.Float64).fill_nan(None).to_numpy().astype(float)
            finite = v[np.isfinite(v)]
            if finite.size and finite.min() >= 0 and (
                name in LOG_COLUMNS or _skewness(finite) > SKEW_LOG_THRESHOLD
            ):
                v = np.log1p(v)
                logged.append(name)
            elif finite.size and name in LOG_COLUMNS:
                v = np.sign(v) * np.log1p(np.abs(v))  # money can be negative (returns)
                logged.append(name)
            med = float(np.nanmedian(v)) if np.isfinite(v).any() else 0.0
            v = np.where(np.isfinite(v), v, med)
            sd = v.std()
            blocks.append(((v - v.mean()) / sd if sd > 0 else v - v.mean())[:, None])
            columns.append(name)
            sources.append(name)
            levels.append(None)
        else:
            t = s.cast(pl.Utf8).fill_null("(missing)")
            counts = t.value_counts(sort=True)
            keep = sorted(counts[t.name].head(MAX_LEVELS).to_list())
            if counts.height > MAX_LEVELS:
                t = pl.select(pl.when(t.is_in(keep)).then(t).otherwise(pl.lit("(other)")))
                t = t.to_series()
                keep.append("(other)")
            codes = t.replace_strict({v: i for i, v in enumerate(keep)},
                                     return_dtype=pl.Int64).to_numpy()
            block = np.zeros((len(codes), len(keep)))
            block[np.arange(len(codes)), codes] = 1.0
            blocks.append(block)
            for level in keep:
                columns.append(f"{name}={level}")
                sources.append(name)
                levels.append(level)
    return DesignMatrix(
        X=np.hstack(blocks),
        columns=tuple(columns),
        sources=tuple(sources),
        levels=tuple(levels),
        logged=tuple(logged),
    )


@dataclass(frozen=True)
class ClusterResult:
    """Cluster labels per account, the chosen k and how it was chosen."""

    frame: pl.DataFrame  # account_id, cluster_id, cluster
    k: int
    method: str
    features: tuple[str, ...]
    silhouette: dict[int, float]
    names: dict[int, str]
    traits: dict[int, tuple[str, ...]]
    sizes: dict[int, int]
    logged: tuple[str, ...] = field(default_factory=tuple)
    cached: bool = False

    def as_dict(self) -> dict[str, object]:
        return {
            "k": self.k,
            "method": self.method,
            "features": list(self.features),
            "silhouette": {str(k): v for k, v in self.silhouette.items()},
            "clusters": [
                {"id": i, "name": self.names[i], "size": self.sizes[i],
                 "traits": list(self.traits[i])}
                for i in sorted(self.names)
            ],
            "log_transformed": list(self.logged),
        }


_CACHE: LruCache[tuple] = LruCache(maxsize=16)


def _cache_key(dm: DesignMatrix, params: dict[str, object]) -> str:
    h = hashlib.blake2b(digest_size=16)
    h.update(np.ascontiguousarray(dm.X).tobytes())
    h.update(json.dumps([list(dm.columns), params], sort_keys=True).encode())
    return h.hexdigest()


def _estimator(method: str, k: int, n: int, seed: int):  # noqa: ANN202
    if method == "kmeans":
        if n > MINIBATCH_ABOVE:
            return MiniBatchKMeans(n_clusters=k, random_state=seed, n_init=3,
                                   batch_size=4096)
        return KMeans(n_clusters=k, random_state=seed, n_init=3)
    # Spherical: within a cluster a dominant category leaves its one-hot column
    # with almost no variance, and diagonal/full covariances then fit those
    # columns instead of the groups (planted-group ARI 0.69 diag vs 0.90 here).
    return GaussianMixture(n_components=k, covariance_type="spherical", random_state=seed,
                           n_init=2, reg_covar=1e-3)


def _fit_predict(method: str, X: np.ndarray, k: int, seed: int) -> np.ndarray:
    est = _estimator(method, k, len(X), seed)
    if method == "gmm" and len(X) > GMM_FIT_ROWS:
        rng = np.random.default_rng(seed)
        est.fit(X[rng.choice(len(X), GMM_FIT_ROWS, replace=False)])
        return est.predict(X)
    return est.fit_predict(X)


def _traits(dm: DesignMatrix, labels: np.ndarray, k: int) -> dict[int, list[tuple[float, str]]]:
    """Per cluster, (score, text) of its traits, strongest first.

    Score: standardised difference of the cluster mean from the overall mean,
    for numeric columns on the scaled matrix (so in overall standard
    deviations), for a one-hot column (p_cluster - p_all) / sqrt(p_all (1-p_all));
    only over-represented categories become traits.
    """
    X = dm.X
    overall = X.mean(axis=0)
    sd = X.std(axis=0)
    value_owner: dict[str, set[str]] = {}
    for src, lev in zip(dm.sources, dm.levels, strict=True):
        if lev is not None:
            value_owner.setdefault(lev, set()).add(src)
    out: dict[int, list[tuple[float, str]]] = {}
    for c in range(k):
        members = labels == c
        if not members.any():
            out[c] = []
            continue
        mean = X[members].mean(axis=0)
        found: list[tuple[float, str]] = []
        for j, (src, lev) in enumerate(zip(dm.sources, dm.levels, strict=True)):
            if sd[j] == 0:
                continue
            score = (mean[j] - overall[j]) / sd[j]
            if lev is None:
                found.append((abs(score), f"{'High' if score > 0 else 'Low'} {src}"))
            elif score > 0 and lev not in ("(missing)", "(other)"):
                plain = len(value_owner[lev]) == 1 and lev.lower() not in GENERIC_VALUES
                text = lev if plain else f"{src}: {lev}"
                found.append((score, text))
        found.sort(key=lambda t: (-t[0], t[1]))
        out[c] = found
    return out


def _names(traits: dict[int, list[tuple[float, str]]]) -> dict[int, str]:
    names: dict[int, str] = {}
    seen: dict[str, int] = {}
    for c in sorted(traits):
        top = [t for s, t in traits[c] if s >= TRAIT_MIN_SCORE][:2]
        name = " · ".join(top) if top else "Typical"
        seen[name] = seen.get(name, 0) + 1
        names[c] = name if seen[name] == 1 else f"{name} ({seen[name]})"
    return names


def fit_clusters(
    frame: pl.DataFrame,
    features: Sequence[str],
    *,
    k: int | None = None,
    k_range: tuple[int, int] = (2, 8),
    method: str = "kmeans",
    seed: int = 0,
    sample_size: int = 10_000,
) -> ClusterResult:
    """Cluster accounts on ``features``; name clusters by their distinguishing traits.

    DOMAIN.md: "scikit-learn clustering over chosen features (scaled numeric,
    one-hot categorical), k chosen or suggested by silhouette; clusters are
    named by their most distinguishing traits."

    Cluster ids are renumbered by size (0 = largest). ``silhouette`` has the
    score of each k tried (on a sample of ``sample_size`` accounts), or of the
    given k. A cluster's name joins its one or two strongest traits ("High
    buying_center_size · customised"); numeric traits are "High x"/"Low x",
    category traits the over-represented value.
    """
    if method not in ("kmeans", "gmm"):
        raise UsageError(f"cluster method must be 'kmeans' or 'gmm' (got {method!r})")
    if "account_id" not in frame.columns:
        raise UsageError("clustering needs an account_id column")
    lo, hi = k_range
    if k is not None and k < 2:
        raise UsageError(f"k must be at least 2 (got {k})")
    if k is None and not 2 <= lo <= hi:
        raise UsageError(f"k_range must satisfy 2 <= low <= high (got {k_range})")
    n = frame.height
    if n < max(k or lo, 2) * 2:
        raise UsageError(f"too few accounts ({n}) to form clusters")
    dm = design_matrix(frame, features)
    if all(frame[f].null_count() == n for f in features):
        raise UsageError(
            f"the cluster features ({', '.join(features)}) have no value in any of the "
            f"{n:,} accounts; import accounts with these columns or cluster on other features"
        )
    params = {"k": k, "k_range": list(k_range), "method": method, "seed": seed,
              "sample_size": sample_size}
    key = _cache_key(dm, params)
    cached = key in _CACHE

    def fit() -> tuple:
        with threadpool_limits(limits=THREADS):
            return _cluster(dm.X, k, k_range, method, seed, sample_size)

    # a fit of the same data already running in another thread is waited for
    labels, chosen, sil = _CACHE.get_or_compute(key, fit)
    traits = _traits(dm, labels, chosen)
    names = _names(traits)
    sizes = {c: int((labels == c).sum()) for c in range(chosen)}
    frame_out = pl.DataFrame(
        {
            "account_id": frame["account_id"],
            "cluster_id": labels.astype(np.int64),
        }
    ).with_columns(
        pl.col("cluster_id").replace_strict(names, return_dtype=pl.Utf8).alias("cluster")
    )
    return ClusterResult(
        frame=frame_out,
        k=chosen,
        method=method,
        features=tuple(features),
        silhouette=sil,
        names=names,
        traits={c: tuple(t for _, t in traits[c][:5]) for c in traits},
        sizes=sizes,
        logged=dm.logged,
        cached=cached,
    )


def _cluster(
    X: np.ndarray, k: int | None, k_range: tuple[int, int], method: str, seed: int,
    sample_size: int,
) -> tuple[np.ndarray, int, dict[int, float]]:
    rng = np.random.default_rng(seed)
    sample = X if len(X) <= sample_size else X[rng.choice(len(X), sample_size, replace=False)]
    sil: dict[int, float] = {}
    candidates = [k] if k is not None else list(range(k_range[0], k_range[1] + 1))
    # k-means cannot make more clusters than there are distinct points (sklearn
    # warns and returns fewer); say so instead
    distinct = len(np.unique(sample, axis=0))
    if distinct < 2:
        raise UsageError("the cluster features take the same value for every account; "
                         "choose features that differ between accounts")
    if k is not None and k > distinct:
        raise UsageError(f"k = {k} clusters, but the features have only {distinct} distinct "
                         "combinations of values")
    if k is None:
        for kk in candidates:
            if kk >= len(sample) or kk > distinct:
                break
            lab = _fit_predict(method, sample, kk, seed)
            sil[kk] = _silhouette(sample, lab, seed)
        if not sil:
            raise UsageError(f"k from {k_range[0]} clusters, but the features have only "
                             f"{distinct} distinct combinations of values")
        chosen = max(sil, key=lambda kk: (sil[kk], -kk))
    else:
        chosen = k
    labels = _fit_predict(method, X, chosen, seed)
    if k is not None:
        idx = rng.choice(len(X), min(len(X), sample_size), replace=False)
        sil[chosen] = _silhouette(X[idx], labels[idx], seed)
    # renumber by size, largest first, ties by old id
    counts = np.bincount(labels, minlength=chosen)
    order = sorted(range(chosen), key=lambda c: (-counts[c], c))
    remap = np.empty(chosen, dtype=np.int64)
    remap[order] = np.arange(chosen)
    return remap[labels], chosen, sil


def _silhouette(X: np.ndarray, labels: np.ndarray, seed: int) -> float:
    if len(set(labels.tolist())) < 2:
        return -1.0
    size = min(len(X), SILHOUETTE_ROWS)
    return float(silhouette_score(X, labels, sample_size=size, random_state=seed))


def cluster_levels(result: ClusterResult) -> pl.DataFrame:
    """account_id and its cluster name: the level a ``cluster`` dimension assigns."""
    return result.frame.select("account_id", pl.col("cluster").alias("level"))
