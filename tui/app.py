"""The segscope workbench: the Textual App, its screens (modes) and workers.

The App owns ``self.state`` (a ``tui.state.WorkbenchState``). Loading and
computing run in thread workers (``load_data``, ``recompute_segments``); when
one finishes, ``on_worker_state_changed`` broadcasts ``DataChanged`` /
``ModelChanged`` / ``SegmentsComputed`` to every open workbench screen, and a
worker that fails becomes one error notification (the app keeps running).

Screens are Textual modes switched with the number keys. The Model, Segments
and Runs screens are imported lazily, so a build without one of them still
starts and shows a placeholder for it.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from textual import work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.command import Provider
from textual.containers import VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen, Screen
from textual.theme import Theme
from textual.worker import Worker, WorkerState

from core.errors import SegscopeError
from tui.config import UserConfig, load_config, save_theme
from tui.messages import DataChanged, ModelChanged, SegmentsComputed
from tui.screens import PlaceholderScreen, WorkbenchScreen

if TYPE_CHECKING:
    from tui.state import WorkbenchState

HELP_PATH = Path(__file__).with_name("help.md")

# The tables wait at most this long for the first screen to paint (load_data).
TABLES_GRACE_S = 2.0

# mode name -> (key, title, module, class). The order is the number-key order.
SCREENS: list[tuple[str, str, str, str, str]] = [
    ("overview", "1", "Overview", "tui.screens.overview", "OverviewScreen"),
    ("accounts", "2", "Accounts", "tui.screens.accounts", "AccountsScreen"),
    ("import", "3", "Import", "tui.screens.import_screen", "ImportScreen"),
    ("model", "4", "Model", "tui.screens.model_editor", "ModelEditorScreen"),
    ("segments", "5", "Segments", "tui.screens.segments", "SegmentsScreen"),
    ("runs", "6", "Runs", "tui.screens.runs", "RunsScreen"),
    ("targeting", "7", "Targeting", "tui.screens.targeting", "TargetingScreen"),
    ("personas", "8", "Personas", "tui.screens.personas", "PersonasScreen"),
    ("plans", "9", "Game plans", "tui.screens.plans", "PlansScreen"),
]
# Screens with a key the footer does not list (it shows "123456789 Screens").
HIDDEN_SCREENS: list[tuple[str, str, str, str, str]] = [
    ("whitespace", "0", "White space", "tui.screens.whitespace", "WhitespaceScreen"),
    ("coverage", "C", "Coverage", "tui.screens.coverage", "CoverageScreen"),
]


# In a narrow footer the number keys show together as "123456 Screens".
SCREEN_KEYS = Binding.Group("Screens", compact=True)


def _screen_factory(title: str, module: str, cls: str) -> Callable[[], Screen]:
    def factory() -> Screen:
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise
            return PlaceholderScreen(title, f"module {module} is missing")
        try:
            return getattr(mod, cls)()
        except Exception as exc:  # a broken screen must not take the workbench down
            import logging

            # the analyst reads a sentence; the exception goes to the log
            logging.getLogger("segscope.tui").error("screen %s failed to start", module,
                                                    exc_info=exc)
            return PlaceholderScreen(title, "it could not start; the details are in the log")

    return factory


def _workbench_commands() -> type[Provider]:
    from tui.commands_palette import WorkbenchCommands

    return WorkbenchCommands


def _help_text() -> str:
    try:
        return HELP_PATH.read_text(encoding="utf-8")
    except OSError:
        return "# segscope\n\nThe help file is missing from this installation."


class HelpScreen(ModalScreen[None]):
    """The help overlay: tui/help.md plus the bindings of the screen it was opened on."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark,f1", "dismiss", "Close", id="help.close",
                tooltip="Close the help screen"),
    ]

    def __init__(self, bindings_table: str) -> None:
        super().__init__()
        self._bindings_table = bindings_table

    def compose(self) -> ComposeResult:
        from textual.widgets import Markdown  # markdown-it costs ~70 ms of start-up: on demand

        with VerticalScroll(id="help-scroll"):
            yield Markdown(_help_text() + "\n" + self._bindings_table, id="help-text")

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(None)


