"""The edits log: undo/redo restore exact states, a new edit drops the redo tail,
the log survives reopening, and a failed write logs nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.persona import Persona
from storage import history, plans
from storage.errors import WorkspaceError
from storage.workspace import Workspace

TABLES = {
    "models": "name",
    "segments": "model_name, segment",
    "personas": "id",
    "plans": "model_name, segment",
    "kpis": "id",
    "runs": "id",
    "assignments": "run_id, account_id",
}


def state(ws: Workspace) -> dict[str, list[tuple]]:
    """Every row of every table an edit may touch (plain SQL, independent of history.py)."""
    return {t: ws.conn.execute(f"SELECT * FROM {t} ORDER BY {o}").fetchall()
            for t, o in TABLES.items()}  # fmt: skip


@pytest.fixture()
def ws(tmp_path: Path):
    with Workspace.create(tmp_path / "h.segscope") as ws:
        yield ws


def test_each_kind_of_edit_undoes_and_redoes_exactly(ws: Workspace) -> None:
    ws.save_model("m", '{"v": 1}')
    steps = [
        lambda: ws.save_model("m", '{"v": 2}'),
        lambda: ws.set_segment_annotation("m", "A", status="target", notes="big"),
        lambda: plans.set_plan(ws, "m", "A", objective="grow", owner="Ann"),
        lambda: plans.save_persona(ws, "m", Persona("A", "P", {"industry": "X"})),
        lambda: plans.add_kpi(ws, "m", "A", "revenue", 100.0, "2026-06-30"),
        lambda: plans.update_kpi(ws, 1, target=150.0),
        lambda: ws.save_run("m", "{}", "2025-01-01",
                            __import__("polars").DataFrame({"account_id": ["a"],
                                                            "segment": ["A"]})),  # fmt: skip
        lambda: ws.rename_model("m", "n"),
        lambda: ws.delete_model("n"),
    ]
    states = [state(ws)]
    for step in steps:
        step()
        states.append(state(ws))
    # the run is not an edit; every other step is one
    assert len(history.list_edits(ws)) == 1 + len(steps) - 1
    # undo back to the state after the run was frozen (runs themselves are not undone)
    for expected in reversed(states[7:-1]):
        assert history.undo(ws) is not None
        assert state(ws) == expected
    assert state(ws)["runs"][0][1] == "m"  # the rename moved the run back
    assert ws.list_models()[0][0] == "m"
    for expected in states[8:]:
        assert history.redo(ws) is not None
        assert state(ws) == expected
    assert history.redo(ws) is None


def test_new_edit_after_undo_discards_the_redo_tail(ws: Workspace) -> None:
    plans.set_plan(ws, "m", "A", owner="Ann")
    plans.set_plan(ws, "m", "A", owner="Bob")
    assert history.undo(ws).entity == "plan"
    assert plans.get_plan(ws, "m", "A")["owner"] == "Ann"
    assert history.can_redo(ws)
    plans.set_plan(ws, "m", "A", owner="Cy")
    assert not history.can_redo(ws)
    assert history.redo(ws) is None
    assert plans.get_plan(ws, "m", "A")["owner"] == "Cy"
    assert [e.undone for e in history.list_edits(ws)] == [False, False]


def test_history_survives_reopening(tmp_path: Path) -> None:
    path = tmp_path / "r.segscope"
    with Workspace.create(path) as ws:
        ws.save_model("m", '{"v": 1}')
        ws.save_model("m", '{"v": 2}')
    with Workspace.open(path) as ws:
        history.undo(ws)
        assert ws.get_model("m") == '{"v": 1}'
    with Workspace.open(path) as ws:
        history.redo(ws)
        assert ws.get_model("m") == '{"v": 2}'


def test_nothing_to_undo_or_redo(ws: Workspace) -> None:
    assert history.undo(ws) is None and history.redo(ws) is None
    assert not history.can_undo(ws) and not history.can_redo(ws)


def test_an_edit_that_changes_nothing_is_not_logged(ws: Workspace) -> None:
    ws.save_model("m", '{"v": 1}')
    with history.recorded(ws, "model", [("models", {"name": "m"})]):
        pass
    assert len(history.list_edits(ws)) == 1


def test_a_failed_write_logs_nothing_and_changes_nothing(ws: Workspace) -> None:
    plans.set_plan(ws, "m", "A", owner="Ann")
    before = state(ws)
    n = len(history.list_edits(ws))
    with pytest.raises(WorkspaceError, match="objective"):
        plans.set_plan(ws, "m", "A", objective="conquer")
    with pytest.raises(WorkspaceError, match="CHECK constraint"):
        with history.recorded(ws, "plan", [("plans", {"model_name": "m", "segment": "A"})]):
            ws.conn.execute("UPDATE plans SET owner = 'Zed'")
            ws.conn.execute("UPDATE plans SET objective = 'conquer'")  # CHECK fails
    assert state(ws) == before and len(history.list_edits(ws)) == n


def test_unknown_tables_and_columns_are_refused(ws: Workspace) -> None:
    with pytest.raises(WorkspaceError, match="table 'accounts'"):
        with history.recorded(ws, "x", [("accounts", {"account_id": "a"})]):
            pass
    with pytest.raises(WorkspaceError, match="no column"):
        with history.recorded(ws, "x", [("plans", {"nope": 1})]):
            pass


# ------------------------------------------------------------------ property test

MODELS = st.sampled_from(["m1", "m2"])
SEGMENTS = st.sampled_from(["A", "B", "C"])
TEXT = st.one_of(st.none(), st.text(max_size=8))

EDITS = st.one_of(
    st.tuples(st.just("save_model"), MODELS, st.integers(0, 3)),
    st.tuples(st.just("rename_model"), MODELS, MODELS),
    st.tuples(st.just("delete_model"), MODELS),
    st.tuples(st.just("annotate"), MODELS, SEGMENTS,
              st.sampled_from([None, "target", "maintain", "lean"]), TEXT),
    st.tuples(st.just("plan"), MODELS, SEGMENTS,
              st.sampled_from([None, "grow", "retain", "maintain", "lean service"]), TEXT),
    st.tuples(st.just("delete_plan"), MODELS, SEGMENTS),
    st.tuples(st.just("persona"), MODELS, SEGMENTS, st.text(min_size=1, max_size=6), TEXT),
    st.tuples(st.just("edit_persona"), st.integers(1, 4), TEXT),
    st.tuples(st.just("delete_persona"), st.integers(1, 4)),
    st.tuples(st.just("kpi"), MODELS, SEGMENTS,
              st.floats(allow_nan=False, allow_infinity=False, width=32)),
    st.tuples(st.just("update_kpi"), st.integers(1, 4),
              st.floats(allow_nan=False, allow_infinity=False)),
    st.tuples(st.just("delete_kpi"), st.integers(1, 4)),
)  # fmt: skip


def apply_edit(ws: Workspace, edit: tuple) -> None:
    """Run one edit; an edit the workspace refuses (absent row) is simply skipped."""
    kind, *a = edit
    try:
        if kind == "save_model":
            ws.save_model(a[0], f'{{"v": {a[1]}}}')
        elif kind == "rename_model":
            ws.rename_model(a[0], a[1])
        elif kind == "delete_model":
            ws.delete_model(a[0])
        elif kind == "annotate":
            ws.set_segment_annotation(a[0], a[1], status=a[2], notes=a[3])
        elif kind == "plan":
            plans.set_plan(ws, a[0], a[1], objective=a[2], key_messages=a[3])
        elif kind == "delete_plan":
            plans.delete_plan(ws, a[0], a[1])
        elif kind == "persona":
            plans.save_persona(ws, a[0], Persona(a[1], a[2], {"summary": a[3]}, {"goals": [a[3]]},
                                                 frozenset({"name"}), {"accounts": 3}))  # fmt: skip
        elif kind == "edit_persona":
            stored = plans.get_persona(ws, a[0])
            p = stored.persona
            plans.save_persona(ws, stored.model_name, Persona(p.segment, p.name,
                               {"summary": a[1]}, p.people), a[0])  # fmt: skip
        elif kind == "delete_persona":
            plans.delete_persona(ws, a[0])
        elif kind == "kpi":
            plans.add_kpi(ws, a[0], a[1], "revenue", a[2], "2026-12-31")
        elif kind == "update_kpi":
            plans.update_kpi(ws, a[0], target=a[1])
        elif kind == "delete_kpi":
            plans.delete_kpi(ws, a[0])
    except WorkspaceError:
        pass


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(setup=st.lists(EDITS, max_size=4), edits=st.lists(EDITS, min_size=1, max_size=12))
def test_undo_all_then_redo_all_restores_exact_states(tmp_path: Path, setup, edits) -> None:
    path = tmp_path / "p.segscope"
    if path.exists():
        path.unlink()
    with Workspace.create(path, overwrite=True) as ws:
        for edit in setup:
            apply_edit(ws, edit)
        ws.conn.execute("DELETE FROM edits")  # the setup is the starting point
        initial = state(ws)
        for edit in edits:
            apply_edit(ws, edit)
        final = state(ws)
        n = len(history.list_edits(ws, limit=1000))
        for _ in range(n):
            assert history.undo(ws) is not None
        assert history.undo(ws) is None
        assert state(ws) == initial
        for _ in range(n):
            assert history.redo(ws) is not None
        assert history.redo(ws) is None
        assert state(ws) == final


def test_edit_summaries_say_what_was_done(ws: Workspace) -> None:
    ws.save_model("m", "{}")
    plans.add_kpi(ws, "m", "A", "nrr", 1.05)
    plans.update_kpi(ws, 1, target=1.1)
    plans.delete_kpi(ws, 1)
    ws.rename_model("m", "n")
    assert [e.summary for e in history.list_edits(ws)] == [
        "model renamed: renamed='m' to='n'",
        "kpi deleted: id=1 segment='A' metric='nrr'",
        "kpi changed: id=1 segment='A' metric='nrr'",
        "kpi created: id=1 segment='A' metric='nrr'",
        "model created: name='m'",
    ]
    undone = history.undo(ws)
    assert undone.undone and undone.action == "renamed"
