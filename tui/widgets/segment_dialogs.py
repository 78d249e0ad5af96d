"""The notes editor of a segment: a TextArea in a modal."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label, TextArea


class NotesDialog(ModalScreen[str | None]):
    """Edit free-text notes; dismisses with the text on save, None on cancel."""

    DEFAULT_CSS = """
    NotesDialog {
        align: center middle;
        background: $background 60%;
    }
    NotesDialog > Vertical {
        width: 80;
        height: 20;
        border: thick $primary;
        background: $surface;
        padding: 0 1;
    }
    NotesDialog #notes-title {
        text-style: bold;
    }
    NotesDialog TextArea {
        height: 1fr;
    }
    NotesDialog Horizontal {
        height: auto;
        align-horizontal: right;
    }
    NotesDialog Button {
        margin-left: 1;
    }
    """
    BINDINGS = [
        Binding("ctrl+s", "save", "Save", id="notes.save", tooltip="Save the notes"),
        Binding("escape", "cancel", "Cancel", id="notes.cancel", tooltip="Close without saving"),
    ]

    def __init__(self, segment: str, notes: str) -> None:
        super().__init__()
        self.segment = segment
        self.notes = notes

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(f"Notes on {self.segment}", id="notes-title", markup=False)
            yield TextArea(self.notes, id="notes-text", soft_wrap=True)
            with Horizontal():
                yield Button("Cancel (esc)", id="notes-cancel")
                yield Button("Save (ctrl+s)", id="notes-save", variant="primary")

    def on_mount(self) -> None:
        self.query_one(TextArea).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "notes-save":
            self.action_save()
        else:
            self.action_cancel()

    def action_save(self) -> None:
        self.dismiss(self.query_one(TextArea).text)

    def action_cancel(self) -> None:
        self.dismiss(None)
