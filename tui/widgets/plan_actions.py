"""Workbench-wide actions of issue 6, called from the App's bindings and palette:
undo / redo (``storage.history``), workspace snapshot export and restore
(``storage.snapshot``) and playbook export (``core.playbook`` through
``tui.commands.playbook.build_playbook``).

Each runs its work in a thread worker of the App (``app.run_worker``); a
failure becomes the App's usual error notification (a ``SegscopeError``'s
message as it is). Success is reported with ``call_from_thread``.
"""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.errors import SegscopeError

if TYPE_CHECKING:
    from tui.app import SegscopeApp

SNAPSHOT_SUFFIX = ".segsnap"
_history_lock = threading.Lock()  # one undo/redo at a time on the shared connection


# -- undo / redo -------------------------------------------------------------


def describe_edit(edit: Any) -> str:
    """What an edit touched and what was done, e.g. "persona #3 Erik (changed)"."""
    key = edit.key if isinstance(edit.key, dict) else {}
    about = getattr(edit, "about", None) or {}
    entity = edit.entity
    if entity == "persona" and "id" in key:
        what = f"persona #{key['id']}" + (f" {about['name']}" if about.get("name") else "")
    elif entity == "kpi" and "id" in key:
        what = f"KPI #{key['id']}"
        if about.get("metric") and about.get("segment"):
            what += f" ({about['metric']} of {about['segment']})"
    elif entity == "plan" and "segment" in key:
        what = f"game plan of {key['segment']}"
    elif entity == "segment" and "segment" in key:
        what = f"notes / flag of segment {key['segment']}"
    elif entity == "model" and "name" in key:
        what = f"model {key['name']}"
    else:
        return edit.summary
    action = getattr(edit, "action", "")
    return f"{what} ({action})" if action else what


def step_history(app: SegscopeApp, *, redo: bool) -> None:
    """Undo (or redo) the latest edit in a worker, then refresh every screen."""
    from textual.screen import ModalScreen

    from storage import history

    verb = "redo" if redo else "undo"
    if isinstance(app.screen, ModalScreen):
        # a form holds the values it was opened with: saving it after an undo would redo it
        app.notify(f"Close the dialog first (escape), then {verb}.", title=verb.capitalize(),
                   severity="warning", timeout=4)  # fmt: skip
        return

    def run() -> None:
        state = app.state
        with _history_lock:
            edit = history.redo(state.workspace) if redo else history.undo(state.workspace)
            model_changed = edit is not None and edit.entity == "model"
            if model_changed:
                # the model's spec (or the model itself) changed: re-read and recompute
                current = state.active_model.name if state.active_model else None
                state.set_active_model(current if current in state.model_names() else None)
                state.recompute()
        app.call_from_thread(_after_history, app, verb, edit, model_changed)

    app.run_worker(run, thread=True, group="history", name=verb, exit_on_error=False)


def _after_history(app: SegscopeApp, verb: str, edit: Any, model_changed: bool) -> None:
    from tui.messages import ModelChanged, SegmentsComputed

    if edit is None:
        app.notify(f"Nothing to {verb}.", title=verb.capitalize(), timeout=3)
        return
    done = "Redone" if verb == "redo" else "Undone"
    app.notify(f"{done}: {describe_edit(edit)}", title=verb.capitalize(), timeout=5)
    model = app.state.active_model
    name = model.name if model is not None else None
    if model_changed:
        app.broadcast(lambda: ModelChanged(name))
    app.broadcast(lambda: SegmentsComputed(name))


# -- snapshots -----------------------------------------------------------------


def _prompt(app: SegscopeApp, question: str, value: str, callback: Any,
            suffixes: tuple[str, ...] = ()) -> None:  # fmt: skip
    from tui.widgets.path_suggester import PathSuggester
    from tui.widgets.prompt import PromptScreen

    app.push_screen(
        PromptScreen(question, value, hint="Tab completes the path · Enter confirms · "
                     "Escape cancels", suggester=PathSuggester(suffixes=suffixes)),
        callback,
    )  # fmt: skip


