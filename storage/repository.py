"""Models, runs, segment annotations and settings: methods of ``Workspace``.

Specs are stored as the JSON text ``core.model.model_to_json`` produces; this
module checks only that it is JSON, never its meaning (storage does not
depend on core's model classes). Every method that writes does so in one
``ws.write(touches_data=False)`` transaction: these tables are not inputs of
the per-account metric frame, so they do not change ``data_version()``.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

import polars as pl

from storage.errors import WorkspaceError
from storage.history import recorded
from storage.integrity import parse_json

if TYPE_CHECKING:
    from storage.workspace import Workspace

SEGMENT_STATUSES = ("target", "maintain", "lean")


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()


def utc_now() -> str:
    """The current time as ISO-8601 UTC text with microseconds (sortable)."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _check_json(text: str, what: str) -> str:
    if not isinstance(text, str):
        raise WorkspaceError(f"{what} must be JSON text, got {type(text).__name__}")
    try:
        json.loads(text)
    except ValueError as exc:
        raise WorkspaceError(f"{what} is not valid JSON: {exc}") from None
    except RecursionError:
        raise WorkspaceError(f"{what} nests too deeply") from None
    parse_json(text, what)  # and no deeper than segscope ever nests
    return text


def _check_name(name: str, what: str = "model name") -> str:
    if not isinstance(name, str) or not name.strip():
        raise WorkspaceError(f"a {what} cannot be empty")
    return name


