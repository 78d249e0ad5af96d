"""The work behind the Runs screen, without Textual: freeze a run, list runs,
compare two runs, and pick out the accounts behind a matrix cell.

These functions are called from thread workers. They read and write through
the workspace and leave the arithmetic to ``core.runs.migration_matrix``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import polars as pl

TOTAL = "total"


def format_created_at(text: str) -> str:
    """ISO time as stored -> "YYYY-MM-DD HH:MM" (UTC)."""
    return text[:16].replace("T", " ")


def run_rows(workspace: Any) -> list[dict[str, Any]]:
    """The stored runs, oldest first, as dicts for the Runs screen's ``RunInfo``."""
    runs = workspace.list_runs()
    rows = []
    for item in runs.sort("run_id").iter_rows(named=True):
        rows.append(
            {
                "run_id": int(item["run_id"]),
                "label": item["label"] or "",
                "model_name": item["model_name"] or "",
                "as_of": str(item["as_of"] or ""),
                "created_at": format_created_at(str(item["created_at"] or "")),
                "accounts": int(item["accounts"] or 0),
            }
        )
    return rows


def freeze_run(state: Any, label: str = "") -> int:
    """Save the active model's current assignments (with each account's revenue) as a run."""
    from core.model import model_to_json

    model = state.active_model
    if model is None:
        raise ValueError("no active model to freeze")
    assignments = state.assignments
    if assignments is None:
        assignments = state.recompute()
    frame = state.frame
    frozen = assignments.select("account_id", "segment").join(
        frame.select("account_id", pl.col("revenue").fill_null(0.0)),
        on="account_id",
        how="left",
    )
    return state.workspace.save_run(
        model.name, model_to_json(model), state.as_of, frozen, label=label or None
    )


@dataclass(frozen=True)
class MigrationResult:
    """Two runs side by side: ``pairs`` has one row per account in either run."""

    run_a: int
    run_b: int
    pairs: pl.DataFrame  # account_id, from_segment, to_segment, revenue_from, revenue_to
    counts: pl.DataFrame  # from core.runs.migration_matrix (accounts)
    revenue: pl.DataFrame  # from core.runs.migration_matrix (revenue)
    from_segments: tuple[str, ...]
    to_segments: tuple[str, ...]

    @property
    def total_count(self) -> int:
        return self.pairs.height

    @property
    def moved_count(self) -> int:
        return self.pairs.filter(
            pl.col("from_segment").ne_missing(pl.col("to_segment"))
        ).height

    def cell(self, row: int, column: int) -> tuple[str | None, str | None] | None:
        """The (from, to) segments of a cell of ``matrix_display``; None means "any".

        Column 0 is the row label and the last column and row are totals.
        """
        if row < 0 or row > len(self.from_segments) or column < 0:
            return None
        if column > len(self.to_segments) + 1:
            return None
        from_segment = self.from_segments[row] if row < len(self.from_segments) else None
        to_index = column - 1
        to_segment = (
            self.to_segments[to_index] if 0 <= to_index < len(self.to_segments) else None
        )
        return from_segment, to_segment


def compare_runs(state: Any, run_a: int, run_b: int) -> MigrationResult:
    """Load two runs and compute their migration matrices (accounts and revenue)."""
    from core.runs import migration_matrix

    ws = state.workspace
    first = ws.load_run(run_a)
    second = ws.load_run(run_b)
    migration = migration_matrix(first, second)
    counts, revenue = migration.accounts, migration.revenue
    pairs = _pairs(first, second)
    from_segments = tuple(counts["from_segment"].to_list())
    to_segments = tuple(counts.columns[1:])
    return MigrationResult(run_a, run_b, pairs, counts, revenue, from_segments, to_segments)


def _pairs(first: pl.DataFrame, second: pl.DataFrame) -> pl.DataFrame:
    """One row per account in either run, labelled as ``core.runs`` labels them."""
    from core.runs import GONE, NEW

    def side(run: pl.DataFrame, suffix: str) -> pl.DataFrame:
        revenue = (
            pl.col("revenue").cast(pl.Float64)
            if "revenue" in run.columns
            else pl.lit(None, pl.Float64)
        )
        return run.select(
            "account_id",
            pl.col("segment").alias(f"{suffix}_segment"),
            revenue.alias(f"revenue_{suffix}"),
        )

    return side(first, "from").join(
        side(second, "to"), on="account_id", how="full", coalesce=True
    ).with_columns(
        pl.col("from_segment").fill_null(NEW),
        pl.col("to_segment").fill_null(GONE),
    )


def matrix_display(result: MigrationResult, measure: str) -> pl.DataFrame:
    """The matrix to show, with a total column and a total row.

    Rows are the earlier run's segments, columns the later run's, in the order
    of ``result.from_segments`` / ``result.to_segments`` (``cell`` relies on it).
    """
    matrix = result.revenue if measure == "revenue" else result.counts
    values = list(result.to_segments)
    with_total = matrix.with_columns(pl.sum_horizontal(values).alias(TOTAL))
    sums = with_total.select(pl.lit(TOTAL).alias("from_segment"),
                             *[pl.col(c).sum() for c in [*values, TOTAL]])
    table = pl.concat([with_total, sums], how="vertical_relaxed")
    return table.rename({"from_segment": f"run {result.run_a} \\ run {result.run_b}"})


def moved_accounts(
    state: Any, result: MigrationResult, from_segment: str | None, to_segment: str | None
) -> pl.DataFrame:
    """The accounts of one matrix cell, with their names and revenue in both runs."""
    pairs = result.pairs
    if from_segment is not None:
        pairs = pairs.filter(pl.col("from_segment") == from_segment)
    if to_segment is not None:
        pairs = pairs.filter(pl.col("to_segment") == to_segment)
    frame = state.frame
    names = [c for c in ("account_id", "name", "industry", "country") if c in frame.columns]
    return pairs.join(frame.select(names), on="account_id", how="left").sort("account_id")
