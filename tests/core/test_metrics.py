"""core.metrics against hand arithmetic and an independent pandas reference."""

from __future__ import annotations

import datetime as dt
import math

import polars as pl
import pytest
from metric_frames import AS_OF, random_data, tx_frame
from pandas_reference import reference_metrics

from core.errors import SegscopeError, UsageError
from core.metrics import METRIC_COLUMNS, account_metrics, default_as_of


@pytest.fixture
def hand(hand_accounts, hand_transactions) -> dict[str, dict]:
    m = account_metrics(hand_accounts, hand_transactions, as_of=AS_OF)
    return {row["account_id"]: row for row in m.iter_rows(named=True)}


class TestHandFrame:
    def test_shape_and_columns(self, hand_accounts, hand_transactions):
        m = account_metrics(hand_accounts, hand_transactions, as_of=AS_OF)
        assert m.columns == list(METRIC_COLUMNS)
        # One row per account of `accounts`, in its order; Z9 (not an account) is ignored.
        assert m["account_id"].to_list() == ["A1", "A2", "A3", "A4", "A5"]
        assert m.schema["recency_days"] == pl.Int64
        assert m.schema["frequency"] == pl.Int64
        assert m.schema["first_purchase"] == pl.Date

    def test_account_with_history_returns_and_missing_margin(self, hand):
        a1 = hand["A1"]
        # window [2024-01-01, 2025-01-01): 200 + 50 + 300 - 50 + 100 = 600
        assert a1["revenue"] == 600.0
        # margins 50 + 10 + 90 - 10; the 2024-12-31 line has none = 140
        assert a1["margin"] == 140.0
        assert a1["margin_pct"] == pytest.approx(140 / 600)
        # purchase days 02-01 (250), 06-15 (300), 12-31 (100); 06-20 is returns only
        assert a1["frequency"] == 3
        # invoices I2 (250), I3 (300), I5 (100); I4 nets -50 so is no order
        assert a1["orders"] == 3
        assert a1["avg_order_value"] == pytest.approx(600 / 3)
        # positive window lines: X, Y, Z, X -> 3 lines
        assert a1["product_breadth"] == 3
        # last purchase 2024-12-31 -> 1 day; first 2023-03-10 -> 663 days
        assert a1["recency_days"] == 1
        assert a1["tenure_days"] == 663
        assert a1["first_purchase"] == dt.date(2023, 3, 10)
        assert a1["last_purchase"] == dt.date(2024, 12, 31)
        # previous window [2023-01-01, 2024-01-01) = 100 -> 600 / 100 - 1 = 5
        assert a1["revenue_prev"] == 100.0
        assert a1["growth"] == pytest.approx(5.0)

    def test_lapsed_account(self, hand):
        a2 = hand["A2"]
        assert a2["revenue"] == 0.0
        assert a2["margin"] == 0.0  # no window lines: nothing sold, nothing earned
        assert a2["margin_pct"] is None
        assert a2["frequency"] == 0
        assert a2["orders"] == 0
        assert a2["avg_order_value"] is None
        assert a2["product_breadth"] == 0
        # 2023-05-05 nets 40 - 40 = 0: not a purchase day; last = 2023-07-01 -> 550 days
        assert a2["last_purchase"] == dt.date(2023, 7, 1)
        assert a2["recency_days"] == 550
        # first = 2022-06-01 -> 945 days
        assert a2["tenure_days"] == 945
        # previous window 40 - 40 + 20 = 20 -> 0 / 20 - 1 = -1
        assert a2["revenue_prev"] == 20.0
        assert a2["growth"] == pytest.approx(-1.0)

    def test_invoice_less_lines_and_the_analysis_date(self, hand):
        a3 = hand["A3"]
        # 10 + 15 + 5 - 5 + 70 + 30 = 125; the 999 on 2025-01-01 (= as_of) is outside
        assert a3["revenue"] == 125.0
        assert a3["margin"] is None  # window lines without any margin
        assert a3["margin_pct"] is None
        # purchase days 03-01 (25) and 11-30 (100); 03-02 nets 0
        assert a3["frequency"] == 2
        # day 03-01 without invoice (25) + K1 + K2 = 3; day 03-02 nets 0
        assert a3["orders"] == 3
        assert a3["avg_order_value"] == pytest.approx(125 / 3)
        assert a3["product_breadth"] == 1  # only "Y" among lines with a product line
        assert a3["recency_days"] == 32  # 2024-11-30
        assert a3["tenure_days"] == 306  # 2024-03-01
        assert a3["growth"] is None  # nothing in the previous window

    def test_prospect(self, hand):
        a4 = hand["A4"]
        assert (a4["revenue"], a4["frequency"], a4["orders"], a4["product_breadth"]) == (
            0.0, 0, 0, 0)
        for key in ("margin_pct", "recency_days", "avg_order_value", "tenure_days", "growth",
                    "first_purchase", "last_purchase"):
            assert a4[key] is None, key

    def test_returns_only_account(self, hand):
        a5 = hand["A5"]
        assert a5["revenue"] == -20.0
        assert a5["margin"] == -5.0
        assert a5["margin_pct"] is None  # revenue <= 0
        assert a5["frequency"] == 0
        assert a5["orders"] == 0
        assert a5["recency_days"] is None  # never a purchase day
        assert a5["tenure_days"] is None


