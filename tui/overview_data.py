"""What the Overview draws, computed from the workbench state (no Textual here).

The state computes it once per frame and segments (``WorkbenchState.overview``),
in the preload thread when the workbench starts, so the Overview paints as soon
as it is mounted.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

__all__ = ["MAX_BARS", "PARETO_POINTS", "OverviewData", "overview_data"]

PARETO_POINTS = 200  # the curve is drawn from this many points, whatever the account count
MAX_BARS = 10  # segments beyond these (by revenue) are summed into "other"


@dataclass(frozen=True)
class OverviewData:
    accounts: int
    customers: int
    prospects: int
    revenue: float
    margin: float | None
    model_name: str | None
    segment_count: int | None
    pareto: pl.DataFrame | None  # account_share, measure_share (downsampled)
    top20_share: float | None  # revenue share of the top 20% of accounts
    bars: pl.DataFrame | None  # segment, account_share, revenue_share


def overview_data(state) -> OverviewData:  # state: tui.state.WorkbenchState
    """Everything the Overview draws, computed from the state (run in a worker)."""
    from core.abc import pareto_curve

    totals = state.totals()
    frame = state.frame
    pareto = None
    top20 = None
    if frame.height and totals.revenue > 0:
        # accounts with positive revenue only: prospects would flatten the curve's tail
        curve = pareto_curve(frame, measure="revenue")
        pareto = pareto_curve(frame, measure="revenue", max_points=PARETO_POINTS)
        at20 = curve.filter(pl.col("account_share") <= 0.2)
        top20 = float(at20["measure_share"].max()) if at20.height else 0.0
    bars = None
    assignments = state.assignments
    model = state.active_model
    segment_count = None
    if assignments is not None and "segment" in assignments.columns and frame.height:
        from tui.widgets.model_results import revenue_by_row

        joined = assignments.select("segment").with_columns(revenue_by_row(assignments, frame))
        per = (
            # as text: an Enum of segment labels (named RFM segments) has no "other"
            joined.with_columns(pl.col("segment").cast(pl.Utf8))
            .group_by("segment")
            .agg(pl.len().alias("n"), pl.col("revenue").sum().alias("rev"))
            .sort(["rev", "segment"], descending=[True, False])
        )
        segment_count = per.height
        if per.height > MAX_BARS:
            head = per.head(MAX_BARS - 1)
            rest = per.slice(MAX_BARS - 1)
            other = pl.DataFrame(
                {"segment": ["other"], "n": [int(rest["n"].sum())], "rev": [rest["rev"].sum()]},
                schema=per.schema,
            )
            per = pl.concat([head, other])
        total_rev = float(per["rev"].sum())
        bars = per.select(
            pl.col("segment").cast(pl.Utf8).fill_null("(none)"),
            (pl.col("n") / frame.height).alias("account_share"),
            (pl.col("rev") / total_rev if total_rev else pl.lit(0.0)).alias("revenue_share"),
        )
    return OverviewData(
        accounts=totals.accounts,
        customers=totals.customers,
        prospects=totals.prospects,
        revenue=totals.revenue,
        margin=totals.margin,
        model_name=model.name if model is not None else None,
        segment_count=segment_count,
        pareto=pareto,
        top20_share=top20,
        bars=bars,
    )
