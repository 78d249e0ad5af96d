"""The Overview screen: totals, Pareto curve data and segment bars."""

from __future__ import annotations

import csv
from collections import defaultdict
from datetime import date
from pathlib import Path

import pytest

from tui.screens.overview import OverviewScreen, overview_data
from tui.widgets.stat_tile import StatTile

DATA = Path(__file__).parent / "data"  # the tiny inputs (tests/tui/data)


def window_sums() -> tuple[dict[str, float], float]:
    """Revenue per account and total margin in [2024-12-31, 2025-12-31), from the CSV."""
    revenue: dict[str, float] = defaultdict(float)
    margin = 0.0
    with (DATA / "transactions.csv").open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if date(2024, 12, 31) <= date.fromisoformat(row["Invoice Date"]) < date(2025, 12, 31):
                revenue[row["Customer ID"]] += float(row["Net Amount"])
                margin += float(row["Gross Profit"])
    return revenue, margin


def tile(screen, name: str) -> str:
    widget = screen.query_one(f"#tile-{name}", StatTile)
    return str(widget.query_one(".tile-value").render())


class TestOverview:
    async def test_tiles_show_the_totals(self, make_app, settle):
        app = make_app()
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(app, pilot)
            screen = app.screen
            assert isinstance(screen, OverviewScreen) and screen.painted_with_data
            revenue, margin = window_sums()
            assert tile(screen, "accounts") == "36"
            assert tile(screen, "customers") == "30"  # accounts with transactions
            assert tile(screen, "prospects") == "6"
            assert tile(screen, "revenue") == f"{sum(revenue.values()) / 1000:.1f}k"
            assert tile(screen, "margin") == f"{margin / 1000:.1f}k"
            assert tile(screen, "model") == "Value"

    def test_overview_data_against_a_hand_reference(self, make_app):
        app = make_app()
        state = app.state
        state.reload()
        state.set_active_model(None)
        state.recompute()
        data = overview_data(state)
        revenue, _ = window_sums()
        total = sum(revenue.values())
        assert data.revenue == pytest.approx(total)

        # the curve runs over the accounts with positive revenue; the top 20% of them
        paying = sorted((r for r in revenue.values() if r > 0), reverse=True)
        k = max(i for i in range(len(paying) + 1) if i / len(paying) <= 0.2)
        assert (len(paying), k) == (28, 5)  # 2 customers bought only before the window
        assert data.top20_share == pytest.approx(sum(paying[:k]) / total)
        curve = data.pareto
        assert curve["account_share"].to_list()[-1] == pytest.approx(1.0)
        assert curve["measure_share"].to_list()[-1] == pytest.approx(1.0)
        assert curve["measure_share"].is_sorted()

        # bars: each segment's share of accounts and of revenue
        segment_of = dict(state.assignments.select("account_id", "segment").iter_rows())
        bars = {row["segment"]: row for row in data.bars.iter_rows(named=True)}
        assert set(bars) == {"A", "B", "C"}
        for segment, row in bars.items():
            members = [a for a, s in segment_of.items() if s == segment]
            assert row["account_share"] == pytest.approx(len(members) / 36)
            seg_revenue = sum(revenue.get(a, 0.0) for a in members)
            assert row["revenue_share"] == pytest.approx(seg_revenue / total)
        # ABC by revenue: A holds most of the revenue with a minority of accounts
        assert bars["A"]["revenue_share"] > 0.6 > bars["A"]["account_share"]

    def test_many_segments_fold_into_other(self, make_app):
        import polars as pl

        app = make_app()
        state = app.state
        state.reload()
        # one segment per account: 36 segments -> 9 biggest + "other"
        state.assignments = state.frame.select("account_id", segment=pl.col("account_id"))
        data = overview_data(state)
        assert data.bars.height == 10
        assert data.bars["segment"].to_list()[-1] == "other"
        assert data.bars["account_share"].sum() == pytest.approx(1.0)
        assert data.segment_count == 36

    def test_many_enum_segments_fold_into_other(self, make_app):
        """Named RFM segments are an Enum; "other" is not one of its labels."""
        import polars as pl

        state = make_app().state
        state.reload()
        ids = state.frame["account_id"].to_list()
        labels = [f"S{i:02d}" for i in range(len(ids))]
        state.assignments = pl.DataFrame(
            {"account_id": ids, "segment": pl.Series(labels, dtype=pl.Enum(labels))}
        )
        data = overview_data(state)
        assert data.bars.height == 10
        assert data.bars["segment"].to_list()[-1] == "other"
        assert data.bars["account_share"].sum() == pytest.approx(1.0)

    def test_bars_do_not_depend_on_the_order_of_the_assignments(self, make_app):
        from polars.testing import assert_frame_equal

        state = make_app().state
        state.reload()
        state.set_active_model(None)
        state.recompute()
        aligned = overview_data(state)  # assignments row for row with the frame
        state.assignments = state.assignments.reverse()  # now they must be joined
        shuffled = overview_data(state)
        assert_frame_equal(shuffled.bars, aligned.bars)
        assert shuffled.segment_count == aligned.segment_count == 3


class TestOverviewSnapshots:
    def test_overview_120x40(self, make_app, snap_compare, ready):
        assert snap_compare(make_app(), terminal_size=(120, 40), run_before=ready())

    def test_overview_80x24(self, make_app, snap_compare, ready):
        assert snap_compare(make_app(), terminal_size=(80, 24), run_before=ready())