def _confirm(app: SegscopeApp, question: str, yes: str, callback: Any) -> None:
    from tui.widgets.model_dialogs import ConfirmDialog

    app.push_screen(ConfirmDialog(question, yes_label=yes), callback)


def default_export_dir() -> Path:
    """Where every export of the workbench goes unless the analyst types another folder:
    the current folder, which they can see (the workspace may live in a hidden data folder)."""
    return Path.cwd()


def default_snapshot_path(ws_path: Path, today: dt.date | None = None) -> Path:
    day = (today or dt.date.today()).isoformat()
    return default_export_dir() / f"{ws_path.stem}-{day}{SNAPSHOT_SUFFIX}"


def export_snapshot_flow(app: SegscopeApp) -> None:
    """Ask for a file, then write a snapshot of the open workspace to it (in a worker)."""
    ws_path = Path(app.state.workspace.path)

    def chosen(text: str | None) -> None:
        if not text:
            return
        out = Path(text).expanduser()
        if out.exists():
            _confirm(app, f"{out} exists.\nReplace it with a new snapshot?", "Replace",
                     lambda yes: yes and export_snapshot_to(app, out, overwrite=True))
            return
        export_snapshot_to(app, out)

    _prompt(app, "Export a snapshot of this workspace to:", str(default_snapshot_path(ws_path)),
            chosen, (SNAPSHOT_SUFFIX,))  # fmt: skip


def export_snapshot_to(app: SegscopeApp, out: Path, *, overwrite: bool = False) -> None:
    from storage.snapshot import export_snapshot

    ws_path = Path(app.state.workspace.path)
    app.notify(f"Writing the snapshot {out}…", title="Snapshot", timeout=3)

    def run() -> None:
        manifest = export_snapshot(ws_path, out, overwrite=overwrite)
        rows = sum(manifest.tables.values())
        app.call_from_thread(
            app.notify,
            f"Snapshot written: {out} ({len(manifest.tables)} tables, {rows:,} rows, "
            f"sha256 {manifest.sha256[:12]}…)",
            title="Snapshot", timeout=8,
        )  # fmt: skip

    app.run_worker(run, thread=True, group="snapshot", name="snapshot export",
                   exit_on_error=False)  # fmt: skip


def restore_snapshot_flow(app: SegscopeApp) -> None:
    """Ask for a snapshot and a new workspace file; validate, confirm, restore, offer to open.

    The open workspace cannot be replaced while this app has it open (the
    restore would fail as busy), so the target must be another file.
    """
    from storage.snapshot import read_manifest

    open_path = Path(app.state.workspace.path).resolve()

    def snapshot_chosen(text: str | None) -> None:
        if not text:
            return
        snap = Path(text).expanduser()
        # the snapshot is validated in a worker (a large one takes seconds): say so at once
        app.notify(f"Checking {snap.name}…", title="Restore", timeout=3)

        def check() -> None:
            try:
                manifest = read_manifest(snap)
            except SegscopeError as exc:
                app.call_from_thread(app.notify, str(exc), title="Restore", severity="error",
                                     timeout=10)  # fmt: skip
                return
            app.call_from_thread(ask_target, snap, manifest)

        app.run_worker(check, thread=True, group="snapshot", name="snapshot check",
                       exit_on_error=False)  # fmt: skip

    def ask_target(snap: Path, manifest: Any) -> None:
        default = snap.with_name(f"{snap.stem}-restored.segscope")
        _prompt(app, f"Restore {snap.name} as the new workspace file (it opens when done):",
                str(default), lambda t: target_chosen(snap, manifest, t))  # fmt: skip

    def target_chosen(snap: Path, manifest: Any, text: str | None) -> None:
        if not text:
            return
        target = Path(text).expanduser()
        if target.resolve() == open_path:
            app.notify(
                f"{target} is the workspace open in this window: it cannot be replaced while it "
                "is open. Restore to a new file name instead (it opens when done).",
                title="Restore", severity="error", timeout=15,
            )  # fmt: skip
            return
        exists = target.exists()
        accounts = manifest.tables.get("accounts", 0)
        question = (f"Restore {snap.name}\n({accounts:,} accounts, schema "
                    f"{manifest.schema_version})\nto {target}"
                    + ("\nreplacing that existing workspace?" if exists else "?"))  # fmt: skip
        _confirm(app, question, "Replace" if exists else "Restore",
                 lambda yes: yes and restore_to(app, snap, target, force=exists))  # fmt: skip

    _prompt(app, "Restore which snapshot file?", "", snapshot_chosen, (SNAPSHOT_SUFFIX,))


