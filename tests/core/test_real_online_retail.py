"""Per-account metrics and bridge classes on a slice of the real Online Retail data
(tests/data/real/online_retail_slice.csv, 40 customers with all their lines; see
tests/data/real/PROVENANCE.md) against an independent pandas reference written
here from DOMAIN.md, not from segscope's code (issue 13).

The slice goes through segscope's import (StockCode -> product, InvoiceNo ->
invoice_id, amount = Quantity x UnitPrice) into a temporary workspace; the
reference reads the raw CSV with pandas.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import pandas as pd
import polars as pl
import pytest

from core.bridge import bridge_classes
from core.clv import calibration_summary
from core.metrics import account_metrics
from storage.importer import commit_import, prepare_import
from storage.workspace import Workspace

SLICE = Path(__file__).parent.parent / "data" / "real" / "online_retail_slice.csv"
AS_OF = dt.date(2011, 12, 10)  # the day after the last line of the full data set


def _cents(x: float) -> int:
    q = x * 100
    return int(math.copysign(math.floor(abs(q) + 0.5), q))


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory):
    path = tmp_path_factory.mktemp("retail") / "w.segscope"
    with Workspace.create(path, cache=False) as ws:
        commit_import(ws, prepare_import(SLICE, "transactions"))
        yield ws.load_accounts(), ws.load_transactions()


@pytest.fixture(scope="module")
def raw() -> pd.DataFrame:
    """The slice as pandas reads it: one row per line, cents per line, the day."""
    df = pd.read_csv(SLICE, dtype={"InvoiceNo": str, "StockCode": str, "CustomerID": "Int64"})
    df = df[df["CustomerID"].notna()].copy()
    df["account"] = df["CustomerID"].astype(str)
    df["day"] = pd.to_datetime(df["InvoiceDate"]).dt.date
    df["c"] = [_cents(q * p) for q, p in zip(df["Quantity"], df["UnitPrice"], strict=True)]
    return df[df["day"] < AS_OF]


def _reference_metrics(df: pd.DataFrame, window_months: int = 12) -> dict[str, dict]:
    """DOMAIN.md "Per-account metrics", in pandas group-bys."""
    start = (pd.Timestamp(AS_OF) - pd.DateOffset(months=window_months)).date()
    prev_start = (pd.Timestamp(AS_OF) - pd.DateOffset(months=2 * window_months)).date()
    window = df[df["day"] >= start]
    daily = df.groupby(["account", "day"])["c"].sum().reset_index()
    purchase_days = daily[daily["c"] > 0]
    invoices = window.groupby(["account", "InvoiceNo"])["c"].sum().reset_index()
    out = {}
    for acc in sorted(df["account"].unique()):
        w = window[window["account"] == acc]
        rev = int(w["c"].sum())
        prev = int(df[(df["account"] == acc) & (df["day"] >= prev_start)
                      & (df["day"] < start)]["c"].sum())
        days = purchase_days[purchase_days["account"] == acc]["day"]
        orders = int((invoices[invoices["account"] == acc]["c"] > 0).sum())
        # the lines carry no product line here, so breadth counts distinct products
        breadth = w[w["c"] > 0]["StockCode"].nunique()
        out[acc] = {
            "revenue": rev / 100,
            "frequency": int((days >= start).sum()),
            "orders": orders,
            "avg_order_value": (rev / 100) / orders if orders and rev > 0 else None,
            "product_breadth": int(breadth),
            "recency_days": (AS_OF - days.max()).days if len(days) else None,
            "tenure_days": (AS_OF - days.min()).days if len(days) else None,
            "first_purchase": days.min() if len(days) else None,
            "last_purchase": days.max() if len(days) else None,
            "growth": rev / prev - 1 if prev > 0 else None,
            "revenue_prev": prev / 100,
        }
    return out


def _same(a: object, b: object) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, float) or isinstance(b, float):
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-9)
    return a == b


def test_every_metric_of_every_account_matches_the_reference(imported, raw) -> None:
    accounts, transactions = imported
    got = account_metrics(accounts, transactions, as_of=AS_OF)
    want = _reference_metrics(raw)
    assert sorted(got["account_id"].to_list()) == sorted(want)
    bad = [
        (row["account_id"], key, row[key], value)
        for row in got.iter_rows(named=True)
        for key, value in want[row["account_id"]].items()
        if not _same(row[key], value)
    ]
    assert not bad, bad[:10]


def test_the_accounts_named_in_issue_13(imported) -> None:
    accounts, transactions = imported
    m = {r["account_id"]: r for r in
         account_metrics(accounts, transactions, as_of=AS_OF).iter_rows(named=True)}
    # product breadth counts products (StockCode): the product_line column is all null
    # (issue 13's reference: 12347 -> 87, 12348 -> 22)
    assert (m["12347"]["product_breadth"], m["12348"]["product_breadth"]) == (87, 22)
    # 12346 bought once (77,183.60) and returned it all on a separate credit note:
    # one order, revenue 0, so no average order value (not -77,183.60 or 0)
    assert (m["12346"]["orders"], m["12346"]["revenue"]) == (1, 0.0)
    assert m["12346"]["avg_order_value"] is None
    # 12908: its only earlier order was cancelled the same day; first purchase 2011-06-16
    assert m["12908"]["first_purchase"] == dt.date(2011, 6, 16)


def _reference_classes(df: pd.DataFrame, months: int) -> dict[str, str]:
    """DOMAIN.md "revenue bridge" by purchase days: new = no purchase day ever before P1."""
    p1_start = (pd.Timestamp(AS_OF) - pd.DateOffset(months=months)).date()
    p0_start = (pd.Timestamp(AS_OF) - pd.DateOffset(months=2 * months)).date()
    daily = df.groupby(["account", "day"])["c"].sum().reset_index()
    out = {}
    for acc, g in daily.groupby("account"):
        p0 = int(g[(g["day"] >= p0_start) & (g["day"] < p1_start)]["c"].sum())
        p1 = int(g[g["day"] >= p1_start]["c"].sum())
        history = bool(((g["day"] < p1_start) & (g["c"] > 0)).any())
        if p0 > 0 and p1 > 0:
            cls = "Expansion" if p1 > p0 else "Contraction" if p1 < p0 else "Retained"
        elif p0 > 0:
            cls = "Churned"
        elif p1 > 0:
            cls = "Reactivated" if history else "New"
        else:
            cls = "Inactive"
        out[acc] = cls
    return out


@pytest.mark.parametrize("period,months", [("year", 12), ("quarter", 3), ("month", 1)])
def test_bridge_classes_by_purchase_days(imported, raw, period: str, months: int) -> None:
    _, transactions = imported
    got = dict(bridge_classes(transactions, period=period, as_of=AS_OF).iter_rows())
    assert got == _reference_classes(raw, months)


def test_12908_is_new_not_reactivated(imported) -> None:
    """Its only order before 2011-06 (C-cancelled the same day) is no purchase day:
    in the quarter bridge to 2011-07-01 it is New, as its first purchase says."""
    _, transactions = imported
    got = dict(bridge_classes(transactions, period="quarter",
                              as_of=dt.date(2011, 7, 1)).iter_rows())
    assert got["12908"] == "New"


def test_clv_nets_a_cancelled_order_to_nothing(imported) -> None:
    """15223: invoice 548747 cancelled by C548748 on 2011-04-04 nets to 0 in cents
    (a float sum left +1e-14, a purchase); that day is no purchase."""
    _, transactions = imported
    day = transactions.filter((transactions["account_id"] == "15223")
                              & (transactions["date"] == dt.date(2011, 4, 4)))
    assert day.height and sum(_cents(a) for a in day["amount"]) == 0
    summary = calibration_summary(transactions, dt.date(2011, 12, 9))
    row = summary.filter(summary["account_id"] == "15223").row(0, named=True)
    assert row["first_purchase"] != dt.date(2011, 4, 4)


def test_share_of_wallet_within_0_and_1_with_net_returns(imported, raw) -> None:
    """12503 returned more than it bought in the window (revenue -1,126.00): its
    share of wallet is 0, not -0.377; every account's share is within [0, 1]."""
    from core.potential import fit_potential

    accounts, transactions = imported
    m = account_metrics(accounts, transactions, as_of=AS_OF)
    country = (raw.groupby("account")["Country"].first().rename("country").reset_index()
               .rename(columns={"account": "account_id"}))
    frame = m.join(pl.from_pandas(country), on="account_id", how="left")
    out = fit_potential(frame, features=["country"]).frame
    row = out.filter(pl.col("account_id") == "12503").row(0, named=True)
    assert row["revenue"] == -1126.0 and row["share_of_wallet"] == 0.0
    assert out["share_of_wallet"].is_between(0.0, 1.0).all()