class TestWindows:
    def test_default_as_of_is_the_day_after_the_last_transaction(self, hand_transactions):
        assert default_as_of(hand_transactions) == dt.date(2025, 1, 2)

    def test_default_as_of_without_transactions(self):
        with pytest.raises(SegscopeError, match="no transactions"):
            default_as_of(tx_frame([]))

    def test_calendar_months_not_30_days(self):
        # as_of 2024-03-31, 1 month: window [2024-02-29, 2024-03-31) (clamped, leap year).
        tx = tx_frame([
            ("a", "2024-02-28", 1.0, None, None, None),  # before the window
            ("a", "2024-02-29", 2.0, None, None, None),  # first day of the window
            ("a", "2024-03-30", 4.0, None, None, None),
            ("a", "2024-01-29", 8.0, None, None, None),  # previous window starts 2024-01-31
            ("a", "2024-01-31", 16.0, None, None, None),
        ])
        accounts = pl.DataFrame({"account_id": ["a"]})
        m = account_metrics(accounts, tx, as_of=dt.date(2024, 3, 31), window_months=1).row(
            0, named=True)
        assert m["revenue"] == 6.0
        # previous window [2024-01-31, 2024-02-29): 16 + 1
        assert m["revenue_prev"] == 17.0

    def test_bad_window(self, hand_accounts, hand_transactions):
        with pytest.raises(UsageError):
            account_metrics(hand_accounts, hand_transactions, as_of=AS_OF, window_months=0)

    def test_without_optional_columns(self, hand_accounts, hand_transactions):
        tx = hand_transactions.select("account_id", "date", "amount")
        m = account_metrics(hand_accounts, tx, as_of=AS_OF)
        a1 = m.filter(pl.col("account_id") == "A1").row(0, named=True)
        assert a1["margin"] is None
        assert a1["product_breadth"] == 0
        # without invoice ids every purchase day is an order: 3
        assert a1["orders"] == 3

    def test_lazy_inputs(self, hand_accounts, hand_transactions):
        eager = account_metrics(hand_accounts, hand_transactions, as_of=AS_OF)
        lazy = account_metrics(hand_accounts.lazy(), hand_transactions.lazy(), as_of=AS_OF)
        assert eager.equals(lazy)


def _close(a, b) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, float) or isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-9)
    return a == b


@pytest.mark.parametrize("seed,window", [(1, 12), (2, 6)])
def test_matches_pandas_reference(seed, window):
    accounts, tx = random_data(seed)
    as_of = dt.date(2024, 10, 15)
    got = account_metrics(accounts, tx, as_of=as_of, window_months=window)
    want = reference_metrics(accounts, tx, as_of, window)
    assert got.height == len(want)
    mismatches = []
    for row in got.iter_rows(named=True):
        ref = want[row["account_id"]]
        for key, value in ref.items():
            if not _close(row[key], value):
                mismatches.append((row["account_id"], key, row[key], value))
    assert not mismatches, mismatches[:10]
    # The data set exercises the interesting cases.
    assert got.filter(pl.col("recency_days").is_null()).height > 0  # prospects
    assert got.filter(pl.col("margin").is_null()).height > 0
    assert got.filter(pl.col("growth").is_null()).height > 0
    assert got.filter(pl.col("revenue") < 0).height > 0