class RepositoryMixin:
    """Persistence of what the analyst builds on top of the data."""

    # -- models --------------------------------------------------------------

    def save_model(self: Workspace, name: str, spec_json: str) -> None:
        """Insert or replace the model ``name`` (``created_at`` is kept on replace)."""
        _check_name(name)
        _check_json(spec_json, f"the spec of model {name!r}")
        now = utc_now()
        part = ("models", {"name": name})
        with self.write(touches_data=False) as db, recorded(self, "model", [part]):
            db.execute(
                "INSERT INTO models(name, spec_json, created_at, updated_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT(name) DO UPDATE SET spec_json = excluded.spec_json,"
                " updated_at = excluded.updated_at",
                (name, spec_json, now, now),
            )

    def list_models(self: Workspace) -> list[tuple[str, str]]:
        """``(name, updated_at)`` of every saved model, by name."""
        rows = self.conn.execute("SELECT name, updated_at FROM models ORDER BY name").fetchall()
        return [(r[0], r[1]) for r in rows]

    def get_model(self: Workspace, name: str) -> str:
        """The spec JSON of model ``name``; ``WorkspaceError`` naming the saved models if absent."""
        row = self.conn.execute("SELECT spec_json FROM models WHERE name = ?", (name,)).fetchone()
        if row is None:
            raise self._no_model(name)
        try:
            parse_json(row[0], "its spec")  # a damaged row: one line, not a traceback later
        except WorkspaceError as exc:
            raise WorkspaceError(
                f"the model {name!r} in {self.path} is damaged ({exc}); save it again or delete it"
            ) from None
        return row[0]

    def rename_model(self: Workspace, old: str, new: str) -> None:
        """Rename a model with its runs, segment annotations, personas, plans and KPIs,
        in one transaction."""
        _check_name(new, "new model name")
        # the edits log captures the rows under both names so undo can move them back
        tables = ("models", "segments", "runs", "personas", "plans", "kpis")
        parts = [(t, {"name" if t == "models" else "model_name": n})
                 for t in tables for n in (old, new)]  # fmt: skip
        key = {"renamed": old, "to": new}
        with self.write(touches_data=False) as db, recorded(self, "model", parts, key):
            if db.execute("SELECT 1 FROM models WHERE name = ?", (old,)).fetchone() is None:
                raise self._no_model(old)
            if old == new:
                return
            if db.execute("SELECT 1 FROM models WHERE name = ?", (new,)).fetchone():
                raise WorkspaceError(f"cannot rename model {old!r}: a model named {new!r} exists")
            # annotations or plans left under the new name (a deleted or unsaved model)
            # would collide with the moved ones: say so rather than fail on a key
            for table, what in (("segments", "annotations"), ("plans", "game plans")):
                clash = db.execute(
                    f"SELECT a.segment FROM {table} a JOIN {table} b ON a.segment = b.segment"
                    " WHERE a.model_name = ? AND b.model_name = ? ORDER BY 1 LIMIT 1",
                    (old, new),
                ).fetchone()
                if clash:
                    raise WorkspaceError(
                        f"cannot rename model {old!r} to {new!r}: segment {clash[0]!r} has "
                        f"{what} stored under both names; delete one first"
                    )
            db.execute(
                "UPDATE models SET name = ?, updated_at = ? WHERE name = ?", (new, utc_now(), old)
            )
            db.execute("UPDATE runs SET model_name = ? WHERE model_name = ?", (new, old))
            db.execute("UPDATE segments SET model_name = ? WHERE model_name = ?", (new, old))
            for table in ("personas", "plans", "kpis"):  # storage/plans.py: they follow the model
                db.execute(f"UPDATE {table} SET model_name = ? WHERE model_name = ?", (new, old))

    def delete_model(self: Workspace, name: str) -> None:
        """Delete a model and its segment annotations; its frozen runs are kept."""
        parts = [("models", {"name": name}), ("segments", {"model_name": name})]
        with self.write(touches_data=False) as db, recorded(self, "model", parts):
            cur = db.execute("DELETE FROM models WHERE name = ?", (name,))
            if cur.rowcount == 0:
                raise self._no_model(name)
            db.execute("DELETE FROM segments WHERE model_name = ?", (name,))

    def _no_model(self: Workspace, name: str) -> WorkspaceError:
        names = [n for n, _ in self.list_models()]
        known = ", ".join(names) if names else "(none saved yet)"
        return WorkspaceError(f"no model named {name!r} in {self.path}; models: {known}")

    # -- runs ----------------------------------------------------------------

    def save_run(
        self: Workspace,
        model_name: str,
        spec_json: str,
        as_of: date | str | None,
        assignments: pl.DataFrame,
        label: str | None = None,
    ) -> int:
        """Freeze a segmentation: the spec and every account's segment (and revenue).

        ``assignments`` needs ``account_id`` and ``segment``; ``revenue`` is
        optional (stored as null when absent). One transaction; returns the run id.
        """
        _check_name(model_name)
        _check_json(spec_json, f"the spec of run of model {model_name!r}")
        missing = [c for c in ("account_id", "segment") if c not in assignments.columns]
        if missing:
            raise WorkspaceError(f"run assignments lack column(s): {', '.join(missing)}")
        if assignments["account_id"].null_count():
            raise WorkspaceError("run assignments have accounts with a null account_id")
        if assignments["account_id"].is_duplicated().any():
            raise WorkspaceError("run assignments list some account_id more than once")
        revenue = (
            pl.col("revenue").cast(pl.Float64)
            if "revenue" in assignments.columns
            else pl.lit(None, dtype=pl.Float64).alias("revenue")
        )
        rows = assignments.select(
            pl.col("account_id").cast(pl.Utf8), pl.col("segment").cast(pl.Utf8), revenue
        )
        as_of_text = as_of.isoformat() if isinstance(as_of, date) else as_of
        with self.write(touches_data=False) as db:
            cur = db.execute(
                "INSERT INTO runs(model_name, spec_json, as_of, created_at, label)"
                " VALUES (?, ?, ?, ?, ?)",
                (model_name, spec_json, as_of_text, utc_now(), label),
            )
            run_id = int(cur.lastrowid)
            self.conn.executemany(
                f"INSERT INTO assignments(run_id, account_id, segment, revenue)"
                f" VALUES ({run_id}, ?, ?, ?)",
                rows.iter_rows(),
            )
        return run_id

    def list_runs(self: Workspace, model_name: str | None = None) -> pl.DataFrame:
        """Saved runs, newest first: ``run_id, model_name, label, as_of, created_at, accounts``."""
        sql = (
            "SELECT r.id, r.model_name, r.label, r.as_of, r.created_at,"
            " (SELECT count(*) FROM assignments a WHERE a.run_id = r.id)"
            " FROM runs r"
        )
        params: tuple[Any, ...] = ()
        if model_name is not None:
            sql += " WHERE r.model_name = ?"
            params = (model_name,)
        rows = self.conn.execute(sql + " ORDER BY r.id DESC", params).fetchall()
        return pl.DataFrame(
            rows,
            schema={
                "run_id": pl.Int64,
                "model_name": pl.Utf8,
                "label": pl.Utf8,
                "as_of": pl.Utf8,
                "created_at": pl.Utf8,
                "accounts": pl.Int64,
            },
            orient="row",
        )

    def run_info(self: Workspace, run_id: int) -> dict[str, Any]:
        """``model_name, spec_json, as_of, created_at, label`` of one run."""
        row = self.conn.execute(
            "SELECT model_name, spec_json, as_of, created_at, label FROM runs WHERE id = ?",
            (run_id,),
        ).fetchone()
        if row is None:
            raise self._no_run(run_id)
        keys = ("model_name", "spec_json", "as_of", "created_at", "label")
        return {"run_id": run_id, **dict(zip(keys, row, strict=True))}

    def load_run(self: Workspace, run_id: int) -> pl.DataFrame:
        """``account_id, segment, revenue`` of a saved run, by account_id."""
        from storage.loading import load_run_frame

        self.run_info(run_id)  # raises if absent
        return load_run_frame(self, run_id)

    def delete_run(self: Workspace, run_id: int) -> None:
        with self.write(touches_data=False) as db:
            db.execute("DELETE FROM assignments WHERE run_id = ?", (run_id,))
            if db.execute("DELETE FROM runs WHERE id = ?", (run_id,)).rowcount == 0:
                raise self._no_run(run_id)

    def _no_run(self: Workspace, run_id: int) -> WorkspaceError:
        return WorkspaceError(f"no run with id {run_id} in {self.path}")

    # -- segment annotations -------------------------------------------------

    def get_segment_annotations(self: Workspace, model_name: str) -> pl.DataFrame:
        """``segment, label, notes, status, scores_json`` of a model's annotated segments."""
        rows = self.conn.execute(
            "SELECT segment, label, notes, status, scores_json FROM segments"
            " WHERE model_name = ? ORDER BY segment",
            (model_name,),
        ).fetchall()
        return pl.DataFrame(
            rows,
            schema={
                "segment": pl.Utf8,
                "label": pl.Utf8,
                "notes": pl.Utf8,
                "status": pl.Utf8,
                "scores_json": pl.Utf8,
            },
            orient="row",
        )

    def set_segment_annotation(
        self: Workspace,
        model_name: str,
        segment: str,
        *,
        label: str | None = UNSET,
        notes: str | None = UNSET,
        status: str | None = UNSET,
        scores: dict[str, Any] | None = UNSET,
    ) -> None:
        """Set the given fields of one segment's annotation (``None`` clears a field).

        ``status`` is one of target / maintain / lean; ``scores`` a JSON-able dict
        of the analyst's scores.
        """
        if status is not UNSET and status is not None and status not in SEGMENT_STATUSES:
            raise WorkspaceError(
                f"segment status {status!r} is not one of {', '.join(SEGMENT_STATUSES)}"
            )
        fields: dict[str, Any] = {}
        if label is not UNSET:
            fields["label"] = label
        if notes is not UNSET:
            fields["notes"] = notes
        if status is not UNSET:
            fields["status"] = status
        if scores is not UNSET:
            fields["scores_json"] = None if scores is None else json.dumps(scores, sort_keys=True)
        part = ("segments", {"model_name": model_name, "segment": segment})
        with self.write(touches_data=False) as db, recorded(self, "segment", [part]):
            db.execute(
                "INSERT INTO segments(model_name, segment) VALUES (?, ?) ON CONFLICT DO NOTHING",
                (model_name, segment),
            )
            if fields:
                assignments = ", ".join(f"{k} = ?" for k in fields)
                db.execute(
                    f"UPDATE segments SET {assignments} WHERE model_name = ? AND segment = ?",
                    (*fields.values(), model_name, segment),
                )

    # Names used in the first draft of docs/architecture.md.
    def get_segment_notes(self: Workspace, model_name: str) -> pl.DataFrame:
        return self.get_segment_annotations(model_name)

    def set_segment_note(
        self: Workspace,
        model_name: str,
        segment: str,
        note: str | None = UNSET,
        status: str | None = UNSET,
    ) -> None:
        self.set_segment_annotation(model_name, segment, notes=note, status=status)

    # -- settings ------------------------------------------------------------

    def get_setting(self: Workspace, key: str, default: Any = None) -> Any:
        """The JSON-decoded value stored under ``key``, or ``default``."""
        row = self.conn.execute("SELECT value_json FROM settings WHERE key = ?", (key,)).fetchone()
        if row is None:
            return default
        return parse_json(row[0], f"the setting {key!r} in {self.path}")

    def set_setting(self: Workspace, key: str, value: Any) -> None:
        """Store a JSON-able ``value`` under ``key``."""
        try:
            text = json.dumps(value, sort_keys=True)
        except (TypeError, ValueError) as exc:
            raise WorkspaceError(f"setting {key!r} cannot be stored as JSON: {exc}") from None
        with self.write(touches_data=False) as db:
            db.execute(
                "INSERT INTO settings(key, value_json) VALUES (?, ?)"
                " ON CONFLICT(key) DO UPDATE SET value_json = excluded.value_json",
                (key, text),
            )
