"""ABC analysis and the Pareto curve (DOMAIN.md "ABC analysis (one-dimensional)")."""

from __future__ import annotations

import polars as pl

from core.errors import UsageError

ABC_CLASSES: tuple[str, ...] = ("A", "B", "C")


def sort_by_id(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` sorted by ``account_id``, without the sort when it already is
    (the metric frame usually comes in account order; checking costs ~1 % of sorting
    a 1M-row frame, whose gathers a sort always pays)."""
    ids = frame.get_column("account_id")
    if ids.null_count() == 0 and ids.is_sorted():
        # one chunk, like a sort's output: float sums then add up in the same order
        return frame.rechunk()
    return frame.sort("account_id", maintain_order=True)


def _ranked(metrics: pl.DataFrame | pl.LazyFrame, measure: str) -> pl.LazyFrame:
    """Accounts by measure descending, ties by account id; ``share`` of the positive total.

    Accounts with a zero, negative or null measure get share 0: they carry none
    of the measure the curve distributes, so the shares of all accounts sum to 1
    (when any measure is positive).
    """
    lf = metrics.lazy()
    names = lf.collect_schema().names()
    if measure not in names:
        raise UsageError(f"ABC measure {measure!r} is not a column of the metric frame "
                         f"(columns: {', '.join(names)})")
    positive = pl.col("_m").clip(lower_bound=0).fill_null(0)
    total = positive.sum()
    by_id = lf.select(pl.col("account_id"), pl.col(measure).cast(pl.Float64).alias("_m")).collect()
    # stable sort by the measure over id order = ties by account id (cheaper
    # than a two-key sort with a string tiebreak)
    by_id = sort_by_id(by_id)
    return (
        by_id.lazy()
        .sort("_m", descending=True, nulls_last=True, maintain_order=True)
        .with_columns(
            pl.when(total > 0).then(positive / total).otherwise(0.0).alias("share"),
        )
        .with_columns(pl.col("share").cum_sum().alias("cum_share"))
    )


def abc_classes(
    metrics: pl.DataFrame | pl.LazyFrame,
    measure: str = "revenue",
    a: float = 0.80,
    b: float = 0.95,
) -> pl.DataFrame:
    """ABC class per account.

    DOMAIN.md: sort accounts by the measure (revenue by default, or margin)
    descending, ties by account id. Let ``before`` be the cumulative share of
    the accounts ranked above. Class A while ``before < a`` (0.80), B while
    ``before < b`` (0.95), else C. Accounts with zero or negative measure are C.

    Returns ``account_id, abc_class, share, cum_share`` in rank order, where
    ``share`` is the account's share of the total positive measure and
    ``cum_share`` includes the account itself (so ``before = cum_share - share``).
    """
    if not 0 < a <= b <= 1:
        raise UsageError(f"ABC thresholds must satisfy 0 < a <= b <= 1, got a={a}, b={b}")
    ranked = _ranked(metrics, measure)
    # Compare in measure units (the running total of the accounts above against
    # a * total) rather than in shares: 70/100 + 10/100 is 0.7999... in floats,
    # while 70 + 10 < 0.8 * 100 is decided exactly for money amounts.
    positive = pl.col("_m").clip(lower_bound=0).fill_null(0)
    before = positive.cum_sum().shift(1, fill_value=0.0)
    total = positive.sum()
    cls = (
        pl.when(pl.col("_m").is_null() | (pl.col("_m") <= 0))
        .then(pl.lit("C"))
        .when(before < a * total)
        .then(pl.lit("A"))
        .when(before < b * total)
        .then(pl.lit("B"))
        .otherwise(pl.lit("C"))
    )
    return ranked.select(
        "account_id", cls.alias("abc_class"), "share", "cum_share"
    ).collect()


def pareto_curve(
    metrics: pl.DataFrame | pl.LazyFrame,
    measure: str = "revenue",
    *,
    include_nonpositive: bool = False,
    max_points: int | None = None,
) -> pl.DataFrame:
    """The Pareto curve: % of accounts (best first) vs cumulative % of the measure.

    Starts at (0, 0). By default only accounts with a positive measure are on
    the x axis, so the curve ends at (1, 1); ``include_nonpositive=True`` puts
    every account of ``metrics`` on it (a flat tail). ``max_points`` thins the
    curve evenly for plotting, always keeping both ends.
    """
    ranked = _ranked(metrics, measure)
    if not include_nonpositive:
        ranked = ranked.filter(pl.col("_m") > 0)
    n = pl.len()
    curve = ranked.select(
        ((pl.int_range(1, n + 1, dtype=pl.Int64)) / n).alias("account_share"),
        pl.col("cum_share").alias("measure_share"),
    ).collect()
    origin = pl.DataFrame({"account_share": [0.0], "measure_share": [0.0]})
    curve = pl.concat([origin, curve.cast(pl.Float64)])
    if max_points is not None and curve.height > max_points >= 2:
        step = (curve.height - 1) / (max_points - 1)
        keep = sorted({round(i * step) for i in range(max_points)})
        curve = curve[keep]
    return curve
