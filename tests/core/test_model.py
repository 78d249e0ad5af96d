"""Dimension specs: validation messages, JSON round trip, the kind registry."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import ClassVar

import polars as pl
import pytest

from core.dimensions import Levels
from core.errors import UsageError
from core.model import (
    DIMENSION_KINDS,
    AbcDimension,
    BinsDimension,
    CategoryDimension,
    Dimension,
    ModelError,
    PerformanceDimension,
    RfmDimension,
    RuleDimension,
    SalesLogicDimension,
    SegmentationModel,
    model_from_json,
    model_to_json,
    register_dimension,
)

EVERY_KIND = SegmentationModel(
    "Everything",
    (
        AbcDimension("ABC margin", measure="margin", a=0.7, b=0.9),
        RfmDimension("RF", use="rf"),
        PerformanceDimension(),
        BinsDimension("Size", "employees", cuts=(10, 50.5, 250), labels=("S", "M", "L", "XL")),
        BinsDimension("Rev q", "revenue", quantiles=(0.2, 0.8), right_closed=True),
        BinsDimension("Rev 4", "revenue", quantiles=4),
        CategoryDimension(
            "Industry",
            "industry",
            groups={"Health": ["hospital", "pharma"]},
            keep_top=3,
            other_label="Rest",
            missing_label="n/a",
        ),
        RuleDimension("Value", (("Big", "revenue > 1000"), ("Small", "revenue > 0")), "None"),
        SalesLogicDimension(),
    ),
    min_segment_size=25,
    other_label="Misc",
)


def test_json_round_trip_of_every_kind() -> None:
    text = model_to_json(EVERY_KIND)
    data = json.loads(text)
    assert data["format"] == 1
    assert [d["kind"] for d in data["dimensions"]] == [
        "abc",
        "rfm",
        "performance",
        "bins",
        "bins",
        "bins",
        "category",
        "rule",
        "sales_logic",
    ]
    assert data["dimensions"][6]["groups"] == {"Health": ["hospital", "pharma"]}
    assert data["dimensions"][7]["rules"][0] == {"label": "Big", "condition": "revenue > 1000"}
    back = model_from_json(text)
    assert back == EVERY_KIND
    assert model_to_json(back) == text


def test_rules_accept_pairs_in_json() -> None:
    data = json.loads(model_to_json(EVERY_KIND))
    data["dimensions"][7]["rules"] = [["Big", "revenue > 1000"], ["Small", "revenue > 0"]]
    assert model_from_json(json.dumps(data)) == EVERY_KIND


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (
            lambda d: d["dimensions"][3].update(kind="bogus"),
            "dimension 4 ('Size'): unknown kind 'bogus' (known kinds: abc, ",
        ),
        (
            lambda d: d["dimensions"][3].update(cut=[1]),
            "dimension 'Size' (bins): unknown field 'cut'",
        ),
        (
            lambda d: d["dimensions"][3].pop("column"),
            "dimension 'Size' (bins): missing field 'column'",
        ),
        (
            lambda d: d["dimensions"][3].update(cuts=[50, 10]),
            "dimension 'Size' (bins): cuts must be strictly increasing",
        ),
        (
            lambda d: d["dimensions"][3].update(labels=["a"]),
            "dimension 'Size' (bins): 4 bins need 4 labels, got 1",
        ),
        (
            lambda d: d["dimensions"][3].update(quantiles=4),
            "dimension 'Size' (bins): give either cuts or quantiles",
        ),
        (
            lambda d: d["dimensions"][0].update(a=0.99),
            "dimension 'ABC margin' (abc): thresholds need 0 < a < b <= 1",
        ),
        (lambda d: d["dimensions"][1].update(use="x"), "dimension 'RF' (rfm): use must be one of"),
        (
            lambda d: d["dimensions"][7].update(rules=[["Big"]]),
            "dimension 'Value' (rule): rule 1 must be a (label, condition) pair",
        ),
        (
            lambda d: d["dimensions"][6].update(keep_top=-1),
            "dimension 'Industry' (category): keep_top must be",
        ),
        (
            lambda d: d["dimensions"][2].update(name="Size"),
            "model 'Everything': two dimensions are named 'Size'",
        ),
        (
            lambda d: d["dimensions"][2].update(name="segment"),
            "dimension 'segment' (performance): 'segment' is reserved",
        ),
        (lambda d: d.update(format=2), "model format 2 is not supported"),
        (
            lambda d: d.update(min_segment_size=-1),
            "model 'Everything': min_segment_size must be a whole number",
        ),
        (lambda d: d.update(dimensions=[]), "model 'Everything' has no dimensions"),
    ],
)
def test_bad_specs_name_the_dimension(mutate, message: str) -> None:
    data = json.loads(model_to_json(EVERY_KIND))
    mutate(data)
    with pytest.raises(ModelError) as exc:
        model_from_json(json.dumps(data))
    assert str(exc.value).startswith(message), str(exc.value)
    assert isinstance(exc.value, UsageError)


def test_invalid_json_text() -> None:
    with pytest.raises(ModelError, match="model JSON is not valid"):
        model_from_json("{not json")


def test_sales_logic_defaults_are_editable_rules() -> None:
    dim = SalesLogicDimension()
    assert dim.default == "Traditional"
    assert dim.rules[0][0] == "Complex"
    edited = SalesLogicDimension(rules=(("Complex", "buying_center_size >= 8"),))
    assert model_from_json(model_to_json(SegmentationModel("m", (edited,)))).dimensions[0] == edited


def test_registry_accepts_new_kinds_without_touching_dispatch() -> None:
    @register_dimension
    @dataclass(frozen=True)
    class ConstantDimension(Dimension):
        kind: ClassVar[str] = "test_constant"
        name: str = "Const"
        label: str = "x"

        def levels(self, frame: pl.DataFrame) -> Levels:
            return Levels(pl.Series([0] * frame.height, dtype=pl.UInt32), (self.label,))

    try:
        model = SegmentationModel("m", (ConstantDimension(label="only"),))
        assert model_from_json(model_to_json(model)) == model
        from core.segment import assign_segments

        frame = pl.DataFrame({"account_id": ["a", "b"]})
        assert assign_segments(frame, model)["segment"].cast(pl.String).to_list() == ["only"] * 2
    finally:
        DIMENSION_KINDS.pop("test_constant")


def test_starter_models_round_trip_and_run_on_a_frame() -> None:
    from core.segment import assign_segments
    from core.starter_models import STARTER_MODELS, starter_model_specs

    specs = starter_model_specs()
    assert list(specs) == ["ABC by revenue", "RFM", "Industry x Size", "Sales logic",
                           "Revenue bridge", "Value x Potential",
                           "Behaviour clusters"]  # fmt: skip
    for model in STARTER_MODELS:
        assert model_from_json(specs[model.name]) == model
    frame = pl.DataFrame(
        {
            "account_id": ["a", "b", "c"],
            "industry": ["it", None, "it"],
            "employees": [5, 50, 2000],
            "revenue": [10.0, 0.0, 90.0],
            "abc_class": ["B", "C", "A"],
            "r_score": [1, None, 5],
            "f_score": [2, None, 5],
            "m_score": [1, None, 5],
            "rfm_segment": ["Lost", None, "Champions"],
            "bridge_class": ["churn", None, "new"],
            "offer_type": ["standard", "customised", "standard"],
            "buying_center_size": [2, 1, 9],
            "collaboration": ["low", "low", "high"],
        }
    )
    # the forward-looking starters need fits over many accounts: tested in test_forward_dimensions
    forward = {"Value x Potential", "Behaviour clusters"}
    backward = [m for m in STARTER_MODELS if m.name not in forward]
    segments = {
        m.name: assign_segments(frame, m)["segment"].cast(pl.String).to_list() for m in backward
    }
    assert segments["ABC by revenue"] == ["B", "C", "A"]
    assert segments["RFM"] == ["Lost", "No purchases", "Champions"]
    assert segments["Sales logic"] == ["Traditional", "Complex", "Complex"]
    assert segments["Revenue bridge"] == ["churn", "No activity", "new"]
    assert segments["Industry x Size"] == ["Other"] * 3  # every cell under 5 accounts


def test_bad_rfm_grid_names_the_dimension() -> None:
    with pytest.raises(ModelError, match=r"dimension 'R' \(rfm\): invalid RFM grid"):
        RfmDimension("R", grid={"rows": [{"segment": "x", "r": [0, 9], "f": [1, 5]}]})
