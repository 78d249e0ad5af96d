"""Level computation for segmentation dimensions: pure, vectorised, cheap.

Every dimension maps each account (row of the per-account frame) to one
level. A :class:`Levels` holds that mapping as integer codes into an ordered
tuple of labels, so that combining dimensions into segments and counting cells
works on integers, never on millions of strings. The ordering of ``labels`` is
the display order (A before B, bins low to high, rules in their order).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from core.errors import UsageError
from core.expr import ExpressionError, compile_expression

__all__ = [
    "DimensionError",
    "Levels",
    "NumericColumn",
    "TextColumn",
    "numeric_column",
    "text_column",
    "require_column",
    "levels_from_strings",
    "bin_levels",
    "quantile_cuts",
    "default_bin_labels",
    "rule_levels",
    "format_number",
]


class DimensionError(UsageError):
    """A dimension cannot be computed on this frame (missing column, bad type, ...)."""


@dataclass(frozen=True, eq=False)
class Levels:
    """One level per row: ``labels[codes[i]]`` is row i's level."""

    codes: pl.Series  # UInt32, no nulls, same length and order as the frame
    labels: tuple[str, ...]

    def as_series(self, name: str) -> pl.Series:
        """The levels as an ordered ``pl.Enum`` series."""
        enum = pl.Enum(list(self.labels))
        return pl.Series(name, list(self.labels), dtype=enum).gather(self.codes)


def _unique_in_order(values: Iterable[str]) -> list[str]:
    seen: dict[str, None] = {}
    for v in values:
        seen.setdefault(v, None)
    return list(seen)


def levels_from_strings(
    values: pl.Series, order: Sequence[str] = (), missing_label: str = "Unknown"
) -> Levels:
    """Codes for a text column: labels in ``order`` first, then other values sorted.

    Nulls become ``missing_label`` (added at the end when it occurs).
    """
    values = values.cast(pl.String)
    present = values.drop_nulls().unique().to_list()
    labels = _unique_in_order(order)
    known = set(labels)
    labels += sorted(v for v in present if v not in known)
    if values.null_count():
        if missing_label not in labels:
            labels.append(missing_label)
        values = values.fill_null(missing_label)
    if not labels:
        labels = [missing_label]
    codes = values.cast(pl.Enum(labels)).to_physical().cast(pl.UInt32)
    return Levels(codes, tuple(labels))


def format_number(x: float) -> str:
    """Compact human number for labels: 1,000 / 2.5 / 0.125."""
    if math.isfinite(x) and float(x).is_integer():
        return f"{int(x):,}"
    return f"{x:,.4g}"


def default_bin_labels(cuts: Sequence[float], right_closed: bool = False) -> list[str]:
    """Labels for the len(cuts)+1 bins.

    Left-closed bins [lo, hi) read "< c1", "c1–c2", ..., "≥ ck"; right-closed
    bins (lo, hi] read "≤ c1", "c1–c2", ..., "> ck".
    """
    if not cuts:
        return ["All"]
    f = [format_number(c) for c in cuts]
    first, last = ("≤ ", "> ") if right_closed else ("< ", "≥ ")
    return [first + f[0]] + [f"{f[i]}–{f[i + 1]}" for i in range(len(f) - 1)] + [last + f[-1]]


class NumericColumn:
    """A numeric column prepared for binning: float64 values in frame order
    (NaN where the value is null or NaN) and, computed on first use, the sorted
    valid values for quantiles."""

    def __init__(self, series: pl.Series) -> None:
        self.values = series.cast(pl.Float64).fill_null(float("nan")).to_numpy()
        self.missing = np.isnan(self.values)
        self._sorted: np.ndarray | None = None

    @property
    def sorted_valid(self) -> np.ndarray:
        if self._sorted is None:
            self._sorted = np.sort(self.values[~self.missing])
        return self._sorted


def numeric_column(frame: pl.DataFrame, column: str) -> NumericColumn:
    return NumericColumn(frame.get_column(column))


@dataclass(frozen=True, eq=False)
class TextColumn:
    """A text column as codes into its sorted distinct values (null = len(values))."""

    values: list[str]
    codes: np.ndarray
    counts: np.ndarray
    has_nulls: bool


