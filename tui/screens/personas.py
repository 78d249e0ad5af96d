"""Personas (key 8): per segment of the active model, persona cards with a
business part and a people part; draft from data, edit, drift warnings.

``d`` drafts a persona of the highlighted segment from the data
(``core.persona.draft_persona``) or, when it has one, refreshes the drafted
fields of the selected persona (``merge_draft``: the analyst's words are never
overwritten). ``a`` drafts an additional persona. Fields stay marked
``drafted`` until edited (``e`` opens the form). When the data has moved away
from a persona's draft basis, its card says how (``draft_drift``); the drafts
it is compared with are computed in a thread worker per segment.
Every write goes through ``storage.plans`` and is undoable (ctrl+z).
"""

from __future__ import annotations

from typing import Any, ClassVar

import polars as pl
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import DataTable, Header, Label, Static
from textual.worker import get_current_worker

from tui.screens import PaletteCommand, WorkbenchScreen
from tui.widgets.footer import WorkbenchFooter
from tui.widgets.persona_card import PersonaCard
from tui.widgets.persona_form import PersonaForm


def model_columns(model: Any) -> set[str]:
    """The columns the model's own dimensions use (left out of a draft's traits)."""
    out: set[str] = set()
    for dim in getattr(model, "dimensions", ()):
        columns = getattr(dim, "columns", None)
        if callable(columns):
            out.update(columns())
    return out


def draft_for(state: Any, segment: str) -> Any:
    """A fresh draft of ``segment`` from the state's frame, assignments and contacts."""
    from core.persona import draft_persona

    return draft_persona(state.frame, state.assignments, segment, state.contacts,
                         exclude=model_columns(state.active_model))  # fmt: skip


