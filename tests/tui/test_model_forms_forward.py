"""Model editor forms of the forward-looking kinds: ``potential``, ``clv``, ``cluster``.

Form round trips and field errors run in a bare App holding one form; the
Pilot test adds a potential dimension in the editor over the hand-made frame
of test_model_editor.py with ``headroom`` and ``clv`` columns already attached
(as the Targeting screen attaches them), so no potential model is fitted.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest
from test_model_editor import (
    ABC_X_SIZE,
    TinyState,
    level_rows,
    open_editor,
    settle_app,
    tiny_frame,
    type_into,
)
from textual.app import App
from textual.widgets import Input, Label, OptionList, Select

from core.forward_dimensions import ClusterDimension, ClvDimension, PotentialDimension
from core.model import model_to_json
from storage.workspace import Workspace
from tui.app import SegscopeApp
from tui.config import UserConfig
from tui.widgets.model_dialogs import ChoiceDialog
from tui.widgets.model_forms import (
    CLUSTER_DEFAULT_FEATURES,
    KIND_CHOICES,
    ClusterForm,
    ClvForm,
    DimensionForm,
    FieldError,
    PotentialForm,
    form_for,
    new_dimension,
    parse_features,
    parse_k_range,
)

# Hand-made forward columns for the 12 accounts of tiny_frame(): one account has none.
HEADROOM = [0.0, 500.0, 1000.0, 2000.0, 4000.0, 8000.0, 16000.0, None, 3000.0, 50.0, 60000.0,
            7000.0]
CLV = [10.0, 400.0, 90.0, 60.0, 2500.0, 5200.0, 9000.0, None, 300.0, 5.0, 7000.0, 700.0]


def forward_frame() -> pl.DataFrame:
    return tiny_frame().with_columns(
        pl.Series("headroom", HEADROOM, dtype=pl.Float64),
        pl.Series("clv", CLV, dtype=pl.Float64),
    )


def bins_by_reference(values: list[float | None], quantiles: int) -> list[int]:
    """Counts per equal-count bin: numpy's linear quantiles, left-closed bins, plain Python."""
    present = [v for v in values if v is not None]
    cuts = np.quantile(present, [i / quantiles for i in range(1, quantiles)])
    counts = [0] * quantiles
    for v in present:
        counts[sum(1 for c in cuts if v >= c)] += 1
    return counts


class FormApp(App):
    def __init__(self, spec, schema=None) -> None:
        super().__init__()
        self.spec = spec
        self.schema = schema if schema is not None else forward_frame().schema
        self.edits: list[DimensionForm.Edited] = []

    def compose(self):
        yield form_for(self.spec, self.schema, index=0)

    def on_dimension_form_edited(self, message: DimensionForm.Edited) -> None:
        self.edits.append(message)


SPECS = [
    PotentialDimension(),
    PotentialDimension(name="Wallet", column="share_of_wallet", cuts=(0.25, 0.75),
                       labels=("Low share", "Mid share", "High share"), right_closed=True,
                       missing_label="Unknown", quantile=0.7),
    PotentialDimension(name="Headroom", column="headroom", quantiles=(0.5, 0.9), labels=None),
    ClvDimension(),
    ClvDimension(name="Value ahead", quantiles=4, labels=("Q1", "Q2", "Q3", "Q4"),
                 missing_label="No history"),
    ClusterDimension(name="Behaviour", features=("frequency", "employees", "industry")),
    ClusterDimension(name="Groups", features=("frequency", "buying_center_size"), k=3,
                     k_range=(3, 5), method="gmm", seed=7,
                     cluster_names=("Busy", "Quiet", "Big")),
]


