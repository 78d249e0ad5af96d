"""Issue 11: the workbench's model save validates rule conditions (core.model.validate_rules)."""

from __future__ import annotations

import pytest

from core.model import AbcDimension, ModelError, RuleDimension, SegmentationModel


def _model(*conditions: str) -> SegmentationModel:
    rules = tuple((f"L{i}", c) for i, c in enumerate(conditions, start=1))
    return SegmentationModel("M", (AbcDimension(), RuleDimension("Tier", rules)))


def test_the_workbench_save_refuses_a_bad_rule(tmp_path) -> None:
    """tui.state.WorkbenchState.save_model: the path the model editor's Ctrl+S takes."""
    from core.model import model_to_json
    from storage.workspace import Workspace
    from tui.cli import main
    from tui.state import WorkbenchState

    ws_path = tmp_path / "ws.segscope"
    (tmp_path / "a.csv").write_text("account_id,name,industry\nA1,Acme,IT\nA2,Beta,Retail\n")
    assert main(["init", str(ws_path)]) == 0
    assert main(["import", str(ws_path), str(tmp_path / "a.csv"), "--kind", "accounts",
                 "--quiet"]) == 0  # fmt: skip
    with Workspace.open(ws_path) as ws:
        state = WorkbenchState(ws)
        with pytest.raises(ModelError, match=r"dimension 'Tier', rule 1 \('L1'\).*'industri'"):
            state.save_model(_model("industri = 'IT'"))
        assert "M" not in [name for name, _ in ws.list_models()]
        good = _model("industry = 'IT'")
        state.save_model(good)
        assert ws.get_model("M") == model_to_json(good)
