"""Pilot and snapshot tests of the Model editor screen (key 4).

The helpers at the top (a tiny fixed workspace and ``settle``) are shared
with test_segments.py and test_runs.py.
"""

from __future__ import annotations

import dataclasses
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from textual.app import App
from textual.widgets import DataTable, Input, Label, OptionList
from textual.worker import WorkerCancelled

from core.model import (
    AbcDimension,
    BinsDimension,
    CategoryDimension,
    PerformanceDimension,
    RfmDimension,
    RuleDimension,
    SalesLogicDimension,
    SegmentationModel,
    model_from_json,
    model_to_json,
)
from core.segment import assign_segments
from storage.workspace import Workspace
from tui.app import SegscopeApp
from tui.config import UserConfig
from tui.screens.model_editor import ModelEditorScreen
from tui.state import WorkbenchState
from tui.widgets.model_dialogs import (
    ChoiceDialog,
    ConfirmDialog,
    PromptDialog,
    UnsavedDialog,
)
from tui.widgets.model_forms import (
    KIND_CHOICES,
    DimensionForm,
    FieldError,
    caret_echo,
    form_for,
    new_dimension,
    parse_groups,
    parse_number_list,
    parse_quantiles,
    parse_rules,
)
from tui.widgets.model_results import live_result, segment_table

# -- shared helpers ------------------------------------------------------------

# A hand-made per-account frame: 12 accounts whose numbers are easy to count by hand.
EMPLOYEES = [5, 12, 40, 80, 150, 300, 900, 20, 60, 8, 2000, 250]
REVENUE = [100.0, 5000.0, 1200.0, 800.0, 25000.0, 60000.0, 150000.0, 0.0, 3000.0, 50.0,
           90000.0, 7000.0]


def tiny_frame() -> pl.DataFrame:
    n = len(EMPLOYEES)
    return pl.DataFrame(
        {
            "account_id": [f"A{i:02d}" for i in range(1, n + 1)],
            "name": [f"Acme [{i}]" for i in range(1, n + 1)],
            "industry": ["Retail", "Retail", "Food", "Food", "Tech", "Tech", "Tech", "Retail",
                         "Food", None, "Energy", "Tech"],
            "country": ["DE", "DE", "FR", "FR", "DE", "UK", "UK", "DE", "FR", "DE", "UK", "FR"],
            "employees": EMPLOYEES,
            "revenue": REVENUE,
            "margin": [r * 0.25 for r in REVENUE],
            "frequency": [1, 5, 3, 2, 10, 12, 20, 0, 4, 1, 8, 6],
            "abc_class": ["C", "C", "C", "C", "B", "A", "A", "C", "C", "C", "A", "C"],
            "rfm_segment": ["Lost", "Loyal", "New", "At risk", "Champions", "Champions",
                            "Champions", None, "Promising", "Hibernating", "Loyal", "New"],
            "r_score": [1, 4, 5, 2, 5, 5, 5, None, 3, 1, 4, 5],
            "f_score": [1, 4, 1, 2, 5, 5, 5, None, 3, 1, 4, 1],
            "m_score": [1, 3, 2, 2, 4, 5, 5, None, 3, 1, 5, 3],
            "bridge_class": ["churn", "retention", "new", "contraction", "expansion", "retention",
                             "expansion", None, "new", "churn", "retention", "reactivated"],
            "offer_type": ["standard", "customised", "standard", "standard", "customised",
                           "customised", "customised", "standard", "standard", None,
                           "customised", "standard"],
            "buying_center_size": [1, 3, 2, 2, 6, 8, 9, 1, 3, 1, 12, 4],
            "collaboration": ["low", "high", "medium", "low", "high", "high", "medium", "low",
                              "medium", "low", "high", "medium"],
        }
    )


ABC_X_SIZE = SegmentationModel(
    "ABC x Size",
    (
        AbcDimension(),
        BinsDimension(name="Size", column="employees", cuts=(50.0, 500.0),
                      labels=("Small", "Mid", "Large")),
    ),
)


