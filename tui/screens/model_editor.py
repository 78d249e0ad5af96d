"""Model editor (key 4): build segmentation models and watch the segments
recompute while typing.

The left column lists the models and the dimensions of the open one; the
middle shows the form of the highlighted dimension; the right column shows the
level counts per dimension and the segment table of the draft. Every edit
updates the draft model and starts a thread worker that segments the cached
per-account frame with it: at once for an edit after a quiet moment, else
debounced (so a burst of keys computes its first and its last state); a newer
edit cancels the older worker's result. While a field is invalid the form shows
the error inline and the last valid counts stay on screen.

Drafts are kept per model name until saved (``ctrl+s``), so moving between
models loses nothing; the list marks unsaved models with ``*``.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.timer import Timer
from textual.widgets import Footer, Header, Input, Label, OptionList
from textual.widgets.option_list import Option
from textual.worker import get_current_worker

from core.cache import LruCache
from core.errors import SegscopeError
from tui.screens import PaletteCommand, WorkbenchScreen
from tui.widgets.formatting import short_number
from tui.widgets.model_dialogs import ChoiceDialog, ConfirmDialog, PromptDialog, UnsavedDialog
from tui.widgets.model_forms import (
    KIND_CHOICES,
    DimensionForm,
    describe_dimension,
    form_for,
    new_dimension,
)
from tui.widgets.model_results import LiveResult, live_result
from tui.widgets.segment_table import FittedTable

# Actions bound to letters: they only apply while the lists have focus, so the
# same letters can be typed into the form fields.
LIST_ACTIONS = {
    "new_model",
    "rename_model",
    "duplicate_model",
    "delete_model",
    "use_model",
    "add_dimension",
    "remove_dimension",
    "move_dimension",
}

LEVEL_LABELS = {"accounts": "accts", "share": "% accts"}
# A compute still running after this long shows a spinner and marks the counts stale.
BUSY_AFTER_SECONDS = 0.3
SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
SEGMENT_LABELS = {"accounts": "accts", "share": "% accts", "revenue_share": "% rev"}


class ModelEditorScreen(WorkbenchScreen):
    """Edit segmentation models with live level counts and segment table."""

    CSS_PATH = "model_editor.tcss"
    NARROW_BELOW = 110  # columns; below, the three panes share the width
    DEBOUNCE_SECONDS = 0.12
    SHOW_TIMING = True  # tests turn it off: milliseconds would make snapshots flaky

    BINDINGS = [
        Binding("ctrl+s", "save_model", "Save", id="model.save",
                tooltip="Save the open model in the workspace"),
        Binding("n", "new_model", "New", id="model.new", tooltip="Create a new model"),
        Binding("r", "rename_model", "Rename", id="model.rename",
                tooltip="Rename the open model"),
        Binding("c", "duplicate_model", "Copy", id="model.duplicate",
                tooltip="Duplicate the open model under a new name"),
        Binding("d", "delete_model", "Delete", id="model.delete",
                tooltip="Delete the open model (asks first)"),
        Binding("u", "use_model", "Use (activate)", id="model.use",
                tooltip="Make the open model the active one (Overview, Segments, Runs)"),
        Binding("a", "add_dimension", "Add dim", id="model.add_dimension",
                tooltip="Add a dimension to the model"),
        Binding("x", "remove_dimension", "Remove dim", id="model.remove_dimension",
                tooltip="Remove the highlighted dimension"),
        Binding("K", "move_dimension(-1)", "Up", id="model.move_up",
                tooltip="Move the highlighted dimension up"),
        Binding("J", "move_dimension(1)", "Down", id="model.move_down",
                tooltip="Move the highlighted dimension down"),
        Binding("escape", "leave_form", "Lists", id="model.leave_form",
                tooltip="Leave the form: back to the dimension list (then 1-6 switch screens)"),
    ]

    class Computed(Message):
        """The live result for draft ``generation`` is ready."""

        def __init__(self, generation: int, result: LiveResult) -> None:
            super().__init__()
            self.generation = generation
            self.result = result

    class ComputeFailed(Message):
        """Segmenting draft ``generation`` failed with a message for the analyst."""

        def __init__(self, generation: int, error: str) -> None:
            super().__init__()
            self.generation = generation
            self.error = error

    class StorageDone(Message):
        """A save / rename / delete finished (``error`` is None on success)."""

        def __init__(self, what: str, name: str, error: str | None, new_name: str | None) -> None:
            super().__init__()
            self.what = what
            self.name = name
            self.error = error
            self.new_name = new_name

    def __init__(self) -> None:
        super().__init__()
        self._saved: dict[str, Any] = {}  # name -> model as last saved/loaded
        self._drafts: dict[str, Any] = {}  # name -> model being edited
        # names deleted or renamed away whose storage write has not finished yet
        self._hidden: set[str] = set()
        self._names: list[str] = []
        self._current: str | None = None
        self._dim_index = 0
        self._generation = 0
        self._shown_generation = -1
        self._debounce: Timer | None = None
        self._last_compute = float("-inf")  # time.monotonic() of the latest compute start
        self._schema: dict[str, Any] | None = None
        self._frame_token: tuple | None = None
        self._form_errors: dict[int, str] = {}
        self.last_result: LiveResult | None = None
        self._levels_cache: LruCache[Any] = LruCache(64)
        self._frame_in_cache: Any = None
        self._busy_timer: Timer | None = None
        self._spin: Timer | None = None
        self._spin_step = 0

    # -- layout ----------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="editor-body"):
            with Vertical(id="model-side"):
                yield Label("Models", classes="pane-title")
                yield OptionList(id="model-list", markup=False)
                yield Label("Dimensions", classes="pane-title", id="dimensions-title")
                yield OptionList(id="dimension-list", markup=False)
                with Horizontal(id="min-size-row"):
                    yield Label("Min segment size", id="min-size-label")
                    yield Input("0", id="min-size", type="integer", compact=True)
                yield Label("", id="min-size-error", classes="field-error", markup=False)
            with Vertical(id="form-pane"):
                yield Label("", id="form-title", classes="pane-title", markup=False)
                yield VerticalScroll(id="form-container")
            with Vertical(id="result-pane"):
                yield Label("", id="result-status", markup=False)
                yield Label("Levels per dimension", classes="pane-title")
                yield FittedTable(id="level-table", cursor_type="row", show_cursor=False)
                yield Label("Segments", classes="pane-title")
                yield FittedTable(id="segment-table", cursor_type="row", show_cursor=False)
        yield Footer()

    # -- state -----------------------------------------------------------------

    @property
    def draft(self) -> Any | None:
        return self._drafts.get(self._current) if self._current else None

    def is_dirty(self, name: str) -> bool:
        return name in self._drafts and self._drafts[name] != self._saved.get(name)

    def refresh_from_state(self) -> None:
        self._load_model_list()

    @work(thread=True, exclusive=True, group="model-list", exit_on_error=False)
    def _load_model_list(self) -> None:
        state = self.state
        names = [n for n in state.model_names() if n not in self._hidden]
        models = {}
        for name in names:
            if name not in self._saved:
                models[name] = state.get_model(name)
        frame = state.frame
        self.app.call_from_thread(
            self._models_loaded, names, models, dict(frame.schema), (id(frame), frame.height)
        )

    def _models_loaded(
        self, names: list[str], models: dict[str, Any], schema: dict, frame_token: tuple
    ) -> None:
        names = [n for n in names if n not in self._hidden]
        models = {n: m for n, m in models.items() if n not in self._hidden}
        schema_changed = schema != self._schema
        self._schema = schema
        self._saved.update(models)
        for name, model in models.items():
            self._drafts.setdefault(name, model)
        # Unsaved new models stay listed after the stored ones.
        extra = [n for n in self._drafts if n not in names and n not in self._saved]
        self._names = names + extra
        if self._current not in self._names:
            active = self.state.active_model
            if active is not None and active.name in self._names:
                self._current = active.name
            else:
                self._current = self._names[0] if self._names else None
            self._dim_index = 0
            self._open_current()
        elif schema_changed and self._typing_in_form():
            # new columns (potential and CLV attached by another screen) while the analyst
            # types: remounting the form would throw the keys into another field. The
            # counts follow the new data; the form picks the columns up when reopened.
            self.schedule_compute(immediate=True)
        elif schema_changed:
            self._open_current()
        elif frame_token != self._frame_token:
            self.schedule_compute(immediate=True)  # new data (an import): same draft, new counts
        self._frame_token = frame_token
        self._show_model_list()

    def _typing_in_form(self) -> bool:
        focused = self.focused
        container = self.query_one("#form-container")
        return focused is not None and container in focused.ancestors

    def _model_prompt(self, name: str) -> str:
        active = self.state.active_model
        marks = ""
        if active is not None and active.name == name:
            marks += " (active)"
        if self.is_dirty(name):
            marks += " *"
        return name + marks

    def _show_model_list(self) -> None:
        options = self.query_one("#model-list", OptionList)
        options.set_options(Option(self._model_prompt(n), id=n) for n in self._names)
        if self._current in self._names:
            options.highlighted = self._names.index(self._current)

    def _refresh_model_prompt(self) -> None:
        if self._current in self._names:
            self.query_one("#model-list", OptionList).replace_option_prompt_at_index(
                self._names.index(self._current), self._model_prompt(self._current)
            )

    def _open_current(self) -> None:
        """Show the dimensions and form of the current model and recompute."""
        model = self.draft
        self._form_errors.clear()
        min_input = self.query_one("#min-size", Input)
        with min_input.prevent(Input.Changed):
            min_input.value = "" if model is None else str(model.min_segment_size)
        self.query_one("#min-size-error", Label).update("")
        self._show_dimension_list()
        self._show_form()
        self.schedule_compute(immediate=True)

    def _show_dimension_list(self) -> None:
        model = self.draft
        options = self.query_one("#dimension-list", OptionList)
        dims = [] if model is None else list(model.dimensions)
        options.set_options(
            Option(f"{i + 1}. {describe_dimension(dim)}", id=str(i)) for i, dim in enumerate(dims)
        )
        if dims:
            self._dim_index = min(max(self._dim_index, 0), len(dims) - 1)
            options.highlighted = self._dim_index
        title = self.query_one("#dimensions-title", Label)
        title.update(f"Dimensions of {self._current}" if self._current else "Dimensions")

    def _show_form(self) -> None:
        container = self.query_one("#form-container", VerticalScroll)
        container.remove_children()
        if self._form_errors:
            # the new form shows the last valid spec: the half-typed text is gone
            self._form_errors.clear()
            self._show_status(self.last_result)
        model = self.draft
        title = self.query_one("#form-title", Label)
        if model is None or not model.dimensions or self._schema is None:
            title.update("No dimension: press a to add one." if model is not None else "")
            return
        dim = model.dimensions[self._dim_index]
        title.update(f"Dimension {self._dim_index + 1}: {describe_dimension(dim)}")
        container.mount(form_for(dim, self._schema, index=self._dim_index))

    def _set_draft(self, model: Any, *, recompute: bool = True) -> None:
        assert self._current is not None
        self._drafts[self._current] = model
        self._refresh_model_prompt()
        if recompute:
            self.schedule_compute()

    # -- list events -----------------------------------------------------------

    @on(OptionList.OptionHighlighted, "#model-list")
    def _model_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        name = event.option.id
        if name is None or name == self._current:
            return
        self._current = name
        self._dim_index = 0
        self._open_current()

    @on(OptionList.OptionSelected, "#model-list")
    def _model_selected(self, event: OptionList.OptionSelected) -> None:
        # Enter opens the model in the editor (its dimensions); u makes it the active one
        name = event.option.id
        if name is not None and name != self._current:
            self._current = name
            self._dim_index = 0
            self._open_current()
        model = self.draft
        if model is not None and model.dimensions:
            self.query_one("#dimension-list", OptionList).focus()
        else:
            self.notify(f"{name}: press a to add a dimension, u to make it the active model.")

    @on(OptionList.OptionHighlighted, "#dimension-list")
    def _dimension_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        index = int(event.option.id or 0)
        if index == self._dim_index and self.query("#form-container > *"):
            return
        self._dim_index = index
        self._show_form()

    @on(OptionList.OptionSelected, "#dimension-list")
    def _dimension_selected(self, event: OptionList.OptionSelected) -> None:
        # enter on a dimension moves into its form
        form = self.query(DimensionForm)
        if form:
            form.first().focus_first_field()

    # -- edits -----------------------------------------------------------------

    def on_dimension_form_edited(self, message: DimensionForm.Edited) -> None:
        message.stop()
        model = self.draft
        if model is None or message.index >= len(model.dimensions):
            return
        if message.spec is None:
            self._form_errors[message.index] = message.error or "invalid"
            self._show_status_note(f"not recomputed: {message.error}")
            return
        self._form_errors.pop(message.index, None)
        dims = list(model.dimensions)
        if dims[message.index] == message.spec:
            return
        dims[message.index] = message.spec
        try:
            edited = dataclasses.replace(model, dimensions=tuple(dims))
        except SegscopeError as exc:  # e.g. two dimensions with one name
            self._form_errors[message.index] = str(exc)
            for form in self.query(DimensionForm):
                form.show_error(str(exc), "name")
            self._show_status_note(f"not recomputed: {exc}")
            return
        self._set_draft(edited)
        options = self.query_one("#dimension-list", OptionList)
        label = f"{message.index + 1}. {describe_dimension(message.spec)}"
        options.replace_option_prompt_at_index(message.index, label)
        self.query_one("#form-title", Label).update(
            f"Dimension {message.index + 1}: {describe_dimension(message.spec)}"
        )

    @on(Input.Changed, "#min-size")
    def _min_size_changed(self, event: Input.Changed) -> None:
        event.stop()
        model = self.draft
        if model is None:
            return
        error_label = self.query_one("#min-size-error", Label)
        text = event.value.strip() or "0"
        try:
            value = int(text)
            if value < 0:
                raise ValueError
        except ValueError:
            error_label.update("a whole number of accounts, 0 or more")
            error_label.add_class("-shown")
            return
        error_label.update("")
        error_label.remove_class("-shown")
        if value != model.min_segment_size:
            self._set_draft(dataclasses.replace(model, min_segment_size=value))

    # -- live compute ------------------------------------------------------------

    def schedule_compute(self, *, immediate: bool = False) -> None:
        """Recompute the draft: at once after a quiet moment, else once the edits pause.

        An edit that comes ``DEBOUNCE_SECONDS`` or more after the latest compute
        started (and with none waiting) computes at once, so a single keystroke
        shows its counts without waiting; edits that follow it closely restart
        the wait, so a burst of typing computes its last state once it pauses.
        """
        waiting = self._debounce is not None
        if waiting:
            self._debounce.stop()
            self._debounce = None
        quiet = not waiting and time.monotonic() - self._last_compute >= self.DEBOUNCE_SECONDS
        if immediate or self.DEBOUNCE_SECONDS <= 0 or quiet:
            self._start_compute()
        else:
            self._debounce = self.set_timer(self.DEBOUNCE_SECONDS, self._start_compute)

    def _start_compute(self) -> None:
        self._debounce = None
        self._last_compute = time.monotonic()
        model = self.draft
        if model is None:
            return
        self._generation += 1
        self._compute(model, self._generation)
        if self._busy_timer is None and self._spin is None:
            self._busy_timer = self.set_timer(BUSY_AFTER_SECONDS, self._show_busy)

    @property
    def computing(self) -> bool:
        """A compute has started whose result is not shown yet."""
        return self._generation > self._shown_generation

    def _show_busy(self) -> None:
        """The compute takes a while: a spinner in the status, the old counts dimmed."""
        self._busy_timer = None
        if not self.computing:
            return
        for table in self.query(FittedTable):
            table.add_class("-stale")
        self._spin_step = 0
        self._spin_once()
        self._spin = self.set_interval(0.1, self._spin_once)
        self.refresh_bindings()

    def _spin_once(self) -> None:
        frame = SPINNER[self._spin_step % len(SPINNER)]
        self._spin_step += 1
        label = self.query_one("#result-status", Label)
        label.set_class(True, "-stale")
        label.update(f"{frame} Computing the segments… (Esc cancels; the counts below "
                     "are of the previous state)")

    def _end_busy(self) -> None:
        if self._busy_timer is not None:
            self._busy_timer.stop()
            self._busy_timer = None
        if self._spin is not None:
            self._spin.stop()
            self._spin = None
        for table in self.query(FittedTable):
            table.remove_class("-stale")
        self.refresh_bindings()

    def cancel_compute(self) -> None:
        """Escape while computing: drop the running compute, keep the last counts."""
        if not self.computing:
            return
        self.workers.cancel_group(self, "segment")
        self._shown_generation = self._generation  # a late result of it is not shown
        self._end_busy()
        self._show_status_note("Cancelled: the counts are of the previous state of the model "
                               "(edit again to recompute).")

    @work(thread=True, exclusive=True, group="segment", exit_on_error=False)
    def _compute(self, model: Any, generation: int) -> None:
        frame = self.state.frame
        self._frame_in_cache = frame  # keeps id(frame) from being reused while cached
        try:
            result = live_result(
                frame, model, cache=self._levels_cache, frame_token=(id(frame), frame.height)
            )
        except SegscopeError as exc:
            from tui.display_names import analyst_text  # issue 12: analyst words

            self.post_message(self.ComputeFailed(generation, analyst_text(str(exc))))
            return
        if not get_current_worker().is_cancelled:
            self.post_message(self.Computed(generation, result))

    def on_model_editor_screen_computed(self, message: Computed) -> None:
        if message.generation < self._shown_generation:
            return
        self._shown_generation = message.generation
        if not self.computing:
            self._end_busy()
        self.last_result = message.result
        result = message.result
        self._fill_result_tables()
        note = f"not recomputed: {next(iter(self._form_errors.values()))}" if (
            self._form_errors
        ) else ""
        self._show_status(result, note)

    def _fill_result_tables(self) -> None:
        result = self.last_result
        if result is None:
            return
        self.query_one("#level-table", FittedTable).show(result.levels, labels=LEVEL_LABELS)
        # short revenue (5.7M): the exact figures are on the Segments screen
        self.query_one("#segment-table", FittedTable).show(
            result.segments, labels=SEGMENT_LABELS, formatters={"revenue": short_number}
        )

    def on_model_editor_screen_compute_failed(self, message: ComputeFailed) -> None:
        if message.generation >= self._shown_generation:
            self._shown_generation = message.generation
            if not self.computing:
                self._end_busy()
            self._show_status_note(f"not recomputed: {message.error}")

    def _show_status(self, result: LiveResult | None, note: str = "") -> None:
        label = self.query_one("#result-status", Label)
        text = ""
        if result is not None:
            text = f"{result.accounts:,} accounts · {result.segments.height} segments"
            if self.SHOW_TIMING:
                text += f" · {result.elapsed_ms:.0f} ms"
            for cluster in result.cluster_notes:
                text += f"\n{cluster}"
        if note:
            text = f"{text}\n{note}" if text else note
        label.set_class(bool(note), "-stale")
        label.update(text)

    def _show_status_note(self, note: str) -> None:
        self._show_status(self.last_result, note)

    # -- model actions -----------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "leave_form":
            if self._spin is not None:
                return True  # Escape cancels the running compute
            focused = self.focused
            return focused is not None and focused.id not in ("model-list", "dimension-list")
        if action in LIST_ACTIONS:
            focused = self.focused
            if focused is not None and focused.id not in ("model-list", "dimension-list"):
                return None  # shown dimmed: the key goes to the field being typed in
        if action in {"rename_model", "duplicate_model", "delete_model", "use_model",
                      "add_dimension", "save_model"} and self._current is None:
            return None
        if action in {"remove_dimension", "move_dimension"}:
            model = self.draft
            if model is None or not model.dimensions:
                return None
        return True

    def action_leave_form(self) -> None:
        if self._spin is not None:
            self.cancel_compute()
            return
        self.query_one("#dimension-list", OptionList).focus()

    def _name_error(self, name: str) -> str | None:
        if name in self._names:
            return f"a model named {name!r} already exists"
        return None

    def _add_new_model(self, model: Any) -> None:
        self._drafts[model.name] = model
        self._names.append(model.name)
        self._current = model.name
        self._dim_index = 0
        self._show_model_list()
        self._open_current()

    def action_new_model(self) -> None:
        from core.model import SegmentationModel

        def done(name: str | None) -> None:
            if name:
                first = new_dimension("abc", self._schema or {})
                self._add_new_model(
                    SegmentationModel(name=name, dimensions=(first,), min_segment_size=0)
                )

        self.app.push_screen(
            PromptDialog("Name of the new model:", validate=self._name_error), done
        )

    def action_duplicate_model(self) -> None:
        model = self.draft
        if model is None:
            return
        suggestion = f"{model.name} copy"
        while suggestion in self._names:
            suggestion += "'"

        def done(name: str | None) -> None:
            if name:
                self._add_new_model(dataclasses.replace(model, name=name))

        self.app.push_screen(
            PromptDialog(f"Duplicate {model.name} as:", value=suggestion,
                         validate=self._name_error),
            done,
        )

    def action_rename_model(self) -> None:
        model = self.draft
        if model is None:
            return
        old = model.name

        def done(new: str | None) -> None:
            if not new or new == old:
                return
            stored = old in self._saved and old in self._stored_names()
            renamed = dataclasses.replace(model, name=new)
            self._drafts.pop(old, None)
            saved = self._saved.pop(old, None)
            self._drafts[new] = renamed
            if saved is not None and stored:
                self._saved[new] = dataclasses.replace(saved, name=new)
            # else: a renamed starter or new model is an unsaved draft until ctrl+s
            self._names[self._names.index(old)] = new
            self._current = new
            self._show_model_list()
            self._refresh_model_prompt()
            if stored:
                self._hidden.add(old)
                self._storage("rename", old, new)

        self.app.push_screen(
            PromptDialog(f"Rename {old} to:", value=old,
                         validate=lambda n: None if n == old else self._name_error(n)),
            done,
        )

    def _starter_names(self) -> set[str]:
        try:
            from core.starter_models import STARTER_MODELS
        except ImportError:
            return set()
        return {model.name for model in STARTER_MODELS}

    def _stored_names(self) -> set[str]:
        return {name for name, _ in self.state.workspace.list_models()}

    def action_delete_model(self) -> None:
        name = self._current
        if name is None:
            return

        def done(yes: bool | None) -> None:
            if not yes:
                return
            stored = name in self._stored_names()
            self._drafts.pop(name, None)
            self._saved.pop(name, None)
            self._names.remove(name)
            self._current = None
            if stored:
                self._hidden.add(name)
                self._storage("delete", name, None)
            elif name in self._starter_names():
                self.notify(f"{name} is a starter model: it stays listed; your unsaved "
                            "changes to it were discarded.")
            else:
                self.notify(f"Discarded unsaved model {name}.")
                self._load_model_list()

        self.app.push_screen(
            ConfirmDialog(f"Delete model {name}? Its segment notes and flags go with it; "
                          "frozen runs are kept."),
            done,
        )

    def action_save_model(self) -> None:
        model = self.draft
        if model is None:
            return
        if self._form_errors:
            index, error = next(iter(self._form_errors.items()))
            self.notify(f"Dimension {index + 1} has an error: {error}", title="Not saved",
                        severity="error")
            return
        self._storage("save", model.name, model)

    def action_use_model(self) -> None:
        name = self._current
        if name is None:
            return
        stored = name in self._stored_names()
        if not self.is_dirty(name):
            if stored:
                self.workbench.activate_model(name)
                self.notify(f"{name} is now the active model.")
            else:  # an untouched starter model: the active model is read from the workspace
                self._storage("save", name, self._drafts[name], activate=True)
            return
        # changes not in the workspace: save or drop them first

        def done(choice: str | None) -> None:
            if choice == "save":
                self._storage("save", name, self._drafts[name], activate=True)
            elif choice == "discard" and self._saved.get(name) is not None:
                self._drafts[name] = self._saved[name]
                self._open_current()
                self._refresh_model_prompt()
                if stored:
                    self.workbench.activate_model(name)
                    self.notify(f"Changes dropped; {name} is now the active model.")
                else:
                    self._storage("save", name, self._drafts[name], activate=True)
            elif choice == "discard":
                self.notify(f"{name} was never saved: there is nothing to use.",
                            severity="warning")

        self.app.push_screen(UnsavedDialog(
            f"Model {name} has unsaved changes. Save them and make it the active model?",
            save_label="Save and use"), done)

    def unsaved_models(self) -> list[str]:
        """Models with changes not in the workspace (new ones included), list order."""
        return [n for n in self._names if self.is_dirty(n)]

    def ask_before_quit(self, then: Any) -> bool:
        """ctrl+q with unsaved models: Save / Discard / Cancel. True when the dialog
        took over (``then()`` runs once it is fine to quit), False when nothing is unsaved."""
        unsaved = self.unsaved_models()
        if not unsaved:
            return False

        def done(choice: str | None) -> None:
            if choice == "discard":
                then()
            elif choice == "save":
                errors = self.save_all(unsaved)
                if errors:
                    self.notify("; ".join(errors), title="Not saved: not quitting",
                                severity="error")
                else:
                    then()

        names = ", ".join(unsaved)
        self.app.push_screen(UnsavedDialog(
            f"Unsaved model changes: {names}. Save before quitting?",
            save_label="Save and quit"), done)
        return True

    def save_all(self, names: list[str]) -> list[str]:
        """Save ``names`` now, on this thread (the app is about to quit); the errors."""
        errors = []
        for name in names:
            try:
                self.state.save_model(self._drafts[name])
                self._saved[name] = self._drafts[name]
            except SegscopeError as exc:
                errors.append(f"{name}: {exc}")
        return errors

    @work(thread=True, group="model-storage", exit_on_error=False)
    def _storage(self, what: str, name: str, arg: Any, *, activate: bool = False) -> None:
        state = self.state
        try:
            if what == "save":
                state.save_model(arg)
            elif what == "rename":
                state.workspace.rename_model(name, arg)
                if state.active_model is not None and state.active_model.name == name:
                    state.set_active_model(arg)
            elif what == "delete":
                state.workspace.delete_model(name)
                if state.active_model is not None and state.active_model.name == name:
                    state.set_active_model(None)
        except SegscopeError as exc:
            self.post_message(self.StorageDone(what, name, str(exc), None))
            return
        self.post_message(self.StorageDone(what, name, None, arg if what == "rename" else None))
        if activate:
            self.app.call_from_thread(self.workbench.activate_model, name)

    def on_model_editor_screen_storage_done(self, message: StorageDone) -> None:
        self._hidden.discard(message.name)
        if message.error:
            self.notify(message.error, title=f"Could not {message.what}", severity="error")
            self._load_model_list()
            return
        if message.what == "save":
            self._saved[message.name] = self._drafts.get(message.name)
            self.notify(f"Saved model {message.name}.")
            active = self.state.active_model
            if active is not None and active.name == message.name:
                self.workbench.recompute_segments()
        elif message.what == "delete":
            self.notify(f"Deleted model {message.name}.")
            self.workbench.recompute_segments()
        elif message.what == "rename":
            self.notify(f"Renamed {message.name} to {message.new_name}.")
            self.workbench.recompute_segments()
        self._load_model_list()

    # -- dimension actions -------------------------------------------------------

    def action_add_dimension(self) -> None:
        model = self.draft
        if model is None:
            return

        def done(kind: str | None) -> None:
            if kind is None:
                return
            current = self.draft
            try:
                dim = new_dimension(kind, self._schema or {}, taken=_names_of(current))
            except SegscopeError as exc:
                self.notify(str(exc), severity="error")
                return
            self._dim_index = len(current.dimensions)
            self._set_draft(
                dataclasses.replace(current, dimensions=(*current.dimensions, dim))
            )
            self._show_dimension_list()
            self._show_form()

        self.app.push_screen(ChoiceDialog("Add a dimension of kind:", KIND_CHOICES), done)

    def action_remove_dimension(self) -> None:
        model = self.draft
        if model is None or not model.dimensions:
            return
        dims = list(model.dimensions)
        if len(dims) == 1:
            self.notify("A model needs at least one dimension: add another one first.",
                        severity="warning")
            return
        dims.pop(self._dim_index)
        self._form_errors.clear()
        self._dim_index = max(0, min(self._dim_index, len(dims) - 1))
        self._set_draft(dataclasses.replace(model, dimensions=tuple(dims)))
        self._show_dimension_list()
        self._show_form()

    def action_move_dimension(self, step: int) -> None:
        model = self.draft
        if model is None or not model.dimensions:
            return
        dims = list(model.dimensions)
        i, j = self._dim_index, self._dim_index + step
        if not 0 <= j < len(dims):
            return
        dims[i], dims[j] = dims[j], dims[i]
        self._dim_index = j
        self._form_errors.clear()
        self._set_draft(dataclasses.replace(model, dimensions=tuple(dims)))
        self._show_dimension_list()
        self._show_form()

    def palette_commands(self) -> list[PaletteCommand]:
        if self._current is None:
            return [PaletteCommand("New model", self.action_new_model)]
        return [
            PaletteCommand(f"Save model {self._current}", self.action_save_model),
            PaletteCommand(f"Use {self._current} as the active model", self.action_use_model),
            PaletteCommand("New model", self.action_new_model),
            PaletteCommand(f"Duplicate {self._current}", self.action_duplicate_model),
            PaletteCommand(f"Rename {self._current}", self.action_rename_model),
            PaletteCommand(f"Delete {self._current}", self.action_delete_model),
            PaletteCommand("Add a dimension", self.action_add_dimension),
        ]


def _names_of(model: Any) -> set[str]:
    return {getattr(dim, "name", "") for dim in model.dimensions}


__all__ = ["ModelEditorScreen"]
