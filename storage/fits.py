"""Fitted potential and CLV kept in the workspace (the ``fits`` table, migration 5).

A fit is stored with the data version it was fitted on and its parameters
(canonical JSON: sorted keys, dates as ISO text), its report (JSON) and its
per-account frame (Parquet). Only fits of the current data version are useful:
saving a fit deletes those of older data versions, and ``load_fit`` returns
nothing when the data changed since. Writes pass ``touches_data=False``, so
keeping a fit does not itself change the data version.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import polars as pl

from storage.errors import WorkspaceError
from storage.repository import utc_now

if TYPE_CHECKING:
    from storage.workspace import Workspace

KINDS = ("potential", "clv")


@dataclass(frozen=True)
class StoredFit:
    """One kept fit: what, on which data, with which parameters, and its results."""

    kind: str
    data_version: str
    params: dict[str, Any]
    report: dict[str, Any]
    frame: pl.DataFrame
    created_at: str


def _json_default(value: object) -> str:
    if isinstance(value, dt.date):
        return value.isoformat()
    raise TypeError(f"cannot store {type(value).__name__} in a fit's JSON")


def params_key(params: dict[str, Any]) -> str:
    """The canonical JSON of a fit's parameters (the key it is stored under)."""
    return json.dumps(params, sort_keys=True, default=_json_default, separators=(",", ":"))


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise WorkspaceError(f"unknown fit kind {kind!r}: one of {', '.join(KINDS)}")


def save_fit(
    ws: Workspace, kind: str, params: dict[str, Any], report: dict[str, Any],
    frame: pl.DataFrame, *, data_version: str | None = None,
) -> None:
    """Keep a fit for ``data_version`` (default: the workspace's current one),
    replacing one with the same parameters and dropping fits of older data."""
    _check_kind(kind)
    version = ws.data_version() if data_version is None else data_version
    buffer = io.BytesIO()
    frame.write_parquet(buffer)
    report_json = json.dumps(report, default=_json_default)
    with ws.write(touches_data=False):
        ws.conn.execute("DELETE FROM fits WHERE data_version <> ?", (version,))
        ws.conn.execute(
            "INSERT OR REPLACE INTO fits (kind, data_version, params_json, report_json, "
            "frame_parquet, accounts, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (kind, version, params_key(params), report_json, buffer.getvalue(), frame.height,
             utc_now()),
        )


def load_fit(
    ws: Workspace, kind: str, params: dict[str, Any] | None = None,
    *, where: dict[str, Any] | None = None,
) -> StoredFit | None:
    """The kept fit of ``kind`` for the current data version: the one with exactly
    ``params`` when given, else the newest whose parameters include every item of
    ``where`` (e.g. ``{"as_of": date}``), else None."""
    _check_kind(kind)
    version = ws.data_version()
    with ws.committed() as conn:
        if params is not None:
            rows = conn.execute(
                "SELECT params_json, report_json, frame_parquet, created_at FROM fits "
                "WHERE kind = ? AND data_version = ? AND params_json = ?",
                (kind, version, params_key(params)),
            ).fetchall()
        else:
            rows = conn.execute(
                "SELECT params_json, report_json, frame_parquet, created_at FROM fits "
                "WHERE kind = ? AND data_version = ? ORDER BY created_at DESC",
                (kind, version),
            ).fetchall()
    wanted = {k: json.loads(params_key({k: v}))[k] for k, v in (where or {}).items()}
    for params_json, report_json, blob, created_at in rows:
        stored = json.loads(params_json)
        if all(stored.get(k) == v for k, v in wanted.items()):
            return StoredFit(
                kind=kind, data_version=version, params=stored,
                report=json.loads(report_json),
                frame=pl.read_parquet(io.BytesIO(blob)), created_at=created_at,
            )
    return None
