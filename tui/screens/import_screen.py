"""Import (key 3): read a file, check its mapping, validate, then commit or cancel.

The flow follows ``storage.importer``: the first rows are shown as read, each
source column gets a Select with its recognised target (editable), and
``prepare_import`` validates the whole file without writing anything. Only
``Commit`` calls ``commit_import`` (one transaction, in a thread worker, with
a progress bar); the App then reloads its state and every screen refreshes.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import polars as pl
from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Header, Input, Label, ProgressBar, Select, Static
from textual_fastdatatable import ArrowBackend, DataTable

from storage.mapping import ROW_SOURCE
from tui.screens import PaletteCommand, WorkbenchScreen
from tui.widgets.footer import WorkbenchFooter
from tui.widgets.path_suggester import PathSuggester

KINDS = ("accounts", "transactions", "contacts", "activities")
IGNORE = "__ignore__"
PREVIEW_ROWS = 12
REJECTED_SAMPLE = 8
START_HINT = "Press o, type a path and press Enter: the file is previewed and validated."
IMPORT_SUFFIXES = (".csv", ".tsv", ".txt", ".csv.gz", ".tsv.gz", ".xlsx", ".parquet")
# The pseudo source column "the row number" (storage.mapping.ROW_SOURCE), offered as
# the account id of an accounts file that has none (UCI "Wholesale customers").
ROW_LABEL = "row number (no id)"


def guess_kind(path: Path) -> str:
    """A first guess from the file name; the analyst can change it."""
    name = path.name.lower()
    if any(w in name for w in ("transaction", "invoice", "sales", "order", "lines")):
        return "transactions"
    if any(w in name for w in ("contact", "people", "person")):
        return "contacts"
    if any(w in name for w in ("activit", "task", "event", "engagement", "call", "meeting")):
        return "activities"
    return "accounts"


def target_options(kind: str, column: str) -> list[tuple[str, str]]:
    """The Select options of one source column: ignore, the canonical targets, an attribute."""
    from storage.mapping import attribute_name, targets

    options = [("— ignore —", IGNORE)]
    options += [(t, t) for t in targets(kind)]
    if kind == "accounts":
        attr = attribute_name(column)
        if attr not in targets(kind):
            options.append((f"attribute: {attr}", attr))
    return options


class PathInput(Input):
    """An Input whose Tab accepts the path suggestion (and moves on when there is none)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("tab", "complete", "Complete", id="import.complete", show=False,
                tooltip="Complete the path"),
    ]

    def action_complete(self) -> None:
        before = self.value
        self.cursor_position = len(self.value)
        self.action_cursor_right()  # at the end of the value this accepts the suggestion
        if self.value == before:
            self.screen.focus_next()


