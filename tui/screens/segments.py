"""Segments (key 5): the active model's segment profiles, one segment's
distinguishing traits, notes, the target / maintain / lean flag, and the
drill-down into a segment's accounts.

Profiles come ready-made from ``app.state.profiles`` (the App recomputes them
in a worker and posts ``SegmentsComputed``); this screen only sorts them for
display, computes the traits of the highlighted segment in a thread worker, and
reads and writes annotations through the workspace.
"""

from __future__ import annotations

import importlib.util
from typing import Any

import polars as pl
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import DataTable, Footer, Header, Label, Static
from textual.worker import get_current_worker

from tui.screens import PaletteCommand, WorkbenchScreen
from tui.widgets.keyed_table import KeyedTable, TablePosition
from tui.widgets.segment_accounts import AccountsDialog
from tui.widgets.segment_dialogs import NotesDialog
from tui.widgets.segment_table import fill_table

FLAGS = ("target", "maintain", "lean")
PROFILE_LABELS = {
    "account_share": "% accts",
    "revenue_share": "% rev",
    "margin_pct": "margin %",
    "avg_order_value": "avg order",
    "frequency": "freq",
    "recency_days": "recency d",
    "nrr": "NRR",
    "thin": "!",
}
# fewer accounts than this: a segment's averages and shares rest on too few accounts
TINY_SEGMENT = 10
THIN_MARK = "⚠"


def quote_text(value: str) -> str:
    """A text literal of the expression language (a quote is doubled)."""
    return "'" + value.replace("'", "''") + "'"


def segment_filter(segment: str) -> str:
    """The Accounts filter expression that selects one segment's accounts."""
    return f"segment = {quote_text(segment)}"


def traits_text(traits: pl.DataFrame) -> str:
    """The traits as a bulleted list, strongest first (``phrase`` from core.profile)."""
    if traits.is_empty():
        return "Nothing stands out: this segment looks like the whole customer base."
    if {"column", "kind"} <= set(traits.columns):  # in analyst words (issue 12)
        from tui.display_names import trait_phrase

        return "\n".join(f"• {trait_phrase(row)}" for row in traits.iter_rows(named=True))
    if "phrase" in traits.columns:
        return "\n".join(f"• {phrase}" for phrase in traits["phrase"].to_list())
    return "\n".join("• " + ", ".join(map(str, row)) for row in traits.iter_rows())


# Frame columns derived by core.frame that some dimension kinds read.
DERIVED_INPUTS = {
    "abc": {"abc_class"},
    "rfm": {"rfm_segment", "r_score", "f_score", "m_score"},
    "performance": {"bridge_class"},
}


def model_inputs(model: Any) -> set[str]:
    """The columns a model segments on: a trait that restates them says nothing new."""
    columns: set[str] = set()
    for dim in model.dimensions:
        columns |= set(dim.columns())
        columns |= DERIVED_INPUTS.get(dim.kind, set())
    return columns


def read_annotations(workspace: Any, model_name: str) -> dict[str, dict[str, Any]]:
    """``{segment: {"notes": str|None, "status": str|None}}`` from the workspace."""
    rows = workspace.get_segment_annotations(model_name)
    return {str(row["segment"]): row for row in rows.iter_rows(named=True)}


