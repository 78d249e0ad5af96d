"""Comparing frozen segmentation runs: the migration matrix.

DOMAIN.md, "Snapshots": "A segmentation run freezes every account's segment
at a time; two runs give a migration matrix (who moved where)".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from core.errors import UsageError

__all__ = ["NEW", "GONE", "Migration", "migration_matrix"]

NEW = "(new)"
GONE = "(gone)"


@dataclass(frozen=True)
class Migration:
    """``long``: from_segment, to_segment, accounts, revenue (one row per
    non-empty pair); ``accounts`` and ``revenue``: wide matrices with one row
    per A segment (``from_segment``) and one column per B segment."""

    long: pl.DataFrame
    accounts: pl.DataFrame
    revenue: pl.DataFrame

    @property
    def stayed_share(self) -> float | None:
        """Share of accounts present in both runs whose segment did not change."""
        both = self.long.filter((pl.col("from_segment") != NEW) & (pl.col("to_segment") != GONE))
        total = both["accounts"].sum()
        if not total:
            return None
        same = both.filter(pl.col("from_segment") == pl.col("to_segment"))["accounts"].sum()
        return same / total

    def wide(self, by: str = "accounts") -> pl.DataFrame:
        if by not in ("accounts", "revenue"):
            raise UsageError(f"--by must be 'accounts' or 'revenue', got {by!r}")
        return self.accounts if by == "accounts" else self.revenue


def _check(run: pl.DataFrame, which: str) -> None:
    missing = {"account_id", "segment"} - set(run.columns)
    if missing:
        raise UsageError(f"run {which} lacks column(s) {', '.join(sorted(missing))}")
    if run["account_id"].is_duplicated().any():
        raise UsageError(f"run {which} lists an account more than once")


def _order(values: list[str], preferred: Sequence[str] | None) -> list[str]:
    present = {v for v in values if v not in (NEW, GONE)}
    first = [v for v in dict.fromkeys(preferred or ()) if v in present]
    return first + sorted(present - set(first))


def migration_matrix(
    run_a: pl.DataFrame,
    run_b: pl.DataFrame,
    revenue_col: str = "revenue",
    *,
    order: Sequence[str] | None = None,
) -> Migration:
    """Accounts and revenue moving from each segment of run A to each of run B.

    Accounts only in B come from ``"(new)"``; accounts only in A go to
    ``"(gone)"``. Revenue is ``revenue_col`` as frozen in run B (in run A for
    accounts that are gone); a run without that column counts 0. Segments
    are listed in ``order`` (e.g. the model's display order), then the rest
    alphabetically, "(new)" and "(gone)" last.
    """
    _check(run_a, "A")
    _check(run_b, "B")

    def side(run: pl.DataFrame, seg: str, rev: str) -> pl.DataFrame:
        revenue = (
            pl.col(revenue_col).cast(pl.Float64).fill_null(0.0)
            if revenue_col in run.columns
            else pl.lit(0.0)
        )
        return run.select(
            pl.col("account_id"), pl.col("segment").cast(pl.String).alias(seg), revenue.alias(rev)
        )

    joined = side(run_a, "from_segment", "rev_a").join(
        side(run_b, "to_segment", "rev_b"), on="account_id", how="full", coalesce=True
    )
    joined = joined.with_columns(
        pl.col("from_segment").fill_null(NEW),
        pl.col("to_segment").fill_null(GONE),
        pl.coalesce(pl.col("rev_b"), pl.col("rev_a"), pl.lit(0.0)).alias("revenue"),
    )
    long = (
        joined.group_by("from_segment", "to_segment")
        .agg(pl.len().cast(pl.Int64).alias("accounts"), pl.col("revenue").sum())
        .sort("from_segment", "to_segment")
    )
    rows = _order(long["from_segment"].unique().to_list(), order)
    if NEW in long["from_segment"].to_list():
        rows.append(NEW)
    cols = _order(long["to_segment"].unique().to_list(), order)
    if GONE in long["to_segment"].to_list():
        cols.append(GONE)

    def wide(values: str) -> pl.DataFrame:
        base = pl.DataFrame({"from_segment": rows}, schema={"from_segment": pl.String})
        if long.is_empty():
            return base
        piv = long.pivot(on="to_segment", index="from_segment", values=values)
        piv = base.join(piv, on="from_segment", how="left", maintain_order="left")
        present = [c for c in cols if c in piv.columns]
        zero = 0 if values == "accounts" else 0.0
        return piv.select("from_segment", *[pl.col(c).fill_null(zero) for c in present])

    rank_r = {s: i for i, s in enumerate(rows)}
    rank_c = {s: i for i, s in enumerate(cols)}
    long = long.sort(
        pl.col("from_segment").replace_strict(rank_r, return_dtype=pl.Int64),
        pl.col("to_segment").replace_strict(rank_c, return_dtype=pl.Int64),
    )
    return Migration(long=long, accounts=wide("accounts"), revenue=wide("revenue"))
