"""Runs (key 6): freeze the active model's segments as a run, list runs, and
compare two runs in a migration matrix (accounts or revenue), with drill-down
into the accounts behind a cell. Until two runs are marked, the right pane
shows the segments over the frozen runs (``core.trends.segment_trend``) of the
active model (else of the newest run's model), in accounts or revenue (v).

Freezing, loading runs and the matrix itself (``core.runs.migration_matrix``)
all run in thread workers; this screen only lays out their results.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import DataTable, Footer, Header, Label
from textual.worker import get_current_worker

from tui.screens import PaletteCommand, WorkbenchScreen
from tui.widgets import formatting
from tui.widgets.model_dialogs import ConfirmDialog, PromptDialog
from tui.widgets.run_compare import (
    MigrationResult,
    compare_runs,
    matrix_display,
    moved_accounts,
    run_rows,
)
from tui.widgets.segment_accounts import AccountsDialog
from tui.widgets.segment_table import Formatter, fill_table
from tui.widgets.trend_chart import TrendChart, long_to_series


def matrix_formatters(frame: pl.DataFrame, measure: str, room: int) -> dict[str, Formatter]:
    """One format for every cell of the matrix: counts, or revenue in whole units
    (``2,669,260``), or, when those do not fit ``room`` columns, short (``2.7M``) so that
    no figure is cut at the pane's edge."""
    values = frame.columns[1:]
    full: Formatter = formatting.count if measure == "accounts" else (
        lambda v: formatting.money(v, cents=False))
    def width(fmt: Formatter) -> int:
        first = frame.get_column(frame.columns[0])
        total = max([len(frame.columns[0]), *(len(str(v)) for v in first.to_list())]) + 2
        for name in values:
            total += max([len(name), *(len(fmt(v)) for v in frame.get_column(name).to_list())])
            total += 2
        return total

    chosen = full
    if room and width(full) > room:
        def chosen(v: object) -> str:
            if isinstance(v, int | float) and abs(v) < 1000:
                return full(v)
            return formatting.short_number(v)  # type: ignore[arg-type]
    return dict.fromkeys(values, chosen)


@dataclass(frozen=True)
class RunInfo:
    run_id: int
    label: str
    model_name: str
    as_of: str
    created_at: str
    accounts: int


