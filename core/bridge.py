"""Revenue bridge: customer performance segmentation (DOMAIN.md "Customer performance
segmentation (revenue bridge)").

Period alignment (``alignment=``):

- ``"trailing"`` (default): P1 = [as_of - 1 period, as_of), P0 = the period before
  it, in calendar months (year = 12, quarter = 3, month = 1), like the metric window.
- ``"calendar"``: P1 = the last complete calendar year/quarter/month that ends on
  or before ``as_of``, P0 = the calendar period before it.

Per account and period, ``net`` = the sum of its amounts in the period, each
transaction rounded once to integer cents (half away from zero); all bridge
arithmetic is in integer cents, so the lines reconcile exactly. An account is
*active* in a period when its net there is > 0. Classes (``bridge_class``):

- ``New``: active in P1, not in P0, and no purchase day (a day whose net is
  > 0) ever before P1;
- ``Reactivated``: active in P1, not in P0, some purchase day before P1
  (before P0, or inside P0 but netted away by later returns);
- ``Expansion`` / ``Contraction`` / ``Retained``: active in both, P1 above / below /
  equal to P0; retained revenue = min(P0, P1), expansion = P1 - P0, contraction = P0 - P1;
- ``Churned``: active in P0, not in P1 (churn = its P0 revenue);
- ``Inactive``: active in neither (only accounts with some transaction before the
  end of P1 appear at all).

``adjustments`` = (net of every inactive account-period in P1) - (net of every
inactive account-period in P0), so ``P0 + new + reactivated + expansion -
contraction - churn + adjustments = P1`` where P0 and P1 are the total net
revenue of the periods. NRR and GRR are taken over the P0 cohort
``p0_active`` (the P0 revenue of accounts active in P0):
NRR = (p0_active - churn - contraction + expansion) / p0_active,
GRR = (p0_active - churn - contraction) / p0_active, null when p0_active is 0.
Without inactive-but-nonzero account-periods ``p0_active`` equals ``p0``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import polars as pl

from core.errors import UsageError
from core.metrics import cents, default_as_of
from core.periods import period_months, period_start, shift_months

NEW = "New"
REACTIVATED = "Reactivated"
EXPANSION = "Expansion"
CONTRACTION = "Contraction"
RETAINED = "Retained"
CHURNED = "Churned"
INACTIVE = "Inactive"
BRIDGE_CLASSES: tuple[str, ...] = (
    NEW, REACTIVATED, EXPANSION, CONTRACTION, RETAINED, CHURNED, INACTIVE,
)
ALIGNMENTS = ("trailing", "calendar")
ALL_SEGMENT = "All"
UNASSIGNED = "Unassigned"

# Money lines of the bridge, in cents in `totals_cents`, in currency in `totals`.
MONEY_LINES: tuple[str, ...] = (
    "p0", "new", "reactivated", "expansion", "contraction", "churn", "adjustments", "p1",
    "retained", "p0_active",
)
LINE_LABELS: dict[str, str] = {
    "p0": "P0 revenue",
    "new": "+ New",
    "reactivated": "+ Reactivated",
    "expansion": "+ Expansion",
    "contraction": "- Contraction",
    "churn": "- Churn",
    "adjustments": "+ Adjustments",
    "p1": "= P1 revenue",
    "retained": "Retained",
    "nrr": "NRR",
    "grr": "GRR",
}
COUNT_COLUMNS: dict[str, str] = {c: f"n_{c.lower()}" for c in BRIDGE_CLASSES}


@dataclass(frozen=True)
class BridgeResult:
    """A revenue bridge between P0 = [p0_start, p0_end) and P1 = [p1_start, p1_end).

    ``accounts``: per account ``account_id, [segment,] p0_revenue, p1_revenue,
    bridge_class, retained, new, reactivated, expansion, contraction, churn,
    adjustments`` (currency, Float64). ``totals``: one row per segment, the
    overall row first with segment ``"All"``: the money lines (currency),
    ``nrr``, ``grr``, and account counts ``n_new`` ... ``n_inactive``.
    ``totals_cents``: the overall money lines as exact integer cents.
    """

    period: str
    alignment: str
    as_of: dt.date
    p0_start: dt.date
    p0_end: dt.date
    p1_start: dt.date
    p1_end: dt.date
    accounts: pl.DataFrame
    totals: pl.DataFrame
    totals_cents: dict[str, int]

    @property
    def overall(self) -> dict[str, Any]:
        """The overall totals row as a dict."""
        return self.totals.row(0, named=True)

    def table(self) -> pl.DataFrame:
        """The bridge as lines x groups: ``line`` then one column per segment ("All" first)."""
        groups = self.totals["segment"].to_list()
        data: dict[str, list] = {"line": list(LINE_LABELS.values())}
        for i, group in enumerate(groups):
            row = self.totals.row(i, named=True)
            data[group] = [row[key] for key in LINE_LABELS]
        return pl.DataFrame(data, strict=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (dates as ISO strings, totals as a list of rows)."""
        return {
            "period": self.period,
            "alignment": self.alignment,
            "as_of": self.as_of.isoformat(),
            "p0": {"start": self.p0_start.isoformat(), "end": self.p0_end.isoformat()},
            "p1": {"start": self.p1_start.isoformat(), "end": self.p1_end.isoformat()},
            "totals": self.totals.to_dicts(),
            "totals_cents": dict(self.totals_cents),
        }


