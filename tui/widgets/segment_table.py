"""Show a small polars frame (segments, levels, a migration matrix) in a DataTable.

These tables have one row per segment or level, never per account, so the
built-in ``DataTable`` is the right tool: it can be cleared and refilled in
place while the analyst types, keeping its cursor. Account lists use
textual-fastdatatable instead (see ``segment_accounts``). Cells are passed as
``rich.text.Text`` so that labels containing ``[`` are never read as markup.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

import polars as pl
from rich.text import Text
from textual import events
from textual.widgets import DataTable

from tui.widgets import formatting

Formatter = Callable[[object], str]

NULL_REP = formatting.NULL_REP

# The formats of tui/widgets/formatting.py, as these small tables show them: sums over
# segments in whole currency units (their exact cents are on the Accounts screen).


def format_count(value: object) -> str:
    return formatting.count(value)


def format_money(value: object) -> str:
    return formatting.money(value, cents=False)


def format_share(value: object) -> str:
    """A fraction 0..1 shown as a percentage with one decimal."""
    return formatting.share(value)


def format_number(value: object) -> str:
    if isinstance(value, float) and not math.isnan(value) and abs(value) >= 1000:
        return formatting.money(value, cents=False)
    return formatting.number(value)


def guess_formatter(name: str, dtype: pl.DataType) -> Formatter:
    """Pick a display format from a column's name and dtype (formatting.kind_of)."""
    kind = formatting.kind_of(name, dtype)
    if kind == "text":
        return lambda value: NULL_REP if value is None else str(value)
    if kind == "plain":
        return formatting.plain
    if kind == "share":
        return format_share
    if dtype.is_integer():
        return format_count
    if kind == "money":
        return format_money
    # a mean or median of counts or days (2.35 orders): two decimals
    return format_number


MIN_FIT_WIDTH = 12


def longest_word(cells: list[str]) -> int:
    return max((len(word) for cell in cells for word in cell.split()), default=0)


def _fit(columns: list, widths: list[int], room: int) -> tuple[int | None, list[int]]:
    """Narrow the widest text column so that the columns fit ``room``; its index
    (its cells wrap between words). None when all fit already, or when fitting
    would leave it under ``MIN_FIT_WIDTH`` or under its longest word (a label
    is never cut mid-word: "Manufacturin g"); then the table scrolls sideways."""
    excess = sum(widths) - room
    text = [i for i, (_, _, _, numeric) in enumerate(columns) if not numeric]
    if excess <= 0 or not text:
        return None, widths
    widest = max(text, key=lambda i: widths[i])
    width = widths[widest] - excess
    _, label, cells, _ = columns[widest]
    if width < max(MIN_FIT_WIDTH, len(label), longest_word(cells)):
        return None, widths
    return widest, [*widths[:widest], width, *widths[widest + 1 :]]


def fill_table(
    table: DataTable,
    frame: pl.DataFrame,
    *,
    labels: Mapping[str, str] | None = None,
    formatters: Mapping[str, Formatter] | None = None,
    keep_cursor: bool = True,
    fit_width: int | None = None,
) -> None:
    """Replace the table's columns and rows with ``frame``, formatted for reading.

    Numbers are right-aligned; ``labels`` renames column headers and
    ``formatters`` overrides the guessed format per column. The cursor row is
    kept (clamped), so a live update does not throw the reader back to the top.
    With ``fit_width`` (cells) the widest text column is narrowed and its
    cells wrap, so that the numbers beside long labels stay in view.
    """
    labels = labels or {}
    formatters = formatters or {}
    row, column = table.cursor_row, table.cursor_column
    table.clear(columns=True)
    columns = []
    for name, dtype in frame.schema.items():
        fmt = formatters.get(name) or guess_formatter(name, dtype)
        cells = [fmt(value) for value in frame.get_column(name).to_list()]
        columns.append((name, labels.get(name, name), cells, dtype.is_numeric()))
    # explicit widths: auto widths are settled on idle, and a refill before
    # then (two live updates in one frame) would size columns by their labels
    widths = [max([len(label), *(len(c) for c in cells)]) for _, label, cells, _ in columns]
    wrapped = None
    if fit_width:
        wrapped, widths = _fit(columns, widths, fit_width - 2 * table.cell_padding * len(columns))
    for (name, label, _cells, numeric), width in zip(columns, widths, strict=True):
        table.add_column(Text(label, justify="right" if numeric else "left"), width=width, key=name)
    for index in range(frame.height):
        table.add_row(
            *(
                Text(
                    cells[index],
                    justify="right" if numeric else "left",
                    no_wrap=number != wrapped,
                )
                for number, (_, _, cells, numeric) in enumerate(columns)
            ),
            key=str(index),
            height=1 if wrapped is None else None,
        )
    if keep_cursor and frame.height:
        table.move_cursor(
            row=min(max(row, 0), frame.height - 1),
            column=min(max(column, 0), max(frame.width - 1, 0)),
            animate=False,
        )


class FittedTable(DataTable):
    """A ``DataTable`` whose widest text column is fitted to its width (long
    labels wrap, the numbers beside them stay in view), again on every resize."""

    _shown: tuple[pl.DataFrame, Mapping[str, str], Mapping[str, Formatter]] | None = None

    def show(
        self,
        frame: pl.DataFrame,
        *,
        labels: Mapping[str, str] | None = None,
        formatters: Mapping[str, Formatter] | None = None,
    ) -> None:
        self._shown = (frame, labels or {}, formatters or {})
        self._refill()

    def _refill(self) -> None:
        if self._shown is None:
            return
        frame, labels, formatters = self._shown
        room = self.scrollable_content_region.width
        if not self.show_vertical_scrollbar:  # room for the one the rows may bring
            room -= self.styles.scrollbar_size_vertical
        fill_table(self, frame, labels=labels, formatters=formatters, fit_width=room or None)

    def on_resize(self, event: events.Resize) -> None:
        self._refill()