class TinyState(WorkbenchState):
    """The workbench state over the hand-made frame (no transactions needed)."""

    def __init__(self, workspace: Workspace) -> None:
        super().__init__(workspace, as_of=date(2024, 1, 1))
        self._tiny = tiny_frame()

    def reload(self) -> bool:
        self.accounts = self._tiny
        self.transactions = pl.DataFrame()
        self.contacts = pl.DataFrame()
        return True

    @property
    def frame(self) -> pl.DataFrame:
        return self._tiny

    def _starter_models(self) -> list[SegmentationModel]:
        return []  # only the models each test saves: stable lists and snapshots

    def last_import_time(self) -> str | None:
        return None


def make_tiny_app(tmp_path: Path, models: list[SegmentationModel] | None = None) -> SegscopeApp:
    workspace = Workspace.create(tmp_path / "tiny.segscope")
    for model in [ABC_X_SIZE, *(models or [])]:
        workspace.save_model(model.name, model_to_json(model))
    config = UserConfig(theme="textual-dark", path=tmp_path / "config.toml")
    return SegscopeApp(TinyState(workspace), config=config, persist_theme=False)


async def settle_app(pilot, app) -> None:
    """Let messages, timers of 0 s and workers run until the screen is quiet.

    An exclusive worker replaced by a newer one ends as cancelled, which makes
    ``wait_for_complete`` raise: that is expected here, so wait again.
    """
    for _ in range(3):
        await pilot.pause()
        try:
            await app.workers.wait_for_complete()
        except WorkerCancelled:
            pass
    await pilot.pause()


# -- model editor ----------------------------------------------------------------


def bin_counts_by_hand(values: list[int], cuts: list[float]) -> list[int]:
    """Left-closed bins [c_i, c_i+1) counted with plain Python."""
    counts = [0] * (len(cuts) + 1)
    for v in values:
        counts[sum(1 for c in cuts if v >= c)] += 1
    return counts


def level_rows(screen: ModelEditorScreen, dimension: str) -> dict[str, int]:
    levels = screen.last_result.levels.filter(pl.col("dimension") == dimension)
    return dict(zip(levels["level"].to_list(), levels["accounts"].to_list(), strict=True))


async def open_editor(pilot, app) -> ModelEditorScreen:
    await settle_app(pilot, app)
    await pilot.press("4")
    await settle_app(pilot, app)
    screen = app.screen
    assert isinstance(screen, ModelEditorScreen)
    screen.DEBOUNCE_SECONDS = 0  # no waiting in tests; debouncing is tested below
    return screen


async def open_dimension(pilot, app, screen: ModelEditorScreen, index: int) -> None:
    screen.query_one("#dimension-list", OptionList).focus()
    screen.query_one("#dimension-list", OptionList).highlighted = index
    await settle_app(pilot, app)


async def type_into(pilot, app, widget: Input, text: str) -> None:
    widget.focus()
    widget.value = ""  # clear, then type key by key like an analyst
    await pilot.pause()
    await pilot.press(*list(text))
    await settle_app(pilot, app)


class TestParsing:
    def test_number_list(self):
        assert parse_number_list("10, 50,250", "v") == (10.0, 50.0, 250.0)
        with pytest.raises(FieldError, match="item 2"):
            parse_number_list("10, x", "v")

    def test_quantiles(self):
        assert parse_quantiles("4", "v") == 4
        assert parse_quantiles("0.2, 0.8", "v") == (0.2, 0.8)

    def test_groups(self):
        text = "North: DE, DK\n\nSouth: FR, IT , ES"
        assert parse_groups(text, "g") == (("North", ("DE", "DK")), ("South", ("FR", "IT", "ES")))
        with pytest.raises(FieldError, match="line 1"):
            parse_groups("no colon here", "g")

    def test_rules_error_points_at_the_position(self):
        schema = {"revenue": pl.Float64, "industry": pl.Utf8}
        assert parse_rules("Big: revenue > 10", "r", schema) == (("Big", "revenue > 10"),)
        with pytest.raises(FieldError) as info:
            parse_rules("Big: revenue > 10\nOdd:  revenue >", "r", schema)
        message = str(info.value)
        assert message.startswith("line 2 (Odd): at position 9")
        # the caret sits under the end of "revenue >" on the echoed condition
        _, echoed, caret = message.splitlines()
        assert echoed == "revenue >"
        assert caret.index("^") == len("revenue >")

    def test_caret_echo_windows_long_conditions(self):
        text = "revenue >= 100000 AND industry = 3 AND employees > 5"
        position = text.index("3 AND")
        snippet, caret = caret_echo(text, position, width=20)
        assert snippet.startswith("…") and snippet.endswith("…")
        assert snippet[caret.index("^")] == "3"
        assert caret_echo("x >", 3) == ("x >", "   ^")


