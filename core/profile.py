"""Segment profiles and distinguishing traits.

DOMAIN.md, "Segment profile": "Per segment: accounts, % of accounts,
revenue, % of revenue, margin %, average order value, frequency, recency,
growth, NRR, ...; and its distinguishing traits: categories over-represented
(lift = share in segment / share overall, with a minimum support) and numeric
attributes far from the overall median."
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable

import polars as pl

from core.errors import UsageError

__all__ = [
    "PROFILE_COLUMNS",
    "segment_profiles",
    "distinguishing_traits",
    "trait_columns",
    "aligned_segments",
]

PROFILE_COLUMNS = (
    "segment", "accounts", "account_share", "revenue", "revenue_share", "margin_pct",
    "avg_order_value", "frequency", "recency_days", "growth", "nrr",
)  # fmt: skip

# Columns that identify rather than describe an account never make traits.
_ID_LIKE = re.compile(
    r"(^|_)(id|ids|name|names|email|phone|url|website|address|street|zip|postcode)($|_)",
    re.IGNORECASE,
)
# Metric/derived columns that restate the segment definition or are dates.
_NOT_TRAITS = frozenset({"segment", "first_purchase", "last_purchase"})
_MAX_CATEGORIES = 60


def aligned_segments(frame: pl.DataFrame, assignments: pl.DataFrame) -> pl.Series:
    """The ``segment`` of each row of ``frame`` (null when unassigned).

    Cheap when ``assignments`` comes from ``assign_segments(frame, ...)`` (same
    rows in the same order); otherwise joined on ``account_id``.
    """
    for name, df in (("frame", frame), ("assignments", assignments)):
        if "account_id" not in df.columns:
            raise UsageError(f"{name} has no 'account_id' column")
    if "segment" not in assignments.columns:
        raise UsageError("assignments have no 'segment' column")
    if frame.height == assignments.height and frame["account_id"].equals(assignments["account_id"]):
        return assignments.get_column("segment")
    return (
        frame.select("account_id")
        .join(assignments.select("account_id", "segment"), on="account_id", how="left",
              maintain_order="left")
        .get_column("segment")
    )  # fmt: skip


def _sum(frame: pl.DataFrame, col: str) -> pl.Expr:
    if col in frame.columns:
        return pl.col(col).cast(pl.Float64).fill_nan(None).sum()
    return pl.lit(None, dtype=pl.Float64)


def _ratio(num: pl.Expr, den: pl.Expr) -> pl.Expr:
    return pl.when(den > 0).then(num / den).otherwise(None)


def segment_profiles(
    frame: pl.DataFrame,
    assignments: pl.DataFrame,
    *,
    bridge_accounts: pl.DataFrame | None = None,
    total: bool = False,
) -> pl.DataFrame:
    """One row per segment (display order) with:

    - ``accounts``, ``account_share`` (of all accounts in ``frame``, 0–1);
    - ``revenue`` (window revenue, sum), ``revenue_share`` (of total revenue);
    - ``margin_pct`` = sum margin / sum revenue (revenue-weighted);
    - ``avg_order_value`` = sum revenue / sum orders;
    - ``frequency`` = mean purchase days per account (accounts with a value);
    - ``recency_days`` = median days since the last purchase (buyers only);
    - ``growth`` = sum revenue / sum ``revenue_prev`` − 1 (null when the
      earlier window is 0 or ``revenue_prev`` is absent);
    - ``nrr`` = net revenue retention of the bridge period, from the optional
      ``bridge_prev_revenue`` / ``bridge_revenue`` columns: over accounts with
      positive P0 revenue, sum of their positive P1 revenue / sum of P0
      (churn counts 0; null when those columns are absent). Instead of the
      columns, ``bridge_accounts`` may be ``core.bridge.revenue_bridge(...)
      .accounts`` (``account_id, p0_revenue, p1_revenue``); this equals the
      bridge's NRR = (P0 − churn − contraction + expansion) / P0 over the P0
      cohort.

    Shares are fractions (0.25 = 25 %). ``total=True`` appends an
    "All accounts" row.
    """
    seg = aligned_segments(frame, assignments)
    order = _order(seg)
    seg = seg.cast(pl.String).fill_null("(unassigned)")
    if "(unassigned)" in seg.unique().to_list():
        order.append("(unassigned)")
    wanted = [c for c in ("revenue", "margin", "orders", "frequency", "recency_days",
                          "revenue_prev", "bridge_prev_revenue", "bridge_revenue")
              if c in frame.columns]  # fmt: skip
    df = frame.select(wanted).with_columns(seg.alias("segment"))
    if bridge_accounts is not None:
        p01 = bridge_accounts.select(
            "account_id",
            pl.col("p0_revenue").alias("bridge_prev_revenue"),
            pl.col("p1_revenue").alias("bridge_revenue"),
        )
        df = (
            frame.select("account_id")
            .join(p01, on="account_id", how="left", maintain_order="left")
            .drop("account_id")
            .hstack(df.drop("bridge_prev_revenue", "bridge_revenue", strict=False))
        )

    aggs = [
        pl.len().alias("accounts"),
        _sum(df, "revenue").alias("revenue"),
        _sum(df, "margin").alias("_margin"),
        _sum(df, "orders").alias("_orders"),
        _sum(df, "revenue_prev").alias("_revenue_prev"),
        (pl.col("frequency").cast(pl.Float64).mean() if "frequency" in df.columns
         else pl.lit(None, dtype=pl.Float64)).alias("frequency"),
        (pl.col("recency_days").cast(pl.Float64).median() if "recency_days" in df.columns
         else pl.lit(None, dtype=pl.Float64)).alias("recency_days"),
    ]  # fmt: skip
    has_bridge = {"bridge_prev_revenue", "bridge_revenue"} <= set(df.columns)
    if has_bridge:
        p0 = pl.col("bridge_prev_revenue").cast(pl.Float64).fill_null(0.0)
        p1 = pl.col("bridge_revenue").cast(pl.Float64).fill_null(0.0)
        active = p0 > 0
        aggs += [
            pl.when(active).then(p0).otherwise(0.0).sum().alias("_p0"),
            pl.when(active & (p1 > 0)).then(p1).otherwise(0.0).sum().alias("_p1"),
        ]
    else:
        aggs += [pl.lit(None, dtype=pl.Float64).alias(c) for c in ("_p0", "_p1")]

    groups = [df.group_by("segment").agg(aggs)]
    if total:
        groups.append(df.select(aggs).with_columns(pl.lit("All accounts").alias("segment")))
        order.append("All accounts")
    grouped = pl.concat(groups, how="diagonal_relaxed")

    n_total = frame.height
    revenue_total = df.select(_sum(df, "revenue")).item() if "revenue" in df.columns else None
    out = grouped.with_columns(
        (pl.col("accounts") / n_total if n_total else pl.lit(None)).alias("account_share"),
        (pl.col("revenue") / revenue_total if revenue_total else pl.lit(None, pl.Float64)).alias(
            "revenue_share"
        ),
        _ratio(pl.col("_margin"), pl.col("revenue")).alias("margin_pct"),
        _ratio(pl.col("revenue"), pl.col("_orders")).alias("avg_order_value"),
        (_ratio(pl.col("revenue"), pl.col("_revenue_prev")) - 1).alias("growth"),
        _ratio(pl.col("_p1"), pl.col("_p0")).alias("nrr"),
    )
    if "margin" not in df.columns:
        out = out.with_columns(pl.lit(None, dtype=pl.Float64).alias("margin_pct"))
    rank = {s: i for i, s in enumerate(order)}
    out = out.with_columns(
        pl.col("segment")
        .replace_strict(rank, default=len(rank), return_dtype=pl.Int64)
        .alias("_rank")
    )
    return (
        out.sort("_rank")
        .select(PROFILE_COLUMNS)
        .with_columns(pl.col("accounts").cast(pl.Int64), pl.col(pl.Float64).fill_nan(None))
    )


def _order(seg: pl.Series) -> list[str]:
    present = set(seg.drop_nulls().cast(pl.String).unique().to_list())
    if isinstance(seg.dtype, pl.Enum):
        return [c for c in seg.dtype.categories.to_list() if c in present]
    return sorted(present)


# ---------------------------------------------------------------- traits


def trait_columns(frame: pl.DataFrame, exclude: Iterable[str] = ()) -> tuple[list[str], list[str]]:
    """(categorical, numeric) columns eligible for traits: id/name-like columns,
    dates and text columns with more than 60 distinct values are left out."""
    skip = set(exclude) | _NOT_TRAITS
    categorical, numeric = [], []
    for name, dtype in frame.schema.items():
        if name in skip or _ID_LIKE.search(name):
            continue
        if (
            dtype == pl.Boolean
            or dtype in (pl.String, pl.Categorical)
            or isinstance(dtype, pl.Enum | pl.Categorical)
        ):
            categorical.append(name)
        elif dtype.is_numeric():
            numeric.append(name)
    return categorical, numeric


def _fmt(x: float) -> str:
    if x is None or not math.isfinite(x):
        return str(x)
    if abs(x) >= 100:
        return f"{x:,.0f}"
    if abs(x) >= 1:
        text = f"{x:,.1f}"
        return text[:-2] if text.endswith(".0") else text
    return f"{x:.2g}"


def distinguishing_traits(
    frame: pl.DataFrame,
    assignments: pl.DataFrame,
    segment: str,
    *,
    min_support: float = 0.10,
    min_count: int = 5,
    min_lift: float = 1.2,
    min_z: float = 1.0,
    exclude: Iterable[str] = (),
    limit: int | None = 10,
) -> pl.DataFrame:
    """What sets ``segment`` apart from all accounts, strongest first.

    Categorical (text and true/false columns): a value is a trait when its
    share in the segment is at least ``min_support`` and ``min_count``
    accounts, and its lift = share in segment / share overall is at least
    ``min_lift``. Numeric columns: robust z = (segment median − overall
    median) / overall spread, the spread being 1.4826 × MAD (or IQR / 1.349
    when the MAD is 0, or the standard deviation when both are 0); a trait
    when |z| >= ``min_z`` with at least ``min_count`` values.

    Both kinds are ranked on one scale, ``strength``: for a numeric trait |z|;
    for a category the same "distance in overall standard deviations" of its
    indicator, (share in segment − share overall) / sqrt(p (1 − p)).
    Columns: column, kind, value, segment_value, overall_value, lift, z,
    strength, support, phrase.
    """
    seg = aligned_segments(frame, assignments).cast(pl.String)
    mask = (seg == segment).fill_null(False)
    n_seg = int(mask.sum())
    n_all = frame.height
    rows: list[dict] = []
    if n_seg == 0 or n_all == 0:
        return _traits_frame(rows)
    categorical, numeric = trait_columns(frame, exclude)
    for col in categorical:
        values = frame.get_column(col)
        if values.dtype != pl.String:
            values = values.cast(pl.String)
        overall = values.value_counts(name="n_all")
        if overall.height > _MAX_CATEGORIES:
            continue
        inside = values.filter(mask).value_counts(name="n_seg")
        counts = inside.join(overall, on=col, how="left").drop_nulls(col)
        for value, k, n_v in counts.iter_rows():
            p_seg, p_all = k / n_seg, n_v / n_all
            if k < min_count or p_seg < min_support or p_all >= 1:
                continue
            lift = p_seg / p_all
            if lift < min_lift:
                continue
            z = (p_seg - p_all) / math.sqrt(p_all * (1 - p_all))
            rows.append(dict(
                column=col, kind="category", value=value, segment_value=p_seg,
                overall_value=p_all, lift=lift, z=z, strength=z, support=k,
                phrase=f"{col} = {value} (lift {lift:.1f}, {p_seg * 100:.0f} % of segment)",
            ))  # fmt: skip
    for col in numeric:
        x = frame.get_column(col).cast(pl.Float64).fill_nan(None)
        inside = x.filter(mask).drop_nulls()
        if inside.len() < min_count:
            continue
        allv = x.drop_nulls()
        med = allv.median()
        if med is None:
            continue
        scale = 1.4826 * (allv - med).abs().median()
        if not scale:
            scale = (allv.quantile(0.75) - allv.quantile(0.25)) / 1.349
        if not scale:
            scale = allv.std() or 0.0
        if not scale or not math.isfinite(scale):
            continue
        seg_med = inside.median()
        z = (seg_med - med) / scale
        if abs(z) < min_z:
            continue
        rows.append(dict(
            column=col, kind="numeric", value=None, segment_value=seg_med, overall_value=med,
            lift=None, z=z, strength=abs(z), support=inside.len(),
            phrase=f"{col} median {_fmt(seg_med)} vs {_fmt(med)} overall",
        ))  # fmt: skip
    rows.sort(key=lambda r: (-r["strength"], r["column"], r["value"] or ""))
    if limit is not None:
        rows = rows[:limit]
    return _traits_frame(rows)


_TRAIT_SCHEMA = {
    "column": pl.String, "kind": pl.String, "value": pl.String, "segment_value": pl.Float64,
    "overall_value": pl.Float64, "lift": pl.Float64, "z": pl.Float64, "strength": pl.Float64,
    "support": pl.Int64, "phrase": pl.String,
}  # fmt: skip


def _traits_frame(rows: list[dict]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=_TRAIT_SCHEMA)
