"""A small modal that asks for one line of text (a file path, a name)."""

from __future__ import annotations

from typing import ClassVar

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.suggester import Suggester
from textual.widgets import Input, Label


class PromptScreen(ModalScreen[str | None]):
    """Ask for a value; Enter returns it, Escape returns None."""

    DEFAULT_CSS = """
    PromptScreen { align: center middle; }
    PromptScreen > Vertical {
        width: 70%;
        max-width: 90;
        height: auto;
        border: round $primary;
        background: $surface;
        padding: 0 1;
    }
    PromptScreen Label { margin: 1 0 0 0; }
    PromptScreen .prompt-hint { color: $text-muted; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="prompt.cancel", tooltip="Close without acting"),
    ]

    def __init__(
        self,
        question: str,
        value: str = "",
        *,
        hint: str = "Enter to confirm, Escape to cancel",
        suggester: Suggester | None = None,
    ) -> None:
        super().__init__()
        self._question = question
        self._value = value
        self._hint = hint
        self._suggester = suggester

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self._question, markup=False)
            yield Input(self._value, id="prompt-input", suggester=self._suggester)
            yield Label(self._hint, classes="prompt-hint", markup=False)

    AUTO_FOCUS = "#prompt-input"

    def on_mount(self) -> None:
        box = self.query_one(Input)
        box.focus()
        # a prefilled value (a default path) is selected: what the analyst types replaces it
        box.select_all()

    def on_key(self, event: events.Key) -> None:
        # keys typed before the box had focus (a path typed quickly) still go into it
        box = self.query_one(Input)
        if self.focused is box or not event.is_printable or event.character is None:
            return
        event.stop()
        event.prevent_default()
        box.focus()
        start, end = sorted(box.selection)
        if start != end:  # the selected default is replaced, as typing into the box would
            box.delete_selection()
        box.insert_text_at_cursor(event.character)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.dismiss(event.value.strip() or None)

    def action_cancel(self) -> None:
        self.dismiss(None)