SPECS = [
    AbcDimension(name="ABC margin", measure="margin", a=0.7, b=0.9),
    RfmDimension(name="RFM R", use="r"),
    PerformanceDimension(name="Bridge", missing_label="Quiet"),
    BinsDimension(name="Size", column="employees", cuts=(10.0, 50.5), labels=("S", "M", "L"),
                  right_closed=True),
    BinsDimension(name="Quartiles", column="revenue", quantiles=4),
    BinsDimension(name="Terciles", column="revenue", quantiles=(0.3, 0.7)),
    CategoryDimension(name="Region", column="country", groups=(("DACH", ("DE",)),
                      ("West", ("FR", "UK"))), keep_top=2, other_label="Rest"),
    RuleDimension(name="Tier", rules=(("Big", "revenue >= 10000"), ("Mid", "revenue > 1000")),
                  default="Small"),
    SalesLogicDimension(),
]


class FormApp(App):
    def __init__(self, spec) -> None:
        super().__init__()
        self.spec = spec

    def compose(self):
        yield form_for(self.spec, tiny_frame().schema, index=0)


class TestForms:
    @pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
    async def test_a_form_reads_back_the_spec_it_shows(self, spec):
        """Opening a dimension must not change it (else every model looks edited)."""
        app = FormApp(spec)
        async with app.run_test(size=(60, 40)) as pilot:
            await pilot.pause()
            form = app.query_one(DimensionForm)
            assert form.build() == spec

    @pytest.mark.parametrize("kind", [k for k, _ in KIND_CHOICES])
    def test_new_dimensions_fit_the_frame(self, kind):
        # headroom and clv as the Targeting screen attaches them (potential needs 50+
        # customers to be fitted here; CLV is never fitted by the dimension itself)
        frame = tiny_frame().with_columns(
            pl.col("revenue").alias("headroom"), pl.col("margin").alias("clv")
        )
        dim = new_dimension(kind, frame.schema, taken={"ABC"})
        assert dim.kind == kind and dim.name != "ABC"
        assert dim.levels(frame).codes.len() == 12


