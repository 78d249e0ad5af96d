"""Small result tables fit long labels to their width and keep the numbers in view."""

from __future__ import annotations

import polars as pl
from textual.app import App, ComposeResult

from tui.widgets.segment_table import MIN_FIT_WIDTH, FittedTable, _fit


def columns(*spec: tuple[str, bool]) -> list:
    return [(name, name, [], numeric) for name, numeric in spec]


def test_fit_narrows_only_the_widest_text_column() -> None:
    cols = columns(("dimension", False), ("level", False), ("accts", True))
    assert _fit(cols, [9, 30, 5], room=50) == (None, [9, 30, 5])  # fits already
    assert _fit(cols, [9, 30, 5], room=30) == (1, [9, 16, 5])  # 14 too many, from "level"
    # it would have to go under MIN_FIT_WIDTH: left alone (the table scrolls sideways)
    assert _fit(cols, [9, 30, 5], room=9 + 5 + MIN_FIT_WIDTH - 1) == (None, [9, 30, 5])
    assert _fit(columns(("n", True)), [40], room=10) == (None, [40])  # nothing to wrap


class TableApp(App):
    def compose(self) -> ComposeResult:
        yield FittedTable(id="t")


FRAME = pl.DataFrame(
    {
        "segment": ["delivery · collaboration: medium", "price"],
        "accounts": [386, 240],
        "share": [0.192, 0.12],
    }
)


async def test_long_labels_wrap_and_the_numbers_stay_in_view() -> None:
    app = TableApp()
    async with app.run_test(size=(40, 12)) as pilot:
        table = app.query_one(FittedTable)
        table.show(FRAME, labels={"accounts": "accts", "share": "% accts"})
        await pilot.pause()
        widths = [c.width for c in table.ordered_columns]
        room = table.scrollable_content_region.width - table.styles.scrollbar_size_vertical
        assert sum(widths) + 2 * table.cell_padding * len(widths) <= room
        assert widths[1:] == [5, 7]  # the numbers keep their width
        assert table.rows[table.ordered_rows[0].key].height > 1  # the long label wraps
        assert table.rows[table.ordered_rows[1].key].height == 1

        await pilot.resize_terminal(100, 12)  # room for everything: one line per row
        await pilot.pause()
        assert table.ordered_columns[0].width == len(FRAME["segment"][0])
        assert table.rows[table.ordered_rows[0].key].height == 1


def test_fit_never_cuts_a_word() -> None:
    """Issue 12 item 8: "Manufacturin g" (a 13-letter word wrapped at 12)."""
    cols = [("segment", "segment", ["Manufacturing · 250–999", "IT services · 1–9"], False),
            ("accts", "accts", [], True)]
    assert _fit(cols, [23, 5], room=5 + 13) == (0, [13, 5])  # "Manufacturing" whole
    assert _fit(cols, [23, 5], room=5 + 12) == (None, [23, 5])  # would cut it: scroll
