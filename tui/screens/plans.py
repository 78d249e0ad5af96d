"""Game plans (key 9): per segment of the active model, its game plan and KPIs
with live actuals; plans of segments that vanished are shown flagged
"orphaned" (kept, never deleted); ``r`` opens the review mode.

A thread worker flags orphaned plans (``storage.plans.flag_orphans``), reads
plans and KPIs and computes the actuals on the current frame
(``core.kpi.kpi_actuals``: met / on track / off track / not available,
judged as of :func:`today`), then posts ``PlansComputed``; when the model has
frozen runs it then computes every KPI at each run (``plan kpis --trend``) and
posts ``KpiTrendComputed``: the highlighted KPI is drawn over the runs, with
its target, under the KPI table. Edits go through ``storage.plans`` (undoable
with ctrl+z).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

import polars as pl
from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Grid, Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import DataTable, Header, Label, Static
from textual.worker import get_current_worker

from tui.display_names import label as display_name
from tui.screens import PaletteCommand, WorkbenchScreen
from tui.widgets.footer import WorkbenchFooter
from tui.widgets.plan_form import PLAN_FORM_FIELDS, KpiForm, PlanForm
from tui.widgets.trend_chart import TrendChart

ORPHANED = "orphaned"
# status -> theme variable of its colour
STATUS_COLOURS = {"met": "text-success", "on track": "text-warning", "off track": "text-error"}
DIRECTION_SIGNS = {"at_least": "≥", "at_most": "≤"}


def today() -> dt.date:
    """The day KPI progress is judged on (the tests fix it)."""
    return dt.date.today()


def fmt_value(metric: str, value: Any) -> str:
    """A KPI figure as every screen shows it (tui/widgets/formatting.py): 28.0%, 12,345."""
    from core.kpi import PERCENT_METRICS
    from tui.widgets import formatting

    if metric in PERCENT_METRICS:
        return formatting.share(value)
    if metric in ("accounts", "churned_accounts"):
        return formatting.count(value)
    return formatting.money(value, cents=False)


class PlansData:
    """What the worker read and computed for one model (swapped in whole)."""

    def __init__(
        self,
        model_name: str,
        segments: list[str],
        plans: dict[str, dict[str, Any]],
        actuals: pl.DataFrame,
        segment_kpis: pl.DataFrame,
        availability: dict[str, str | None],
        annotations: dict[str, dict[str, Any]],
        orphans: list[str],
    ) -> None:
        self.model_name = model_name
        self.segments = segments
        self.plans = plans
        self.actuals = actuals
        self.segment_kpis = segment_kpis
        self.availability = availability
        self.annotations = annotations
        self.orphans = orphans

    def rows(self) -> list[str]:
        """Current segments, then the orphaned plans' segments."""
        return [*self.segments, *(s for s in self.orphans if s not in self.segments)]

    def kpis_of(self, segment: str) -> pl.DataFrame:
        return self.actuals.filter(pl.col("segment") == segment)

    def status_of(self, segment: str) -> str | None:
        return (self.annotations.get(segment) or {}).get("status")


def compute_plans(state: Any, model_name: str, on: dt.date) -> PlansData:
    """Flag orphans, read plans / KPIs / annotations, compute live actuals (for a worker)."""
    from core.kpi import kpi_actuals, metric_availability, segment_kpis
    from core.segment import segment_order
    from storage.plans import flag_orphans, list_kpis, list_plans

    ws = state.workspace
    frame, assignments = state.frame, state.assignments
    segments = segment_order(assignments)
    orphans = flag_orphans(ws, model_name, segments)
    plans = {row["segment"]: row for row in list_plans(ws, model_name).iter_rows(named=True)}
    kpis = list_kpis(ws, model_name)
    actuals = kpi_actuals(frame, assignments, kpis, today=on)
    table = segment_kpis(frame, assignments)
    annotations = {
        str(r["segment"]): r for r in ws.get_segment_annotations(model_name).iter_rows(named=True)
    }
    return PlansData(model_name, segments, plans, actuals, table,
                     metric_availability(frame), annotations, orphans)  # fmt: skip


