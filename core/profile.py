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

import numpy as np
import polars as pl

from core.errors import UsageError

__all__ = [
    "PROFILE_COLUMNS",
    "segment_profiles",
    "distinguishing_traits",
    "segment_traits",
    "trait_columns",
    "aligned_segments",
]

PROFILE_COLUMNS = (
    "segment", "accounts", "account_share", "revenue", "revenue_share", "margin_pct",
    "avg_order_value", "frequency", "recency_days", "growth", "nrr",
)  # fmt: skip
# Forward-looking profile columns, present when the frame has the fitted
# potential (share_of_wallet, headroom, tam) or CLV (clv) columns.
FORWARD_PROFILE_COLUMNS = ("share_of_wallet", "headroom", "clv", "tam")

# Columns that identify rather than describe an account never make traits.
_ID_LIKE = re.compile(
    r"(^|_)(id|ids|name|names|email|phone|url|website|address|street|zip|postcode)($|_)",
    re.IGNORECASE,
)
# Columns that restate another one (absolute margin beside margin %, orders
# beside frequency, the previous window beside revenue, scores beside the raw
# recency/frequency/revenue) or are dates: they would crowd out real traits.
_NOT_TRAITS = frozenset({
    "segment", "first_purchase", "last_purchase", "revenue_prev", "margin", "orders",
    "r_score", "f_score", "m_score", "bridge_prev_revenue", "bridge_revenue",
})  # fmt: skip
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
    - ``margin_pct`` = sum margin / sum revenue, both over the accounts whose
      margin is known (revenue-weighted; null when none is);
    - ``avg_order_value`` = sum revenue / sum orders (null when either is <= 0);
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

    When the frame carries the fitted potential (``potential``, ``headroom``,
    from ``core.potential``) and CLV (``clv``), also (DOMAIN.md "Segment
    profile"):

    - ``share_of_wallet`` = sum of max(revenue, 0) / sum of potential over the
      accounts with a potential (within 0-1);
    - ``headroom`` = sum of headroom; ``tam`` = sum of potential (accounts and
      prospects);
    - ``clv`` = mean CLV over the accounts that have one.

    Shares are fractions (0.25 = 25 %). ``total=True`` appends an
    "All accounts" row.
    """
    seg = aligned_segments(frame, assignments)
    codes, labels = _segment_codes(seg)
    k = len(labels)
    n_total = frame.height

    def column(name: str) -> np.ndarray | None:
        if name not in frame.columns:
            return None
        return frame.get_column(name).cast(pl.Float64).fill_null(np.nan).to_numpy()

    def group_sum(values: np.ndarray | None, where: np.ndarray | None = None) -> np.ndarray | None:
        if values is None:
            return None
        weights = np.where(np.isnan(values), 0.0, values)
        if where is not None:
            weights = np.where(where, weights, 0.0)
        return np.bincount(codes, weights=weights, minlength=k)

    accounts = np.bincount(codes, minlength=k).astype(np.int64)
    revenue_values = column("revenue")
    revenue = group_sum(revenue_values)
    margin_values = column("margin")
    margin = group_sum(margin_values)
    # margin % only over accounts whose margin is known (files without margins leave it null)
    revenue_with_margin = (
        None if margin_values is None or revenue_values is None
        else group_sum(revenue_values, ~np.isnan(margin_values))
    )  # fmt: skip
    orders = group_sum(column("orders"))
    revenue_prev = group_sum(column("revenue_prev"))
    freq = column("frequency")
    freq_sum = group_sum(freq)
    freq_n = None if freq is None else np.bincount(codes, weights=~np.isnan(freq), minlength=k)

    p0 = p1 = None
    if bridge_accounts is not None:
        p01 = frame.select("account_id").join(
            bridge_accounts.select("account_id", "p0_revenue", "p1_revenue"),
            on="account_id", how="left", maintain_order="left",
        )  # fmt: skip
        p0_values = p01["p0_revenue"].cast(pl.Float64).fill_null(0.0).to_numpy()
        p1_values = p01["p1_revenue"].cast(pl.Float64).fill_null(0.0).to_numpy()
    elif {"bridge_prev_revenue", "bridge_revenue"} <= set(frame.columns):
        p0_values = np.nan_to_num(column("bridge_prev_revenue"))  # type: ignore[arg-type]
        p1_values = np.nan_to_num(column("bridge_revenue"))  # type: ignore[arg-type]
    else:
        p0_values = p1_values = None
    if p0_values is not None and p1_values is not None:
        active = p0_values > 0
        p0 = group_sum(p0_values, active)
        p1 = group_sum(p1_values, active & (p1_values > 0))

    recency = _group_median(codes, column("recency_days"), k)

    forward: dict[str, np.ndarray | None] = {}
    potential_values = column("potential")
    if potential_values is not None:
        known = ~np.isnan(potential_values)
        bought = np.maximum(np.nan_to_num(revenue_values), 0.0) if revenue_values is not None \
            else np.zeros(n_total)
        forward["_bought"] = group_sum(bought, known)
        forward["tam"] = group_sum(potential_values)
        forward["headroom"] = group_sum(column("headroom"))
    clv_values = column("clv")
    if clv_values is not None:
        forward["_clv_sum"] = group_sum(clv_values)
        forward["_clv_n"] = np.bincount(codes, weights=~np.isnan(clv_values), minlength=k)

    def totals(a: np.ndarray | None) -> np.ndarray | None:
        return None if a is None else np.append(a, a.sum())

    if total:
        labels = [*labels, "All accounts"]
        accounts, revenue, margin, revenue_with_margin, orders, revenue_prev = (
            totals(a) for a in (accounts, revenue, margin, revenue_with_margin, orders,
                                revenue_prev)
        )  # fmt: skip
        freq_sum, freq_n, p0, p1 = (totals(a) for a in (freq_sum, freq_n, p0, p1))
        forward = {name: totals(a) for name, a in forward.items()}
        rec = column("recency_days")
        rec_all = None if rec is None else rec[~np.isnan(rec)]
        overall = float(np.median(rec_all)) if rec_all is not None and rec_all.size else np.nan
        recency = None if recency is None else np.append(recency, overall)

    def ratio(num: np.ndarray | None, den: np.ndarray | None) -> list[float | None]:
        if num is None or den is None:
            return [None] * len(labels)
        return [float(a / b) if b > 0 else None for a, b in zip(num, den, strict=True)]

    revenue_total = float(revenue[:k].sum()) if revenue is not None else 0.0
    out = pl.DataFrame(
        {
            "segment": labels,
            "accounts": accounts,
            "account_share": [a / n_total if n_total else None for a in accounts.tolist()],
            "revenue": revenue if revenue is not None else [None] * len(labels),
            "revenue_share": (
                [float(r / revenue_total) for r in revenue]
                if revenue is not None and revenue_total
                else [None] * len(labels)
            ),
            "margin_pct": ratio(margin, revenue_with_margin),
            # null where the segment's revenue is <= 0 (DOMAIN.md), not a negative value
            "avg_order_value": [
                None if v is None or r is None or not r > 0 else v
                for v, r in zip(ratio(revenue, orders),
                                revenue if revenue is not None else [None] * len(labels),
                                strict=True)
            ],
            "frequency": ratio(freq_sum, freq_n),
            "recency_days": recency if recency is not None else [None] * len(labels),
            "growth": [None if g is None else g - 1 for g in ratio(revenue, revenue_prev)],
            "nrr": ratio(p1, p0),
        },
        schema={
            c: (pl.String if c == "segment" else pl.Int64 if c == "accounts" else pl.Float64)
            for c in PROFILE_COLUMNS
        },  # fmt: skip
    )
    extra: dict[str, list[float | None]] = {}
    if "tam" in forward:
        extra["share_of_wallet"] = ratio(forward["_bought"], forward["tam"])
        extra["headroom"] = list(forward["headroom"]) if forward["headroom"] is not None \
            else [None] * len(labels)
    if "_clv_sum" in forward:
        extra["clv"] = ratio(forward["_clv_sum"], forward["_clv_n"])
    if "tam" in forward:
        extra["tam"] = list(forward["tam"])
    if extra:
        out = out.with_columns(pl.Series(name, values, dtype=pl.Float64)
                               for name, values in extra.items())
    present = accounts > 0
    if total:
        present[-1] = True
    return out.filter(pl.Series(present)).with_columns(pl.col(pl.Float64).fill_nan(None))


def _segment_codes(seg: pl.Series) -> tuple[np.ndarray, list[str]]:
    """Integer codes of the segments in display order, nulls as "(unassigned)"."""
    if not isinstance(seg.dtype, pl.Enum):
        present = sorted(seg.drop_nulls().cast(pl.String).unique().to_list())
        seg = seg.cast(pl.String).cast(pl.Enum(present))
    labels = seg.dtype.categories.to_list()
    physical = seg.to_physical()
    if physical.null_count():
        labels.append("(unassigned)")
        physical = physical.fill_null(len(labels) - 1)
    return physical.cast(pl.UInt32).to_numpy(), labels


def _group_median(codes: np.ndarray, values: np.ndarray | None, k: int) -> np.ndarray | None:
    """Median of the non-missing ``values`` per code (NaN for a group with none)."""
    if values is None:
        return None
    valid = ~np.isnan(values)
    df = pl.DataFrame({"c": codes[valid], "v": values[valid]})
    med = df.group_by("c").agg(pl.col("v").median())
    out = np.full(k, np.nan)
    out[med["c"].to_numpy()] = med["v"].to_numpy()
    return out


# ---------------------------------------------------------------- traits


def trait_columns(frame: pl.DataFrame, exclude: Iterable[str] = ()) -> tuple[list[str], list[str]]:
    """(categorical, numeric) columns eligible for traits: id/name-like columns
    (…_id, name, email, phone, …), dates, restating metrics (margin beside
    margin_pct, orders beside frequency, revenue_prev, the R/F/M scores) and
    text columns with more than 60 distinct values are left out."""
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
    strength, support, phrase. See :func:`segment_traits` for every segment
    at once.
    """
    seg = aligned_segments(frame, assignments).cast(pl.String)
    inside = (seg == segment).fill_null(False)
    codes = inside.cast(pl.UInt32).to_numpy()
    out = _traits(frame, codes, ["(rest)", segment], [1], min_support=min_support,
                  min_count=min_count, min_lift=min_lift, min_z=min_z, exclude=exclude,
                  limit=limit)  # fmt: skip
    return out.drop("segment")


def segment_traits(
    frame: pl.DataFrame,
    assignments: pl.DataFrame,
    *,
    min_support: float = 0.10,
    min_count: int = 5,
    min_lift: float = 1.2,
    min_z: float = 1.0,
    exclude: Iterable[str] = (),
    limit: int | None = 5,
) -> pl.DataFrame:
    """The distinguishing traits of every segment in one pass over the frame:
    ``segment`` then the columns of :func:`distinguishing_traits`, segments in
    display order, up to ``limit`` traits each, strongest first."""
    seg = aligned_segments(frame, assignments)
    codes, labels = _segment_codes(seg)
    targets = [i for i, label in enumerate(labels) if label != "(unassigned)"]
    return _traits(frame, codes, labels, targets, min_support=min_support, min_count=min_count,
                   min_lift=min_lift, min_z=min_z, exclude=exclude, limit=limit)  # fmt: skip


def _robust_scale(valid: np.ndarray, med: float) -> float:
    scale = 1.4826 * float(np.median(np.abs(valid - med)))
    if not scale:
        q1, q3 = np.quantile(valid, [0.25, 0.75])
        scale = float(q3 - q1) / 1.349
    if not scale:
        scale = float(np.std(valid, ddof=1)) if valid.size > 1 else 0.0
    return scale if math.isfinite(scale) else 0.0


def _traits(
    frame: pl.DataFrame,
    codes: np.ndarray,
    labels: list[str],
    targets: list[int],
    *,
    min_support: float,
    min_count: int,
    min_lift: float,
    min_z: float,
    exclude: Iterable[str],
    limit: int | None,
) -> pl.DataFrame:
    from core.dimensions import text_column

    k = len(labels)
    n_all = frame.height
    n_seg = np.bincount(codes, minlength=k)
    targets = [t for t in targets if n_seg[t] > 0]
    rows: list[dict] = []
    if not targets or n_all == 0:
        return _traits_frame(rows)
    target_mask = np.zeros(k, dtype=bool)
    target_mask[targets] = True
    categorical, numeric = trait_columns(frame, exclude)
    wide_codes = codes.astype(np.int64)
    for col in categorical:
        text = text_column(frame, col)
        n_values = len(text.values)
        if n_values > _MAX_CATEGORIES or n_values == 0:
            continue
        joint = np.bincount(
            wide_codes * (n_values + 1) + text.codes, minlength=k * (n_values + 1)
        ).reshape(k, n_values + 1)[:, :n_values]
        overall = joint.sum(axis=0)
        p_all = overall / n_all
        with np.errstate(divide="ignore", invalid="ignore"):
            p_seg = joint / n_seg[:, None]
            lift = p_seg / p_all
            z = (p_seg - p_all) / np.sqrt(p_all * (1 - p_all))
        ok = (
            target_mask[:, None]
            & (joint >= min_count)
            & (p_seg >= min_support)
            & (p_all < 1)
            & (lift >= min_lift)
        )
        for s, v in zip(*np.nonzero(ok), strict=True):
            value = text.values[v]
            rows.append(dict(
                segment=labels[s], column=col, kind="category", value=value,
                segment_value=float(p_seg[s, v]), overall_value=float(p_all[v]),
                lift=float(lift[s, v]), z=float(z[s, v]), strength=float(z[s, v]),
                support=int(joint[s, v]),
                phrase=f"{col} = {value} (lift {lift[s, v]:.1f}, "
                       f"{p_seg[s, v] * 100:.0f} % of segment)",
            ))  # fmt: skip
    for col in numeric:
        x = frame.get_column(col).cast(pl.Float64).fill_null(np.nan).to_numpy()
        valid = ~np.isnan(x)
        if not valid.any():
            continue
        values = x[valid]
        med = float(np.median(values))
        scale = _robust_scale(values, med)
        if not scale:
            continue
        per = (
            pl.DataFrame({"s": codes[valid], "x": values})
            .filter(pl.col("s").is_in(pl.Series(targets, dtype=pl.UInt32).implode()))
            .group_by("s")
            .agg(pl.col("x").median().alias("median"), pl.len().alias("n"))
        )
        for s, seg_med, count in per.iter_rows():
            z = (seg_med - med) / scale
            if count < min_count or abs(z) < min_z:
                continue
            rows.append(dict(
                segment=labels[s], column=col, kind="numeric", value=None,
                segment_value=seg_med, overall_value=med, lift=None, z=z, strength=abs(z),
                support=count, phrase=f"{col} median {_fmt(seg_med)} vs {_fmt(med)} overall",
            ))  # fmt: skip
    position = {label: i for i, label in enumerate(labels)}
    rows.sort(key=lambda r: (position[r["segment"]], -r["strength"], r["column"],
                             r["value"] or ""))  # fmt: skip
    if limit is not None:
        kept: list[dict] = []
        per_segment: dict[str, int] = {}
        for r in rows:
            if per_segment.get(r["segment"], 0) < limit:
                kept.append(r)
                per_segment[r["segment"]] = per_segment.get(r["segment"], 0) + 1
        rows = kept
    return _traits_frame(rows)


_TRAIT_SCHEMA = {
    "segment": pl.String, "column": pl.String, "kind": pl.String, "value": pl.String,
    "segment_value": pl.Float64,
    "overall_value": pl.Float64, "lift": pl.Float64, "z": pl.Float64, "strength": pl.Float64,
    "support": pl.Int64, "phrase": pl.String,
}  # fmt: skip


def _traits_frame(rows: list[dict]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=_TRAIT_SCHEMA)
