"""Pilot and snapshot tests of the Segments screen (key 5), on the shell's tiny
workspace (tests/tui/conftest.py: 36 accounts, as of 2025-12-31; the active
model segments by ABC class of revenue)."""

from __future__ import annotations

import polars as pl
import pytest
from test_model_editor import settle_app
from textual.widgets import DataTable, Input, TextArea

from tui.screens.segments import SegmentsScreen, segment_filter
from tui.state import WorkbenchState
from tui.widgets.segment_dialogs import NotesDialog


async def open_segments(app, pilot) -> SegmentsScreen:
    await settle_app(pilot, app)
    await pilot.press("5")
    await settle_app(pilot, app)
    screen = app.screen
    assert isinstance(screen, SegmentsScreen)
    return screen


def abc_counts_by_reference(frame: pl.DataFrame) -> dict[str, int]:
    """ABC classes by the DOMAIN.md rule, in plain Python: sort by revenue desc
    (ties by id); A while the share ranked above < 0.80, B while < 0.95, else C;
    zero or negative revenue is C."""
    rows = sorted(
        ((r or 0.0, a) for a, r in zip(frame["account_id"], frame["revenue"], strict=True)),
        key=lambda t: (-t[0], t[1]),
    )
    total = sum(r for r, _ in rows if r > 0)
    counts = {"A": 0, "B": 0, "C": 0}
    before = 0.0
    for revenue, _ in rows:
        if revenue <= 0:
            counts["C"] += 1
            continue
        share = before / total
        counts["A" if share < 0.80 else "B" if share < 0.95 else "C"] += 1
        before += revenue
    return counts


def test_segment_filter_quotes_text():
    assert segment_filter("A") == "segment = 'A'"
    assert segment_filter("Can't lose") == "segment = 'Can''t lose'"


class TestProfiles:
    async def test_profile_table_sort_and_traits(self, make_app):
        app = make_app()
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await open_segments(app, pilot)
            expected = abc_counts_by_reference(app.state.frame)
            table = screen.query_one("#profile-table", DataTable)
            shown = {str(table.get_row_at(i)[0]): int(str(table.get_row_at(i)[4]))
                     for i in range(table.row_count)}
            assert shown == expected
            assert sum(shown.values()) == 36
            # sort by the accounts column, descending, with ]
            table.focus()
            table.move_cursor(row=0, column=4)
            await pilot.press("right_square_bracket")
            await settle_app(pilot, app)
            counts = [int(str(table.get_row_at(i)[4])) for i in range(table.row_count)]
            assert counts == sorted(expected.values(), reverse=True)
            await pilot.press("left_square_bracket")
            await settle_app(pilot, app)
            counts = [int(str(table.get_row_at(i)[4])) for i in range(table.row_count)]
            assert counts == sorted(expected.values())
            assert str(list(table.columns.values())[4].label) == "accounts ▲"

            # traits follow the highlighted segment
            table.move_cursor(row=[str(table.get_row_at(i)[0]) for i in range(3)].index("A"))
            await settle_app(pilot, app)
            assert screen.current_segment == "A"
            traits = str(screen.query_one("#traits-list").render())
            assert traits.startswith("• ")
            # the model's own inputs (revenue, its ABC class) are not news about segment A
            assert "abc_class" not in traits and "revenue median" not in traits
            await pilot.press("up")  # B: the row above A when sorted by accounts
            await settle_app(pilot, app)
            assert screen.current_segment == "B"
            assert "Traits of B" in str(screen.query_one("#traits-title").render())


class TestDrill:
    async def test_enter_drills_into_the_segment_accounts(self, make_app):
        app = make_app()
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await open_segments(app, pilot)
            expected = abc_counts_by_reference(app.state.frame)
            screen.query_one("#profile-table", DataTable).focus()
            await pilot.press("down", "enter")
            await settle_app(pilot, app)
            assert app.current_mode == "accounts"
            accounts = app.screen
            assert accounts.query_one("#accounts-filter", Input).value == "segment = 'B'"
            view = accounts._view
            assert view.height == expected["B"]
            assert set(view["segment"].cast(pl.Utf8).to_list()) == {"B"}


