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
    columns = transactions.lazy().collect_schema().names()
    lines = _lines(transactions.lazy(), columns, as_of).collect()
    per_account = _per_account_clustered(lines, window_start, prev_start)
    if per_account is None and lines.height:
        # Group the lines by account first (a sort on an integer key), then
        # take the run path; the hash path is the last resort.
        per_account = _per_account_clustered(_grouped_by_account(lines), window_start,
                                              prev_start)
    if per_account is None:
        per_account = _per_account_hashed(lines, window_start, prev_start)
    return _finish(accounts.lazy(), per_account.lazy(), as_of, "margin" in columns).collect()


def _lines(transactions: pl.LazyFrame, columns: list[str], as_of: dt.date) -> pl.LazyFrame:
    """The columns the metrics need, money in cents, transactions before ``as_of``."""
    product = _product_column(columns)
    return transactions.filter(pl.col("date") < as_of).select(
        pl.col("account_id").cast(pl.Utf8),
        pl.col("date"),
        cents("amount").alias("c"),
        (cents("margin") if "margin" in columns else pl.lit(None, pl.Int64)).alias("mc"),
        (pl.col("invoice_id").cast(pl.Utf8) if "invoice_id" in columns
         else pl.lit(None, pl.Utf8)).alias("invoice_id"),
        (pl.col(product).cast(pl.Utf8) if product else pl.lit(None, pl.Utf8)).alias("pl_"),
    )


def _aggregations(
    lines: pl.LazyFrame,
    by: str,
    day_keys: list[str],
    order_keys: list[str],
    window_start: dt.date,
    prev_start: dt.date,
    sorted_keys: bool,
) -> list[pl.LazyFrame]:
    """Per ``by``: purchase-day dates and counts, window money, breadth, orders.

    ``day_keys`` group the lines of one account and day, ``order_keys`` the
    lines of one order (an invoice, or an account-day for lines without one).
    With ``sorted_keys`` every key is an integer in ascending order, so polars
    groups by slicing runs instead of hashing. Returns separate queries (run
    with ``collect_all`` and joined on ``by``): one combined plan was 2-3x slower.
    """
    in_window = pl.col("date") >= window_start

    def flag(*names: str) -> list[pl.Expr]:
        return [pl.col(n).set_sorted() for n in names] if sorted_keys else []

    def group(lf: pl.LazyFrame, keys: list[str]):
        return lf.group_by(keys, maintain_order=sorted_keys)

    if sorted_keys:
        lines = lines.with_columns(flag(by, *day_keys, *order_keys))
    purchase = pl.col("net") > 0
    if sorted_keys:
        days = (
            _run_nets(lines.select(by, "date", *day_keys, "c"), day_keys[0])
            .filter(purchase)
            .with_columns(flag(by))
            .group_by(by, maintain_order=True)
            .agg(
                pl.col("date").first().alias("first_purchase"),
                pl.col("date").last().alias("last_purchase"),
                in_window.sum().cast(pl.Int64).alias("frequency"),
            )
        )
    else:
        day_aggs = [pl.col("c").sum().alias("net")]
        if "date" not in day_keys:
            day_aggs.append(pl.col("date").first())
        days = group(group(lines, day_keys).agg(day_aggs), [by]).agg(
            pl.col("date").filter(purchase).min().alias("first_purchase"),
            pl.col("date").filter(purchase).max().alias("last_purchase"),
            (purchase & in_window).sum().cast(pl.Int64).alias("frequency"),
        )

    recent = lines.filter(pl.col("date") >= prev_start).with_columns(flag(by, *order_keys))
    money = group(recent, [by]).agg(
        pl.col("c").filter(in_window).sum().alias("rev_c"),
        pl.col("c").filter(~in_window).sum().alias("prev_c"),
        in_window.sum().alias("lines"),
        pl.col("mc").filter(in_window).sum().alias("margin_c"),
        pl.col("mc").filter(in_window).count().alias("margin_n"),
        pl.col("pl_").filter(in_window & (pl.col("c") > 0)).drop_nulls().n_unique()
        .cast(pl.Int64).alias("product_breadth"),
    )

    if sorted_keys:
        order_nets = _run_nets(
            recent.filter(in_window).select(by, *order_keys, "c"), order_keys[0]
        ).with_columns(flag(by))
    else:
        order_nets = group(recent.filter(in_window), order_keys).agg(pl.col("c").sum().alias("net"))
    orders = group(order_nets, [by]).agg((pl.col("net") > 0).sum().cast(pl.Int64).alias("orders"))
    return [days, money, orders]


def _run_nets(lines: pl.LazyFrame, run: str) -> pl.LazyFrame:
    """The last line of each run of ``run`` (ascending) with ``net`` = the run's sum of
    ``c``: the running sum at its last line minus that at the previous run's last
    line. Slicing by a sort order this way needs no grouping at all."""
    last_of_run = (pl.col(run) != pl.col(run).shift(-1)).fill_null(True)
    running = pl.col("running")
    return (
        lines.with_columns(pl.col("c").cum_sum().alias("running"))
        .filter(last_of_run)
        .with_columns((running - running.shift(1, fill_value=0)).alias("net"))
    )


def _join_parts(parts: list[pl.DataFrame], by: str) -> pl.DataFrame:
    days, money, orders = parts
    return days.join(money, on=by, how="full", coalesce=True).join(orders, on=by, how="left")


