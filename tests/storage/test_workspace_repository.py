"""Models, runs, segment annotations and settings stored in the workspace."""

from __future__ import annotations

import sqlite3
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from storage.errors import WorkspaceError
from storage.workspace import Workspace


@pytest.fixture
def ws(tmp_path: Path):
    with Workspace.create(tmp_path / "w.segscope", cache=False) as workspace:
        yield workspace


class TestModels:
    def test_save_get_list(self, ws: Workspace) -> None:
        ws.save_model("Size", '{"dims": [1]}')
        ws.save_model("ABC", '{"dims": []}')
        assert ws.get_model("Size") == '{"dims": [1]}'
        assert [name for name, _ in ws.list_models()] == ["ABC", "Size"]
        assert all(updated.endswith("Z") for _, updated in ws.list_models())

    def test_save_again_replaces_and_keeps_created_at(self, ws: Workspace) -> None:
        ws.save_model("m", '{"v": 1}')
        created, updated = ws.conn.execute(
            "SELECT created_at, updated_at FROM models WHERE name = 'm'"
        ).fetchone()
        ws.save_model("m", '{"v": 2}')
        assert ws.get_model("m") == '{"v": 2}'
        created2, updated2 = ws.conn.execute(
            "SELECT created_at, updated_at FROM models WHERE name = 'm'"
        ).fetchone()
        assert created2 == created and updated2 > updated
        assert len(ws.list_models()) == 1

    def test_missing_model_names_the_saved_ones(self, ws: Workspace) -> None:
        with pytest.raises(WorkspaceError, match=r"no model named 'x' .*; models: \(none"):
            ws.get_model("x")
        ws.save_model("b", "{}")
        ws.save_model("a", "{}")
        with pytest.raises(WorkspaceError, match=r"no model named 'x' in .*; models: a, b$"):
            ws.get_model("x")

    def test_bad_input(self, ws: Workspace) -> None:
        with pytest.raises(WorkspaceError, match="not valid JSON"):
            ws.save_model("m", "{oops")
        with pytest.raises(WorkspaceError, match="cannot be empty"):
            ws.save_model("  ", "{}")
        assert ws.list_models() == []

    def test_rename_moves_runs_and_annotations(self, ws: Workspace) -> None:
        ws.save_model("old", "{}")
        ws.save_model("other", "{}")
        run = ws.save_run("old", "{}", None, pl.DataFrame({"account_id": ["A"], "segment": ["S"]}))
        ws.set_segment_annotation("old", "S", label="Stars")
        ws.rename_model("old", "new")
        assert [n for n, _ in ws.list_models()] == ["new", "other"]
        assert ws.run_info(run)["model_name"] == "new"
        assert ws.get_segment_annotations("new")["label"].to_list() == ["Stars"]
        assert ws.get_segment_annotations("old").height == 0
        with pytest.raises(WorkspaceError, match="a model named 'other' exists"):
            ws.rename_model("new", "other")
        with pytest.raises(WorkspaceError, match="no model named 'gone'"):
            ws.rename_model("gone", "x")
        assert [n for n, _ in ws.list_models()] == ["new", "other"]

    def test_delete(self, ws: Workspace) -> None:
        ws.save_model("m", "{}")
        run = ws.save_run("m", "{}", None, pl.DataFrame({"account_id": ["A"], "segment": ["S"]}))
        ws.set_segment_annotation("m", "S", notes="n")
        ws.delete_model("m")
        assert ws.list_models() == []
        assert ws.get_segment_annotations("m").height == 0
        assert ws.run_info(run)["model_name"] == "m"  # frozen runs stay
        with pytest.raises(WorkspaceError, match="no model named 'm'"):
            ws.delete_model("m")

    def test_model_writes_do_not_change_the_data_version(self, ws: Workspace) -> None:
        before = ws.data_version()
        ws.save_model("m", "{}")
        ws.set_setting("k", 1)
        ws.set_segment_annotation("m", "S", status="lean")
        assert ws.data_version() == before


