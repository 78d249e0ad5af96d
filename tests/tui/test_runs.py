"""Pilot and snapshot tests of the Runs screen (key 6), on the shell's tiny
workspace: freeze two runs of the active model (ABC by revenue, then the same
model with tighter thresholds), mark both, read the migration matrix and drill
into a cell."""

from __future__ import annotations

import dataclasses
from collections import Counter

import polars as pl
from test_model_editor import settle_app
from textual.widgets import DataTable, Input

from tui.screens.runs import RunsScreen
from tui.state import WorkbenchState
from tui.widgets.model_dialogs import PromptDialog
from tui.widgets.segment_accounts import AccountsDialog


async def open_runs(app, pilot) -> RunsScreen:
    await settle_app(pilot, app)
    await pilot.press("6")
    await settle_app(pilot, app)
    screen = app.screen
    assert isinstance(screen, RunsScreen)
    return screen


async def freeze(app, pilot, label: str) -> None:
    await pilot.press("f")
    await settle_app(pilot, app)
    assert isinstance(app.screen, PromptDialog)
    app.screen.query_one(Input).value = label
    await pilot.press("enter")
    await settle_app(pilot, app)


async def tighten_active_model(app, pilot) -> None:
    """Save the active ABC model with A < 50 %, B < 80 % and recompute (as the editor does)."""
    state = app.state
    model = state.active_model
    abc = dataclasses.replace(model.dimensions[0], a=0.5, b=0.8)
    state.save_model(dataclasses.replace(model, dimensions=(abc,)))
    app.recompute_segments()
    await settle_app(pilot, app)


async def two_runs(app, pilot) -> RunsScreen:
    screen = await open_runs(app, pilot)
    await freeze(app, pilot, "before")
    await tighten_active_model(app, pilot)
    await freeze(app, pilot, "after")
    table = screen.query_one("#runs-table", DataTable)
    assert table.row_count == 2
    table.focus()
    table.move_cursor(row=0)
    await pilot.press("space", "down", "space")
    await settle_app(pilot, app)
    return screen


def pairs_by_reference(app, run_a: int, run_b: int) -> Counter:
    """(from, to) -> accounts, counted in plain Python over the stored runs."""
    ws = app.state.workspace
    a = dict(ws.load_run(run_a).select("account_id", "segment").rows())
    b = dict(ws.load_run(run_b).select("account_id", "segment").rows())
    return Counter((a[k], b[k]) for k in a.keys() & b.keys())


class TestRuns:
    async def test_freeze_two_runs_matrix_revenue_and_drill(self, make_app):
        app = make_app()
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await two_runs(app, pilot)
            runs = app.state.workspace.list_runs().sort("run_id")
            assert runs["label"].to_list() == ["before", "after"]
            assert runs["accounts"].to_list() == [36, 36]
            run_a, run_b = runs["run_id"].to_list()
            reference = pairs_by_reference(app, run_a, run_b)
            # tighter thresholds only move accounts down: A->B, A->C, B->C
            assert all(f <= t for f, t in reference)
            assert sum(n for (f, t), n in reference.items() if f != t) > 0

            matrix = screen.query_one("#matrix-table", DataTable)
            header = [str(c.label) for c in matrix.columns.values()]
            assert header[1:] == ["A", "B", "C", "total"]
            rows = {str(matrix.get_row_at(i)[0]): [str(v) for v in matrix.get_row_at(i)[1:]]
                    for i in range(matrix.row_count)}
            for f in "ABC":
                assert rows[f][:3] == [str(reference.get((f, t), 0)) for t in "ABC"]
            assert rows["total"][3] == "36"
            moved = sum(n for (f, t), n in reference.items() if f != t)
            assert f"{moved:,} of 36 accounts changed segment" in str(
                screen.query_one("#matrix-hint").render()
            )

            # revenue view and drill-down (same two runs, to keep the suite fast)
            # the A -> B cell: accounts that lost their A class
            assert reference[("A", "B")] > 0
            second = app.state.workspace.load_run(run_b)
            first = app.state.workspace.load_run(run_a)
            moved_ids = sorted(
                set(first.filter(pl.col("segment") == "A")["account_id"])
                & set(second.filter(pl.col("segment") == "B")["account_id"])
            )
            revenue_ab = sum(
                r for k, r in second.select("account_id", "revenue").rows() if k in moved_ids
            )

            await pilot.press("v")
            await settle_app(pilot, app)
            matrix = screen.query_one("#matrix-table", DataTable)
            assert str(matrix.get_row_at(0)[2]) == f"{revenue_ab:,.0f}"
            assert "(revenue)" in str(screen.query_one("#matrix-title").render())

            matrix.focus()
            matrix.move_cursor(row=0, column=2)
            await pilot.press("enter")
            await settle_app(pilot, app)
            dialog = app.screen
            assert isinstance(dialog, AccountsDialog)
            assert sorted(dialog.frame["account_id"].to_list()) == moved_ids
            assert set(dialog.frame["from_segment"]) == {"A"}
            assert set(dialog.frame["to_segment"]) == {"B"}
            await pilot.press("escape")
            await settle_app(pilot, app)
            assert app.screen is screen


    async def test_delete_a_run_asks_first_and_clears_the_comparison(self, make_app):
        app = make_app()
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await two_runs(app, pilot)
            ws = app.state.workspace
            ids = sorted(ws.list_runs()["run_id"].to_list())
            table = screen.query_one("#runs-table", DataTable)
            table.focus()
            table.move_cursor(row=0)
            doomed = screen._runs[0].run_id
            await pilot.press("x")
            await settle_app(pilot, app)
            await pilot.press("n")  # no: nothing happens
            await settle_app(pilot, app)
            assert sorted(ws.list_runs()["run_id"].to_list()) == ids
            await pilot.press("x")
            await settle_app(pilot, app)
            await pilot.press("y")
            await settle_app(pilot, app)
            assert ws.list_runs()["run_id"].to_list() == [i for i in ids if i != doomed]
            assert ws.conn.execute(
                "SELECT count(*) FROM assignments WHERE run_id = ?", (doomed,)
            ).fetchone()[0] == 0
            assert table.row_count == 1
            assert "Mark two runs" in str(screen.query_one("#matrix-title").render())


class TestSnapshot:
    def test_runs_snapshot(self, snap_compare, make_app, monkeypatch):
        monkeypatch.setattr(WorkbenchState, "last_import_time", lambda self: "2025-12-31T08:00")
        # frozen-at times are real clock times: show a fixed one
        monkeypatch.setattr(
            "tui.widgets.run_compare.format_created_at", lambda text: "2025-12-31 09:00"
        )

        async def run_before(pilot):
            await two_runs(pilot.app, pilot)
            pilot.app.clear_notifications()  # toasts expire by the clock: keep them out
            await pilot.pause()

        assert snap_compare(make_app(), terminal_size=(120, 40), run_before=run_before)


class TestNarrowSnapshot:
    """Issue 12: below 110 columns the matrix sits under the runs, whole (not cut)."""

    def test_runs_snapshot_80x24_revenue(self, snap_compare, make_app, monkeypatch):
        monkeypatch.setattr(WorkbenchState, "last_import_time", lambda self: "2025-12-31T08:00")
        monkeypatch.setattr(
            "tui.widgets.run_compare.format_created_at", lambda text: "2025-12-31 09:00"
        )

        async def run_before(pilot):
            await two_runs(pilot.app, pilot)
            await pilot.press("v")
            await pilot.pause()
            pilot.app.clear_notifications()
            await pilot.pause()

        assert snap_compare(make_app(), terminal_size=(80, 24), run_before=run_before)