def _with_order_key(lines: pl.LazyFrame) -> pl.LazyFrame:
    # Lines without an invoice form one order per account and day.
    return lines.with_columns(
        pl.when(pl.col("invoice_id").is_null()).then(pl.col("date")).alias("day_key")
    )


def _grouped_by_account(lines: pl.DataFrame) -> pl.DataFrame:
    """The lines reordered so that each account's lines are contiguous and dated
    in ascending order (stable otherwise).

    The sort key is the account id's 64-bit hash with its low 21 bits replaced
    by the day: two accounts whose hashes agree in the high 43 bits would
    interleave, which ``_per_account_clustered`` detects (it then refuses), so a
    collision costs time, never correctness.
    """
    first = (lines.get_column("date").min() - dt.date(1970, 1, 1)).days
    high = pl.lit(0xFFFF_FFFF_FFE0_0000, pl.UInt64)
    key = (pl.col("account_id").hash() & high) | (
        (pl.col("date").cast(pl.Int64) - first).cast(pl.UInt64)
    )
    return (
        lines.lazy()
        .with_columns(key.alias("_key"))
        .sort("_key", maintain_order=True)
        .drop("_key")
        .collect(engine="in-memory")
    )


def _per_account_hashed(
    lines: pl.DataFrame, window_start: dt.date, prev_start: dt.date
) -> pl.DataFrame:
    """General path: hash group-bys on the account id (any row order)."""
    queries = _aggregations(
        _with_order_key(lines.lazy()), "account_id", ["account_id", "date"],
        ["account_id", "invoice_id", "day_key"], window_start, prev_start, sorted_keys=False,
    )
    return _join_parts(pl.collect_all(queries), "account_id")


def _per_account_clustered(
    lines: pl.DataFrame, window_start: dt.date, prev_start: dt.date
) -> pl.DataFrame | None:
    """Fast path when each account's lines are contiguous and in date order.

    That is how the workspace holds an import of an ERP or generator export
    sorted by account; then an account is a run number, a day and an order are
    runs inside it, and every group-by slices runs instead of hashing. Returns
    None when the lines are not laid out that way (the caller then hashes).
    """
    if lines.height == 0:
        return None
    runs = lines.get_column("account_id").rle().struct.field("value")
    if runs.n_unique() != runs.len():
        return None  # an account appears in more than one run
    epoch_day = (lines.get_column("date").min() - dt.date(1970, 1, 1)).days
    coded = (
        _with_order_key(lines.lazy())
        .with_columns(pl.col("account_id").rle_id().cast(pl.Int64).alias("code"))
        .with_columns(
            (pl.col("code") * (1 << 21) + (pl.col("date").cast(pl.Int64) - epoch_day))
            .alias("day_run"),
            pl.struct("code", "invoice_id", "day_key").rle_id().cast(pl.Int64)
            .alias("order_run"),
        )
        .collect()
    )
    if not coded.get_column("day_run").is_sorted():
        return None  # dates not ascending within an account
    if not _orders_are_runs(coded):
        return None
    queries = _aggregations(
        coded.lazy(), "code", ["day_run"], ["order_run"], window_start, prev_start,
        sorted_keys=True,
    )
    # The in-memory engine slices sorted keys reliably; the streaming one
    # sometimes hashes them anyway (seen with polars 2.1).
    per_code = _join_parts(pl.collect_all(queries, engine="in-memory"), "code")
    ids = pl.DataFrame({"account_id": runs}).with_row_index("code").with_columns(
        pl.col("code").cast(pl.Int64)
    )
    return per_code.join(ids, on="code", how="left").drop("code")


def _orders_are_runs(coded: pl.DataFrame) -> bool:
    """True when every order (account + invoice, or account + day without invoice)
    is one contiguous run of lines, so counting runs counts orders."""
    has_inv = pl.col("invoice_id").is_not_null()
    starts = (
        coded.lazy()
        .filter(pl.col("order_run").diff().fill_null(1) != 0)
        .select("code", "invoice_id", "day_run")
        .collect()
    )
    # Runs without invoice: one per account-day, i.e. no repeated (sorted) day_run.
    repeated_day = starts.lazy().filter(~has_inv).select(
        (pl.col("day_run").diff() == 0).any()
    ).collect().item()
    if repeated_day:
        return False
    inv = starts.lazy().filter(has_inv)
    same_account = pl.col("code") == pl.col("code").shift()
    check = inv.select(
        pl.len().alias("runs"),
        # (account, invoice) ascending: then equal pairs would be adjacent
        (same_account & (pl.col("invoice_id") < pl.col("invoice_id").shift())).any()
        .alias("unsorted"),
        (same_account & (pl.col("invoice_id") == pl.col("invoice_id").shift())).any()
        .alias("adjacent_repeat"),
    ).collect().row(0, named=True)
    if not check["unsorted"]:
        return not check["adjacent_repeat"]
    # Invoice ids not ascending within accounts: count distinct pairs by hashing
    # (a hash collision can only make this answer False, never wrongly True).
    distinct = inv.select(pl.struct("code", "invoice_id").hash().n_unique()).collect().item()
    return distinct == check["runs"]


def _finish(
    accounts: pl.LazyFrame, per_account: pl.LazyFrame, as_of: dt.date, has_margin: bool
) -> pl.LazyFrame:
    """One row per account of ``accounts`` with the final metric columns."""
    ids = accounts.select(pl.col("account_id").cast(pl.Utf8))
    joined = ids.join(per_account, on="account_id", how="left", maintain_order="left")
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
