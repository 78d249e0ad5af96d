"""Accounts (key 2): every account with its metrics and segment.

A textual-fastdatatable table over the per-account frame (with the active
model's ``segment``), VisiData keys, a filter box taking the safe expression
language of ``core.expr``, and a detail pane for the account under the cursor.
Filtering and sorting happen in polars in a thread worker; the one table
then gets a new Arrow backend over the new rows (``swap_backend``) instead of
being remounted, so 1M rows stay fast.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import polars as pl
import pyarrow as pa
from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Header, Input, Sparkline, Static
from textual_fastdatatable import ArrowBackend, DataTable

from core.errors import SegscopeError
from tui.display_names import label
from tui.screens import PaletteCommand, WorkbenchScreen
from tui.widgets.footer import WorkbenchFooter
from tui.widgets.formatting import (
    cell_text,
    column_widths,
    display_frame,
    format_value,
    to_tsv,
)
from tui.widgets.path_suggester import PathSuggester
from tui.widgets.prompt import PromptScreen

# Columns shown first, in this order, when present; the rest follow as they come.
LEADING_COLUMNS = [
    "account_id", "name", "segment", "revenue", "margin", "margin_pct", "recency_days",
    "frequency", "orders", "avg_order_value", "abc_class", "rfm_segment", "bridge_class",
    "industry", "country", "region", "employees",
]
METRIC_COLUMNS = [
    "revenue", "revenue_prev", "margin", "margin_pct", "recency_days", "frequency", "orders",
    "avg_order_value", "product_breadth", "tenure_days", "growth", "first_purchase",
    "last_purchase", "abc_class", "r_score", "f_score", "m_score", "rfm_segment",
    "bridge_class",
]
MAX_COLUMN_WIDTH = 28
BUSY_AFTER_S = 0.3  # a view slower than this says it is being made
COPY_TABLE_LIMIT = 100_000  # rows; beyond this "copy table" would flood the clipboard
GG_SECONDS = 1.5  # the second g of "g g" must follow within this time
DETAIL_DELAY = 0.15  # the cursor rests this long on a row before the detail pane loads
# (so holding j or page down scrolls the table without redrawing the pane each row)


def ordered_columns(columns: list[str]) -> list[str]:
    lead = [c for c in LEADING_COLUMNS if c in columns]
    return lead + [c for c in columns if c not in lead]


def filter_error_text(text: str, message: str, position: int | None) -> Text:
    """The inline error: the message, then the expression with a caret under the position."""
    out = Text()
    if position is None:
        out.append(message)
        return out
    out.append(f"{message}\n")
    out.append(text.replace("\n", " ") + "\n")
    out.append(" " * max(0, position) + "^")
    return out


def sort_frame(df: pl.DataFrame, column: str, *, descending: bool) -> pl.DataFrame:
    """Sort by one column, nulls last, ties in the current order (stable)."""
    return df.sort(column, descending=descending, nulls_last=True, maintain_order=True)


def view_rows(
    base: pl.DataFrame, expr: pl.Expr | None, sort: tuple[str, bool] | None
) -> pl.Series | None:
    """Positions in ``base`` of the rows shown, in order (None: all rows, as they are).

    Only the sort column is sorted (``arg_sort``), not the whole frame.
    """
    rows: pl.Series | None = None
    if expr is not None:
        rows = base.select(expr.fill_null(False)).to_series().arg_true()
    if sort is not None and sort[0] in base.columns:
        values = base.select(sort[0]) if rows is None else base.select(sort[0])[rows]
        order = values.select(
            pl.arg_sort_by(sort[0], descending=sort[1], nulls_last=True, maintain_order=True)
        ).to_series()
        rows = order if rows is None else rows.gather(order)
    return rows


def search_matches(df: pl.DataFrame, column: str, needle: str) -> list[int]:
    """Row positions whose value in ``column`` contains ``needle`` (case-insensitive, literal)."""
    if not needle or column not in df.columns:
        return []
    hits = (
        df.select(pl.col(column).cast(pl.Utf8).str.to_lowercase().alias("v"))
        .with_row_index("i")
        .filter(pl.col("v").str.contains(needle.lower(), literal=True))
    )
    return hits["i"].to_list()


KEY_COLUMNS = ("account_id", "name")


def key_column_count(columns: Sequence[str]) -> int:
    """How many leading columns are key columns (account id, name), pinned when
    the table scrolls right so a row never loses who it is."""
    count = 0
    for name in columns[: len(KEY_COLUMNS)]:
        if name not in KEY_COLUMNS:
            break
        count += 1
    return count


class AccountsTable(DataTable):
    """The fast table; the VisiData keys are the screen's bindings so they are remappable."""

    def watch_scroll_x(self, old_value: float, new_value: float) -> None:
        # sideways by whole columns, as every table (tui.widgets.keyed_table)
        from tui.widgets.keyed_table import snap_to_column

        starts, x = [0], 0
        for column in self.ordered_columns[self.fixed_columns:]:
            x += column.render_width
            starts.append(x)
        snapped = snap_to_column(starts, new_value, self.max_scroll_x)
        if snapped is not None:
            self.scroll_x = snapped
            return
        super().watch_scroll_x(old_value, new_value)


