"""The per-account frame kept in the workspace cache (tui.frame_cache) and the state
that paints from it before the tables are loaded (WorkbenchState.prepare)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from core.frame import account_frame
from storage.workspace import Workspace
from tui import frame_cache
from tui.state import WorkbenchState

DATA = Path(__file__).parent / "data"
AS_OF = date(2025, 12, 31)  # as the conftest's workspace fixtures


def frame_files(ws: Workspace) -> list[str]:
    return sorted(p.name for p in ws.cache_dir.glob(f"{frame_cache.PREFIX}*.arrow"))


def reference_frame(ws: Workspace, as_of: date = AS_OF) -> pl.DataFrame:
    """The frame built straight from the stored tables, as core.frame defines it."""
    tables = ws.load_tables(("accounts", "transactions"))
    return account_frame(tables["accounts"], tables["transactions"], as_of=as_of)


def first_start(ws: Workspace, as_of: date | None = AS_OF) -> WorkbenchState:
    state = WorkbenchState(ws, as_of=as_of)
    state.prepare()
    state.save_frame_cache()
    return state


class TestFrameCache:
    def test_a_second_start_paints_from_the_cache_without_the_tables(self, tiny_workspace):
        with Workspace.open(tiny_workspace) as ws:
            first = first_start(ws)
            assert first.tables_loaded  # nothing cached yet: built from the tables
            assert len(frame_files(ws)) == 1

            second = WorkbenchState(ws, as_of=AS_OF)
            assert second.load_cached_frame()
            assert not second.tables_loaded
            assert second.loaded and second.account_count == 36
            assert second.as_of == AS_OF
            cached = second.frame
            assert_frame_equal(cached, reference_frame(ws))

            second.set_active_model(None)
            second.recompute()
            assert_frame_equal(second.assignments, first.assignments)

            # the tables load on first use, and the frame is not rebuilt for them
            assert second.transactions.height == ws.load_transactions().height
            assert second.tables_loaded
            assert second.frame is cached

    def test_the_default_analysis_date_travels_with_the_frame(self, tiny_workspace):
        with Workspace.open(tiny_workspace) as ws:
            first = first_start(ws, as_of=None)
            second = WorkbenchState(ws)
            assert second.load_cached_frame()
            assert second.as_of == first.as_of is not None
            assert_frame_equal(second.frame, first.frame)

    def test_a_data_write_makes_the_cached_frame_unused(self, tiny_workspace):
        from storage.importer import commit_import, prepare_import

        with Workspace.open(tiny_workspace) as ws:
            first_start(ws)
            commit_import(ws, prepare_import(DATA / "new_accounts.csv", "accounts"))
            state = WorkbenchState(ws, as_of=AS_OF)
            assert not state.load_cached_frame()
            state.prepare()
            assert state.frame.height == ws.load_accounts().height > 36
            assert_frame_equal(state.frame, reference_frame(ws))
            state.save_frame_cache()
            assert len(frame_files(ws)) == 1  # the stale file is replaced, not kept

    def test_another_analysis_date_or_other_code_is_a_miss(self, tiny_workspace, monkeypatch):
        with Workspace.open(tiny_workspace) as ws:
            first_start(ws)
            assert not WorkbenchState(ws, as_of=date(2025, 6, 30)).load_cached_frame()
            assert WorkbenchState(ws, as_of=AS_OF).load_cached_frame()
            monkeypatch.setattr(frame_cache, "code_fingerprint", lambda: "changed core code")
            assert not WorkbenchState(ws, as_of=AS_OF).load_cached_frame()

    def test_a_damaged_file_is_a_miss_and_is_removed(self, tiny_workspace):
        with Workspace.open(tiny_workspace) as ws:
            first_start(ws)
            (name,) = frame_files(ws)
            (ws.cache_dir / name).write_bytes(b"not arrow")
            state = WorkbenchState(ws, as_of=AS_OF)
            assert not state.load_cached_frame()
            assert frame_files(ws) == []
            state.prepare()  # falls back to the tables
            assert_frame_equal(state.frame, reference_frame(ws))

    def test_no_cache_when_the_workspace_has_none(self, tiny_workspace):
        with Workspace.open(tiny_workspace, cache=False) as ws:
            state = first_start(ws)
            assert state.tables_loaded
            assert not ws.cache_dir.exists() or frame_files(ws) == []
            assert not WorkbenchState(ws, as_of=AS_OF).load_cached_frame()


class TestPrepare:
    def test_prepare_twice_computes_the_segments_once(self, tiny_workspace):
        with Workspace.open(tiny_workspace) as ws:
            state = WorkbenchState(ws, as_of=AS_OF)
            state.prepare()
            assignments = state.assignments
            assert assignments is not None and state.active_model.name == "Value"
            state.prepare()
            assert state.assignments is assignments
            state.recompute()  # an explicit recompute still recomputes
            assert state.assignments is not assignments

    def test_the_overview_figures_are_computed_once_per_segments(self, tiny_workspace):
        from tui.overview_data import overview_data

        with Workspace.open(tiny_workspace) as ws:
            state = WorkbenchState(ws, as_of=AS_OF)
            state.prepare()
            data = state.overview()
            assert state.overview() is data
            fresh = overview_data(state)
            assert (data.accounts, data.revenue, data.top20_share) == (
                fresh.accounts, fresh.revenue, fresh.top20_share)
            assert_frame_equal(data.bars, fresh.bars)
            state.recompute()
            assert state.overview() is not data

    def test_frame_with_segments_does_not_depend_on_the_order_of_the_assignments(
        self, tiny_workspace
    ):
        with Workspace.open(tiny_workspace) as ws:
            state = WorkbenchState(ws, as_of=AS_OF)
            state.prepare()
            aligned = state.frame_with_segments()  # row for row: no join
            assert aligned["segment"].dtype == pl.Utf8
            assert aligned.columns == [*state.frame.columns, "segment"]
            by_hand = dict(state.assignments.select("account_id", "segment").iter_rows())
            assert dict(aligned.select("account_id", "segment").iter_rows()) == by_hand
            state.assignments = state.assignments.reverse()  # joined on account_id
            assert_frame_equal(state.frame_with_segments(), aligned)

    async def test_the_workbench_starts_from_the_preload(self, tiny_workspace):
        from tui.app import SegscopeApp
        from tui.config import UserConfig
        from tui.launch import open_state
        from tui.screens.overview import OverviewScreen

        state = open_state(tiny_workspace, preload=True)
        try:
            state._preload.join(30)
            assert state.loaded and state.assignments is not None  # before any App exists
            assignments = state.assignments
            app = SegscopeApp(state, config=UserConfig(), persist_theme=False)
            async with app.run_test(size=(120, 40)) as pilot:
                await app.workers.wait_for_complete()
                await pilot.pause()
                assert isinstance(app.screen, OverviewScreen) and app.screen.painted_with_data
                assert state.assignments is assignments  # the App's load did not recompute
                assert state.tables_loaded
        finally:
            state.workspace.close()

    def test_preload_leaves_an_error_for_the_app(self, tiny_workspace, monkeypatch):
        with Workspace.open(tiny_workspace) as ws:
            state = WorkbenchState(ws, as_of=AS_OF)

            def broken(self):
                raise RuntimeError("disk on fire")

            monkeypatch.setattr(WorkbenchState, "reload", broken)
            state.start_preload()
            state._preload.join(10)
            assert not state._preload.is_alive()
            with pytest.raises(RuntimeError, match="disk on fire"):
                state.prepare()