class TestLiveResult:
    """The editor's summary of a draft (tui/widgets/model_results.py)."""

    def test_segment_table_by_hand_and_by_reference(self):
        frame = tiny_frame()
        result = live_result(frame, ABC_X_SIZE)
        table = {row["segment"]: row for row in result.segments.iter_rows(named=True)}
        # by hand: class A is A06, A07, A11 (60,000 / 150,000 / 90,000; 300 / 900 / 2,000 staff)
        assert table["A · Mid"]["accounts"] == 1 and table["A · Mid"]["revenue"] == 60000.0
        assert table["A · Large"]["accounts"] == 2
        assert table["A · Large"]["revenue"] == 240000.0
        assert table["B · Mid"]["revenue"] == 25000.0  # A05: 150 employees
        # reference: plain Python over the same accounts
        abc = frame["abc_class"].to_list()
        size = ["Small" if e < 50 else "Mid" if e < 500 else "Large" for e in EMPLOYEES]
        reference: dict[str, list[float]] = {}
        for cls, sz, rev in zip(abc, size, REVENUE, strict=True):
            reference.setdefault(f"{cls} · {sz}", []).append(rev)
        assert {k: (r["accounts"], r["revenue"]) for k, r in table.items()} == {
            k: (len(v), sum(v)) for k, v in reference.items()
        }
        total = sum(REVENUE)
        for k, r in table.items():
            assert r["share"] == pytest.approx(len(reference[k]) / 12)
            assert r["revenue_share"] == pytest.approx(sum(reference[k]) / total)
        # rows follow the model's level order, not the counts
        assert result.segments["segment"].to_list() == [
            "A · Mid", "A · Large", "B · Mid", "C · Small", "C · Mid",
        ]

    def test_segment_table_joins_when_rows_are_not_aligned(self):
        frame = tiny_frame()
        assignments = assign_segments(frame, ABC_X_SIZE)
        shuffled = assignments.reverse()
        assert segment_table(shuffled, frame).sort("segment").equals(
            segment_table(assignments, frame).sort("segment")
        )

    def test_level_counts_keep_level_order(self):
        levels = live_result(tiny_frame(), ABC_X_SIZE).levels
        assert levels.select("dimension", "level", "accounts").rows() == [
            ("ABC", "A", 3), ("ABC", "B", 1), ("ABC", "C", 8),
            ("Size", "Small", 5), ("Size", "Mid", 5), ("Size", "Large", 2),
        ]
        assert levels["share"].to_list() == pytest.approx([n / 12 for n in (3, 1, 8, 5, 5, 2)])