class ImportScreen(WorkbenchScreen):
    """Preview, map, validate and commit one file."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("o", "focus_path", "Open file", id="import.path",
                tooltip="Type the path of the file to import"),
        Binding("ctrl+t", "validate", "Validate", id="import.validate",
                tooltip="Validate the whole file with the mapping (writes nothing)"),
        Binding("ctrl+s", "commit", "Commit", id="import.commit",
                tooltip="Write the validated rows to the workspace in one transaction"),
        Binding("escape", "cancel", "Cancel", id="import.cancel",
                tooltip="Leave the box you are typing in; again: forget this import"),
    ]

    # Nothing is focused at first, so the number keys switch screens; o opens the path box.
    AUTO_FOCUS = None

    def __init__(self) -> None:
        super().__init__()
        self._path: Path | None = None
        self._kind = "accounts"
        # True once the analyst picked the kind: a path typed afterwards keeps it
        # (only an unchosen kind is guessed from the file name)
        self._kind_chosen = False
        self._columns: list[str] = []
        self._prepared: Any = None
        self._mapping_version = 0
        self._committing = False

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="import-body"):
            with Horizontal(id="import-file-row"):
                yield Label("File ", id="import-file-label")
                yield PathInput(
                    placeholder="press o, then a CSV, XLSX or Parquet path (Tab completes)",
                    id="import-path",
                    suggester=PathSuggester(suffixes=IMPORT_SUFFIXES),
                    compact=True,
                )
                yield Select(
                    [(k, k) for k in KINDS], value="accounts", allow_blank=False,
                    id="import-kind", compact=True,
                )
            yield Static(START_HINT, id="import-status", markup=False)
            yield Label("Preview: the first rows as read", classes="import-section")
            yield Vertical(id="import-preview-holder")
            with Horizontal(id="import-lower"):
                with Vertical(id="import-mapping-box"):
                    yield Label("Mapping: source column → target", classes="import-section")
                    yield VerticalScroll(id="import-mapping")
                with Vertical(id="import-report-box"):
                    yield Label("Validation", classes="import-section")
                    yield Static("", id="import-report")
            yield ProgressBar(id="import-progress", show_eta=False)
            with Horizontal(id="import-buttons"):
                yield Button("Validate", id="import-validate", variant="default", compact=True)
                yield Button("Commit", id="import-commit", variant="primary", compact=True,
                             disabled=True)
                yield Button("Cancel", id="import-cancel", variant="default", compact=True)
        yield WorkbenchFooter()

    def on_mount(self) -> None:
        self.query_one("#import-progress", ProgressBar).display = False
        super().on_mount()

    # -- choose a file -------------------------------------------------------

    def action_focus_path(self) -> None:
        self.query_one("#import-path", Input).focus()

    @on(Input.Submitted, "#import-path")
    def _path_submitted(self, event: Input.Submitted) -> None:
        self.open_file(event.value)

    def open_file(self, text: str, kind: str | None = None) -> None:
        """Preview ``text`` (a path) and guess its mapping; validation follows."""
        text = text.strip()
        if not text:
            self._set_status("Type the path of a file first.", error=True)
            return
        path = Path(text).expanduser()
        self._path = path
        self._prepared = None
        if kind is None:
            kind = self._kind if self._kind_chosen else guess_kind(path)
        self._kind = kind
        select = self.query_one("#import-kind", Select)
        if select.value != kind:
            with select.prevent(Select.Changed):
                select.value = kind
        self._set_status(f"Reading {path} …")
        self._update_buttons()
        self.load_preview(path, kind)

    @work(thread=True, exclusive=True, exit_on_error=False, group="import-preview")
    def load_preview(self, path: Path, kind: str) -> None:
        from storage.mapping import guess_mapping
        from storage.readers import ROW, iter_batches, sniff_source

        try:
            info = sniff_source(path)
            head = next(iter(iter_batches(info, batch_size=PREVIEW_ROWS)), None)
        except Exception as exc:
            self.app.call_from_thread(self._set_status, _in_words("import-preview", exc),
                                      error=True)
            raise  # the App turns it into an error notification
        if head is None:
            head = pl.DataFrame({ROW: []})
        columns = [c for c in head.columns if c != ROW]
        mapping = guess_mapping(columns, kind)
        preview = head.rename({ROW: "row"}) if ROW in head.columns else head
        self.app.call_from_thread(self._show_preview, path, info.describe(), preview, columns,
                                  mapping)

    async def _show_preview(self, path: Path, described: str, preview: pl.DataFrame,
                            columns: list[str], mapping: Mapping[str, str]) -> None:
        holder = self.query_one("#import-preview-holder")
        await holder.remove_children()
        await holder.mount(
            DataTable(backend=ArrowBackend(preview.to_arrow()), id="import-preview",
                      render_markup=False, null_rep="·", max_column_content_width=24,
                      show_cursor=False)
        )
        self._columns = columns
        if self._kind == "accounts" and "account_id" not in mapping.values():
            # no id column: offer the row number as the id (ignored until chosen)
            self._columns = [*columns, ROW_SOURCE]
        await self._build_mapping(mapping)
        self._set_status(f"{path.name}: {described}, {len(columns)} columns")
        # leave the path box so the number keys switch screens again; Tab walks the mapping
        first = self.query(".map-select")
        if first:
            first.first().focus()
        self.validate()

    async def _build_mapping(self, mapping: Mapping[str, str]) -> None:
        box = self.query_one("#import-mapping", VerticalScroll)
        await box.remove_children()
        self._mapping_version += 1
        rows = []
        for index, column in enumerate(self._columns):
            if column == ROW_SOURCE:
                options = [("— ignore —", IGNORE), ("account_id", "account_id")]
                label = ROW_LABEL
            else:
                options = target_options(self._kind, column)
                label = column
            value = mapping.get(column, IGNORE)
            if value not in {v for _, v in options}:
                options.append((value, value))
            select = Select(options, value=value, allow_blank=False, compact=True,
                            id=f"map-{self._mapping_version}-{index}", classes="map-select")
            select.tooltip = f"Target of source column {label!r}"
            rows.append(
                Horizontal(Label(Text(label), classes="map-source"), select, classes="map-row")
            )
        if rows:
            await box.mount_all(rows)

    def current_mapping(self) -> dict[str, str]:
        """{source column: target} as the Selects show it (ignored columns left out)."""
        mapping: dict[str, str] = {}
        for index, column in enumerate(self._columns):
            selects = self.query(f"#map-{self._mapping_version}-{index}")
            if not selects:
                continue
            value = selects.first(Select).value
            if isinstance(value, str) and value != IGNORE:
                mapping[column] = value
        return mapping

    @on(Select.Changed, "#import-kind")
    async def _kind_changed(self, event: Select.Changed) -> None:
        self._kind_chosen = True
        if self._path is None or event.value == self._kind:
            self._kind = str(event.value)
            return
        self.open_file(str(self._path), kind=str(event.value))

    @on(Select.Changed, ".map-select")
    def _mapping_changed(self, event: Select.Changed) -> None:
        self._prepared = None
        self._update_buttons()
        self.validate()

    # -- validate ------------------------------------------------------------

    def action_validate(self) -> None:
        self.validate()

    def validate(self) -> None:
        if self._path is None or not self._columns:
            return
        self._prepared = None
        self._update_buttons()
        mapping = self.current_mapping()
        missing = missing_required(self._kind, mapping)
        if missing:
            # said here in workbench words (the importer's message advises --map)
            self.query_one("#import-report", Static).update(
                Text(missing_message(self._kind, missing, ROW_SOURCE in self._columns),
                     style="bold red"))
            return
        self.query_one("#import-report", Static).update(Text(f"Validating {self._path.name} …"))
        bar = self.query_one("#import-progress", ProgressBar)
        bar.display = True
        bar.update(total=None, progress=0)
        self.prepare(self._path, self._kind, mapping)

    @work(thread=True, exclusive=True, exit_on_error=False, group="import-prepare")
    def prepare(self, path: Path, kind: str, mapping: dict[str, str]) -> None:
        from storage.importer import prepare_import

        size = _file_size(path)

        def progress(rows_read: int, _total: int) -> None:
            self.app.call_from_thread(self._show_validation_progress, path, rows_read, size)

        try:
            prepared = prepare_import(path, kind, mapping=mapping, progress=progress)
        except Exception as exc:
            self.app.call_from_thread(self._show_prepare_error, exc)
            raise
        self.app.call_from_thread(self._show_report, prepared)

    def _show_validation_progress(self, path: Path, rows_read: int, size: int | None) -> None:
        if self._prepared is not None or self._committing:
            return
        self.query_one("#import-report", Static).update(
            Text(f"Validating {path.name} … {rows_read:,} rows read so far"))

    def _show_prepare_error(self, exc: Exception) -> None:
        self.query_one("#import-progress", ProgressBar).display = False
        self.query_one("#import-report", Static).update(
            Text(_in_words("import-prepare", exc), style="bold red"))

    def _show_report(self, prepared: Any) -> None:
        self.query_one("#import-progress", ProgressBar).display = False
        self._prepared = prepared
        self.query_one("#import-report", Static).update(report_renderable(prepared))
        self._update_buttons()

    # -- commit / cancel -----------------------------------------------------

    def action_commit(self) -> None:
        if self._prepared is None or self._committing:
            if self._prepared is None:
                self.notify("validate the file first (ctrl+t)", severity="warning")
            return
        self._committing = True
        self._update_buttons()
        bar = self.query_one("#import-progress", ProgressBar)
        bar.display = True
        bar.update(total=None, progress=0)
        self.commit(self._prepared)

    @work(thread=True, exclusive=True, exit_on_error=False, group="import-commit")
    def commit(self, prepared: Any) -> None:
        from storage.importer import commit_import

        def progress(done: int, total: int) -> None:
            self.app.call_from_thread(self._show_progress, done, total)

        try:
            report = commit_import(self.state.workspace, prepared, progress=progress)
        except Exception:
            self.app.call_from_thread(self._commit_failed)
            raise
        self.app.call_from_thread(self._committed, report)

    def _show_progress(self, done: float, total: float | None) -> None:
        bar = self.query_one("#import-progress", ProgressBar)
        if total and done < total:
            bar.update(total=total, progress=done)
        elif total:
            # every row is written; the index build and the commit follow
            bar.update(total=None)

    def _commit_failed(self) -> None:
        self._committing = False
        self.query_one("#import-progress", ProgressBar).display = False
        self._update_buttons()

    def _committed(self, report: Any) -> None:
        self._committing = False
        name = self._path.name if self._path else "file"
        self.notify(f"imported {name}: {commit_summary(report)}", title="Import committed")
        self.reset(keep_status=f"Imported {name}: {commit_summary(report)}")
        self.workbench.reload_data()

    def action_cancel(self) -> None:
        if isinstance(self.focused, Input | Select):
            self.set_focus(None)
            return
        if self._committing:
            self.notify("the commit is running; it finishes or rolls back as a whole",
                        severity="warning")
            return
        had = self._path is not None
        self.reset(keep_status="Cancelled: nothing was written." if had else None)

    def reset(self, keep_status: str | None = None) -> None:
        self._path = None
        self._prepared = None
        self._columns = []
        self.query_one("#import-preview-holder").remove_children()
        self.query_one("#import-mapping").remove_children()
        self.query_one("#import-report", Static).update("")
        self.query_one("#import-progress", ProgressBar).display = False
        self._set_status(keep_status or START_HINT)
        self._update_buttons()

    @on(Button.Pressed, "#import-validate")
    def _validate_pressed(self) -> None:
        path = self.query_one("#import-path", Input).value
        if self._path is None or str(self._path) != str(Path(path.strip()).expanduser()):
            self.open_file(path)
        else:
            self.validate()

    @on(Button.Pressed, "#import-commit")
    def _commit_pressed(self) -> None:
        self.action_commit()

    @on(Button.Pressed, "#import-cancel")
    def _cancel_pressed(self) -> None:
        self.action_cancel()

    # -- helpers -------------------------------------------------------------

    def _set_status(self, text: str, *, error: bool = False) -> None:
        status = self.query_one("#import-status", Static)
        status.update(Text(text))
        status.set_class(error, "error-text")

    def _update_buttons(self) -> None:
        commit = self.query_one("#import-commit", Button)
        accepted = report_counts(self._prepared)[0] if self._prepared is not None else 0
        commit.disabled = self._prepared is None or self._committing or accepted == 0

    def palette_commands(self) -> list[PaletteCommand]:
        return [
            PaletteCommand("Validate this file", self.action_validate,
                           "Validate the whole file with the current mapping"),
            PaletteCommand("Commit this import", self.action_commit,
                           "Write the validated rows to the workspace"),
            PaletteCommand("Cancel this import", self.action_cancel, "Nothing is written"),
        ]


# -- checks and words -----------------------------------------------------------

def _in_words(group: str, exc: BaseException) -> str:
    from tui.failures import failure_notice

    return failure_notice(None, group, exc).message


def _file_size(path: Path) -> int | None:
    try:
        return path.stat().st_size
    except OSError:
        return None


def missing_required(kind: str, mapping: Mapping[str, str]) -> list[str]:
    """The targets ``kind`` needs that no source column is mapped to (storage.mapping's rule)."""
    mapped = set(mapping.values())
    needed = ["account_id"]
    if kind == "transactions":
        needed.append("date")
        if "amount" not in mapped and not {"quantity", "unit_price"} <= mapped:
            needed.append("amount")
    return [t for t in needed if t not in mapped]


def missing_message(kind: str, missing: list[str], row_offered: bool) -> str:
    """What to do in the Mapping list when required targets have no column."""
    names = {"account_id": "the account id (account_id)", "date": "the date (date)",
             "amount": "the amount (amount, or quantity and unit_price)"}
    what = " and ".join(names[t] for t in missing)
    text = (f"Not validated: no column of this {kind} file is mapped to {what}. "
            f"In the Mapping list, set the source column that holds it")
    if "account_id" in missing and row_offered:
        text += f", or set '{ROW_LABEL}' to account_id to number the rows"
    if kind != "transactions" and "account_id" in missing:
        article = "an" if kind[0] in "aeiou" else "a"
        text += f"; or choose another kind beside the path if this is not {article} {kind} file"
    return text + "."


# -- reading the importer's results ----------------------------------------------

def report_counts(prepared: Any) -> tuple[int, int]:
    """(accepted, rejected) of a ``storage.importer.PreparedImport``."""
    return int(prepared.rows_accepted), int(prepared.rejected.height)


def report_renderable(prepared: Any) -> Any:
    """Accepted and rejected counts, rejections by reason, and a sample of rejected rows."""
    from rich.console import Group

    from storage.readers import ROW

    accepted, rejected_n = report_counts(prepared)
    parts: list[Any] = []
    head = Text()
    head.append(f"{int(prepared.rows_read):,} rows read · ")
    head.append(f"{accepted:,} accepted", style="bold green" if accepted else "bold")
    head.append(" · ")
    head.append(f"{rejected_n:,} rejected", style="bold red" if rejected_n else "")
    parts.append(head)
    if prepared.ignored:
        parts.append(Text("Ignored columns: " + ", ".join(prepared.ignored), style="dim"))
    for note in prepared.notes:
        parts.append(Text(f"• {note}", style="yellow"))
    rejected = prepared.rejected
    if rejected_n:
        by_rule = (
            rejected.group_by("rule")
            .agg(pl.len().alias("rows"), pl.col("reason").first().alias("example"))
            .sort(["rows", "rule"], descending=[True, False])
        )
        table = Table(title="Rejected by reason", title_justify="left", box=None,
                      padding=(0, 1), header_style="dim")
        table.add_column("rows", justify="right")
        table.add_column("reason")
        table.add_column("for example", overflow="fold")
        for rule, rows, example in by_rule.iter_rows():
            table.add_row(Text(f"{rows:,}"), Text(str(rule)), Text(str(example)))
        parts.append(table)
        parts.append(Text("Sample of rejected rows", style="italic"))
        for row, rule, raw in rejected.head(REJECTED_SAMPLE).select(
            ROW, "rule", "raw_json"
        ).iter_rows():
            line = Text(no_wrap=True, overflow="ellipsis")
            line.append(f" row {row}: ", style="bold")
            line.append(f"{rule}  ")
            line.append(str(raw), style="dim")
            parts.append(line)
    return Group(*parts)


def commit_summary(report: Any) -> str:
    """One line from a ``storage.importer.ImportReport``."""
    if report.no_op:
        return f"already imported (import #{report.previous_import_id}); nothing changed"
    parts = [f"{report.inserted:,} new", f"{report.updated:,} updated"]
    if report.unchanged:
        parts.append(f"{report.unchanged:,} unchanged")
    parts.append(f"{report.rows_rejected:,} rejected")
    if report.stub_accounts:
        parts.append(f"{report.stub_accounts:,} unknown accounts added as stubs")
    return ", ".join(parts)
