"""The persona edit form: one line per field, keyboard-complete.

Tab / shift+tab move through the fields, ctrl+s saves, escape cancels. List
fields (traits, goals, ...) are edited as text separated by ``;``. Only the
fields whose text changed are edited (``core.persona.edit_persona``), so only
they lose their ``drafted`` mark; the others stay as drafted.
"""

from __future__ import annotations

from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label

from core.errors import SegscopeError
from core.persona import BUSINESS_FIELDS, PEOPLE_FIELDS, Persona, edit_persona
from tui.widgets.persona_card import DRAFTED_MARK, field_label, value_text


def form_fields(persona: Persona) -> list[str]:
    """The editable paths in display order (plus any extra keys the persona has)."""
    paths = ["name"]
    for section, fields in (("business", BUSINESS_FIELDS), ("people", PEOPLE_FIELDS)):
        extra = [k for k in getattr(persona, section) if k not in fields]
        paths.extend(f"{section}.{k}" for k in (*fields, *extra))
    return paths


def parse_value(old: Any, text: str) -> Any:
    """The typed text as a value of the field's kind (lists split on ``;``)."""
    text = text.strip()
    if isinstance(old, list | tuple):
        return [part.strip() for part in text.split(";") if part.strip()]
    return text or None


def apply_form(persona: Persona, texts: dict[str, str]) -> Persona:
    """``persona`` with every field whose text differs from its current text edited."""
    for path, text in texts.items():
        old = persona.get(path)
        if text.strip() == value_text(old).strip():
            continue
        persona = edit_persona(persona, path, parse_value(old, text))
    return persona


def input_id(path: str) -> str:
    return "pf-" + path.replace(".", "--")


class PersonaForm(ModalScreen[Persona | None]):
    """Edit a persona; dismisses with the edited persona (ctrl+s) or None (escape)."""

    DEFAULT_CSS = """
    PersonaForm {
        align: center middle;
        background: $background 60%;
    }
    PersonaForm > Vertical {
        width: 100;
        max-width: 96%;
        height: 90%;
        border: thick $primary;
        background: $surface;
        padding: 0 1;
    }
    PersonaForm #pf-title { text-style: bold; color: $text-accent; }
    PersonaForm #pf-error { color: $text-error; height: auto; }
    PersonaForm .pf-section { text-style: bold; margin-top: 1; }
    PersonaForm .pf-row { height: 1; }
    PersonaForm .pf-label { width: 26; color: $text-muted; }
    PersonaForm .pf-label.-drafted { color: $text-warning; }
    PersonaForm Input { width: 1fr; background: $boost; }
    PersonaForm #pf-buttons { height: auto; align-horizontal: right; }
    PersonaForm Button { margin-left: 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", "Save", id="persona_form.save", tooltip="Save the persona"),
        Binding("escape", "cancel", "Cancel", id="persona_form.cancel",
                tooltip="Close without saving"),
    ]

    def __init__(self, persona: Persona, title: str) -> None:
        super().__init__()
        self.persona = persona
        self._title = title
        self.paths = form_fields(persona)

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self._title, id="pf-title", markup=False)
            yield Label(
                f"tab: next field · ctrl+s: save · escape: cancel · lists: a; b; c ·"
                f" ({DRAFTED_MARK}): as drafted from the data",
                classes="muted", markup=False,
            )
            yield Label("", id="pf-error", markup=False)
            with VerticalScroll(id="pf-fields"):
                section = None
                for path in self.paths:
                    head = path.partition(".")[0] if "." in path else None
                    if head != section and head is not None:
                        section = head
                        yield Label(head.capitalize(), classes="pf-section")
                    drafted = self.persona.is_drafted(path)
                    label = field_label(path) + (f" ({DRAFTED_MARK})" if drafted else "")
                    with Horizontal(classes="pf-row"):
                        yield Label(label, classes="pf-label" + (" -drafted" if drafted else ""),
                                    markup=False)
                        yield Input(value_text(self.persona.get(path)), id=input_id(path),
                                    select_on_focus=False, compact=True)
            with Horizontal(id="pf-buttons"):
                yield Button("Cancel (esc)", id="pf-cancel")
                yield Button("Save (ctrl+s)", id="pf-save", variant="primary")

    def on_mount(self) -> None:
        self.query_one(f"#{input_id('name')}", Input).focus()

    def texts(self) -> dict[str, str]:
        return {path: self.query_one(f"#{input_id(path)}", Input).value for path in self.paths}

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.focus_next()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "pf-save":
            self.action_save()
        else:
            self.action_cancel()

    def action_save(self) -> None:
        try:
            edited = apply_form(self.persona, self.texts())
        except SegscopeError as exc:
            self.query_one("#pf-error", Label).update(str(exc))
            return
        self.dismiss(edited)

    def action_cancel(self) -> None:
        self.dismiss(None)