class SegmentsScreen(WorkbenchScreen):
    """Profile table (sortable), traits of the highlighted segment, notes and flags."""

    CSS_PATH = "segments.tcss"
    BINDINGS = [
        Binding(
            "enter", "drill", "Accounts", id="segments.drill", priority=True,
            tooltip="Show the accounts of the highlighted segment",
        ),
        Binding(
            "t", "flag('target')", "Target", id="segments.flag_target",
            tooltip="Mark the segment as a target (again to clear)",
        ),
        Binding(
            "m", "flag('maintain')", "Maintain", id="segments.flag_maintain",
            tooltip="Mark the segment as maintain (again to clear)",
        ),
        # L, not l: l moves right in every table (the shared key map)
        Binding(
            "L", "flag('lean')", "Lean", id="segments.flag_lean",
            tooltip="Mark the segment as lean service (again to clear)",
        ),
        Binding(
            "e", "edit_notes", "Notes", id="segments.notes",
            tooltip="Edit the notes of the highlighted segment",
        ),
    ]

    class TraitsComputed(Message):
        """The traits of ``segment`` are ready (posted by the traits worker)."""

        def __init__(self, segment: str, traits: pl.DataFrame) -> None:
            super().__init__()
            self.segment = segment
            self.traits = traits

    def __init__(self) -> None:
        super().__init__()
        self._sort: tuple[str, bool] | None = None
        self._segments: list[str] = []
        self._annotations: dict[str, dict[str, Any]] = {}
        self._traits_for: str | None = None
        self._thin_window = False

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="segments-body"):
            with Vertical(id="profiles-pane"):
                yield Label("", id="profiles-title", markup=False)
                yield Static("", id="profiles-caveat", markup=False)
                table = KeyedTable(id="profile-table", cursor_type="cell", zebra_stripes=True,
                                   sort_handler=self.sort_by)
                table.fixed_columns = 1  # the segment stays in view when scrolling right
                yield table
                yield TablePosition("profile-table", id="profiles-position")
            with Vertical(id="traits-pane"):
                yield Label("Distinguishing traits", id="traits-title", markup=False)
                yield Static("", id="traits-list", markup=False)
                yield Label("Notes", id="notes-title")
                yield Static("", id="segment-notes", markup=False)
        yield Footer()

    # -- reading state -------------------------------------------------------

    def refresh_from_state(self) -> None:
        profiles = self.state.profiles
        title = self.query_one("#profiles-title", Label)
        name = self.model_name
        if name is None:
            title.update("No active model: choose one on the Model screen (4).")
            self._show_profiles(None)
            return
        if profiles is None:
            title.update(f"Model {name}: computing segments…")
            self._show_profiles(None)
            return
        self._load_annotations()
        title.update(f"Model {name}: {profiles.height} segments")
        self._show_caveats(profiles)
        self._thin_window = self._comparison_note() is not None
        self._show_profiles(profiles)

    def caveats(self, profiles: pl.DataFrame) -> list[str]:
        """What reads misleadingly in these profiles: growth and NRR against a
        partly covered previous year (the note of ``segscope segment``), tiny segments."""
        out = []
        note = self._comparison_note()
        if note:
            out.append(f"⚠ growth and NRR: {note}")
        if "accounts" in profiles.columns:
            tiny = profiles.filter((pl.col("segment") != "All accounts")
                                   & (pl.col("accounts") < TINY_SEGMENT)).height
            if tiny:
                which = "1 segment has" if tiny == 1 else f"{tiny} segments have"
                out.append(f"{THIN_MARK} in column !: {which} fewer than {TINY_SEGMENT} "
                           "accounts; their averages rest on too few accounts")
        return out

    def _comparison_note(self) -> str | None:
        from tui.widgets.targeting_data import comparison_caveat

        return comparison_caveat(self.state.transactions, self.state.as_of)

    def _show_caveats(self, profiles: pl.DataFrame | None) -> None:
        box = self.query_one("#profiles-caveat", Static)
        lines = self.caveats(profiles) if profiles is not None else []
        box.update("\n".join(lines))
        box.display = bool(lines)

    def _load_annotations(self) -> None:
        name = self.model_name
        try:
            self._annotations = read_annotations(self.state.workspace, name) if name else {}
        except Exception as exc:  # a locked or older workspace must not break the screen
            self._annotations = {}
            self.notify(f"Could not read segment notes: {exc}", severity="warning")

    def display_frame(self, profiles: pl.DataFrame) -> pl.DataFrame:
        """The profiles with the flag and a notes marker, in the chosen sort order."""
        flags = [
            (self._annotations.get(seg) or {}).get("status") or ""
            for seg in profiles["segment"].to_list()
        ]
        notes = [
            "✎" if (self._annotations.get(seg) or {}).get("notes") else ""
            for seg in profiles["segment"].to_list()
        ]
        thin = [
            THIN_MARK if seg != "All accounts" and n is not None and n < TINY_SEGMENT else ""
            for seg, n in zip(
                profiles["segment"].to_list(),
                profiles["accounts"].to_list() if "accounts" in profiles.columns
                else [None] * profiles.height, strict=True)
        ]
        shown = profiles.select(
            pl.col("segment"),
            pl.Series("flag", flags, dtype=pl.Utf8),
            pl.Series("notes", notes, dtype=pl.Utf8),
            pl.Series("thin", thin, dtype=pl.Utf8),
            pl.exclude("segment"),
        )
        if self._sort is not None and self._sort[0] in shown.columns:
            column, descending = self._sort
            shown = shown.sort(column, descending=descending, nulls_last=True, maintain_order=True)
        return shown

    def _show_profiles(self, profiles: pl.DataFrame | None) -> None:
        table = self.query_one("#profile-table", DataTable)
        if profiles is None:
            table.clear(columns=True)
            self._segments = []
            self._show_traits(None, None)
            return
        shown = self.display_frame(profiles)
        self._segments = shown["segment"].to_list()
        labels = dict(PROFILE_LABELS)
        if self._thin_window:  # the header says it where the number is
            labels["growth"] = "growth ⚠"
            labels["nrr"] = "NRR ⚠"
        if self._sort is not None:
            column, descending = self._sort
            labels[column] = f"{labels.get(column, column)} {'▼' if descending else '▲'}"
        fill_table(table, shown, labels=labels)
        self._segment_highlighted()

    # -- the highlighted segment ---------------------------------------------

    @property
    def current_segment(self) -> str | None:
        table = self.query_one("#profile-table", DataTable)
        row = table.cursor_row
        if 0 <= row < len(self._segments):
            return self._segments[row]
        return None

    @on(DataTable.CellHighlighted, "#profile-table")
    def _on_cell_highlighted(self, event: DataTable.CellHighlighted) -> None:
        self._segment_highlighted()

    @on(DataTable.CellSelected, "#profile-table")
    async def _on_cell_selected(self, event: DataTable.CellSelected) -> None:
        event.stop()
        await self.action_drill()

    def _segment_highlighted(self) -> None:
        segment = self.current_segment
        notes = (self._annotations.get(segment) or {}).get("notes") if segment else None
        self.query_one("#segment-notes", Static).update(notes or "(no notes — press e)")
        if segment is not None and segment != self._traits_for:
            self._traits_for = segment
            self.query_one("#traits-title", Label).update(f"Traits of {segment}: computing…")
            self._compute_traits(segment)

    @work(thread=True, exclusive=True, group="traits", exit_on_error=False)
    def _compute_traits(self, segment: str) -> None:
        from core.profile import distinguishing_traits

        state = self.state
        assignments = state.assignments
        if assignments is None:
            return
        model = state.active_model
        exclude = model_inputs(model) if model is not None else set()
        traits = distinguishing_traits(state.frame, assignments, segment, exclude=exclude)
        if not get_current_worker().is_cancelled:
            self.post_message(self.TraitsComputed(segment, traits))

    def on_segments_screen_traits_computed(self, message: TraitsComputed) -> None:
        if message.segment == self.current_segment:
            self._show_traits(message.segment, message.traits)

    def _show_traits(self, segment: str | None, traits: pl.DataFrame | None) -> None:
        listing = self.query_one("#traits-list", Static)
        title = self.query_one("#traits-title", Label)
        if segment is None or traits is None:
            self._traits_for = None
            title.update("Distinguishing traits")
            listing.update("")
            return
        title.update(f"Traits of {segment}")
        listing.update(traits_text(traits))

    # -- actions ---------------------------------------------------------------

    def action_sort(self, descending: bool) -> None:
        table = self.query_one("#profile-table", DataTable)
        if table.columns:
            self.sort_by(str(list(table.columns)[table.cursor_column].value), descending)

    def sort_by(self, column: str, descending: bool) -> None:
        """Sort the profiles by ``column`` (the table's [ and ] keys come here)."""
        table = self.query_one("#profile-table", DataTable)
        profiles = self.state.profiles
        if profiles is None or not table.columns:
            return
        self._sort = (column, descending)
        segment = self.current_segment
        self._show_profiles(profiles)
        if segment in self._segments:
            table.move_cursor(row=self._segments.index(segment), animate=False)

    async def action_drill(self) -> None:
        segment = self.current_segment
        if segment is None:
            return
        show_accounts = getattr(self.app, "show_accounts", None)
        if callable(show_accounts) and importlib.util.find_spec("tui.screens.accounts"):
            await show_accounts(segment_filter(segment))
            return
        members = self.state.frame_with_segments().filter(pl.col("segment") == segment)
        self.app.push_screen(AccountsDialog(f"Segment {segment}", members))

    def action_flag(self, status: str) -> None:
        segment, name = self.current_segment, self.model_name
        if segment is None or name is None:
            return
        current = (self._annotations.get(segment) or {}).get("status")
        new = None if current == status else status
        self._annotations.setdefault(segment, {})["status"] = new
        self._save_annotation(name, segment, status=new, notes=None, set_status=True)
        self._redraw_keep_cursor()

    def action_edit_notes(self) -> None:
        segment, name = self.current_segment, self.model_name
        if segment is None or name is None:
            return
        notes = (self._annotations.get(segment) or {}).get("notes") or ""

        def done(text: str | None) -> None:
            if text is None:
                return
            self._annotations.setdefault(segment, {})["notes"] = text
            self._save_annotation(name, segment, notes=text, status=None, set_status=False)
            self._redraw_keep_cursor()

        self.app.push_screen(NotesDialog(segment, notes), done)

    def _redraw_keep_cursor(self) -> None:
        profiles = self.state.profiles
        if profiles is None:
            return
        table = self.query_one("#profile-table", DataTable)
        row, column = table.cursor_row, table.cursor_column
        self._show_profiles(profiles)
        table.move_cursor(row=row, column=column, animate=False)
        self._segment_highlighted()

    @work(thread=True, group="annotations", exit_on_error=False)
    def _save_annotation(
        self,
        model_name: str,
        segment: str,
        *,
        notes: str | None,
        status: str | None,
        set_status: bool,
    ) -> None:
        ws = self.state.workspace
        if set_status:
            ws.set_segment_annotation(model_name, segment, status=status)
        else:
            ws.set_segment_annotation(model_name, segment, notes=notes)

    def palette_commands(self) -> list[PaletteCommand]:
        segment = self.current_segment
        if segment is None:
            return []
        return [
            PaletteCommand(f"Show accounts of {segment}", self.action_drill),
            PaletteCommand(f"Edit notes of {segment}", self.action_edit_notes),
            *(
                PaletteCommand(f"Mark {segment} as {flag}", lambda f=flag: self.action_flag(f))
                for flag in FLAGS
            ),
        ]
