"""Hand-worked examples of the DOMAIN.md definitions sharpened by issue 13
(the same defects are checked on real data in test_real_online_retail.py and
test_real_maven_potential.py)."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from core.bridge import bridge_classes
from core.clv import calibration_summary
from core.kpi import segment_kpis
from core.metrics import account_metrics
from core.profile import segment_profiles

D = dt.date
AS_OF = D(2025, 1, 1)


def test_breadth_counts_products_when_no_line_carries_a_product_line() -> None:
    # A: products P1, P2, P1 bought, P3 only returned -> 2 products;
    # the product_line column exists and is null everywhere (an Online Retail import)
    tx = pl.DataFrame({
        "account_id": ["A"] * 4,
        "date": [D(2024, 3, 1), D(2024, 3, 1), D(2024, 4, 1), D(2024, 5, 1)],
        "amount": [10.0, 5.0, 7.0, -3.0],
        "invoice_id": ["I1", "I1", "I2", "C3"],
        "product": ["P1", "P2", "P1", "P3"],
        "product_line": pl.Series([None] * 4, dtype=pl.Utf8),
    })
    m = account_metrics(pl.DataFrame({"account_id": ["A"]}), tx, as_of=AS_OF).row(0, named=True)
    assert m["product_breadth"] == 2
    # with product lines present, breadth counts the lines (one line: "L")
    lined = tx.with_columns(pl.lit("L").alias("product_line"))
    m = account_metrics(pl.DataFrame({"account_id": ["A"]}), lined, as_of=AS_OF)
    assert m["product_breadth"].item() == 1


def test_aov_is_null_where_revenue_is_not_positive() -> None:
    # B bought 500 (invoice I1) and returned it all on a credit note C1 a week
    # later: orders 1 (I1 nets +500, C1 -500), revenue 0 -> no average order value
    tx = pl.DataFrame({
        "account_id": ["B", "B", "C"],
        "date": [D(2024, 6, 1), D(2024, 6, 8), D(2024, 6, 1)],
        "amount": [500.0, -500.0, 90.0],
        "invoice_id": ["I1", "C1", "I9"],
    })
    accounts = pl.DataFrame({"account_id": ["B", "C"]})
    m = account_metrics(accounts, tx, as_of=AS_OF)
    b = m.row(0, named=True)
    assert (b["orders"], b["revenue"], b["avg_order_value"]) == (1, 0.0, None)
    # a segment of B alone: revenue 0 over 1 order -> null, not 0 (or a negative figure)
    profiles = segment_profiles(m, pl.DataFrame({"account_id": ["B", "C"],
                                                 "segment": ["No purchases", "Buyers"]}))
    aov = dict(zip(profiles["segment"], profiles["avg_order_value"], strict=True))
    assert aov == {"Buyers": 90.0, "No purchases": None}


def test_clv_nets_a_cancelled_order_to_nothing_in_cents() -> None:
    # 0.1 + 0.2 - 0.3 is 5.6e-17 in floating point; in cents it is 10 + 20 - 30 = 0
    tx = pl.DataFrame({
        "account_id": ["A", "A", "A", "A"],
        "date": [D(2024, 1, 5)] * 3 + [D(2024, 3, 1)],
        "amount": [0.1, 0.2, -0.3, 40.0],
    })
    assert sum([0.1, 0.2, -0.3]) > 0
    s = calibration_summary(tx, D(2024, 12, 31)).row(0, named=True)
    assert (s["first_purchase"], s["purchase_days"], s["repeat_frequency"]) == (
        D(2024, 3, 1), 1, 0)
    assert s["calibration_revenue"] == 40.0


def test_new_vs_reactivated_by_purchase_days() -> None:
    # year bridge to 2025-01-01: P0 = 2023, P1 = 2024.
    # N: an order in 2022 cancelled the same day (no purchase day), buys in 2024 -> New
    # R: a purchase day in 2022, nothing in 2023, buys in 2024 -> Reactivated
    tx = pl.DataFrame({
        "account_id": ["N", "N", "N", "R", "R"],
        "date": [D(2022, 5, 1), D(2022, 5, 1), D(2024, 2, 1), D(2022, 5, 1), D(2024, 2, 1)],
        "amount": [80.0, -80.0, 50.0, 30.0, 60.0],
    })
    got = dict(bridge_classes(tx, period="year", as_of=AS_OF).iter_rows())
    assert got == {"N": "New", "R": "Reactivated"}


def test_segment_share_of_wallet_ignores_net_returns() -> None:
    # one segment: a (revenue 100, potential 200), b (revenue -50 net returns,
    # potential 100): share = (100 + max(-50, 0)) / (200 + 100) = 1/3, not 50/300
    frame = pl.DataFrame({"account_id": ["a", "b"], "revenue": [100.0, -50.0],
                          "orders": [1, 0], "potential": [200.0, 100.0],
                          "headroom": [100.0, 150.0]})
    seg = pl.DataFrame({"account_id": ["a", "b"], "segment": ["S", "S"]})
    kpis = segment_kpis(frame, seg)
    assert kpis["share_of_wallet"].item() == pytest.approx(1 / 3)
    prof = segment_profiles(frame, seg).row(0, named=True)
    assert prof["share_of_wallet"] == pytest.approx(1 / 3)
    assert (prof["tam"], prof["headroom"]) == (300.0, 250.0)
    # b alone: 0, never negative
    only_b = segment_kpis(frame.filter(pl.col("account_id") == "b"),
                          seg.filter(pl.col("account_id") == "b"))
    assert only_b["share_of_wallet"].item() == 0.0
