"""Pilot and snapshot tests of the "Why?" dialog (key w on Accounts) on the tiny workspace."""

from __future__ import annotations

from rich.console import Console
from test_model_editor import settle_app
from textual.widgets import Static

from core.explain import explain_account
from core.forward_dimensions import ClusterDimension
from core.model import AbcDimension, RuleDimension, SegmentationModel
from tui.state import WorkbenchState
from tui.widgets.why_dialog import WhyDialog


def text_of(widget: Static) -> str:
    console = Console(width=400, record=True, file=open("/dev/null", "w"))  # noqa: SIM115
    console.print(widget.content)
    return console.export_text()


async def open_why(app, pilot) -> WhyDialog:
    await settle_app(pilot, app)
    await pilot.press("2")
    await settle_app(pilot, app)
    await pilot.press("w")
    await settle_app(pilot, app)
    dialog = app.screen
    assert isinstance(dialog, WhyDialog)
    return dialog


class TestWhy:
    async def test_why_explains_the_current_account_as_core_does(self, make_app):
        app = make_app()
        async with app.run_test(size=(120, 40)) as pilot:
            dialog = await open_why(app, pilot)
            account = dialog.account_id
            ref = explain_account(app.state.frame, app.state.active_model, account)
            assert [d.text for d in dialog.result.dimensions] == [d.text for d in ref.dimensions]
            assert all(d.agrees for d in dialog.result.dimensions)
            body = text_of(dialog.query_one("#why-body", Static))
            assert "ABC (abc)" in body and ref.dimensions[0].text in body
            await pilot.press("escape")
            await settle_app(pilot, app)
            assert not isinstance(app.screen, WhyDialog)

    async def test_why_on_rules_and_clusters(self, make_app):
        app = make_app()
        async with app.run_test(size=(120, 40)) as pilot:
            await settle_app(pilot, app)
            model = SegmentationModel("Why", (
                AbcDimension(),
                RuleDimension("Size", (("Big", "revenue > 3000"),), default="Small"),
                ClusterDimension("Shape", features=("revenue", "industry"), k=2),
            ))
            app.state.save_model(model)
            app.activate_model("Why")
            await settle_app(pilot, app)
            dialog = await open_why(app, pilot)
            kinds = [d.kind for d in dialog.result.dimensions]
            assert kinds == ["abc", "rule", "cluster"]
            assert all(d.agrees for d in dialog.result.dimensions)
            body = text_of(dialog.query_one("#why-body", Static))
            assert "rule 1 matched" in body or "no rule matched" in body
            assert "Pull" in body and "nearest centre" in body


class TestSnapshot:
    def test_why_snapshot_120x40(self, snap_compare, make_app, monkeypatch):
        monkeypatch.setattr(WorkbenchState, "last_import_time", lambda self: "2025-12-31T08:00")

        async def run_before(pilot):
            await open_why(pilot.app, pilot)

        assert snap_compare(make_app(), terminal_size=(120, 40), run_before=run_before)

    def test_why_snapshot_80x24(self, snap_compare, make_app, monkeypatch):
        monkeypatch.setattr(WorkbenchState, "last_import_time", lambda self: "2025-12-31T08:00")

        async def run_before(pilot):
            await open_why(pilot.app, pilot)

        assert snap_compare(make_app(), terminal_size=(80, 24), run_before=run_before)