class RunsScreen(WorkbenchScreen):
    """The saved runs and the migration matrix of the two marked runs."""

    CSS_PATH = "runs.tcss"
    NARROW_BELOW = 110
    BINDINGS = [
        Binding("f", "freeze", "Freeze run", id="runs.freeze",
                tooltip="Save the active model's current segments as a run"),
        Binding("space", "mark", "Mark", id="runs.mark",
                tooltip="Mark or unmark the highlighted run for comparison (two at a time)"),
        Binding("v", "toggle_measure", "Accounts/revenue", id="runs.measure",
                tooltip="Show the migration matrix and the trend chart in accounts or in revenue"),
        Binding("enter", "drill", "Moved accounts", id="runs.drill",
                tooltip="Show the accounts behind the highlighted matrix cell"),
        Binding("x", "delete_run", "Delete run", id="runs.delete",
                tooltip="Delete the highlighted run (asks first; other runs are kept)"),
    ]

    class RunsLoaded(Message):
        def __init__(self, runs: list[RunInfo]) -> None:
            super().__init__()
            self.runs = runs

    class Frozen(Message):
        def __init__(self, run_id: int) -> None:
            super().__init__()
            self.run_id = run_id

    class Deleted(Message):
        def __init__(self, run_id: int) -> None:
            super().__init__()
            self.run_id = run_id

    class TrendComputed(Message):
        def __init__(self, model_name: str, trend: pl.DataFrame) -> None:
            super().__init__()
            self.model_name = model_name
            self.trend = trend

    class MatrixComputed(Message):
        def __init__(self, result: MigrationResult) -> None:
            super().__init__()
            self.result = result

    def __init__(self) -> None:
        super().__init__()
        self._runs: list[RunInfo] = []
        self._marked: list[int] = []
        self._measure = "accounts"
        self._result: MigrationResult | None = None
        self._trend: RunsScreen.TrendComputed | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="runs-body"):
            with Vertical(id="runs-pane"):
                yield Label("Runs", id="runs-title")
                yield DataTable(id="runs-table", cursor_type="row", zebra_stripes=True)
            with Vertical(id="matrix-pane"):
                yield Label(
                    "Mark two runs with space to compare them.", id="matrix-title", markup=False
                )
                yield DataTable(id="matrix-table", cursor_type="cell")
                yield Label("", id="matrix-hint", markup=False)
                yield TrendChart(id="runs-trend")
        yield Footer()

    # -- runs list -------------------------------------------------------------

    def refresh_from_state(self) -> None:
        self._load_runs()

    @work(thread=True, exclusive=True, group="runs-list", exit_on_error=False)
    def _load_runs(self) -> None:
        runs = [RunInfo(**row) for row in run_rows(self.state.workspace)]
        self.post_message(self.RunsLoaded(runs))

    def on_runs_screen_runs_loaded(self, message: RunsLoaded) -> None:
        self._runs = message.runs
        known = {run.run_id for run in self._runs}
        self._marked = [run_id for run_id in self._marked if run_id in known]
        self._show_runs()
        self._load_trend()

    # -- segments over the runs ------------------------------------------------

    @work(thread=True, exclusive=True, group="runs-trend", exit_on_error=False)
    def _load_trend(self) -> None:
        from core.trends import segment_trend

        runs = sorted(self._runs, key=lambda run: run.run_id)
        active = self.state.active_model
        models = [run.model_name for run in runs]
        name = active.name if active is not None and active.name in models else (
            models[-1] if models else None)  # fmt: skip
        if name is None:
            return
        ws = self.state.workspace
        points = [(f"run {run.run_id}", ws.load_run(run.run_id))
                  for run in runs if run.model_name == name]  # fmt: skip
        trend = segment_trend(points)
        if not get_current_worker().is_cancelled:
            self.post_message(self.TrendComputed(name, trend))

    def on_runs_screen_trend_computed(self, message: TrendComputed) -> None:
        self._trend = message
        self._show_trend()

    def _show_trend(self) -> None:
        """The chart in the right pane while no comparison is on screen."""
        chart = self.query_one("#runs-trend", TrendChart)
        trend = self._trend
        showing = len(self._marked) < 2 and trend is not None and not trend.trend.is_empty()
        chart.display = showing
        self.query_one("#matrix-table", DataTable).display = not showing
        if not showing or trend is None:
            return
        runs, series = long_to_series(trend.trend, "segment", self._measure)
        chart.show(f"{trend.model_name}: {self._measure} per segment",
                   runs, series,
                   fmt=formatting.short_number)  # fmt: skip
        self.query_one("#matrix-hint", Label).update(
            "Each line: a segment's " + ("accounts" if self._measure == "accounts" else
                                         "frozen revenue") + " at each run. v: accounts/revenue"
        )  # fmt: skip

    def _show_runs(self) -> None:
        table = self.query_one("#runs-table", DataTable)
        frame = pl.DataFrame(
            {
                "": ["●" if run.run_id in self._marked else "" for run in self._runs],
                "run": [run.run_id for run in self._runs],
                "label": [run.label for run in self._runs],
                "model": [run.model_name for run in self._runs],
                "as of": [run.as_of for run in self._runs],
                "frozen": [run.created_at for run in self._runs],
                "accts": [run.accounts for run in self._runs],
            },
            schema={"": pl.Utf8, "run": pl.Int64, "label": pl.Utf8, "model": pl.Utf8,
                    "as of": pl.Utf8, "frozen": pl.Utf8, "accts": pl.Int64},
        )
        fill_table(table, frame)
        title = self.query_one("#runs-title", Label)
        title.update(f"Runs ({len(self._runs)}) — f freeze, space mark, x delete")

    # -- freezing --------------------------------------------------------------

    def action_freeze(self) -> None:
        model = self.state.active_model
        if model is None:
            self.notify("No active model to freeze: choose one on the Model screen (4).",
                        severity="warning")
            return

        def done(label: str | None) -> None:
            if label is not None:
                self._freeze(label)

        self.app.push_screen(
            PromptDialog(f"Freeze the segments of {model.name} as a run. Label (optional):",
                         placeholder="e.g. Q3 review", allow_empty=True),
            done,
        )

    @work(thread=True, group="runs-freeze", exit_on_error=False)
    def _freeze(self, label: str) -> None:
        from tui.widgets.run_compare import freeze_run

        run_id = freeze_run(self.state, label)
        self.post_message(self.Frozen(run_id))

    def on_runs_screen_frozen(self, message: Frozen) -> None:
        self.notify(f"Froze run {message.run_id}.")
        self._load_runs()

    # -- deleting --------------------------------------------------------------

    def action_delete_run(self) -> None:
        table = self.query_one("#runs-table", DataTable)
        row = table.cursor_row
        if not 0 <= row < len(self._runs):
            self.notify("No run to delete.", severity="warning")
            return
        run = self._runs[row]
        label = f" “{run.label}”" if run.label else ""

        def done(yes: bool | None) -> None:
            if yes:
                self._delete(run.run_id)

        self.app.push_screen(
            ConfirmDialog(f"Delete run {run.run_id}{label} of model {run.model_name} "
                          f"({run.accounts:,} accounts frozen {run.created_at})? "
                          "This cannot be undone."),
            done,
        )  # fmt: skip

    @work(thread=True, group="runs-delete", exit_on_error=False)
    def _delete(self, run_id: int) -> None:
        self.state.workspace.delete_run(run_id)
        self.post_message(self.Deleted(run_id))

    def on_runs_screen_deleted(self, message: Deleted) -> None:
        self.notify(f"Deleted run {message.run_id}.")
        if message.run_id in self._marked:
            self._marked.remove(message.run_id)
            self._compare()
        self._load_runs()

    # -- marking and comparing ------------------------------------------------

    def action_mark(self) -> None:
        table = self.query_one("#runs-table", DataTable)
        if not self._runs or not table.has_focus:
            return
        run_id = self._runs[table.cursor_row].run_id
        if run_id in self._marked:
            self._marked.remove(run_id)
        else:
            self._marked.append(run_id)
            self._marked = self._marked[-2:]
        self._show_runs()
        self._compare()

    def mark_runs(self, first: int, second: int) -> None:
        """Mark two runs (by id) and compare them; used by the palette and tests."""
        self._marked = [first, second]
        self._show_runs()
        self._compare()

    def _compare(self) -> None:
        if len(self._marked) != 2:
            self._result = None
            self.query_one("#matrix-table", DataTable).clear(columns=True)
            self.query_one("#matrix-title", Label).update(
                "Mark two runs with space to compare them."
            )
            self.query_one("#matrix-hint", Label).update("")
            self._show_trend()
            return
        self._show_trend()
        earlier, later = sorted(self._marked)
        self.query_one("#matrix-title", Label).update(f"Comparing run {earlier} → run {later}…")
        self._compute_matrix(earlier, later)

    @work(thread=True, exclusive=True, group="runs-matrix", exit_on_error=False)
    def _compute_matrix(self, run_a: int, run_b: int) -> None:
        result = compare_runs(self.state, run_a, run_b)
        if not get_current_worker().is_cancelled:
            self.post_message(self.MatrixComputed(result))

    def on_runs_screen_matrix_computed(self, message: MatrixComputed) -> None:
        if sorted(self._marked) != [message.result.run_a, message.result.run_b]:
            return
        self._result = message.result
        self._show_matrix()

    def action_toggle_measure(self) -> None:
        self._measure = "revenue" if self._measure == "accounts" else "accounts"
        self._show_matrix()
        self._show_trend()

    def _show_matrix(self) -> None:
        result = self._result
        if result is None:
            return
        table = self.query_one("#matrix-table", DataTable)
        frame = matrix_display(result, self._measure)
        fill_table(table, frame, keep_cursor=True,
                   formatters=matrix_formatters(frame, self._measure, self._matrix_room()))
        moved = result.moved_count
        self.query_one("#matrix-title", Label).update(
            f"Migration run {result.run_a} → run {result.run_b} ({self._measure})"
        )
        self.query_one("#matrix-hint", Label).update(
            f"{moved:,} of {result.total_count:,} accounts changed segment. Rows: segment in "
            f"run {result.run_a}; columns: in run {result.run_b}. enter: the accounts of a "
            "cell · v: accounts/revenue"
        )

    def _matrix_room(self) -> int:
        pane = self.query_one("#matrix-pane")
        return max(pane.content_region.width, 0)

    def on_resize(self, event: events.Resize) -> None:
        super().on_resize(event)
        # the matrix picks its number format for the room it has
        self.call_after_refresh(self._show_matrix)

    # -- drill-down ------------------------------------------------------------

    @on(DataTable.CellSelected, "#matrix-table")
    def _on_matrix_cell_selected(self, event: DataTable.CellSelected) -> None:
        event.stop()
        self.drill(event.coordinate.row, event.coordinate.column)

    @on(DataTable.RowSelected, "#runs-table")
    def _on_run_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_mark()

    def action_drill(self) -> None:
        table = self.query_one("#matrix-table", DataTable)
        if self._result is not None:
            self.drill(table.cursor_row, table.cursor_column)

    def drill(self, row: int, column: int) -> None:
        result = self._result
        if result is None:
            return
        cell = result.cell(row, column)
        if cell is None:
            return
        from_segment, to_segment = cell
        frame = moved_accounts(self.state, result, from_segment, to_segment)
        title = (
            f"Run {result.run_a} → {result.run_b}: "
            f"{from_segment or 'any segment'} → {to_segment or 'any segment'}"
        )
        self.app.push_screen(AccountsDialog(title, frame))

    def palette_commands(self) -> list[PaletteCommand]:
        return [
            PaletteCommand("Freeze run", self.action_freeze,
                           "Save the active model's segments as a run"),
            PaletteCommand("Toggle accounts / revenue", self.action_toggle_measure),
            PaletteCommand("Delete run", self.action_delete_run,
                           "Delete the highlighted run (asks first)"),
        ]