def restore_to(app: SegscopeApp, snap: Path, target: Path, *, force: bool = False) -> None:
    from storage.snapshot import restore_snapshot

    app.notify(f"Checking and restoring {snap.name}…", title="Restore", timeout=3)

    def run() -> None:
        restore_snapshot(snap, target, force=force)
        app.call_from_thread(_opened_after_restore, app, target)

    app.run_worker(run, thread=True, group="snapshot", name="snapshot restore",
                   exit_on_error=False)  # fmt: skip


def _opened_after_restore(app: SegscopeApp, target: Path) -> None:
    """The restore was asked for as "restore and open": open it, no second question."""
    app.notify(f"Restored to {target}; opening it.", title="Restore", timeout=8)
    open_workspace(app, target)


def open_workspace(app: SegscopeApp, path: Path) -> None:
    """Switch the App to the workspace at ``path``: new state, reload, every screen refreshes.

    The previous workspace's connection stays open until the app exits (a
    worker may still be reading it).
    """
    from storage.workspace import Workspace
    from tui.state import WorkbenchState

    try:
        ws = Workspace.open(path)
    except SegscopeError as exc:
        app.notify(str(exc), title="Open", severity="error", timeout=10)
        return
    app.state = WorkbenchState(ws)
    app.title = app.state.name
    app.sub_title = "loading…"
    app.reload_data()
    app.notify(f"Opened {path}.", title="Open", timeout=5)


# -- playbook ------------------------------------------------------------------


def export_playbook_flow(app: SegscopeApp) -> None:
    """Ask for a .md or .html file, then write the active model's playbook (in a worker)."""
    model = app.state.active_model
    if model is None:
        app.notify("No active model: choose one on the Model screen (4).", title="Playbook",
                   severity="warning")  # fmt: skip
        return
    ws_path = Path(app.state.workspace.path)
    default = default_export_dir() / f"{ws_path.stem}-playbook.md"

    def chosen(text: str | None) -> None:
        if not text:
            return
        out = Path(text).expanduser()
        if out.suffix.lower() not in (".md", ".markdown", ".html", ".htm"):
            app.notify(f"{out}: write the playbook to a .md or .html file", title="Playbook",
                       severity="error")  # fmt: skip
            return
        export_playbook_to(app, model.name, out)

    _prompt(app, f"Export the playbook of model {model.name} to (.md or .html):", str(default),
            chosen, (".md", ".html"))  # fmt: skip


def export_playbook_to(app: SegscopeApp, model_name: str, out: Path,
                       today: dt.date | None = None) -> None:  # fmt: skip
    state = app.state
    app.notify(f"Writing the playbook {out}…", title="Playbook", timeout=3)

    def run() -> None:
        from core.playbook import playbook_html, playbook_markdown
        from tui.commands.playbook import build_playbook

        inp = build_playbook(state.workspace, model_name, state.as_of,
                             today or dt.date.today(), False)  # fmt: skip
        html = out.suffix.lower() in (".html", ".htm")  # with the inline charts
        text = playbook_html(inp) if html else playbook_markdown(inp)
        from storage.export import write_text_atomic

        write_text_atomic(out, text)
        app.call_from_thread(
            app.notify, f"Playbook written: {out} ({len(inp.sections)} segment section(s))",
            title="Playbook", timeout=8,
        )  # fmt: skip

    app.run_worker(run, thread=True, group="playbook", name="playbook export",
                   exit_on_error=False)  # fmt: skip