class TestLiveCounts:
    async def test_bins_threshold_edit_changes_counts(self, tmp_path):
        app = make_tiny_app(tmp_path)
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await open_editor(pilot, app)
            assert level_rows(screen, "Size") == dict(
                zip(("Small", "Mid", "Large"), bin_counts_by_hand(EMPLOYEES, [50, 500]),
                    strict=True)
            )
            assert level_rows(screen, "Size") == {"Small": 5, "Mid": 5, "Large": 2}
            await open_dimension(pilot, app, screen, 1)
            await type_into(pilot, app, screen.query_one("#values", Input), "100, 500")
            expected = bin_counts_by_hand(EMPLOYEES, [100, 500])
            assert expected == [7, 3, 2]
            assert level_rows(screen, "Size") == {"Small": 7, "Mid": 3, "Large": 2}
            # the segment table was recomputed with the same draft: it sums to all accounts
            assert screen.last_result.segments["accounts"].sum() == len(EMPLOYEES)
            table = screen.query_one("#level-table", DataTable)
            assert [str(c) for c in table.get_row_at(3)] == ["Size", "Small", "7", "58.3%"]
            # the model list marks the unsaved draft
            assert screen.is_dirty("ABC x Size")

    async def test_edits_are_debounced(self, tmp_path):
        app = make_tiny_app(tmp_path)
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await open_editor(pilot, app)
            screen.DEBOUNCE_SECONDS = 60  # the timer never fires during this test
            generation = screen._generation
            await open_dimension(pilot, app, screen, 1)
            await type_into(pilot, app, screen.query_one("#values", Input), "100, 500")
            assert screen._generation == generation  # nothing computed while typing
            assert screen._debounce is not None
            screen.schedule_compute(immediate=True)
            await settle_app(pilot, app)
            assert screen._generation == generation + 1
            assert level_rows(screen, "Size") == {"Small": 7, "Mid": 3, "Large": 2}

    async def test_an_edit_after_a_quiet_moment_computes_at_once(self, tmp_path):
        app = make_tiny_app(tmp_path)
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await open_editor(pilot, app)
            screen.DEBOUNCE_SECONDS = 60
            await open_dimension(pilot, app, screen, 1)
            box = screen.query_one("#values", Input)
            box.focus()
            box.value = "10, 500"
            await settle_app(pilot, app)  # within 60 s of the opening compute: it waits
            assert screen._debounce is not None
            screen._debounce.stop()
            screen._debounce = None
            generation = screen._generation
            screen._last_compute = float("-inf")  # as if 60 s went by with no edit
            box.cursor_position = len(box.value)
            await pilot.press("0")  # "10, 5000" after a quiet moment: computed at once
            await settle_app(pilot, app)
            assert screen._generation == generation + 1
            assert screen._debounce is None
            small, mid, large = bin_counts_by_hand(EMPLOYEES, [10, 5000])
            assert level_rows(screen, "Size") == {
                k: v for k, v in {"Small": small, "Mid": mid, "Large": large}.items() if v}
            await pilot.press("backspace")  # "10, 500" close behind it: waits for a pause
            await settle_app(pilot, app)
            assert screen._generation == generation + 1
            assert screen._debounce is not None
            screen.schedule_compute(immediate=True)  # the pause
            await settle_app(pilot, app)
            small, mid, large = bin_counts_by_hand(EMPLOYEES, [10, 500])
            assert level_rows(screen, "Size") == {"Small": small, "Mid": mid, "Large": large}

    async def test_invalid_rule_shows_inline_error_and_keeps_last_counts(self, tmp_path):
        rule_model = SegmentationModel(
            "Rules",
            (RuleDimension(name="Tier", rules=(("Big", "revenue >= 10000"),), default="Small"),),
        )
        app = make_tiny_app(tmp_path, models=[rule_model])
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await open_editor(pilot, app)
            screen.query_one("#model-list", OptionList).highlighted = 1
            await settle_app(pilot, app)
            assert screen._current == "Rules"
            big = sum(1 for r in REVENUE if r >= 10000)
            assert big == 4
            assert level_rows(screen, "Tier") == {"Big": big, "Small": len(REVENUE) - big}
            before = screen.last_result
            rules = screen.query_one("#rules")
            rules.focus()
            await pilot.press("end", *list(" AND"))
            await settle_app(pilot, app)
            error = screen.query_one("#rules-error", Label)
            text = str(error.render())
            assert "line 1" in text and "position" in text
            assert error.has_class("-shown")
            assert screen.last_result is before  # last valid counts stay on screen
            assert level_rows(screen, "Tier") == {"Big": 4, "Small": 8}
            assert "not recomputed" in str(screen.query_one("#result-status", Label).render())
            # fixing the text recomputes
            rules.insert(" employees >= 1000")
            await settle_app(pilot, app)
            assert not error.has_class("-shown")
            assert level_rows(screen, "Tier") == {"Big": 1, "Small": 11}


    async def test_category_groups_and_min_segment_size(self, tmp_path):
        region = SegmentationModel(
            "Regions", (CategoryDimension(name="Region", column="country"),)
        )
        app = make_tiny_app(tmp_path, models=[region])
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await open_editor(pilot, app)
            screen.query_one("#model-list", OptionList).highlighted = 1
            await settle_app(pilot, app)
            assert level_rows(screen, "Region") == {"DE": 5, "FR": 4, "UK": 3}
            groups = screen.query_one("#groups")
            groups.focus()
            groups.insert("West: FR, UK")
            await settle_app(pilot, app)
            # by hand: FR 4 + UK 3 accounts are West; DE keeps its own name
            assert level_rows(screen, "Region") == {"West": 7, "DE": 5}
            await type_into(pilot, app, screen.query_one("#min-size", Input), "6")
            # the DE cell (5 accounts) is smaller than 6: folded into Other
            segments = dict(screen.last_result.segments.select("segment", "accounts").rows())
            assert segments == {"West": 7, "Other": 5}
            assert screen.draft.min_segment_size == 6