class MeasuredArrowBackend(ArrowBackend):
    """An ArrowBackend whose column widths were measured beforehand (in a worker, in polars).

    ArrowBackend measures every value of every column on first paint, in the
    UI thread: about a second at 1M rows. A None width is measured as usual.
    """

    def __init__(self, data: pa.Table, widths: list[int | None] | None) -> None:
        super().__init__(data)
        self._preset_widths = widths

    @property
    def column_content_widths(self) -> list[int]:
        measured = super().column_content_widths if self._needs_measuring() else None
        preset = self._preset_widths or []
        return [
            w if w is not None else (measured[i] if measured else 0)
            for i, w in enumerate(preset + [None] * (len(self.columns) - len(preset)))
        ]

    def _needs_measuring(self) -> bool:
        preset = self._preset_widths
        return preset is None or len(preset) != len(self.columns) or None in preset


class IndexedArrowBackend(MeasuredArrowBackend):
    """The rows of one display table in the order of an index: a sorted or filtered
    view is only the positions of its rows, never a reordered copy of the data.

    Reordering the display table for every sort (an Arrow ``take`` of every
    column) cost about 1 s at 1M rows; the table asks the backend for the few
    rows it paints, and this backend reads them through the index.
    """

    def __init__(self, data: pa.Table, widths: list[int | None] | None,
                 rows: np.ndarray | None) -> None:
        super().__init__(data, widths)
        self._rows = rows

    def _position(self, index: int) -> int:
        rows = self._rows
        if rows is None:
            return index
        if index < 0:
            index += len(rows)
        return int(rows[index])

    @property
    def source_row_count(self) -> int:
        return super().source_row_count if self._rows is None else len(self._rows)

    @property
    def row_count(self) -> int:
        return super().row_count if self._rows is None else len(self._rows)

    def get_row_at(self, index: int) -> Sequence[Any]:
        return super().get_row_at(self._position(index))

    def get_cell_at(self, row_index: int, column_index: int) -> Any:
        return super().get_cell_at(self._position(row_index), column_index)

    def get_column_at(self, column_index: int) -> list[Any]:
        if self._rows is None:
            return super().get_column_at(column_index)
        column = self.data[column_index].take(pa.array(self._rows))
        return self._to_pylist(column, self._microsecond_types[column_index])


def swap_backend(table: DataTable, backend: ArrowBackend) -> None:
    """Show ``backend``'s rows in ``table`` in place of its current ones.

    fastdatatable has no public call for this (``clear`` raises), so this does
    what its own ``sort``/``add_rows`` do after a change: drop the render
    caches, re-derive the columns, and recompute the virtual size now, so the
    cursor can be moved and scrolled straight after.
    """
    backend.render_markup = table.render_markup
    table.backend = backend
    table._ordered_columns = None  # columns and their widths come from the backend
    table._update_count += 1
    table._clear_caches()
    table._update_dimensions([])
    table._require_update_dimensions = False
    table.refresh(layout=True)


@dataclass(frozen=True)
class DetailData:
    account: dict
    monthly: list[float]
    transactions: pl.DataFrame
    contacts: pl.DataFrame