class TestAnnotations:
    async def test_flag_target_is_stored_and_shown(self, make_app):
        app = make_app()
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await open_segments(app, pilot)
            table = screen.query_one("#profile-table", DataTable)
            table.focus()
            await pilot.press("t")
            await settle_app(pilot, app)
            stored = app.state.workspace.get_segment_annotations(app.state.active_model.name)
            assert stored.select("segment", "status").rows() == [("A", "target")]
            assert str(table.get_row_at(0)[1]) == "target"
            await pilot.press("down", "L")
            await settle_app(pilot, app)
            await pilot.press("up", "t")  # again on A: clears the flag
            await settle_app(pilot, app)
            stored = app.state.workspace.get_segment_annotations(app.state.active_model.name)
            assert dict(stored.select("segment", "status").rows()) == {"A": None, "B": "lean"}
            assert str(table.get_row_at(0)[1]) == ""
            assert str(table.get_row_at(1)[1]) == "lean"

    async def test_notes_are_edited_in_a_modal(self, make_app):
        app = make_app()
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await open_segments(app, pilot)
            screen.query_one("#profile-table", DataTable).focus()
            await pilot.press("e")
            await settle_app(pilot, app)
            assert isinstance(app.screen, NotesDialog)
            app.screen.query_one(TextArea).insert("Key accounts: quarterly review")
            await pilot.press("ctrl+s")
            await settle_app(pilot, app)
            assert app.screen is screen
            stored = app.state.workspace.get_segment_annotations(app.state.active_model.name)
            assert stored.filter(pl.col("segment") == "A")["notes"].to_list() == [
                "Key accounts: quarterly review"
            ]
            assert "quarterly review" in str(screen.query_one("#segment-notes").render())
            # escape leaves the notes as they were
            await pilot.press("e")
            await settle_app(pilot, app)
            app.screen.query_one(TextArea).insert("scratch ")
            await pilot.press("escape")
            await settle_app(pilot, app)
            stored = app.state.workspace.get_segment_annotations(app.state.active_model.name)
            assert stored["notes"].to_list() == ["Key accounts: quarterly review"]


class TestSnapshot:
    def test_segments_snapshot(self, snap_compare, make_app, monkeypatch):
        # the title shows when the fixture's data was imported: fix it
        monkeypatch.setattr(WorkbenchState, "last_import_time", lambda self: "2025-12-31T08:00")

        async def run_before(pilot):
            await settle_app(pilot, pilot.app)
            await pilot.press("5")
            await settle_app(pilot, pilot.app)

        assert snap_compare(make_app(), terminal_size=(120, 40), run_before=run_before)

    @pytest.mark.parametrize("size", [(80, 24), (200, 50)])
    def test_segments_snapshot_sizes(self, snap_compare, make_app, monkeypatch, size):
        monkeypatch.setattr(WorkbenchState, "last_import_time", lambda self: "2025-12-31T08:00")

        async def run_before(pilot):
            await settle_app(pilot, pilot.app)
            await pilot.press("5")
            await settle_app(pilot, pilot.app)

        assert snap_compare(make_app(), terminal_size=size, run_before=run_before)


class TestCaveats:
    async def test_partial_window_and_tiny_segments_are_marked(self, make_app):
        """The tiny workspace's data start 2024-01-04: the previous year (2023-12-31 ..
        2024-12-30) is not wholly covered, as ``segscope segment`` says; its ABC
        classes have fewer than 10 accounts each except C."""
        app = make_app()
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await open_segments(app, pilot)
            caveat = screen.query_one("#profiles-caveat")
            text = str(caveat.render())
            assert caveat.display
            assert "⚠ growth and NRR: the data starts 2024-01-04" in text
            assert "covered" in text
            counts = abc_counts_by_reference(app.state.frame)
            tiny = sorted(s for s, n in counts.items() if n < 10)
            table = screen.query_one("#profile-table", DataTable)
            marked = sorted(str(table.get_row_at(i)[0]) for i in range(table.row_count)
                            if str(table.get_row_at(i)[3]) == "⚠")
            assert marked == tiny and tiny
            assert f"{len(tiny)} segment" in text
            headers = [str(c.label) for c in table.columns.values()]
            assert "growth ⚠" in headers and "NRR ⚠" in headers


class TestLayoutIssue12:
    @pytest.mark.parametrize("size", [(80, 24), (120, 40), (200, 50)])
    async def test_the_profile_table_gets_the_room(self, make_app, size):
        app = make_app()
        async with app.run_test(size=size) as pilot:
            screen = await open_segments(app, pilot)
            table = screen.query_one("#profile-table").region
            traits = screen.query_one("#traits-pane").region
            assert traits.width <= 56
            assert table.width >= size[0] - 56 - 1 and table.width >= 50
