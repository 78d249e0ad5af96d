"""The live result of the model editor, without Textual: segment a frame with a
draft model and summarise it as level counts and a segment table.

Runs in the editor's thread worker on every (debounced) edit, so it sticks to
two small group-bys over the assignments; the full profiles are the Segments
screen's job (``core.profile.segment_profiles``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import polars as pl


@dataclass(frozen=True)
class LiveResult:
    """What the editor shows for one draft model."""

    levels: pl.DataFrame  # dimension, level, accounts, share
    segments: pl.DataFrame  # segment, accounts, share, revenue, revenue_share
    accounts: int
    elapsed_ms: float
    # per cluster dimension: the chosen k and the silhouette per k
    cluster_notes: tuple[str, ...] = ()


def dimension_columns(assignments: pl.DataFrame) -> list[str]:
    """The per-dimension level columns of ``assign_segments``' output, in model order."""
    return [c for c in assignments.columns if c not in ("account_id", "segment")]


def level_counts(assignments: pl.DataFrame) -> pl.DataFrame:
    """Accounts per level of each dimension, levels in the dimension's own order.

    The order is the level Enum's (A, B, C; bins low to high; rules as
    written), so rows stay put while counts change under the analyst's typing.
    """
    total = max(assignments.height, 1)
    parts = []
    for column in dimension_columns(assignments):
        counts = (
            assignments.group_by(pl.col(column).alias("level"))
            .len("accounts")
            .sort("level", nulls_last=True)
            .select(
                pl.lit(column).alias("dimension"),
                pl.col("level").cast(pl.Utf8),
                pl.col("accounts").cast(pl.Int64),
                (pl.col("accounts") / total).alias("share"),
            )
        )
        parts.append(counts)
    if not parts:
        return pl.DataFrame(
            schema={"dimension": pl.Utf8, "level": pl.Utf8, "accounts": pl.Int64,
                    "share": pl.Float64}
        )
    return pl.concat(parts)


def revenue_by_row(assignments: pl.DataFrame, frame: pl.DataFrame) -> pl.Series:
    """Each assigned account's revenue (0 when null), aligned with ``assignments``' rows.

    ``assign_segments`` keeps the frame's row order, so the column is taken by
    position when the account ids line up (a join of 1M text keys costs ~1 s);
    otherwise it falls back to a join.
    """
    if "revenue" not in frame.columns:
        return pl.Series("revenue", [0.0] * assignments.height, dtype=pl.Float64)
    revenue = frame.get_column("revenue").cast(pl.Float64).fill_null(0.0)
    if frame.height == assignments.height and frame.get_column("account_id").equals(
        assignments.get_column("account_id")
    ):
        return revenue
    joined = assignments.select("account_id").join(
        frame.select("account_id", revenue.alias("revenue")), on="account_id", how="left",
        maintain_order="left",
    )
    return joined.get_column("revenue").fill_null(0.0)


def segment_table(assignments: pl.DataFrame, frame: pl.DataFrame) -> pl.DataFrame:
    """Accounts and revenue per segment, in the model's segment order (stable while typing)."""
    revenue = revenue_by_row(assignments, frame)
    total_accounts = max(assignments.height, 1)
    total_revenue = revenue.sum()
    per_segment = (
        assignments.select("segment")
        .with_columns(revenue.alias("revenue"))
        .group_by("segment")
        .agg(pl.len().cast(pl.Int64).alias("accounts"), pl.col("revenue").sum())
    )
    return per_segment.sort("segment").select(
        pl.col("segment").cast(pl.Utf8),
        "accounts",
        (pl.col("accounts") / total_accounts).alias("share"),
        "revenue",
        (pl.col("revenue") / total_revenue if total_revenue else pl.lit(None, pl.Float64)).alias(
            "revenue_share"
        ),
    )


def live_result(
    frame: pl.DataFrame, model: Any, *, cache: Any = None, frame_token: Any = None
) -> LiveResult:
    """Segment ``frame`` with ``model`` and summarise it (raises what assign_segments raises).

    With a ``cache`` and a ``frame_token`` the levels of dimensions that did
    not change since the last call are reused (``core.segment``).
    """
    from core.segment import assign_segments

    started = time.perf_counter()
    assignments = assign_segments(frame, model, cache=cache, frame_token=frame_token)
    levels = level_counts(assignments)
    segments = segment_table(assignments, frame)
    return LiveResult(levels, segments, assignments.height,
                      (time.perf_counter() - started) * 1000, cluster_notes(frame, model))


def cluster_notes(frame: pl.DataFrame, model: Any) -> tuple[str, ...]:
    """"Behaviour: k = 6 (best silhouette; k=2 0.47, ..., k=6 0.51)" per cluster
    dimension; the fit is the one assign_segments just made (core.cluster's cache)."""
    from core.forward_dimensions import ClusterDimension

    notes = []
    for dim in model.dimensions:
        if isinstance(dim, ClusterDimension):
            fit = dim.fit(frame)
            how = "given" if dim.k is not None else "best silhouette"
            sil = ", ".join(f"k={k} {v:.2f}" for k, v in fit.silhouette.items())
            notes.append(f"{dim.name}: k = {fit.k} ({how}; silhouette {sil})")
    return tuple(notes)