class TestLayouts:
    """The clustered fast path (lines grouped by account, dates ascending) and the
    general hash path must give the same frame; the fast path must refuse layouts
    it cannot handle."""

    def _lines(self, tx):
        from core.metrics import _lines

        return _lines(tx.lazy(), tx.columns, dt.date(2024, 10, 15)).collect()

    def test_sorted_random_data_takes_the_fast_path_and_matches_reference(self):
        from core.metrics import _per_account_clustered

        accounts, tx = random_data(7)
        # one invoice per account and day, as an ERP export sorted by account has
        tx = tx.with_columns(
            pl.when(pl.col("invoice_id").is_not_null())
            .then(pl.col("account_id") + "/" + pl.col("date").cast(pl.Utf8))
            .alias("invoice_id")
        )
        clustered = tx.sort("account_id", "date", "invoice_id", maintain_order=True)
        window, prev = dt.date(2023, 10, 15), dt.date(2022, 10, 15)
        assert _per_account_clustered(self._lines(clustered), window, prev) is not None
        assert _per_account_clustered(self._lines(tx), window, prev) is None
        as_of = dt.date(2024, 10, 15)
        fast = account_metrics(accounts, clustered, as_of=as_of)
        slow = account_metrics(accounts, tx, as_of=as_of)
        assert fast.equals(slow)
        want = reference_metrics(accounts, clustered, as_of)
        got = {r["account_id"]: r for r in fast.iter_rows(named=True)}
        bad = [(a, k) for a, ref in want.items() for k, v in ref.items()
               if not _close(got[a][k], v)]
        assert not bad, bad[:5]

    def test_interleaved_orders_fall_back(self):
        from core.metrics import _per_account_clustered

        # Clustered and dated, but the invoice-less lines of 06-01 are split by
        # invoice K: the run layout would count that day twice.
        tx = tx_frame([
            ("a", "2024-06-01", 10.0, None, None, "X"),
            ("a", "2024-06-01", 10.0, None, "K", "X"),
            ("a", "2024-06-01", 10.0, None, None, "X"),
            ("b", "2024-06-02", 10.0, None, "L", "X"),
            ("b", "2024-06-03", 10.0, None, "M", "X"),
            ("b", "2024-06-04", -10.0, None, "L", "X"),  # L comes back: a credit note
        ])
        assert _per_account_clustered(
            self._lines(tx), dt.date(2023, 10, 15), dt.date(2022, 10, 15)) is None
        m = account_metrics(pl.DataFrame({"account_id": ["a", "b"]}), tx,
                            as_of=dt.date(2024, 10, 15))
        # a: invoice-less day 06-01 (20) and K (10) -> 2 orders; b: L nets 0, M -> 1
        assert m["orders"].to_list() == [2, 1]
        assert m["frequency"].to_list() == [1, 2]

    def test_account_split_in_two_runs_falls_back(self):
        from core.metrics import _per_account_clustered

        tx = tx_frame([
            ("a", "2024-06-01", 10.0, None, None, None),
            ("b", "2024-06-01", 10.0, None, None, None),
            ("a", "2024-06-02", 10.0, None, None, None),
        ])
        assert _per_account_clustered(
            self._lines(tx), dt.date(2023, 10, 15), dt.date(2022, 10, 15)) is None
        m = account_metrics(pl.DataFrame({"account_id": ["a", "b"]}), tx,
                            as_of=dt.date(2024, 10, 15))
        assert m["frequency"].to_list() == [2, 1]

    def test_invoice_ids_out_of_order_still_take_the_fast_path(self):
        from core.metrics import _per_account_clustered

        tx = tx_frame([
            ("a", "2024-06-01", 10.0, None, "INV9", "X"),
            ("a", "2024-06-02", 10.0, None, "INV2", "X"),
            ("a", "2024-06-02", -10.0, None, "INV2", "X"),
            ("b", "2024-06-02", 10.0, None, "INV1", "X"),
        ])
        lines = self._lines(tx)
        per = _per_account_clustered(lines, dt.date(2023, 10, 15), dt.date(2022, 10, 15))
        assert per is not None
        # a: INV9 (10) is an order, INV2 nets 0 -> 1; b: 1
        assert dict(zip(per["account_id"], per["orders"], strict=True)) == {"a": 1, "b": 1}


