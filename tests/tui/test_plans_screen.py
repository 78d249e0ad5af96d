"""Pilot and snapshot tests of the Game plans screen (key 9) and its review mode,
on the shell's tiny workspace (tests/tui/conftest.py: 36 accounts as of
2025-12-31; model "Value" = ABC class of revenue: A, B, C). KPI progress is
judged as of 2026-01-15 (``tui.screens.plans.today`` is fixed)."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from textual.widgets import DataTable, Input, Select

from core.kpi import segment_kpis
from storage.plans import add_kpi, get_plan, list_kpis, list_plans, set_plan
from tui.screens.plans import PlansScreen
from tui.screens.review import NO_TARGETS, ReviewScreen
from tui.widgets.plan_form import KpiForm, PlanForm

TODAY = dt.date(2026, 1, 15)


@pytest.fixture(autouse=True)
def fixed_today(monkeypatch):
    monkeypatch.setattr("tui.screens.plans.today", lambda: TODAY)


async def open_plans(app, pilot, settle) -> PlansScreen:
    await settle(app, pilot)
    await pilot.press("9")
    await settle(app, pilot)
    screen = app.screen
    assert isinstance(screen, PlansScreen)
    return screen


def revenue_by_hand(frame: pl.DataFrame, assignments: pl.DataFrame, segment: str) -> float:
    """Sum of the window revenue of the segment's accounts, in plain Python."""
    seg = dict(zip(assignments["account_id"].to_list(),
                   assignments["segment"].cast(pl.Utf8).to_list(), strict=True))
    return sum(r or 0.0 for a, r in zip(frame["account_id"], frame["revenue"], strict=True)
               if seg.get(a) == segment)


def kpi_cells(screen) -> list[list[str]]:
    table = screen.query_one("#kpi-table", DataTable)
    return [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]


class TestKpis:
    async def test_added_kpi_shows_the_live_actual_of_core_kpi(self, make_app, settle):
        app = make_app()
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await open_plans(app, pilot, settle)
            assert screen.current_segment == "A"
            # a bad target stays in the form with a message; escape adds nothing
            await pilot.press("k")
            await settle(app, pilot)
            await pilot.press("tab", *"lots", "ctrl+s")
            await settle(app, pilot)
            assert isinstance(app.screen, KpiForm)
            assert "is not a number" in str(app.screen.query_one("#kpi-form-error").render())
            await pilot.press("escape")
            await settle(app, pilot)
            assert list_kpis(app.state.workspace, "Value").is_empty()

            await pilot.press("k")
            await settle(app, pilot)
            form = app.screen
            assert isinstance(form, KpiForm)
            assert form.query_one("#kpi-metric", Select).value == "revenue"
            await pilot.press("tab", *"5000", "tab", *"2026-06-30", "ctrl+s")
            await settle(app, pilot)
            assert app.screen is screen
            state = app.state
            expected = segment_kpis(state.frame, state.assignments).filter(
                pl.col("segment") == "A")["revenue"][0]
            assert expected == pytest.approx(revenue_by_hand(state.frame, state.assignments, "A"))
            actuals = screen.data.kpis_of("A")
            assert actuals["actual"].to_list() == [pytest.approx(expected)]
            assert actuals["status"].to_list() == ["met"]
            stored = list_kpis(state.workspace, "Value", "A")
            assert stored["baseline"].to_list() == [pytest.approx(expected)]
            row = kpi_cells(screen)[0]
            # the KPI by its display name (issue 12, item 9)
            assert row[1:6] == ["Revenue", f"{expected:,.0f}", "≥ 5,000", "met", "2026-06-30"]

            # a second KPI: accounts, at most 5 by a deadline already passed -> off track
            await pilot.press("k")
            await settle(app, pilot)
            app.screen.query_one("#kpi-metric", Select).value = "accounts"
            app.screen.query_one("#kpi-direction", Select).value = "at_most"
            app.screen.query_one("#kpi-target", Input).value = "5"
            app.screen.query_one("#kpi-deadline", Input).value = "2026-01-01"
            await pilot.press("ctrl+s")
            await settle(app, pilot)
            counts = state.assignments["segment"].cast(pl.Utf8).value_counts()
            n_a = counts.filter(pl.col("segment") == "A")["count"][0]
            rows = kpi_cells(screen)
            assert [r[1] for r in rows] == ["Revenue", "Accounts"]
            assert rows[1][2] == f"{n_a:,}" and rows[1][4] == "off track"

            # x deletes the KPI under the KPI table's cursor
            table = screen.query_one("#kpi-table", DataTable)
            table.focus()
            table.move_cursor(row=1)
            await pilot.press("x")
            await settle(app, pilot)
            assert list_kpis(state.workspace, "Value", "A")["metric"].to_list() == ["revenue"]
            assert [r[1] for r in kpi_cells(screen)] == ["Revenue"]


