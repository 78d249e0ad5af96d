"""Forward-looking dimension kinds: ``potential``, ``clv`` and ``cluster``.

DOMAIN.md, "Multi-dimensional segmentation":

- "``cluster``: scikit-learn clustering over chosen features (scaled numeric,
  one-hot categorical), k chosen or suggested by silhouette; clusters are
  named by their most distinguishing traits",
- "``potential``, ``clv``: bins over those metrics".

Importing this module registers the three kinds in ``core.model`` (it is
imported by ``core.starter_models``, so anything that knows the starter models
can also read models that use these kinds).

Where the numbers come from:

- ``potential`` bins one of the columns of ``core.potential.fit_potential``
  (``potential``, ``share_of_wallet`` or ``headroom``). When the per-account
  frame already carries that column (``core.forward_frame`` adds it) it is
  used as is; otherwise the potential model is fitted on the frame here, with
  the same defaults, and cached by a hash of its inputs, so a model using the
  dimension works from the CLI and the tests without any preparation.
- ``clv`` bins the ``clv`` column. CLV needs the transactions, which the
  per-account frame does not hold, so the column must have been added
  (``core.forward_frame.add_forward_columns``); without it the dimension fails
  with a message that says so.
- ``cluster`` calls ``core.cluster.fit_clusters`` (which caches fits by a hash
  of the feature matrix and the parameters); levels are the cluster names
  (largest cluster first), or the analyst's own names.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import polars as pl

from core.cache import LruCache
from core.dimensions import DimensionError, Levels, numeric_column
from core.errors import SegscopeError
from core.model import BinsDimension, Dimension, ModelError, register_dimension

__all__ = [
    "POTENTIAL_COLUMNS",
    "ClusterDimension",
    "ClvDimension",
    "PotentialDimension",
    "cached_potential",
    "uses_forward_columns",
]

POTENTIAL_COLUMNS = ("potential", "share_of_wallet", "headroom")
TERTILE_LABELS = ("Low", "Medium", "High")

# Potential fits per input hash (frame columns + quantile); the fits take
# seconds, the same frame is segmented again on every edit.
_POTENTIAL_CACHE: LruCache[Any] = LruCache(maxsize=8)


def _frame_hash(frame: pl.DataFrame, columns: list[str], extra: str) -> str:
    h = hashlib.blake2b(digest_size=16)
    h.update(extra.encode())
    h.update(",".join(columns).encode())
    if frame.height:
        h.update(frame.select(columns).hash_rows(seed=0).to_numpy().tobytes())
    return h.hexdigest()


def cached_potential(
    frame: pl.DataFrame, *, quantile: float = 0.8, progress: Any = None
) -> Any:
    """``core.potential.fit_potential(frame, quantile=quantile)`` cached by a hash
    of the account ids, the window revenue, the firmographic features and the quantile."""
    from core.potential import default_features, fit_potential

    features = default_features(frame)
    columns = [c for c in ["account_id", "revenue", *features] if c in frame.columns]
    key = _frame_hash(frame, columns, f"potential:{quantile}")
    result = _POTENTIAL_CACHE.get_or_compute(
        key, lambda: fit_potential(frame, quantile=quantile, progress=progress)
    )
    if progress is not None:
        progress(1, 1)  # done, whether fitted now, earlier or by another thread
    return result


def _rewrap(dim: Dimension, exc: ModelError) -> ModelError:
    # the bins spec reports itself as kind "bins"; the user wrote a potential/clv dimension
    return ModelError(str(exc).replace(" (bins):", f" ({dim.kind}):", 1))


@dataclass(frozen=True)
class _ForwardBins(Dimension):
    """Shared part of ``potential`` and ``clv``: bins over one forward column."""

    name: str = ""
    column: str = ""
    quantiles: int | tuple[float, ...] | None = 3
    cuts: tuple[float, ...] | None = None
    labels: tuple[str, ...] | None = TERTILE_LABELS
    right_closed: bool = False
    missing_label: str = "Not estimated"

    allowed_columns: ClassVar[tuple[str, ...]] = ()

    def __post_init__(self) -> None:
        self._check_name()
        if self.column not in self.allowed_columns:
            raise ModelError(
                f"dimension '{self.name}' ({self.kind}): column must be one of "
                f"{', '.join(self.allowed_columns)}, got {self.column!r}"
            )
        if self.cuts is not None and self.quantiles is not None:
            # cut points given: they win over the default tertiles
            object.__setattr__(self, "quantiles", None)
        self._bins()  # validates cuts / quantiles / labels

    def _bins(self) -> BinsDimension:
        try:
            return BinsDimension(
                self.name,
                self.column,
                cuts=self.cuts,
                quantiles=self.quantiles,
                labels=self.labels,
                right_closed=self.right_closed,
                missing_label=self.missing_label,
            )
        except ModelError as exc:
            raise _rewrap(self, exc) from None

    def columns(self) -> tuple[str, ...]:
        return (self.column,)

    def prepare_key(self) -> str | None:
        return f"forward:{self.kind}:{self.column}:{self._source_key()}"

    def _source_key(self) -> str:
        return ""

    def _values(self, frame: pl.DataFrame) -> pl.Series:
        raise TypeError(f"{type(self).__name__} must say which values it bins")

    def prepare(self, frame: pl.DataFrame) -> Any:
        values = self._values(frame)
        if not values.dtype.is_numeric():
            raise DimensionError(
                f"dimension '{self.name}' ({self.kind}): column '{self.column}' is "
                f"{values.dtype}, not a number"
            )
        return numeric_column(pl.DataFrame({self.column: values}), self.column)

    def levels_from(self, frame: pl.DataFrame, prepared: Any) -> Levels:
        return self._bins().levels_from(frame, prepared)


@register_dimension
@dataclass(frozen=True)
class PotentialDimension(_ForwardBins):
    """Bins over potential, share of wallet or headroom (DOMAIN.md "``potential``:
    bins over those metrics"; the metrics are those of "Account potential").

    ``quantiles`` (default 3: tertiles Low / Medium / High over the accounts
    that have a value) or ``cuts``. ``quantile`` is the potential model's
    quantile, used only when the frame has no ``column`` and the model is fitted here.
    """

    kind: ClassVar[str] = "potential"
    name: str = "Potential"
    column: str = "headroom"
    quantile: float = 0.8

    allowed_columns: ClassVar[tuple[str, ...]] = POTENTIAL_COLUMNS

    def __post_init__(self) -> None:
        super().__post_init__()
        if isinstance(self.quantile, bool) or not (
            isinstance(self.quantile, int | float) and 0 < self.quantile < 1
        ):
            raise ModelError(
                f"dimension '{self.name}' (potential): quantile must be between 0 and 1, "
                f"got {self.quantile!r}"
            )

    def columns(self) -> tuple[str, ...]:
        return (self.column, "revenue")

    def _source_key(self) -> str:
        return str(self.quantile)

    def _values(self, frame: pl.DataFrame) -> pl.Series:
        if self.column in frame.columns:
            return frame.get_column(self.column)
        try:
            fitted = cached_potential(frame, quantile=float(self.quantile)).frame
        except SegscopeError as exc:
            raise DimensionError(f"dimension '{self.name}' (potential): {exc}") from None
        # fit_potential returns the rows of the frame in order
        return fitted.get_column(self.column)


@register_dimension
@dataclass(frozen=True)
class ClvDimension(_ForwardBins):
    """Bins over customer lifetime value (DOMAIN.md "``clv``: bins over those
    metrics"; CLV as in "Customer lifetime value").

    Accounts without a CLV (prospects, no purchase before the calibration end)
    get ``missing_label``; quantiles are taken over the accounts with a value.
    """

    kind: ClassVar[str] = "clv"
    name: str = "CLV"
    column: str = "clv"
    missing_label: str = "No CLV"

    allowed_columns: ClassVar[tuple[str, ...]] = ("clv",)

    def _values(self, frame: pl.DataFrame) -> pl.Series:
        if self.column not in frame.columns:
            raise DimensionError(
                f"dimension '{self.name}' (clv): the accounts have no CLV yet. CLV is fitted "
                "on the transactions: in the workbench open the Targeting screen (key 7), "
                "which computes it in the background and then recomputes the segments; in "
                "Python add it with core.forward_frame.forward_columns / add_forward_columns"
            )
        return frame.get_column(self.column)


@register_dimension
@dataclass(frozen=True)
class ClusterDimension(Dimension):
    """Clusters over chosen features (DOMAIN.md ``cluster``), via ``core.cluster.fit_clusters``.

    ``k`` None: suggested by silhouette over ``k_range``. Levels are the
    clusters, largest first, named by their strongest traits, or by
    ``cluster_names`` (one name per cluster, largest first) when given with
    the right length.
    """

    kind: ClassVar[str] = "cluster"
    name: str = "Cluster"
    features: tuple[str, ...] = ()
    k: int | None = None
    k_range: tuple[int, int] = (2, 8)
    method: str = "kmeans"
    seed: int = 0
    cluster_names: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        self._check_name()
        fail = f"dimension '{self.name}' (cluster): "
        feats = tuple(self.features) if not isinstance(self.features, str) else ()
        object.__setattr__(self, "features", feats)
        if not feats or not all(isinstance(f, str) and f for f in feats):
            raise ModelError(fail + "features must be a non-empty list of column names")
        if len(set(feats)) != len(feats):
            raise ModelError(fail + "a feature is listed twice")
        if self.k is not None and (
            isinstance(self.k, bool) or not isinstance(self.k, int) or not 2 <= self.k <= 50
        ):
            raise ModelError(fail + f"k must be a whole number 2-50 or null, got {self.k!r}")
        kr = tuple(self.k_range)
        object.__setattr__(self, "k_range", kr)
        if len(kr) != 2 or not all(isinstance(x, int) and not isinstance(x, bool) for x in kr) \
                or not 2 <= kr[0] <= kr[1] <= 50:
            raise ModelError(fail + f"k_range must be [low, high] with 2 <= low <= high <= 50, "
                             f"got {list(kr)!r}")
        if self.method not in ("kmeans", "gmm"):
            raise ModelError(fail + f"method must be 'kmeans' or 'gmm', got {self.method!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise ModelError(fail + f"seed must be a whole number, got {self.seed!r}")
        if self.cluster_names is not None:
            names = tuple(self.cluster_names)
            object.__setattr__(self, "cluster_names", names)
            if not all(isinstance(n, str) and n.strip() for n in names):
                raise ModelError(fail + "cluster_names must be non-empty text")
            if len(set(names)) != len(names):
                raise ModelError(fail + "cluster_names must be different from each other")
            if self.k is not None and len(names) != self.k:
                raise ModelError(fail + f"{self.k} clusters need {self.k} names, "
                                 f"got {len(names)}")

    def columns(self) -> tuple[str, ...]:
        return self.features

    def fit(self, frame: pl.DataFrame) -> Any:
        """The ``core.cluster.ClusterResult`` of this spec on ``frame`` (cached by input hash)."""
        from core.cluster import fit_clusters

        missing = [f for f in self.features if f not in frame.columns]
        if missing:
            import difflib

            hints = []
            for m in missing:
                near = difflib.get_close_matches(m, frame.columns, n=2)
                quoted = ", ".join(f"'{c}'" for c in near)
                hints.append(f"'{m}' (did you mean {quoted}?)" if near else f"'{m}'")
            raise DimensionError(
                f"dimension '{self.name}' (cluster): unknown feature column {', '.join(hints)}"
            )
        try:
            return fit_clusters(
                frame, self.features, k=self.k, k_range=self.k_range, method=self.method,
                seed=self.seed,
            )
        except SegscopeError as exc:
            raise DimensionError(f"dimension '{self.name}' (cluster): {exc}") from None

    def levels(self, frame: pl.DataFrame) -> Levels:
        result = self.fit(frame)
        k = result.k
        labels = [result.names[i] for i in range(k)]
        if self.cluster_names is not None and len(self.cluster_names) == k:
            labels = list(self.cluster_names)
        codes = result.frame.get_column("cluster_id").to_numpy().astype(np.uint32)
        return Levels(pl.Series("", codes, dtype=pl.UInt32), tuple(labels))


def uses_forward_columns(model: Any) -> bool:
    """True when a model has a ``potential`` or ``clv`` dimension (it needs the forward columns)."""
    return any(isinstance(d, PotentialDimension | ClvDimension) for d in model.dimensions)
