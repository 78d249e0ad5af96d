"""The same per-account metrics, ABC and RFM written the way a pandas notebook does it.

This is the side-by-side baseline of bench/bench_core.py (issue 3: "the same
metrics, ABC and RFM written the way a pandas notebook does it"): groupby per
metric, merges, ``qcut(rank(method="first"))``. It follows the same
definitions (purchase days net > 0, orders by invoice, calendar-month windows)
but not the cent rounding or the null-margin rules, so only timing is compared.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import polars as pl


def to_pandas(accounts: pl.DataFrame, transactions: pl.DataFrame
              ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The frames as a notebook would have them after ``pd.read_csv(parse_dates=...)``."""
    tx = transactions.select(
        "account_id", "date", "amount", "margin", "invoice_id", "product_line"
    ).to_pandas()
    tx["date"] = pd.to_datetime(tx["date"])
    return accounts.select("account_id").to_pandas(), tx


def pandas_metrics_abc_rfm(accounts: pd.DataFrame, tx: pd.DataFrame, as_of: dt.date
                           ) -> pd.DataFrame:
    as_of = pd.Timestamp(as_of)
    w0 = as_of - pd.DateOffset(months=12)
    p0 = as_of - pd.DateOffset(months=24)
    tx = tx[tx["date"] < as_of]
    win = tx[tx["date"] >= w0]
    prev = tx[(tx["date"] >= p0) & (tx["date"] < w0)]

    daily = tx.groupby(["account_id", "date"], as_index=False)["amount"].sum()
    purchases = daily[daily["amount"] > 0]
    first = purchases.groupby("account_id")["date"].min().rename("first_purchase")
    last = purchases.groupby("account_id")["date"].max().rename("last_purchase")
    freq = purchases[purchases["date"] >= w0].groupby("account_id").size().rename("frequency")

    revenue = win.groupby("account_id")["amount"].sum().rename("revenue")
    margin = win.groupby("account_id")["margin"].sum().rename("margin")
    prev_rev = prev.groupby("account_id")["amount"].sum().rename("revenue_prev")
    per_invoice = win.groupby(["account_id", "invoice_id"])["amount"].sum()
    orders = per_invoice[per_invoice > 0].groupby(level=0).size().rename("orders")
    breadth = (win[win["amount"] > 0].groupby("account_id")["product_line"].nunique()
               .rename("product_breadth"))

    m = accounts[["account_id"]].set_index("account_id")
    for part in (revenue, margin, freq, orders, breadth, prev_rev, first, last):
        m = m.join(part, how="left")
    for col in ("revenue", "margin", "frequency", "orders", "product_breadth", "revenue_prev"):
        m[col] = m[col].fillna(0)
    m["margin_pct"] = np.where(m["revenue"] > 0, m["margin"] / m["revenue"], np.nan)
    m["avg_order_value"] = np.where(m["orders"] > 0, m["revenue"] / m["orders"], np.nan)
    m["recency_days"] = (as_of - m["last_purchase"]).dt.days
    m["tenure_days"] = (as_of - m["first_purchase"]).dt.days
    m["growth"] = np.where(m["revenue_prev"] > 0, m["revenue"] / m["revenue_prev"] - 1, np.nan)
    m = m.reset_index()

    # ABC
    m = m.sort_values(["revenue", "account_id"], ascending=[False, True])
    positive = m["revenue"].clip(lower=0)
    total = positive.sum()
    before = positive.cumsum() - positive
    m["abc_class"] = np.select(
        [m["revenue"] <= 0, before < 0.8 * total, before < 0.95 * total], ["C", "A", "B"], "C"
    )

    # RFM
    c = m[m["recency_days"].notna()].sort_values("account_id")
    m.loc[c.index, "r_score"] = 5 - pd.qcut(c["recency_days"].rank(method="first"), 5,
                                            labels=False)
    m.loc[c.index, "f_score"] = pd.qcut(c["frequency"].rank(method="first"), 5, labels=False) + 1
    m.loc[c.index, "m_score"] = pd.qcut(c["revenue"].rank(method="first"), 5, labels=False) + 1
    return m