def _clustered_with_multi_day_invoices(seed: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Lines grouped by account in date order, as an import of a sorted export:
    invoices of 1-4 lines spanning up to 3 days (some across the window start),
    invoice numbers not ascending within an account, invoice-less days, returns,
    unknown margins and product lines."""
    import random

    rng = random.Random(seed)
    rows = []
    for a in range(120):
        account = f"acc{a:04d}"
        day = dt.date(2022, 9, 1) + dt.timedelta(days=rng.randrange(300))
        numbers = rng.sample(range(1, 10_000), 12)
        for number in numbers[: rng.randrange(1, 12)]:
            invoice = None if rng.random() < 0.2 else f"{account}-INV{number}"
            # an invoice-less day must not share its day with another order
            day += dt.timedelta(days=rng.randrange(0 if invoice else 1, 40))
            for _ in range(rng.randrange(1, 5)):
                amount = rng.choice([5.0, 19.99, 100.0, 250.5]) * (-1 if rng.random() < 0.2 else 1)
                margin = None if rng.random() < 0.15 else round(amount * 0.3, 2)
                line = rng.choice(["L1", "L2", "L3", None])
                rows.append((account, day, amount, margin, invoice, line))
                if invoice and rng.random() < 0.3:
                    day += dt.timedelta(days=1)  # the invoice continues next day
            if not invoice:
                day += dt.timedelta(days=1)
    accounts = pl.DataFrame({"account_id": [f"acc{a:04d}" for a in range(130)]})
    return accounts, tx_frame(rows)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_fast_path_equals_hash_path_and_shuffled_input(seed):
    """The clustered fast path must be taken on grouped lines and give exactly the
    frame of the general hash path, and of the same lines in random order."""
    from core.metrics import _finish, _lines, _per_account_clustered, _per_account_hashed

    accounts, tx = _clustered_with_multi_day_invoices(seed)
    as_of = dt.date(2024, 3, 1)
    window, prev = dt.date(2023, 3, 1), dt.date(2022, 3, 1)
    lines = _lines(tx.lazy(), tx.columns, as_of).collect()
    assert _per_account_clustered(lines, window, prev) is not None
    fast = account_metrics(accounts, tx, as_of=as_of)
    per_account = _per_account_hashed(lines, window, prev)
    joined = accounts.select("account_id").join(
        per_account, on="account_id", how="left", maintain_order="left")
    hashed = _finish(joined.lazy(), as_of, True).collect()
    assert fast.equals(hashed)
    shuffled = tx.sample(fraction=1.0, shuffle=True, seed=seed)
    assert account_metrics(accounts, shuffled, as_of=as_of).equals(fast)
    assert fast["orders"].sum() > 0 and fast["product_breadth"].max() >= 2
    # Accounts still contiguous but dated backwards: the fast path must refuse.
    backwards = tx.reverse()
    assert _per_account_clustered(
        _lines(backwards.lazy(), tx.columns, as_of).collect(), window, prev) is None
    assert account_metrics(accounts, backwards, as_of=as_of).equals(fast)


def test_align_by_binary_search_equals_the_left_join():
    """Sorted ids take the binary-search path; it must give the join's frame,
    with ids missing on either side (unsorted ids take the join itself)."""
    from core.metrics import _align

    ids = pl.DataFrame({"account_id": ["A", "B", "C", "E", "F"]})
    per = pl.DataFrame({"account_id": ["B", "D", "E", "G"], "x": [1, 2, 3, 4],
                        "y": ["b", "d", "e", "g"]})
    expected = ids.join(per, on="account_id", how="left", maintain_order="left")
    assert _align(ids, per).equals(expected)
    assert _align(ids, per)["x"].to_list() == [None, 1, None, 3, None]
    unsorted = ids.reverse()
    assert _align(unsorted, per).equals(
        unsorted.join(per, on="account_id", how="left", maintain_order="left"))
    assert _align(ids, per.clear())["x"].to_list() == [None] * 5


def test_by_code_lays_parts_out_one_row_per_code_with_nulls_for_gaps():
    from core.metrics import _by_code

    days = pl.DataFrame({"code": [0, 2], "f": [5, 7]}, schema_overrides={"code": pl.UInt32})
    money = pl.DataFrame({"code": [2, 3], "m": [1.5, 2.5]}, schema_overrides={"code": pl.UInt32})
    out = _by_code([days, money], 4)
    assert out.to_dict(as_series=False) == {"f": [5, None, 7, None], "m": [None, None, 1.5, 2.5]}
