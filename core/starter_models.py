"""Models a new workspace starts with (issue 3: "A new workspace gets useful
starter models").

"Value x Potential" is the classic customer portfolio matrix: the current
revenue class (ABC) against the potential class, as tertiles of the headroom
(potential - revenue; see ``core.forward_dimensions``). "Behaviour clusters"
clusters the accounts on their purchasing behaviour (k suggested by
silhouette)."""

from __future__ import annotations

from core.forward_dimensions import ClusterDimension, PotentialDimension
from core.model import (
    AbcDimension,
    BinsDimension,
    CategoryDimension,
    PerformanceDimension,
    RfmDimension,
    SalesLogicDimension,
    SegmentationModel,
    model_to_json,
)

__all__ = ["STARTER_MODELS", "starter_model_specs"]

STARTER_MODELS: list[SegmentationModel] = [
    SegmentationModel("ABC by revenue", (AbcDimension("ABC", measure="revenue"),)),
    SegmentationModel("RFM", (RfmDimension("RFM", use="segment"),)),
    SegmentationModel(
        "Industry x Size",
        (
            CategoryDimension("Industry", "industry", keep_top=8, missing_label="Unknown"),
            BinsDimension(
                "Size",
                "employees",
                cuts=(10, 50, 250, 1000),
                labels=("1–9", "10–49", "50–249", "250–999", "1,000+"),
            ),
        ),
        min_segment_size=5,
    ),
    SegmentationModel("Sales logic", (SalesLogicDimension(),)),
    SegmentationModel("Revenue bridge", (PerformanceDimension("Performance"),)),
    SegmentationModel(
        "Value x Potential",
        (
            AbcDimension("Value", measure="revenue"),
            PotentialDimension(
                # headroom (potential - revenue), not potential: potential >= revenue, so
                # every A account would be "high potential" (demo: 227 of 227); by headroom
                # the demo fills all 9 cells (A: 147 low, 8 medium, 72 high)
                "Headroom", column="headroom", quantiles=3,
                labels=("Low headroom", "Medium headroom", "High headroom"),
            ),
        ),
    ),
    SegmentationModel(
        "Behaviour clusters",
        (
            ClusterDimension(
                "Behaviour",
                features=("buying_driver", "offer_type", "buying_center_size", "collaboration"),
                k_range=(2, 6),  # a starter with more than 6 clusters is hard to read
            ),
        ),
    ),
]


def starter_model_specs() -> dict[str, str]:
    """Starter model name -> spec JSON, in display order (for a new workspace)."""
    return {m.name: model_to_json(m) for m in STARTER_MODELS}
