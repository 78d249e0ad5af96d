"""Pilot and snapshot tests of the trend charts (issue 15, item 4): the Runs
screen shows the segments over the frozen runs until two runs are marked; the
Game plans screen shows the highlighted KPI over the frozen runs. Values are
checked against the stored runs counted in plain Python."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import polars as pl
import pytest
from test_model_editor import settle_app
from test_runs import freeze, open_runs, tighten_active_model

from tui.state import WorkbenchState
from tui.widgets.trend_chart import TrendChart, long_to_series


async def runs_with_trend(app, pilot):
    screen = await open_runs(app, pilot)
    await freeze(app, pilot, "before")
    await tighten_active_model(app, pilot)
    await freeze(app, pilot, "after")
    await settle_app(pilot, app)
    return screen


def fixed_clock(monkeypatch) -> None:
    monkeypatch.setattr(WorkbenchState, "last_import_time", lambda self: "2025-12-31T08:00")
    monkeypatch.setattr(
        "tui.widgets.run_compare.format_created_at", lambda text: "2025-12-31 09:00"
    )


def test_long_to_series_fills_gaps_with_none() -> None:
    frame = pl.DataFrame({"point": ["r1", "r1", "r2"], "segment": ["A", "B", "A"],
                          "accounts": [3, 4, 5]})  # fmt: skip
    assert long_to_series(frame, "segment", "accounts") == (
        ["r1", "r2"], {"A": [3, 5], "B": [4, None]})  # fmt: skip


class TestRunsTrend:
    async def test_segments_over_runs_until_two_are_marked(self, make_app):
        app = make_app()
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await runs_with_trend(app, pilot)
            chart = screen.query_one("#runs-trend", TrendChart)
            assert chart.display and not screen.query_one("#matrix-table").display
            ws = app.state.workspace
            ids = sorted(ws.list_runs()["run_id"].to_list())
            runs, series = long_to_series(screen._trend.trend, "segment", "accounts")
            assert runs == [f"run {i}" for i in ids]
            for k, run_id in enumerate(ids):
                by_hand = Counter(ws.load_run(run_id)["segment"].to_list())
                assert {s: v[k] for s, v in series.items() if v[k]} == dict(by_hand)
            await pilot.press("v")  # revenue: the frozen revenue summed per segment
            await settle_app(pilot, app)
            runs, series = long_to_series(screen._trend.trend, "segment", "revenue")
            frozen = ws.load_run(ids[0])
            for seg, values in series.items():
                part = frozen.filter(pl.col("segment") == seg)["revenue"].fill_null(0).sum()
                assert values[0] == pytest.approx(part)
            # marking two runs brings the matrix back
            table = screen.query_one("#runs-table")
            table.focus()
            table.move_cursor(row=0)
            await pilot.press("space", "down", "space")
            await settle_app(pilot, app)
            assert not chart.display and screen.query_one("#matrix-table").display


class TestRunsTrendSnapshots:
    def test_runs_trend_snapshot_120x40(self, snap_compare, make_app, monkeypatch):
        fixed_clock(monkeypatch)

        async def run_before(pilot):
            await runs_with_trend(pilot.app, pilot)
            pilot.app.clear_notifications()
            await pilot.pause()

        assert snap_compare(make_app(), terminal_size=(120, 40), run_before=run_before)

    def test_runs_trend_snapshot_80x24_revenue(self, snap_compare, make_app, monkeypatch):
        fixed_clock(monkeypatch)

        async def run_before(pilot):
            await runs_with_trend(pilot.app, pilot)
            await pilot.press("v")
            await pilot.pause()
            pilot.app.clear_notifications()
            await pilot.pause()

        assert snap_compare(make_app(), terminal_size=(80, 24), run_before=run_before)


# -- Game plans: a KPI over the frozen runs -----------------------------------------

PLANS_TODAY = dt.date(2026, 1, 15)


def seed_runs_and_kpis(path) -> None:
    """Two runs of "Value" half a year apart and two KPIs of segment A."""
    from storage.plans import add_kpi
    from storage.workspace import Workspace
    from tui.cli import main

    for as_of in ("2025-06-30", "2025-12-31"):
        assert main(["run", "save", str(path), "--model", "Value", "--as-of", as_of]) == 0
    with Workspace.open(path) as ws:
        add_kpi(ws, "Value", "A", "revenue", 100000.0, "2026-12-31", baseline=90000.0)
        add_kpi(ws, "Value", "A", "accounts", 20.0, "2025-12-31", baseline=13.0)
        with ws.write(touches_data=False):
            ws.conn.execute("UPDATE kpis SET created_at = '2025-12-01T00:00:00Z'")


async def open_plans_with_trend(app, pilot):
    await settle_app(pilot, app)
    await pilot.press("9")
    await settle_app(pilot, app)
    await settle_app(pilot, app)
    return app.screen


class TestPlansTrend:
    async def test_highlighted_kpi_over_the_runs(self, make_app, tiny_workspace, monkeypatch,
                                                 capsys):  # fmt: skip
        monkeypatch.setattr("tui.screens.plans.today", lambda: PLANS_TODAY)
        seed_runs_and_kpis(tiny_workspace)
        capsys.readouterr()
        app = make_app()
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await open_plans_with_trend(app, pilot)
            assert screen.current_segment == "A"
            chart = screen.query_one("#kpi-trend", TrendChart)
            assert chart.display
            ws = app.state.workspace
            runs = ws.list_runs("Value").sort("run_id")
            kpi = screen.current_kpi()
            assert kpi["metric"] == "revenue"
            rows = screen._trend.filter(pl.col("id") == kpi["id"])
            assert rows["point"].to_list() == [f"run {i}" for i in runs["run_id"].to_list()]
            # each point: the revenue frozen with the run for the accounts it put in A
            for run_id, actual in zip(runs["run_id"], rows["actual"], strict=True):
                frozen = ws.load_run(run_id).filter(pl.col("segment") == "A")
                assert actual == pytest.approx(frozen["revenue"].fill_null(0).sum())
            # the next KPI (accounts): the chart follows the cursor
            table = screen.query_one("#kpi-table")
            table.focus()
            await pilot.press("down")
            await settle_app(pilot, app)
            kpi = screen.current_kpi()
            assert kpi["metric"] == "accounts"
            rows = screen._trend.filter(pl.col("id") == kpi["id"])
            for run_id, actual in zip(runs["run_id"], rows["actual"], strict=True):
                frozen = ws.load_run(run_id)
                assert actual == frozen.filter(pl.col("segment") == "A").height

    async def test_no_runs_no_chart(self, make_app, tiny_workspace, monkeypatch):
        monkeypatch.setattr("tui.screens.plans.today", lambda: PLANS_TODAY)
        from storage.plans import add_kpi
        from storage.workspace import Workspace

        with Workspace.open(tiny_workspace) as ws:
            add_kpi(ws, "Value", "A", "revenue", 100000.0, "2026-12-31")
        app = make_app()
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await open_plans_with_trend(app, pilot)
            assert screen.current_kpi() is not None
            assert not screen.query_one("#kpi-trend", TrendChart).display


class TestPlansTrendSnapshots:
    def test_plans_trend_snapshot_120x40(self, snap_compare, make_app, ready, tiny_workspace,
                                         monkeypatch):  # fmt: skip
        monkeypatch.setattr("tui.screens.plans.today", lambda: PLANS_TODAY)
        seed_runs_and_kpis(tiny_workspace)
        assert snap_compare(make_app(), terminal_size=(120, 40),
                            run_before=ready(lambda pilot: pilot.press("9")))  # fmt: skip

    def test_plans_trend_snapshot_80x24(self, snap_compare, make_app, ready, tiny_workspace,
                                        monkeypatch):  # fmt: skip
        monkeypatch.setattr("tui.screens.plans.today", lambda: PLANS_TODAY)
        seed_runs_and_kpis(tiny_workspace)

        async def to_chart(pilot):
            pilot.app.screen.query_one("#plans-right").scroll_end(animate=False)
            await pilot.pause()

        assert snap_compare(make_app(), terminal_size=(80, 24),
                            run_before=ready(lambda pilot: pilot.press("9"), to_chart))  # fmt: skip
