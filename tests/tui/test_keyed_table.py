"""The shared table key map (tui/widgets/keyed_table.py), through a tiny app, and
on the Segments screen (issue 12, item 7)."""

from __future__ import annotations

import pytest
from rich.text import Text
from test_model_editor import settle_app
from textual.app import App, ComposeResult

from tui.widgets.keyed_table import KeyedTable, TablePosition, row_tsv, sort_key

ROWS = [
    ("Acme", "1,200", "12.5%"),
    ("Beta", "90", "–"),
    ("Corvid", "15,000", "3.0%"),
    ("Delta", "700", "40.0%"),
]


class TableApp(App):
    def compose(self) -> ComposeResult:
        table = KeyedTable(id="t", cursor_type="cell")
        table.add_column("name", key="name")
        for i in range(12):  # wide enough to scroll sideways in 40 columns
            table.add_column(f"value {i}", key=f"v{i}")
        for name, a, b in ROWS:
            table.add_row(Text(name), *[Text(a if i % 2 else b) for i in range(12)])
        table.fixed_columns = 1
        yield table
        yield TablePosition("t", id="pos")

    def on_mount(self) -> None:
        self.copied: list[str] = []
        self.copy_to_clipboard = self.copied.append  # type: ignore[method-assign]


def test_sort_key_reads_numbers_and_puts_blanks_last() -> None:
    cells = ["1,200", "90", "–", "15,000", "abc", "12.5%"]
    assert sorted(cells, key=sort_key) == ["12.5%", "90", "1,200", "15,000", "abc", "–"]


def test_row_tsv() -> None:
    assert row_tsv(["a", "b"], [Text("x\ty"), "2"]) == "a\tb\nx y\t2\n"


async def test_vim_keys_move_and_report_the_position() -> None:
    app = TableApp()
    async with app.run_test(size=(40, 12)) as pilot:
        table = app.query_one(KeyedTable)
        table.focus()
        await pilot.pause()
        pos = app.query_one("#pos", TablePosition)
        assert str(pos.render()) == "row 1 of 4"
        await pilot.press("j", "j")
        assert table.cursor_row == 2
        await pilot.pause()
        assert str(pos.render()) == "row 3 of 4"
        await pilot.press("k")
        assert table.cursor_row == 1
        await pilot.press("G")
        assert table.cursor_row == 3
        await pilot.press("g", "j", "g")  # not a g g: no jump
        assert table.cursor_row == 3
        await pilot.press("g", "g")
        assert table.cursor_row == 0
        # l moves right and scrolls sideways by whole columns; the name stays pinned
        for _ in range(10):
            await pilot.press("l")
        await pilot.pause()
        assert table.cursor_column == 10
        assert table.scroll_x > 0 and table.scroll_x in table.column_starts()
        await pilot.press("h")
        assert table.cursor_column == 9


async def test_search_sort_and_copy() -> None:
    app = TableApp()
    async with app.run_test(size=(40, 12)) as pilot:
        table = app.query_one(KeyedTable)
        table.focus()
        assert table.search("del")
        assert table.cursor_row == 3
        assert table.search("A")  # wraps around: Acme... then Beta (has "a")
        assert table.cursor_row == 0
        await pilot.press("n")
        assert table.cursor_row == 1
        await pilot.press("N")
        assert table.cursor_row == 0
        # / opens the prompt and Enter searches
        await pilot.press("slash")
        await pilot.pause()
        await pilot.press(*"corvid", "enter")
        await pilot.pause()
        assert table.cursor_row == 2
        # ] sorts the cursor column descending, numbers as numbers
        table.move_cursor(row=0, column=2)
        await pilot.press("right_square_bracket")
        names = [table.get_row_at(i)[0].plain for i in range(4)]
        assert names == ["Corvid", "Acme", "Delta", "Beta"]
        await pilot.press("left_square_bracket")
        names = [table.get_row_at(i)[0].plain for i in range(4)]
        assert names == ["Beta", "Delta", "Acme", "Corvid"]
        await pilot.press("Y")
        assert app.copied and app.copied[-1].startswith("name\tvalue 0\t")
        assert app.copied[-1].splitlines()[1].startswith("Beta\t")


class TestSegmentsKeys:
    async def test_j_k_move_and_each_flag_lands_on_its_own_segment(self, make_app) -> None:
        """Issue 12: `t j m j l` flagged one segment three times (j did not move, l flagged)."""
        from test_segments import open_segments

        app = make_app()
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await open_segments(app, pilot)
            table = screen.query_one("#profile-table", KeyedTable)
            table.focus()
            await pilot.press("t", "j", "m", "j", "L")
            await settle_app(pilot, app)
            stored = app.state.workspace.get_segment_annotations(app.state.active_model.name)
            assert dict(stored.select("segment", "status").rows()) == {
                "A": "target", "B": "maintain", "C": "lean"}
            await pilot.press("k")
            assert screen.current_segment == "B"
            assert "row 2 of 3" in str(screen.query_one("#profiles-position").render())

    @pytest.mark.parametrize("size", [(80, 24), (120, 40)])
    async def test_l_reaches_growth_and_nrr(self, make_app, size) -> None:
        from test_segments import open_segments

        app = make_app()
        async with app.run_test(size=size) as pilot:
            screen = await open_segments(app, pilot)
            table = screen.query_one("#profile-table", KeyedTable)
            table.focus()
            keys = [str(k.value) for k in table.columns]
            for _ in range(keys.index("nrr")):
                await pilot.press("l")
            await pilot.pause()
            assert keys[table.cursor_column] == "nrr"
            # the NRR cell is whole in view beside the pinned segment column
            starts = table.column_starts()
            fixed = list(table.columns.values())[0].get_render_width(table)
            room = table.scrollable_content_region.width - fixed
            start, end = starts[table.cursor_column - 1], starts[table.cursor_column]
            assert table.scroll_x <= start and end - table.scroll_x <= room
            assert table.fixed_columns == 1
