"""Pilot and snapshot tests of the White space screen (key 0) on the tiny workspace
(36 accounts, active model "Value" = ABC by revenue, lines by product line)."""

from __future__ import annotations

import polars as pl
from test_model_editor import settle_app
from textual.widgets import DataTable, Static

from core.whitespace import white_space
from tui.screens.whitespace import WhitespaceScreen
from tui.state import WorkbenchState


async def open_whitespace(app, pilot) -> WhitespaceScreen:
    await settle_app(pilot, app)
    await pilot.press("0")
    await settle_app(pilot, app)
    screen = app.screen
    assert isinstance(screen, WhitespaceScreen)
    return screen


def text_of(widget: Static) -> str:
    """What a Static shows, as plain text (its content may be a Rich table)."""
    from rich.console import Console

    console = Console(width=400, record=True, file=open("/dev/null", "w"))  # noqa: SIM115
    console.print(widget.content)
    return console.export_text()


def expected(app, peers: str = "segment"):
    state = app.state
    return white_space(state.transactions, state.assignments.select("account_id", "segment"),
                       frame=state.frame, as_of=state.as_of, peers=peers, top=5)


class TestWhitespace:
    async def test_ranked_accounts_and_next_best_lines_follow_core(self, make_app):
        app = make_app()
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await open_whitespace(app, pilot)
            ref = expected(app)
            table = screen.query_one("#ws-accounts", DataTable)
            assert table.row_count == min(500, ref.accounts.height)
            # the list is the core ranking, best first
            assert screen._shown["account_id"].to_list() == \
                ref.accounts.head(500)["account_id"].to_list()
            first = ref.accounts["account_id"][0]
            best = ref.lines.filter(pl.col("account_id") == first).sort("rank")
            detail = text_of(screen.query_one("#ws-detail", Static))
            for line in best["line"].head(3).to_list():
                assert line in detail
            # moving down shows the second account's lines
            table.focus()
            await pilot.press("down")
            await settle_app(pilot, app)
            second = ref.accounts["account_id"][1]
            name = app.state.frame.filter(pl.col("account_id") == second)["name"][0]
            assert name in text_of(screen.query_one("#ws-detail-title", Static))

    async def test_peers_toggle_recomputes_with_nearest_peers(self, make_app):
        app = make_app()
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await open_whitespace(app, pilot)
            await pilot.press("p")
            await settle_app(pilot, app)
            assert screen.peers == "nearest"
            ref = expected(app, "nearest")
            assert screen._result.peers == "nearest"
            assert screen._shown["account_id"].to_list() == \
                ref.accounts.head(500)["account_id"].to_list()
            assert "nearest customers by" in text_of(screen.query_one("#ws-title", Static))


class TestSnapshot:
    def test_whitespace_snapshot_120x40(self, snap_compare, make_app, monkeypatch):
        monkeypatch.setattr(WorkbenchState, "last_import_time", lambda self: "2025-12-31T08:00")

        async def run_before(pilot):
            await open_whitespace(pilot.app, pilot)

        assert snap_compare(make_app(), terminal_size=(120, 40), run_before=run_before)

    def test_whitespace_snapshot_80x24(self, snap_compare, make_app, monkeypatch):
        monkeypatch.setattr(WorkbenchState, "last_import_time", lambda self: "2025-12-31T08:00")

        async def run_before(pilot):
            await open_whitespace(pilot.app, pilot)

        assert snap_compare(make_app(), terminal_size=(80, 24), run_before=run_before)
