"""The workbench shell: screens, help, palette, settings, colour, and start-up errors."""

from __future__ import annotations

import re
import sqlite3

from textual.widgets import Markdown

from tui.app import HelpScreen, SegscopeApp
from tui.cli import main as cli_main
from tui.config import load_config
from tui.screens import PlaceholderScreen


class TestScreens:
    async def test_number_keys_switch_screens(self, make_app, settle):
        app = make_app()
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(app, pilot)
            assert app.title == "tiny"
            assert app.sub_title == "as of 2025-12-31 · last import 2026-01-15 09:30"
            assert app.current_mode == "overview"
            expected = [("2", "accounts", "AccountsScreen"), ("3", "import", "ImportScreen"),
                        ("4", "model", None), ("5", "segments", None), ("6", "runs", None),
                        ("1", "overview", "OverviewScreen")]
            for key, mode, cls in expected:
                await pilot.press(key)
                await settle(app, pilot)
                assert app.current_mode == mode
                if cls is not None:  # this part's screens, never placeholders
                    assert type(app.screen).__name__ == cls
                    assert not isinstance(app.screen, PlaceholderScreen)


class TestHelp:
    async def test_help_opens_and_closes(self, make_app, settle):
        app = make_app()
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(app, pilot)
            await pilot.press("2")
            await settle(app, pilot)
            for key in ("question_mark", "f1"):
                await pilot.press(key)
                await pilot.pause()
                assert isinstance(app.screen, HelpScreen)
                text = app.screen.query_one(Markdown).source
                assert "Filter expressions" in text  # from tui/help.md
                assert "accounts.sort_asc" in text  # the keys of the screen it was opened on
                await pilot.press("escape")
                await pilot.pause()
                assert not isinstance(app.screen, HelpScreen)
                assert app.current_mode == "accounts"

    def test_every_binding_has_id_and_tooltip(self):
        from tui.screens.accounts import AccountsScreen
        from tui.screens.import_screen import ImportScreen, PathInput
        from tui.widgets.prompt import PromptScreen

        owners = (SegscopeApp, AccountsScreen, ImportScreen, PathInput, HelpScreen, PromptScreen)
        for owner in owners:
            assert owner.__dict__.get("BINDINGS"), owner  # each defines its own
            for binding in owner.__dict__["BINDINGS"]:
                assert binding.id, f"{owner.__name__} binding {binding.key} has no id"
                assert binding.tooltip, f"{owner.__name__} binding {binding.key} has no tooltip"


class TestPalette:
    async def test_palette_jumps_to_a_screen_and_an_account(self, make_app, settle):
        app = make_app()
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(app, pilot)
            await pilot.press("ctrl+p")
            await pilot.pause()
            await pilot.press(*"Go to Import")
            await settle(app, pilot)
            await pilot.press("enter")
            await settle(app, pilot)
            assert app.current_mode == "import"

            await pilot.press("ctrl+p")
            await pilot.pause()
            await pilot.press(*"C017")
            await settle(app, pilot)
            await pilot.press("enter")
            await settle(app, pilot)
            assert app.current_mode == "accounts"
            assert app.screen._current_account_id() == "C017"


class TestSettings:
    async def test_user_keymap_remaps_a_screen_key(self, make_app, settle, isolated_settings):
        isolated_settings.parent.mkdir(parents=True)
        isolated_settings.write_text('[keymap]\n"screen.accounts" = "a"\n', encoding="utf-8")
        app = make_app()
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(app, pilot)
            await pilot.press("a")
            await settle(app, pilot)
            assert app.current_mode == "accounts"
            await pilot.press("1")
            await settle(app, pilot)
            await pilot.press("2")  # the old key no longer switches
            await settle(app, pilot)
            assert app.current_mode == "overview"

    async def test_theme_choice_is_saved_and_restored(self, make_app, settle, isolated_settings):
        app = make_app()
        app._persist_theme = True
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(app, pilot)
            app.theme = "textual-light"
            await pilot.pause()
        assert load_config(isolated_settings).theme == "textual-light"
        again = make_app()
        async with again.run_test(size=(120, 40)) as pilot:
            await settle(again, pilot)
            assert again.theme == "textual-light"

    async def test_broken_settings_file_is_reported_not_fatal(self, make_app, settle,
                                                              isolated_settings):
        isolated_settings.parent.mkdir(parents=True)
        isolated_settings.write_text("theme = [unclosed\n", encoding="utf-8")
        app = make_app()
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(app, pilot)
            messages = [m for _, m in app.notices]
            assert any("not valid TOML" in m and str(isolated_settings) in m for m in messages)
            assert app.theme == "textual-dark"


# The SVG export draws window-chrome buttons and its default text in these colours
# whatever the app does.
CHROME = {"ff5f57", "febc2e", "28c840", "c5c8c6"}


def screen_colours(svg: str) -> set[str]:
    return set(re.findall(r"#([0-9a-f]{6})", svg)) - CHROME


