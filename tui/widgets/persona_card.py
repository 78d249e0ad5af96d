"""A persona shown as a card: the business part, the people part, drafted marks, drift.

Fields still as drafted from the data carry a ``drafted`` mark (theme colour
``$text-warning``) until the analyst edits them; a persona whose draft basis the
data has moved away from gets a warning line per change (``core.persona.draft_drift``).
Values are shown without markup, so text such as ``[b]`` typed by an analyst
is shown as typed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Label, Static

from core.persona import BUSINESS_FIELDS, PEOPLE_FIELDS, Persona

DRAFTED_MARK = "drafted"

FIELD_LABELS = {
    "name": "Name",
    "summary": "Summary",
    "traits": "Traits",
    "industry": "Industry",
    "region": "Region",
    "typical_employees": "Employees",
    "typical_revenue": "Turnover",
    "buying_driver": "Buying driver",
    "offer_type": "Offer",
    "collaboration": "Collaboration",
    "purchasing_organisation": "Purchasing",
    "buying_center_size": "Buying centre",
    "sales_logic": "Sales logic",
    "role": "Role",
    "buying_centre_size": "Buying centre",
    "decision_roles": "Decision roles",
    "functions": "Functions",
    "seniority": "Seniority",
    "channels": "Channels",
    "influence": "Influence",
    "goals": "Goals",
    "pains": "Pains",
    "buying_criteria": "Buying criteria",
    "quote": "Quote",
}


def field_label(path: str) -> str:
    key = path.rpartition(".")[2]
    return FIELD_LABELS.get(key, key.replace("_", " ").capitalize())


def value_text(value: Any) -> str:
    """A field value as one line of text (lists joined with "; ")."""
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return "; ".join(str(v) for v in value)
    return str(value)


def shown_text(path: str, value: Any) -> str:
    """A field as the card shows it: drafted traits and texts in the analyst's words
    (tui/display_names.py); the stored text (and the edit form) keep what was written."""
    from tui.display_names import analyst_text, phrase_text

    if isinstance(value, list | tuple):
        convert = phrase_text if path.endswith(".traits") else analyst_text
        return "; ".join(convert(str(v)) for v in value)
    return analyst_text(value_text(value))


def persona_plain(persona: Persona, drift: Sequence[str] = ()) -> str:
    """The card as plain text lines (what the tests and the help read)."""
    lines = [persona.name + (f"  {DRAFTED_MARK}" if persona.is_drafted("name") else "")]
    lines += [f"⚠ data moved since the draft: {note}" for note in drift]
    for heading, _section, path in card_fields(persona):
        if path is None:
            lines.append(heading)
            continue
        mark = f"  {DRAFTED_MARK}" if persona.is_drafted(path) else ""
        lines.append(f"  {field_label(path)}: {shown_text(path, persona.get(path)) or '–'}{mark}")
    return "\n".join(lines)


def card_fields(persona: Persona) -> list[tuple[str, str, str | None]]:
    """(heading, section, path) in display order; path None marks a section heading."""
    out: list[tuple[str, str, str | None]] = []
    for heading, section, fields in (("Business", "business", BUSINESS_FIELDS),
                                     ("People", "people", PEOPLE_FIELDS)):  # fmt: skip
        out.append((heading, section, None))
        values = getattr(persona, section)
        extra = [k for k in values if k not in fields]
        out.extend((heading, section, f"{section}.{k}") for k in (*fields, *extra) if k in values)
    return out


class PersonaCard(Vertical):
    """One persona: title, drift warnings, one row per field with its drafted mark.

    ``-selected`` when it is the persona ``e`` edits.
    """

    DEFAULT_CSS = """
    PersonaCard {
        border: round $primary-background;
        padding: 0 1;
        margin-bottom: 1;
        height: auto;
    }
    PersonaCard.-selected { border: round $accent; }
    PersonaCard .pc-title { text-style: bold; color: $text-accent; width: 1fr; }
    PersonaCard .pc-drift { color: $text-error; }
    PersonaCard .pc-heading { text-style: bold; }
    PersonaCard .pc-row { height: auto; }
    PersonaCard .pc-label { width: 19; padding-left: 2; color: $text-muted; }
    PersonaCard .pc-value { width: 1fr; }
    PersonaCard .pc-mark { width: 9; padding-left: 1; color: $text-warning; text-style: italic; }
    """

    def __init__(
        self, persona: Persona, persona_id: int, drift: Sequence[str] = (), **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.persona = persona
        self.persona_id = persona_id
        self.drift = list(drift)
        self.border_title = f"#{persona_id}"

    def _mark(self, path: str) -> Label:
        return Label(DRAFTED_MARK if self.persona.is_drafted(path) else "", classes="pc-mark")

    def compose(self) -> ComposeResult:
        p = self.persona
        with Horizontal(classes="pc-row"):
            yield Label(p.name or "(unnamed persona)", classes="pc-title", markup=False)
            yield self._mark("name")
        for note in self.drift:
            yield Label(f"⚠ data moved since the draft: {note}", classes="pc-drift",
                        markup=False)  # fmt: skip
        for heading, _section, path in card_fields(p):
            if path is None:
                yield Label(heading, classes="pc-heading")
                continue
            with Horizontal(classes="pc-row"):
                yield Label(field_label(path), classes="pc-label", markup=False)
                yield Static(shown_text(path, p.get(path)) or "–", classes="pc-value",
                             markup=False)
                yield self._mark(path)

    def plain(self) -> str:
        return persona_plain(self.persona, self.drift)
