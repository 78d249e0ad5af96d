"""Personas, game plans and KPIs in the workspace (storage/plans.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.persona import Persona
from storage import plans
from storage.errors import WorkspaceError
from storage.workspace import Workspace


@pytest.fixture()
def ws(tmp_path: Path):
    with Workspace.create(tmp_path / "p.segscope") as ws:
        yield ws


def test_plan_fields_set_partially_and_cleared(ws: Workspace) -> None:
    plans.set_plan(ws, "m", "A", objective="grow", coverage_model="key account manager",
                   owner="Ann", review_date="2026-03-31")  # fmt: skip
    plans.set_plan(ws, "m", "A", key_messages="uptime = money", owner=None)
    plan = plans.get_plan(ws, "m", "A")
    assert plan["objective"] == "grow" and plan["coverage_model"] == "key account manager"
    assert plan["owner"] is None and plan["key_messages"] == "uptime = money"
    assert plan["review_date"] == "2026-03-31" and plan["orphaned"] is False
    assert plans.get_plan(ws, "m", "B") is None
    frame = plans.list_plans(ws, "m")
    assert frame.height == 1 and frame["segment"].to_list() == ["A"]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"objective": "conquer"}, "objective 'conquer' is not one of grow, retain"),
        ({"coverage_model": "telepathy"}, "coverage model 'telepathy'"),
        ({"offer": "free"}, "offer 'free' is not one of standard, customised"),
        ({"review_date": "31/03/2026"}, "review date '31/03/2026' is not a date"),
        ({"budget": "1"}, "no field 'budget'"),
    ],
)
def test_bad_plan_values_are_refused_and_nothing_written(ws: Workspace, fields, message) -> None:
    with pytest.raises(WorkspaceError, match=message):
        plans.set_plan(ws, "m", "A", **fields)
    assert plans.list_plans(ws).is_empty()


def test_flag_orphans_keeps_plans_and_unflags_returning_segments(ws: Workspace) -> None:
    for seg in ("A", "B", "C"):
        plans.set_plan(ws, "m", seg, objective="retain")
    plans.set_plan(ws, "other", "B", objective="grow")
    assert plans.flag_orphans(ws, "m", ["A", "C", "D"]) == ["B"]
    frame = plans.list_plans(ws)
    assert frame.height == 4
    flags = dict(zip(frame["model_name"] + "/" + frame["segment"], frame["orphaned"], strict=True))
    assert flags == {"m/A": False, "m/B": True, "m/C": False, "other/B": False}
    assert plans.flag_orphans(ws, "m", ["A", "B", "C"]) == []
    assert not any(plans.list_plans(ws)["orphaned"])
    assert plans.flag_orphans(ws, "m", []) == ["A", "B", "C"]


def test_persona_round_trip_update_and_delete(ws: Workspace) -> None:
    p = Persona("A · Complex", "Solution partner (Énergie)",
                {"industry": "Energy (40% of accounts)", "traits": ["a", "b"]},
                {"goals": ["uptime"], "quote": "Ça marche."},
                frozenset({"name", "business.industry"}),
                {"accounts": 12, "industry": "Energy"})  # fmt: skip
    pid = plans.save_persona(ws, "m", p)
    stored = plans.get_persona(ws, pid)
    assert stored.persona == p and stored.model_name == "m" and stored.id == pid
    pid2 = plans.save_persona(ws, "m", Persona("B", "Other"))
    assert pid2 == pid + 1
    changed = Persona(p.segment, "Renamed", p.business, p.people, frozenset(), p.basis)
    assert plans.save_persona(ws, "m", changed, pid) == pid
    assert plans.get_persona(ws, pid).persona.name == "Renamed"
    assert [s.id for s in plans.list_personas(ws, "m", "A · Complex")] == [pid]
    assert len(plans.list_personas(ws)) == 2
    frame = plans.personas_frame(ws, "m")
    assert frame.height == 2 and frame["business.traits"][0] == "a; b"
    plans.delete_persona(ws, pid)
    with pytest.raises(WorkspaceError, match=f"no persona with id {pid}"):
        plans.get_persona(ws, pid)
    with pytest.raises(WorkspaceError, match="no persona with id 99"):
        plans.save_persona(ws, "m", p, 99)


def test_kpis_add_update_list_delete(ws: Workspace) -> None:
    k1 = plans.add_kpi(ws, "m", "A", "revenue", 1e6, "2026-12-31", baseline=8e5)
    k2 = plans.add_kpi(ws, "m", "A", "churned_accounts", 3, None, direction="at_most")
    plans.add_kpi(ws, "m", "B", "nrr", 1.05)
    plans.update_kpi(ws, k1, target=1.2e6, deadline="2027-01-31")
    frame = plans.list_kpis(ws, "m", "A")
    assert frame["id"].to_list() == [k1, k2]
    row = frame.row(0, named=True)
    assert (row["target"], row["deadline"], row["baseline"], row["direction"]) == (
        1.2e6, "2027-01-31", 8e5, "at_least")  # fmt: skip
    assert frame.row(1, named=True)["direction"] == "at_most"
    plans.delete_kpi(ws, k2)
    assert plans.list_kpis(ws)["id"].to_list() == [k1, 3]
    with pytest.raises(WorkspaceError, match="direction 'up'"):
        plans.add_kpi(ws, "m", "A", "revenue", 1, direction="up")
    with pytest.raises(WorkspaceError, match="deadline 'soon' is not a date"):
        plans.add_kpi(ws, "m", "A", "revenue", 1, "soon")
    with pytest.raises(WorkspaceError, match="target 'lots' is not a number"):
        plans.add_kpi(ws, "m", "A", "revenue", "lots")
    with pytest.raises(WorkspaceError, match="no KPI with id 42"):
        plans.update_kpi(ws, 42, target=1)


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", 1e300])
def test_kpi_targets_and_baselines_are_finite_and_bounded(ws: Workspace, value) -> None:
    # the workbench's KPI form reaches storage directly, without the CLI's flag check
    with pytest.raises(WorkspaceError, match="not a finite number"):
        plans.add_kpi(ws, "m", "A", "revenue", value)
    k = plans.add_kpi(ws, "m", "A", "revenue", 1)
    with pytest.raises(WorkspaceError, match="not a finite number"):
        plans.update_kpi(ws, k, baseline=value)
    assert plans.list_kpis(ws, "m", "A")["target"].to_list() == [1.0]


def test_renaming_a_model_carries_its_personas_plans_and_kpis(ws: Workspace) -> None:
    ws.save_model("m", "{}")
    plans.set_plan(ws, "m", "A", objective="grow")
    plans.save_persona(ws, "m", Persona("A", "P"))
    plans.add_kpi(ws, "m", "A", "revenue", 10)
    ws.rename_model("m", "n")
    assert plans.get_plan(ws, "n", "A")["objective"] == "grow"
    assert plans.get_plan(ws, "m", "A") is None
    assert [s.model_name for s in plans.list_personas(ws)] == ["n"]
    assert plans.list_kpis(ws)["model_name"].to_list() == ["n"]


def test_rename_onto_leftover_annotations_or_plans_is_refused(ws: Workspace) -> None:
    ws.save_model("m", "{}")
    ws.set_segment_annotation("m", "A", status="target")
    ws.set_segment_annotation("gone", "A", status="lean")  # a model that is not saved
    with pytest.raises(WorkspaceError, match="segment 'A' has annotations stored under both"):
        ws.rename_model("m", "gone")
    ws.set_segment_annotation("gone", "A", status=None)
    ws.delete_model("m")  # its annotations go, its plans stay
    ws.save_model("m2", "{}")
    plans.set_plan(ws, "m2", "B", objective="grow")
    plans.set_plan(ws, "x", "B", objective="retain")
    with pytest.raises(WorkspaceError, match="segment 'B' has game plans stored under both"):
        ws.rename_model("m2", "x")
    assert plans.get_plan(ws, "m2", "B")["objective"] == "grow"
    assert [n for n, _ in ws.list_models()] == ["m2"]
