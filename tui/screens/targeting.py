"""Targeting (key 7): segment attractiveness with live weights, analyst scores,
the attractiveness x share-of-wallet matrix, lookalike prospects and exports.

DOMAIN.md "Targeting". The screen works on the active model's segments
(``app.state.assignments`` / ``profiles``). The forward-looking columns
(potential, share of wallet, headroom, CLV) take seconds to fit, so a thread
worker computes them (``core.forward_frame.forward_columns``) with a progress
bar and a cancel key, once per data version, and attaches them to the
per-account frame (``WorkbenchState.attach_forward``); then the App recomputes
the segments, so ``potential`` / ``clv`` dimensions and this screen see them.

Keys: ``+`` / ``-`` change the weight highlighted in the weights table, or,
in the ranking table, the analyst score (1-5) of the highlighted segment when
the cursor is on a ★ column. The ranking re-sorts at once. Weights are saved
per model (setting ``targeting.weights.<model>``, shared with ``segscope
targets``), scores in the segment annotations.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import polars as pl
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import DataTable, Footer, Header, Label, ProgressBar, Select, Static
from textual.worker import Worker, WorkerState, get_current_worker
from textual_plotext import PlotextPlot

from core.errors import SegscopeError
from tui.screens import PaletteCommand, WorkbenchScreen
from tui.widgets import targeting_data as td
from tui.widgets.keyed_table import KeyedTable, TablePosition
from tui.widgets.path_suggester import PathSuggester
from tui.widgets.prompt import PromptScreen
from tui.widgets.segment_table import format_share

# Forward results per frame key (data version, as-of): computed once per data version.
_FORWARD_RESULTS: dict[object, Any] = {}
WEAK_AUC = 0.6
STATUS_COLOURS = {"target": "green", "maintain": "cyan", "lean": "gray"}
RANKING_COLUMNS = (
    ("#", "rank"), ("segment", "segment"), ("attract", "attractiveness"),
    ("status", "effective_status"), ("accts", "accounts"), ("headroom", "headroom"),
    ("CLV", "avg_clv"), ("SoW", "position"), ("acc★", "analyst_accessibility"),
    ("comp★", "analyst_competitive_intensity"), ("fit★", "analyst_fit"),
    ("caveat", "caveat"),
)  # fmt: skip
SCORE_COLUMNS = {
    "analyst_accessibility": "accessibility",
    "analyst_competitive_intensity": "competitive_intensity",
    "analyst_fit": "fit",
}


def short_money(value: Any) -> str:
    """950 / 48k / 1.2M: money in a narrow column."""
    if value is None or value != value:
        return "–"
    v = float(value)
    for limit, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(v) >= limit:
            digits = 1 if abs(v) < 10 * limit else 0
            return f"{v / limit:.{digits}f}{suffix}"
    return f"{v:.0f}"


def _kept_forward(state: Any, frame: pl.DataFrame, count_zero: bool) -> Any:
    """The potential and CLV kept in the workspace for this data, analysis date and
    CLV switch (``segscope potential`` / ``segscope clv`` or an earlier fit here),
    as a forward result; None unless both are kept."""
    import datetime as dt

    from core.forward_frame import ForwardResult
    from storage.fits import load_fit
    from tui.commands.segment import clv_fit_params, potential_fit_params

    as_of = state.as_of
    if as_of is None or state.workspace is None:
        return None
    try:
        pot = load_fit(state.workspace, "potential", potential_fit_params(as_of))
        clv = load_fit(state.workspace, "clv", clv_fit_params(
            as_of - dt.timedelta(days=1), count_zero_orders=count_zero))
    except Exception:  # an older workspace without the fits table: fit instead
        return None
    if pot is None or clv is None:
        return None
    fwd = (frame.select(pl.col("account_id").cast(pl.Utf8))
           .join(pot.frame, on="account_id", how="left", maintain_order="left")
           .join(clv.frame, on="account_id", how="left", maintain_order="left"))
    return ForwardResult(frame=fwd)


def _keep_forward(state: Any, result: Any, data_version: str | None) -> None:
    """Keep the fits in the workspace (for the data version they were fitted on)
    so the command line and the next session use them."""
    from tui.commands.segment import keep_clv, keep_potential

    ws, as_of = state.workspace, state.as_of
    if ws is None or as_of is None:
        return
    try:
        if result.potential is not None:
            keep_potential(ws, result.potential, as_of, result.potential.report.quantile,
                           data_version)
        if result.clv is not None:
            keep_clv(ws, result.clv, data_version)
    except SegscopeError:  # a busy or read-only workspace: the fit is still shown
        pass


def _file_stem(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_") or "model"


class TargetingScreen(WorkbenchScreen):
    """Weights, live ranking, matrix plot, lookalikes and the target account export."""

    CSS_PATH = "targeting.tcss"
    # below 100 columns the weights pane narrows and the bar and hint go (targeting.tcss)
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-wide")]
    BINDINGS = [
        Binding("plus,equals_sign", "adjust(1)", "+ weight/score", id="targeting.increase",
                tooltip="Raise the highlighted weight, or the highlighted analyst score (★)"),
        Binding("minus", "adjust(-1)", "- weight/score", id="targeting.decrease",
                tooltip="Lower the highlighted weight, or the highlighted analyst score (★)"),
        Binding("x", "export_targets", "Export targets", id="targeting.export_targets",
                tooltip="Write the accounts of the target segments with priority "
                        "(CSV/XLSX/Parquet)"),
        Binding("e", "export_lookalikes", "Export prospects", id="targeting.export_lookalikes",
                tooltip="Write the lookalike prospects with reasons (CSV/XLSX/Parquet)"),
        Binding("r", "refit", "Refit", id="targeting.refit",
                tooltip="Compute potential and CLV again"),
        Binding("c", "cancel_fit", "Cancel fit", id="targeting.cancel_fit",
                tooltip="Stop computing potential and CLV"),
        Binding("z", "toggle_zero_orders", "$0 orders", id="targeting.count_zero_orders",
                show=False,
                tooltip="CLV: count days netting exactly 0 (free samples, $0 orders) as "
                        "purchases, as the BG/NBD papers do on CDNOW; refits"),
        Binding("v", "clv_validation", "CLV check", id="targeting.clv_validation",
                show=False,
                tooltip="CLV holdout check: expected vs actual repeat purchases by number "
                        "of calibration repeats"),
    ]

    class ForwardProgress(Message):
        """Progress of the potential / CLV fits (merged: only the latest matters)."""

        def __init__(self, done: int, total: int, what: str) -> None:
            super().__init__()
            self.done, self.total, self.what = done, total, what

        def can_replace(self, message: Message) -> bool:
            return isinstance(message, TargetingScreen.ForwardProgress)

    def __init__(self) -> None:
        super().__init__()
        self._model: str | None = None
        self._weights: dict[str, float] = {}
        self._scores: dict[str, dict[str, float]] = {}
        self._status: dict[str, str] = {}
        self._inputs: pl.DataFrame | None = None
        self._comparison_note: str | None = None
        self._sort: tuple[str, bool] | None = None  # ranking column, descending
        self._comparison_coverage = 1.0
        self._ranking: pl.DataFrame | None = None
        self._ranking_ids: list[str] = []
        self._forward_key: object = None  # frame key whose forward fit ran or is running
        self._count_zero = False  # CLV: a day netting exactly 0 is a purchase
        self._forward_state = "idle"  # idle / running / done / cancelled / failed
        self._forward_messages: tuple[str, ...] = ()
        self._ideal: str | None = td.ABC_A
        self._lookalike_key: tuple | None = None
        self._lookalikes: pl.DataFrame | None = None
        self._auc: float | None = None

    # -- layout --------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="forward-bar"):
            yield Label("", id="forward-status", markup=False)
            yield ProgressBar(total=1, id="forward-progress", show_eta=False)
        with Horizontal(id="targeting-top"):
            with Vertical(id="ranking-pane"):
                yield Label("", id="ranking-title", markup=False)
                yield Static("", id="ranking-caveat", markup=False)
                ranking = KeyedTable(id="ranking", cursor_type="cell", zebra_stripes=True,
                                     sort_handler=self.sort_by)
                ranking.fixed_columns = 2  # rank and segment stay when scrolling right
                yield ranking
                yield TablePosition("ranking", id="ranking-position")
            with Vertical(id="weights-pane"):
                yield Label("Weights  (+/- to change)", id="weights-title", markup=False)
                yield DataTable(id="weights", cursor_type="row")
                yield Static("", id="weights-hint", markup=False)
        with Horizontal(id="targeting-bottom"):
            yield PlotextPlot(id="matrix")
            with Vertical(id="lookalike-pane"):
                with Horizontal(id="ideal-row"):
                    yield Label("Ideal customers:", id="ideal-label")
                    yield Select([("ABC class A", td.ABC_A)], value=td.ABC_A,
                                 allow_blank=False, id="ideal", compact=True)
                yield Label("", id="auc", markup=False)
                lookalikes = KeyedTable(id="lookalikes", cursor_type="row", zebra_stripes=True)
                lookalikes.fixed_columns = 2  # rank and prospect
                yield lookalikes
        yield Footer()

    def on_mount(self) -> None:
        weights = self.query_one("#weights", DataTable)
        weights.add_columns("criterion", "weight")
        self.query_one("#forward-progress", ProgressBar).display = False
        super().on_mount()
        if not self.state.loaded:
            self.query_one("#ranking-title", Label).update("Loading the workspace…")

    # -- state ---------------------------------------------------------------

    def refresh_from_state(self) -> None:
        state = self.state
        if not state.loaded:
            return
        self._ensure_forward()
        model = state.active_model
        title = self.query_one("#ranking-title", Label)
        if model is None:
            title.update("No active model: choose one on the Model screen (4).")
            self._model = None
            self._show_ranking(None)
            return
        if model.name != self._model:
            self._model = model.name
            self._load_settings()
        if state.profiles is None or state.assignments is None:
            title.update(f"Model {model.name}: computing segments…")
            return
        self._compute_inputs()

    def _load_settings(self) -> None:
        ws = self.state.workspace
        assert self._model is not None
        try:
            self._weights = td.load_weights(ws, self._model)
            self._scores, self._status = td.load_scores(ws, self._model)
        except Exception as exc:  # an older or locked workspace must not break the screen
            self._weights = dict(td.DEFAULT_WEIGHTS)
            self._scores, self._status = {}, {}
            self.notify(f"Could not read the saved weights/scores: {exc}", severity="warning")
        self._show_weights()

    @work(thread=True, exclusive=True, exit_on_error=False, group="targeting-inputs",
          name="targeting_inputs")
    def _compute_inputs(self) -> tuple[str | None, pl.DataFrame | None, str | None, float]:
        state = self.state
        model, profiles, assignments = state.active_model, state.profiles, state.assignments
        if model is None or profiles is None or assignments is None:
            return None, None, None, 1.0
        note = td.comparison_caveat(state.transactions, state.as_of)
        coverage = td.comparison_coverage(state.transactions, state.as_of)
        return model.name, td.segment_inputs(profiles, assignments, state.frame), note, coverage

    # -- forward columns (potential, CLV) -------------------------------------

    def _ensure_forward(self, force: bool = False) -> None:
        state = self.state
        key = state.frame_key
        if key is None:
            return
        if not force and key == self._forward_key:
            return
        self._forward_key = key
        cached = _FORWARD_RESULTS.get((key, self._count_zero))
        if cached is not None and not force:
            self._forward_done(key, cached)
            return
        self._forward_state = "running"
        self._show_forward_status()
        bar = self.query_one("#forward-progress", ProgressBar)
        bar.update(total=7, progress=0)
        bar.display = True
        self._compute_forward(key, self._count_zero, not force)

    @work(thread=True, exclusive=True, exit_on_error=False, group="forward",
          name="forward_columns")
    def _compute_forward(self, key: object, count_zero: bool = False,
                         use_kept: bool = True) -> tuple[object, Any] | None:
        from core.forward_frame import ForwardCancelled, forward_columns

        worker = get_current_worker()
        state = self.state
        frame, transactions = state.frame, state.transactions
        if frame is None or transactions is None:
            return None
        result = _kept_forward(state, frame, count_zero) if use_kept else None
        if result is None:

            def progress(done: int, total: int, what: str) -> None:
                self.post_message(self.ForwardProgress(done, total, what))

            try:
                result = forward_columns(frame, transactions, as_of=state.as_of,
                                         progress=progress,
                                         cancelled=lambda: worker.is_cancelled,
                                         zero_amount_is_purchase=count_zero)
            except ForwardCancelled:
                return None
            _keep_forward(state, result, key[0] if isinstance(key, tuple) else None)
        _FORWARD_RESULTS[(key, count_zero)] = result
        # the join happens here, off the UI thread (the state lock may be held by a recompute)
        state.attach_forward(result, key)
        return key, result

    def on_targeting_screen_forward_progress(self, message: ForwardProgress) -> None:
        if self._forward_state != "running":
            return
        bar = self.query_one("#forward-progress", ProgressBar)
        bar.update(total=message.total, progress=message.done)
        self.query_one("#forward-status", Label).update(
            f"Computing potential and CLV: {message.what}… (c cancels)")

    def _forward_done(self, key: object, result: Any) -> None:
        self._forward_state = "done"
        self._forward_messages = tuple(result.messages)
        self.query_one("#forward-progress", ProgressBar).display = False
        self._show_forward_status()
        frame = self.state.frame
        if any(c in frame.columns for c in ("potential", "clv")) or result.messages:
            return
        # a cached result for this data version that is not joined yet (another screen
        # instance computed it): join it in a worker
        self._attach_cached(key, result)

    @work(thread=True, exit_on_error=False, group="forward-attach", name="forward_attach")
    def _attach_cached(self, key: object, result: Any) -> None:
        if self.state.attach_forward(result, key):
            self.app.call_from_thread(self.workbench.recompute_segments)

    def _show_forward_status(self) -> None:
        label = self.query_one("#forward-status", Label)
        if self._forward_state == "running":
            label.update("Computing potential and CLV… (c cancels)")
        elif self._forward_state == "cancelled":
            label.update("Potential and CLV not computed (cancelled): press r to compute.")
        elif self._forward_state == "failed":
            label.update("Potential and CLV could not be computed: press r to retry.")
        elif self._forward_messages:
            label.update(" · ".join(self._forward_messages))
        else:
            zero = " (CLV counts $0 days as purchases; z toggles)" if self._count_zero else ""
            label.update(f"Potential, share of wallet, headroom and CLV are up to date.{zero}")

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        super().on_worker_state_changed(event)
        worker = event.worker
        if worker.name == "forward_columns":
            if event.state == WorkerState.SUCCESS:
                if worker.result is None:
                    self._forward_state = "cancelled"
                    self.query_one("#forward-progress", ProgressBar).display = False
                    self._show_forward_status()
                    return
                key, result = worker.result
                self._forward_done(key, result)
                self.workbench.recompute_segments()
            elif event.state in (WorkerState.ERROR, WorkerState.CANCELLED):
                self._forward_state = "failed" if event.state == WorkerState.ERROR else \
                    "cancelled"
                self.query_one("#forward-progress", ProgressBar).display = False
                self._show_forward_status()
        elif worker.name == "targeting_inputs" and event.state == WorkerState.SUCCESS:
            name, inputs, note, coverage = worker.result
            if name is not None and name == self._model:
                self._inputs = inputs
                self._comparison_note, self._comparison_coverage = note, coverage
                self._rerank(follow=False)
                self._refresh_ideal_options()
        elif worker.name == "lookalikes" and event.state == WorkerState.SUCCESS:
            self._show_lookalikes(*worker.result)

    # -- ranking -------------------------------------------------------------

    def _rerank(self, keep: str | None = None, *, follow: bool = True) -> None:
        if self._inputs is None or self._model is None:
            return
        title = self.query_one("#ranking-title", Label)
        try:
            skip = td.skipped_criteria(self._comparison_note, self._comparison_coverage)
            ranking = td.rank_segments(self._inputs, self._weights, self._scores, self._status,
                                       skip)
        except SegscopeError as exc:
            title.update(f"Model {self._model}: {exc}")
            return
        self._ranking = ranking
        note = "" if "headroom" in self._inputs.columns else (
            " (headroom: waiting for potential)" if self._forward_state == "running"
            else " (no headroom: potential not estimated)")
        title.update(f"Model {self._model}: {ranking.height} segments by attractiveness{note}")
        caveat = self.query_one("#ranking-caveat", Static)
        if skip:
            caveat.update(f"⚠ Growth left out of the scores: {self._comparison_note}.")
        elif self._comparison_note:
            caveat.update(f"⚠ {self._comparison_note}.")
        caveat.display = bool(self._comparison_note)
        self._show_ranking(ranking, keep, follow=follow)
        self._draw_matrix()

    def _show_ranking(self, ranking: pl.DataFrame | None, keep: str | None = None, *,
                      follow: bool = True) -> None:
        """Fill the ranking; the cursor follows its segment after a weight or score
        change (``follow``), and goes to the top when the segments themselves changed."""
        table = self.query_one("#ranking", DataTable)
        column = table.cursor_column
        current = keep if keep is not None else (self.current_segment if follow else None)
        self._ranking_ids = []
        if ranking is None:
            table.clear(columns=True)
            self._draw_matrix()
            return
        if self._sort is not None and self._sort[0] in ranking.columns:
            by, descending = self._sort
            ranking = ranking.sort(by, descending=descending, nulls_last=True,
                                   maintain_order=True)
        # same columns every time: clear the rows only, so the widths and the cursor stay
        if not table.columns:
            for label, key in RANKING_COLUMNS:
                table.add_column(label, key=key)
        else:
            table.clear()
        for row in ranking.iter_rows(named=True):
            self._ranking_ids.append(row["segment"])
            table.add_row(*[self._cell(key, row.get(key)) for _, key in RANKING_COLUMNS])
        if current in self._ranking_ids:
            table.move_cursor(row=self._ranking_ids.index(current), column=column, animate=False)
        else:
            table.move_cursor(row=0, column=column, animate=False)

    @staticmethod
    def _cell(key: str, value: Any) -> Text:
        if key in SCORE_COLUMNS:
            return Text("·" if value is None else f"{int(value)}", justify="center")
        if key == "attractiveness":
            return Text(f"{value:.3f}", justify="right")
        if key == "position":
            return Text(format_share(value), justify="right")
        if key in ("headroom", "avg_clv"):
            return Text(short_money(value), justify="right")
        if key in ("rank", "accounts"):
            return Text("–" if value is None else f"{int(value):,}", justify="right")
        if key == "caveat":
            return Text(str(value or ""), style="yellow")
        if key == "effective_status":
            return Text(str(value or ""), style=STATUS_COLOURS.get(str(value), ""))
        text = str(value)
        return Text(text if len(text) <= 26 else text[:25] + "…")

    def sort_by(self, column: str, descending: bool) -> None:
        """Order the ranking by ``column`` (the table's [ and ] keys come here); the
        cursor stays on its segment."""
        self._sort = (column, descending)
        self._show_ranking(self._ranking)

    @on(DataTable.CellSelected, "#ranking")
    async def _drill(self, event: DataTable.CellSelected) -> None:
        """Enter on a segment: its accounts on the Accounts screen."""
        event.stop()
        segment = self.current_segment
        show_accounts = getattr(self.app, "show_accounts", None)
        if segment is not None and callable(show_accounts):
            from tui.screens.segments import segment_filter

            await show_accounts(segment_filter(segment))

    @property
    def current_segment(self) -> str | None:
        table = self.query_one("#ranking", DataTable)
        if 0 <= table.cursor_row < len(self._ranking_ids):
            return self._ranking_ids[table.cursor_row]
        return None

    def _show_weights(self, keep_row: int | None = None) -> None:
        table = self.query_one("#weights", DataTable)
        row = table.cursor_row if keep_row is None else keep_row
        table.clear()
        for name in td.CRITERIA:
            weight = self._weights.get(name, 0.0)
            bar = "" if self.has_class("-narrow") else " " + "█" * int(round(weight * 2))
            table.add_row(td.CRITERION_LABELS[name], Text(f"{weight:4.2f}{bar}"), key=name)
        table.move_cursor(row=max(row, 0), animate=False)
        self.query_one("#weights-hint", Static).update(
            "★ analyst scores 1-5: put the ranking cursor on a ★ column, then +/-.")

    # -- actions ---------------------------------------------------------------

    def action_adjust(self, direction: int) -> None:
        focused = self.focused
        if focused is not None and focused.id == "ranking":
            self._adjust_score(direction)
        else:
            self._adjust_weight(direction)

    def _adjust_weight(self, direction: int) -> None:
        if self._model is None:
            return
        table = self.query_one("#weights", DataTable)
        row = table.cursor_row
        if not 0 <= row < len(td.CRITERIA):
            return
        criterion = td.CRITERIA[row]
        weights = td.step_weight(self._weights, criterion, direction)
        if sum(weights.values()) <= 0:
            self.notify("At least one criterion needs a positive weight.", severity="warning")
            return
        self._weights = weights
        self._show_weights(row)
        self._rerank()
        self._save_weights(self._model, dict(weights))

    def _adjust_score(self, direction: int) -> None:
        table = self.query_one("#ranking", DataTable)
        segment = self.current_segment
        if segment is None or self._model is None or not table.columns:
            return
        column = str(list(table.columns)[table.cursor_column].value)
        criterion = SCORE_COLUMNS.get(column)
        if criterion is None:
            self.notify("Put the cursor on a ★ column (access, compet, fit) to change a score; "
                        "+/- in the weights table change weights.")
            return
        scores = dict(self._scores.get(segment, {}))
        scores[criterion] = float(td.step_score(scores.get(criterion), direction))
        self._scores[segment] = scores
        self._rerank(keep=segment)
        self._save_scores(self._model, segment, scores)

    @work(thread=True, exit_on_error=False, group="targeting-save", name="save_weights")
    def _save_weights(self, model: str, weights: dict[str, float]) -> None:
        self.state.workspace.set_setting(td.weights_key(model), weights)

    @work(thread=True, exit_on_error=False, group="targeting-save", name="save_scores")
    def _save_scores(self, model: str, segment: str, scores: dict[str, float]) -> None:
        self.state.workspace.set_segment_annotation(model, segment, scores=scores)

    def action_refit(self) -> None:
        _FORWARD_RESULTS.pop((self.state.frame_key, self._count_zero), None)
        self._ensure_forward(force=True)

    def action_toggle_zero_orders(self) -> None:
        self._count_zero = not self._count_zero
        self.notify("CLV counts days netting $0 as purchases" if self._count_zero else
                    "CLV: a day netting $0 is no purchase (default)")
        self._ensure_forward(force=True)

    def action_clv_validation(self) -> None:
        from tui.screens.clv_validation import ClvValidationScreen

        transactions = self.state.transactions
        if transactions is None or transactions.is_empty():
            self.notify("No transactions: nothing to validate", severity="warning")
            return
        self.app.push_screen(ClvValidationScreen(transactions, count_zero=self._count_zero))

    def action_cancel_fit(self) -> None:
        if self._forward_state == "running":
            self.workers.cancel_group(self, "forward")
            self._forward_state = "cancelled"
            self.query_one("#forward-progress", ProgressBar).display = False
            self._show_forward_status()

    # -- matrix ------------------------------------------------------------------

    def _draw_matrix(self) -> None:
        widget = self.query_one("#matrix", PlotextPlot)
        plt = widget.plt
        plt.clear_figure()
        ranking = self._ranking
        if ranking is None or ranking.is_empty():
            plt.title("Attractiveness x share of wallet")
            widget.refresh()
            return
        if ranking["position"].null_count() == ranking.height:
            plt.title("Attractiveness (SoW: waiting)")
        else:
            plt.title("Attractiveness x share of wallet (points: #)")
        for status, colour in STATUS_COLOURS.items():
            part = ranking.filter(pl.col("effective_status") == status)
            if part.is_empty():
                continue
            xs = [100 * (p or 0.0) for p in part["position"].to_list()]
            ys = part["attractiveness"].to_list()
            plt.scatter(xs, ys, color=colour, label=status, marker="●")
            # points are labelled with their rank (the # of the ranking table): segment
            # names overlap where segments sit close together
            for rank, x, y in zip(part["rank"].to_list(), xs, ys, strict=True):
                plt.text(str(rank), x=x + 3, y=y, color=colour, alignment="left")
        plt.xlim(0, 110)  # room for the label of a point at 100 %
        plt.xticks([0, 25, 50, 75, 100])
        plt.ylim(0, 1)
        plt.xlabel("share of wallet %")
        plt.ylabel("attract.")
        widget.refresh()

    # -- lookalikes --------------------------------------------------------------

    def _refresh_ideal_options(self) -> None:
        if self._inputs is None:
            return
        frame = self.state.frame
        has_clv = "clv" in frame.columns
        options = td.ideal_options(self._inputs["segment"].to_list(), has_clv)
        select = self.query_one("#ideal", Select)
        values = [v for _, v in options]
        choice = self._ideal if self._ideal in values else td.ABC_A
        with self.prevent(Select.Changed):
            select.set_options(options)
            select.value = choice
        self._ideal = choice
        self._start_lookalikes()

    @on(Select.Changed, "#ideal")
    def _ideal_changed(self, event: Select.Changed) -> None:
        if event.value is Select.NULL or event.value == self._ideal:
            return
        self._ideal = str(event.value)
        self._start_lookalikes()

    def _start_lookalikes(self) -> None:
        if self._ideal is None:
            return
        key = (self.state.frame_key, id(self.state.frame), self._model, self._ideal)
        if key == self._lookalike_key:
            return
        self._lookalike_key = key
        self.query_one("#auc", Label).update("Scoring prospects…")
        self._compute_lookalikes(self._ideal)

    @work(thread=True, exclusive=True, exit_on_error=False, group="lookalikes", name="lookalikes")
    def _compute_lookalikes(self, choice: str) -> tuple[str, Any, pl.DataFrame | None, str]:
        from core.lookalike import score_lookalikes

        frame = td.with_customer_flag(self.state.frame_with_segments())
        try:
            mask = td.ideal_mask(frame, choice)
            result = score_lookalikes(frame, mask)
        except SegscopeError as exc:
            return choice, None, None, str(exc)
        return choice, result, td.lookalike_list(result, frame), ""

    def _show_lookalikes(self, choice: str, result: Any, listing: pl.DataFrame | None,
                         error: str) -> None:
        if choice != self._ideal:
            return
        label = self.query_one("#auc", Label)
        table = self.query_one("#lookalikes", DataTable)
        table.clear(columns=True)
        self._lookalikes = listing
        if result is None or listing is None:
            self._auc = None
            label.update(f"No lookalikes: {error}")
            label.set_class(True, "-weak")
            return
        self._auc = result.cv_auc
        weak = result.cv_auc < WEAK_AUC
        label.set_class(weak, "-weak")
        verdict = "⚠ close to a coin flip: do not rely on these scores" if weak else \
            f"{result.n_ideal} ideal vs {result.n_other_customers} other customers"
        label.update(f"Classifier ROC AUC (5-fold CV) {result.cv_auc:.2f} · {verdict}")
        table.add_column("#", key="rank")
        table.add_column("prospect", key="name")
        table.add_column("score", key="score")
        if "potential" in listing.columns:
            table.add_column("pot.", key="potential")
        table.add_column("like (3 nearest ideal customers)", key="reasons")
        who = "name" if "name" in listing.columns else "account_id"
        for row in listing.head(200).iter_rows(named=True):
            cells = [Text(str(row["lookalike_rank"]), justify="right"),
                     Text(str(row[who] or row["account_id"])[:18]),
                     Text(f"{row['lookalike_score']:.2f}", justify="right")]
            if "potential" in listing.columns:
                cells.append(Text(short_money(row["potential"]), justify="right"))
            cells.append(Text(row["reasons"] or "", overflow="ellipsis", no_wrap=True))
            table.add_row(*cells, key=str(row["account_id"]))

    @on(DataTable.RowSelected, "#lookalikes")
    async def _open_prospect(self, event: DataTable.RowSelected) -> None:
        """Enter on a prospect: the account on the Accounts screen (its detail)."""
        event.stop()
        show_accounts = getattr(self.app, "show_accounts", None)
        if event.row_key.value is not None and callable(show_accounts):
            await show_accounts(account_id=event.row_key.value)

    # -- exports -----------------------------------------------------------------

    def _prompt_path(self, question: str, default: str, then: Any) -> None:
        def chosen(path: str | None) -> None:
            if path:
                then(path)

        self.app.push_screen(PromptScreen(question, default, suggester=PathSuggester()), chosen)

    def _default_dir(self) -> Path:
        # every export defaults to the current folder (issue 12): the workspace may be hidden
        from tui.widgets.plan_actions import default_export_dir

        return default_export_dir()

    def action_export_targets(self) -> None:
        if self._ranking is None or self._model is None:
            self.notify("No ranking yet: wait for the segments.", severity="warning")
            return
        default = self._default_dir() / f"{_file_stem(self._model)}-targets.csv"
        self._prompt_path("Export the target account list to (.csv, .xlsx or .parquet):",
                          str(default), self.export_targets)

    def action_export_lookalikes(self) -> None:
        if self._lookalikes is None:
            self.notify("No lookalike list yet.", severity="warning")
            return
        default = self._default_dir() / "lookalike-prospects.csv"
        self._prompt_path("Export the lookalike prospects to (.csv, .xlsx or .parquet):",
                          str(default), self.export_lookalikes)

    @work(thread=True, exclusive=True, exit_on_error=False, group="targeting-export",
          name="export_targets")
    def export_targets(self, path: str) -> Path | None:
        from storage.export import write_frame

        ranking, assignments = self._ranking, self.state.assignments
        if ranking is None or assignments is None:
            return None
        out = td.target_accounts(ranking, assignments, self.state.frame)
        target = write_frame(out, Path(path).expanduser())
        segments = ranking.filter(pl.col("effective_status") == "target").height
        self.app.call_from_thread(
            self.notify, f"{out.height:,} accounts of {segments} target segments written to "
                         f"{target}")
        return Path(target)

    @work(thread=True, exclusive=True, exit_on_error=False, group="targeting-export",
          name="export_lookalikes")
    def export_lookalikes(self, path: str) -> Path | None:
        from storage.export import write_frame

        listing = self._lookalikes
        if listing is None:
            return None
        target = write_frame(listing, Path(path).expanduser())
        self.app.call_from_thread(
            self.notify, f"{listing.height:,} lookalike prospects written to {target}")
        return Path(target)

    def palette_commands(self) -> list[PaletteCommand]:
        return [
            PaletteCommand("Export target account list", self.action_export_targets,
                           "Accounts of the target segments with priority = headroom x fit"),
            PaletteCommand("Export lookalike prospects", self.action_export_lookalikes,
                           "The scored prospects with their 3 nearest ideal customers"),
            PaletteCommand("Recompute potential and CLV", self.action_refit,
                           "Fit the potential and CLV models again"),
            PaletteCommand("Cancel the potential/CLV fit", self.action_cancel_fit,
                           "Stop the running fit"),
        ]