class TestModelActions:
    async def test_delete_asks_first(self, tmp_path):
        app = make_tiny_app(tmp_path)
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await open_editor(pilot, app)
            screen.query_one("#model-list", OptionList).focus()
            await pilot.press("d")
            await settle_app(pilot, app)
            assert isinstance(app.screen, ConfirmDialog)
            await pilot.press("n")
            await settle_app(pilot, app)
            assert app.screen is screen
            assert [n for n, _ in app.state.workspace.list_models()] == ["ABC x Size"]
            await pilot.press("d")
            await settle_app(pilot, app)
            await pilot.press("y")
            await settle_app(pilot, app)
            assert app.state.workspace.list_models() == []
            assert "ABC x Size" not in screen._names

    async def test_new_model_add_dimension_and_save(self, tmp_path):
        app = make_tiny_app(tmp_path)
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await open_editor(pilot, app)
            screen.query_one("#model-list", OptionList).focus()
            await pilot.press("n")
            await settle_app(pilot, app)
            assert isinstance(app.screen, PromptDialog)
            await pilot.press(*list("Mine"), "enter")
            await settle_app(pilot, app)
            assert screen._current == "Mine"
            screen.query_one("#dimension-list", OptionList).focus()
            await pilot.press("a")
            await settle_app(pilot, app)
            assert isinstance(app.screen, ChoiceDialog)
            app.screen.query_one(OptionList).highlighted = 4  # category
            await pilot.press("enter")
            await settle_app(pilot, app)
            assert [d.kind for d in screen.draft.dimensions] == ["abc", "category"]
            assert level_rows(screen, "Industry") == {
                "Energy": 1, "Food": 3, "Retail": 3, "Tech": 4, "Other": 1,
            }
            await pilot.press("ctrl+s")
            await settle_app(pilot, app)
            saved = model_from_json(app.state.workspace.get_model("Mine"))
            assert saved == screen.draft
            assert not screen.is_dirty("Mine")

    async def test_rename_duplicate_and_reorder(self, tmp_path):
        app = make_tiny_app(tmp_path)
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await open_editor(pilot, app)
            screen.query_one("#model-list", OptionList).focus()
            await pilot.press("r")
            await settle_app(pilot, app)
            app.screen.query_one(Input).value = ""
            await pilot.press(*list("Renamed"), "enter")
            await settle_app(pilot, app)
            assert [n for n, _ in app.state.workspace.list_models()] == ["Renamed"]
            await pilot.press("c")
            await settle_app(pilot, app)
            await pilot.press("enter")  # accept the suggested "Renamed copy"
            await settle_app(pilot, app)
            assert screen._current == "Renamed copy"
            screen.query_one("#dimension-list", OptionList).focus()
            await pilot.press("J")
            await settle_app(pilot, app)
            assert [d.name for d in screen.draft.dimensions] == ["Size", "ABC"]
            assert isinstance(screen.draft.dimensions[0], BinsDimension)
            assert screen.last_result.segments["segment"][0].startswith(("Small", "Mid", "Large"))


