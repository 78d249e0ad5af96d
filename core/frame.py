"""The per-account frame: attributes, metrics and the one-dimensional classes.

It is what ``core.model.assign_segments``, the profiles, the Accounts table and
the filter box work on; the TUI computes it once per data change and caches it.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from core.abc import abc_classes
from core.bridge import revenue_bridge
from core.metrics import account_metrics, default_as_of
from core.rfm import rfm_scores


def account_frame(
    accounts: pl.DataFrame | pl.LazyFrame,
    transactions: pl.DataFrame | pl.LazyFrame,
    *,
    as_of: dt.date | None = None,
    window_months: int = 12,
) -> pl.DataFrame:
    """Accounts (all attribute columns, in their order) left-joined with
    ``account_metrics`` plus ``abc_class`` (revenue, 80/95), ``r_score``,
    ``f_score``, ``m_score``, ``rfm_segment`` (default grid) and ``bridge_class``
    (yearly trailing bridge ending at ``as_of``; null for accounts with no
    transaction before ``as_of``), ``bridge_prev_revenue`` and ``bridge_revenue``
    (that bridge's P0 and P1 net revenue of the account, for segment NRR/GRR).
    An account column whose name clashes with one of these is kept as
    ``attr_<name>``.

    With no transactions at all and no ``as_of``, today's date is used so a
    workspace holding only prospects still gets a frame.
    """
    accounts_df = accounts.lazy().collect()
    if as_of is None:
        if transactions.lazy().select(pl.len()).collect().item() == 0:
            as_of = dt.date.today()
        else:
            as_of = default_as_of(transactions)
    metrics = account_metrics(accounts_df, transactions, as_of=as_of, window_months=window_months)
    abc = abc_classes(metrics).select("account_id", "abc_class")
    rfm = rfm_scores(metrics)
    perf = revenue_bridge(transactions, period="year", as_of=as_of).accounts.select(
        "account_id",
        "bridge_class",
        pl.col("p0_revenue").alias("bridge_prev_revenue"),
        pl.col("p1_revenue").alias("bridge_revenue"),
    )
    # Metric names never clash with the canonical account columns, but an
    # imported extra column might (a CRM "revenue"); keep it as attr_<name>.
    derived = [*metrics.columns, "abc_class", *rfm.columns, *perf.columns]
    clashes = {c: f"attr_{c}" for c in derived if c != "account_id" and c in accounts_df.columns}
    base = accounts_df.rename(clashes) if clashes else accounts_df
    return (
        base.with_columns(pl.col("account_id").cast(pl.Utf8))
        .join(metrics, on="account_id", how="left", maintain_order="left")
        .join(abc, on="account_id", how="left", maintain_order="left")
        .join(rfm, on="account_id", how="left", maintain_order="left")
        .join(perf, on="account_id", how="left", maintain_order="left")
    )