def bridge_periods(
    as_of: dt.date, period: str = "year", alignment: str = "trailing"
) -> tuple[dt.date, dt.date, dt.date]:
    """(p0_start, p1_start, p1_end) for ``as_of``; P0 ends where P1 starts."""
    months = period_months(period)
    if alignment == "trailing":
        p1_end = as_of
    elif alignment == "calendar":
        p1_end = period_start(as_of, period)
    else:
        raise UsageError(f"unknown bridge alignment {alignment!r}: choose trailing or calendar")
    p1_start = shift_months(p1_end, -months)
    p0_start = shift_months(p1_end, -2 * months)
    return p0_start, p1_start, p1_end


def _account_lines(
    transactions: pl.LazyFrame, p0_start: dt.date, p1_start: dt.date, p1_end: dt.date
) -> pl.LazyFrame:
    """Per account: net cents in P0 and P1 and whether it had a purchase day before P1."""
    # One row per account and day (its net cents): "before P1" asks for a
    # purchase day (a day whose net is > 0), as first_purchase does, so an order
    # cancelled the same day is no history.
    tx = (
        transactions.filter(pl.col("date") < p1_end)
        .select(pl.col("account_id").cast(pl.Utf8), pl.col("date"), cents("amount").alias("c"))
        .group_by("account_id", "date", maintain_order=True)
        .agg(pl.col("c").sum())
        .collect()
    )
    in_p0 = (pl.col("date") >= p0_start) & (pl.col("date") < p1_start)
    in_p1 = pl.col("date") >= p1_start
    aggs = [
        pl.col("c").filter(in_p0).sum().alias("p0_c"),
        pl.col("c").filter(in_p1).sum().alias("p1_c"),
        ((pl.col("c") > 0) & (pl.col("date") < p1_start)).any().alias("history"),
    ]
    runs = tx.get_column("account_id").rle().struct.field("value")
    if tx.height and runs.n_unique() == runs.len():
        # Lines grouped by account (the usual workspace layout): group by run
        # number, which polars slices instead of hashing the ids.
        per_run = (
            tx.lazy()
            .select(pl.col("account_id").rle_id().set_sorted().alias("run"), "date", "c")
            .group_by("run", maintain_order=True)
            .agg(aggs)
            .collect(engine="in-memory")
        )
        return per_run.with_columns(account_id=runs).drop("run").lazy()
    return tx.lazy().group_by("account_id").agg(aggs)


