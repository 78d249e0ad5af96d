"""A small labelled number (the Overview totals)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static


class StatTile(Vertical):
    """A label over a big value, with an optional note under it."""

    DEFAULT_CSS = """
    StatTile {
        height: 5;
        width: 1fr;
        min-width: 12;
        border: round $primary 50%;
        padding: 0 1;
    }
    StatTile > .tile-label { color: $text-muted; }
    StatTile > .tile-value { text-style: bold; color: $text; }
    StatTile > .tile-note { color: $text-muted; }
    """

    def __init__(self, label: str, value: str = "…", note: str = "", *, id: str | None = None):
        super().__init__(id=id)
        self._label = label
        self._value = value
        self._note = note

    def compose(self) -> ComposeResult:
        yield Static(self._label, classes="tile-label", markup=False)
        yield Static(self._value, classes="tile-value", markup=False)
        yield Static(self._note, classes="tile-note", markup=False)

    def set(self, value: str, note: str = "") -> None:
        self.query_one(".tile-value", Static).update(value)
        self.query_one(".tile-note", Static).update(note)
