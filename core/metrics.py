"""Per-account metrics for an analysis date and a window (DOMAIN.md "Per-account metrics").

Conventions this module fixes where DOMAIN.md leaves a choice:

- Only transactions dated strictly before ``as_of`` are seen; the window is
  ``[as_of - window_months, as_of)`` and the previous window (for ``growth``) is
  ``[as_of - 2 * window_months, as_of - window_months)``, both in calendar months.
- Money is summed in integer cents: each transaction amount (and margin) is
  rounded to cents once, half away from zero, so the sums are exact and agree
  to the cent with the revenue bridge.
- A purchase day is a day whose net amount (all lines of the account that day)
  is > 0. ``first_purchase``/``last_purchase``/``recency_days``/``tenure_days``
  use purchase days ever (before ``as_of``); ``frequency`` counts them in the window.
- ``orders``: distinct ``invoice_id`` in the window whose net amount is > 0;
  lines without an ``invoice_id`` form one order per account and day (so they
  count like purchase days).
- ``revenue`` is net of returns. ``avg_order_value = revenue / orders`` (null
  without orders); ``margin_pct = margin / revenue`` (null unless revenue > 0).
- ``margin``: sum of the known line margins in the window; 0 for an account
  without window lines; null when its window lines carry no margin at all or the
  transactions have no ``margin`` column.
- ``product_breadth``: distinct non-null ``product_line`` (or ``product`` when
  there is no ``product_line`` column) over window lines with a positive amount.
- ``growth = revenue / revenue_prev - 1``, null when ``revenue_prev <= 0`` (no
  earlier positive revenue to grow from). ``revenue_prev`` is returned too so
  that a segment's growth can be computed from sums.
- Prospects (no transactions) get revenue 0, frequency 0, orders 0,
  product_breadth 0 and nulls for everything that is undefined.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from core.errors import SegscopeError, UsageError
from core.periods import shift_months

METRIC_COLUMNS: tuple[str, ...] = (
    "account_id",
    "revenue",
    "margin",
    "margin_pct",
    "recency_days",
    "frequency",
    "orders",
    "avg_order_value",
    "product_breadth",
    "tenure_days",
    "growth",
    "first_purchase",
    "last_purchase",
    "revenue_prev",
)


def cents(column: str) -> pl.Expr:
    """The money column rounded once to integer cents (half away from zero)."""
    return (
        (pl.col(column).cast(pl.Float64) * 100)
        .round(0, mode="half_away_from_zero")
        .cast(pl.Int64)
    )


def default_as_of(transactions: pl.DataFrame | pl.LazyFrame) -> dt.date:
    """The default analysis date: the day after the last transaction."""
    last = transactions.lazy().select(pl.col("date").max()).collect().item()
    if last is None:
        raise SegscopeError("there are no transactions, so there is no default analysis date; "
                            "give one with --as-of")
    return last + dt.timedelta(days=1)


def _check_window(window_months: int) -> None:
    if not isinstance(window_months, int) or window_months < 1:
        raise UsageError(f"window must be a whole number of months >= 1, got {window_months!r}")


def _product_column(columns: list[str]) -> str | None:
    for name in ("product_line", "product"):
        if name in columns:
            return name
    return None


def account_metrics(
    accounts: pl.DataFrame | pl.LazyFrame,
    transactions: pl.DataFrame | pl.LazyFrame,
    *,
    as_of: dt.date | None = None,
    window_months: int = 12,
) -> pl.DataFrame:
    """One row per account of ``accounts`` with the DOMAIN.md per-account metrics.

    DOMAIN.md: revenue and margin in the window, margin_pct = margin / revenue;
    a purchase day is a day on which the account's net amount is > 0;
    recency_days = analysis date minus the last purchase day; frequency =
    distinct purchase days in the window; orders, avg_order_value,
    product_breadth (distinct product lines); tenure_days = analysis date minus
    the first purchase ever; growth = window revenue over the previous window's
    revenue minus 1 (null when the earlier window is 0). The module docstring
    lists the choices made where the definition is silent.
    """
    _check_window(window_months)
    if as_of is None:
        as_of = default_as_of(transactions)
    window_start = shift_months(as_of, -window_months)
    prev_start = shift_months(as_of, -2 * window_months)
    return _metrics_lazy(accounts.lazy(), transactions.lazy(), as_of, window_start,
                         prev_start).collect()


def _metrics_lazy(
    accounts: pl.LazyFrame,
    transactions: pl.LazyFrame,
    as_of: dt.date,
    window_start: dt.date,
    prev_start: dt.date,
) -> pl.LazyFrame:
    """The metric frame as a lazy query (shared with core.frame)."""
    columns = transactions.collect_schema().names()
    has_margin = "margin" in columns
    product = _product_column(columns)
    has_invoice = "invoice_id" in columns

    tx = transactions.filter(pl.col("date") < as_of).select(
        pl.col("account_id"),
        pl.col("date"),
        cents("amount").alias("c"),
        (cents("margin") if has_margin else pl.lit(None, pl.Int64)).alias("mc"),
        (pl.col("invoice_id").cast(pl.Utf8) if has_invoice else pl.lit(None, pl.Utf8))
        .alias("invoice_id"),
        (pl.col(product).cast(pl.Utf8) if product else pl.lit(None, pl.Utf8)).alias("pl_"),
    )
    in_window = pl.col("date") >= window_start

    # Purchase days: net per account and day, over all history before as_of.
    purchase = pl.col("net") > 0
    days = (
        tx.group_by("account_id", "date")
        .agg(pl.col("c").sum().alias("net"))
        .group_by("account_id")
        .agg(
            pl.col("date").filter(purchase).min().alias("first_purchase"),
            pl.col("date").filter(purchase).max().alias("last_purchase"),
            (purchase & in_window).sum().cast(pl.Int64).alias("frequency"),
        )
    )

    recent = tx.filter(pl.col("date") >= prev_start)
    money = recent.group_by("account_id").agg(
        pl.col("c").filter(in_window).sum().alias("rev_c"),
        pl.col("c").filter(~in_window).sum().alias("prev_c"),
        in_window.sum().alias("lines"),
        pl.col("mc").filter(in_window).sum().alias("margin_c"),
        pl.col("mc").filter(in_window).count().alias("margin_n"),
        pl.col("pl_").filter(in_window & (pl.col("c") > 0)).drop_nulls().n_unique()
        .cast(pl.Int64).alias("product_breadth"),
    )

    # Orders: an invoice, or for lines without one, the account's day.
    orders = (
        recent.filter(in_window)
        .with_columns(
            pl.when(pl.col("invoice_id").is_null()).then(pl.col("date")).alias("day_key")
        )
        .group_by("account_id", "invoice_id", "day_key")
        .agg(pl.col("c").sum().alias("net"))
        .group_by("account_id")
        .agg((pl.col("net") > 0).sum().cast(pl.Int64).alias("orders"))
    )

    ids = accounts.select(pl.col("account_id").cast(pl.Utf8))
    joined = (
        ids.join(days, on="account_id", how="left", maintain_order="left")
        .join(money, on="account_id", how="left", maintain_order="left")
        .join(orders, on="account_id", how="left", maintain_order="left")
    )
    rev_c = pl.col("rev_c").fill_null(0)
    prev_c = pl.col("prev_c").fill_null(0)
    revenue = rev_c / 100
    orders_n = pl.col("orders").fill_null(0)
    if has_margin:
        margin_c = (
            pl.when(pl.col("lines").fill_null(0) == 0)
            .then(pl.lit(0, pl.Int64))
            .when(pl.col("margin_n") > 0)
            .then(pl.col("margin_c"))
        )
    else:
        margin_c = pl.lit(None, pl.Int64)
    margin = margin_c / 100
    as_of_lit = pl.lit(as_of, pl.Date)
    return joined.select(
        pl.col("account_id"),
        revenue.alias("revenue"),
        margin.cast(pl.Float64).alias("margin"),
        pl.when(rev_c > 0).then(margin_c / rev_c).cast(pl.Float64).alias("margin_pct"),
        (as_of_lit - pl.col("last_purchase")).dt.total_days().cast(pl.Int64).alias("recency_days"),
        pl.col("frequency").fill_null(0),
        orders_n.alias("orders"),
        pl.when(orders_n > 0).then(revenue / orders_n).alias("avg_order_value"),
        pl.col("product_breadth").fill_null(0),
        (as_of_lit - pl.col("first_purchase")).dt.total_days().cast(pl.Int64).alias("tenure_days"),
        pl.when(prev_c > 0).then(rev_c / prev_c - 1).alias("growth"),
        pl.col("first_purchase"),
        pl.col("last_purchase"),
        (prev_c / 100).alias("revenue_prev"),
    )
