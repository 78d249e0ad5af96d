"""The workbench footer: screen keys named in full when there is room, grouped when not."""

from __future__ import annotations

from textual import events
from textual.widgets import Footer

WIDE_ENOUGH = 150  # columns from which "1 Overview 2 Accounts …" fits beside screen keys


class WorkbenchFooter(Footer):
    """A compact footer; the number keys of the screens collapse to "1…6 Screens" when narrow."""

    def __init__(self) -> None:
        super().__init__(compact=True, show_command_palette=True)

    def on_mount(self) -> None:
        self.combine_groups = self.app.size.width < WIDE_ENOUGH

    def on_resize(self, event: events.Resize) -> None:
        combine = self.app.size.width < WIDE_ENOUGH
        if combine != self.combine_groups:
            self.combine_groups = combine
