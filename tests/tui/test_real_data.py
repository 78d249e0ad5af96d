"""Issue 12: the workbench on slices of the four real data sets, at three terminal sizes.

Every screen (the number keys) is shown on each workspace; the rendered
terminal and the notifications must hold no exception text and no number cut
mid-figure. The Import screen keeps the chosen kind and gives the same
workspace as ``segscope import --kind transactions``.
"""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import polars as pl
import pytest
from textual.widgets import Input, Select

from tests.tui.real_data import (
    REAL,
    WORKSPACES,
    build_workspace,
    problems_on_screen,
    screen_lines,
)

SIZES = [(80, 24), (120, 40), (200, 50)]
SCREEN_KEYS = "123456789"


@pytest.fixture(scope="module")
def real_templates(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("real")
    return {name: build_workspace(name, root / f"{name}.segscope") for name in WORKSPACES}


@pytest.fixture
def open_real(real_templates, tmp_path):
    """``open_real(name)``: the App over a fresh copy of one real-data workspace."""
    opened = []

    def factory(name: str):
        from storage.workspace import Workspace
        from tui.app import SegscopeApp
        from tui.state import WorkbenchState

        target = tmp_path / f"{name}.segscope"
        shutil.copyfile(real_templates[name], target)
        ws = Workspace.open(target)
        opened.append(ws)
        as_of = WORKSPACES[name][0]
        return SegscopeApp(WorkbenchState(ws, as_of=as_of), persist_theme=False)

    yield factory
    for ws in opened:
        ws.close()


def _notice_problems(app) -> list[str]:
    from tests.tui.real_data import EXCEPTION_WORDS

    return [f"notice: {m}" for _, m in app.notices if EXCEPTION_WORDS.search(m)]


class TestEveryScreenOnRealData:
    @pytest.mark.parametrize("name", sorted(WORKSPACES))
    @pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
    async def test_no_exception_text_and_no_clipped_number(self, open_real, settle, name,
                                                           size):
        app = open_real(name)
        async with app.run_test(size=size) as pilot:
            await settle(app, pilot)
            problems: list[str] = []
            for key in SCREEN_KEYS:
                await pilot.press(key)
                await settle(app, pilot)
                problems += [f"screen {key}: {p}" for p in problems_on_screen(screen_lines(app))]
            problems += _notice_problems(app)
        assert problems == []


class TestExpectedFigures:
    async def test_retail_overview_counts_the_customers_of_the_slice(self, open_real, settle):
        app = open_real("retail")
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(app, pilot)
            # 15 customers in the slice; the 20 lines without a CustomerID are rejected
            assert app.state.account_count == 15
            text = "\n".join(screen_lines(app))
            assert "15" in text

    async def test_maven_has_prospects_without_history(self, open_real, settle):
        app = open_real("maven")
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(app, pilot)
            assert app.state.account_count == 85


class TestImportKeepsTheKind:
    async def test_online_retail_gz_as_transactions_equals_the_cli_import(
        self, make_app, settle, tmp_path
    ):
        from storage.workspace import Workspace
        from tui.cli import main

        source = tmp_path / "online_retail.csv.gz"
        with gzip.open(source, "wb") as out:
            out.write((REAL / "online_retail_tui.csv").read_bytes())
        # the command line
        cli_ws = tmp_path / "cli.segscope"
        assert main(["init", str(cli_ws)]) == 0
        assert main(["import", str(cli_ws), str(source), "--kind", "transactions",
                     "--quiet"]) == 0
        # the Import screen: choose the kind first, then o, the path, Enter
        tui_ws = tmp_path / "tui.segscope"
        assert main(["init", str(tui_ws)]) == 0
        app = make_app(tui_ws)
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(app, pilot)
            await pilot.press("3")
            await settle(app, pilot)
            screen = app.screen
            screen.query_one("#import-kind", Select).value = "transactions"
            await pilot.pause()
            await pilot.press("o")
            await pilot.pause()
            screen.query_one("#import-path", Input).value = str(source)
            await pilot.press("enter")
            await settle(app, pilot)
            assert screen.query_one("#import-kind", Select).value == "transactions"
            assert screen._kind == "transactions"
            assert screen._prepared is not None
            assert int(screen._prepared.rows_accepted) == 272
            await pilot.press("ctrl+s")
            await settle(app, pilot)
            assert not [m for s, m in app.notices if s == "error"]

        def table(path: Path, name: str) -> pl.DataFrame:
            with Workspace.open(path) as ws:
                frame = ws.load_tables((name,))[name]
            keep = [c for c in frame.columns if c not in {"import_id", "created_at",
                                                          "updated_at"}]
            return frame.select(keep).sort(keep)

        for name in ("transactions", "accounts"):
            assert table(tui_ws, name).equals(table(cli_ws, name)), name

    async def test_the_kind_is_guessed_only_when_not_chosen(self, make_app, settle, tmp_path):
        source = tmp_path / "online_retail.csv"
        shutil.copyfile(REAL / "online_retail_tui.csv", source)
        app = make_app()
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(app, pilot)
            await pilot.press("3")
            await settle(app, pilot)
            screen = app.screen
            await pilot.press("o")
            screen.query_one("#import-path", Input).value = str(source)
            await pilot.press("enter")
            await settle(app, pilot)
            # not chosen: a guess from the name (this one guesses accounts)
            assert screen._kind == "accounts"
            # chosen beside the path: the file is read again as transactions and stays so
            screen.query_one("#import-kind", Select).value = "transactions"
            await settle(app, pilot)
            assert screen._kind == "transactions"
            await pilot.press("o")
            await pilot.press("enter")
            await settle(app, pilot)
            assert screen.query_one("#import-kind", Select).value == "transactions"

    async def test_wholesale_without_id_says_what_to_do_in_the_workbench(
        self, make_app, settle, tmp_path
    ):
        from tests.tui.real_data import screen_lines as lines_of

        source = tmp_path / "wholesale_customers.csv"
        shutil.copyfile(REAL / "wholesale_tui.csv", source)
        app = make_app()
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(app, pilot)
            await pilot.press("3")
            await settle(app, pilot)
            screen = app.screen
            await pilot.press("o")
            screen.query_one("#import-path", Input).value = str(source)
            await pilot.press("enter")
            await settle(app, pilot)
            text = " ".join(lines_of(app))
            assert "--map" not in text and "--" not in " ".join(m for _, m in app.notices)
            assert "Mapping list" in text
            assert screen._prepared is None
            # the offered row number as the id: the file validates
            from tui.screens.import_screen import ROW_LABEL

            row_select = None
            for row in screen.query(".map-row"):
                if str(row.query_one(".map-source").render()) == ROW_LABEL:
                    row_select = row.query_one(Select)
            assert row_select is not None
            row_select.value = "account_id"
            await settle(app, pilot)
            assert screen._prepared is not None
            assert int(screen._prepared.rows_accepted) == 60


class TestRunsMatrix:
    @pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
    async def test_revenue_matrix_cells_are_whole_at_every_size(self, open_real, settle, size):
        app = open_real("retail")
        async with app.run_test(size=size) as pilot:
            await settle(app, pilot)
            for key in ("6", "f", "enter", "f", "enter", "space", "down", "space", "v"):
                await pilot.press(key)
                await settle(app, pilot)
            lines = screen_lines(app)
            text = "\n".join(lines)
            assert "(revenue)" in text
            # the segment A row: 10,493 in full (or 10.5k where the pane is narrow)
            assert "10,493" in text or "10.5k" in text
            assert problems_on_screen(lines) == []
            # the total column is on screen, not cut at the pane's edge
            assert any(line.rstrip().endswith(("11,423", "11.4k")) for line in lines)


class TestImportSnapshots:
    """The Import screen on a file without an id column: what to do, in workbench words."""

    @pytest.mark.parametrize("size", [(120, 40), (200, 50)], ids=lambda s: f"{s[0]}x{s[1]}")
    def test_wholesale_without_id(self, make_app, snap_compare, ready, monkeypatch, size):
        monkeypatch.chdir(REAL)  # a relative path: the snapshot does not show a tmp dir

        def go_import(pilot):
            return pilot.press("3")

        async def open_file(pilot):
            await pilot.press("o")
            pilot.app.screen.query_one("#import-path", Input).value = "wholesale_tui.csv"
            await pilot.press("enter")

        assert snap_compare(make_app(), terminal_size=size,
                            run_before=ready(go_import, open_file))


class TestValidationProgress:
    async def test_validation_shows_a_bar_and_the_rows_read(self, make_app, settle, tmp_path,
                                                            monkeypatch):
        import threading

        from textual.widgets import ProgressBar

        import storage.importer as importer

        source = tmp_path / "online_retail.csv"
        shutil.copyfile(REAL / "online_retail_tui.csv", source)
        real = importer.prepare_import
        release = threading.Event()

        def slow(path, kind, mapping=None, *, progress=None, **kw):
            if progress is not None:
                progress(50_000, 0)
            release.wait(10)
            return real(path, kind, mapping=mapping, progress=progress, **kw)

        monkeypatch.setattr(importer, "prepare_import", slow)
        app = make_app()
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(app, pilot)
            await pilot.press("3")
            await settle(app, pilot)
            screen = app.screen
            screen.query_one("#import-kind", Select).value = "transactions"
            await pilot.press("o")
            screen.query_one("#import-path", Input).value = str(source)
            await pilot.press("enter")
            for _ in range(50):
                await pilot.pause(0.05)
                if "so far" in " ".join(screen_lines(app)):
                    break
            text = " ".join(screen_lines(app))
            assert "Validating online_retail.csv … 50,000 rows read so far" in text
            assert screen.query_one("#import-progress", ProgressBar).display
            release.set()
            await settle(app, pilot)
            assert not screen.query_one("#import-progress", ProgressBar).display
            assert int(screen._prepared.rows_accepted) == 272


class TestScreensBeyondTheNumberKeysOnRealData:
    """White space (0), Coverage (C) and the Why? dialog (w on Accounts) on every real
    workspace: Maven CRM accounts have no name, and the White space detail crashed the
    app joining the names of the peers (None)."""

    @pytest.mark.parametrize("name", sorted(WORKSPACES))
    async def test_no_exception_text_and_the_app_keeps_running(self, open_real, settle, name):
        app = open_real(name)
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(app, pilot)
            problems: list[str] = []
            for keys in ("0", "C", "2w"):
                for key in keys:
                    await pilot.press(key)
                    await settle(app, pilot)
                problems += [f"keys {keys}: {p}" for p in problems_on_screen(screen_lines(app))]
                assert app.is_running, f"the app stopped after {keys!r}"
                await pilot.press("escape")
            problems += _notice_problems(app)
        assert problems == []
