"""The model editor's result status names each cluster dimension's chosen k and
its silhouette per k (issue 13 item 10)."""

from __future__ import annotations

import numpy as np
import polars as pl

from core.forward_dimensions import ClusterDimension
from core.model import SegmentationModel
from tui.widgets.model_results import live_result


def test_live_result_reports_k_and_silhouette() -> None:
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(0, 1, 30), rng.normal(50, 1, 30), rng.normal(100, 1, 30)])
    frame = pl.DataFrame({"account_id": [f"a{i}" for i in range(90)], "x": x,
                          "revenue": np.ones(90)})
    model = SegmentationModel("c", (ClusterDimension("Groups", features=("x",),
                                                     k_range=(2, 4)),))
    (note,) = live_result(frame, model).cluster_notes
    assert note.startswith("Groups: k = 3 (best silhouette; silhouette k=2 ")
    assert "k=3 " in note and "k=4 " in note
    given = SegmentationModel("g", (ClusterDimension("Groups", features=("x",), k=2),))
    assert live_result(frame, given).cluster_notes[0].startswith("Groups: k = 2 (given;")