def _classify(lines: pl.LazyFrame) -> pl.LazyFrame:
    """Add the class and the per-account bridge lines (integer cents)."""
    p0, p1 = pl.col("p0_c"), pl.col("p1_c")
    a0, a1 = p0 > 0, p1 > 0
    zero = pl.lit(0, pl.Int64)
    cls = (
        pl.when(a0 & a1 & (p1 > p0)).then(pl.lit(EXPANSION))
        .when(a0 & a1 & (p1 < p0)).then(pl.lit(CONTRACTION))
        .when(a0 & a1).then(pl.lit(RETAINED))
        .when(a0).then(pl.lit(CHURNED))
        .when(a1 & pl.col("history")).then(pl.lit(REACTIVATED))
        .when(a1).then(pl.lit(NEW))
        .otherwise(pl.lit(INACTIVE))
    )
    return lines.with_columns(cls.alias("bridge_class")).with_columns(
        pl.when(a0 & a1).then(pl.min_horizontal(p0, p1)).otherwise(zero).alias("retained_c"),
        pl.when(pl.col("bridge_class") == NEW).then(p1).otherwise(zero).alias("new_c"),
        pl.when(pl.col("bridge_class") == REACTIVATED).then(p1).otherwise(zero)
        .alias("reactivated_c"),
        pl.when(a0 & a1 & (p1 > p0)).then(p1 - p0).otherwise(zero).alias("expansion_c"),
        pl.when(a0 & a1 & (p1 < p0)).then(p0 - p1).otherwise(zero).alias("contraction_c"),
        pl.when(a0 & ~a1).then(p0).otherwise(zero).alias("churn_c"),
        (pl.when(~a1).then(p1).otherwise(zero) - pl.when(~a0).then(p0).otherwise(zero))
        .alias("adjustments_c"),
        pl.when(a0).then(p0).otherwise(zero).alias("p0_active_c"),
    )


def _totals(per_account: pl.DataFrame, by: str | None) -> pl.DataFrame:
    """Sum the cent lines (and count classes) per group, then convert to currency."""
    aggs = [
        pl.col("p0_c").sum().alias("p0"),
        *(pl.col(f"{k}_c").sum().alias(k) for k in MONEY_LINES if k not in ("p0", "p1")),
        pl.col("p1_c").sum().alias("p1"),
        *(
            (pl.col("bridge_class") == cls).sum().cast(pl.Int64).alias(col)
            for cls, col in COUNT_COLUMNS.items()
        ),
    ]
    if by is None:
        sums = per_account.select(aggs).with_columns(pl.lit(ALL_SEGMENT).alias("segment"))
    else:
        sums = per_account.group_by(by).agg(aggs).rename({by: "segment"}).sort("segment")
    sums = sums.with_columns(pl.col(k).fill_null(0).cast(pl.Int64) for k in MONEY_LINES)
    base = pl.col("p0_active")
    ratios = [
        pl.when(base > 0)
        .then((base - pl.col("churn") - pl.col("contraction") + pl.col("expansion")) / base)
        .alias("nrr"),
        pl.when(base > 0).then((base - pl.col("churn") - pl.col("contraction")) / base)
        .alias("grr"),
    ]
    return sums.select(
        "segment",
        *((pl.col(k) / 100).alias(k) for k in MONEY_LINES),
        *ratios,
        *COUNT_COLUMNS.values(),
    )


