"""Fixtures of the TUI tests: isolated settings, a tiny fixed workspace, the app.

Every test runs with its own XDG config/data dirs (so no user keymap or theme
leaks in, and a theme chosen in a test is never saved to the real home), the
default theme, no NO_COLOR, and the analysis date fixed at 2025-12-31.
"""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"
AS_OF = date(2025, 12, 31)
IMPORTED_AT = "2026-01-15T09:30:00Z"


@pytest.fixture(autouse=True)
def isolated_settings(tmp_path, monkeypatch):
    """Point platformdirs at a temporary home; no colour overrides."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("SEGSCOPE_CONFIG", raising=False)
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("TEXTUAL_THEME", raising=False)
    return tmp_path / "config" / "segscope" / "config.toml"


def build_tiny_workspace(path: Path) -> Path:
    """Create a workspace at ``path`` by importing the CSVs in tests/tui/data.

    It also holds one saved model, "Value" (ABC by revenue), the active one.
    """
    from core.model import AbcDimension, SegmentationModel, model_to_json
    from storage.importer import commit_import, prepare_import
    from storage.workspace import Workspace

    with Workspace.create(path) as ws:
        for kind, name in (("accounts", "accounts.csv"), ("transactions", "transactions.csv"),
                           ("contacts", "contacts.csv")):
            commit_import(ws, prepare_import(DATA / name, kind))
        ws.save_model("Value", model_to_json(SegmentationModel("Value", (AbcDimension(),))))
        with ws.write(touches_data=False) as db:  # a fixed "last import" for the snapshots
            db.execute("UPDATE imports SET created_at = ?", (IMPORTED_AT,))
        ws.load_tables(("accounts", "transactions", "contacts"))  # fills <path>.cache/
    return path


@pytest.fixture(scope="session")
def tiny_template(tmp_path_factory) -> Path:
    return build_tiny_workspace(tmp_path_factory.mktemp("template") / "tiny.segscope")


@pytest.fixture
def tiny_workspace(tiny_template, tmp_path) -> Path:
    """A fresh copy of the tiny workspace for one test (36 accounts, 30 customers)."""
    from storage.workspace import cache_dir_for

    target = tmp_path / "tiny.segscope"
    shutil.copyfile(tiny_template, target)
    # the loader cache is keyed by the data version, which the copy keeps: no reader process
    shutil.copytree(cache_dir_for(tiny_template), cache_dir_for(target))
    return target


@pytest.fixture
def make_app(tiny_workspace):
    """``make_app(path=None)``: the App over the tiny workspace (or ``path``), as of 2025-12-31."""
    opened = []

    def factory(path: Path | None = None, *, busy_timeout: float = 5.0):
        from storage.workspace import Workspace
        from tui.app import SegscopeApp
        from tui.state import WorkbenchState

        ws = Workspace.open(path or tiny_workspace, busy_timeout=busy_timeout)
        opened.append(ws)
        return SegscopeApp(WorkbenchState(ws, as_of=AS_OF), persist_theme=False)

    yield factory
    for ws in opened:
        ws.close()


async def _settle(app, pilot) -> None:
    from textual.worker import WorkerCancelled, WorkerFailed

    for _ in range(4):
        # an exclusive worker replaced by a newer one reports itself cancelled; a failed
        # one has already become a notification (the tests look at app.notices)
        try:
            await app.workers.wait_for_complete()
        except (WorkerCancelled, WorkerFailed):
            pass
        await pilot.pause()


@pytest.fixture
def settle():
    """``await settle(app, pilot)``: every worker done and its messages handled."""
    return _settle


@pytest.fixture
def ready():
    """``run_before=ready(...)`` for snap_compare: settle, optional steps, no cursor blink."""
    from textual.widgets import Input

    def make(*steps):
        async def run_before(pilot) -> None:
            app = pilot.app
            await _settle(app, pilot)
            for step in steps:
                result = step(pilot)
                if result is not None:
                    await result
                await _settle(app, pilot)
            for box in app.screen.query(Input):
                box.cursor_blink = False
            await _settle(app, pilot)

        return run_before

    return make
