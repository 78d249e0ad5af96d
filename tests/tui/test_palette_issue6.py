"""Command palette commands of issue 6: workspace snapshot export and restore,
playbook export (tiny workspace of tests/tui/conftest.py)."""

from __future__ import annotations

import sqlite3

import pytest
from textual.widgets import Input

from storage.plans import add_kpi, set_plan
from storage.snapshot import validate_snapshot
from tui.widgets.model_dialogs import ConfirmDialog
from tui.widgets.plan_actions import export_snapshot_to
from tui.widgets.prompt import PromptScreen


async def run_command(app, pilot, settle, title: str) -> None:
    await pilot.press("ctrl+p")
    await pilot.pause()
    await pilot.press(*title)
    await settle(app, pilot)
    await pilot.press("enter")
    await settle(app, pilot)


async def answer_prompt(app, pilot, settle, text: str) -> None:
    assert isinstance(app.screen, PromptScreen)
    app.screen.query_one(Input).value = text
    await pilot.press("enter")
    await settle(app, pilot)


def table_counts(path) -> dict[str, int]:
    conn = sqlite3.connect(path)
    try:
        names = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
        return {n: conn.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0] for n in names}
    finally:
        conn.close()


class TestSnapshotExport:
    async def test_palette_export_writes_a_valid_snapshot(self, make_app, settle, tmp_path,
                                                         tiny_workspace):
        app = make_app()
        set_plan(app.state.workspace, "Value", "A", objective="grow")
        out = tmp_path / "handover.segsnap"
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(app, pilot)
            await run_command(app, pilot, settle, "Export workspace snapshot")
            assert str(app.screen.query_one(Input).value).endswith(".segsnap")
            await answer_prompt(app, pilot, settle, str(out))
            # a directory that does not exist: one error notice that names it
            missing = tmp_path / "no-such-dir" / "x.segsnap"
            export_snapshot_to(app, missing)
            await settle(app, pilot)
            severity, message = app.notices[-1]
            assert severity == "error" and "no-such-dir" in message
        manifest = validate_snapshot(out)
        assert manifest.tables["plans"] == 1
        assert manifest.tables["accounts"] == 36
        assert manifest.tables == {k: v for k, v in table_counts(tiny_workspace).items()
                                   if k in manifest.tables}
        assert any(m.startswith("Snapshot written: ") for _, m in app.notices)


class TestSnapshotRestore:
    async def test_restore_over_the_open_workspace_or_from_a_damaged_file_is_refused(
        self, make_app, settle, tmp_path, tiny_workspace
    ):
        from storage.snapshot import export_snapshot

        snap = tmp_path / "s.segsnap"
        export_snapshot(tiny_workspace, snap)
        app = make_app()
        before = tiny_workspace.read_bytes()
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(app, pilot)
            await run_command(app, pilot, settle, "Restore snapshot")
            await answer_prompt(app, pilot, settle, str(snap))
            await answer_prompt(app, pilot, settle, str(tiny_workspace))
            severity, message = app.notices[-1]
            assert severity == "error"
            assert "cannot be replaced while it is open" in message
            assert "Restore to a new file" in message
            # a damaged file is reported at once, before any target is asked for
            bad = tmp_path / "bad.segsnap"
            bad.write_bytes(b"PK\x03\x04 not really a zip")
            await run_command(app, pilot, settle, "Restore snapshot")
            await answer_prompt(app, pilot, settle, str(bad))
            assert not isinstance(app.screen, PromptScreen)
            assert app.notices[-1][0] == "error" and str(bad) in app.notices[-1][1]
        assert tiny_workspace.read_bytes() == before

    async def test_restore_to_a_new_file_then_open_it(self, make_app, settle, tmp_path,
                                                      tiny_workspace):
        from storage.snapshot import export_snapshot

        app = make_app()
        set_plan(app.state.workspace, "Value", "B", objective="retain")
        snap = tmp_path / "s.segsnap"
        export_snapshot(tiny_workspace, snap)
        target = tmp_path / "restored.segscope"
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(app, pilot)
            await run_command(app, pilot, settle, "Restore snapshot")
            await answer_prompt(app, pilot, settle, str(snap))
            await answer_prompt(app, pilot, settle, str(target))
            assert isinstance(app.screen, ConfirmDialog)
            await pilot.press("y")  # restore; it opens without a second question (issue 12)
            await settle(app, pilot)
            assert target.exists()
            assert app.state.workspace.path.resolve() == target.resolve()
            assert app.title == "restored"
            assert app.state.loaded and app.state.frame.height == 36
            from storage.plans import get_plan

            assert get_plan(app.state.workspace, "Value", "B")["objective"] == "retain"
            app.state.workspace.close()


class TestPlaybookExport:
    @pytest.mark.parametrize("suffix", [".md", ".html"])
    async def test_palette_exports_the_playbook(self, make_app, settle, tmp_path, suffix):
        app = make_app()
        ws = app.state.workspace
        ws.set_segment_annotation("Value", "A", status="target")
        set_plan(ws, "Value", "A", objective="grow", owner="Ann Berg")
        add_kpi(ws, "Value", "A", "accounts", 20.0, "2026-12-31", baseline=13.0)
        out = tmp_path / f"playbook{suffix}"
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(app, pilot)
            await run_command(app, pilot, settle, "Export playbook")
            assert str(app.screen.query_one(Input).value).endswith("-playbook.md")
            await answer_prompt(app, pilot, settle, str(out))
        text = out.read_text(encoding="utf-8")
        assert out.stat().st_mode & 0o777 == 0o644  # not the temporary file's 0600
        assert "Ann Berg" in text and "Value" in text
        if suffix == ".html":
            assert text.lstrip().lower().startswith("<!doctype html")
        else:
            assert text.startswith("# ")
        assert any(m.startswith("Playbook written: ") for _, m in app.notices)
