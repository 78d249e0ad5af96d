"""Pilot and snapshot tests of the Coverage screen (key C) on the tiny workspace
(36 accounts, active model "Value") with a small activity file imported into it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest
from test_model_editor import settle_app
from textual.widgets import DataTable, Static

from core.coverage import coverage
from tui.screens.coverage import CoverageScreen
from tui.state import WorkbenchState

OWNERS = ("Ann Berg", "Ben Cole", "Cy Dahl")
TYPES = ("Visit", "Meeting", "Call", "Email")


def activity_rows() -> list[tuple]:
    """A fixed pattern: heavy visits on a few accounts, a single e-mail on others."""
    rows = []
    for i in range(1, 37):
        account = f"C{i:03d}"
        owner = OWNERS[i % 3]
        count = (i * 7) % 5 + (6 if i % 9 == 0 else 0)
        for k in range(count):
            day = dt.date(2025, 1 + (i + k) % 12, 1 + (3 * i + k) % 27)
            kind = TYPES[(i + k) % 4] if i % 9 else "Visit"
            minutes = "" if k % 2 else str(30 + 15 * (k % 3))
            rows.append((account, day.isoformat(), kind, owner, minutes))
    return rows


@pytest.fixture
def coverage_workspace(tiny_workspace: Path, tmp_path: Path) -> Path:
    from storage.importer import commit_import, prepare_import
    from storage.workspace import Workspace

    path = tmp_path / "activities.csv"
    lines = ["AccountId,ActivityDate,Type,OwnerId,DurationInMinutes"]
    lines += [",".join(r) for r in activity_rows()]
    path.write_text("\n".join(lines) + "\n")
    with Workspace.open(tiny_workspace) as ws:
        commit_import(ws, prepare_import(path, "activities"))
        with ws.write(touches_data=False) as db:  # a fixed "last import" for the snapshots
            db.execute("UPDATE imports SET created_at = '2026-01-15T09:30:00Z'")
    return tiny_workspace


async def open_coverage(app, pilot) -> CoverageScreen:
    await settle_app(pilot, app)
    await pilot.press("C")
    await settle_app(pilot, app)
    screen = app.screen
    assert isinstance(screen, CoverageScreen)
    return screen


def expected(app):
    from storage.activities import load_activities
    from tui.commands.coverage import potential_frame

    state = app.state
    potential, _ = potential_frame(state.workspace, state.frame, state.as_of)
    return coverage(load_activities(state.workspace), potential, as_of=state.as_of,
                    assignments=state.assignments.select("account_id", "segment"))


class TestCoverage:
    async def test_lists_owners_and_reallocation_follow_core(self, make_app,
                                                             coverage_workspace):
        app = make_app(coverage_workspace)
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await open_coverage(app, pilot)
            ref = expected(app)
            over = ref.accounts.filter(pl.col("status") == "over").sort(
                ["effort_minutes", "account_id"], descending=[True, False])
            assert screen._shown["account_id"].to_list() == over["account_id"].to_list()
            owners = screen.query_one("#cov-owners", DataTable)
            assert owners.row_count == ref.owners.height
            title = str(screen.query_one("#cov-title", Static).content)
            assert f"over-covered {ref.summary['over_covered']:,}" in title
            assert f"under-covered {ref.summary['under_covered']:,}" in title
            await pilot.press("t")
            await settle_app(pilot, app)
            under = ref.accounts.filter(pl.col("status") == "under")
            assert screen.showing == "under"
            assert screen._shown["account_id"].to_list() == under["account_id"].to_list()
            table = screen.query_one("#cov-accounts", DataTable)
            assert table.row_count == under.height

    async def test_without_activities_says_what_to_import(self, make_app):
        app = make_app()
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await open_coverage(app, pilot)
            title = str(screen.query_one("#cov-title", Static).content)
            # workbench words, never a command-line flag (issue 12)
            assert "Import screen" in title and "activities" in title and "--" not in title


class TestSnapshot:
    def test_coverage_snapshot_120x40(self, snap_compare, make_app, coverage_workspace,
                                      monkeypatch):
        monkeypatch.setattr(WorkbenchState, "last_import_time", lambda self: "2025-12-31T08:00")

        async def run_before(pilot):
            await open_coverage(pilot.app, pilot)

        assert snap_compare(make_app(coverage_workspace), terminal_size=(120, 40),
                            run_before=run_before)

    def test_coverage_snapshot_80x24(self, snap_compare, make_app, coverage_workspace,
                                     monkeypatch):
        monkeypatch.setattr(WorkbenchState, "last_import_time", lambda self: "2025-12-31T08:00")

        async def run_before(pilot):
            await open_coverage(pilot.app, pilot)

        assert snap_compare(make_app(coverage_workspace), terminal_size=(80, 24),
                            run_before=run_before)
