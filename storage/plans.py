"""Personas, game plans and KPIs of a model's segments (DOMAIN.md "Personas",
"Game plans").

Every write is one ``ws.write(touches_data=False)`` transaction that also
appends to the edits log (``storage.history``), so it can be undone. Plans
of segments that vanish after a model change are flagged ``orphaned`` by
:func:`flag_orphans`, never deleted; their personas and KPIs stay too.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import polars as pl

from core.persona import Persona, persona_from_dict
from storage.errors import WorkspaceError
from storage.history import recorded
from storage.repository import UNSET, utc_now

if TYPE_CHECKING:
    from collections.abc import Iterable

    from storage.workspace import Workspace

OBJECTIVES = ("grow", "retain", "maintain", "lean service")
COVERAGE_MODELS = ("key account manager", "field", "inside sales", "partner",
                   "digital self-serve")  # fmt: skip
SALES_LOGICS = ("traditional", "complex")
OFFERS = ("standard", "customised")
DIRECTIONS = ("at_least", "at_most")
PLAN_FIELDS = (
    "objective", "coverage_model", "sales_logic", "offer", "key_messages", "channels",
    "cadence", "owner", "effort", "review_date", "status",
)  # fmt: skip
# Fields whose value must be one of a list (None always clears).
_CHOICES = {
    "objective": OBJECTIVES,
    "coverage_model": COVERAGE_MODELS,
    "sales_logic": SALES_LOGICS,
    "offer": OFFERS,
}
KPI_VALUE_MAX = 1e15  # the same bound as the command line's --target
KPI_FIELDS = ("metric", "target", "deadline", "direction", "baseline", "segment")


@dataclass(frozen=True)
class StoredPersona:
    """A persona as stored: its row id, model and timestamps."""

    id: int
    model_name: str
    persona: Persona
    created_at: str
    updated_at: str


def _check_date(value: Any, what: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, dt.date):
        return value.isoformat()
    try:
        return dt.date.fromisoformat(str(value)).isoformat()
    except ValueError:
        raise WorkspaceError(f"{what} {value!r} is not a date; write it as YYYY-MM-DD") from None


# ---------------------------------------------------------------- personas


def save_persona(
    ws: Workspace, model_name: str, persona: Persona, persona_id: int | None = None
) -> int:
    """Insert ``persona`` (``persona_id`` None) or replace persona ``persona_id``; its id."""
    if not model_name:
        raise WorkspaceError("a persona needs a model name")
    now = utc_now()
    values = (
        model_name,
        persona.segment,
        persona.name,
        json.dumps(persona.business, ensure_ascii=False),
        json.dumps(persona.people, ensure_ascii=False),
        json.dumps(sorted(persona.drafted)),
        json.dumps(persona.basis, ensure_ascii=False),
    )
    with ws.write(touches_data=False):
        if persona_id is None:
            # the id SQLite would pick, taken explicitly so the edit can name the row
            persona_id = int(
                ws.conn.execute("SELECT coalesce(max(id), 0) + 1 FROM personas").fetchone()[0]
            )
            with recorded(ws, "persona", [("personas", {"id": persona_id})]):
                ws.conn.execute(
                    "INSERT INTO personas(id, model_name, segment, name, business_json,"
                    " people_json, drafted_fields_json, draft_basis_json, created_at, updated_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (persona_id, *values, now, now),
                )
            return persona_id
        with recorded(ws, "persona", [("personas", {"id": persona_id})]):
            cur = ws.conn.execute(
                "UPDATE personas SET model_name = ?, segment = ?, name = ?, business_json = ?,"
                " people_json = ?, drafted_fields_json = ?, draft_basis_json = ?,"
                " updated_at = ? WHERE id = ?",
                (*values, now, persona_id),
            )
            if cur.rowcount == 0:
                raise _no_persona(ws, persona_id)
    return persona_id


def _no_persona(ws: Workspace, persona_id: int) -> WorkspaceError:
    return WorkspaceError(f"no persona with id {persona_id} in {ws.path}")


_PERSONA_SQL = (
    "SELECT id, model_name, segment, name, business_json, people_json, drafted_fields_json,"
    " draft_basis_json, created_at, updated_at FROM personas"
)


def _persona_row(row: tuple) -> StoredPersona:
    pid, model, segment, name, business, people, drafted, basis, created, updated = row
    persona = persona_from_dict({
        "segment": segment, "name": name or "",
        "business": json.loads(business or "{}"), "people": json.loads(people or "{}"),
        "drafted": json.loads(drafted or "[]"), "basis": json.loads(basis or "{}"),
    })  # fmt: skip
    return StoredPersona(int(pid), model, persona, created, updated)


def get_persona(ws: Workspace, persona_id: int) -> StoredPersona:
    row = ws.conn.execute(_PERSONA_SQL + " WHERE id = ?", (persona_id,)).fetchone()
    if row is None:
        raise _no_persona(ws, persona_id)
    return _persona_row(row)


def _model_segment_filter(model_name: str | None, segment: str | None) -> tuple[str, list[str]]:
    """`` WHERE model_name = ? AND segment = ?`` for the given ones, and their values."""
    clauses, params = [], []
    if model_name is not None:
        clauses.append("model_name = ?")
        params.append(model_name)
    if segment is not None:
        clauses.append("segment = ?")
        params.append(segment)
    return (f" WHERE {' AND '.join(clauses)}" if clauses else ""), params


def list_personas(
    ws: Workspace, model_name: str | None = None, segment: str | None = None
) -> list[StoredPersona]:
    """Stored personas, by model, segment and id."""
    where, params = _model_segment_filter(model_name, segment)
    rows = ws.conn.execute(
        _PERSONA_SQL + where + " ORDER BY model_name, segment, id", params
    ).fetchall()
    return [_persona_row(r) for r in rows]


def delete_persona(ws: Workspace, persona_id: int) -> None:
    with recorded(ws, "persona", [("personas", {"id": persona_id})]):
        if ws.conn.execute("DELETE FROM personas WHERE id = ?", (persona_id,)).rowcount == 0:
            raise _no_persona(ws, persona_id)


def personas_frame(ws: Workspace, model_name: str | None = None) -> pl.DataFrame:
    """Personas flattened for export: one row each, one column per field."""
    rows = []
    for sp in list_personas(ws, model_name):
        p = sp.persona
        row: dict[str, Any] = {"id": sp.id, "model_name": sp.model_name, "segment": p.segment,
                               "name": p.name}  # fmt: skip
        for section in ("business", "people"):
            for key, value in getattr(p, section).items():
                row[f"{section}.{key}"] = (
                    "; ".join(map(str, value)) if isinstance(value, list) else value
                )
        row["drafted_fields"] = ", ".join(sorted(p.drafted))
        row["updated_at"] = sp.updated_at
        rows.append({k: None if v is None else str(v) if k != "id" else v for k, v in row.items()})
    if not rows:
        return pl.DataFrame(schema={"id": pl.Int64, "model_name": pl.String,
                                    "segment": pl.String, "name": pl.String})  # fmt: skip
    return pl.DataFrame(rows, infer_schema_length=None)


# ---------------------------------------------------------------- plans


def _check_plan_field(name: str, value: Any) -> Any:
    if name not in PLAN_FIELDS:
        raise WorkspaceError(f"a game plan has no field {name!r}; fields: {', '.join(PLAN_FIELDS)}")
    if value is None:
        return None
    if name == "review_date":
        return _check_date(value, "review date")
    if not isinstance(value, str):
        raise WorkspaceError(f"plan field {name!r} must be text, got {type(value).__name__}")
    choices = _CHOICES.get(name)
    if choices is not None and value not in choices:
        raise WorkspaceError(
            f"plan {name.replace('_', ' ')} {value!r} is not one of {', '.join(choices)}"
        )
    return value


def set_plan(ws: Workspace, model_name: str, segment: str, **fields: Any) -> None:
    """Set the given fields of the game plan of (``model_name``, ``segment``),
    creating it if needed; ``None`` clears a field, ``UNSET`` leaves it."""
    values = {k: _check_plan_field(k, v) for k, v in fields.items() if v is not UNSET}
    if not model_name or not segment:
        raise WorkspaceError("a game plan needs a model name and a segment")
    part = ("plans", {"model_name": model_name, "segment": segment})
    with recorded(ws, "plan", [part]):
        ws.conn.execute(
            "INSERT INTO plans(model_name, segment, updated_at) VALUES (?, ?, ?)"
            " ON CONFLICT DO NOTHING",
            (model_name, segment, utc_now()),
        )
        if values:
            sets = ", ".join(f"{k} = ?" for k in values)
            ws.conn.execute(
                f"UPDATE plans SET {sets}, updated_at = ? WHERE model_name = ? AND segment = ?",
                (*values.values(), utc_now(), model_name, segment),
            )


_PLAN_COLUMNS = ("model_name", "segment", *PLAN_FIELDS, "orphaned", "updated_at")


def get_plan(ws: Workspace, model_name: str, segment: str) -> dict[str, Any] | None:
    """The plan as a dict of ``_PLAN_COLUMNS`` (``orphaned`` a bool), or None."""
    row = ws.conn.execute(
        f"SELECT {', '.join(_PLAN_COLUMNS)} FROM plans WHERE model_name = ? AND segment = ?",
        (model_name, segment),
    ).fetchone()
    if row is None:
        return None
    plan = dict(zip(_PLAN_COLUMNS, row, strict=True))
    plan["orphaned"] = bool(plan["orphaned"])
    return plan


def list_plans(ws: Workspace, model_name: str | None = None) -> pl.DataFrame:
    """Every plan (of one model), by model and segment."""
    sql = f"SELECT {', '.join(_PLAN_COLUMNS)} FROM plans"
    params: tuple[Any, ...] = ()
    if model_name is not None:
        sql += " WHERE model_name = ?"
        params = (model_name,)
    rows = ws.conn.execute(sql + " ORDER BY model_name, segment", params).fetchall()
    schema = {c: pl.String for c in _PLAN_COLUMNS}
    schema["orphaned"] = pl.Boolean
    return pl.DataFrame(
        [tuple(bool(v) if c == "orphaned" else v for c, v in zip(_PLAN_COLUMNS, r, strict=True))
         for r in rows],
        schema=schema, orient="row",
    )  # fmt: skip


def delete_plan(ws: Workspace, model_name: str, segment: str) -> None:
    part = ("plans", {"model_name": model_name, "segment": segment})
    with recorded(ws, "plan", [part]):
        cur = ws.conn.execute(
            "DELETE FROM plans WHERE model_name = ? AND segment = ?", (model_name, segment)
        )
        if cur.rowcount == 0:
            raise WorkspaceError(f"no game plan for segment {segment!r} of model {model_name!r}")


def flag_orphans(ws: Workspace, model_name: str, current_segments: Iterable[str]) -> list[str]:
    """Flag the plans of ``model_name`` whose segment is not in ``current_segments``
    (``orphaned = 1``) and unflag those whose segment is back; returns the
    orphaned segments. Nothing is deleted, and the flag is not an undoable edit
    (it is derived from the model's current segments)."""
    current = sorted(set(current_segments))
    with ws.write(touches_data=False):
        ws.conn.execute("CREATE TEMP TABLE IF NOT EXISTS _current_segments(segment TEXT)")
        ws.conn.execute("DELETE FROM _current_segments")
        ws.conn.executemany("INSERT INTO _current_segments VALUES (?)", [(s,) for s in current])
        ws.conn.execute(
            "UPDATE plans SET orphaned = (segment NOT IN (SELECT segment FROM _current_segments))"
            " WHERE model_name = ?",
            (model_name,),
        )
        ws.conn.execute("DELETE FROM _current_segments")
        rows = ws.conn.execute(
            "SELECT segment FROM plans WHERE model_name = ? AND orphaned = 1 ORDER BY segment",
            (model_name,),
        ).fetchall()
    return [r[0] for r in rows]


# ---------------------------------------------------------------- KPIs


def _check_kpi(fields: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for name, value in fields.items():
        if name not in KPI_FIELDS:
            raise WorkspaceError(f"a KPI has no field {name!r}; fields: {', '.join(KPI_FIELDS)}")
        if name == "direction" and value not in DIRECTIONS:
            raise WorkspaceError(f"KPI direction {value!r} is not one of {', '.join(DIRECTIONS)}")
        if name == "deadline":
            value = _check_date(value, "KPI deadline")
        if name in ("target", "baseline") and value is not None:
            try:
                value = float(value)
            except (TypeError, ValueError):
                raise WorkspaceError(f"KPI {name} {value!r} is not a number") from None
            if not math.isfinite(value) or abs(value) > KPI_VALUE_MAX:
                # nan/inf or a value past any KPI would break progress and the playbook
                raise WorkspaceError(
                    f"KPI {name} {value!r} is not a finite number within ±{KPI_VALUE_MAX:,.0f}"
                )
        if name in ("metric", "segment") and (not isinstance(value, str) or not value):
            raise WorkspaceError(f"a KPI needs a {name}")
        out[name] = value
    return out


def add_kpi(
    ws: Workspace,
    model_name: str,
    segment: str,
    metric: str,
    target: float,
    deadline: dt.date | str | None = None,
    direction: str = "at_least",
    baseline: float | None = None,
) -> int:
    """Add a KPI to the plan of a segment; returns its id. ``metric`` should be
    one of ``core.kpi.KPI_METRICS`` (checked by the caller)."""
    values = _check_kpi({"segment": segment, "metric": metric, "target": target,
                         "deadline": deadline, "direction": direction,
                         "baseline": baseline})  # fmt: skip
    if not model_name:
        raise WorkspaceError("a KPI needs a model name")
    with ws.write(touches_data=False):
        kpi_id = int(ws.conn.execute("SELECT coalesce(max(id), 0) + 1 FROM kpis").fetchone()[0])
        with recorded(ws, "kpi", [("kpis", {"id": kpi_id})]):
            ws.conn.execute(
                "INSERT INTO kpis(id, model_name, segment, metric, target, deadline, direction,"
                " baseline, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (kpi_id, model_name, values["segment"], values["metric"], values["target"],
                 values["deadline"], values["direction"], values["baseline"], utc_now()),
            )  # fmt: skip
    return kpi_id


def update_kpi(ws: Workspace, kpi_id: int, **fields: Any) -> None:
    """Change the given fields (metric, target, deadline, direction, baseline, segment)."""
    values = _check_kpi({k: v for k, v in fields.items() if v is not UNSET})
    with recorded(ws, "kpi", [("kpis", {"id": kpi_id})]):
        if ws.conn.execute("SELECT 1 FROM kpis WHERE id = ?", (kpi_id,)).fetchone() is None:
            raise WorkspaceError(f"no KPI with id {kpi_id} in {ws.path}")
        if values:
            sets = ", ".join(f"{k} = ?" for k in values)
            ws.conn.execute(f"UPDATE kpis SET {sets} WHERE id = ?", (*values.values(), kpi_id))


def delete_kpi(ws: Workspace, kpi_id: int) -> None:
    with recorded(ws, "kpi", [("kpis", {"id": kpi_id})]):
        if ws.conn.execute("DELETE FROM kpis WHERE id = ?", (kpi_id,)).rowcount == 0:
            raise WorkspaceError(f"no KPI with id {kpi_id} in {ws.path}")


_KPI_SCHEMA = {
    "id": pl.Int64, "model_name": pl.String, "segment": pl.String, "metric": pl.String,
    "target": pl.Float64, "deadline": pl.String, "direction": pl.String,
    "baseline": pl.Float64, "created_at": pl.String,
}  # fmt: skip


def list_kpis(
    ws: Workspace, model_name: str | None = None, segment: str | None = None
) -> pl.DataFrame:
    """KPIs (of one model / segment), by model, segment and id."""
    where, params = _model_segment_filter(model_name, segment)
    rows = ws.conn.execute(
        f"SELECT {', '.join(_KPI_SCHEMA)} FROM kpis{where} ORDER BY model_name, segment, id",
        params,
    ).fetchall()
    return pl.DataFrame(rows, schema=_KPI_SCHEMA, orient="row")
