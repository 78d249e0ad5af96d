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
from textual.widgets import DataTable

Formatter = Callable[[object], str]

NULL_REP = "–"


def format_count(value: object) -> str:
    return NULL_REP if value is None else f"{int(value):,}"


def format_money(value: object) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return NULL_REP
    return f"{float(value):,.0f}"


def format_share(value: object) -> str:
    """A fraction 0..1 shown as a percentage with one decimal."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return NULL_REP
    return f"{100 * float(value):.1f}%"


def format_number(value: object) -> str:
    if value is None:
        return NULL_REP
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if math.isnan(value):
            return NULL_REP
        return f"{value:,.2f}" if abs(value) < 1000 else f"{value:,.0f}"
    return str(value)


def guess_formatter(name: str, dtype: pl.DataType) -> Formatter:
    """Pick a display format from a column's name and dtype."""
    lowered = name.lower()
    if dtype.is_numeric():
        if lowered.endswith(("pct", "share", "_rate")) or lowered in {"nrr", "grr", "growth"}:
            return format_share
        if dtype.is_integer():
            return format_count
        if any(word in lowered for word in ("revenue", "margin", "value", "headroom", "tam")):
            return format_money
        return format_number
    return lambda value: NULL_REP if value is None else str(value)


def fill_table(
    table: DataTable,
    frame: pl.DataFrame,
    *,
    labels: Mapping[str, str] | None = None,
    formatters: Mapping[str, Formatter] | None = None,
    keep_cursor: bool = True,
) -> None:
    """Replace the table's columns and rows with ``frame``, formatted for reading.

    Numbers are right-aligned; ``labels`` renames column headers and
    ``formatters`` overrides the guessed format per column. The cursor row is
    kept (clamped), so a live update does not throw the reader back to the top.
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
    for name, label, cells, numeric in columns:
        # explicit widths: auto widths are settled on idle, and a refill before
        # then (two live updates in one frame) would size columns by their labels
        width = max([len(label), *(len(c) for c in cells)])
        table.add_column(Text(label, justify="right" if numeric else "left"), width=width, key=name)
    for index in range(frame.height):
        table.add_row(
            *(
                Text(cells[index], justify="right" if numeric else "left", no_wrap=True)
                for _, _, cells, numeric in columns
            ),
            key=str(index),
        )
    if keep_cursor and frame.height:
        table.move_cursor(
            row=min(max(row, 0), frame.height - 1),
            column=min(max(column, 0), max(frame.width - 1, 0)),
            animate=False,
        )
