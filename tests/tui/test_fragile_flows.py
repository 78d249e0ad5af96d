"""Issue 12, item 10: flows that lost the analyst's work or keys."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Input, Static


async def _accounts(app, pilot, settle):
    await settle(app, pilot)
    await pilot.press("2")
    await settle(app, pilot)
    return app.screen


class TestAccountsFilter:
    async def test_enter_moves_focus_to_the_table_at_once(self, make_app, settle):
        app = make_app()
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await _accounts(app, pilot, settle)
            await pilot.press("f")
            box = screen.query_one("#accounts-filter", Input)
            assert app.focused is box
            box.value = "revenue > 1000"
            await pilot.press("enter")
            # before the view is rebuilt: the next keys must not land in the box
            assert app.focused is screen._table()
            await settle(app, pilot)
            assert app.focused is screen._table()
            assert box.value == "revenue > 1000"

    async def test_a_case_mismatch_that_finds_nothing_gets_a_hint(self, make_app, settle):
        app = make_app()
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await _accounts(app, pilot, settle)
            screen.apply_filter('industry == "manufacturing"')
            await settle(app, pilot)
            count = str(screen.query_one("#accounts-count", Static).render())
            assert count.startswith("0 of 36 accounts")
            assert '"Manufacturing"' in count and "case-sensitive" in count
            screen.apply_filter('industry == "Manufacturing"')
            await settle(app, pilot)
            count = str(screen.query_one("#accounts-count", Static).render())
            assert "case-sensitive" not in count and not count.startswith("0 of")

    async def test_a_drill_says_it_replaced_the_filter(self, make_app, settle):
        app = make_app()
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await _accounts(app, pilot, settle)
            screen.apply_filter("revenue > 1000")
            await settle(app, pilot)
            await pilot.press("1")
            await settle(app, pilot)
            await app.show_accounts("segment = 'A'")
            await settle(app, pilot)
            notes = [m for _, m in app.notices if "replaced" in m]
            assert notes and "revenue > 1000" in notes[-1]


class TestExportPaths:
    def test_exports_default_to_the_current_folder(self, tmp_path, monkeypatch):
        from tui.widgets.plan_actions import default_export_dir, default_snapshot_path

        monkeypatch.chdir(tmp_path)
        assert default_export_dir() == tmp_path
        hidden = tmp_path / ".local" / "share" / "segscope" / "demo.segscope"
        assert default_snapshot_path(hidden).parent == tmp_path

    async def test_a_path_typed_quickly_replaces_the_default(self, make_app, settle):
        from tui.widgets.prompt import PromptScreen

        app = make_app()
        results: list[str | None] = []
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(app, pilot)
            app.push_screen(PromptScreen("Export to:", "/somewhere/default.csv"),
                            results.append)
            # no pause: the keys arrive while the dialog mounts
            await pilot.press(*"out.csv", "enter")
            await settle(app, pilot)
        assert results == ["out.csv"]


class TestRestoreFromThePalette:
    async def test_restore_confirms_at_once_and_opens_the_restored_workspace(
        self, make_app, settle, tiny_workspace, tmp_path
    ):
        from storage.snapshot import export_snapshot
        from tui.widgets.plan_actions import restore_snapshot_flow
        from tui.widgets.prompt import PromptScreen

        snap = tmp_path / "tiny-snap.segsnap"
        export_snapshot(tiny_workspace, snap)
        target = tmp_path / "restored.segscope"
        app = make_app()
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(app, pilot)
            restore_snapshot_flow(app)
            await pilot.pause()
            assert isinstance(app.screen, PromptScreen)
            app.screen.query_one(Input).value = str(snap)
            await pilot.press("enter")
            await pilot.pause()
            assert any("Checking" in m for _, m in app.notices)
            await settle(app, pilot)
            assert isinstance(app.screen, PromptScreen)  # where to restore
            app.screen.query_one(Input).value = str(target)
            await pilot.press("enter")
            await settle(app, pilot)
            # the confirmation
            from tui.widgets.model_dialogs import ConfirmDialog

            assert isinstance(app.screen, ConfirmDialog)
            await pilot.press("y")
            await settle(app, pilot)
            assert target.exists()
            assert Path(app.state.workspace.path).resolve() == target.resolve()
            assert not [m for s, m in app.notices if s == "error"]