class TestWorkNotLost:
    """Issue 12 item 5: a new model with dimensions was gone after ctrl+q, with no
    prompt; Enter on a model saved and activated it."""

    async def _new_model_with_a_dimension(self, pilot, app, screen) -> None:
        screen.query_one("#model-list", OptionList).focus()
        await pilot.press("n")
        await settle_app(pilot, app)
        await pilot.press(*list("Mine"), "enter")
        await settle_app(pilot, app)
        screen.query_one("#dimension-list", OptionList).focus()
        await pilot.press("a")
        await settle_app(pilot, app)
        app.screen.query_one(OptionList).highlighted = 4  # category
        await pilot.press("enter")
        await settle_app(pilot, app)
        assert screen.unsaved_models() == ["Mine"]

    async def test_quit_asks_and_cancel_keeps_the_work(self, tmp_path):
        app = make_tiny_app(tmp_path)
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await open_editor(pilot, app)
            await self._new_model_with_a_dimension(pilot, app, screen)
            await pilot.press("ctrl+q")
            await settle_app(pilot, app)
            assert isinstance(app.screen, UnsavedDialog)
            assert "Mine" in app.screen.question
            await pilot.press("escape")
            await settle_app(pilot, app)
            assert app.screen is screen and app.is_running
            assert [d.kind for d in screen.draft.dimensions] == ["abc", "category"]

    async def test_quit_save_writes_the_model_then_quits(self, tmp_path):
        app = make_tiny_app(tmp_path)
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await open_editor(pilot, app)
            await self._new_model_with_a_dimension(pilot, app, screen)
            await pilot.press("ctrl+q")
            await settle_app(pilot, app)
            await pilot.press("s")
            await pilot.pause()
            saved = model_from_json(app.state.workspace.get_model("Mine"))
            assert [d.kind for d in saved.dimensions] == ["abc", "category"]
        assert app.return_code == 0

    async def test_quit_discard_quits_without_saving(self, tmp_path):
        app = make_tiny_app(tmp_path)
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await open_editor(pilot, app)
            await self._new_model_with_a_dimension(pilot, app, screen)
            await pilot.press("ctrl+q")
            await settle_app(pilot, app)
            await pilot.press("d")
            await pilot.pause()
            assert [n for n, _ in app.state.workspace.list_models()] == ["ABC x Size"]

    async def test_quit_without_changes_does_not_ask(self, tmp_path):
        app = make_tiny_app(tmp_path)
        async with app.run_test(size=(120, 40)) as pilot:
            await open_editor(pilot, app)
            await pilot.press("ctrl+q")
            await pilot.pause()
            assert not isinstance(app.screen, UnsavedDialog)
        assert app.return_code == 0

    async def test_enter_opens_a_model_and_does_not_activate_it(self, tmp_path):
        other = SegmentationModel("Other", (BinsDimension("Size", "employees", (10.0, 100.0)),))
        app = make_tiny_app(tmp_path, [other])
        async with app.run_test(size=(120, 40)) as pilot:
            app.state.set_active_model("ABC x Size")
            screen = await open_editor(pilot, app)
            models = screen.query_one("#model-list", OptionList)
            models.focus()
            models.highlighted = screen._names.index("Other")
            await settle_app(pilot, app)
            # an unsaved edit on "Other" must not be saved by Enter
            screen._set_draft(dataclasses.replace(screen.draft, min_segment_size=3))
            await settle_app(pilot, app)
            await pilot.press("enter")
            await settle_app(pilot, app)
            assert app.state.active_model.name == "ABC x Size"
            assert model_from_json(app.state.workspace.get_model("Other")).min_segment_size == 0
            assert screen._current == "Other"
            assert screen.focused is screen.query_one("#dimension-list", OptionList)
            # u asks, and "Save and use" saves and activates
            models.focus()
            await pilot.press("u")
            await settle_app(pilot, app)
            assert isinstance(app.screen, UnsavedDialog)
            await pilot.press("s")
            await settle_app(pilot, app)
            assert app.state.active_model.name == "Other"
            assert model_from_json(app.state.workspace.get_model("Other")).min_segment_size == 3


class TestSlowCompute:
    """Issue 12 item 6: a 16 s compute showed the old counts with no sign of work."""

    async def test_spinner_stale_counts_and_escape_cancels(self, tmp_path, monkeypatch):
        import threading

        import tui.screens.model_editor as editor

        release = threading.Event()
        real = editor.live_result

        def slow(*args, **kwargs):
            release.wait(10)
            return real(*args, **kwargs)

        app = make_tiny_app(tmp_path)
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await open_editor(pilot, app)
            before = screen.last_result
            monkeypatch.setattr(editor, "live_result", slow)
            min_size = screen.query_one("#min-size", Input)
            min_size.focus()
            await pilot.press("backspace", "4")
            await pilot.pause(0.6)
            status = str(screen.query_one("#result-status", Label).render())
            assert "Computing the segments" in status and "Esc cancels" in status
            assert screen.query_one("#segment-table").has_class("-stale")
            assert screen.query_one("#level-table").has_class("-stale")
            # typing meanwhile stays in the field being typed in
            await pilot.press("2")
            assert screen.focused is min_size and min_size.value == "42"
            await pilot.press("escape")
            await pilot.pause()
            status = str(screen.query_one("#result-status", Label).render())
            assert status.startswith(f"{before.accounts:,} accounts") and "Cancelled" in status
            assert not screen.query_one("#segment-table").has_class("-stale")
            assert screen.last_result is before
            release.set()
            await settle_app(pilot, app)
            assert screen.last_result is before  # the cancelled result is not shown

    async def test_new_columns_while_typing_do_not_move_the_focus(self, tmp_path):
        """Potential and CLV attached by another screen (a new schema) used to remount
        the form under the analyst's fingers: the next keys landed in another field."""
        app = make_tiny_app(tmp_path)
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await open_editor(pilot, app)
            await open_dimension(pilot, app, screen, 0)
            field = screen.query_one("#form-container").query(Input).first()
            field.focus()
            await pilot.pause()
            schema = dict(screen._schema, potential=pl.Float64)
            screen._models_loaded(list(screen._names), {}, schema, screen._frame_token)
            await pilot.pause()
            await pilot.press("x")
            await settle_app(pilot, app)
            assert screen.focused is field and field.value.endswith("x")
            assert screen._schema == schema

    async def test_a_quick_compute_shows_no_spinner(self, tmp_path):
        app = make_tiny_app(tmp_path)
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await open_editor(pilot, app)
            screen.query_one("#min-size", Input).focus()
            await pilot.press("backspace", "3")
            await settle_app(pilot, app)
            await pilot.pause(0.4)
            assert "Computing" not in str(screen.query_one("#result-status", Label).render())
            assert not screen.query_one("#segment-table").has_class("-stale")
            assert screen.draft.min_segment_size == 3