def kpi_trend_key(state: Any, model_name: str) -> tuple | None:
    """What the KPI trend depends on: the runs, the KPIs' metrics and the data
    (a new target or note changes nothing); None without runs or KPIs."""
    from storage.plans import list_kpis

    ws = state.workspace
    runs = tuple(ws.list_runs(model_name)["run_id"].to_list())
    kpis = list_kpis(ws, model_name)
    if not runs or kpis.is_empty():
        return None
    metrics = tuple(kpis.select("id", "segment", "metric").rows())
    return (model_name, runs, metrics, id(state.transactions), state.as_of)


def compute_kpi_trend(state: Any, model_name: str) -> pl.DataFrame | None:
    """Every KPI of the model at each of its frozen runs (``point, id, segment,
    metric, actual``, points named "run N"), or None without runs or KPIs."""
    from tui.commands.plan import SegmentContext, kpi_trend_for

    ws = state.workspace
    if kpi_trend_key(state, model_name) is None:
        return None
    assignments = state.assignments
    ctx = SegmentContext(state.active_model, state.frame, state.transactions,
                         state.as_of or dt.date.today(), assignments, None, [])  # fmt: skip
    trend = kpi_trend_for(ws, ctx)
    # "run 3 (label) 2025-06-30" -> "run 3": the axis has little room
    return trend.with_columns(pl.col("point").str.extract(r"^(run \d+)"))


def edits_token(state: Any) -> tuple:
    """Changes with every recorded edit, undo and redo (storage.history's log)."""
    try:
        row = state.workspace.conn.execute(
            "SELECT coalesce(max(id), 0), coalesce(sum(undone), 0), count(*) FROM edits"
        ).fetchone()
    except Exception:  # an older workspace without the log: always recompute
        return (object(),)
    return tuple(row)


def status_text(status: str, colours: dict[str, str]) -> Text:
    """The KPI status in its theme colour (dim when not available)."""
    colour = colours.get(STATUS_COLOURS.get(status, ""), "")
    return Text(status, style=f"bold {colour}" if colour else "dim")


