"""The one key map of segscope's small tables (STYLE.md 7: VisiData and vim keys).

``KeyedTable`` is a ``DataTable`` with, once for every screen that shows one:

- arrows and ``h j k l`` move the cursor (the table scrolls to keep it in view);
- ``g g`` / ``G`` go to the first / last row;
- ``/`` searches the cells (case-insensitive, from the row below the cursor,
  wrapping), ``n`` / ``N`` go to the next / previous match;
- ``[`` / ``]`` sort by the cursor column, ascending / descending (a screen
  that owns its order passes ``sort_handler``; otherwise the rows are sorted
  in place, numbers as numbers);
- ``Y`` copies the cursor row, with the headers, as TSV;
- Enter selects (the DataTable's own ``CellSelected`` / ``RowSelected``: the
  screen drills).

``fixed_columns`` pins the key columns (segment, account id and name) while the
rest scroll sideways, and ``position`` is the "row x of y" text a screen shows
(``TablePosition`` shows it under the table).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, ClassVar

from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import DataTable, Static

# In the footer the two sort keys show together as "[] Sort".
SORT_KEYS = Binding.Group("Sort", compact=True)

# One binding set: the footer, the help screen and user keymaps read these ids.
TABLE_BINDINGS: list[BindingType] = [
    Binding("j", "cursor_down", "Down", id="table.down", show=False, tooltip="Next row"),
    Binding("k", "cursor_up", "Up", id="table.up", show=False, tooltip="Previous row"),
    Binding("h", "cursor_left", "Left", id="table.left", show=False,
            tooltip="Previous column (scrolls left)"),
    Binding("l", "cursor_right", "Right", id="table.right", show=False,
            tooltip="Next column (scrolls right)"),
    Binding("g", "top_prefix", "Top (g g)", id="table.top", show=False,
            tooltip="g g: first row"),
    Binding("G", "bottom", "Bottom", id="table.bottom", show=False, tooltip="Last row"),
    Binding("slash", "search", "Search", id="table.search", tooltip="Search the table"),
    Binding("n", "search_next", "Next match", id="table.search_next", show=False,
            tooltip="Next search match"),
    Binding("N", "search_prev", "Previous match", id="table.search_prev", show=False,
            tooltip="Previous search match"),
    Binding("left_square_bracket", "sort(False)", "Sort ↑", id="table.sort_asc",
            tooltip="Sort by the cursor column, ascending", group=SORT_KEYS),
    Binding("right_square_bracket", "sort(True)", "Sort ↓", id="table.sort_desc",
            tooltip="Sort by the cursor column, descending", group=SORT_KEYS),
    Binding("Y", "copy_row", "Copy", id="table.copy", show=False,
            tooltip="Copy the cursor row as TSV (paste into a spreadsheet)"),
]

_NUMBER = re.compile(r"^[-+]?[\d,]*\.?\d+")


def cell_text(value: Any) -> str:
    return value.plain if isinstance(value, Text) else "" if value is None else str(value)


def sort_key(value: Any) -> tuple[int, float, str]:
    """Numbers (with thousands separators, %, k/M suffixes ignored) before text;
    the null marker and empty cells last."""
    text = cell_text(value).strip()
    if text in ("", "–", "·"):
        return (2, 0.0, "")
    match = _NUMBER.match(text)
    if match:
        try:
            return (0, float(match.group(0).replace(",", "")), text)
        except ValueError:
            pass
    return (1, 0.0, text.casefold())


def snap_to_column(starts: list[int], scroll_x: float, max_scroll_x: float) -> int | None:
    """Where to scroll instead of ``scroll_x`` so no column is cut at the left edge
    (",743,023" for 42,743,023), None when it is fine as it is: the next column
    start (the cursor cell, at the right edge, stays in view); at the far right
    the last column is whole anyway."""
    snapped = next((s for s in starts if s >= scroll_x), None)
    if snapped is None or snapped > max_scroll_x or snapped == scroll_x:
        return None
    return snapped


def row_tsv(headers: list[str], row: list[Any]) -> str:
    clean = [cell_text(c).replace("\t", " ").replace("\n", " ") for c in row]
    return "\t".join(headers) + "\n" + "\t".join(clean) + "\n"


class KeyedTable(DataTable):
    """A DataTable with segscope's table key map (see the module docstring)."""

    BINDINGS: ClassVar[list[BindingType]] = TABLE_BINDINGS

    class PositionChanged(Message):
        """The "row x of y" text changed (``TablePosition`` listens)."""

        def __init__(self, table: KeyedTable, text: str) -> None:
            super().__init__()
            self.table = table
            self.text = text

    def __init__(self, *args: Any,
                 sort_handler: Callable[[str, bool], None] | None = None,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sort_handler = sort_handler
        self._g_pending = False
        self._needle = ""
        self._position = ""
        self.position_widgets: list[Static] = []

    # -- position ---------------------------------------------------------------

    @property
    def position(self) -> str:
        """"row x of y" (empty when the table has no rows)."""
        if not self.row_count:
            return "no rows"
        return f"row {self.cursor_row + 1:,} of {self.row_count:,}"

    def _report_position(self) -> None:
        text = self.position
        if text != self._position:
            self._position = text
            for widget in self.position_widgets:
                widget.update(text)
            self.post_message(self.PositionChanged(self, text))

    def watch_cursor_coordinate(self, old: Any, new: Any) -> None:
        super().watch_cursor_coordinate(old, new)
        self._report_position()

    def add_row(self, *args: Any, **kwargs: Any) -> Any:
        key = super().add_row(*args, **kwargs)
        self.call_after_refresh(self._report_position)
        return key

    def clear(self, columns: bool = False) -> KeyedTable:
        super().clear(columns)
        self.call_after_refresh(self._report_position)
        return self

    # -- moving -------------------------------------------------------------------

    def column_starts(self) -> list[int]:
        """Horizontal offsets at which a scrollable column begins (the fixed ones
        never scroll)."""
        starts, x = [0], 0
        for column in list(self.columns.values())[self.fixed_columns:]:
            x += column.get_render_width(self)
            starts.append(x)
        return starts

    def watch_scroll_x(self, old_value: float, new_value: float) -> None:
        snapped = snap_to_column(self.column_starts(), new_value, self.max_scroll_x)
        if snapped is not None:
            self.scroll_x = snapped
            return
        super().watch_scroll_x(old_value, new_value)

    def on_key(self, event: events.Key) -> None:
        if event.key != "g":
            self._g_pending = False

    def action_top_prefix(self) -> None:
        if self._g_pending:
            self._g_pending = False
            self.move_cursor(row=0)
        else:
            self._g_pending = True

    def action_bottom(self) -> None:
        self._g_pending = False
        if self.row_count:
            self.move_cursor(row=self.row_count - 1)

    # -- search -------------------------------------------------------------------

    def action_search(self) -> None:
        from tui.widgets.prompt import PromptScreen

        def chosen(text: str | None) -> None:
            if text:
                self.search(text)

        self.app.push_screen(PromptScreen("Search this table for:", self._needle), chosen)

    def search(self, text: str, direction: int = 1) -> bool:
        """Move to the next row (``direction`` 1) or previous one (-1) with a cell
        containing ``text`` (case-insensitive); False (and a notice) when none has."""
        self._needle = text
        needle = text.casefold()
        n = self.row_count
        for step in range(1, n + 1):
            index = (self.cursor_row + direction * step) % n
            cells = self.get_row_at(index)
            for column, cell in enumerate(cells):
                if needle in cell_text(cell).casefold():
                    self.move_cursor(row=index, column=column)
                    return True
        self.notify(f"No cell contains {text!r}.", severity="warning")
        return False

    def action_search_next(self) -> None:
        if self._needle:
            self.search(self._needle, 1)

    def action_search_prev(self) -> None:
        if self._needle:
            self.search(self._needle, -1)

    # -- sort and copy ----------------------------------------------------------

    def action_sort(self, descending: bool) -> None:
        if not self.columns:
            return
        key = list(self.columns)[self.cursor_column]
        if self.sort_handler is not None:
            self.sort_handler(str(key.value), descending)
            return
        self.sort(key, key=sort_key, reverse=descending)

    def action_copy_row(self) -> None:
        if not self.row_count:
            return
        headers = [cell_text(c.label) for c in self.columns.values()]
        self.app.copy_to_clipboard(row_tsv(headers, self.get_row_at(self.cursor_row)))
        self.notify(f"Copied row {self.cursor_row + 1} ({len(headers)} columns) as TSV.")


class TablePosition(Static):
    """Shows "row x of y" of the ``KeyedTable`` with id ``table_id``."""

    DEFAULT_CSS = """
    TablePosition { height: 1; width: 1fr; color: $text-muted; text-align: right; }
    """

    def __init__(self, table_id: str, **kwargs: Any) -> None:
        super().__init__("", markup=False, **kwargs)
        self.table_id = table_id

    def on_mount(self) -> None:
        table = self.screen.query_one(f"#{self.table_id}", KeyedTable)
        table.position_widgets.append(self)
        self.update(table.position)