class AccountsScreen(WorkbenchScreen):
    """All accounts: filter, sort, search, copy, and the detail of the selected one."""

    CSS_PATH = "accounts.tcss"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f", "focus_filter", "Filter", id="accounts.filter",
                tooltip="Type a filter expression, e.g. revenue > 10000"),
        Binding("slash", "search", "Search", id="accounts.search",
                tooltip="Search the cursor column; n / N for next / previous"),
        Binding("left_square_bracket", "sort(False)", "Sort ↑", id="accounts.sort_asc",
                tooltip="Sort ascending by the cursor column"),
        Binding("right_square_bracket", "sort(True)", "Sort ↓", id="accounts.sort_desc",
                tooltip="Sort descending by the cursor column"),
        Binding("Y", "copy_row", "Copy", id="accounts.copy_row",
                tooltip="Copy the current row as TSV (with the header)"),
        Binding("d", "toggle_detail", "Detail", id="accounts.detail",
                tooltip="Show or hide the detail pane"),
        Binding("w", "why", "Why?", id="accounts.why", show=False,
                tooltip="Why the current account is in its segment: per dimension the level "
                        "and the value or rule behind it"),
        Binding("n", "search_next", "Next match", id="accounts.search_next", show=False,
                tooltip="Next search match"),
        Binding("N", "search_prev", "Previous match", id="accounts.search_prev", show=False,
                tooltip="Previous search match"),
        Binding("ctrl+y", "copy_table", "Copy table", id="accounts.copy_table", show=False,
                tooltip="Copy the whole (filtered, sorted) table as TSV"),
        Binding("h", "move('left')", "Left", id="accounts.left", show=False,
                tooltip="Cursor left"),
        Binding("j", "move('down')", "Down", id="accounts.down", show=False,
                tooltip="Cursor down"),
        Binding("k", "move('up')", "Up", id="accounts.up", show=False, tooltip="Cursor up"),
        Binding("l", "move('right')", "Right", id="accounts.right", show=False,
                tooltip="Cursor right"),
        Binding("g", "top_prefix", "Top (g g)", id="accounts.top", show=False,
                tooltip="Press g twice: first row"),
        Binding("G", "bottom", "Bottom", id="accounts.bottom", show=False,
                tooltip="Last row"),
        Binding("escape", "leave_input", "Back to table", id="accounts.leave_input",
                show=False, tooltip="Leave the filter or search box"),
    ]

    AUTO_FOCUS = None  # the table takes focus once it exists, not the filter box

    def __init__(self) -> None:
        super().__init__()
        self._focus_table = True
        self._base: pl.DataFrame | None = None
        self._shown_base: pa.Table | None = None
        self._view_lock = asyncio.Lock()
        self._busy_timer: Any = None  # shows "Updating…" when a view takes > BUSY_AFTER_S
        self._widths: list[int | None] | None = None
        self._rows: np.ndarray | None = None  # positions in _base of the rows shown
        self._view_height = 0
        self._view_frame: pl.DataFrame | None = None  # _base[_rows], made when first asked
        self._shown_rows_base: pl.DataFrame | None = None  # the base of the rows in the table
        self._filter_text = ""
        self._filter_expr: pl.Expr | None = None
        self._sort: tuple[str, bool] | None = None
        self._matches: list[int] = []
        self._search_text = ""
        self._last_g = 0.0
        self._detail_forced: bool | None = None
        self._pending_account: str | None = None
        self._cursor_column = 0
        self._detail_timer = None
        self._shown_account: str | None = None
        self.views_shown = 0  # views put in the table so far (tests and bench wait on it)

    # -- layout --------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="accounts-body"):
            with Vertical(id="accounts-main"):
                with Horizontal(id="accounts-filter-row"):
                    yield Static("Filter ", id="accounts-filter-label", markup=False)
                    yield Input(
                        placeholder='e.g. revenue > 10000 and industry == "Retail"   (key f)',
                        id="accounts-filter",
                        compact=True,
                    )
                yield Static("", id="accounts-filter-error", markup=False)
                yield Static("Loading…", id="accounts-count", markup=False)
                yield Vertical(id="accounts-table-holder")
                yield Input(placeholder="search the cursor column", id="accounts-search",
                            compact=True)
            with VerticalScroll(id="accounts-detail"):
                yield Static("", id="detail-head")
                yield Static("Monthly revenue, last 24 months", classes="detail-caption",
                             markup=False)
                yield Sparkline([], id="detail-sparkline")
                yield Static("", id="detail-body")
        yield WorkbenchFooter()

    def on_mount(self) -> None:
        self.query_one("#accounts-search", Input).display = False
        self.query_one("#accounts-filter-error", Static).display = False
        self._update_detail_visibility()
        super().on_mount()

    def on_resize(self) -> None:
        self._update_detail_visibility()

    def _update_detail_visibility(self) -> None:
        wide = self.app.size.width >= 110
        show = self._detail_forced if self._detail_forced is not None else wide
        self.set_class(not show, "-hide-detail")
        # beside a 46-column pane an 80-column table showed two columns: below it instead
        self.set_class(show and not wide, "-detail-below")

    # -- data ----------------------------------------------------------------

    def refresh_from_state(self) -> None:
        if not self.state.loaded:
            return
        self.rebuild_view(reload_base=True)

    @work(thread=True, exclusive=True, exit_on_error=False, group="accounts-view")
    def rebuild_view(self, reload_base: bool = False) -> None:
        """Base frame -> filter -> sort, in a thread; then the table is replaced."""
        if reload_base or self._base is None or self._shown_base is None:
            frame = self.state.frame_with_segments()
            base = frame.select(ordered_columns(frame.columns))
            # converted for display and measured once per data change; a view
            # then only picks rows of it (Arrow take) by position
            shown_frame = display_frame(base)
            self._widths = column_widths(shown_frame, max_width=MAX_COLUMN_WIDTH)
            self._base, self._shown_base = base, shown_frame.to_arrow().combine_chunks()
        base, shown_base = self._base, self._shown_base
        rows = view_rows(base, self._filter_expr, self._sort)
        positions = None if rows is None else rows.to_numpy()
        self.app.call_from_thread(self._show_view, base, shown_base, positions)

    async def _show_view(self, base: pl.DataFrame, shown: pa.Table,
                         rows: np.ndarray | None) -> None:
        # two views arriving back to back must not interleave their remove/mount awaits
        async with self._view_lock:
            await self._replace_table(base, shown, rows)

    @property
    def _view(self) -> pl.DataFrame | None:
        """The rows shown, in order, as a frame (made on first use: at 1M rows that
        costs a fraction of a second, which sorting and scrolling never pay)."""
        base = self._shown_base_frame()
        if base is None:
            return None
        if self._view_frame is None:
            rows = self._rows
            self._view_frame = base if rows is None else base[pl.Series(rows)]
        return self._view_frame

    def _position(self, row: int) -> int:
        """The position in the base frame of the row shown at ``row``."""
        rows = self._rows
        return row if rows is None else int(rows[row])

    async def _replace_table(self, base: pl.DataFrame, shown: pa.Table,
                             rows: np.ndarray | None) -> None:
        old_table = self._table()
        keep_account = self._pending_account or self._current_account_id()
        if old_table is not None:
            self._cursor_column = old_table.cursor_column
        total = base.height
        self._shown_rows_base = base
        self._rows, self._view_frame = rows, None
        self._view_height = base.height if rows is None else len(rows)
        backend = IndexedArrowBackend(shown, self._widths, rows)
        pinned = key_column_count(shown.column_names)
        if old_table is not None:
            # one table for the screen's life: its data is swapped, not remounted
            # (a remount costs ~0.7 s; focus and scroll position stay as they are)
            table = old_table
            swap_backend(table, backend)
            table.fixed_columns = pinned
        else:
            table = AccountsTable(
                backend=backend,
                id="accounts-table",
                max_column_content_width=MAX_COLUMN_WIDTH,
                null_rep="·",
                render_markup=False,
                zebra_stripes=True,
                fixed_columns=pinned,
            )
            await self.query_one("#accounts-table-holder").mount(table)
        self._end_busy()
        self._update_count(total)
        self._matches = []
        row = 0
        if keep_account is not None:
            found = self._row_of(keep_account)
            row = found if found is not None else 0
        column = min(self._cursor_column, max(0, len(base.columns) - 1))
        table.move_cursor(row=row, column=column)
        if old_table is None:
            # a table that has just been mounted has no size yet: scroll once it is laid out
            table.call_after_refresh(table.move_cursor, row=row, column=column)
        if self._pending_account is not None:
            self._pending_account = None
        if (self._focus_table or not isinstance(self.focused, Input)) \
                and self.focused is not table:
            # only when focus moves: refreshing the bindings rebuilds the footer (~0.1 s)
            table.focus()
            self.refresh_bindings()
        self._focus_table = False
        self.views_shown += 1
        self._schedule_detail()

    def _update_count(self, total: int) -> None:
        shown = self._view_height
        parts = [f"{shown:,} of {total:,} accounts"]
        if self._sort is not None:
            parts.append(f"sorted by {self._sort[0]} {'↓' if self._sort[1] else '↑'}")
        if self._filter_text:
            parts.append(f"filter: {self._filter_text}")
        if shown == 0 and self._filter_text and self._base is not None:
            hint = case_hint(self._filter_text, self._base)
            if hint:
                parts.append(hint)
        self.query_one("#accounts-count", Static).update(" · ".join(parts))

    def _table(self) -> AccountsTable | None:
        tables = self.query(AccountsTable)
        return tables.first() if tables else None

    def _shown_base_frame(self) -> pl.DataFrame | None:
        """The base frame of the rows in the table (None before the first view)."""
        return self._shown_rows_base

    def _current_account_id(self) -> str | None:
        table, base = self._table(), self._shown_base_frame()
        if table is None or base is None or self._view_height == 0:
            return None
        row = table.cursor_row
        if 0 <= row < self._view_height:
            return base["account_id"][self._position(row)]
        return None

    def _row_of(self, account_id: str) -> int | None:
        base = self._shown_base_frame()
        if base is None:
            return None
        hits = base.select(pl.col("account_id") == account_id).to_series().arg_true()
        if not len(hits):
            return None
        position = int(hits[0])
        if self._rows is None:
            return position
        found = np.flatnonzero(self._rows == position)
        return int(found[0]) if len(found) else None

    def _cursor_column_name(self) -> str | None:
        table, base = self._table(), self._shown_base_frame()
        if table is None or base is None or not base.columns:
            return None
        return base.columns[min(table.cursor_column, len(base.columns) - 1)]

    # -- filter --------------------------------------------------------------

    @on(Input.Submitted, "#accounts-filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        if self._set_filter(event.value):
            # focus leaves the box at once, not when the view is rebuilt: keys typed
            # meanwhile must not land in the box and then, half-way, run as commands
            table = self._table()
            if table is not None:
                table.focus()
                self.refresh_bindings()
            else:
                self._focus_table = True

    @on(Input.Changed, "#accounts-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        # the box may hold more text by now than when the event was sent: read it again
        box = self.query_one("#accounts-filter", Input)
        if not box.value.strip() and self._filter_text:
            self._set_filter("")

    @property
    def filter_text(self) -> str:
        """The filter in force (empty: none)."""
        return self._filter_text

    def apply_filter(self, text: str) -> bool:
        """Filter the table by an expression (empty: no filter); False if it is invalid.

        The expression is put in the filter box. An invalid one is explained
        under the box and the table keeps its last valid filter.
        """
        box = self.query_one("#accounts-filter", Input)
        if box.value != text:
            with box.prevent(Input.Changed):
                box.value = text
        return self._set_filter(text)

    def _set_filter(self, text: str) -> bool:
        from core.expr import ExpressionError, compile_expression

        box = self.query_one("#accounts-filter", Input)
        error = self.query_one("#accounts-filter-error", Static)
        text = text.strip()
        if not text:
            expr = None
        else:
            base = self._base
            if base is None:
                frame = self.state.frame_with_segments()
                base = self._base = frame.select(ordered_columns(frame.columns))
            try:
                expr = compile_expression(text, base.schema)
            except ExpressionError as exc:
                error.update(filter_error_text(text, str(exc), exc.position))
                error.display = True
                box.add_class("-invalid")
                return False
            except SegscopeError as exc:
                error.update(filter_error_text(text, str(exc), None))
                error.display = True
                box.add_class("-invalid")
                return False
        error.display = False
        box.remove_class("-invalid")
        self._filter_text, self._filter_expr = text, expr
        self._start_busy(f"Filtering by {text}…" if text else "Showing all accounts…")
        self.rebuild_view()
        return True

    def _start_busy(self, what: str) -> None:
        """A view is being computed: after BUSY_AFTER_S say so, and dim the old rows."""
        if self._busy_timer is not None:
            self._busy_timer.stop()

        def show() -> None:
            self._busy_timer = None
            self.query_one("#accounts-count", Static).update(
                f"⏳ {what} (the rows below are the previous view)")
            table = self._table()
            if table is not None:
                table.add_class("-stale")

        self._busy_timer = self.set_timer(BUSY_AFTER_S, show)

    def _end_busy(self) -> None:
        if self._busy_timer is not None:
            self._busy_timer.stop()
            self._busy_timer = None
        table = self._table()
        if table is not None:
            table.remove_class("-stale")

    def action_focus_filter(self) -> None:
        self.query_one("#accounts-filter", Input).focus()

    def action_leave_input(self) -> None:
        search = self.query_one("#accounts-search", Input)
        if search.display:
            search.display = False
        table = self._table()
        if table is not None:
            table.focus()

    # -- sort ----------------------------------------------------------------

    def action_sort(self, descending: bool) -> None:
        column = self._cursor_column_name()
        if column is None:
            return
        self._sort = (column, descending)
        self._pending_account = None
        self._start_busy(f"Sorting by {column}…")
        self.rebuild_view()

    # -- search --------------------------------------------------------------

    def action_search(self) -> None:
        search = self.query_one("#accounts-search", Input)
        column = self._cursor_column_name() or "?"
        search.placeholder = f"search in {column} (Enter: find, n/N: next/previous)"
        search.display = True
        search.focus()

    @on(Input.Submitted, "#accounts-search")
    def _search_submitted(self, event: Input.Submitted) -> None:
        self.search(event.value)
        self.action_leave_input()

    def search(self, text: str) -> int:
        """Find ``text`` in the cursor column; moves to the first match from the cursor."""
        column, view, table = self._cursor_column_name(), self._view, self._table()
        self._search_text = text
        if column is None or view is None or table is None:
            return 0
        self._matches = search_matches(view, column, text)
        if not self._matches:
            self.notify(f"no match for {text!r} in {column}", severity="warning")
            return 0
        self._jump_match(forward=True, include_current=True)
        return len(self._matches)

    def _jump_match(self, *, forward: bool, include_current: bool = False) -> None:
        table = self._table()
        if table is None or not self._matches:
            if self._search_text:
                self.notify("no more matches", severity="warning")
            return
        row = table.cursor_row
        if forward:
            later = [m for m in self._matches if m > row or (include_current and m == row)]
            target = later[0] if later else self._matches[0]
        else:
            earlier = [m for m in self._matches if m < row]
            target = earlier[-1] if earlier else self._matches[-1]
        table.move_cursor(row=target)

    def action_search_next(self) -> None:
        self._jump_match(forward=True)

    def action_search_prev(self) -> None:
        self._jump_match(forward=False)

    # -- movement ------------------------------------------------------------

    def action_move(self, direction: str) -> None:
        table = self._table()
        if table is None:
            return
        {
            "left": table.action_cursor_left,
            "right": table.action_cursor_right,
            "up": table.action_cursor_up,
            "down": table.action_cursor_down,
        }[direction]()

    def action_top_prefix(self) -> None:
        now = time.monotonic()
        if now - self._last_g <= GG_SECONDS:
            self._last_g = 0.0
            table = self._table()
            if table is not None:
                table.move_cursor(row=0)
        else:
            self._last_g = now

    def action_bottom(self) -> None:
        table = self._table()
        if table is not None and self._view_height:
            table.move_cursor(row=self._view_height - 1)

    # -- copy and export -----------------------------------------------------

    def action_copy_row(self) -> None:
        table, base = self._table(), self._shown_base_frame()
        if table is None or base is None or self._view_height == 0:
            return
        row = base.slice(self._position(table.cursor_row), 1)
        self.app.copy_to_clipboard(to_tsv(row))
        self.notify(f"copied account {cell_text(row['account_id'][0])} as TSV")

    def action_copy_table(self) -> None:
        view = self._view
        if view is None:
            return
        rows = view.head(COPY_TABLE_LIMIT)
        self.app.copy_to_clipboard(to_tsv(rows))
        capped = ""
        if view.height > rows.height:
            capped = f" (first {COPY_TABLE_LIMIT:,} of {view.height:,})"
        self.notify(f"copied {rows.height:,} rows as TSV{capped}")

    def action_export_table(self) -> None:
        def chosen(path: str | None) -> None:
            if path:
                self.export_table(path)

        default = str(Path.cwd() / "accounts.csv")
        self.app.push_screen(
            PromptScreen("Export this table to (.csv, .xlsx or .parquet):", default,
                         suggester=PathSuggester()),
            chosen,
        )

    @work(thread=True, exclusive=True, exit_on_error=False, group="accounts-export")
    def export_table(self, path: str) -> None:
        from storage.export import write_frame

        view = self._view
        if view is None:
            return
        target = Path(path).expanduser()
        write_frame(view, target)
        self.app.call_from_thread(self.notify, f"exported {view.height:,} rows to {target}")

    def action_why(self) -> None:
        """Open the "Why?" dialog on the current account (tui.widgets.why_dialog)."""
        from tui.widgets.why_dialog import WhyDialog

        account_id, model = self._current_account_id(), self.state.active_model
        if account_id is None or model is None:
            self.notify("Select an account (and a model) first.", severity="warning")
            return
        frame = self.state.frame
        hit = frame.filter(pl.col("account_id") == account_id)
        name = hit["name"][0] if "name" in frame.columns and hit.height else None
        title = f"{name} ({account_id})" if name else account_id
        self.app.push_screen(WhyDialog(frame, model, self.state.assignments, account_id, title))

    # -- detail pane ---------------------------------------------------------

    def action_toggle_detail(self) -> None:
        self._detail_forced = self.has_class("-hide-detail")
        self._update_detail_visibility()
        self._schedule_detail()

    @on(DataTable.CellHighlighted)
    def _cell_highlighted(self, event: DataTable.CellHighlighted) -> None:
        self._schedule_detail()

    def _schedule_detail(self) -> None:
        if self._detail_timer is not None:
            self._detail_timer.stop()
        self._detail_timer = self.set_timer(DETAIL_DELAY, self._load_detail)

    def _load_detail(self) -> None:
        if self.has_class("-hide-detail"):
            return
        account_id = self._current_account_id()
        if account_id is None:
            self.query_one("#detail-head", Static).update(Text("No account selected."))
            self.query_one("#detail-body", Static).update("")
            self.query_one("#detail-sparkline", Sparkline).data = []
            self._shown_account = None
            return
        if account_id == self._shown_account:
            return
        self.compute_detail(account_id)

    @work(thread=True, exclusive=True, exit_on_error=False, group="accounts-detail")
    def compute_detail(self, account_id: str) -> None:
        base = self._shown_base_frame()
        if base is None:
            return
        row = base.filter(pl.col("account_id") == account_id)
        if row.is_empty():
            return
        state = self.state
        data = DetailData(
            account=row.row(0, named=True),
            monthly=state.monthly_revenue(account_id),
            transactions=state.account_transactions(account_id).head(8),
            contacts=state.account_contacts(account_id).head(8),
        )
        self.app.call_from_thread(self._show_detail, account_id, data)

    def _show_detail(self, account_id: str, data: DetailData) -> None:
        self._shown_account = account_id
        account = data.account
        head = Text()
        head.append(str(account.get("name") or account_id), style="bold")
        head.append(f"\n{account_id}")
        segment = account.get("segment")
        head.append(f" · segment {segment}" if segment is not None else " · no segment")
        self.query_one("#detail-head", Static).update(head)
        self.query_one("#detail-sparkline", Sparkline).data = data.monthly
        # attributes are the imported account columns; everything else was computed
        accounts = self.state.accounts
        imported = set(accounts.columns) if accounts is not None else set()
        shown = {"account_id", "name", "segment"}
        attributes = [c for c in account if c in imported and c not in shown]
        computed = [c for c in account if c not in imported and c not in shown]
        metrics = [c for c in METRIC_COLUMNS if c in computed]
        metrics += [c for c in computed if c not in metrics]
        self.query_one("#detail-body", Static).update(
            Group(
                _pairs_table("Metrics", account, metrics),
                _pairs_table("Attributes", account, attributes, skip_null=True),
                _frame_table("Last transactions", data.transactions,
                             ["date", "amount", "product"]),
                _contacts_text(data.contacts),
            )
        )

    # -- drill-down API ------------------------------------------------------

    def select_account(self, account_id: str) -> None:
        """Put the cursor on ``account_id``; clears the filter if it hides the account."""
        row = self._row_of(account_id)
        table = self._table()
        if row is not None and table is not None:
            table.move_cursor(row=row)
            table.focus()
            return
        self._pending_account = account_id
        if self._filter_text:
            self.apply_filter("")
        else:
            self.rebuild_view()

    def palette_commands(self) -> list[PaletteCommand]:
        return [
            PaletteCommand("Export this table…", self.action_export_table,
                           "Write the filtered, sorted table to CSV, XLSX or Parquet"),
            PaletteCommand("Copy this table as TSV", self.action_copy_table,
                           "Copy the filtered, sorted table to the clipboard"),
            PaletteCommand("Clear the filter", lambda: self.apply_filter(""),
                           "Show all accounts"),
        ]


_TEXT_COMPARISON = re.compile(r"\b(\w+)\s*==?\s*(['\"])(.*?)\2")


def case_hint(expression: str, base: pl.DataFrame) -> str | None:
    """For a filter that found nothing: the text comparisons that differ only in case.

    ``industry == "energy"`` where the data say "Energy" -> 'no row has industry
    "energy"; 12 have "Energy" (the comparison is case-sensitive)'.
    """
    for column, _quote, literal in _TEXT_COMPARISON.findall(expression):
        if column not in base.columns or base.schema[column] != pl.Utf8:
            continue
        values = base.get_column(column)
        matches = values.filter(values.str.to_lowercase() == literal.lower())
        if matches.is_empty() or (matches == literal).any():
            continue
        spelling = matches.value_counts(sort=True).row(0)[0]
        return (f'no account has {column} "{literal}"; {matches.len():,} have "{spelling}" '
                "(text comparisons are case-sensitive)")
    return None


def _value_text(value: object, column: str = "") -> str:
    """A value of the detail pane, formatted as on every screen (tui/widgets/formatting.py)."""
    if value is None:
        return "·"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float) and column:
        return format_value(column, value)
    if isinstance(value, float):
        return format_value("", value)
    return str(value)


def _pairs_table(title: str, row: dict, columns: list[str], *, skip_null: bool = False
                 ) -> Table:
    table = Table(title=title, title_justify="left", show_header=False, box=None,
                  padding=(0, 1), expand=True)
    table.add_column(style="dim", no_wrap=True)
    table.add_column(overflow="fold")
    for column in columns:
        value = row.get(column)
        if value is None and skip_null:
            continue
        table.add_row(Text(label(column)), Text(_value_text(value, column)))
    return table


def _contacts_text(contacts: pl.DataFrame) -> Text:
    """One line per contact: name · title · decision role, then the e-mail."""
    out = Text("Contacts\n", style="italic")
    if contacts.is_empty():
        out.append(" none\n")
    for row in contacts.iter_rows(named=True):
        parts = [str(row[c]) for c in ("name", "title", "decision_role")
                 if row.get(c) is not None]
        out.append(" " + " · ".join(parts) + "\n")
        if row.get("email"):
            out.append(f"   {row['email']}\n", style="dim")
    return out


def _frame_table(title: str, df: pl.DataFrame, columns: list[str]) -> Table:
    present = [c for c in columns if c in df.columns]
    if not present:
        return Table(title=f"{title}: none", title_justify="left", box=None)
    table = Table(title=title, title_justify="left", box=None, padding=(0, 1), expand=True,
                  header_style="dim")
    for column in present:
        table.add_column(label(column), overflow="ellipsis", no_wrap=True)
    if df.is_empty():
        table.add_row(*([Text("none")] + [Text("")] * (len(present) - 1)))
    for row in df.select(present).iter_rows():
        table.add_row(*(Text(_value_text(v, c)) for v, c in zip(row, present, strict=True)))
    return table
