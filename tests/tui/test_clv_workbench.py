"""Workbench side of issue 13: the CLV "$0 orders" switch on Targeting (z), the
CLV holdout check (v) drawn as the papers draw it, and the potential / CLV fits
kept in the workspace (used by the next session and the command line without a
refit)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from textual.widgets import Label

from tests.tui.conftest import AS_OF
from tests.tui.test_targeting_screen import build_targeting_workspace, open_targeting


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("clvwb")
    return build_targeting_workspace(root / "gen.segscope", root / "csv")


@pytest.fixture
def app_factory(template, tmp_path):
    from storage.workspace import Workspace, cache_dir_for
    from tui.app import SegscopeApp
    from tui.state import WorkbenchState

    target = tmp_path / "gen.segscope"
    shutil.copyfile(template, target)
    shutil.copytree(cache_dir_for(template), cache_dir_for(target))
    opened = []

    def factory():
        ws = Workspace.open(target)
        opened.append(ws)
        return SegscopeApp(WorkbenchState(ws, as_of=AS_OF), persist_theme=False)

    yield factory
    for ws in opened:
        ws.close()


@pytest.fixture(autouse=True)
def fresh_forward_cache():
    from tui.screens import targeting

    targeting._FORWARD_RESULTS.clear()
    yield
    targeting._FORWARD_RESULTS.clear()


async def test_fits_are_kept_and_reused_by_the_next_session(app_factory, settle,
                                                            monkeypatch) -> None:
    import core.forward_frame
    from storage.fits import load_fit

    app = app_factory()
    async with app.run_test(size=(120, 40)) as pilot:
        await open_targeting(app, pilot, settle)
        ws = app.state.workspace
        assert load_fit(ws, "potential") is not None and load_fit(ws, "clv") is not None
        first = app.state.frame.select("account_id", "potential", "clv")
    from tui.screens import targeting

    targeting._FORWARD_RESULTS.clear()

    def no_refit(*_a, **_k):
        raise AssertionError("refitted although fits are kept")

    monkeypatch.setattr(core.forward_frame, "forward_columns", no_refit)
    app = app_factory()
    async with app.run_test(size=(120, 40)) as pilot:
        await open_targeting(app, pilot, settle)
        again = app.state.frame.select("account_id", "potential", "clv")
        assert again.equals(first)
        assert not [n for n in app.notices if n[0] == "error"]


async def test_zero_orders_switch_refits_and_says_so(app_factory, settle) -> None:
    app = app_factory()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_targeting(app, pilot, settle)
        assert screen._count_zero is False
        await pilot.press("z")
        await settle(app, pilot)
        await settle(app, pilot)
        assert screen._count_zero is True
        status = str(screen.query_one("#forward-status", Label).render())
        assert "$0 days as purchases" in status
        from storage.fits import load_fit

        kept = load_fit(app.state.workspace, "clv", where={"count_zero_orders": True})
        assert kept is not None and kept.report["count_zero_orders"] is True


async def test_clv_holdout_check_draws_expected_and_actual(app_factory, settle) -> None:
    app = app_factory()
    async with app.run_test(size=(120, 40)) as pilot:
        await open_targeting(app, pilot, settle)
        await pilot.press("v")
        await settle(app, pilot)
        screen = app.screen
        assert type(screen).__name__ == "ClvValidationScreen"
        h = screen.comparison
        assert h is not None and h.customers > 0
        assert h.by_repeats["repeats"].to_list()[0] == "0"
        summary = str(screen.query_one("#clv-check-summary", Label).render())
        assert "expected" in summary and "actual" in summary
        await pilot.press("escape")
        await settle(app, pilot)
        assert type(app.screen).__name__ == "TargetingScreen"
