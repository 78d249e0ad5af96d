"""The workbench screens and their shared base class.

Every screen that shows workspace data derives from ``WorkbenchScreen``: it
registers itself with the App while mounted, so the App's ``broadcast`` reaches
it with ``DataChanged`` / ``ModelChanged`` / ``SegmentsComputed``; by default all
three call ``refresh_from_state()`` (once per burst, see ``request_refresh``).
A screen adds palette commands by overriding ``palette_commands()``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, NamedTuple

from textual import events
from textual.app import ComposeResult
from textual.containers import Center, Middle
from textual.screen import Screen
from textual.widgets import Header, Static
from textual.worker import Worker, WorkerState

from tui.messages import DataChanged, ModelChanged, SegmentsComputed
from tui.widgets.footer import WorkbenchFooter

if TYPE_CHECKING:
    from tui.app import SegscopeApp
    from tui.state import WorkbenchState


class PaletteCommand(NamedTuple):
    """One command a screen offers in the command palette (ctrl+p)."""

    title: str
    callback: Callable[[], object]
    help: str = ""


class WorkbenchScreen(Screen):
    """Base of the workbench screens: access to ``app.state`` and the state messages."""

    @property
    def workbench(self) -> SegscopeApp:
        return self.app  # type: ignore[return-value]

    @property
    def state(self) -> WorkbenchState:
        return self.workbench.state

    #: Below this many terminal columns the screen has the ``-narrow`` class
    #: (its .tcss narrows the panes); None: never.
    NARROW_BELOW: int | None = None

    def on_resize(self, event: events.Resize) -> None:
        if self.NARROW_BELOW is not None:
            self.set_class(event.size.width < self.NARROW_BELOW, "-narrow")

    @property
    def model_name(self) -> str | None:
        """The name of the active model, None without one."""
        model = self.state.active_model
        return None if model is None else model.name

    def on_mount(self) -> None:
        self.workbench.register_listener(self)
        if self.state.loaded:
            self.refresh_from_state()

    def on_unmount(self) -> None:
        self.workbench.unregister_listener(self)

    def refresh_from_state(self) -> None:
        """Redraw from ``self.state`` (override); called on mount and on every state message."""

    _refresh_pending = False

    def request_refresh(self) -> None:
        """Call ``refresh_from_state`` once for a burst of state messages.

        A load sends DataChanged, ModelChanged and SegmentsComputed together;
        the refresh runs after the three are handled, not three times.
        """
        if not self._refresh_pending:
            self._refresh_pending = True
            self.call_later(self._run_refresh)

    def _run_refresh(self) -> None:
        self._refresh_pending = False
        self.refresh_from_state()

    def on_data_changed(self, message: DataChanged) -> None:
        self.request_refresh()

    def on_model_changed(self, message: ModelChanged) -> None:
        self.request_refresh()

    def on_segments_computed(self, message: SegmentsComputed) -> None:
        self.request_refresh()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """A failed worker of this screen becomes one error notification (via the App).

        Worker.StateChanged does not bubble, so the App would not see it. A
        screen that overrides this should call ``super().on_worker_state_changed``.
        """
        if event.state == WorkerState.ERROR:
            self.workbench.report_worker_failure(event.worker)

    def palette_commands(self) -> Iterable[PaletteCommand]:
        """Commands for the palette while this screen is shown (override)."""
        return ()


class PlaceholderScreen(WorkbenchScreen):
    """Stands in for a screen whose module is not part of this build yet."""

    def __init__(self, title: str, reason: str) -> None:
        super().__init__()
        self._title = title
        self._reason = reason

    def compose(self) -> ComposeResult:
        yield Header()
        with Middle(), Center():
            yield Static(
                f"The {self._title} screen is not available yet in this build\n"
                f"({self._reason}).",
                markup=False,
                id="placeholder-text",
            )
        yield WorkbenchFooter()