class SegscopeApp(App[int]):
    """The segscope workbench over one open workspace."""

    TITLE = "segscope"
    CSS_PATH = "app.tcss"
    ENABLE_COMMAND_PALETTE = True
    COMMANDS = App.COMMANDS | {_workbench_commands}
    MODES: ClassVar[dict[str, str | Callable[[], Screen]]] = {
        mode: _screen_factory(title, module, cls)
        for mode, _, title, module, cls in SCREENS + HIDDEN_SCREENS
    }
    BINDINGS: ClassVar[list[BindingType]] = [
        *[
            Binding(key, f"switch_mode('{mode}')", title, id=f"screen.{mode}",
                    tooltip=f"Show the {title} screen", group=SCREEN_KEYS)
            for mode, key, title, _, _ in SCREENS
        ],
        *[
            Binding(key, f"switch_mode('{mode}')", title, id=f"screen.{mode}", show=False,
                    tooltip=f"Show the {title} screen")
            for mode, key, title, _, _ in HIDDEN_SCREENS
        ],
        Binding("question_mark,f1", "help", "Help", id="app.help",
                tooltip="Show help: what each screen does and its keys"),
        Binding("ctrl+z", "undo", "Undo", id="app.undo", show=False,
                tooltip="Undo the latest edit (models, segments, personas, plans), any screen"),
        Binding("ctrl+y", "redo", "Redo", id="app.redo", show=False,
                tooltip="Redo the last undone edit"),
    ]

    def __init__(
        self,
        state: WorkbenchState,
        *,
        config: UserConfig | None = None,
        persist_theme: bool = True,
        watch_css: bool = False,
    ) -> None:
        super().__init__(watch_css=watch_css)
        self.state = state
        self.config = config if config is not None else load_config()
        self._persist_theme = persist_theme
        self._listeners: list[WorkbenchScreen] = []
        self._screen_painted = threading.Event()
        self.notices: list[tuple[str, str]] = []  # (severity, message) shown, newest last
        self.title = state.name
        self.sub_title = "loading…"

    # -- start ---------------------------------------------------------------

    def on_mount(self) -> None:
        self._apply_config()
        self.theme_changed_signal.subscribe(self, self._on_theme_changed)
        self.switch_mode("overview")
        self.load_data()

    def _apply_config(self) -> None:
        config = self.config
        if config.error:
            self.notify(config.error, title="Settings", severity="warning", timeout=10)
        if config.theme:
            if config.theme in self.available_themes:
                self.theme = config.theme
            else:
                self.notify(
                    f"settings file {config.path}: unknown theme {config.theme!r}",
                    title="Settings",
                    severity="warning",
                )
        if config.keymap:
            self.set_keymap(config.keymap)

    def _on_theme_changed(self, theme: Theme) -> None:
        if not self._persist_theme or theme.name == self.config.theme:
            return
        self.config.theme = theme.name
        error = save_theme(theme.name, self.config.path)
        if error:
            self.notify(error, title="Settings", severity="warning")

    def notify(self, message: str, *, title: str = "", severity: str = "information",
               **kwargs) -> None:  # type: ignore[override]
        """Show a toast and keep it in ``self.notices`` (the tests and the log read it)."""
        self.notices.append((severity, message))
        super().notify(message, title=title, severity=severity, **kwargs)

    async def action_quit(self) -> None:
        """ctrl+q: a screen with unsaved work (the Model editor) asks first."""
        for screen in list(self._listeners):
            ask = getattr(screen, "ask_before_quit", None)
            if callable(ask) and ask(self.exit):
                return
        self.exit()

    # -- listeners and broadcast --------------------------------------------

    def register_listener(self, screen: WorkbenchScreen) -> None:
        if screen not in self._listeners:
            self._listeners.append(screen)

    def unregister_listener(self, screen: WorkbenchScreen) -> None:
        if screen in self._listeners:
            self._listeners.remove(screen)

    def broadcast(self, make_message: Callable[[], Message]) -> None:
        """Post a fresh message to every open workbench screen (shown or not)."""
        for screen in list(self._listeners):
            screen.post_message(make_message())

    def update_freshness(self) -> None:
        state = self.state
        if state.account_count == 0:
            self.sub_title = "no data yet: press 3 to import"
            return
        parts = []
        if state.as_of is not None:
            parts.append(f"as of {state.as_of.isoformat()}")
        last = state.last_import_time()
        if last:
            parts.append(f"last import {str(last)[:16].replace('T', ' ')}")
        if state.loaded and not parts:
            parts.append("no data yet: press 3 to import")
        self.sub_title = " · ".join(parts)

    # -- workers -------------------------------------------------------------

    @work(thread=True, exclusive=True, exit_on_error=False, group="data", name="load_data")
    def load_data(self) -> str | None:
        """Load (or reload after an import) the frames, the frame and the active model.

        The screens hear about it (``DataChanged`` ...) as soon as the frame and
        the segments are ready. When the frame came from the workspace's cache,
        the tables are read after that, in this worker, once the first screen
        painted (or after ``TABLES_GRACE_S``); a frame built from the tables is
        then kept in the cache for the next start.
        """
        state = self.state
        state.prepare()
        model_name = state.active_model.name if state.active_model is not None else None
        self.call_from_thread(self._announce_loaded, model_name)
        if not state.tables_loaded:
            self._screen_painted.wait(TABLES_GRACE_S)  # the first paint gets the CPU first
            state.load_tables()
        state.save_frame_cache()
        return model_name

    def screen_painted(self) -> None:
        """A screen showed data (the Overview calls this); background loading may go on."""
        self._screen_painted.set()

    def _announce_loaded(self, model_name: str | None) -> None:
        self.update_freshness()
        self.broadcast(DataChanged)
        self.broadcast(lambda: ModelChanged(model_name))
        self.broadcast(lambda: SegmentsComputed(model_name))

    @work(thread=True, exclusive=True, exit_on_error=False, group="segments",
          name="recompute_segments")
    def recompute_segments(self, model_name: str | None = None) -> tuple[str | None, float]:
        """Recompute assignments and profiles (optionally switching the active model first)."""
        import time

        started = time.perf_counter()
        if model_name is not None:
            self.state.set_active_model(model_name)
        self.state.recompute()
        model = self.state.active_model
        return (model.name if model else None, (time.perf_counter() - started) * 1000)

    def reload_data(self) -> None:
        """Re-read the workspace (after an import); screens get DataChanged when done."""
        self.load_data()

    def activate_model(self, name: str) -> None:
        """Make ``name`` the active model; screens get ModelChanged then SegmentsComputed."""
        self.recompute_segments(name)

    def report_worker_failure(self, worker: Worker) -> None:
        """One error notification for a failed worker, in words (tui/failures.py).

        The one place worker failures reach the screen: a SegscopeError's message
        passes (without command-line advice), anything else becomes a sentence that
        says what failed, where and what to do, and goes to the log in full.
        """
        from tui.failures import failure_notice

        error = worker.error
        notice = failure_notice(worker.name, worker.group, error)
        if error is not None and not isinstance(error, SegscopeError):
            self.log.error(f"worker {worker.name} failed", error)
        self.notify(notice.message, title=notice.title, severity="error", timeout=15)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        # Worker.StateChanged does not bubble: screens forward their failures here
        # (WorkbenchScreen.on_worker_state_changed).
        worker = event.worker
        if event.state == WorkerState.ERROR:
            self.report_worker_failure(worker)
            if worker.name == "load_data":
                self.sub_title = "could not load the workspace"
            return
        if event.state != WorkerState.SUCCESS:
            return
        if worker.name == "recompute_segments":
            model_name, elapsed = worker.result
            self.broadcast(lambda: ModelChanged(model_name))
            self.broadcast(lambda: SegmentsComputed(model_name, elapsed))

    # -- navigation ----------------------------------------------------------

    def action_undo(self) -> None:
        from tui.widgets.plan_actions import step_history

        step_history(self, redo=False)

    def action_redo(self) -> None:
        from tui.widgets.plan_actions import step_history

        step_history(self, redo=True)

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        from tui.widgets import plan_actions as actions

        yield from super().get_system_commands(screen)
        yield SystemCommand("Export workspace snapshot…", "Write the whole workspace to one "
                            "portable file", partial(actions.export_snapshot_flow, self))
        yield SystemCommand("Restore snapshot…", "Restore a snapshot file as a new workspace "
                            "and open it", partial(actions.restore_snapshot_flow, self))
        yield SystemCommand("Export playbook…", "Markdown or HTML playbook of the active model",
                            partial(actions.export_playbook_flow, self))
        yield SystemCommand("Undo", "Undo the latest edit (ctrl+z)", self.action_undo)
        yield SystemCommand("Redo", "Redo the last undone edit (ctrl+y)", self.action_redo)

    def action_help(self) -> None:
        if isinstance(self.screen, HelpScreen):
            return
        self.push_screen(HelpScreen(self._bindings_table()))

    def _bindings_table(self) -> str:
        rows = ["## Keys on this screen", "", "| key | action | binding id |", "|---|---|---|"]
        seen: set[str] = set()
        for active in self.screen.active_bindings.values():
            binding = active.binding
            if not binding.description or binding.description in seen:
                continue
            seen.add(binding.description)
            shown = self.get_key_display(binding)
            rows.append(f"| `{shown}` | {binding.description} | {binding.id or ''} |")
        return "\n".join(rows) + "\n"

    async def show_accounts(self, expression: str | None = None,
                            account_id: str | None = None) -> None:
        """Open the Accounts screen, optionally filtered by ``expression`` and/or on one account.

        Used for drill-down from other screens, e.g.
        ``await app.show_accounts('segment == "A1"')``.
        """
        await self.switch_mode("accounts")
        screen = self.screen
        before = str(getattr(screen, "filter_text", "") or "")
        apply = getattr(screen, "apply_filter", None)
        if expression is not None and apply is not None:
            apply(expression)
        select = getattr(screen, "select_account", None)
        if account_id is not None and select is not None:
            select(account_id)
        after = str(getattr(screen, "filter_text", "") or "")
        if before and after != before:
            # a drill never replaces the analyst's filter without saying so
            self.notify(f"Your filter {before} was replaced"
                        + (f" by {after}" if after else " (cleared to show the account)")
                        + ". Press f and type it again to go back.",
                        title="Accounts filter replaced", timeout=10)
