"""core.whitespace: white space and next best lines (DOMAIN.md "White space and cross-sell").

Two checks: a 5-account example worked by hand, and an independent pandas
reference (written here, not calling segscope) on a real Online Retail slice
(tests/data/real/online_retail_whitespace.csv, 40 customers, products as lines
since Online Retail has no product line), values and rankings alike.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
import pytest

from core.errors import UsageError
from core.whitespace import line_column_of, white_space

REAL = Path(__file__).resolve().parents[1] / "data" / "real" / "online_retail_whitespace.csv"
D = dt.date(2024, 6, 1)
AS_OF = dt.date(2024, 7, 1)


def hand_tx() -> pl.DataFrame:
    # a: X 100, Y 50        b: X 200, Z 30        c: X 80
    # d: Y 10 then -10 (net 0: buys nothing)      e: a prospect (no lines)
    # an old line of c on Z (2023-01-01) is outside the 12-month window
    return pl.DataFrame(
        {
            "account_id": ["a", "a", "b", "b", "c", "d", "d", "c"],
            "date": [D] * 7 + [dt.date(2023, 1, 1)],
            "amount": [100.0, 50, 200, 30, 80, 10, -10, 999],
            "product_line": ["X", "Y", "X", "Z", "X", "Y", "Y", "Z"],
        }
    )


def hand_assign() -> pl.DataFrame:
    return pl.DataFrame({"account_id": ["a", "b", "c", "d", "e"],
                         "segment": ["S", "S", "S", "T", "S"]})


class TestHandExample:
    """Segment S has customers a, b, c (d is in T and buys nothing; e is a prospect in S).

    Penetration in S: X 3/3, Y 1/3, Z 1/3; medians X 100 (80, 100, 200), Y 50, Z 30.
    Peers of a = {b, c} (2): Z bought by b -> 1/2 x 30 = 15.
    Peers of b = {a, c}: Y by a -> 1/2 x 50 = 25.
    Peers of c = {a, b}: Y 1/2 x 50 = 25, Z 1/2 x 30 = 15 -> 40, next best Y, Z.
    Peers of e = {a, b, c} (3): X 3/3 x 100 = 100, Y 1/3 x 50, Z 1/3 x 30 -> 126.67.
    d: segment T has no customer, no peers, no white space.
    """

    def test_penetration(self) -> None:
        ws = white_space(hand_tx(), hand_assign(), as_of=AS_OF)
        assert ws.line_column == "product_line"
        pen = {(r["segment"], r["line"]): (r["buyers"], r["customers"], r["penetration"],
                                           r["median_revenue"])
               for r in ws.penetration.to_dicts()}
        assert pen == {("S", "X"): (3, 3, 1.0, 100.0), ("S", "Y"): (1, 3, 1 / 3, 50.0),
                       ("S", "Z"): (1, 3, 1 / 3, 30.0)}

    def test_account_white_space(self) -> None:
        ws = white_space(hand_tx(), hand_assign(), as_of=AS_OF, top=2)
        got = {r["account_id"]: (r["peers"], round(r["white_space_value"], 6),
                                 r["next_best_lines"])
               for r in ws.accounts.to_dicts()}
        assert got == {
            "a": (2, 15.0, ["Z"]),
            "b": (2, 25.0, ["Y"]),
            "c": (2, 40.0, ["Y", "Z"]),
            "d": (0, 0.0, []),
            "e": (3, round(100 + 50 / 3 + 30 / 3, 6), ["X", "Y"]),
        }
        assert ws.accounts["account_id"].to_list() == ["e", "c", "b", "a", "d"]
        e = ws.lines.filter(pl.col("account_id") == "e").sort("rank")
        assert e["line"].to_list() == ["X", "Y", "Z"]
        assert e["expected_value"].to_list() == pytest.approx([100.0, 50 / 3, 10.0])

    def test_segment_white_space_is_the_sum_over_its_accounts(self) -> None:
        ws = white_space(hand_tx(), hand_assign(), as_of=AS_OF)
        seg = {r["segment"]: (r["accounts"], r["customers"], r["white_space_value"])
               for r in ws.segments.to_dicts()}
        assert seg["S"] == (4, 3, pytest.approx(15 + 25 + 40 + 100 + 50 / 3 + 10))
        assert seg["T"] == (1, 0, 0.0)

    def test_nearest_peers(self) -> None:
        # profile: employees (log, standardised) and industry (mismatch = 1)
        frame = pl.DataFrame({"account_id": ["a", "b", "c", "d", "e"],
                              "employees": [10, 20, 30, 40, 12],
                              "industry": ["m", "m", "n", "n", "m"]})
        ws = white_space(hand_tx(), hand_assign(), frame=frame, as_of=AS_OF, peers="nearest",
                         k=2, profile=("employees", "industry"))
        # d (40, n): nearest customers c (30, n) and b (20, m); X by both (80, 200)
        # -> 1.0 x 140; Z by b -> 1/2 x 30
        d = ws.lines.filter(pl.col("account_id") == "d").sort("rank")
        assert d["line"].to_list() == ["X", "Z"]
        assert d["expected_value"].to_list() == pytest.approx([140.0, 15.0])
        assert ws.profile == ("employees", "industry")

    def test_line_falls_back_to_product(self) -> None:
        tx = hand_tx().with_columns(pl.lit(None, pl.String).alias("product_line"),
                                    pl.col("product_line").alias("product"))
        assert line_column_of(tx) == "product"
        assert white_space(tx, hand_assign(), as_of=AS_OF).line_column == "product"

    def test_bad_peers_mode(self) -> None:
        with pytest.raises(UsageError, match="peers must be"):
            white_space(hand_tx(), hand_assign(), as_of=AS_OF, peers="cluster")
        with pytest.raises(UsageError, match="per-account frame"):
            white_space(hand_tx(), hand_assign(), as_of=AS_OF, peers="nearest")


# ------------------------------------------------------------ pandas reference


def _cents(x: pd.Series) -> pd.Series:
    return np.sign(x) * np.floor(np.abs(x) * 100 + 0.5)


def _load_real() -> tuple[pd.DataFrame, dt.date]:
    df = pd.read_csv(REAL, dtype={"CustomerID": str, "StockCode": str, "InvoiceNo": str})
    df["date"] = pd.to_datetime(df["InvoiceDate"]).dt.normalize()
    df["cents"] = _cents(df["Quantity"] * df["UnitPrice"])
    as_of = (df["date"].max() + pd.Timedelta(days=1)).date()
    return df, as_of


def _reference(df: pd.DataFrame, as_of: dt.date, peers_of) -> tuple[dict, dict]:
    """(per-account {line: expected value}, per-account total) by plain pandas."""
    start = pd.Timestamp(as_of) - pd.DateOffset(months=12)
    w = df[(df["date"] >= start) & (df["date"] < pd.Timestamp(as_of))]
    rev = w.groupby(["CustomerID", "StockCode"])["cents"].sum() / 100
    buys: dict[str, set[str]] = {}
    for (a, line), value in rev.items():
        if value > 0:
            buys.setdefault(a, set()).add(line)
    rev = rev.to_dict()
    buys = {a: s for a, s in buys.items() if s}
    per_line: dict[str, dict[str, float]] = {}
    for account in sorted(df["CustomerID"].unique()):
        peers = peers_of(account, sorted(buys))
        out: dict[str, float] = {}
        lines = set().union(*(buys[p] for p in peers)) if peers else set()
        for line in lines - buys.get(account, set()):
            vals = [rev[(p, line)] for p in peers if line in buys[p]]
            out[line] = len(vals) / len(peers) * float(np.median(vals))
        per_line[account] = out
    totals = {a: sum(v.values()) for a, v in per_line.items()}
    return per_line, totals


def _polars_inputs(df: pd.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    tx = pl.DataFrame({
        "account_id": df["CustomerID"].tolist(),
        "date": [d.date() for d in df["date"]],
        "amount": (df["Quantity"] * df["UnitPrice"]).tolist(),
        "product": df["StockCode"].tolist(),
    })
    acc = df.groupby("CustomerID")["Country"].first()
    assign = pl.DataFrame({"account_id": acc.index.tolist(), "segment": acc.values.tolist()})
    return tx, assign


def _compare(ws, per_line: dict, totals: dict) -> None:
    got: dict[str, dict[str, float]] = {}
    ranked_got: dict[str, list[str]] = {}
    for r in ws.lines.sort("account_id", "rank").iter_rows(named=True):
        got.setdefault(r["account_id"], {})[r["line"]] = r["expected_value"]
        ranked_got.setdefault(r["account_id"], []).append(r["line"])
    for account, expected in per_line.items():
        mine = got.get(account, {})
        assert set(mine) == set(expected), account
        for line, value in expected.items():
            assert mine[line] == pytest.approx(value, rel=1e-12, abs=1e-9), (account, line)
        # the ranking of next best lines: expected value desc, ties by line name
        ranked = sorted(expected, key=lambda x: (-round(expected[x], 6), x))
        assert ranked_got.get(account, []) == ranked, account
    order = sorted(totals, key=lambda a: (-round(totals[a], 6), a))
    assert ws.accounts["account_id"].to_list() == order
    assert ws.accounts["white_space_value"].to_list() == pytest.approx(
        [totals[a] for a in order], rel=1e-12, abs=1e-9)


def test_real_online_retail_segment_peers_match_pandas() -> None:
    df, as_of = _load_real()
    country = df.groupby("CustomerID")["Country"].first().to_dict()

    def peers_of(account: str, customers: list[str]) -> list[str]:
        return [c for c in customers if country[c] == country[account] and c != account]

    per_line, totals = _reference(df, as_of, peers_of)
    tx, assign = _polars_inputs(df)
    ws = white_space(tx, assign, as_of=as_of)
    assert ws.line_column == "product"
    assert ws.lines.height > 1000  # a real matrix, not a toy
    _compare(ws, per_line, totals)
    # penetration of a line in a segment = share of its customers buying it
    w = df[(df["date"] >= pd.Timestamp(as_of) - pd.DateOffset(months=12))]
    pos = w.groupby(["Country", "CustomerID", "StockCode"])["cents"].sum()
    pos = pos[pos > 0].reset_index()
    n = pos.groupby("Country")["CustomerID"].nunique()
    pen = pos.groupby(["Country", "StockCode"])["CustomerID"].nunique() / n
    mine = {(r["segment"], r["line"]): r["penetration"] for r in ws.penetration.to_dicts()}
    assert len(mine) == len(pen)
    for (seg, line), value in pen.items():
        assert mine[(seg, line)] == pytest.approx(value, rel=1e-12)


def test_real_online_retail_nearest_peers_match_pandas() -> None:
    df, as_of = _load_real()
    k = 5
    start = pd.Timestamp(as_of) - pd.DateOffset(months=12)
    w = df[(df["date"] >= start) & (df["date"] < pd.Timestamp(as_of))]
    revenue = (w.groupby("CustomerID")["cents"].sum() / 100).reindex(
        sorted(df["CustomerID"].unique()), fill_value=0.0)
    country = df.groupby("CustomerID")["Country"].first()
    # profile: window revenue (sign x log1p, standardised, sd over all accounts) + country
    lr = np.sign(revenue) * np.log1p(np.abs(revenue))
    z = (lr - lr.mean()) / lr.std(ddof=0)

    def peers_of(account: str, customers: list[str]) -> list[str]:
        def d2(c: str) -> float:
            return round((z[account] - z[c]) ** 2 + (country[account] != country[c]), 9)

        others = [c for c in customers if c != account]
        return sorted(others, key=lambda c: (d2(c), c))[:k]

    per_line, totals = _reference(df, as_of, peers_of)
    tx, assign = _polars_inputs(df)
    frame = pl.DataFrame({"account_id": revenue.index.tolist(), "revenue": revenue.tolist(),
                          "country": country.reindex(revenue.index).tolist()})
    ws = white_space(tx, assign, frame=frame, as_of=as_of, peers="nearest", k=k,
                     profile=("revenue", "country"))
    assert ws.accounts["peers"].to_list() == [k] * ws.accounts.height
    _compare(ws, per_line, totals)
