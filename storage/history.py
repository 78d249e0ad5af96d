"""The edits log behind undo and redo.

Every recorded write captures, in the same ``ws.write()`` transaction, the
rows it may touch before and after the change (``edits.before_json`` /
``after_json``). A *part* names a set of rows: ``(table, {column: value})``;
an edit holds one or more parts (renaming a model touches the model, its
segment annotations and its runs). Undo puts every part back to its
``before`` rows, redo to its ``after`` rows, exactly; the edit is flagged
``undone`` so redo finds it. A new edit after an undo deletes the undone ones
(the redo tail). The log is a table of the workspace, so it survives a
restart and travels with snapshots.

Rows are put back by deleting the part's rows and inserting the captured
ones, except in ``runs``, where only ``model_name`` is captured and updated
(deleting a run would cascade to its frozen assignments). The ``orphaned``
flag of plans is derived (``storage.plans.flag_orphans``) and not captured.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from storage.errors import WorkspaceError
from storage.integrity import parse_json

if TYPE_CHECKING:
    from storage.workspace import Workspace

Part = tuple[str, dict[str, Any]]

# Tables an edit may touch, with the columns captured and the key that orders rows.
TABLES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "models": (("name", "spec_json", "created_at", "updated_at"), ("name",)),
    "segments": (
        ("model_name", "segment", "label", "notes", "status", "scores_json"),
        ("model_name", "segment"),
    ),
    "personas": (
        (
            "id",
            "model_name",
            "segment",
            "name",
            "business_json",
            "people_json",
            "drafted_fields_json",
            "draft_basis_json",
            "created_at",
            "updated_at",
        ),
        ("id",),
    ),  # fmt: skip
    "plans": (
        (
            "model_name",
            "segment",
            "objective",
            "coverage_model",
            "sales_logic",
            "offer",
            "key_messages",
            "channels",
            "cadence",
            "owner",
            "effort",
            "review_date",
            "status",
            "updated_at",
        ),
        ("model_name", "segment"),
    ),  # fmt: skip
    "kpis": (
        (
            "id",
            "model_name",
            "segment",
            "metric",
            "target",
            "deadline",
            "direction",
            "baseline",
            "created_at",
        ),
        ("id",),
    ),  # fmt: skip
    "runs": (("id", "model_name"), ("id",)),
}
_UPDATE_ONLY = {"runs": "id"}


@dataclass(frozen=True)
class Edit:
    """One entry of the edits log."""

    id: int
    entity: str
    key: Any
    created_at: str
    undone: bool
    # what was done ("created", "changed", "deleted") and names of the row
    # (segment, metric, persona name) for messages
    action: str = "changed"
    about: dict[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def summary(self) -> str:
        """A short human description, e.g. ``plan changed: model_name='ABC' segment='A'``."""
        items = dict(self.key) if isinstance(self.key, dict) else {"key": self.key}
        items.update({k: v for k, v in self.about.items() if k not in items})
        what = " ".join(f"{k}={v!r}" for k, v in items.items())
        return f"{self.entity} {self.action}: {what}".strip()


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _check_part(part: Part) -> tuple[str, dict[str, Any]]:
    table, where = part
    if table not in TABLES:
        raise WorkspaceError(f"the edits log does not know table {table!r}")
    columns = TABLES[table][0]
    bad = [c for c in where if c not in columns]
    if bad:
        raise WorkspaceError(f"table {table!r} has no column(s) {', '.join(bad)} to key an edit")
    return table, dict(where)


def _where(where: dict[str, Any]) -> tuple[str, list[Any]]:
    if not where:
        return "1", []
    return " AND ".join(f"{c} = ?" for c in where), list(where.values())


def capture(ws: Workspace, parts: Sequence[Part]) -> list[list[dict[str, Any]]]:
    """The current rows of every part (each a list of column dicts, ordered by key)."""
    out = []
    for part in parts:
        table, where = _check_part(part)
        columns, order = TABLES[table]
        clause, params = _where(where)
        rows = ws.conn.execute(
            f"SELECT {', '.join(columns)} FROM {table} WHERE {clause} ORDER BY {', '.join(order)}",
            params,
        ).fetchall()
        out.append([dict(zip(columns, r, strict=True)) for r in rows])
    return out


def _apply(ws: Workspace, parts: Sequence[Part], states: list[list[dict[str, Any]]]) -> None:
    """Put every part back to ``states`` (inside the caller's transaction)."""
    # Delete every part first, then insert: two parts may share rows (a rename
    # moves rows from one key to another).
    for (table, where), _rows in zip(parts, states, strict=True):
        if table in _UPDATE_ONLY:
            continue
        clause, params = _where(where)
        ws.conn.execute(f"DELETE FROM {table} WHERE {clause}", params)
    for (table, _), rows in zip(parts, states, strict=True):
        if table in _UPDATE_ONLY:
            key = _UPDATE_ONLY[table]
            for row in rows:
                sets = [c for c in row if c != key]
                ws.conn.execute(
                    f"UPDATE {table} SET {', '.join(f'{c} = ?' for c in sets)} WHERE {key} = ?",
                    [*(row[c] for c in sets), row[key]],
                )
            continue
        for row in rows:
            cols = list(row)
            ws.conn.execute(
                f"INSERT OR REPLACE INTO {table}({', '.join(cols)})"
                f" VALUES ({', '.join('?' for _ in cols)})",
                [row[c] for c in cols],
            )


def _parts_to_json(parts: Sequence[Part]) -> list[list[Any]]:
    return [[table, where] for table, where in parts]


def log_edit(
    ws: Workspace,
    entity: str,
    key: Any,
    parts: Sequence[Part],
    before: list[list[dict[str, Any]]],
    after: list[list[dict[str, Any]]],
) -> int | None:
    """Append an edit (inside the caller's ``ws.write()``); nothing when nothing changed.

    Drops the redo tail first: a new edit after an undo makes the undone edits
    unreachable.
    """
    if before == after:
        return None
    ws.conn.execute("DELETE FROM edits WHERE undone = 1")
    cur = ws.conn.execute(
        "INSERT INTO edits(created_at, entity, key_json, before_json, after_json, undone)"
        " VALUES (?, ?, ?, ?, ?, 0)",
        (
            _now(),
            entity,
            json.dumps(
                {"key": key, "parts": _parts_to_json(parts), **_describe(key, before, after)},
                ensure_ascii=False,
            ),
            json.dumps(before, ensure_ascii=False),
            json.dumps(after, ensure_ascii=False),
        ),
    )
    return int(cur.lastrowid)


@contextlib.contextmanager
def recorded(ws: Workspace, entity: str, parts: Sequence[Part], key: Any = None) -> Iterator[None]:
    """Record the rows of ``parts`` before and after the block as one edit.

    Opens (or joins) a ``ws.write(touches_data=False)`` transaction, so the
    edit and its log entry commit or roll back together. ``key`` is what the
    log shows (default: the first part's column values).
    """
    parts = [_check_part(p) for p in parts]
    with ws.write(touches_data=False):
        before = capture(ws, parts)
        yield
        after = capture(ws, parts)
        log_edit(ws, entity, parts[0][1] if key is None else key, parts, before, after)


def _describe(key: Any, before: list[list[dict]], after: list[list[dict]]) -> dict[str, Any]:
    """``action`` and ``about`` (naming columns of the first changed row) of an edit."""
    if isinstance(key, dict) and "renamed" in key:
        return {"action": "renamed", "about": {}}
    for old, new in zip(before, after, strict=True):
        if old == new:
            continue
        action = "created" if not old else "deleted" if not new else "changed"
        row = (new or old)[0]
        about = {k: row[k] for k in ("segment", "metric", "name") if row.get(k) is not None}
        return {"action": action, "about": about}
    return {}


def _damaged_edit(where: object, edit_id: object) -> WorkspaceError:
    return WorkspaceError(
        f"edit {edit_id} in {where} is damaged (its recorded JSON cannot be read);"
        " it cannot be undone or redone"
    )


def _edit_json(text: object, where: object, edit_id: object) -> Any:
    """A JSON column of an edits row, or ``WorkspaceError`` naming the edit (never a traceback)."""
    try:
        return parse_json(text, f"edit {edit_id}")
    except WorkspaceError:
        raise _damaged_edit(where, edit_id) from None


def _edit_from_row(row: tuple, where: object = "the workspace") -> Edit:
    edit_id, entity, key_json, created_at, undone = row
    data = _edit_json(key_json, where, edit_id)
    if not isinstance(data, dict):
        raise _damaged_edit(where, edit_id)
    about = data.get("about") or {}
    return Edit(
        int(edit_id),
        str(entity),
        data.get("key"),
        str(created_at),
        bool(undone),
        str(data.get("action", "changed")),
        about if isinstance(about, dict) else {},
    )


def _step(ws: Workspace, *, redo: bool) -> Edit | None:
    with ws.write(touches_data=False):
        if redo:
            row = ws.conn.execute(
                "SELECT id, entity, key_json, created_at, undone, before_json, after_json"
                " FROM edits WHERE undone = 1 ORDER BY id LIMIT 1"
            ).fetchone()
        else:
            row = ws.conn.execute(
                "SELECT id, entity, key_json, created_at, undone, before_json, after_json"
                " FROM edits WHERE undone = 0 ORDER BY id DESC LIMIT 1"
            ).fetchone()
        if row is None:
            return None
        key = _edit_json(row[2], ws.path, row[0])
        state = _edit_json(row[6] if redo else row[5], ws.path, row[0])
        try:
            parts = [(str(t), dict(w)) for t, w in key["parts"]]
            if not isinstance(state, list) or len(state) != len(parts):
                raise ValueError("parts and states differ")
            _apply(ws, parts, state)
        except (KeyError, TypeError, ValueError, AttributeError):
            raise _damaged_edit(ws.path, row[0]) from None
        ws.conn.execute("UPDATE edits SET undone = ? WHERE id = ?", (0 if redo else 1, row[0]))
    return dataclasses.replace(_edit_from_row(row[:5], ws.path), undone=not redo)


def undo(ws: Workspace) -> Edit | None:
    """Undo the latest edit not yet undone (one transaction); None when there is none."""
    return _step(ws, redo=False)


def redo(ws: Workspace) -> Edit | None:
    """Redo the earliest undone edit (one transaction); None when there is none."""
    return _step(ws, redo=True)


def can_undo(ws: Workspace) -> bool:
    return ws.conn.execute("SELECT 1 FROM edits WHERE undone = 0 LIMIT 1").fetchone() is not None


def can_redo(ws: Workspace) -> bool:
    return ws.conn.execute("SELECT 1 FROM edits WHERE undone = 1 LIMIT 1").fetchone() is not None


def list_edits(ws: Workspace, limit: int = 50) -> list[Edit]:
    """The latest ``limit`` edits, newest first (undone ones included, flagged)."""
    rows = ws.conn.execute(
        "SELECT id, entity, key_json, created_at, undone FROM edits ORDER BY id DESC LIMIT ?",
        (limit,),
    ).fetchall()
    return [_edit_from_row(r, ws.path) for r in rows]
