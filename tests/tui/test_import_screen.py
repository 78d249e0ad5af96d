"""The Import screen end to end: preview, mapping, validation, commit, cancel, failures."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

from textual.widgets import Input, Select, Static

from tui.screens.import_screen import IGNORE, ImportScreen, guess_kind

DATA = Path(__file__).parent / "data"  # the tiny inputs (tests/tui/data)


async def open_import(app, pilot, settle, path) -> ImportScreen:
    await settle(app, pilot)
    await pilot.press("3")
    await settle(app, pilot)
    screen = app.screen
    assert isinstance(screen, ImportScreen)
    await pilot.press("o")
    await pilot.pause()
    box = screen.query_one("#import-path", Input)
    assert app.focused is box
    box.value = str(path)
    await pilot.press("enter")
    await settle(app, pilot)
    return screen


def report_text(screen) -> str:
    from rich.console import Console

    console = Console(width=100, record=True, file=open("/dev/null", "w"))  # noqa: SIM115
    console.print(screen.query_one("#import-report", Static).content)
    return console.export_text()


def selects(screen) -> dict[str, Select]:
    rows = {}
    for row in screen.query(".map-row"):
        label = str(row.query_one(".map-source").render())
        rows[label] = row.query_one(Select)
    return rows


class TestImportFlow:
    async def test_import_a_file_end_to_end(self, make_app, settle, tmp_path):
        source = tmp_path / "new_accounts.csv"
        shutil.copyfile(DATA / "new_accounts.csv", source)
        app = make_app()
        async with app.run_test(size=(120, 40)) as pilot:
            before = app.state.workspace.data_version()
            screen = await open_import(app, pilot, settle, source)
            # preview: the rows as read, the empty id included
            preview = screen.query_one("#import-preview")
            assert preview.row_count == 6
            # mapping: recognised CRM names, unknown column kept as an attribute
            mapping = {name: s.value for name, s in selects(screen).items()}
            assert mapping["Account ID"] == "account_id"
            assert mapping["Account Name"] == "name"
            assert mapping["Billing Country"] == "country"
            assert mapping["Tier"] == "tier"
            # validation: the row without an id is rejected, the others accepted
            text = report_text(screen)
            assert "6 rows read · 5 accepted · 1 rejected" in text
            assert "row 4" in text or " 4 " in text  # the rejected spreadsheet row
            assert app.state.workspace.data_version() == before  # nothing written yet

            await pilot.press("ctrl+s")
            await settle(app, pilot)
            assert any("imported new_accounts.csv: 4 new, 1 updated" in m for _, m in app.notices)
            assert app.state.accounts.height == 40
            assert app.state.workspace.data_version() != before
            renamed = app.state.accounts.filter(app.state.accounts["account_id"] == "C001")
            assert renamed["name"][0] == "Firm 01 renamed"
            # the other screens refreshed from the new state
            await pilot.press("1")
            await settle(app, pilot)
            tile = app.screen.query_one("#tile-accounts")
            assert str(tile.query_one(".tile-value").render()) == "40"
            await pilot.press("2")
            await settle(app, pilot)
            assert app.screen._view.height == 40

    async def test_an_edited_mapping_is_what_gets_validated(self, make_app, settle, tmp_path):
        source = tmp_path / "new_accounts.csv"
        shutil.copyfile(DATA / "new_accounts.csv", source)
        app = make_app()
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await open_import(app, pilot, settle, source)
            selects(screen)["Tier"].value = IGNORE
            await settle(app, pilot)
            assert "Tier" not in screen._prepared.mapping
            assert "Ignored columns: Tier" in report_text(screen)

    async def test_cancel_writes_nothing(self, make_app, settle, tmp_path):
        source = tmp_path / "new_accounts.csv"
        shutil.copyfile(DATA / "new_accounts.csv", source)
        app = make_app()
        async with app.run_test(size=(120, 40)) as pilot:
            before = app.state.workspace.data_version()
            screen = await open_import(app, pilot, settle, source)
            await pilot.press("escape")  # leaves the path box
            await pilot.press("escape")  # cancels
            await settle(app, pilot)
            status = str(screen.query_one("#import-status", Static).render())
            assert status == "Cancelled: nothing was written."
            assert not screen.query(".map-row")
            assert app.state.workspace.data_version() == before
            assert app.state.accounts.height == 36


class TestImportFailures:
    async def test_a_file_that_cannot_be_read(self, make_app, settle, tmp_path):
        bad = tmp_path / "accounts.csv"
        bad.write_bytes(b"\x00\x01\x02 not text at all \xff\xfe" * 50)
        app = make_app()
        async with app.run_test(size=(120, 40)) as pilot:
            await open_import(app, pilot, settle, bad)
            errors = [m for s, m in app.notices if s == "error"]
            assert errors and str(bad) in errors[-1]
            await pilot.press("escape", "1")  # still running
            await settle(app, pilot)
            assert app.current_mode == "overview"

    async def test_a_busy_workspace_keeps_the_app_and_the_data(self, make_app, settle, tmp_path,
                                                             tiny_workspace):
        source = tmp_path / "new_accounts.csv"
        shutil.copyfile(DATA / "new_accounts.csv", source)
        app = make_app(busy_timeout=0.2)
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await open_import(app, pilot, settle, source)
            other = sqlite3.connect(tiny_workspace, timeout=0.1, isolation_level=None)
            other.execute("BEGIN IMMEDIATE")  # another process is writing
            try:
                await pilot.press("ctrl+s")
                await settle(app, pilot)
            finally:
                other.execute("ROLLBACK")
                other.close()
            errors = [m for s, m in app.notices if s == "error"]
            assert errors and "busy" in errors[-1]
            assert app.state.accounts.height == 36
            assert not screen._committing
            # once the other writer is gone, the same commit goes through
            await pilot.press("ctrl+s")
            await settle(app, pilot)
            assert app.state.accounts.height == 40


def test_guess_kind_from_the_file_name(tmp_path):
    assert guess_kind(tmp_path / "Invoice_lines_2025.csv") == "transactions"
    assert guess_kind(tmp_path / "crm_contacts.xlsx") == "contacts"
    assert guess_kind(tmp_path / "companies.csv") == "accounts"


def go(key: str):
    """A run_before step pressing a key (snap_compare's own presses run after run_before)."""
    return lambda pilot: pilot.press(key)


class TestImportSnapshots:
    def test_import_validated_120x40(self, make_app, snap_compare, ready, monkeypatch):
        monkeypatch.chdir(DATA)  # a relative path: the snapshot does not show a tmp dir

        async def open_file(pilot):
            screen = pilot.app.screen
            await pilot.press("o")
            screen.query_one("#import-path", Input).value = "new_accounts.csv"
            await pilot.press("enter")

        assert snap_compare(make_app(), terminal_size=(120, 40),
                            run_before=ready(go("3"), open_file))

    def test_import_empty_80x24(self, make_app, snap_compare, ready):
        assert snap_compare(make_app(), terminal_size=(80, 24), run_before=ready(go("3")))
