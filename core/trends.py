"""Segments over frozen runs: accounts and revenue per segment at each run
(issue 15, "trend charts of segment revenue/accounts over frozen runs").

Pure: each point is ``(label, assignments)`` with the run's frozen
``account_id, segment`` and, when frozen with it, ``revenue`` (the account's
window revenue at the run's analysis date; missing counts as 0). The result
is ``point, segment, accounts, revenue`` in point order, segments in order of
first appearance (so a segment that appears later keeps its place).
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

__all__ = ["SEGMENT_TREND_SCHEMA", "segment_trend"]

SEGMENT_TREND_SCHEMA = {
    "point": pl.String,
    "segment": pl.String,
    "accounts": pl.Int64,
    "revenue": pl.Float64,
}


def segment_trend(points: Sequence[tuple[str, pl.DataFrame]]) -> pl.DataFrame:
    """Accounts (rows of the run) and revenue (sum of the frozen revenue) per
    segment at each point."""
    parts = []
    for i, (label, run) in enumerate(points):
        revenue = (
            pl.col("revenue").cast(pl.Float64).fill_null(0.0).sum()
            if "revenue" in run.columns
            else pl.lit(None, dtype=pl.Float64)
        )
        part = (
            run.with_columns(pl.col("segment").cast(pl.String))
            .with_row_index("_row")
            .group_by("segment")
            .agg(
                pl.len().cast(pl.Int64).alias("accounts"),
                revenue.alias("revenue"),
                pl.col("_row").min().alias("_first"),
            )  # fmt: skip
            .with_columns(pl.lit(label, dtype=pl.String).alias("point"), pl.lit(i).alias("_i"))
        )
        parts.append(part)
    if not parts:
        return pl.DataFrame(schema=SEGMENT_TREND_SCHEMA)
    frame = pl.concat(parts, how="vertical_relaxed")
    first_seen = (
        frame.sort("_i", "_first").group_by("segment", maintain_order=True).agg(pl.len())
        .with_row_index("_order").select("segment", "_order")
    )  # fmt: skip
    return (
        frame.join(first_seen, on="segment")
        .sort("_i", "_order")
        .select(
            pl.col("point"),
            pl.col("segment"),
            pl.col("accounts").cast(pl.Int64),
            pl.col("revenue").cast(pl.Float64),
        )
    )