class TestForwardForms:
    def test_the_new_kinds_have_forms(self):
        schema = forward_frame().schema
        assert type(form_for(PotentialDimension(), schema, index=0)) is PotentialForm
        assert type(form_for(ClvDimension(), schema, index=0)) is ClvForm
        cluster = ClusterDimension(features=("frequency",))
        assert type(form_for(cluster, schema, index=0)) is ClusterForm

    @pytest.mark.parametrize("spec", SPECS, ids=lambda s: f"{s.kind}-{s.name}")
    async def test_a_form_reads_back_the_spec_it_shows(self, spec):
        app = FormApp(spec)
        async with app.run_test(size=(60, 50)) as pilot:
            await pilot.pause()
            form = app.query_one(DimensionForm)
            assert form.build() == spec
            form.revalidate()  # what any keystroke does: the same spec, no error
            await pilot.pause()
            assert app.edits[-1].spec == spec and app.edits[-1].error is None

    async def test_edits_build_the_typed_spec(self):
        app = FormApp(PotentialDimension())
        async with app.run_test(size=(60, 50)) as pilot:
            await pilot.pause()
            app.query_one("#column", Select).value = "potential"
            app.query_one("#mode", Select).value = "cuts"
            app.query_one("#values", Input).value = "1000, 10_000"
            app.query_one("#labels", Input).value = "S, M, L"
            app.query_one("#missing", Input).value = "n/a"
            await pilot.pause()
            assert app.edits[-1].spec == PotentialDimension(
                column="potential", cuts=(1000.0, 10000.0), labels=("S", "M", "L"),
                missing_label="n/a",
            )

    @pytest.mark.parametrize(
        ("spec", "field", "text", "message"),
        [
            (PotentialDimension(), "values", "1, x", "item 2 ('x') is not a number"),
            (PotentialDimension(), "labels", "Low, High", "3 bins need 3 labels, got 2"),
            (PotentialDimension(), "quantile", "1.5", "between 0 and 1, got 1.5"),
            (PotentialDimension(), "quantile", "high", "must be a number"),
            (PotentialDimension(), "name", " ", "the name must be non-empty"),
            (ClvDimension(), "missing", "", "cannot be empty"),
            (ClvDimension(), "values", "", "give at least one number"),
            (ClusterDimension(features=("frequency",)), "features", "frequency, revnue",
             "unknown column 'revnue' (did you mean 'revenue'?)"),
            (ClusterDimension(features=("frequency",)), "features", "frequency, frequency",
             "'frequency' is listed twice"),
            (ClusterDimension(features=("frequency",)), "features", "",
             "give at least one column"),
            (ClusterDimension(features=("frequency",)), "k", "1", "k must be a whole number"),
            (ClusterDimension(features=("frequency",)), "k_range", "8-2",
             "2 <= low <= high <= 50, got 8-2"),
            (ClusterDimension(features=("frequency",)), "k_range", "two", "low-high"),
            (ClusterDimension(features=("frequency",)), "seed", "x", "whole number"),
            (ClusterDimension(features=("frequency",), k=3), "names", "A, B",
             "3 clusters need 3 names, got 2"),
            (ClusterDimension(features=("frequency",)), "names", "A, A", "same name"),
        ],
        ids=lambda v: v if isinstance(v, str) else getattr(v, "kind", None),
    )
    async def test_invalid_input_shows_a_field_error(self, spec, field, text, message):
        app = FormApp(spec)
        async with app.run_test(size=(60, 50)) as pilot:
            await pilot.pause()
            app.query_one(f"#{field}", Input).value = text
            await pilot.pause()
            error = app.query_one(f"#{field}-error", Label)
            assert message in str(error.render())
            assert error.has_class("-shown")
            assert app.edits[-1].spec is None and message in app.edits[-1].error
            # only this field's error is shown
            shown = [lbl.id for lbl in app.query(".field-error.-shown")]
            assert shown == [f"{field}-error"]

    def test_parse_features_checks_the_schema(self):
        schema = {"account_id": pl.Utf8, "frequency": pl.Int64, "industry": pl.Utf8,
                  "first_order": pl.Date, "active": pl.Boolean}
        assert parse_features("frequency, industry,active", "f", schema) == (
            "frequency", "industry", "active")
        with pytest.raises(FieldError, match="'first_order' is a Date column"):
            parse_features("frequency, first_order", "f", schema)
        with pytest.raises(FieldError, match="'account_id' is a String column"):
            parse_features("account_id", "f", schema)
        with pytest.raises(FieldError, match="item 2 is empty"):
            parse_features("frequency,, industry", "f", schema)

    def test_parse_k_range(self):
        assert parse_k_range("2-8", "r") == (2, 8)
        assert parse_k_range(" 3 , 5 ", "r") == (3, 5)
        assert parse_k_range("4 to 4", "r") == (4, 4)
        with pytest.raises(FieldError, match="got 1-3"):
            parse_k_range("1-3", "r")

    def test_new_dimensions_have_sensible_defaults(self):
        behaviour = {c: pl.Float64 for c in CLUSTER_DEFAULT_FEATURES}
        schema = {"account_id": pl.Utf8, "revenue": pl.Float64, **behaviour}
        cluster = new_dimension("cluster", schema)
        assert cluster.features == CLUSTER_DEFAULT_FEATURES and cluster.k is None
        # a frame without them: its own numeric columns besides revenue and margin
        assert new_dimension("cluster", tiny_frame().schema).features == (
            "employees", "frequency", "r_score")
        potential = new_dimension("potential", schema, taken={"Headroom"})
        assert (potential.name, potential.column, potential.quantiles) == (
            "Headroom 2", "headroom", 3)
        clv = new_dimension("clv", schema)
        assert (clv.column, clv.quantiles, clv.labels) == ("clv", 3, ("Low", "Medium", "High"))

    def test_reference_bins_match_the_hand_count(self):
        # 11 headroom values; tertile cuts by linear interpolation: 1333.3 and 6000
        assert bins_by_reference(HEADROOM, 3) == [4, 3, 4]


