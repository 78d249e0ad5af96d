"""Issue 11: rule conditions are checked when a model is saved, naming the dimension and rule."""

from __future__ import annotations

import polars as pl
import pytest

from core.model import (
    AbcDimension,
    ModelError,
    RuleDimension,
    SegmentationModel,
    rule_columns,
    validate_rules,
)

SCHEMA = {"account_id": pl.String, "revenue": pl.Float64, "industry": pl.String}


def _model(*conditions: str) -> SegmentationModel:
    rules = tuple((f"L{i}", c) for i, c in enumerate(conditions, start=1))
    return SegmentationModel("M", (AbcDimension(), RuleDimension("Tier", rules)))


def test_good_conditions_pass() -> None:
    validate_rules(_model("revenue > 1000", "industry STARTS WITH 'it'"), SCHEMA)


@pytest.mark.parametrize(
    ("condition", "why"),
    [
        ("revenu > 5", "unknown column 'revenu'"),
        ("industry > 5", "cannot compare"),
        ("revenue >", "expected a value"),
        ("revenue", "must be true or false"),
        ("(" * 150 + "revenue > 1" + ")" * 150, "nests more than"),
        ("revenue > " + "9" * 5000, "at most 100"),
    ],
)
def test_a_bad_condition_names_the_dimension_and_rule(condition: str, why: str) -> None:
    with pytest.raises(ModelError, match=r"dimension 'Tier', rule 2 \('L2'\)") as info:
        validate_rules(_model("revenue > 1", condition), SCHEMA)
    assert why in str(info.value)


def test_forward_columns_count_as_known_before_they_are_fitted() -> None:
    columns = rule_columns(SCHEMA)
    validate_rules(_model("clv > 100 OR headroom > 0", "p_alive < 0.5"), columns)
    assert columns["revenue"] == pl.Float64  # the frame's own dtypes are kept


def test_without_known_columns_conditions_are_only_parsed() -> None:
    validate_rules(_model("anything_yet > 1"), None)
    with pytest.raises(ModelError, match="rule 1"):
        validate_rules(_model("anything_yet >"), None)

