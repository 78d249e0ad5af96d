"""Pilot and snapshot tests of the Personas screen (key 8), on the shell's tiny
workspace (tests/tui/conftest.py: 36 accounts, 12 contacts, as of 2025-12-31;
the active model "Value" segments by ABC class of revenue: A, B, C)."""

from __future__ import annotations

import dataclasses

import polars as pl
import pytest
from textual.widgets import DataTable, Input, Label

from core.persona import PERSONA_FIELDS, draft_persona
from storage.plans import get_persona, list_personas, save_persona
from tui.screens.personas import PersonasScreen
from tui.widgets.persona_card import DRAFTED_MARK, PersonaCard
from tui.widgets.persona_form import PersonaForm, input_id


async def open_personas(app, pilot, settle) -> PersonasScreen:
    await settle(app, pilot)
    await pilot.press("8")
    await settle(app, pilot)
    screen = app.screen
    assert isinstance(screen, PersonasScreen)
    return screen


def card_marks(card: PersonaCard) -> dict[str, str]:
    """Field label -> its mark text ("drafted" or "") as shown on the card."""
    marks = {}
    for row in card.query(".pc-row"):
        labels = list(row.query(Label))
        name = str(labels[0].render())
        marks[name] = str(labels[-1].render())
    return marks


def segment_members_by_hand(frame: pl.DataFrame, segment: str) -> int:
    """ABC class A/B/C by the DOMAIN.md rule in plain Python, counting one class."""
    rows = sorted(((r or 0.0, a) for a, r in zip(frame["account_id"], frame["revenue"],
                                                  strict=True)), key=lambda t: (-t[0], t[1]))
    total = sum(r for r, _ in rows if r > 0)
    before, n = 0.0, 0
    for revenue, _ in rows:
        if revenue <= 0:
            cls = "C"
        else:
            share = before / total
            cls = "A" if share < 0.80 else "B" if share < 0.95 else "C"
            before += revenue
        n += cls == segment
    return n


class TestDraft:
    async def test_draft_from_data_marks_every_field_drafted(self, make_app, settle):
        app = make_app()
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await open_personas(app, pilot, settle)
            assert screen.current_segment == "A"
            table = screen.query_one("#personas-segments", DataTable)
            # the segment list shows the model's segments with their account counts
            shown = {str(table.get_row_at(i)[0]): int(str(table.get_row_at(i)[1]))
                     for i in range(table.row_count)}
            assert shown == {s: segment_members_by_hand(app.state.frame, s) for s in "ABC"}
            assert not list(screen.query(PersonaCard))
            await pilot.press("d")
            await settle(app, pilot)
            stored = list_personas(app.state.workspace, "Value")
            assert len(stored) == 1 and stored[0].persona.segment == "A"
            persona = stored[0].persona
            # every field present is drafted, and the draft is the core's draft of the segment
            own = {c for d in app.state.active_model.dimensions for c in d.columns()}
            expected = draft_persona(app.state.frame, app.state.assignments, "A",
                                     app.state.contacts, exclude=own)
            assert persona.business == expected.business
            assert persona.people == expected.people
            assert persona.drafted == expected.drafted
            assert persona.business["summary"].startswith(f"{shown['A']} accounts")
            cards = list(screen.query(PersonaCard))
            assert len(cards) == 1
            marks = card_marks(cards[0])
            assert marks["Summary"] == DRAFTED_MARK
            assert marks["Quote"] == DRAFTED_MARK
            assert set(marks.values()) == {DRAFTED_MARK}
            assert str(table.get_row_at(0)[2]) == "1"

    async def test_drift_warning_when_the_data_moved(self, make_app, settle):
        app = make_app()
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await open_personas(app, pilot, settle)
            await pilot.press("d")
            await settle(app, pilot)
            stored = list_personas(app.state.workspace, "Value")[0]
            assert "data moved" not in cards_text(screen)
            # pretend the draft was made when the segment was mostly Retail with 100 accounts
            basis = {**stored.persona.basis, "industry": "Retail", "accounts": 100}
            save_persona(app.state.workspace, "Value",
                         dataclasses.replace(stored.persona, basis=basis), stored.id)
            screen.refresh_from_state()
            await settle(app, pilot)
            text = cards_text(screen)
            assert "dominant industry was Retail, now Manufacturing" in text
            assert "accounts moved from 100 to 13 (-87%)" in text