class TestPlanForm:
    async def test_plan_form_saves_selects_and_text(self, make_app, settle):
        app = make_app()
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await open_plans(app, pilot, settle)
            await pilot.press("e")
            await settle(app, pilot)
            form = app.screen
            assert isinstance(form, PlanForm)
            # keyboard: the objective Select has focus; enter opens it, down + enter picks
            await pilot.press("enter", "down", "enter")
            await settle(app, pilot)
            assert form.query_one("#plan-objective", Select).value == "grow"
            form.query_one("#plan-owner", Input).value = "Ann Berg"
            form.query_one("#plan-review_date", Input).value = "2026-06-30"
            await pilot.press("ctrl+s")
            await settle(app, pilot)
            plan = get_plan(app.state.workspace, "Value", "A")
            assert (plan["objective"], plan["owner"], plan["review_date"]) == (
                "grow", "Ann Berg", "2026-06-30")
            assert plan["coverage_model"] is None
            table = screen.query_one("#plans-segments", DataTable)
            assert str(table.get_row_at(0)[3]) == "grow"
            assert str(screen.query_one("#plan-value-owner").render()) == "Ann Berg"

            # a bad date stays in the form with a message; escape leaves the plan as it was
            await pilot.press("e")
            await settle(app, pilot)
            app.screen.query_one("#plan-review_date", Input).value = "30/06/2026"
            await pilot.press("ctrl+s")
            await settle(app, pilot)
            assert "YYYY-MM-DD" in str(app.screen.query_one("#plan-form-error").render())
            await pilot.press("escape")
            await settle(app, pilot)
            assert get_plan(app.state.workspace, "Value", "A")["review_date"] == "2026-06-30"

    async def test_plans_of_vanished_segments_are_flagged_not_deleted(self, make_app, settle):
        app = make_app()
        set_plan(app.state.workspace, "Value", "Z", objective="retain", owner="Old team")
        add_kpi(app.state.workspace, "Value", "Z", "revenue", 1000.0)
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await open_plans(app, pilot, settle)
            table = screen.query_one("#plans-segments", DataTable)
            rows = [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]
            assert [r[0] for r in rows] == ["A", "B", "C", "Z"]
            assert rows[3][2] == "orphaned" and rows[3][3] == "retain"
            table.focus()
            table.move_cursor(row=3)
            await settle(app, pilot)
            note = str(screen.query_one("#plan-orphan-note").render())
            assert "orphaned" in note and "kept, not deleted" in note
            assert kpi_cells(screen)[0][4] == "not available"
            stored = list_plans(app.state.workspace, "Value")
            assert stored.filter(pl.col("segment") == "Z")["orphaned"].to_list() == [True]


class TestReview:
    async def test_review_walks_the_targets_with_n_and_p(self, make_app, settle):
        app = make_app()
        ws = app.state.workspace
        set_plan(ws, "Value", "C", objective="grow", key_messages="More lines per order")
        async with app.run_test(size=(120, 40)) as pilot:
            plans = await open_plans(app, pilot, settle)
            # no target flagged: every segment, with a note saying so
            await pilot.press("r")
            await settle(app, pilot)
            assert app.screen.segments == ["A", "B", "C"]
            assert str(app.screen.query_one("#review-note").render()) == NO_TARGETS
            await pilot.press("escape")
            await settle(app, pilot)
            ws.set_segment_annotation("Value", "A", status="target")
            ws.set_segment_annotation("Value", "C", status="target")
            plans.refresh_from_state()
            await settle(app, pilot)
            await pilot.press("r")
            await settle(app, pilot)
            review = app.screen
            assert isinstance(review, ReviewScreen)
            assert review.segments == ["A", "C"] and review.segment == "A"
            assert "segment A (1 of 2)" in str(review.query_one("#review-title").render())
            assert "• " in str(review.query_one("#review-traits").render())
            await pilot.press("n")
            await settle(app, pilot)
            assert review.segment == "C"
            assert "More lines per order" in str(review.query_one("#review-plan").render())
            profile = str(review.query_one("#review-profile").render())
            n_c = app.state.profiles.filter(pl.col("segment") == "C")["accounts"][0]
            assert profile.startswith(f"{n_c:,} accounts")
            await pilot.press("p")
            await settle(app, pilot)
            assert review.segment == "A"
            await pilot.press("escape")
            await settle(app, pilot)
            assert app.screen is plans


def _seed_plan(ws) -> None:
    """A plan and three KPIs of A with fixed creation dates (met / off track / not available)."""
    ws.set_segment_annotation("Value", "A", status="target")
    set_plan(ws, "Value", "A", objective="grow", coverage_model="key account manager",
             sales_logic="complex", offer="customised", key_messages="Uptime and service",
             channels="visits, webinars", cadence="quarterly", owner="Ann Berg",
             effort="2 FTE", review_date="2026-06-30", status="active")
    add_kpi(ws, "Value", "A", "revenue", 100000.0, "2026-12-31", baseline=90000.0)
    add_kpi(ws, "Value", "A", "accounts", 20.0, "2025-12-31", baseline=13.0)
    add_kpi(ws, "Value", "A", "avg_clv", 5000.0, "2026-12-31")
    with ws.write(touches_data=False):
        ws.conn.execute("UPDATE kpis SET created_at = '2025-12-01T00:00:00Z'")


class TestSnapshots:
    def test_plans_snapshot(self, snap_compare, make_app, ready, tiny_workspace):
        from storage.workspace import Workspace

        with Workspace.open(tiny_workspace) as ws:
            _seed_plan(ws)
        assert snap_compare(make_app(), terminal_size=(120, 40),
                            run_before=ready(lambda pilot: pilot.press("9")))

    def test_review_snapshot(self, snap_compare, make_app, ready, tiny_workspace):
        from storage.workspace import Workspace

        with Workspace.open(tiny_workspace) as ws:
            _seed_plan(ws)
        assert snap_compare(make_app(), terminal_size=(120, 40),
                            run_before=ready(lambda pilot: pilot.press("9"),
                                             lambda pilot: pilot.press("r")))

    def test_plans_snapshot_80x24(self, snap_compare, make_app, ready, tiny_workspace):
        from storage.workspace import Workspace

        with Workspace.open(tiny_workspace) as ws:
            _seed_plan(ws)
        assert snap_compare(make_app(), terminal_size=(80, 24),
                            run_before=ready(lambda pilot: pilot.press("9")))