def text_column(frame: pl.DataFrame, column: str) -> TextColumn:
    series = frame.get_column(column).cast(pl.String)
    values = sorted(series.drop_nulls().unique().to_list())
    physical = series.cast(pl.Enum(values)).to_physical()
    has_nulls = physical.null_count() > 0
    codes = physical.fill_null(len(values)).cast(pl.UInt32).to_numpy()
    counts = np.bincount(codes, minlength=len(values) + 1)[: len(values)]
    return TextColumn(values, codes, counts, has_nulls)


def _as_numeric(values: pl.Series | NumericColumn) -> NumericColumn:
    return values if isinstance(values, NumericColumn) else NumericColumn(values)


def quantile_cuts(
    values: pl.Series | NumericColumn, quantiles: int | Sequence[float]
) -> list[float]:
    """Cut points at the given probabilities (or n equal-count groups).

    Linear interpolation between order statistics of the non-null values
    (position p x (n − 1), as numpy's and polars' "linear"); repeated cut
    points (heavy ties) collapse, so fewer bins may result.
    """
    if isinstance(quantiles, int):
        probs = [i / quantiles for i in range(1, quantiles)]
    else:
        probs = list(quantiles)
    ordered = _as_numeric(values).sorted_valid
    n = len(ordered)
    if n == 0:
        return []
    cuts = set()
    for p in probs:
        pos = p * (n - 1)
        lo = int(math.floor(pos))
        hi = min(lo + 1, n - 1)
        cuts.add(float(ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)))
    return sorted(cuts)


def bin_levels(
    values: pl.Series | NumericColumn,
    cuts: Sequence[float],
    labels: Sequence[str],
    *,
    right_closed: bool = False,
    missing_label: str = "Unknown",
) -> Levels:
    """Assign each value to a bin between consecutive ``cuts``.

    Bin i holds cuts[i-1] <= x < cuts[i] (left-closed, the default) or
    cuts[i-1] < x <= cuts[i] (``right_closed``). Null and NaN go to
    ``missing_label``.
    """
    labels = list(labels)
    column = _as_numeric(values)
    side = "left" if right_closed else "right"
    codes = np.searchsorted(np.asarray(cuts, dtype=np.float64), column.values, side=side)
    codes = codes.astype(np.uint32)
    if column.missing.any():
        if missing_label not in labels:
            labels.append(missing_label)
        codes[column.missing] = labels.index(missing_label)
    if len(set(labels)) < len(labels):
        # a repeated label merges its bins into one level
        unique = _unique_in_order(labels)
        remap = np.array([unique.index(label) for label in labels], dtype=np.uint32)
        codes, labels = remap[codes], unique
    return Levels(pl.Series("", codes, dtype=pl.UInt32), tuple(labels))


def rule_levels(
    frame: pl.DataFrame,
    rules: Sequence[tuple[str, str]],
    default: str,
    *,
    dimension: str = "",
) -> Levels:
    """First matching rule wins; a NULL condition does not match; else ``default``."""
    labels = _unique_in_order([label for label, _ in rules] + [default])
    code_of = {label: i for i, label in enumerate(labels)}
    chain = None
    for number, (label, condition) in enumerate(rules, start=1):
        try:
            cond = compile_expression(condition, frame.schema)
        except ExpressionError as exc:
            where = f"dimension '{dimension}', rule {number} ('{label}')"
            raise ExpressionError(f"{where}: {exc}", exc.position) from None
        then = pl.lit(code_of[label], pl.UInt32)
        cond = cond.fill_null(False)
        chain = pl.when(cond).then(then) if chain is None else chain.when(cond).then(then)
    default_code = pl.lit(code_of[default], pl.UInt32)
    expr = default_code if chain is None else chain.otherwise(default_code)
    codes = frame.select(expr.alias("code")).to_series()
    if codes.len() != frame.height:  # constant conditions give a scalar
        codes = pl.Series("code", np.full(frame.height, codes[0], dtype=np.uint32))
    return Levels(codes, tuple(labels))


def require_column(frame: pl.DataFrame, column: str, dimension: str, *, numeric: bool) -> None:
    """Raise a DimensionError naming the dimension when ``column`` is unusable."""
    if column not in frame.columns:
        import difflib

        near = difflib.get_close_matches(column, frame.columns, n=3)
        hint = f"; did you mean {', '.join(repr(c) for c in near)}?" if near else ""
        raise DimensionError(f"dimension '{dimension}': unknown column '{column}'{hint}")
    dtype = frame.schema[column]
    if numeric and not dtype.is_numeric():
        raise DimensionError(
            f"dimension '{dimension}': column '{column}' is {dtype}, bins need a numeric column"
        )