def cards_text(screen) -> str:
    return "\n".join(str(w.render()) for card in screen.query(PersonaCard)
                     for w in card.query(Label))


class TestEdit:
    async def test_edit_form_is_keyboard_complete_and_clears_the_mark(self, make_app, settle):
        app = make_app()
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await open_personas(app, pilot, settle)
            await pilot.press("d")
            await settle(app, pilot)
            await pilot.press("e")
            await settle(app, pilot)
            form = app.screen
            assert isinstance(form, PersonaForm)
            assert app.focused.id == input_id("name")
            # tab / shift+tab walk the fields in display order
            await pilot.press("tab", "tab")
            assert app.focused.id == input_id(PERSONA_FIELDS[2])
            await pilot.press("shift+tab")
            assert app.focused.id == input_id(PERSONA_FIELDS[1])
            form.query_one(f"#{input_id('people.quote')}", Input).focus()
            await pilot.press(*"We buy on trust.")
            await pilot.press("ctrl+s")
            await settle(app, pilot)
            assert app.screen is screen
            stored = list_personas(app.state.workspace, "Value")[0].persona
            assert stored.people["quote"] == "We buy on trust."
            assert "people.quote" not in stored.drafted
            assert "people.goals" in stored.drafted and "name" in stored.drafted
            marks = card_marks(screen.query_one(PersonaCard))
            assert marks["Quote"] == ""
            assert marks["Goals"] == DRAFTED_MARK

            # escape cancels; list fields are split on semicolons
            pid = list_personas(app.state.workspace, "Value")[0].id
            before = get_persona(app.state.workspace, pid).persona
            await pilot.press("e")
            await settle(app, pilot)
            app.screen.query_one(f"#{input_id('name')}", Input).value = "scratch"
            await pilot.press("escape")
            await settle(app, pilot)
            assert get_persona(app.state.workspace, pid).persona == before
            await pilot.press("e")
            await settle(app, pilot)
            app.screen.query_one(f"#{input_id('people.goals')}", Input).value = "grow; save time"
            await pilot.press("ctrl+s")
            await settle(app, pilot)
            after = get_persona(app.state.workspace, pid).persona
            assert after.people["goals"] == ["grow", "save time"]
            assert after.drafted == before.drafted - {"people.goals"}


class TestSnapshot:
    @pytest.mark.parametrize("size", [(120, 40), (80, 24)])
    def test_personas_snapshot(self, snap_compare, make_app, tiny_workspace, ready, size):
        # a drafted persona with one edited field, stored before the app starts
        from datetime import date

        from core.frame import account_frame
        from core.model import assign_segments, model_from_json
        from core.persona import edit_persona
        from storage.workspace import Workspace

        with Workspace.open(tiny_workspace) as ws:
            tables = ws.load_tables(("accounts", "transactions", "contacts"))
            frame = account_frame(tables["accounts"], tables["transactions"],
                                  as_of=date(2025, 12, 31))
            model = model_from_json(ws.get_model("Value"))
            own = {c for d in model.dimensions for c in d.columns()}
            persona = draft_persona(frame, assign_segments(frame, model), "A",
                                    tables["contacts"], exclude=own)
            persona = edit_persona(persona, "people.quote", "We buy on trust.")
            save_persona(ws, "Value", persona)

        assert snap_compare(make_app(), terminal_size=size,
                            run_before=ready(lambda pilot: pilot.press("8")))