class TestRuns:
    def test_save_list_load(self, ws: Workspace) -> None:
        assignments = pl.DataFrame(
            {
                "account_id": ["B", "A", "C"],
                "segment": ["S2", "S1", None],
                "revenue": [20.0, 10.5, None],
            }
        )
        first = ws.save_run("m", '{"v": 1}', date(2024, 12, 31), assignments, label="Q4")
        second = ws.save_run("m", '{"v": 2}', "2025-03-31", assignments.drop("revenue"))
        other = ws.save_run("n", "{}", None, assignments.head(1))
        assert first < second < other

        runs = ws.list_runs()
        assert runs.columns == ["run_id", "model_name", "label", "as_of", "created_at", "accounts"]
        assert runs["run_id"].to_list() == [other, second, first]  # newest first
        assert runs.filter(pl.col("run_id") == first).row(0, named=True) | {"created_at": None} == {
            "run_id": first,
            "model_name": "m",
            "label": "Q4",
            "as_of": "2024-12-31",
            "created_at": None,
            "accounts": 3,
        }
        assert ws.list_runs("m")["run_id"].to_list() == [second, first]

        loaded = ws.load_run(first)
        assert loaded.schema == pl.Schema(
            {"account_id": pl.Utf8, "segment": pl.Utf8, "revenue": pl.Float64}
        )
        assert loaded.sort("account_id").rows() == [
            ("A", "S1", 10.5),
            ("B", "S2", 20.0),
            ("C", None, None),
        ]
        assert ws.load_run(second)["revenue"].null_count() == 3
        info = ws.run_info(second)
        assert info["spec_json"] == '{"v": 2}' and info["as_of"] == "2025-03-31"

    def test_bad_assignments_write_nothing(self, ws: Workspace) -> None:
        with pytest.raises(WorkspaceError, match="lack column"):
            ws.save_run("m", "{}", None, pl.DataFrame({"account_id": ["A"]}))
        with pytest.raises(WorkspaceError, match="more than once"):
            ws.save_run(
                "m", "{}", None, pl.DataFrame({"account_id": ["A", "A"], "segment": ["x", "y"]})
            )
        assert ws.list_runs().height == 0
        assert ws.conn.execute("SELECT count(*) FROM assignments").fetchone()[0] == 0

    def test_a_run_is_saved_whole_or_not_at_all(self, ws: Workspace, monkeypatch) -> None:
        rows = pl.DataFrame({"account_id": [f"A{i}" for i in range(1000)], "segment": ["s"] * 1000})
        real = ws.conn

        class FailingConn:
            """Delegates to sqlite3 but fails the bulk insert half-way."""

            def __getattr__(self, name):
                return getattr(real, name)

            def executemany(self, sql, seq):
                def half():
                    for i, row in enumerate(seq):
                        if i == 500:
                            raise RuntimeError("disk full")
                        yield row

                return real.executemany(sql, half())

        monkeypatch.setattr(ws, "conn", FailingConn())
        with pytest.raises(RuntimeError):
            ws.save_run("m", "{}", None, rows)
        monkeypatch.undo()
        assert ws.list_runs().height == 0
        assert ws.conn.execute("SELECT count(*) FROM assignments").fetchone()[0] == 0

    def test_delete_and_missing(self, ws: Workspace) -> None:
        run = ws.save_run("m", "{}", None, pl.DataFrame({"account_id": ["A"], "segment": ["S"]}))
        ws.delete_run(run)
        assert ws.list_runs().height == 0
        assert ws.conn.execute("SELECT count(*) FROM assignments").fetchone()[0] == 0
        with pytest.raises(WorkspaceError, match=f"no run with id {run}"):
            ws.load_run(run)
        with pytest.raises(WorkspaceError, match="no run with id 99"):
            ws.delete_run(99)

    def test_large_run_round_trip(self, ws: Workspace) -> None:
        n = 50_000
        df = pl.DataFrame(
            {
                "account_id": [f"A{i:06d}" for i in range(n)],
                "segment": [f"S{i % 7}" for i in range(n)],
                "revenue": [i * 0.5 for i in range(n)],
            }
        )
        run = ws.save_run("m", "{}", None, df)
        assert ws.load_run(run).equals(df)
        raw = sqlite3.connect(ws.path)
        assert raw.execute(
            "SELECT count(*), sum(revenue) FROM assignments WHERE run_id = ?", (run,)
        ).fetchone() == (n, sum(i * 0.5 for i in range(n)))
        raw.close()


class TestSegmentAnnotations:
    def test_set_fields_independently(self, ws: Workspace) -> None:
        ws.set_segment_annotation("m", "A-High", label="Stars", scores={"fit": 4, "access": 2})
        ws.set_segment_annotation("m", "A-High", status="target")
        ws.set_segment_annotation("m", "B-Low", notes="watch churn")
        frame = ws.get_segment_annotations("m")
        assert frame.rows() == [
            ("A-High", "Stars", None, "target", '{"access": 2, "fit": 4}'),
            ("B-Low", None, "watch churn", None, None),
        ]
        ws.set_segment_annotation("m", "A-High", status=None, label=None)
        assert ws.get_segment_annotations("m").row(0) == (
            "A-High",
            None,
            None,
            None,
            '{"access": 2, "fit": 4}',
        )

    def test_bad_status(self, ws: Workspace) -> None:
        with pytest.raises(WorkspaceError, match="'focus' is not one of target, maintain, lean"):
            ws.set_segment_annotation("m", "S", status="focus")
        assert ws.get_segment_annotations("m").height == 0

    def test_aliases(self, ws: Workspace) -> None:
        ws.set_segment_note("m", "S", note="n", status="maintain")
        assert ws.get_segment_notes("m").select("notes", "status").row(0) == ("n", "maintain")


class TestSettings:
    def test_json_round_trip(self, ws: Workspace) -> None:
        assert ws.get_setting("theme") is None
        assert ws.get_setting("theme", "dark") == "dark"
        value = {"weights": [0.5, 0.25], "on": True, "name": "x", "none": None}
        ws.set_setting("targeting", value)
        assert ws.get_setting("targeting") == value
        ws.set_setting("targeting", 3)
        assert ws.get_setting("targeting") == 3

    def test_not_json(self, ws: Workspace) -> None:
        with pytest.raises(WorkspaceError, match="cannot be stored as JSON"):
            ws.set_setting("d", {date(2024, 1, 1)})