class ForwardState(TinyState):
    """The hand-made frame with headroom and CLV already attached."""

    def __init__(self, workspace: Workspace) -> None:
        super().__init__(workspace)
        self._tiny = forward_frame()


def make_forward_app(tmp_path: Path) -> SegscopeApp:
    workspace = Workspace.create(tmp_path / "tiny.segscope")
    workspace.save_model(ABC_X_SIZE.name, model_to_json(ABC_X_SIZE))
    config = UserConfig(theme="textual-dark", path=tmp_path / "config.toml")
    return SegscopeApp(ForwardState(workspace), config=config, persist_theme=False)


async def add_dimension(pilot, app, screen, kind: str) -> None:
    screen.query_one("#dimension-list", OptionList).focus()
    await pilot.press("a")
    await settle_app(pilot, app)
    assert isinstance(app.screen, ChoiceDialog)
    app.screen.query_one(OptionList).highlighted = [k for k, _ in KIND_CHOICES].index(kind)
    await pilot.press("enter")
    await settle_app(pilot, app)


class TestEditorWithForwardKinds:
    async def test_add_potential_and_clv_and_see_counts(self, tmp_path):
        app = make_forward_app(tmp_path)
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await open_editor(pilot, app)
            assert screen._current == "ABC x Size"
            await add_dimension(pilot, app, screen, "potential")
            assert [d.kind for d in screen.draft.dimensions] == ["abc", "bins", "potential"]
            assert isinstance(screen.query_one(DimensionForm), PotentialForm)
            low, medium, high = bins_by_reference(HEADROOM, 3)
            assert level_rows(screen, "Headroom") == {
                "Low": low, "Medium": medium, "High": high, "Not estimated": 1}
            assert (low, medium, high) == (4, 3, 4)  # by hand, see the reference test
            # two groups instead of three: the labels must follow, else a field error
            await type_into(pilot, app, screen.query_one("#values", Input), "2")
            assert "2 bins need 2 labels" in str(screen.query_one("#labels-error").render())
            await type_into(pilot, app, screen.query_one("#labels", Input), "Low, High")
            low, high = bins_by_reference(HEADROOM, 2)
            assert (low, high) == (5, 6)  # median of 11 values: 3000 starts the upper half
            assert level_rows(screen, "Headroom") == {"Low": 5, "High": 6, "Not estimated": 1}

            await add_dimension(pilot, app, screen, "clv")
            assert isinstance(screen.query_one(DimensionForm), ClvForm)
            low, medium, high = bins_by_reference(CLV, 3)
            assert level_rows(screen, "CLV") == {
                "Low": low, "Medium": medium, "High": high, "No CLV": 1}
            # by hand: tertile cuts 160 and 1900 over the 11 CLVs
            assert (low, medium, high) == (4, 3, 4)

    async def test_add_cluster_computes_in_the_worker(self, tmp_path):
        app = make_forward_app(tmp_path)
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await open_editor(pilot, app)
            await add_dimension(pilot, app, screen, "cluster")
            dim = screen.draft.dimensions[-1]
            assert isinstance(dim, ClusterDimension) and dim.k is None
            assert isinstance(screen.query_one(DimensionForm), ClusterForm)
            clusters = level_rows(screen, "Cluster")
            assert sum(clusters.values()) == 12 and 2 <= len(clusters) <= 8
            # a fixed k with names: the levels are those names
            await type_into(pilot, app, screen.query_one("#k", Input), "2")
            await type_into(pilot, app, screen.query_one("#names", Input), "One, Two")
            named = level_rows(screen, "Cluster")
            assert set(named) == {"One", "Two"} and sum(named.values()) == 12
            # expected: the same clusters as core's own fit with k=2
            expected = ClusterDimension(features=dim.features, k=2).levels(forward_frame())
            sizes = np.bincount(expected.codes.to_numpy(), minlength=2).tolist()
            assert [named["One"], named["Two"]] == sizes

