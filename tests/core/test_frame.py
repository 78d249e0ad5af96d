"""core.frame.account_frame: attributes + metrics + ABC + RFM + bridge class."""

from __future__ import annotations

import polars as pl
from metric_frames import AS_OF

from core.abc import abc_classes
from core.bridge import bridge_classes
from core.frame import account_frame
from core.metrics import METRIC_COLUMNS, account_metrics
from core.rfm import rfm_scores


def test_frame_columns_and_values(hand_accounts, hand_transactions):
    f = account_frame(hand_accounts, hand_transactions, as_of=AS_OF)
    assert f["account_id"].to_list() == hand_accounts["account_id"].to_list()
    assert f.columns == [
        *hand_accounts.columns, *METRIC_COLUMNS[1:], "abc_class", "r_score", "f_score",
        "m_score", "rfm_segment", "bridge_class", "bridge_prev_revenue", "bridge_revenue",
    ]
    m = account_metrics(hand_accounts, hand_transactions, as_of=AS_OF)
    assert f.select(m.columns).equals(m)
    rows = {r["account_id"]: r for r in f.iter_rows(named=True)}
    # revenue 600 (A1), 0, 125 (A3), 0, -20: A1 has 600/725 above nothing -> A;
    # A3 has 82.8 % above it -> B; the rest are C.
    assert [rows[k]["abc_class"] for k in ["A1", "A2", "A3", "A4", "A5"]] == [
        "A", "C", "B", "C", "C"]
    # yearly trailing bridge: P1 = 2024, P0 = 2023.
    # A1: P0 100, P1 600 -> Expansion; A2: P0 20, P1 0 -> Churned; A3: New; A4: none;
    # A5: P1 -20 and nothing before -> Inactive.
    assert [rows[k]["bridge_class"] for k in ["A1", "A2", "A3", "A4", "A5"]] == [
        "Expansion", "Churned", "New", None, "Inactive"]
    # P0 (2023) and P1 (2024) net revenue: A1 100 -> 600, A2 20 -> 0, A3 0 -> 125, A5 0 -> -20
    assert [rows[k]["bridge_prev_revenue"] for k in ["A1", "A2", "A3", "A4", "A5"]] == [
        100.0, 20.0, 0.0, None, 0.0]
    assert [rows[k]["bridge_revenue"] for k in ["A1", "A2", "A3", "A4", "A5"]] == [
        600.0, 0.0, 125.0, None, -20.0]
    # RFM: scored A1, A2, A3 (purchase days ever); prospect and returns-only are null
    assert rows["A4"]["r_score"] is None and rows["A5"]["rfm_segment"] is None
    assert rows["A1"]["r_score"] == 5  # most recent of the three
    assert f.select(["account_id", "abc_class"]).sort("account_id").equals(
        abc_classes(m).select("account_id", "abc_class").sort("account_id"))
    assert f.select(rfm_scores(m).columns).equals(rfm_scores(m))
    perf = bridge_classes(hand_transactions, as_of=AS_OF)
    assert perf.filter(pl.col("account_id") == "Z9").height == 1  # not in accounts: not joined
    assert "Z9" not in f["account_id"].to_list()


def test_clashing_attribute_is_kept(hand_accounts, hand_transactions):
    accounts = hand_accounts.with_columns(pl.lit("crm").alias("revenue"))
    f = account_frame(accounts, hand_transactions, as_of=AS_OF)
    assert f["attr_revenue"].to_list() == ["crm"] * 5
    assert f.schema["revenue"] == pl.Float64


def test_default_as_of_and_no_transactions(hand_accounts, hand_transactions):
    f = account_frame(hand_accounts, hand_transactions)
    # default as_of = 2025-01-02 (the A3 line on 2025-01-01 now counts)
    assert f.filter(pl.col("account_id") == "A3")["revenue"].item() == 125.0 + 999.0
    empty = hand_transactions.clear()
    g = account_frame(hand_accounts, empty)
    assert g.height == 5
    assert g["revenue"].to_list() == [0.0] * 5
    assert g["abc_class"].to_list() == ["C"] * 5
    assert g["bridge_class"].null_count() == 5