class TestColour:
    async def test_no_color_makes_the_screen_monochrome(self, make_app, settle, monkeypatch):
        monkeypatch.setenv("NO_COLOR", "1")
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(app, pilot)
            svg = app.export_screenshot()
        colours = screen_colours(svg)
        assert colours
        assert all(c[0:2] == c[2:4] == c[4:6] for c in colours), colours

    async def test_colour_is_on_by_default(self, make_app, settle):
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(app, pilot)
            svg = app.export_screenshot()
        colours = screen_colours(svg)
        assert any(not (c[0:2] == c[2:4] == c[4:6]) for c in colours)


class TestStartupErrors:
    def test_a_file_that_is_not_a_workspace(self, tmp_path, capsys):
        bad = tmp_path / "notes.segscope"
        bad.write_text("this is not a database\n" * 20, encoding="utf-8")
        assert cli_main([str(bad)]) == 1
        err = capsys.readouterr().err
        assert "not a segscope workspace" in err and str(bad) in err
        assert "Traceback" not in err
        assert bad.read_text(encoding="utf-8").startswith("this is not a database")

    def test_a_foreign_sqlite_database(self, tmp_path, capsys):
        foreign = tmp_path / "other.db"
        with sqlite3.connect(foreign) as conn:
            conn.execute("CREATE TABLE t (x)")
        assert cli_main([str(foreign)]) == 1
        err = capsys.readouterr().err
        assert "not a segscope workspace" in err and "Traceback" not in err

    def test_a_missing_directory(self, tmp_path, capsys):
        assert cli_main([str(tmp_path / "nowhere" / "ws.segscope")]) == 1
        err = capsys.readouterr().err
        assert "does not exist" in err and "Traceback" not in err

    async def test_a_failing_load_becomes_a_notification(self, make_app, settle, monkeypatch):
        app = make_app()

        def broken(self):
            raise RuntimeError("disk on fire")

        monkeypatch.setattr(type(app.state), "reload", broken)
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(app, pilot)
            messages = [m for _, m in app.notices]
            # in words, not exception text (issue 12, item 2); the error is in the log
            assert any(m.startswith("Loading the workspace in the workbench stopped")
                       for m in messages)
            assert not any("disk on fire" in m or "RuntimeError" in m for m in messages)
            assert app.sub_title == "could not load the workspace"
            await pilot.press("2")  # still running and usable
            await settle(app, pilot)
            assert app.current_mode == "accounts"


class TestConfigFile:
    def test_round_trip_keeps_the_keymap(self, tmp_path):
        from tui.config import UserConfig, dump_config, save_theme

        path = tmp_path / "config.toml"
        path.write_text(dump_config(UserConfig(keymap={"screen.accounts": "a,2"}, path=path)))
        assert save_theme("textual-light", path) is None
        config = load_config(path)
        assert (config.theme, config.keymap, config.error) == (
            "textual-light", {"screen.accounts": "a,2"}, None)

    def test_a_bad_entry_is_named(self, tmp_path):
        path = tmp_path / "config.toml"
        path.write_text('[keymap]\n"app.help" = 3\n')
        config = load_config(path)
        assert "'app.help'" in config.error and str(path) in config.error
        assert config.keymap == {}

    def test_a_broken_file_is_never_overwritten(self, tmp_path):
        from tui.config import save_theme

        path = tmp_path / "config.toml"
        path.write_text("theme = \n")
        assert "not saved" in save_theme("textual-light", path)
        assert path.read_text() == "theme = \n"


class TestPathSuggester:
    async def test_completes_directories_first_then_files(self, tmp_path):
        from tui.widgets.path_suggester import PathSuggester

        (tmp_path / "data").mkdir()
        (tmp_path / "data.csv").write_text("x\n")
        (tmp_path / "dates.txt").write_text("x\n")
        (tmp_path / ".hidden.csv").write_text("x\n")
        suggest = PathSuggester(suffixes=(".csv",)).get_suggestion
        assert await suggest(f"{tmp_path}/da") == f"{tmp_path}/data/"
        assert await suggest(f"{tmp_path}/data.") == f"{tmp_path}/data.csv"
        assert await suggest(f"{tmp_path}/dat") == f"{tmp_path}/data/"
        assert await suggest(f"{tmp_path}/dates") is None  # .txt is not an import suffix
        assert await suggest(f"{tmp_path}/.h") == f"{tmp_path}/.hidden.csv"
        assert await suggest(f"{tmp_path}/nothing") is None


class TestNewWorkspace:
    async def test_a_new_empty_workspace_says_what_to_do(self, make_app, settle, tmp_path):
        from storage.workspace import Workspace

        Workspace.create(tmp_path / "new.segscope").close()
        app = make_app(tmp_path / "new.segscope")
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(app, pilot)
            status = str(app.screen.query_one("#overview-status").render())
            assert status == "The workspace is empty: press 3 to import accounts and transactions."
            assert app.sub_title == "no data yet: press 3 to import"
            assert not [m for s, m in app.notices if s == "error"]
