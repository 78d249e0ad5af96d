"""Independent, straightforward pandas / plain-Python versions of the metric
definitions (DOMAIN.md), used to cross-check core.metrics, core.abc and core.rfm.

Written from the definitions, not from the polars code: per-account Python
loops over pandas groups, calendar months with pandas DateOffset.
"""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd
import polars as pl


def to_cents(x: float) -> int:
    """The float x * 100 rounded half away from zero (the documented convention)."""
    q = x * 100
    return int(math.copysign(math.floor(abs(q) + 0.5), q))


def reference_metrics(accounts: pl.DataFrame, tx: pl.DataFrame, as_of: dt.date,
                      window_months: int = 12) -> dict[str, dict]:
    """Plain-Python metrics: one pass over the rows into per-account buckets."""
    asof = pd.Timestamp(as_of)
    w0 = (asof - pd.DateOffset(months=window_months)).date()
    p0 = (asof - pd.DateOffset(months=2 * window_months)).date()
    by_account: dict[str, list[tuple]] = {}
    for row in tx.iter_rows():
        acc, day, amount, margin, invoice, line = row
        if day < as_of:
            by_account.setdefault(acc, []).append(
                (day, to_cents(amount), None if margin is None else to_cents(margin),
                 invoice, line))
    out: dict[str, dict] = {}
    for acc in accounts["account_id"].to_list():
        rows = by_account.get(acc, [])
        row = dict(revenue=0.0, margin=0.0, margin_pct=None, recency_days=None, frequency=0,
                   orders=0, avg_order_value=None, product_breadth=0, tenure_days=None,
                   growth=None, first_purchase=None, last_purchase=None, revenue_prev=0.0)
        out[acc] = row
        if not rows:
            continue
        win = [r for r in rows if r[0] >= w0]
        rev = sum(r[1] for r in win)
        prev_rev = sum(r[1] for r in rows if p0 <= r[0] < w0)
        row["revenue"] = rev / 100
        row["revenue_prev"] = prev_rev / 100
        known = [r[2] for r in win if r[2] is not None]
        if not win:
            row["margin"] = 0.0
        elif known:
            row["margin"] = sum(known) / 100
            if rev > 0:
                row["margin_pct"] = sum(known) / rev
        else:
            row["margin"] = None
        daily: dict[dt.date, int] = {}
        for r in rows:
            daily[r[0]] = daily.get(r[0], 0) + r[1]
        purchase_days = sorted(day for day, net in daily.items() if net > 0)
        if purchase_days:
            first, last = purchase_days[0], purchase_days[-1]
            row["first_purchase"], row["last_purchase"] = first, last
            row["recency_days"] = (as_of - last).days
            row["tenure_days"] = (as_of - first).days
        row["frequency"] = sum(1 for day in purchase_days if day >= w0)
        orders: dict[tuple, int] = {}
        for day, c, _, invoice, _ in win:
            key = ("day", day) if invoice is None else ("inv", invoice)
            orders[key] = orders.get(key, 0) + c
        row["orders"] = sum(1 for net in orders.values() if net > 0)
        if row["orders"] and rev > 0:  # null where revenue <= 0 (DOMAIN.md)
            row["avg_order_value"] = (rev / 100) / row["orders"]
        row["product_breadth"] = len({r[4] for r in win if r[1] > 0 and r[4] is not None})
        if prev_rev > 0:
            row["growth"] = rev / prev_rev - 1
    return out


def reference_abc(values: dict[str, float], a: float = 0.8, b: float = 0.95) -> dict[str, str]:
    """Plain-Python ABC: sort desc, ties by id, class by the share of those above."""
    order = sorted(values, key=lambda k: (-(values[k] or 0.0), k))
    total = sum(max(v or 0.0, 0.0) for v in values.values())
    above = 0.0
    out = {}
    for k in order:
        v = values[k] or 0.0
        if v <= 0:
            out[k] = "C"
        elif above < a * total:
            out[k] = "A"
        elif above < b * total:
            out[k] = "B"
        else:
            out[k] = "C"
        above += max(v, 0.0)
    return out


def reference_rfm(metrics: pd.DataFrame) -> pd.DataFrame:
    """The pandas notebook convention: qcut(rank(method='first'), 5) on id-sorted rows."""
    m = metrics[metrics["recency_days"].notna()].sort_values("account_id").copy()
    m["r_score"] = 5 - pd.qcut(m["recency_days"].rank(method="first"), 5, labels=False)
    m["f_score"] = pd.qcut(m["frequency"].rank(method="first"), 5, labels=False) + 1
    m["m_score"] = pd.qcut(m["revenue"].rank(method="first"), 5, labels=False) + 1
    return m[["account_id", "r_score", "f_score", "m_score"]]