class PersonasScreen(WorkbenchScreen):
    """Segments on the left, the highlighted segment's persona cards on the right."""

    CSS_PATH = "personas.tcss"
    NARROW_BELOW = 100  # columns; below, the panes and the field labels get narrower
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("d", "draft", "Draft from data", id="personas.draft",
                tooltip="Draft a persona of the segment from the data (refreshes drafted fields"
                        " of the selected persona; your edits are kept)"),
        Binding("a", "draft_new", "New draft", id="personas.new",
                tooltip="Draft an additional persona of the segment"),
        Binding("e", "edit", "Edit", id="personas.edit",
                tooltip="Edit the selected persona (tab between fields, ctrl+s saves)"),
        Binding("n", "cycle(1)", "Next persona", id="personas.next",
                tooltip="Select the next persona of the segment"),
        Binding("p", "cycle(-1)", "Prev persona", id="personas.prev", show=False,
                tooltip="Select the previous persona of the segment"),
        Binding("x", "delete", "Delete", id="personas.delete",
                tooltip="Delete the selected persona (ctrl+z brings it back)"),
    ]

    class DraftsReady(Message):
        """Fresh drafts (for drift) of ``segment`` were computed by a worker."""

        def __init__(self, key: tuple, segment: str, draft: Any) -> None:
            super().__init__()
            self.key = key
            self.segment = segment
            self.draft = draft

    class PersonaSaved(Message):
        """A persona was drafted and saved by a worker."""

        def __init__(self, segment: str, persona_id: int, text: str) -> None:
            super().__init__()
            self.segment = segment
            self.persona_id = persona_id
            self.text = text

    def __init__(self) -> None:
        super().__init__()
        self._segments: list[str] = []
        self._personas: dict[str, list[Any]] = {}
        self._selected: dict[str, int] = {}  # segment -> index of the selected persona
        self._drafts: dict[str, Any] = {}  # segment -> fresh draft (for drift), per _drafts_key
        self._drafts_key: tuple | None = None
        self._drafting: set[str] = set()
        self._shown: tuple | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="personas-body"):
            with Vertical(id="personas-left"):
                yield Label("", id="personas-title", markup=False)
                yield DataTable(id="personas-segments", cursor_type="row", zebra_stripes=True)
            with Vertical(id="personas-right"):
                yield Label("", id="personas-cards-title", markup=False)
                yield VerticalScroll(id="personas-cards")
        yield WorkbenchFooter()

    # -- state -----------------------------------------------------------------

    def _key(self) -> tuple:
        # drafts depend on the data, the as-of date and the model's assignments
        return (self.model_name, id(self.state.assignments), id(self.state.frame))

    def refresh_from_state(self) -> None:
        title = self.query_one("#personas-title", Label)
        table = self.query_one("#personas-segments", DataTable)
        name, profiles = self.model_name, self.state.profiles
        if name is None or profiles is None:
            title.update("No active model: choose one on the Model screen (4)."
                         if name is None else f"Model {name}: computing segments…")
            table.clear(columns=True)
            self._segments = []
            self._show_cards()
            return
        if self._drafts_key != self._key():
            self._drafts, self._drafts_key = {}, self._key()
        self._load_personas()
        counts = dict(zip(profiles["segment"].cast(pl.Utf8).to_list(),
                          profiles["accounts"].to_list(), strict=True))  # fmt: skip
        segments = list(counts)
        current = self.current_segment
        title.update(f"Model {name}: {len(segments)} segments")
        table.clear(columns=True)
        table.add_columns("segment", "accts", "personas")  # "accts": fits 80 columns
        for seg in segments:
            n = len(self._personas.get(seg, []))
            table.add_row(Text(seg), Text(f"{counts[seg]:,}", justify="right"),
                          Text(str(n) if n else "–", justify="right"), key=seg)  # fmt: skip
        self._segments = segments
        if current in segments:
            table.move_cursor(row=segments.index(current), animate=False)
        self._show_cards()

    def _load_personas(self) -> None:
        from storage.plans import list_personas

        name = self.model_name
        grouped: dict[str, list[Any]] = {}
        if name is not None:
            for stored in list_personas(self.state.workspace, name):
                grouped.setdefault(stored.persona.segment, []).append(stored)
        self._personas = grouped

    @property
    def current_segment(self) -> str | None:
        table = self.query_one("#personas-segments", DataTable)
        row = table.cursor_row
        return self._segments[row] if 0 <= row < len(self._segments) else None

    def selected_persona(self) -> Any | None:
        segment = self.current_segment
        personas = self._personas.get(segment or "", [])
        if not personas:
            return None
        index = min(self._selected.get(segment or "", 0), len(personas) - 1)
        return personas[index]

    # -- cards -----------------------------------------------------------------

    def _show_cards(self) -> None:
        from core.persona import draft_drift

        holder = self.query_one("#personas-cards", VerticalScroll)
        title = self.query_one("#personas-cards-title", Label)
        segment = self.current_segment
        selected_now = self.selected_persona()
        # a card has ~80 widgets: rebuild only when what it shows changed
        stored = self._personas.get(segment or "", [])
        shown = (segment, selected_now.id if selected_now else None,
                 tuple((p.id, p.updated_at, p.persona) for p in stored),
                 id(self._drafts.get(segment or "")))  # fmt: skip
        if shown == self._shown:
            return
        self._shown = shown
        holder.remove_children()
        if segment is None:
            title.update("Personas")
            return
        personas = self._personas.get(segment, [])
        draft = self._drafts.get(segment)
        if not personas:
            title.update(f"Personas of {segment}")
            holder.mount(Static("No persona yet: press d to draft one from the data.",
                                classes="muted", markup=False))  # fmt: skip
            return
        selected = self.selected_persona()
        check = "" if draft is not None else " · checking the data for drift…"
        title.update(f"Personas of {segment} ({len(personas)}){check}")
        if draft is None and segment not in self._drafting:
            self._compute_draft(self._key(), segment)
        cards = []
        for stored in personas:
            drift = draft_drift(stored.persona, draft) if draft is not None else []
            card = PersonaCard(stored.persona, stored.id, drift)
            if selected is not None and stored.id == selected.id:
                card.add_class("-selected")
            cards.append(card)
        holder.mount_all(cards)

    @on(DataTable.RowHighlighted, "#personas-segments")
    def _on_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_cards()

    @work(thread=True, exclusive=True, group="persona-drafts", exit_on_error=False)
    def _compute_draft(self, key: tuple, segment: str) -> None:
        self._drafting.add(segment)
        try:
            draft = draft_for(self.state, segment)
        finally:
            self._drafting.discard(segment)
        if not get_current_worker().is_cancelled:
            self.post_message(self.DraftsReady(key, segment, draft))

    def on_personas_screen_drafts_ready(self, message: DraftsReady) -> None:
        if message.key != self._drafts_key:
            return
        self._drafts[message.segment] = message.draft
        if message.segment == self.current_segment:
            self._show_cards()

    # -- actions -----------------------------------------------------------------

    def action_cycle(self, step: int) -> None:
        segment = self.current_segment
        personas = self._personas.get(segment or "", [])
        if segment is None or len(personas) < 2:
            return
        self._selected[segment] = (self._selected.get(segment, 0) + step) % len(personas)
        self._show_cards()

    def action_draft(self) -> None:
        self._start_draft(new=False)

    def action_draft_new(self) -> None:
        self._start_draft(new=True)

    def _start_draft(self, *, new: bool) -> None:
        segment, name = self.current_segment, self.model_name
        if segment is None or name is None:
            self.notify("No segment to draft a persona for.", severity="warning")
            return
        selected = None if new else self.selected_persona()
        self.notify(f"Drafting a persona of {segment} from the data…", timeout=3)
        self._draft_and_save(name, segment, None if selected is None else selected.id)

    @work(thread=True, group="persona-write", exit_on_error=False)
    def _draft_and_save(self, model_name: str, segment: str, persona_id: int | None) -> None:
        from core.persona import draft_drift, merge_draft
        from storage.plans import get_persona, save_persona

        ws = self.state.workspace
        draft = draft_for(self.state, segment)
        if persona_id is None:
            pid = save_persona(ws, model_name, draft)
            text = f"Persona #{pid} drafted for {segment}: fields marked 'drafted' until you edit"
        else:
            old = get_persona(ws, persona_id).persona
            drift = draft_drift(old, draft)
            pid = save_persona(ws, model_name, merge_draft(old, draft), persona_id)
            text = f"Persona #{pid}: drafted fields refreshed, your edits kept"
            if drift:
                text += " (data moved: " + "; ".join(drift) + ")"
        self.post_message(self.PersonaSaved(segment, pid, text))

    def on_personas_screen_persona_saved(self, message: PersonaSaved) -> None:
        self.notify(message.text, timeout=6)
        self._reload_keep(message.segment, message.persona_id)

    def _reload_keep(self, segment: str, persona_id: int | None) -> None:
        self.refresh_from_state()
        if persona_id is not None:
            ids = [p.id for p in self._personas.get(segment, [])]
            if persona_id in ids:
                self._selected[segment] = ids.index(persona_id)
        if segment in self._segments:
            table = self.query_one("#personas-segments", DataTable)
            table.move_cursor(row=self._segments.index(segment), animate=False)
        self._show_cards()

    def action_edit(self) -> None:
        stored = self.selected_persona()
        if stored is None:
            self.notify("No persona to edit: press d to draft one.", severity="warning")
            return
        segment = self.current_segment

        def done(edited: Any) -> None:
            if edited is None or edited == stored.persona:
                return
            from storage.plans import save_persona

            save_persona(self.state.workspace, stored.model_name, edited, stored.id)
            self.notify(f"Persona #{stored.id} saved (ctrl+z undoes)", timeout=4)
            self._reload_keep(segment or stored.persona.segment, stored.id)

        self.app.push_screen(
            PersonaForm(stored.persona, f"Persona #{stored.id} of {stored.persona.segment}"), done
        )

    def action_delete(self) -> None:
        from storage.plans import delete_persona

        stored = self.selected_persona()
        if stored is None:
            return
        delete_persona(self.state.workspace, stored.id)
        self.notify(f"Persona #{stored.id} deleted (ctrl+z brings it back)", timeout=5)
        self._selected[stored.persona.segment] = 0
        self._reload_keep(stored.persona.segment, None)

    def palette_commands(self) -> list[PaletteCommand]:
        segment = self.current_segment
        if segment is None:
            return []
        commands = [
            PaletteCommand(f"Draft a persona of {segment} from the data", self.action_draft),
            PaletteCommand(f"Draft an additional persona of {segment}", self.action_draft_new),
        ]
        for stored in self._personas.get(segment, []):
            commands.append(PaletteCommand(
                f"Open persona #{stored.id} {stored.persona.name}",
                lambda sid=stored.id: self._open_persona(sid),
            ))  # fmt: skip
        return commands

    def _open_persona(self, persona_id: int) -> None:
        segment = self.current_segment or ""
        ids = [p.id for p in self._personas.get(segment, [])]
        if persona_id in ids:
            self._selected[segment] = ids.index(persona_id)
            self._show_cards()
            self.action_edit()
