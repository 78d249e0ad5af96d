"""ctrl+z / ctrl+y across screens (storage.history behind them), on the shell's
tiny workspace: persona edits, segment flags, models, and the log surviving a
restart of the app."""

from __future__ import annotations

import polars as pl
from textual.widgets import DataTable, Input

from core.model import AbcDimension, SegmentationModel
from storage.plans import get_persona, list_personas
from tui.widgets.persona_card import PersonaCard
from tui.widgets.persona_form import input_id
from tui.widgets.plan_actions import step_history


async def draft_and_rename(app, pilot, settle, name: str) -> int:
    """On the Personas screen: draft a persona of A, then rename it in the form."""
    await settle(app, pilot)
    await pilot.press("8")
    await settle(app, pilot)
    await pilot.press("d")
    await settle(app, pilot)
    await pilot.press("e")
    await settle(app, pilot)
    app.screen.query_one(f"#{input_id('name')}", Input).value = name
    await pilot.press("ctrl+s")
    await settle(app, pilot)
    return list_personas(app.state.workspace, "Value")[0].id


def card_title(screen) -> str:
    return str(screen.query_one(PersonaCard).query_one(".pc-title").render())


class TestUndoRedo:
    async def test_ctrl_z_undoes_a_persona_edit_and_ctrl_y_redoes_it(self, make_app, settle):
        app = make_app()
        async with app.run_test(size=(120, 40)) as pilot:
            pid = await draft_and_rename(app, pilot, settle, "Plant manager Paula")
            ws = app.state.workspace
            drafted = get_persona(ws, pid).persona
            assert drafted.name == "Plant manager Paula" and "name" not in drafted.drafted
            screen = app.screen
            await pilot.press("ctrl+z")
            await settle(app, pilot)
            undone = get_persona(ws, pid).persona
            assert undone.name == "Buyer (Manufacturing)" and "name" in undone.drafted
            assert app.notices[-1] == (
                "information", f"Undone: persona #{pid} Plant manager Paula (changed)")
            assert card_title(screen) == "Buyer (Manufacturing)"
            await pilot.press("ctrl+y")
            await settle(app, pilot)
            assert get_persona(ws, pid).persona == drafted
            assert app.notices[-1][1].startswith(f"Redone: persona #{pid} ")
            assert card_title(screen) == "Plant manager Paula"
            # a modal cuts the App's bindings off: ctrl+z in a form does nothing, and
            # step_history (e.g. from the palette) is refused with a reason
            await pilot.press("e")
            await settle(app, pilot)
            form = app.screen
            await pilot.press("ctrl+z")
            await settle(app, pilot)
            assert app.screen is form
            step_history(app, redo=False)
            await settle(app, pilot)
            assert app.notices[-1] == ("warning", "Close the dialog first (escape), then undo.")
            assert get_persona(ws, pid).persona == drafted
            await pilot.press("escape")
            await settle(app, pilot)
            # undo twice: the edit, then the draft itself (the persona is gone)
            await pilot.press("ctrl+z", "ctrl+z")
            await settle(app, pilot)
            assert list_personas(ws, "Value") == []
            assert not list(screen.query(PersonaCard))

    async def test_undo_works_across_screens(self, make_app, settle):
        app = make_app()
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(app, pilot)
            await pilot.press("ctrl+y")
            await settle(app, pilot)
            assert app.notices[-1][1] == "Nothing to redo."
            await pilot.press("5")
            await settle(app, pilot)
            app.screen.query_one("#profile-table", DataTable).focus()
            await pilot.press("t")  # flag A as target on the Segments screen
            await settle(app, pilot)
            ws = app.state.workspace
            assert ws.get_segment_annotations("Value")["status"].to_list() == ["target"]
            await pilot.press("9")
            await settle(app, pilot)
            plans = app.screen
            assert plans.data.status_of("A") == "target"
            await pilot.press("ctrl+z")  # undone from the Game plans screen
            await settle(app, pilot)
            assert ws.get_segment_annotations("Value")["status"].to_list() in ([], [None])
            assert app.notices[-1][1] == "Undone: notes / flag of segment A (created)"
            assert plans.data.status_of("A") is None  # the screen was refreshed

    async def test_undo_of_a_model_save_recomputes_the_segments(self, make_app, settle):
        app = make_app()
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(app, pilot)
            before = app.state.assignments["segment"].cast(pl.Utf8).value_counts().sort("segment")
            # save "Value" with A/B at 50 % / 70 %: more accounts in B and C
            changed = SegmentationModel("Value", (AbcDimension(a=0.5, b=0.7),))
            app.state.save_model(changed)
            app.recompute_segments()
            await settle(app, pilot)
            assert app.state.active_model == changed
            await pilot.press("ctrl+z")
            await settle(app, pilot)
            assert app.state.active_model == SegmentationModel("Value", (AbcDimension(),))
            after = app.state.assignments["segment"].cast(pl.Utf8).value_counts().sort("segment")
            assert after.equals(before)
            assert app.notices[-1][1] == "Undone: model Value (changed)"
            await pilot.press("ctrl+y")
            await settle(app, pilot)
            assert app.state.active_model == changed

class TestHistorySurvivesRestart:
    async def test_an_edit_made_before_a_restart_is_undone_after_it(self, make_app, settle):
        app = make_app()
        async with app.run_test(size=(120, 40)) as pilot:
            pid = await draft_and_rename(app, pilot, settle, "Plant manager Paula")
        app.state.workspace.close()
        app = make_app()  # a new app over the same workspace file
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(app, pilot)
            await pilot.press("ctrl+z")
            await settle(app, pilot)
            assert get_persona(app.state.workspace, pid).persona.name == "Buyer (Manufacturing)"