class TestLayout:
    """Issue 12 item 8: at 80x24 the results were squeezed into ~22 columns (and could
    get zero height); at 200x50 the form kept ~118 columns while the results stayed ~48."""

    async def test_80x24_results_below_the_form_with_both_tables_shown(self, tmp_path):
        app = make_tiny_app(tmp_path)
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_editor(pilot, app)
            levels = screen.query_one("#level-table", DataTable)
            segments = screen.query_one("#segment-table", DataTable)
            assert levels.region.height >= 3 and segments.region.height >= 3
            assert segments.region.width >= 50
            form = screen.query_one("#form-pane")
            assert form.region.bottom <= screen.query_one("#result-pane").region.y

    async def test_200x50_gives_the_width_to_the_results(self, tmp_path):
        app = make_tiny_app(tmp_path)
        async with app.run_test(size=(200, 50)) as pilot:
            screen = await open_editor(pilot, app)
            form = screen.query_one("#form-pane").region
            results = screen.query_one("#result-pane").region
            assert form.width <= 64
            assert results.width > form.width

    @pytest.mark.parametrize("size", [(80, 24), (200, 50)])
    def test_model_editor_snapshot_sizes(self, snap_compare, make_app, monkeypatch, size):
        monkeypatch.setattr(ModelEditorScreen, "SHOW_TIMING", False)
        monkeypatch.setattr(WorkbenchState, "last_import_time", lambda self: "2025-12-31T08:00")
        import core.starter_models as starters

        kept = [m for m in starters.STARTER_MODELS
                if m.name in ("ABC by revenue", "RFM", "Industry x Size")]
        monkeypatch.setattr(starters, "STARTER_MODELS", kept)

        async def run_before(pilot):
            await settle_app(pilot, pilot.app)
            await pilot.press("4")
            await settle_app(pilot, pilot.app)

        assert snap_compare(make_app(), terminal_size=size, run_before=run_before)


class TestSnapshot:
    def test_model_editor_snapshot(self, snap_compare, make_app, monkeypatch):
        """The editor on the shell's tiny workspace (tests/tui/conftest.py)."""
        monkeypatch.setattr(ModelEditorScreen, "SHOW_TIMING", False)
        monkeypatch.setattr(WorkbenchState, "last_import_time", lambda self: "2025-12-31T08:00")
        # core adds starter models over time: list a fixed few so the picture stays put
        import core.starter_models as starters

        kept = [m for m in starters.STARTER_MODELS
                if m.name in ("ABC by revenue", "RFM", "Industry x Size")]
        monkeypatch.setattr(starters, "STARTER_MODELS", kept)

        async def run_before(pilot):
            await settle_app(pilot, pilot.app)
            await pilot.press("4")
            await settle_app(pilot, pilot.app)

        assert snap_compare(make_app(), terminal_size=(120, 40), run_before=run_before)