def revenue_bridge(
    transactions: pl.DataFrame | pl.LazyFrame,
    *,
    period: str = "year",
    as_of: dt.date | None = None,
    segments: pl.DataFrame | None = None,
    alignment: str = "trailing",
) -> BridgeResult:
    """The revenue bridge from P0 to P1, overall and per segment.

    DOMAIN.md: each account's revenue change is new (no revenue ever before
    P1, revenue in P1), reactivated (revenue in P1, none in P0, some before),
    retention (revenue in both; retained = min(P0, P1)), expansion (P1 > P0,
    the increase), contraction (0 < P1 < P0, the decrease) or churn (P0 > 0,
    P1 = 0, the lost P0 revenue). Net revenue <= 0 in a period counts as
    inactive and goes to an explicit adjustments line so that
    ``P0 + new + reactivated + expansion - contraction - churn + adjustments = P1``.
    NRR = (P0 - churn - contraction + expansion) / P0, GRR = (P0 - churn -
    contraction) / P0. The module docstring fixes the period alignment and
    the choices where the definition is silent.

    ``segments``: optional frame ``account_id, segment``; accounts not in it
    are grouped as "Unassigned" (last). Segment rows follow the categories of an
    Enum ``segment`` column (the model's order), else their names.
    """
    if as_of is None:
        as_of = default_as_of(transactions)
    p0_start, p1_start, p1_end = bridge_periods(as_of, period, alignment)
    per_account = _classify(_account_lines(transactions.lazy(), p0_start, p1_start, p1_end))
    order: list[str] = []
    if segments is not None:
        seg_dtype = segments.schema["segment"]
        # An Enum segment column (core.segment.assign_segments) keeps the
        # model's display order; other columns sort by name.
        if isinstance(seg_dtype, pl.Enum):
            order = [str(c) for c in seg_dtype.categories.to_list()]
        else:
            order = sorted(str(v) for v in segments["segment"].drop_nulls().unique())
        seg = segments.lazy().select(
            pl.col("account_id").cast(pl.Utf8), pl.col("segment").cast(pl.Utf8)
        )
        per_account = per_account.join(seg, on="account_id", how="left").with_columns(
            pl.col("segment").fill_null(UNASSIGNED)
        )
    per_account_df = per_account.sort("account_id").collect()

    overall = _totals(per_account_df, None)
    totals = overall
    if segments is not None:
        by_segment = _totals(per_account_df, "segment")
        rank = {name: i for i, name in enumerate([*order, UNASSIGNED])}
        by_segment = by_segment.sort(
            pl.col("segment").replace_strict(rank, default=len(rank), return_dtype=pl.Int64),
            "segment",
        )
        totals = pl.concat([overall, by_segment], how="vertical_relaxed")
    totals_cents = {
        k: int(v)
        for k, v in per_account_df.select(
            pl.col("p0_c").sum().alias("p0"),
            *(pl.col(f"{k}_c").sum().alias(k) for k in MONEY_LINES if k not in ("p0", "p1")),
            pl.col("p1_c").sum().alias("p1"),
        ).row(0, named=True).items()
    }
    money_cols = ["p0", "p1", "retained", "new", "reactivated", "expansion", "contraction",
                  "churn", "adjustments"]
    accounts = per_account_df.select(
        "account_id",
        *(["segment"] if segments is not None else []),
        (pl.col("p0_c") / 100).alias("p0_revenue"),
        (pl.col("p1_c") / 100).alias("p1_revenue"),
        "bridge_class",
        *((pl.col(f"{k}_c") / 100).alias(k) for k in money_cols[2:]),
    )
    return BridgeResult(
        period=period,
        alignment=alignment,
        as_of=as_of,
        p0_start=p0_start,
        p0_end=p1_start,
        p1_start=p1_start,
        p1_end=p1_end,
        accounts=accounts,
        totals=totals,
        totals_cents=totals_cents,
    )


def bridge_classes(
    transactions: pl.DataFrame | pl.LazyFrame,
    *,
    period: str = "year",
    as_of: dt.date | None = None,
    alignment: str = "trailing",
) -> pl.DataFrame:
    """``account_id, bridge_class`` for every account with a transaction before the end
    of P1 (the performance dimension); see ``revenue_bridge`` for the classes."""
    if as_of is None:
        as_of = default_as_of(transactions)
    p0_start, p1_start, p1_end = bridge_periods(as_of, period, alignment)
    return (
        _classify(_account_lines(transactions.lazy(), p0_start, p1_start, p1_end))
        .select("account_id", "bridge_class")
        .sort("account_id")
        .collect()
    )


def bridge_sequence(
    transactions: pl.DataFrame | pl.LazyFrame,
    *,
    period: str = "quarter",
    count: int = 4,
    as_of: dt.date | None = None,
    segments: pl.DataFrame | None = None,
    alignment: str = "trailing",
) -> list[BridgeResult]:
    """The last ``count`` consecutive bridges, oldest first; the newest ends at ``as_of``
    (trailing) and each earlier one ends one period before the next."""
    if count < 1:
        raise UsageError(f"count must be >= 1, got {count}")
    if as_of is None:
        as_of = default_as_of(transactions)
    months = period_months(period)
    _, _, last_end = bridge_periods(as_of, period, alignment)
    lf = transactions.lazy()
    return [
        revenue_bridge(lf, period=period, as_of=shift_months(last_end, -months * i),
                       segments=segments, alignment="trailing")
        for i in range(count - 1, -1, -1)
    ]