class PlansScreen(WorkbenchScreen):
    """Segments with their plans on the left; the plan and its KPI table on the right."""

    CSS_PATH = "plans.tcss"
    NARROW_BELOW = 100  # columns; below, the panes and the field labels get narrower
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("e", "edit_plan", "Edit plan", id="plans.edit",
                tooltip="Edit the game plan of the highlighted segment"),
        Binding("k", "add_kpi", "Add KPI", id="plans.add_kpi",
                tooltip="Add a KPI (metric, target, deadline) to the segment's plan"),
        Binding("x", "delete_kpi", "Delete KPI", id="plans.delete_kpi",
                tooltip="Delete the KPI under the cursor of the KPI table (ctrl+z undoes)"),
        Binding("r", "review", "Review", id="plans.review",
                tooltip="Review mode: walk through the target segments one by one"),
    ]

    class KpiTrendComputed(Message):
        def __init__(self, model_name: str, trend: pl.DataFrame, key: tuple | None) -> None:
            super().__init__()
            self.model_name = model_name
            self.trend = trend
            self.key = key

    class PlansComputed(Message):
        """Plans, KPIs and live actuals of the active model are ready."""

        def __init__(self, data: PlansData) -> None:
            super().__init__()
            self.data = data

    def __init__(self) -> None:
        super().__init__()
        self.data: PlansData | None = None
        self._rows: list[str] = []
        self._kpi_ids: list[int] = []
        self._computed_key: tuple | None = None
        self._trend: pl.DataFrame | None = None
        self._trend_key: tuple | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="plans-body"):
            with Vertical(id="plans-left"):
                yield Label("", id="plans-title", markup=False)
                yield DataTable(id="plans-segments", cursor_type="row", zebra_stripes=True)
            with VerticalScroll(id="plans-right"):
                yield Label("", id="plan-title", markup=False)
                yield Label("", id="plan-orphan-note", markup=False)
                yield Grid(id="plan-fields")
                yield Label("KPIs", id="kpi-title", markup=False)
                yield DataTable(id="kpi-table", cursor_type="row", zebra_stripes=True)
                yield Static("", id="kpi-note", markup=False)
                yield TrendChart(id="kpi-trend")
        yield WorkbenchFooter()

    def on_mount(self) -> None:
        grid = self.query_one("#plan-fields", Grid)
        for name, label, _ in PLAN_FORM_FIELDS:
            grid.mount(Label(label, classes="plan-label"))
            grid.mount(Static("–", id=f"plan-value-{name}", classes="plan-value", markup=False))
        table = self.query_one("#kpi-table", DataTable)
        # what matters most first, so a narrow terminal still shows it
        table.add_columns("#", "KPI", "actual", "target", "status", "deadline", "expected")
        table.show_cursor = False  # shown while focused: the cursor would hide a status colour
        # WorkbenchScreen.on_mount runs after this one (Textual calls both): it refreshes

    # -- state -----------------------------------------------------------------

    def refresh_from_state(self) -> None:
        name = self.model_name
        title = self.query_one("#plans-title", Label)
        if name is None:
            title.update("No active model: choose one on the Model screen (4).")
            return
        if self.state.assignments is None:
            title.update(f"Model {name}: computing segments…")
            return
        if self.data is None or self.data.model_name != name:
            title.update(f"Model {name}: reading plans…")
        # the three state messages of one load arrive together: compute once per state
        key = (name, id(self.state.assignments), id(self.state.frame), edits_token(self.state))
        if key != self._computed_key:
            self._computed_key = key
            self._compute(name)

    @work(thread=True, exclusive=True, group="plans", exit_on_error=False)
    def _compute(self, model_name: str) -> None:
        data = compute_plans(self.state, model_name, today())
        if get_current_worker().is_cancelled:
            return
        self.post_message(self.PlansComputed(data))
        # one frame per run: recomputed only when the runs, the KPIs or the data change
        key = kpi_trend_key(self.state, model_name)
        if key is None and self._trend_key is not None:  # the last run or KPI went
            empty = pl.DataFrame(schema={"point": pl.String, "id": pl.Int64,
                                         "actual": pl.Float64})  # fmt: skip
            self.post_message(self.KpiTrendComputed(model_name, empty, None))
        if key is None or key == self._trend_key:
            return
        trend = compute_kpi_trend(self.state, model_name)
        if trend is not None and not get_current_worker().is_cancelled:
            self.post_message(self.KpiTrendComputed(model_name, trend, key))

    def on_plans_screen_kpi_trend_computed(self, message: KpiTrendComputed) -> None:
        if message.model_name == self.model_name:
            self._trend, self._trend_key = message.trend, message.key
            self._show_kpi_trend()

    def on_plans_screen_plans_computed(self, message: PlansComputed) -> None:
        if message.data.model_name != self.model_name:
            return
        self.data = message.data
        self._show_segments()

    def _show_segments(self) -> None:
        data = self.data
        if data is None:
            return
        table = self.query_one("#plans-segments", DataTable)
        current = self.current_segment
        profiles = self.state.profiles
        accounts: dict[str, int] = {}
        if profiles is not None:
            accounts = dict(zip(profiles["segment"].cast(pl.Utf8).to_list(),
                                profiles["accounts"].to_list(), strict=True))  # fmt: skip
        counts = data.actuals.group_by("segment").len()
        kpi_counts = dict(zip(counts["segment"].to_list(), counts["len"].to_list(), strict=True))
        self._rows = data.rows()
        cells: list[tuple[Text, ...]] = []
        for seg in self._rows:
            plan = data.plans.get(seg) or {}
            orphaned = seg not in data.segments
            flag = Text(ORPHANED, style="bold " + self.app.get_css_variables()["text-error"]) \
                if orphaned else Text(data.status_of(seg) or "")  # fmt: skip
            n = kpi_counts.get(seg, 0)
            cells.append((
                Text(seg), Text(f"{accounts.get(seg, 0):,}" if not orphaned else "–",
                                justify="right"),
                flag, Text(plan.get("objective") or "–"),
                Text(str(n) if n else "–", justify="right"),
            ))  # fmt: skip
        # Explicit widths: auto-sized columns lost the width of their cells when the
        # table was refilled while a layout was pending (the 80x24 snapshot flickered).
        table.clear(columns=True)
        labels = ("segment", "accts", "flag", "objective", "KPIs")
        for i, label in enumerate(labels):
            width = max([len(label), *(row[i].cell_len for row in cells)])
            table.add_column(label, width=width)
        for seg, row in zip(self._rows, cells, strict=True):
            table.add_row(*row, key=seg)
        orphans = f", {len(data.orphans)} orphaned plan(s)" if data.orphans else ""
        self.query_one("#plans-title", Label).update(
            f"Model {data.model_name}: {len(data.segments)} segments{orphans}"
        )
        if current in self._rows:
            table.move_cursor(row=self._rows.index(current), animate=False)
        self._show_plan()

    @property
    def current_segment(self) -> str | None:
        table = self.query_one("#plans-segments", DataTable)
        row = table.cursor_row
        return self._rows[row] if 0 <= row < len(self._rows) else None

    @on(DataTable.RowHighlighted, "#plans-segments")
    def _on_segment_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_plan()

    def _show_plan(self) -> None:
        data, segment = self.data, self.current_segment
        note = self.query_one("#plan-orphan-note", Label)
        if data is None or segment is None:
            self.query_one("#plan-title", Label).update("Game plan")
            note.display = False
            return
        plan = data.plans.get(segment)
        self.query_one("#plan-title", Label).update(
            f"Game plan of {segment}" + ("" if plan else " (none yet: press e to write one)")
        )
        orphaned = segment not in data.segments
        note.display = orphaned
        if orphaned:
            note.update(f"⚠ orphaned: model {data.model_name} no longer has segment {segment}; "
                        "the plan and its KPIs are kept, not deleted")  # fmt: skip
        for name, _label, _ in PLAN_FORM_FIELDS:
            value = (plan or {}).get(name)
            self.query_one(f"#plan-value-{name}", Static).update(str(value) if value else "–")
        self._show_kpis(segment)

    def _show_kpis(self, segment: str) -> None:
        assert self.data is not None
        table = self.query_one("#kpi-table", DataTable)
        row = table.cursor_row
        table.clear()
        colours = self.app.get_css_variables()
        kpis = self.data.kpis_of(segment)
        self._kpi_ids = kpis["id"].to_list()
        for k in kpis.iter_rows(named=True):
            sign = DIRECTION_SIGNS.get(k["direction"], "")
            table.add_row(
                Text(str(k["id"]), justify="right"),
                Text(display_name(k["metric"])),
                Text(fmt_value(k["metric"], k["actual"]), justify="right"),
                Text(f"{sign} {fmt_value(k['metric'], k['target'])}", justify="right"),
                status_text(k["status"], colours),
                Text(k["deadline"] or "–"),
                Text(fmt_value(k["metric"], k["expected"]), justify="right"),
                key=str(k["id"]),
            )
        self.query_one("#kpi-title", Label).update(
            f"KPIs of {segment} ({len(self._kpi_ids)}), judged as of {today().isoformat()}"
            if self._kpi_ids else f"KPIs of {segment}: none yet (press k to add one)"
        )  # fmt: skip
        if self._kpi_ids:
            table.move_cursor(row=min(max(row, 0), len(self._kpi_ids) - 1), animate=False)
        self._show_kpi_note()

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        if event.widget.id == "kpi-table":
            self.query_one("#kpi-table", DataTable).show_cursor = True

    def on_descendant_blur(self, event: events.DescendantBlur) -> None:
        if event.widget.id == "kpi-table":
            self.query_one("#kpi-table", DataTable).show_cursor = False

    @on(DataTable.RowHighlighted, "#kpi-table")
    def _on_kpi_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_kpi_note()

    def current_kpi(self) -> dict[str, Any] | None:
        if self.data is None or not self._kpi_ids:
            return None
        row = self.query_one("#kpi-table", DataTable).cursor_row
        if not 0 <= row < len(self._kpi_ids):
            return None
        kpi_id = self._kpi_ids[row]
        found = self.data.actuals.filter(pl.col("id") == kpi_id)
        return found.row(0, named=True) if found.height else None

    def _show_kpi_note(self) -> None:
        kpi = self.current_kpi()
        text = ""
        if kpi is not None:
            from core.kpi import KPI_LABELS

            text = f"{KPI_LABELS.get(kpi['metric'], kpi['metric'])}: {kpi['status']}"
            if kpi["note"]:
                text += f" · {kpi['note']}"
            if kpi["baseline"] is not None:
                text += f" · baseline {fmt_value(kpi['metric'], kpi['baseline'])}"
        self.query_one("#kpi-note", Static).update(text)
        self._show_kpi_trend()

    def _show_kpi_trend(self) -> None:
        """The highlighted KPI at each frozen run, with its target (hidden without runs)."""
        chart = self.query_one("#kpi-trend", TrendChart)
        kpi, trend = self.current_kpi(), self._trend
        rows = None if kpi is None or trend is None else trend.filter(pl.col("id") == kpi["id"])
        if kpi is None or rows is None or rows["actual"].is_null().all():
            chart.display = False
            return
        from core.kpi import KPI_LABELS

        metric = kpi["metric"]
        name = KPI_LABELS.get(metric, metric)
        runs = rows["point"].to_list()
        series: dict[str, list[float | None]] = {name: rows["actual"].to_list()}
        if kpi["target"] is not None:
            series["target"] = [kpi["target"]] * len(runs)
        chart.display = True
        chart.show(f"{name} of {kpi['segment']} by frozen run", runs, series,
                   fmt=lambda v: fmt_value(metric, v), from_zero=False)  # fmt: skip

    # -- actions -----------------------------------------------------------------

    def _recompute(self) -> None:
        if self.model_name is not None:
            self._computed_key = None
            self._compute(self.model_name)

    def action_edit_plan(self) -> None:
        segment, data = self.current_segment, self.data
        if segment is None or data is None:
            return
        model_name = data.model_name

        def done(changes: dict[str, Any] | None) -> None:
            if not changes:
                return
            from storage.plans import set_plan

            set_plan(self.state.workspace, model_name, segment, **changes)
            self.notify(f"Game plan of {segment} saved (ctrl+z undoes)", timeout=4)
            self._recompute()

        self.app.push_screen(PlanForm(segment, data.plans.get(segment)), done)

    def action_add_kpi(self) -> None:
        segment, data = self.current_segment, self.data
        if segment is None or data is None:
            return
        model_name = data.model_name

        def done(result: dict[str, Any] | None) -> None:
            if result is None:
                return
            from storage.plans import add_kpi

            row = data.segment_kpis.filter(pl.col("segment") == segment)
            baseline = row[result["metric"]][0] if row.height else None
            kpi_id = add_kpi(self.state.workspace, model_name, segment, result["metric"],
                             result["target"], result["deadline"], result["direction"],
                             None if baseline is None else float(baseline))  # fmt: skip
            self.notify(f"KPI #{kpi_id} added to {segment}; its actual is computed live",
                        timeout=4)  # fmt: skip
            self._recompute()

        self.app.push_screen(KpiForm(segment, data.availability), done)

    def action_delete_kpi(self) -> None:
        kpi = self.current_kpi()
        if kpi is None:
            self.notify("No KPI under the cursor of the KPI table.", severity="warning")
            return
        from storage.plans import delete_kpi

        delete_kpi(self.state.workspace, int(kpi["id"]))
        self.notify(f"KPI #{kpi['id']} deleted (ctrl+z brings it back)", timeout=4)
        self._recompute()

    def action_review(self) -> None:
        from tui.screens.review import ReviewScreen, review_segments

        data = self.data
        if data is None or not data.segments:
            self.notify("Nothing to review yet.", severity="warning")
            return
        segments, note = review_segments(data)
        self.app.push_screen(ReviewScreen(data, segments, note))

    def palette_commands(self) -> list[PaletteCommand]:
        segment = self.current_segment
        commands = [PaletteCommand("Review mode: walk through the target segments",
                                   self.action_review)]  # fmt: skip
        if segment is not None:
            commands += [
                PaletteCommand(f"Edit the game plan of {segment}", self.action_edit_plan),
                PaletteCommand(f"Add a KPI to the plan of {segment}", self.action_add_kpi),
            ]
        return commands
